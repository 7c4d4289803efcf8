/**
 * The endpoint's compact TIME-WAIT table in action: connections leave their TCB for
 * a record, segments for the record follow the same rules as the TCB, timers expire
 * from the FIFO, and the cap recycles the oldest record with the right events.
 */
import assert from "node:assert/strict";
import { B, fixture, SERVICE_PORT } from "../_helpers/fixture.ts";
import { Endpoint } from "../../src/endpoint/endpoint.ts";
import { seg } from "../../src/wire/rfc_notation.ts";

Deno.test("compact: a connection entering TIME-WAIT becomes a record and its TCB is released", () => {
  const t = fixture("TIME-WAIT");
  assert.equal(t.ep.timeWaitCount, 1);
  assert.equal(t.ep.stats.timeWaitAdopted, 1);
  assert.equal(t.ep.size, 1);
  assert.equal(t.ep.state(t.conn), "TIME-WAIT");
  const info = t.ep.info(t.conn)!;
  assert.equal(info.state, "TIME-WAIT");
  assert.equal(info.sndNxt, 101);
  assert.equal(info.rcvNxt, 301);
  assert.equal(info.timers.timeWait, 60_000);
  assert.deepEqual(t.ep.connections(), [t.conn]);
});

Deno.test("compact: the record's ACK carries the window and timestamps the TCB would send", () => {
  const t = fixture("TIME-WAIT", { tcb: { timestamps: true } });
  assert.equal(t.ep.timeWaitCount, 1);
  t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK><TS=2000,1>");
  const [ack] = t.takeSent();
  assert.equal(ack.seq, 101);
  assert.equal(ack.ack, 301);
  assert.equal(ack.tsEcr, 2000, "TS.Recent updated by the handshake's last segment is echoed");
  assert.ok(ack.window > 0);
});

Deno.test("compact: expiry emits TIME-WAIT → CLOSED (time-wait-expired) and closed normal", () => {
  const t = fixture("TIME-WAIT");
  t.takeEvents();
  t.advance(60_000);
  const evs = t.takeEvents();
  assert.deepEqual(
    evs.map((e) => e.type === "state-changed" ? `${e.from}>${e.to}:${e.cause}` : e.type),
    ["TIME-WAIT>CLOSED:time-wait-expired", "closed"],
  );
  assert.equal(t.ep.size, 0);
  assert.equal(t.ep.pollTimeout(), Infinity);
});

Deno.test("compact: abort of a record deletes it without a segment (§3.10.5)", () => {
  const t = fixture("TIME-WAIT");
  t.abort();
  t.expectSilent();
  assert.equal(t.closedReason(), "aborted");
  assert.equal(t.ep.size, 0);
  assert.equal(t.ep.stats.closed.aborted, 1);
  assert.equal(t.ep.stats.closed.normal, 0);
});

Deno.test("compact: connect skips a local port whose 4-tuple is in TIME-WAIT", () => {
  const ep = new Endpoint({
    address: "10.0.0.1",
    secret: new Uint8Array(16),
    ephemeralPorts: [50000, 50001],
    tcb: { timestamps: false },
  });
  const now = 0;
  const c1 = ep.connect(B, SERVICE_PORT, now, { iss: 99 });
  const port1 = ep.info(c1)!.localPort;
  const syn = (text: string) => seg(text, { srcPort: SERVICE_PORT, dstPort: port1 });
  ep.handleSegment(syn("<SEQ=299><ACK=100><CTL=SYN,ACK>"), B, now);
  ep.close(c1, now);
  ep.handleSegment(syn("<SEQ=300><ACK=101><CTL=FIN,ACK>"), B, now);
  assert.equal(ep.timeWaitCount, 1);
  const c2 = ep.connect(B, SERVICE_PORT, now);
  assert.notEqual(ep.info(c2)!.localPort, port1);
  assert.throws(() => ep.connect(B, SERVICE_PORT, now), /no free local port/);
  assert.throws(
    () => ep.connect(B, SERVICE_PORT, now, { localPort: port1 }),
    /already in use/,
  );
});

Deno.test("compact: a full table recycles the oldest record and reports it", () => {
  const ep = new Endpoint({
    address: "10.0.0.1",
    secret: new Uint8Array(16),
    tcb: { timestamps: false },
    timeWait: { capacity: 2 },
  });
  const ids: number[] = [];
  for (let k = 0; k < 3; k++) {
    const id = ep.connect(B, SERVICE_PORT, k, { iss: 99, localPort: 50000 + k });
    const s = (text: string) => seg(text, { srcPort: SERVICE_PORT, dstPort: 50000 + k });
    ep.handleSegment(s("<SEQ=299><ACK=100><CTL=SYN,ACK>"), B, k);
    ep.close(id, k);
    ep.handleSegment(s("<SEQ=300><ACK=101><CTL=FIN,ACK>"), B, k);
    ids.push(id);
  }
  assert.equal(ep.timeWaitCount, 2);
  assert.equal(ep.stats.timeWaitRecycled, 1);
  const events = [];
  for (let e = ep.pollEvent(); e; e = ep.pollEvent()) events.push(e);
  const recycled = events.find((e) => e.type === "state-changed" && e.cause === "recycled");
  assert.ok(recycled && recycled.type === "state-changed");
  assert.equal(recycled.conn, ids[0]);
  assert.equal(ep.state(ids[0]), "CLOSED");
  assert.equal(ep.state(ids[2]), "TIME-WAIT");
});

Deno.test("compact: with the skip policy a full table leaves TIME-WAIT in the TCB", () => {
  const ep = new Endpoint({
    address: "10.0.0.1",
    secret: new Uint8Array(16),
    tcb: { timestamps: false },
    timeWait: { capacity: 1, overflow: "skip" },
  });
  for (let k = 0; k < 2; k++) {
    const id = ep.connect(B, SERVICE_PORT, k, { iss: 99, localPort: 50000 + k });
    const s = (text: string) => seg(text, { srcPort: SERVICE_PORT, dstPort: 50000 + k });
    ep.handleSegment(s("<SEQ=299><ACK=100><CTL=SYN,ACK>"), B, k);
    ep.close(id, k);
    ep.handleSegment(s("<SEQ=300><ACK=101><CTL=FIN,ACK>"), B, k);
    assert.equal(ep.state(id), "TIME-WAIT");
  }
  assert.equal(ep.timeWaitCount, 1);
  assert.equal(ep.size, 2);
  assert.equal(ep.timeWaitStats().stats.skipped, 1);
});

Deno.test("compact: 100,000 lifecycles leave no record, timer or connection behind", () => {
  const ep = new Endpoint({
    address: "10.0.0.1",
    secret: new Uint8Array(16),
    tcb: { timestamps: false, msl: 1000 },
    events: "lifecycle",
  });
  let now = 0;
  for (let k = 0; k < 100_000; k++) {
    const port = 1024 + (k % 60000);
    const id = ep.connect(B, SERVICE_PORT, now, { iss: 99, localPort: port });
    const s = (text: string) => seg(text, { srcPort: SERVICE_PORT, dstPort: port });
    ep.handleSegment(s("<SEQ=299><ACK=100><CTL=SYN,ACK>"), B, now);
    ep.close(id, now);
    ep.handleSegment(s("<SEQ=300><ACK=101><CTL=FIN,ACK>"), B, now);
    while (ep.pollTransmit());
    while (ep.pollEvent());
    if (k % 1000 === 999) {
      now += 100;
      ep.handleTimeout(now);
    }
  }
  assert.ok(ep.timeWaitCount > 0);
  now += 2000;
  ep.handleTimeout(now);
  while (ep.pollEvent());
  assert.equal(ep.size, 0);
  assert.equal(ep.timeWaitCount, 0);
  assert.equal(ep.timerEntries, 0);
  assert.equal(ep.pollTimeout(), Infinity);
  assert.equal(ep.stats.timeWaitAdopted, 100_000);
});
