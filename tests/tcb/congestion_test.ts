/**
 * Congestion control (src/tcb/congestion.ts): the controller on its own, then the
 * TCB under it in RFC notation. A is at SEQ 100, B at SEQ 300; B offers no MSS, so
 * A's SMSS is 536 (§3.7.1) and the initial window is 10 segments (RFC 6928).
 */
import assert from "node:assert/strict";
import {
  CcAction,
  CongestionControl,
  DUP_ACK_THRESHOLD,
  initialWindow,
} from "../../src/tcb/congestion.ts";
import { fixture, type FixtureOptions } from "../_helpers/fixture.ts";
import type { Segment } from "../../src/wire/segment.ts";

const MSS = 1000;
const BIG = 1 << 30;

function controller(): CongestionControl {
  const cc = new CongestionControl("newreno");
  cc.init(MSS, 0);
  return cc;
}

// ── the controller ────────────────────────────────────────────────────────────────

Deno.test("congestion: initial window is min(10·MSS, max(2·MSS, 14600)) (RFC 6928)", () => {
  assert.equal(initialWindow(536), 5360);
  assert.equal(initialWindow(1200), 12_000);
  assert.equal(initialWindow(1460), 14_600);
  assert.equal(initialWindow(4000), 14_600);
  assert.equal(initialWindow(9000), 18_000);
  const cc = controller();
  assert.equal(cc.cwnd, 10 * MSS);
  assert.equal(cc.ssthresh, Infinity);
});

Deno.test("congestion: slow start grows by min(acked, SMSS) per ACK (RFC 5681 §3.1)", () => {
  const cc = controller();
  cc.onAck(1 + 2 * MSS, 2 * MSS, 20_000, BIG); // a delayed ACK of two segments: +1 SMSS
  assert.equal(cc.cwnd, 11 * MSS);
  cc.onAck(1 + 2 * MSS + 100, 100, 20_000, BIG); // a small ACK: +100
  assert.equal(cc.cwnd, 11 * MSS + 100);
});

Deno.test("congestion: avoidance adds one SMSS per cwnd of acknowledged bytes", () => {
  const cc = controller();
  cc.ssthresh = 4 * MSS;
  cc.cwnd = 4 * MSS;
  let ack = 1;
  for (let i = 0; i < 3; i++) {
    ack += MSS;
    cc.onAck(ack, MSS, BIG, BIG);
    assert.equal(cc.cwnd, 4 * MSS, "no growth before a whole window is acknowledged");
  }
  ack += MSS;
  cc.onAck(ack, MSS, BIG, BIG);
  assert.equal(cc.cwnd, 5 * MSS);
});

Deno.test("congestion: cwnd stops growing beyond the peer's largest window", () => {
  const cc = controller();
  cc.onAck(1 + MSS, MSS, BIG, 4 * MSS);
  assert.equal(cc.cwnd, 10 * MSS);
});

Deno.test("congestion: third duplicate ACK starts fast retransmit and recovery (RFC 5681 §3.2)", () => {
  const cc = controller();
  const flight = 10 * MSS;
  assert.equal(cc.onDupAck(1, 1 + flight, flight), CcAction.None);
  assert.equal(cc.onDupAck(1, 1 + flight, flight), CcAction.None);
  assert.equal(DUP_ACK_THRESHOLD, 3);
  assert.equal(cc.onDupAck(1, 1 + flight, flight), CcAction.RetransmitHead);
  assert.equal(cc.ssthresh, 5 * MSS); // max(FlightSize / 2, 2·SMSS)
  assert.equal(cc.cwnd, 8 * MSS); // ssthresh + 3·SMSS
  assert.ok(cc.inRecovery);
  assert.equal(cc.recover, 1 + flight);
  assert.equal(cc.fastRetransmits, 1);
  // Each further duplicate inflates cwnd by one SMSS and resends nothing.
  assert.equal(cc.onDupAck(1, 1 + flight, flight), CcAction.None);
  assert.equal(cc.cwnd, 9 * MSS);
});

Deno.test("congestion: ssthresh never falls below 2·SMSS", () => {
  const cc = controller();
  for (let i = 0; i < 3; i++) cc.onDupAck(1, 1 + MSS, MSS);
  assert.equal(cc.ssthresh, 2 * MSS);
  assert.equal(cc.cwnd, 5 * MSS);
});

Deno.test("congestion: NewReno partial ACK resends and deflates; full ACK ends recovery (RFC 6582)", () => {
  const cc = controller();
  const flight = 10 * MSS;
  for (let i = 0; i < 3; i++) cc.onDupAck(1, 1 + flight, flight);
  cc.onDupAck(1, 1 + flight, flight); // cwnd 9·SMSS
  // Partial ACK of two segments: resend the next hole, cwnd -= 2·SMSS, += SMSS.
  assert.equal(cc.onAck(1 + 2 * MSS, 2 * MSS, 1 + flight, BIG), CcAction.RetransmitHead);
  assert.equal(cc.cwnd, 8 * MSS);
  assert.ok(cc.inRecovery);
  assert.equal(cc.partialAcks, 1);
  // A partial ACK of less than one SMSS adds nothing back.
  assert.equal(cc.onAck(1 + 2 * MSS + 500, 500, 1 + flight, BIG), CcAction.RetransmitHead);
  assert.equal(cc.cwnd, 7.5 * MSS);
  // The full ACK (covers `recover`): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
  assert.equal(cc.onAck(1 + flight, flight - 2 * MSS - 500, 1 + flight, BIG), CcAction.None);
  assert.ok(!cc.inRecovery);
  assert.equal(cc.cwnd, 2 * MSS); // nothing in flight: SMSS + SMSS
  // With data beyond `recover` in flight the deflation stops at ssthresh.
  const cc2 = controller();
  for (let i = 0; i < 3; i++) cc2.onDupAck(1, 1 + flight, flight);
  cc2.onAck(1 + flight, flight, 1 + flight + 8 * MSS, BIG);
  assert.equal(cc2.cwnd, cc2.ssthresh);
});

Deno.test("congestion: duplicate ACKs at or below `recover` start no second fast retransmit", () => {
  const cc = controller();
  // An RTO at SND.MAX = 10001 sets recover; a go-back-N then draws duplicate ACKs.
  cc.onTimeout(10_001, 10_000, true);
  for (let i = 0; i < 5; i++) assert.equal(cc.onDupAck(5001, 10_001, 5000), CcAction.None);
  assert.equal(cc.fastRetransmits, 0);
  assert.ok(!cc.inRecovery);
  // Beyond recover, three duplicates do start one.
  cc.onAck(10_501, 500, 12_001, BIG);
  for (let i = 0; i < 2; i++) cc.onDupAck(10_501, 12_001, 1500);
  assert.equal(cc.onDupAck(10_501, 12_001, 1500), CcAction.RetransmitHead);
});

Deno.test("congestion: RTO sets the loss window; ssthresh halves only on the first timeout", () => {
  const cc = controller();
  cc.onTimeout(1 + 8 * MSS, 8 * MSS, true);
  assert.equal(cc.cwnd, MSS);
  assert.equal(cc.ssthresh, 4 * MSS);
  cc.onTimeout(1 + 8 * MSS, 8 * MSS, false); // the same segment times out again
  assert.equal(cc.ssthresh, 4 * MSS);
  assert.equal(cc.timeouts, 2);
  // Slow start back up to ssthresh, then congestion avoidance.
  let ack = 1;
  for (let i = 0; i < 3; i++) cc.onAck(ack += MSS, MSS, BIG, BIG);
  assert.equal(cc.cwnd, 4 * MSS);
  cc.onAck(ack += MSS, MSS, BIG, BIG);
  assert.equal(cc.cwnd, 4 * MSS);
});

Deno.test("congestion: an RTO during recovery ends it", () => {
  const cc = controller();
  for (let i = 0; i < 3; i++) cc.onDupAck(1, 1 + 10 * MSS, 10 * MSS);
  cc.onTimeout(1 + 10 * MSS, 10 * MSS, true);
  assert.ok(!cc.inRecovery);
  assert.equal(cc.cwnd, MSS);
});

Deno.test("congestion: Limited Transmit opens one SMSS per early duplicate ACK (RFC 3042)", () => {
  const cc = controller();
  assert.equal(cc.sendWindow, 10 * MSS);
  cc.onDupAck(1, 1 + 10 * MSS, 10 * MSS);
  assert.equal(cc.sendWindow, 11 * MSS);
  cc.onDupAck(1, 1 + 10 * MSS, 10 * MSS);
  assert.equal(cc.sendWindow, 12 * MSS);
  cc.onDupAck(1, 1 + 10 * MSS, 10 * MSS); // fast retransmit: recovery uses cwnd alone
  assert.equal(cc.sendWindow, cc.cwnd);
});

Deno.test("congestion: after an idle RTO the window restarts at min(IW, cwnd) (RFC 5681 §4.1)", () => {
  const cc = controller();
  cc.cwnd = 30 * MSS;
  cc.lastSendAt = 1000;
  cc.afterIdle(1100, 200);
  assert.equal(cc.cwnd, 30 * MSS);
  cc.afterIdle(1300, 200);
  assert.equal(cc.cwnd, 10 * MSS);
});

Deno.test('congestion: "none" leaves the window unlimited and never acts', () => {
  const cc = new CongestionControl("none");
  cc.init(MSS, 0);
  assert.equal(cc.cwnd, Infinity);
  for (let i = 0; i < 5; i++) assert.equal(cc.onDupAck(1, BIG, BIG), CcAction.None);
  cc.onTimeout(BIG, BIG, true);
  cc.synLost();
  assert.equal(cc.cwnd, Infinity);
  assert.equal(cc.sendWindow, Infinity);
});

// ── the TCB under congestion control ─────────────────────────────────────────────

const SEG = 536;
const at = (k: number) => 100 + k * SEG; // SEQ of A's k-th data segment

function established(opts: FixtureOptions = {}) {
  return fixture("ESTABLISHED", { peerWindow: 65535, ...opts });
}

const seqs = (sent: Segment[]) => sent.map((s) => s.seq);
const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => at(from + i));

Deno.test("ESTABLISHED: the first flight is the initial window of 10 segments (RFC 6928)", () => {
  const t = established();
  t.send("x".repeat(30 * SEG));
  assert.deepEqual(seqs(t.takeSent()), range(0, 10));
  // An ACK of two segments: slow start adds one SMSS, so three more go out.
  t.deliver(`<SEQ=300><ACK=${at(2)}><CTL=ACK>`);
  assert.deepEqual(seqs(t.takeSent()), range(10, 13));
});

Deno.test('ESTABLISHED: with congestionControl "none" the whole peer window goes at once', () => {
  const t = established({ tcb: { congestionControl: "none" } });
  t.send("x".repeat(30 * SEG));
  assert.equal(t.takeSent().length, 30);
});

Deno.test("ESTABLISHED: three duplicate ACKs resend the lost segment at once (fast retransmit)", () => {
  const t = established();
  t.send("x".repeat(30 * SEG));
  t.takeSent(); // segments 0..9; B got 0, lost 1, got 2, 3, 4
  t.deliver(`<SEQ=300><ACK=${at(1)}><CTL=ACK>`);
  assert.deepEqual(seqs(t.takeSent()), range(10, 12)); // slow start: cwnd 11
  t.deliver(`<SEQ=300><ACK=${at(1)}><CTL=ACK>`); // duplicate 1: Limited Transmit
  assert.deepEqual(seqs(t.takeSent()), [at(12)]);
  t.deliver(`<SEQ=300><ACK=${at(1)}><CTL=ACK>`); // duplicate 2: Limited Transmit
  assert.deepEqual(seqs(t.takeSent()), [at(13)]);
  t.takeEvents();
  t.deliver(`<SEQ=300><ACK=${at(1)}><CTL=ACK>`); // duplicate 3: fast retransmit
  t.expectSent([`<SEQ=${at(1)}><ACK=300><CTL=ACK><DATA=536>`]);
  const rtx = t.takeEvents().find((e) => e.type === "segment-sent");
  assert.ok(rtx?.type === "segment-sent" && rtx.retransmission);
  // No timer was needed: virtual time never moved.
  assert.equal(t.now, 0);
});

Deno.test("ESTABLISHED: a NewReno partial ACK resends the next hole without waiting (RFC 6582)", () => {
  const t = established();
  t.send("x".repeat(14 * SEG));
  t.takeSent(); // segments 0..9; 1 and 4 are lost
  t.deliver(`<SEQ=300><ACK=${at(1)}><CTL=ACK>`); // B got 0: slow start sends 10, 11
  for (let i = 0; i < 3; i++) t.deliver(`<SEQ=300><ACK=${at(1)}><CTL=ACK>`);
  // Limited Transmit sends 12 and 13 on the first two duplicates, the third resends 1.
  assert.deepEqual(seqs(t.takeSent()), [...range(10, 14), at(1)]);
  // The retransmission of 1 fills the first hole: B ACKs up to the second, 4.
  t.deliver(`<SEQ=300><ACK=${at(4)}><CTL=ACK>`);
  assert.deepEqual(seqs(t.takeSent()), [at(4)]);
  // The full ACK ends recovery; nothing is left to send.
  t.deliver(`<SEQ=300><ACK=${at(14)}><CTL=ACK>`);
  t.expectSilent();
  assert.equal(t.ep.info(t.conn)!.bytesInFlight, 0);
});

Deno.test("ESTABLISHED: after an RTO one segment is in flight, then slow start (loss window)", () => {
  const t = established();
  t.send("x".repeat(20 * SEG));
  assert.equal(t.takeSent().length, 10);
  t.advance(200); // RTO (200 ms: the handshake's RTT sample was 0): the oldest alone
  assert.deepEqual(seqs(t.takeSent()), [at(0)]);
  t.deliver(`<SEQ=300><ACK=${at(1)}><CTL=ACK>`); // cwnd 1 → 2 SMSS
  assert.deepEqual(seqs(t.takeSent()), [at(1), at(2)]);
  t.deliver(`<SEQ=300><ACK=${at(3)}><CTL=ACK>`); // cwnd 3 SMSS
  assert.deepEqual(seqs(t.takeSent()), [at(3), at(4), at(5)]);
});

Deno.test("ESTABLISHED: without congestion control the ACK after an RTO releases the whole window", () => {
  const t = established({ tcb: { congestionControl: "none" } });
  t.send("x".repeat(20 * SEG));
  assert.equal(t.takeSent().length, 20);
  t.advance(200);
  assert.deepEqual(seqs(t.takeSent()), [at(0)]);
  t.deliver(`<SEQ=300><ACK=${at(1)}><CTL=ACK>`);
  assert.equal(t.takeSent().length, 19);
});

Deno.test("SYN-SENT: a retransmitted SYN leaves an initial window of one segment (RFC 5681 §3.1)", () => {
  const t = fixture("SYN-SENT", { peerWindow: 65535 });
  t.advance(1000);
  t.expectSent(["<SEQ=99><CTL=SYN>"]);
  t.deliver("<SEQ=299><ACK=100><CTL=SYN,ACK>");
  t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
  t.send("x".repeat(5 * SEG));
  assert.deepEqual(seqs(t.takeSent()), [at(0)]);
});

Deno.test("ESTABLISHED: a pure ACK carries SND.MAX while a go-back-N resends old data", () => {
  // Found by the lossy simulation with congestion control: both sides in go-back-N
  // sent ACKs at SND.NXT below the peer's RCV.NXT; each dropped the other's ACKs as
  // unacceptable and both retransmitted until they gave up.
  const t = established({ tcb: { delayedAck: 0 } });
  t.send("x".repeat(4 * SEG));
  t.takeSent();
  t.advance(200);
  assert.deepEqual(seqs(t.takeSent()), [at(0)]); // SND.NXT is now at(1), SND.MAX at(4)
  t.deliver(`<SEQ=300><ACK=${at(0)}><CTL=PSH,ACK><DATA="hi">`);
  t.expectSent([`<SEQ=${at(4)}><ACK=302><CTL=ACK>`]);
});
