/**
 * The view model folded from engine events: pure, no terminal. Each test feeds a
 * played scenario's log or hand-written events and reads the store or a frame.
 */
import assert from "node:assert/strict";
import { type DiagramRow, UiStore } from "../../src/ui/model.ts";
import { buildFrame } from "../../src/ui/frame.ts";
import type { ConnSnapshot, UiInput, UiStatus } from "../../src/ui/source.ts";
import type { State } from "../../src/tcb/state.ts";
import { World } from "../../src/sim/world.ts";
import { PEER_A, PEER_B } from "../../src/trace/scenarios.ts";
import { foldScenario, NODES } from "./_helpers.ts";

const STATUS: UiStatus = { title: "test", transport: "sim", msl: 1000, paused: false };

/** One row as text: `A ESTABLISHED→FIN-WAIT-1 | <SEQ=..> | B ESTABLISHED→CLOSE-WAIT (marks)`. */
function describe(row: DiagramRow): string {
  const name = (i: number) => (i === 0 ? "A" : i === 1 ? "B" : "?");
  const mark = (from: State | undefined, to: State | undefined) =>
    to === undefined ? "-" : from && from !== to ? `${from}→${to}` : to;
  switch (row.type) {
    case "action":
      return `${name(row.node)} (${row.label})`;
    case "state":
      return `${name(row.conn.node)} ${row.from}→${row.to} (${row.cause}${
        row.reason ? `, ${row.reason}` : ""
      })`;
    case "segment": {
      const marks = [
        row.retransmission && "rtx",
        row.lost && "lost",
        row.duplicated && "dup",
        row.reordered && "reordered",
        row.corrupted && "corrupted",
      ].filter(Boolean);
      return `${name(row.from)} ${mark(row.senderFrom, row.senderState)} | ${row.text} | ` +
        `${name(row.to)} ${mark(row.receiverFrom, row.receiverState)}` +
        (marks.length ? ` (${marks.join(",")})` : "");
    }
  }
}

function snapshot(id: number, state: State, extra: Partial<ConnSnapshot> = {}): ConnSnapshot {
  return {
    id,
    state,
    localPort: 49152,
    remoteAddress: PEER_B,
    remotePort: 80,
    sndUna: 100,
    sndNxt: 100,
    rcvNxt: 300,
    bytesInFlight: 0,
    rto: 1000,
    retries: 0,
    timers: { retransmit: Infinity, finWait2: Infinity, timeWait: Infinity },
    ...extra,
  };
}

function changed(at: number, node: string, conn: number, from: State, to: State): UiInput {
  const cause = to === "TIME-WAIT" ? "rcv-fin" : to === "CLOSED" ? "time-wait-expired" : "close";
  return {
    kind: "event",
    at,
    node,
    event: { type: "state-changed", conn, from, to, cause, now: at },
  };
}

Deno.test("view model: normal-close folds into RFC 9293 Figure 12, states beside the arrows that caused them", () => {
  const { store } = foldScenario("normal-close");
  assert.deepEqual(store.rows(100).map(describe), [
    "A CLOSED→SYN-SENT | <SEQ=99><CTL=SYN> | B LISTEN→SYN-RECEIVED",
    "B SYN-RECEIVED | <SEQ=299><ACK=100><CTL=SYN,ACK> | A SYN-SENT→ESTABLISHED",
    "A ESTABLISHED | <SEQ=100><ACK=300><CTL=ACK> | B SYN-RECEIVED→ESTABLISHED",
    "A (Close)",
    "A ESTABLISHED→FIN-WAIT-1 | <SEQ=100><ACK=300><CTL=FIN,ACK> | B ESTABLISHED→CLOSE-WAIT",
    "B CLOSE-WAIT | <SEQ=300><ACK=101><CTL=ACK> | A FIN-WAIT-1→FIN-WAIT-2",
    "B (Close)",
    "B CLOSE-WAIT→LAST-ACK | <SEQ=300><ACK=101><CTL=FIN,ACK> | A FIN-WAIT-2→TIME-WAIT",
    "A TIME-WAIT | <SEQ=101><ACK=301><CTL=ACK> | B LAST-ACK→CLOSED",
    "A TIME-WAIT→CLOSED (time-wait-expired, normal)",
  ]);
  assert.equal(store.live, 0);
  assert.equal(store.count("TIME-WAIT"), 0);
  assert.equal(store.totals.segments, 7);
  assert.equal(store.totals.closed, 2);
});

Deno.test("view model: simultaneous-close shows both ends in CLOSING (Figure 13)", () => {
  const { store } = foldScenario("simultaneous-close");
  const rows = store.rows(100).map(describe);
  assert.ok(
    rows.includes(
      "A ESTABLISHED→FIN-WAIT-1 | <SEQ=100><ACK=300><CTL=FIN,ACK> | B FIN-WAIT-1→CLOSING",
    ),
    rows.join("\n"),
  );
  assert.ok(
    rows.includes(
      "B ESTABLISHED→FIN-WAIT-1 | <SEQ=300><ACK=100><CTL=FIN,ACK> | A FIN-WAIT-1→CLOSING",
    ),
    rows.join("\n"),
  );
  assert.equal(rows.filter((r) => r.includes("CLOSING→TIME-WAIT")).length, 2);
});

Deno.test("view model: abort is one RST; the peer is told 'reset' and nobody waits in TIME-WAIT", () => {
  const { store } = foldScenario("abort");
  const rows = store.rows(100).map(describe);
  // The RST goes out first, then A's change: both are drawn on the one arrow.
  assert.deepEqual(rows.slice(-2), [
    "A (Abort)",
    "A ESTABLISHED→CLOSED | <SEQ=100><CTL=RST> | B ESTABLISHED→CLOSED",
  ]);
  assert.equal(store.totals.resets, 1);
  const b = store.pairs().at(-1)!.conns[1]!;
  assert.equal(b.reason, "reset");
});

Deno.test("view model: lost, duplicated and retransmitted segments are marked on their rows", () => {
  const { store, log } = foldScenario("lossy-close", { loss: 0.3, seed: 7 });
  const rows = store.rows(400).filter((r) => r.type === "segment");
  const lostIds = new Set<number>();
  for (const e of log) if (e.kind === "net" && e.event.type === "lost") lostIds.add(e.event.id);
  assert.ok(lostIds.size > 0, "seed 7 at 30 % loses something");
  assert.equal(store.totals.lost, lostIds.size);
  const marked = rows.filter((r) => r.type === "segment" && r.lost);
  assert.deepEqual(
    marked.map((r) => r.type === "segment" && r.datagram).sort(),
    [...lostIds].sort(),
  );
  assert.ok(rows.some((r) => r.type === "segment" && r.retransmission), "something was resent");
  // A lost segment has no receiver state and draws as lost.
  const frame = buildFrame(store, { width: 120, height: 60, now: store.now, status: STATUS });
  assert.ok(frame.diagram.lines.some((l) => l.kind === "segment" && l.fate === "lost"));

  // Duplicates and reordering on a link that does both every time.
  const world = new World({
    seed: 3,
    link: { delay: 10, duplicate: 1, reorder: 1, reorderDelay: 5 },
  });
  const a = world.add({ address: PEER_A, secret: new Uint8Array(16) });
  const b = world.add({ address: PEER_B, secret: new Uint8Array(16) });
  b.listen(80);
  world.act(PEER_A, "Connect", (ep, now) => ep.connect(PEER_B, 80, now));
  world.run(1000);
  void a;
  const dup = new UiStore({ nodes: NODES, msl: 1000 });
  dup.applyAll(world.log);
  const segs = dup.rows(100).filter((r) => r.type === "segment");
  assert.ok(segs.length >= 3);
  assert.ok(
    segs.every((r) => r.type === "segment" && r.duplicated && r.reordered),
    segs.map(describe).join("\n"),
  );
  assert.ok(dup.totals.duplicated >= 3);
});

Deno.test("view model: snapshots fill SND.UNA/SND.NXT/RCV.NXT and pair both ends by 4-tuple", () => {
  const store = new UiStore({ nodes: NODES, msl: 1000 });
  store.apply(changed(0, PEER_A, 7, "CLOSED", "SYN-SENT"));
  store.apply(changed(5, PEER_B, 3, "LISTEN", "SYN-RECEIVED"));
  assert.equal(store.pairs().length, 2, "two halves until the 4-tuples are known");
  store.apply({
    kind: "snapshot",
    at: 5,
    node: PEER_A,
    info: snapshot(7, "SYN-SENT", { sndNxt: 101 }),
  });
  store.apply({
    kind: "snapshot",
    at: 5,
    node: PEER_B,
    info: snapshot(3, "SYN-RECEIVED", { localPort: 80, remoteAddress: PEER_A, remotePort: 49152 }),
  });
  const pairs = store.pairs();
  assert.equal(pairs.length, 1);
  const [ca, cb] = pairs[0].conns;
  assert.equal(ca?.id, 7);
  assert.equal(cb?.id, 3);
  assert.equal(ca?.sndNxt, 101);
  assert.equal(ca?.sndUna, 100);
  assert.equal(ca?.rcvNxt, 300);
  assert.deepEqual(store.target(), { [PEER_A]: 7, [PEER_B]: 3 });
});

Deno.test("view model: countdowns for RTO (with backoff), FIN-WAIT-2 and TIME-WAIT", () => {
  const store = new UiStore({ nodes: NODES, msl: 500 });
  store.apply(changed(0, PEER_A, 1, "ESTABLISHED", "FIN-WAIT-1"));
  store.apply({
    kind: "snapshot",
    at: 0,
    node: PEER_A,
    info: snapshot(1, "FIN-WAIT-1", {
      retries: 2,
      rto: 800,
      timers: { retransmit: 800, finWait2: Infinity, timeWait: Infinity },
    }),
  });
  let cell = buildFrame(store, { width: 100, height: 30, now: 200, status: STATUS }).panes.rows[0]
    .cells[0]!;
  assert.deepEqual(cell.timers, [{ label: "RTO", remaining: 600, fraction: 0.75, backoff: 2 }]);

  store.apply(changed(300, PEER_A, 1, "FIN-WAIT-1", "FIN-WAIT-2"));
  store.apply({
    kind: "snapshot",
    at: 300,
    node: PEER_A,
    info: snapshot(1, "FIN-WAIT-2", {
      timers: { retransmit: Infinity, finWait2: 60_300, timeWait: Infinity },
    }),
  });
  cell = buildFrame(store, { width: 100, height: 30, now: 30_300, status: STATUS }).panes.rows[0]
    .cells[0]!;
  assert.deepEqual(cell.timers.map((t) => [t.label, t.remaining, t.fraction]), [[
    "FIN-WAIT-2",
    30_000,
    0.5,
  ]]);

  // TIME-WAIT: 2·MSL from the change (the driver sends no snapshot for it).
  store.apply(changed(1000, PEER_A, 1, "FIN-WAIT-2", "TIME-WAIT"));
  cell = buildFrame(store, { width: 100, height: 30, now: 1250, status: STATUS }).panes.rows[0]
    .cells[0]!;
  assert.deepEqual(cell.timers.map((t) => [t.label, t.remaining, t.fraction]), [[
    "TIME-WAIT",
    750,
    0.75,
  ]]);
  // A retransmitted FIN restarts it (RFC 9293 §3.10.7.4).
  store.apply({
    kind: "event",
    at: 1500,
    node: PEER_A,
    event: {
      type: "segment-received",
      conn: 1,
      segment: {
        srcPort: 80,
        dstPort: 49152,
        seq: 300,
        ack: 101,
        flags: 0x11,
        window: 0,
        checksum: 0,
        urgent: 0,
        mss: undefined,
        windowScale: undefined,
        sackPermitted: false,
        sack: undefined,
        tsVal: undefined,
        tsEcr: undefined,
        payload: new Uint8Array(0),
      },
      now: 1500,
    },
  });
  cell = buildFrame(store, { width: 100, height: 30, now: 1500, status: STATUS }).panes.rows[0]
    .cells[0]!;
  assert.deepEqual(cell.timers.map((t) => [t.label, t.remaining]), [["TIME-WAIT", 1000]]);
  store.apply(changed(2500, PEER_A, 1, "TIME-WAIT", "CLOSED"));
  cell = buildFrame(store, { width: 100, height: 30, now: 2500, status: STATUS }).panes.rows[0]
    .cells[0]!;
  assert.equal(cell.state, "CLOSED");
  assert.deepEqual(cell.timers, []);
});

Deno.test("view model: count per state, TIME-WAIT sparkline samples and segments per second", () => {
  const store = new UiStore({ nodes: NODES, msl: 1000, sampleEvery: 100 });
  for (let i = 1; i <= 5; i++) store.apply(changed(i, PEER_A, i, "ESTABLISHED", "FIN-WAIT-1"));
  assert.equal(store.count("FIN-WAIT-1"), 5);
  store.tick(0);
  store.apply(changed(150, PEER_A, 1, "FIN-WAIT-2", "TIME-WAIT"));
  store.tick(250);
  store.apply(changed(260, PEER_A, 2, "FIN-WAIT-2", "TIME-WAIT"));
  store.apply(changed(270, PEER_A, 3, "FIN-WAIT-2", "TIME-WAIT"));
  store.tick(400);
  assert.equal(store.count("TIME-WAIT"), 3);
  assert.equal(store.countOn(0, "TIME-WAIT"), 3);
  assert.equal(store.countOn(1, "TIME-WAIT"), 0);
  assert.equal(store.count("FIN-WAIT-1"), 2);
  assert.deepEqual(store.samples(10), [0, 1, 1, 3, 3]);

  const { store: s2 } = foldScenario("normal-close");
  // 7 segments within the second that ends at the last one (at 170 ms).
  assert.equal(s2.segmentsPerSecond(175), 7);
  assert.equal(s2.segmentsPerSecond(5000), 0);
});

Deno.test("view model: closed connections linger a while, then leave; the selection follows the newest", () => {
  const store = new UiStore({ nodes: NODES, msl: 1000, closedKeep: 2 });
  for (let id = 1; id <= 4; id++) store.apply(changed(id, PEER_A, id, "CLOSED", "SYN-SENT"));
  assert.equal(store.selected?.conns[0]?.id, 4, "follows the newest");
  store.select(-2);
  assert.equal(store.selected?.conns[0]?.id, 2, "arrows move it");
  store.apply(changed(10, PEER_A, 5, "CLOSED", "SYN-SENT"));
  assert.equal(store.selected?.conns[0]?.id, 2, "and it stays");
  for (let id = 1; id <= 3; id++) store.apply(changed(20 + id, PEER_A, id, "SYN-SENT", "CLOSED"));
  // Three closed, two kept: #1 left the screen, #2 and #3 still show CLOSED.
  assert.deepEqual(store.pairs().map((p) => p.conns[0]!.id), [2, 3, 4, 5]);
  assert.equal(store.pairs()[0].conns[0]!.state, "CLOSED");
  store.apply(changed(30, PEER_A, 4, "SYN-SENT", "CLOSED"));
  assert.deepEqual(store.pairs().map((p) => p.conns[0]!.id), [3, 4, 5]);
  assert.equal(store.selected?.conns[0]?.id, 5, "selection gone: back to the newest");
  assert.equal(store.live, 1);
});

Deno.test("view model: a long list is windowed around the selection; the frame holds only what fits", () => {
  const store = new UiStore({ nodes: NODES, msl: 1000 });
  const inputs: UiInput[] = [];
  for (let id = 1; id <= 5000; id++) inputs.push(changed(id, PEER_A, id, "CLOSED", "SYN-SENT"));
  for (let id = 1; id <= 3000; id++) {
    inputs.push(changed(6000 + id, PEER_A, id, "FIN-WAIT-2", "TIME-WAIT"));
  }
  store.applyAll(inputs);
  let f = buildFrame(store, { width: 120, height: 40, now: 9000, status: STATUS });
  const k = f.panes.rows.length;
  assert.ok(k >= 3 && k <= 6, `rows shown: ${k}`);
  assert.equal(f.panes.total, 5000);
  assert.equal(f.panes.first, 5000 - k);
  assert.ok(f.panes.rows.at(-1)!.selected);
  store.select(-2500);
  f = buildFrame(store, { width: 120, height: 40, now: 9000, status: STATUS });
  const sel = f.panes.rows.find((r) => r.selected)!;
  assert.equal(sel.cells[0]!.id, 2500);
  assert.ok(f.panes.first <= 2499 && 2499 < f.panes.first + k);
  assert.equal(f.summary.timeWait, 3000);
  assert.equal(f.summary.counts.find((c) => c.state === "SYN-SENT")!.count, 2000);
});

Deno.test("view model: storm frames carry counts per state and node and a sample of recent changes", () => {
  const store = new UiStore({ nodes: NODES, msl: 1000 });
  for (let id = 1; id <= 50; id++) {
    store.apply(changed(id, PEER_A, id, "ESTABLISHED", "FIN-WAIT-1"));
  }
  for (let id = 1; id <= 20; id++) {
    store.apply(changed(100 + id, PEER_B, id, "ESTABLISHED", "CLOSE-WAIT"));
  }
  const f = buildFrame(store, {
    width: 100,
    height: 30,
    now: 200,
    status: { ...STATUS, storm: { rate: 200, opened: 70 } },
  });
  assert.ok(f.storm);
  assert.deepEqual(f.storm.table.find((r) => r.state === "FIN-WAIT-1")!.counts, [50, 0]);
  assert.deepEqual(f.storm.table.find((r) => r.state === "CLOSE-WAIT")!.counts, [0, 20]);
  assert.ok(f.storm.sample.length > 0 && f.storm.sample.length <= f.storm.height);
  assert.equal(f.storm.sample[0].node, "B");
  assert.equal(f.storm.sample[0].cell.id, 20, "newest change first");
  assert.equal(f.panes.rows.length, 0, "no per-connection panes in a storm");
});
