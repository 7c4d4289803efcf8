/**
 * TIME-WAIT (behaviour table rows 9–13): its length, retransmitted FINs, RST
 * assassination (RFC 1337), reopening by a new SYN (§3.10.7.4, RFC 6191) and PAWS
 * (RFC 7323 §5).
 *
 * In the fixture's TIME-WAIT, A has SND.NXT = 101 and RCV.NXT = 301.
 */
import assert from "node:assert/strict";
import { B_PORT, OPENINGS, SERVICE_PORT } from "../_helpers/fixture.ts";
import { eventsOf, open, transitions } from "../_helpers/timeline.ts";
import { seg } from "../../src/wire/rfc_notation.ts";

const TW = 60_000; // 2·MSL with the default MSL of 30 s

for (const opening of OPENINGS) {
  // ── TIME-WAIT: duration (row 9) ─────────────────────────────────────────────

  Deno.test(`TIME-WAIT lasts exactly 2·MSL = 60 s by default, row 9 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening });
    assert.equal(t.ep.info(t.conn)!.timers.timeWait, TW);
    t.advance(TW - 1);
    t.expectState("TIME-WAIT");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
    assert.equal(eventsOf(t, "closed")[0].now, TW);
    t.expectSilent();
  });

  Deno.test(`TIME-WAIT lasts 2·MSL for a custom MSL, row 9 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening, tcb: { msl: 1234 } });
    t.advance(2467);
    t.expectState("TIME-WAIT");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(transitions(t).at(-1), "TIME-WAIT → CLOSED (time-wait-expired)");
  });

  Deno.test(`TIME-WAIT entered from CLOSING and from FIN-WAIT-1 also lasts 2·MSL, row 9 (${opening})`, () => {
    const a = open("CLOSING", { opening });
    a.advance(100);
    a.deliver("<SEQ=301><ACK=101><CTL=ACK>");
    a.expectState("TIME-WAIT");
    a.advance(TW - 1);
    a.expectState("TIME-WAIT");
    a.advance(1);
    a.expectState("CLOSED");

    const b = open("FIN-WAIT-1", { opening });
    b.advance(50);
    b.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>");
    b.expectState("TIME-WAIT");
    b.advance(TW - 1);
    b.expectState("TIME-WAIT");
    b.advance(1);
    b.expectState("CLOSED");
  });

  Deno.test(`TIME-WAIT: a stray pure ACK is dropped silently and changes nothing, row 9 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening });
    t.advance(1000);
    t.deliver("<SEQ=301><ACK=101><CTL=ACK>");
    t.expectSilent();
    assert.deepEqual(t.dropReasons(), ["time-wait"]);
    t.advance(TW - 1000);
    t.expectState("CLOSED");
  });

  Deno.test(`TIME-WAIT: data is answered with an ACK and not delivered, row 9 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening });
    t.deliver('<SEQ=301><ACK=101><CTL=ACK><DATA="late">');
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert.equal(t.read(), "");
    t.expectState("TIME-WAIT");
  });

  // ── TIME-WAIT: retransmitted FIN (row 10) ───────────────────────────────────

  Deno.test(`TIME-WAIT: a retransmitted FIN is ACKed again and restarts 2·MSL, row 10 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening });
    t.advance(30_000);
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>"); // B never saw our ACK
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.advance(40_000);
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>"); // and again, 70 s in
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]); // a FIN is never rate limited
    // §3.10.7.4 eighth check, TIME-WAIT: "restart the 2 MSL time-wait timeout".
    t.advance(TW - 1);
    t.expectState("TIME-WAIT");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(eventsOf(t, "closed")[0].now, 70_000 + TW, "2·MSL after the LAST FIN");
  });

  Deno.test(`TIME-WAIT: FINs in quick succession are each ACKed, row 10 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening });
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>");
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>", "<SEQ=101><ACK=301><CTL=ACK>"]);
  });

  // ── TIME-WAIT: RST (row 11) ─────────────────────────────────────────────────

  Deno.test(`TIME-WAIT: RST is ignored with rfc1337 on (default), row 11 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening });
    t.advance(10_000);
    t.deliver("<SEQ=301><CTL=RST>");
    t.expectSilent();
    t.expectState("TIME-WAIT");
    assert.deepEqual(t.dropReasons(), ["rst-in-time-wait"]);
    t.advance(TW - 10_000 - 1);
    t.expectState("TIME-WAIT");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
  });

  Deno.test(`TIME-WAIT: with rfc1337 off an exact RST closes, in-window challenges, outside drops, row 11 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening, tcb: { rfc1337: false } });
    t.deliver("<SEQ=200><CTL=RST>"); // below RCV.NXT: outside the window
    t.expectSilent();
    t.deliver("<SEQ=400><CTL=RST>"); // in the window but not RCV.NXT (RFC 5961 §3.2)
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
    assert.deepEqual(t.dropReasons(), ["rst-out-of-window", "rst-challenged"]);
    t.advance(5);
    t.deliver("<SEQ=301><CTL=RST>");
    t.expectSilent();
    t.expectState("CLOSED");
    assert.equal(transitions(t).at(-1), "TIME-WAIT → CLOSED (rcv-rst)");
    assert.equal(eventsOf(t, "closed")[0].now, 5, "closed by the RST, not the timer");
  });

  // ── TIME-WAIT: SYN (row 12) ─────────────────────────────────────────────────

  Deno.test(`TIME-WAIT: a SYN at or below RCV.NXT gets a challenge ACK, row 12 and 15 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening });
    t.deliver("<SEQ=301><CTL=SYN>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
    assert.equal(t.ep.size, 1, "no new connection");
    assert.deepEqual(t.dropReasons(), ["syn-challenged"]);
  });

  // ── TIME-WAIT: PAWS (row 13) ────────────────────────────────────────────────

  Deno.test(`TIME-WAIT: PAWS drops a FIN with an old timestamp, ACKs it and does not restart 2·MSL, row 13 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening, tcb: { timestamps: true } });
    assert.equal(t.ep.info(t.conn)!.state, "TIME-WAIT");
    t.advance(20_000);
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK><TS=900,0>"); // older than TS.Recent = 1003
    const [ack] = t.takeSent();
    assert.equal(
      `${ack.seq}/${ack.ack}/${ack.tsEcr}`,
      "101/301/1003",
      "ACK echoes TS.Recent (RFC 7323 §5.3 R1)",
    );
    assert.deepEqual(t.dropReasons(), ["paws"]);
    t.advance(TW - 20_000);
    t.expectState("CLOSED");
    assert.equal(eventsOf(t, "closed")[0].now, TW, "the old FIN did not restart the timer");
  });

  Deno.test(`TIME-WAIT: a FIN with a newer timestamp passes PAWS and restarts 2·MSL, row 10 and 13 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening, tcb: { timestamps: true } });
    t.advance(20_000);
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK><TS=1010,0>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.advance(TW - 1);
    t.expectState("TIME-WAIT");
    t.advance(1);
    t.expectState("CLOSED");
  });

  Deno.test(`TIME-WAIT: with paws off an old-timestamp FIN is re-ACKed and restarts 2·MSL, row 13 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening, tcb: { timestamps: true, paws: false } });
    t.advance(20_000);
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK><TS=900,0>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    assert.deepEqual(t.dropReasons(), []);
    t.advance(TW - 1);
    t.expectState("TIME-WAIT");
  });

  // ── ESTABLISHED: PAWS (row 13) ──────────────────────────────────────────────

  Deno.test(`ESTABLISHED: PAWS drops data with an old timestamp and ACKs at once, row 13 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { timestamps: true } });
    const recent = opening === "active" ? 1000 : 1001; // B's last handshake TSval
    t.deliver("<SEQ=300><ACK=100><CTL=PSH,ACK><DATA=3><TS=500,0>");
    const [ack] = t.takeSent();
    assert.equal(`${ack.seq}/${ack.ack}/${ack.tsEcr}`, `100/300/${recent}`);
    assert.equal(t.read(), "", "the old segment's data is not delivered");
    assert.deepEqual(t.dropReasons(), ["paws"]);
    t.deliver("<SEQ=300><ACK=100><CTL=PSH,ACK><DATA=3><TS=1500,0>");
    assert.equal(t.read(), "abc");
    t.advance(40);
    const [ack2] = t.takeSent();
    assert.equal(`${ack2.ack}/${ack2.tsEcr}`, "303/1500", "TS.Recent moved to 1500");
  });

  Deno.test(`ESTABLISHED: PAWS off accepts an old timestamp, row 13 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { timestamps: true, paws: false } });
    t.deliver("<SEQ=300><ACK=100><CTL=PSH,ACK><DATA=3><TS=500,0>");
    assert.equal(t.read(), "abc");
    assert.deepEqual(t.dropReasons(), []);
  });

  Deno.test(`ESTABLISHED: PAWS ignores a TS.Recent idle for more than 24 days, row 13 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { timestamps: true } });
    t.advance(25 * 24 * 3600 * 1000); // RFC 7323 §5.5
    t.deliver("<SEQ=300><ACK=100><CTL=PSH,ACK><DATA=3><TS=500,0>");
    assert.equal(t.read(), "abc");
  });

  Deno.test(`ESTABLISHED: without timestamps negotiated there is no PAWS, row 13 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening }); // fixture: timestamps off
    // 3e9 is "older" than any TS.Recent near 0 in sequence space: PAWS would drop it.
    t.deliver("<SEQ=300><ACK=100><CTL=PSH,ACK><DATA=3><TS=3000000000,0>");
    assert.equal(t.read(), "abc");
  });
}

// ── TIME-WAIT: reopening by SYN (row 12), A listening ─────────────────────────

/** B's new SYN from the same port as the old connection. */
function newSyn(text: string) {
  return seg(text, { srcPort: B_PORT, dstPort: SERVICE_PORT, window: 65535 });
}

Deno.test("TIME-WAIT: a SYN with SEQ > RCV.NXT reopens as SYN-RECEIVED with ISS = SND.NXT + 65537, row 12", () => {
  const t = open("TIME-WAIT", { opening: "passive" });
  const old = t.conn;
  t.advance(1000);
  t.deliverSegment(newSyn("<SEQ=1000><CTL=SYN>"));
  t.expectState("CLOSED");
  assert.equal(transitions(t).at(-1), "TIME-WAIT → CLOSED (reopened)");
  assert.equal(t.closedReason(), "normal");
  const [fresh] = t.ep.connections();
  assert.notEqual(fresh, old);
  assert.equal(t.ep.state(fresh), "SYN-RECEIVED");
  assert.equal(t.ep.info(fresh)!.iss, 101 + 65537);
  t.expectSent(["<SEQ=65638><ACK=1001><CTL=SYN,ACK>"]);
  t.conn = fresh;
  t.deliverSegment(newSyn("<SEQ=1001><ACK=65639><CTL=ACK>"));
  t.expectState("ESTABLISHED");
});

Deno.test("TIME-WAIT: a SYN with SEQ ≤ RCV.NXT does not reopen (no timestamps), row 12", () => {
  const t = open("TIME-WAIT", { opening: "passive" });
  t.deliverSegment(newSyn("<SEQ=100><CTL=SYN>"));
  t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
  t.expectState("TIME-WAIT");
  assert.equal(t.ep.size, 1);
});

Deno.test("TIME-WAIT: timestamps decide: a newer TSval reopens even with a lower SEQ, row 12", () => {
  const t = open("TIME-WAIT", { opening: "passive", tcb: { timestamps: true } });
  t.deliverSegment(newSyn("<SEQ=5><CTL=SYN><TS=2000,0>"));
  t.expectState("CLOSED");
  const [fresh] = t.ep.connections();
  assert.equal(t.ep.state(fresh), "SYN-RECEIVED");
  const [synAck] = t.takeSent();
  assert.equal(`${synAck.seq}/${synAck.ack}/${synAck.tsEcr}`, "65638/6/2000");
});

Deno.test("TIME-WAIT: timestamps decide: an older TSval does not reopen even with a higher SEQ, row 12", () => {
  const t = open("TIME-WAIT", { opening: "passive", tcb: { timestamps: true } });
  t.deliverSegment(newSyn("<SEQ=9000><CTL=SYN><TS=500,0>"));
  // RFC 6191 §2: silently drop, leaving the old incarnation in TIME-WAIT.
  t.expectSilent();
  t.expectState("TIME-WAIT");
  assert.equal(t.ep.size, 1);
  assert.deepEqual(t.dropReasons(), ["time-wait"]);
});

Deno.test("TIME-WAIT: timestamps equal to TS.Recent fall back to the SEQ rule, row 12", () => {
  const low = open("TIME-WAIT", { opening: "passive", tcb: { timestamps: true } });
  low.deliverSegment(newSyn("<SEQ=5><CTL=SYN><TS=1003,0>"));
  low.expectState("TIME-WAIT");
  const high = open("TIME-WAIT", { opening: "passive", tcb: { timestamps: true } });
  high.deliverSegment(newSyn("<SEQ=9000><CTL=SYN><TS=1003,0>"));
  high.expectState("CLOSED");
  assert.equal(high.ep.state(high.ep.connections()[0]), "SYN-RECEIVED");
});

Deno.test('TIME-WAIT: timeWaitReopen "seq" ignores timestamps, row 12', () => {
  const tsNewer = open("TIME-WAIT", {
    opening: "passive",
    tcb: { timestamps: true, timeWaitReopen: "seq" },
  });
  tsNewer.deliverSegment(newSyn("<SEQ=5><CTL=SYN><TS=2000,0>"));
  tsNewer.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]); // challenge ACK, no reopen
  tsNewer.expectState("TIME-WAIT");

  const seqHigher = open("TIME-WAIT", {
    opening: "passive",
    tcb: { timestamps: true, timeWaitReopen: "seq" },
  });
  seqHigher.deliverSegment(newSyn("<SEQ=9000><CTL=SYN><TS=500,0>"));
  seqHigher.expectState("CLOSED");
  seqHigher.expectSent(["<SEQ=65638><ACK=9001><CTL=SYN,ACK>"]);
});

Deno.test('TIME-WAIT: timeWaitReopen "never" keeps TIME-WAIT for any SYN, row 12', () => {
  const t = open("TIME-WAIT", { opening: "passive", tcb: { timeWaitReopen: "never" } });
  t.deliverSegment(newSyn("<SEQ=9000><CTL=SYN>"));
  t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
  t.expectState("TIME-WAIT");
  assert.equal(t.ep.size, 1);
  t.advance(TW);
  t.expectState("CLOSED");
});

Deno.test("TIME-WAIT without a listener: a would-be reopening SYN keeps TIME-WAIT and is ACKed, row 12", () => {
  // A opened actively: nothing listens on its port, so there is nobody to hand a new
  // connection to. The 4-tuple stays in TIME-WAIT (Linux answers with the TIME-WAIT
  // ACK); it must not be torn down and answered with a RST.
  const t = open("TIME-WAIT", { opening: "active" });
  t.deliver("<SEQ=9000><CTL=SYN>");
  t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
  t.expectState("TIME-WAIT");
  t.advance(TW);
  t.expectState("CLOSED");
  assert.equal(t.closedReason(), "normal");
});
