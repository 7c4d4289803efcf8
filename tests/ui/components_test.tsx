/**
 * Ink frames from fixed view models (ink-testing-library), and key handling through
 * the real `App` with a fake source that records the commands it gets.
 */
import assert from "node:assert/strict";
import { render } from "ink-testing-library";
import { App, MAX_FPS, renderInterval, TuiController } from "../../src/ui/tui.tsx";
import { footerSpans, Screen } from "../../src/ui/components.tsx";
import { buildFrame } from "../../src/ui/frame.ts";
import { UiStore } from "../../src/ui/model.ts";
import type { UiCommand, UiInput, UiSource, UiStatus } from "../../src/ui/source.ts";
import { PEER_A, PEER_B } from "../../src/trace/scenarios.ts";
import { foldScenario, NODES } from "./_helpers.ts";

const STATUS: UiStatus = {
  title: "normal-close",
  transport: "simulated network",
  seed: 1,
  loss: 0.1,
  speed: 0.1,
  msl: 1000,
  paused: false,
  note: "normal-close: A closes, B acknowledges, then B closes",
};

// deno-lint-ignore no-control-regex
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

function screen(
  store: UiStore,
  o: { width?: number; height?: number; now?: number; status?: UiStatus; help?: boolean } = {},
): string {
  const frame = buildFrame(store, {
    width: o.width ?? 110,
    height: o.height ?? 32,
    now: o.now ?? store.now,
    status: o.status ?? STATUS,
    help: o.help,
  });
  const r = render(<Screen frame={frame} />);
  const out = strip(r.lastFrame() ?? "");
  r.unmount();
  return out;
}

/** normal-close stopped while A sits in TIME-WAIT (the log up to B's last ACK). */
function midClose(): UiStore {
  const { log } = foldScenario("normal-close");
  const store = new UiStore({ nodes: NODES, msl: 1000 });
  const upTo = log.findIndex((e) => e.kind === "event" && e.event.type === "closed");
  store.applyAll(log.slice(0, upTo + 1));
  // What the driver would add: A's snapshot before TIME-WAIT and B's.
  store.apply({
    kind: "snapshot",
    at: 30,
    node: PEER_A,
    info: {
      id: 1,
      state: "ESTABLISHED",
      localPort: 49152,
      remoteAddress: PEER_B,
      remotePort: 80,
      sndUna: 101,
      sndNxt: 101,
      rcvNxt: 301,
      bytesInFlight: 0,
      rto: 1000,
      retries: 0,
      timers: { retransmit: Infinity, finWait2: Infinity, timeWait: Infinity },
    },
  });
  return store;
}

Deno.test("components: header, peer panes, diagram, summary and footer from a fixed view model", () => {
  const out = screen(midClose(), { now: 670 });
  const lines = out.split("\n");
  assert.ok(lines.length <= 32, `${lines.length} lines`);
  assert.ok(lines.every((l) => l.length <= 110), "no line is wider than the terminal");
  // Header: transport, seed, loss, speed, MSL, running.
  assert.match(
    lines[0],
    /▶ RUNNING .*simulated network · seed 1 · loss 10% · speed 0\.1× · MSL 1s/,
  );
  assert.match(lines[1], /normal-close: A closes/);
  // Panes: A in TIME-WAIT with its countdown (half of 2·MSL gone), B CLOSED (normal).
  assert.match(out, /A 10\.0\.0\.1 · 1 live · 1 TIME-WAIT/);
  assert.match(out, /#1 {2}TIME-WAIT {2}0\.50s :49152→10\.0\.0\.2:80/);
  assert.match(out, /SND\.UNA 101 SND\.NXT 101 RCV\.NXT 301 in flight 0/);
  assert.match(out, /TIME-WAIT █████████░░░ 1\.5s/);
  assert.match(out, /CLOSED .*closed \(normal\)|closed \(normal\)/);
  // Diagram: RFC notation, arrows, states changed beside them, newest at the bottom.
  const fin = lines.findIndex((l) =>
    l.includes("ESTABLISHED → FIN-WAIT-1 --> <SEQ=100><ACK=300><CTL=FIN,ACK>")
  );
  const ack = lines.findIndex((l) =>
    l.includes("FIN-WAIT-1 → FIN-WAIT-2 <-- <SEQ=300><ACK=101><CTL=ACK>")
  );
  const last = lines.findIndex((l) => l.includes("TIME-WAIT --> <SEQ=101><ACK=301><CTL=ACK>"));
  assert.ok(fin > 0 && ack > fin && last > ack, out);
  assert.match(lines[fin], /--> ESTABLISHED → CLOSE-WAIT/);
  assert.match(lines[last], /--> LAST-ACK → CLOSED/);
  // Summary and footer.
  assert.match(out, /States .*TIME-WAIT 1/);
  assert.match(out, /segments\/s 7 +sent 7 · lost 0 · dup 0 · reordered 0 · rtx 0 · RST 0/);
  assert.match(lines.at(-1)!, /c close A {2}C close B .*\? help {2}q quit/);
});

Deno.test("components: lost and retransmitted segments are drawn as such", () => {
  const { store } = foldScenario("lossy-close", { loss: 0.3, seed: 7 });
  const out = screen(store, { width: 130, height: 60 });
  assert.match(out, /--> <SEQ=\d+><ACK=\d+><CTL=[A-Z,]+>(<DATA=\d+>)? \((rtx, )?lost\) +--x/);
  assert.match(out, /\(rtx[,)]/);
  assert.match(out, /lost [1-9]/);
});

Deno.test("components: every width from 60 to 200 columns keeps lines inside the screen", () => {
  const store = midClose();
  for (const width of [60, 80, 100, 140, 200]) {
    const out = screen(store, { width, height: 30, now: 670 });
    const lines = out.split("\n");
    for (const l of lines) assert.ok(l.length <= width, `${width}: "${l}" is ${l.length}`);
    assert.match(lines.at(-1)!, /\? help {2}q quit/, `footer at ${width}`);
  }
  assert.match(strip(footerSpans(200).map((s) => s.t).join("")), /w write {2}↑\/↓ select/);
});

Deno.test("components: the help overlay lists every key and the states' meanings", () => {
  const out = screen(midClose(), { help: true, height: 44, width: 120 });
  for (
    const k of [
      "c ",
      "C ",
      "s ",
      "h ",
      "a ",
      "n ",
      "w ",
      "↑/↓",
      "space",
      ". ",
      "+/-",
      "l ",
      "t ",
      "p ",
      "? ",
      "q ",
    ]
  ) {
    assert.ok(out.includes(`│ ${k}`) || out.includes(` ${k}`), `key ${k}`);
  }
  assert.match(out, /FIN-WAIT-2 +our FIN acknowledged; waiting for the peer's FIN/);
  assert.match(out, /TIME-WAIT +both FINs done; 2·MSL so old duplicates die out/);
  assert.match(out, /FIN-WAIT-1 → FIN-WAIT-2 \(ACK\)/);
});

Deno.test("components: storm mode shows counts per state and a sample of rows", () => {
  const store = new UiStore({ nodes: NODES, msl: 1000 });
  const inputs: UiInput[] = [];
  for (let id = 1; id <= 1200; id++) {
    inputs.push({
      kind: "event",
      at: id,
      node: PEER_A,
      event: {
        type: "state-changed",
        conn: id,
        from: "FIN-WAIT-2",
        to: "TIME-WAIT",
        cause: "rcv-fin",
        now: id,
      },
    });
  }
  store.applyAll(inputs);
  const out = screen(store, {
    status: { ...STATUS, storm: { rate: 200, opened: 1234 } },
    now: 1300,
  });
  assert.match(out, /⚡ STORM/);
  assert.match(out, /opening 200 connections per second.*1,234 opened/);
  assert.match(out, /TIME-WAIT +1,200 +0 +1,200 +█+/);
  assert.match(out, /Latest changes/);
  assert.match(out, /A #1200 +TIME-WAIT/);
});

/** A source that records commands and lets the test push inputs. */
class FakeSource implements UiSource {
  readonly nodes = NODES;
  commands: UiCommand[] = [];
  paused = false;
  #listeners: ((i: readonly UiInput[]) => void)[] = [];
  subscribe(l: (i: readonly UiInput[]) => void) {
    this.#listeners.push(l);
    return () => {};
  }
  push(inputs: UiInput[]) {
    for (const l of this.#listeners) l(inputs);
  }
  status(): UiStatus {
    return { ...STATUS, paused: this.paused };
  }
  now() {
    return 100;
  }
  command(cmd: UiCommand) {
    this.commands.push(cmd);
    if (cmd.type === "pause") this.paused = !this.paused;
    return cmd.type === "pcap" ? "pcap not available yet" : undefined;
  }
  start() {}
  stop() {}
}

const tick = () => new Promise((r) => setTimeout(r, 5));

Deno.test("components: keys become commands for the selected connection; ? opens help; q quits", async () => {
  const source = new FakeSource();
  const controller = new TuiController(source, { width: 110, height: 30 });
  const { store } = foldScenario("normal-close");
  // Two connections: the scenario's (closed by now) and a new one, ESTABLISHED.
  controller.store.applyAll(foldScenario("normal-close").log.slice(0, 15));
  void store;
  const app = render(<App controller={controller} />);
  await tick();
  const a = { [PEER_A]: 1, [PEER_B]: 1 };
  for (const key of ["c", "C", "s", "h", "a", "n", "w", " ", ".", "+", "-", "l", "t", "p"]) {
    app.stdin.write(key);
    await tick();
  }
  assert.deepEqual(source.commands, [
    { type: "close", node: PEER_A, target: a },
    { type: "close", node: PEER_B, target: a },
    { type: "simultaneous-close", target: a },
    { type: "half-close", node: PEER_A, target: a },
    { type: "abort", node: PEER_A, target: a },
    { type: "new" },
    { type: "write", target: a },
    { type: "pause" },
    { type: "step" },
    { type: "speed", factor: 2 },
    { type: "speed", factor: 0.5 },
    { type: "loss" },
    { type: "storm" },
    { type: "pcap" },
  ]);
  controller.tick();
  await tick();
  let out = strip(app.lastFrame() ?? "");
  assert.match(out, /❚❚ PAUSED/, "space paused the source, the header says so");
  assert.match(
    out.split("\n")[1],
    /pcap not available yet/,
    "a command's reply shows under the header",
  );

  app.stdin.write("?");
  await tick();
  out = strip(app.lastFrame() ?? "");
  assert.match(out, /Help/);
  app.stdin.write("x"); // any key closes the help
  await tick();
  assert.doesNotMatch(strip(app.lastFrame() ?? ""), /─ Help/);

  // Pasted runs count key by key.
  source.commands = [];
  app.stdin.write("nn");
  await tick();
  assert.deepEqual(source.commands, [{ type: "new" }, { type: "new" }]);

  app.stdin.write("q");
  await tick();
  assert.deepEqual(source.commands.at(-1), { type: "quit" });
  app.unmount();
});

Deno.test("components: arrows move the selection; commands follow it", async () => {
  const source = new FakeSource();
  const controller = new TuiController(source, { width: 110, height: 40 });
  const opened: UiInput[] = [];
  for (let id = 1; id <= 3; id++) {
    opened.push({
      kind: "event",
      at: id,
      node: PEER_A,
      event: {
        type: "state-changed",
        conn: id,
        from: "CLOSED",
        to: "SYN-SENT",
        cause: "open",
        now: id,
      },
    });
  }
  const app = render(<App controller={controller} />);
  source.push(opened);
  controller.tick();
  await tick();
  let out = strip(app.lastFrame() ?? "");
  assert.match(out, /▶#3 /, "the newest is selected");
  app.stdin.write("\x1b[A"); // up
  await tick();
  app.stdin.write("\x1b[A");
  await tick();
  out = strip(app.lastFrame() ?? "");
  assert.match(out, /▶#1 /);
  app.stdin.write("c");
  await tick();
  assert.deepEqual(source.commands.at(-1), {
    type: "close",
    node: PEER_A,
    target: { [PEER_A]: 1 },
  });
  app.stdin.write("\x1b[B"); // down
  await tick();
  assert.match(strip(app.lastFrame() ?? ""), /▶#2 /);
  app.stdin.write("\x03"); // Ctrl-C quits too
  await tick();
  assert.deepEqual(source.commands.at(-1), { type: "quit" });
  app.unmount();
});

Deno.test("components: frames are rebuilt only when something moved, at most once per tick", () => {
  const source = new FakeSource();
  const controller = new TuiController(source, { width: 100, height: 30 });
  let frames = 0;
  controller.onFrame(() => frames++);
  controller.tick();
  const first = frames;
  controller.tick();
  controller.tick();
  assert.equal(frames, first, "nothing changed: no new frame");
  source.push([{ kind: "action", at: 100, node: PEER_A, label: "Close" }]);
  controller.tick();
  assert.equal(frames, first + 1);
  controller.resize(80, 24);
  assert.equal(frames, first + 2, "a resize redraws");
  assert.equal(controller.frame().width, 80);
});

Deno.test("components: renders are capped at 30 a second; a moving clock alone redraws 10 times a second", () => {
  assert.equal(MAX_FPS, 30);
  assert.equal(renderInterval(), 34);
  assert.equal(renderInterval(240), 34, "asking for more gets 30");
  assert.equal(renderInterval(10), 100);
  let now = 0;
  const source = new FakeSource();
  source.now = () => now;
  const controller = new TuiController(source, { width: 100, height: 30 });
  controller.tick(); // the first frame
  let frames = 0;
  controller.onFrame(() => frames++);
  for (let k = 0; k < 30; k++) {
    now += 33;
    controller.tick();
  }
  assert.equal(frames, 10);
});
