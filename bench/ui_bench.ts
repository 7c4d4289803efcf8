/**
 * The terminal UI at scale: 10,000 live connections and 100,000 in TIME-WAIT folded
 * into the view model, then the cost of one frame: building it from the view model
 * (`buildFrame`: windowing, countdowns, counts, diagram rows) and drawing it with Ink
 * (`renderToString` of the same `<Screen>` the terminal shows). The bound is
 * 16 ms per frame; renders are capped at 30 per second (`MAX_FPS`).
 *
 * Each figure is the median (and min) over a run of frames with the clock moving, so
 * every countdown bar is recomputed. Also measured: the fold's cost per input, and a
 * frame right after 100 connections closed (the list is compacted then, O(N)).
 *
 * ```sh
 * deno task bench --only=ui
 * deno run -A bench/ui_bench.ts        # this group alone
 * ```
 *
 * @module
 */
import { createElement } from "react";
import { renderToString } from "ink";
import type { BenchContext } from "./main.ts";
import { UiStore } from "../src/ui/model.ts";
import { buildFrame, type Frame } from "../src/ui/frame.ts";
import { Screen } from "../src/ui/components.tsx";
import { MAX_FPS } from "../src/ui/tui.tsx";
import type { ConnSnapshot, UiInput, UiStatus } from "../src/ui/source.ts";
import type { State } from "../src/tcb/state.ts";

const A = "10.0.0.1";
const B = "10.0.0.2";
const LIVE = 10_000;
const TIME_WAIT = 100_000;
const WIDTH = 160;
const HEIGHT = 50;
const MSL = 30_000;

const STATUS: UiStatus = {
  title: "bench",
  transport: "simulated network",
  seed: 1,
  loss: 0,
  speed: 1,
  msl: MSL,
  paused: false,
};

const LIVE_STATES: readonly [State, State][] = [
  ["ESTABLISHED", "ESTABLISHED"],
  ["FIN-WAIT-1", "CLOSE-WAIT"],
  ["FIN-WAIT-2", "CLOSE-WAIT"],
  ["FIN-WAIT-1", "LAST-ACK"],
  ["CLOSING", "CLOSING"],
];

function snap(
  id: number,
  state: State,
  local: number,
  remote: string,
  rport: number,
  at: number,
): ConnSnapshot {
  return {
    id,
    state,
    localPort: local,
    remoteAddress: remote,
    remotePort: rport,
    sndUna: 1000 + id,
    sndNxt: 1200 + id,
    rcvNxt: 5000 + id,
    bytesInFlight: 200,
    rto: 1000,
    retries: id % 3,
    timers: {
      retransmit: at + 1000,
      finWait2: state === "FIN-WAIT-2" ? at + 60_000 : Infinity,
      timeWait: Infinity,
    },
  };
}

function changed(at: number, node: string, conn: number, from: State, to: State): UiInput {
  return {
    kind: "event",
    at,
    node,
    event: { type: "state-changed", conn, from, to, cause: "close", now: at },
  };
}

/** The inputs that leave `LIVE` connections open and `TIME_WAIT` in TIME-WAIT. */
function population(): UiInput[] {
  const inputs: UiInput[] = [];
  let at = 0;
  // TIME-WAIT first (older), then the live ones: both ends of each, paired by port.
  for (let i = 0; i < TIME_WAIT + LIVE; i++) {
    at += 0.2;
    const id = i + 1;
    const port = 1024 + (i % 60_000);
    const rport = 80 + Math.floor(i / 60_000);
    const live = i >= TIME_WAIT;
    const [sa, sb] = live ? LIVE_STATES[i % LIVE_STATES.length] : ["TIME-WAIT", "CLOSED"] as const;
    inputs.push(changed(at, A, id, "CLOSED", "SYN-SENT"));
    inputs.push({ kind: "snapshot", at, node: A, info: snap(id, "SYN-SENT", port, B, rport, at) });
    inputs.push(changed(at, B, id, "LISTEN", "SYN-RECEIVED"));
    inputs.push({
      kind: "snapshot",
      at,
      node: B,
      info: snap(id, "SYN-RECEIVED", rport, A, port, at),
    });
    inputs.push(changed(at, A, id, "SYN-SENT", sa));
    if (sa !== "TIME-WAIT") {
      inputs.push({ kind: "snapshot", at, node: A, info: snap(id, sa, port, B, rport, at) });
    }
    inputs.push(changed(at, B, id, "SYN-RECEIVED", sb));
    if (sb !== "CLOSED") {
      inputs.push({ kind: "snapshot", at, node: B, info: snap(id, sb, rport, A, port, at) });
    }
  }
  return inputs;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Times `frames` calls of `fn(k)`; returns median and min in ms. */
function time(frames: number, fn: (k: number) => void): { median: number; min: number } {
  for (let k = 0; k < 5; k++) fn(k); // warm-up
  const xs: number[] = [];
  for (let k = 0; k < frames; k++) {
    const t0 = performance.now();
    fn(k + 5);
    xs.push(performance.now() - t0);
  }
  return { median: median(xs), min: Math.min(...xs) };
}

/** The UI group: frame build and Ink render at 10,000 live + 100,000 TIME-WAIT. */
export async function uiGroup(ctx: BenchContext): Promise<void> {
  const frames = ctx.mode === "quick" ? 60 : 300;
  ctx.progress(`folding ${LIVE} live + ${TIME_WAIT} TIME-WAIT connections`);
  const inputs = population();
  const store = new UiStore({
    nodes: [{ address: A, label: "A" }, { address: B, label: "B" }],
    msl: MSL,
  });
  const t0 = performance.now();
  store.applyAll(inputs);
  const foldNs = ((performance.now() - t0) * 1e6) / inputs.length;
  const n = store.live;
  const tw = store.count("TIME-WAIT");
  if (tw !== TIME_WAIT || n !== TIME_WAIT + 2 * LIVE) {
    throw new Error(
      `Bug: expected ${TIME_WAIT} in TIME-WAIT and ${TIME_WAIT + 2 * LIVE} ends, got ${tw}, ${n}`,
    );
  }
  ctx.record({ name: "fold, per input", n: inputs.length, value: foldNs, unit: "ns/input" });
  const note = `${LIVE} live + ${TIME_WAIT} TIME-WAIT, ${WIDTH}x${HEIGHT}`;
  let now = store.now;
  const build = (k: number): Frame => {
    now += 33; // the clock moves every frame: every countdown is recomputed
    return buildFrame(store, { width: WIDTH, height: HEIGHT, now: now + k, status: STATUS });
  };

  ctx.progress("frame build, newest selected");
  const b1 = time(frames, build);
  ctx.record({
    name: "frame build (buildFrame)",
    n,
    value: b1.median,
    min: b1.min,
    unit: "ms/frame",
    note,
  });

  ctx.progress("frame build, selection in the middle of the list");
  store.select(-55_000);
  const b2 = time(frames, build);
  ctx.record({
    name: "frame build, middle of the list",
    n,
    value: b2.median,
    min: b2.min,
    unit: "ms/frame",
    note,
  });

  ctx.progress("Ink render of the frame");
  const frame = build(0);
  const r = time(
    frames,
    () => renderToString(createElement(Screen, { frame }), { columns: WIDTH }),
  );
  ctx.record({
    name: "Ink render (renderToString)",
    n,
    value: r.median,
    min: r.min,
    unit: "ms/frame",
    note,
  });

  ctx.progress("frame build + Ink render");
  const both = time(
    frames,
    (k) => renderToString(createElement(Screen, { frame: build(k) }), { columns: WIDTH }),
  );
  ctx.record({
    name: "frame build + Ink render",
    n,
    value: both.median,
    min: both.min,
    unit: "ms/frame",
    note,
  });

  ctx.progress("frame build + Ink render at 120x40");
  const small = time(frames, (k) => {
    now += 33;
    const f = buildFrame(store, { width: 120, height: 40, now: now + k, status: STATUS });
    renderToString(createElement(Screen, { frame: f }), { columns: 120 });
  });
  ctx.record({
    name: "frame build + Ink render, 120x40",
    n,
    value: small.median,
    min: small.min,
    unit: "ms/frame",
    note: `${LIVE} live + ${TIME_WAIT} TIME-WAIT, 120x40`,
  });

  ctx.progress("frame build after 100 connections closed (compaction)");
  let next = TIME_WAIT + 1;
  const afterClose = time(Math.min(frames, 90), (k) => {
    for (let j = 0; j < 100; j++, next++) {
      store.apply(changed(now, A, next, "ESTABLISHED", "CLOSED"));
      store.apply(changed(now, B, next, "ESTABLISHED", "CLOSED"));
    }
    build(k);
  });
  ctx.record({
    name: "fold 200 closes + frame build",
    n: store.live,
    value: afterClose.median,
    min: afterClose.min,
    unit: "ms/frame",
    note: "the closed pairs leave the list: O(N) compaction",
  });

  ctx.progress("storm view");
  const storm = time(frames, (k) => {
    now += 33;
    const f = buildFrame(store, {
      width: WIDTH,
      height: HEIGHT,
      now: now + k,
      status: { ...STATUS, storm: { rate: 1000, opened: 110_000 } },
    });
    renderToString(createElement(Screen, { frame: f }), { columns: WIDTH });
  });
  ctx.record({
    name: "storm view, build + render",
    n: store.live,
    value: storm.median,
    min: storm.min,
    unit: "ms/frame",
  });

  ctx.summary("uiFrameBuildMs", b1.median);
  ctx.summary("uiFrameBuildAndRenderMs", both.median);
  ctx.note(`renders are capped at ${MAX_FPS} per second; the bound per frame is 16 ms`);
  await Promise.resolve();
}

if (import.meta.main) {
  const rows: string[] = [];
  await uiGroup({
    mode: Deno.args.includes("--quick") ? "quick" : "default",
    sizes: [],
    progress: (m) => console.error(`ui: ${m}`),
    record: (m) =>
      rows.push(
        `${m.name.padEnd(34)} ${
          m.value.toFixed(m.unit === "ns/input" ? 0 : 2).padStart(8)
        } ${m.unit}` +
          (m.min !== undefined ? `  (min ${m.min.toFixed(2)})` : ""),
      ),
    note: (t) => rows.push(`note: ${t}`),
    summary: () => {},
    gc: () => {},
  });
  console.log(rows.join("\n"));
}
