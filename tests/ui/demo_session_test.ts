/**
 * `finwait demo`'s session: every command on the simulated network, the hold before
 * the scenario plays, storm mode, pcap, and the line output (in process and piped
 * through a real subprocess). A fake clock drives real time; nothing sleeps.
 */
import assert from "node:assert/strict";
import {
  DEMO_DEFAULTS,
  type DemoOptions,
  DemoSession,
  LOSS_STEPS,
} from "../../src/cli/demo_session.ts";
import { PEER_A, PEER_B, SCENARIO_NAMES } from "../../src/trace/scenarios.ts";
import { runLines } from "../../src/ui/lines.ts";
import { UiStore } from "../../src/ui/model.ts";
import type { Target, UiInput } from "../../src/ui/source.ts";
import type { State } from "../../src/tcb/state.ts";
import { FakeClock, NODES } from "./_helpers.ts";

function session(o: Partial<DemoOptions> = {}) {
  const clock = new FakeClock();
  const s = new DemoSession({
    scenario: "normal-close",
    seed: 1,
    speed: 0.1,
    msl: 300,
    delay: 100,
    hold: 2000,
    stormRate: 200,
    clock,
    ...o,
  });
  const store = new UiStore({ nodes: NODES, msl: o.msl ?? 300 });
  const inputs: UiInput[] = [];
  s.subscribe((batch) => {
    store.applyAll(batch);
    inputs.push(...batch);
  });
  /** A's states in the order they were entered. */
  const states = (node: string, conn = 1) =>
    inputs.flatMap((e) =>
      e.kind === "event" && e.node === node && e.event.type === "state-changed" &&
        e.event.conn === conn
        ? [e.event.to]
        : []
    );
  const actions = () =>
    inputs.flatMap((
      e,
    ) => (e.kind === "action" ? [`${e.node === PEER_A ? "A" : "B"} ${e.label}`] : []));
  return { s, clock, store, inputs, states, actions };
}

const A = (t: Target) => t[PEER_A];

Deno.test("demo: the established connection is held, then the scenario plays", () => {
  const { s, clock, states } = session();
  s.start();
  assert.match(s.status().note!, /normal-close: .* plays in 2 s/);
  assert.equal(s.status().paused, false, "holding is not a user pause");
  clock.advance(1999);
  assert.deepEqual(states(PEER_A), ["SYN-SENT", "ESTABLISHED"]);
  clock.advance(1);
  assert.equal(states(PEER_A).at(-1), "FIN-WAIT-1");
  clock.advance(60_000);
  assert.deepEqual(states(PEER_A), [
    "SYN-SENT",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "CLOSED",
  ]);
  assert.ok(s.status().idle);
  assert.match(s.status().note!, /All CLOSED\. n opens a new connection/);
  assert.match(
    s.summary(),
    /^demo normal-close: A CLOSED \(normal\), B CLOSED \(normal\); 7 segments/,
  );
  s.stop();
});

Deno.test("demo: c during the hold is the user's own close: A steps through FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSED", () => {
  const { s, clock, store, states, actions } = session();
  s.start();
  clock.advance(300);
  assert.equal(s.command({ type: "close", node: PEER_A, target: store.target() }), undefined);
  assert.equal(states(PEER_A).at(-1), "FIN-WAIT-1", "at once");
  // B closes back three one-way delays after the FIN: A's FIN-WAIT-2 lasts long enough to see.
  clock.advance(2000 + 1000);
  assert.equal(states(PEER_A).at(-1), "FIN-WAIT-2");
  clock.advance(30_000);
  assert.deepEqual(states(PEER_A).slice(2), ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
  assert.deepEqual(states(PEER_B).slice(-3), ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
  assert.deepEqual(actions(), ["A Close", "B Close"], "the scenario's own close never ran");
  s.stop();
});

Deno.test("demo: C closes from B; A closes back and B waits in TIME-WAIT", () => {
  const { s, clock, store, states } = session({ hold: 0 });
  s.start();
  // hold 0 plays the scenario at once: open a second connection and close that from B.
  s.command({ type: "new" });
  clock.advance(5000);
  const t = store.target();
  assert.equal(A(t), 2, "the new connection is selected");
  s.command({ type: "close", node: PEER_B, target: t });
  clock.advance(60_000);
  assert.deepEqual(states(PEER_B, t[PEER_B]).slice(-4), [
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "TIME-WAIT",
    "CLOSED",
  ]);
  assert.deepEqual(states(PEER_A, 2).slice(-3), ["CLOSE-WAIT", "LAST-ACK", "CLOSED"]);
  s.stop();
});

Deno.test("demo: s is a simultaneous close (both CLOSING); a aborts with a RST", () => {
  const { s, clock, store, states } = session();
  s.start();
  s.command({ type: "simultaneous-close", target: store.target() });
  clock.advance(60_000);
  assert.deepEqual(states(PEER_A).slice(2), ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]);
  assert.deepEqual(states(PEER_B).slice(-4), ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"]);

  const x = session();
  x.s.start();
  x.s.command({ type: "abort", node: PEER_A, target: x.store.target() });
  x.clock.advance(10_000);
  assert.deepEqual(x.states(PEER_A).slice(-1), ["CLOSED"]);
  assert.deepEqual(x.states(PEER_B).slice(-1), ["CLOSED"]);
  assert.equal(x.store.totals.resets, 1);
  assert.equal(x.store.count("TIME-WAIT"), 0);
  s.stop();
  x.s.stop();
});

Deno.test("demo: h half-closes; w then writes from B; the data is read; C finishes", () => {
  const { s, clock, store, states, inputs } = session();
  s.start();
  assert.match(
    s.command({ type: "half-close", node: PEER_A, target: store.target() })!,
    /Half-close/,
  );
  clock.advance(20_000);
  assert.equal(
    states(PEER_A).at(-1),
    "FIN-WAIT-2",
    "after shutdown A waits for B's FIN, no timeout",
  );
  assert.equal(states(PEER_B).at(-1), "CLOSE-WAIT", "B's application has not closed");
  assert.equal(s.command({ type: "write", target: store.target() }), undefined);
  clock.advance(5000);
  const data = inputs.filter((e) =>
    e.kind === "event" && e.event.type === "data" && e.node === PEER_A
  );
  assert.equal(data.length, 1);
  s.command({ type: "close", node: PEER_B, target: store.target() });
  clock.advance(60_000);
  assert.deepEqual(states(PEER_A).slice(-2), ["TIME-WAIT", "CLOSED"]);
  assert.deepEqual(states(PEER_B).slice(-2), ["LAST-ACK", "CLOSED"]);
  assert.equal(store.totals.resets, 0, "read data closes with FIN, not RST");
  s.stop();
});

Deno.test("demo: space pauses, . steps, +/- change speed, l cycles loss, replies for impossible commands", () => {
  const { s, clock, store, states } = session({ hold: 0 });
  s.start();
  assert.match(s.command({ type: "pause" })!, /Paused/);
  assert.equal(s.status().paused, true);
  clock.advance(100_000);
  assert.equal(states(PEER_A).at(-1), "FIN-WAIT-1", "frozen right after the scenario's close");
  s.command({ type: "step" });
  assert.equal(states(PEER_B).at(-1), "CLOSE-WAIT", "one step: B got the FIN");
  assert.match(s.command({ type: "pause" })!, /Running/);
  assert.match(s.command({ type: "speed", factor: 2 })!, /Speed 0\.2×/);
  assert.match(s.command({ type: "speed", factor: 0.5 })!, /Speed 0\.1×/);
  const seen: number[] = [];
  for (let i = 0; i < LOSS_STEPS.length; i++) {
    s.command({ type: "loss" });
    seen.push(s.status().loss!);
  }
  assert.deepEqual(seen, [...LOSS_STEPS.slice(1), 0]);
  clock.advance(100_000);
  assert.match(
    s.command({ type: "close", node: PEER_A, target: store.target() })!,
    /No open connection on A/,
  );
  s.stop();
});

Deno.test("demo: t storms: many connections open and close, TIME-WAIT fills; t again stops", () => {
  const { s, clock, store } = session({ hold: 0, stormRate: 100 });
  s.start();
  assert.match(s.command({ type: "storm" })!, /Storm: 100 connections per second \(speed 1×\)/);
  clock.advance(2000);
  const st = s.status();
  assert.ok(st.storm && st.storm.opened >= 150, `opened ${st.storm?.opened}`);
  assert.ok(store.count("TIME-WAIT") > 20, `TIME-WAIT ${store.count("TIME-WAIT")}`);
  assert.ok(store.totals.closed > 100);
  s.command({ type: "storm" });
  assert.equal(s.status().storm, undefined);
  clock.advance(10_000);
  assert.equal(store.live, 0, "every stormed connection finished its close");
  assert.equal(store.totals.resets, 0);
  s.stop();
});

Deno.test("demo: p saves every segment so far as a pcap file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { s, clock } = session({ pcapDir: dir, hold: 0 });
    s.start();
    clock.advance(60_000);
    const reply = s.command({ type: "pcap" }) as string;
    assert.match(reply, /^Saved 7 packets to .*finwait-demo-normal-close-seed1\.pcap$/);
    const bytes = await Deno.readFile(`${dir}/finwait-demo-normal-close-seed1.pcap`);
    assert.ok(bytes.length > 24 + 7 * 16, `${bytes.length} bytes`);
    s.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("demo: line output plays the scenario flat out and ends with the summary", async () => {
  const s = new DemoSession({
    scenario: "simultaneous-close",
    seed: 1,
    speed: Infinity,
    msl: 300,
    delay: 10,
    hold: 0,
    stormRate: 100,
  });
  const lines: string[] = [];
  await runLines({ source: s, write: (l) => lines.push(l) });
  const text = lines.join("\n");
  const order: State[] = ["FIN-WAIT-1", "CLOSING", "TIME-WAIT", "CLOSED"];
  let at = 0;
  for (const st of order) {
    const i = lines.findIndex((l, k) => k >= at && l.includes(`A #1`) && l.includes(`→ ${st}`));
    assert.ok(i >= at, `A → ${st} after line ${at}:\n${text}`);
    at = i;
  }
  assert.match(text, /A --> B {2}<SEQ=100><ACK=300><CTL=FIN,ACK>/);
  assert.match(lines.at(-1)!, /^demo simultaneous-close: A CLOSED \(normal\), B CLOSED \(normal\)/);
});

Deno.test("demo: piped (not a terminal) it prints lines, never touches raw mode, exits 0", async () => {
  const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      main,
      "demo",
      "--msl",
      "0.2",
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, err);
  assert.equal(err.includes("Raw mode"), false);
  // deno-lint-ignore no-control-regex
  assert.doesNotMatch(text, /\x1b\[/, "no escape sequences in line output");
  const seq = ["→ FIN-WAIT-1", "→ FIN-WAIT-2", "→ TIME-WAIT", "A #1  TIME-WAIT → CLOSED"];
  let at = -1;
  for (const s of seq) {
    const i = text.indexOf(s, at + 1);
    assert.ok(i > at, `${s} in order:\n${text}`);
    at = i;
  }
  assert.match(text, /demo normal-close: A CLOSED \(normal\), B CLOSED \(normal\); 7 segments/);
});

Deno.test("demo: an unknown scenario is a usage error", () => {
  assert.throws(
    () => session({ scenario: "nope" }),
    /Unknown scenario "nope": choose one of normal-close/,
  );
});

Deno.test("demo: every trace scenario plays to the end with the demo's defaults", async () => {
  for (const scenario of SCENARIO_NAMES) {
    const s = new DemoSession({ ...DEMO_DEFAULTS, scenario, speed: Infinity, hold: 0 });
    const lines: string[] = [];
    await runLines({ source: s, write: (l) => lines.push(l) });
    assert.match(
      lines.at(-1)!,
      new RegExp(`^demo ${scenario}: A CLOSED .*, B CLOSED `),
      lines.join("\n"),
    );
  }
});

Deno.test("demo: an error in a scheduled action ends the line output with that error", async () => {
  // time-wait-reopen reconnects 200 ms after B's close; a 100 ms link has not freed the
  // 4-tuple by then, so the scenario's own connect throws in the driver's loop.
  const s = new DemoSession({
    ...DEMO_DEFAULTS,
    scenario: "time-wait-reopen",
    delay: 100,
    speed: Infinity,
    hold: 0,
  });
  await assert.rejects(
    runLines({ source: s, write: () => {} }),
    /Cannot connect: .* already in use/,
  );
});
