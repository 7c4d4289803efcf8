/**
 * Timers that end connections (behaviour table rows 20 and 21) and the opening
 * handshake's retransmissions: the FIN-WAIT-2 timeout for orphans (Linux
 * tcp_fin_timeout), the user timeout (RFC 9293 §3.8.4, §3.10.8, RFC 5482), SYN and
 * SYN,ACK retransmission with backoff and R2 (§3.8.1, §3.8.3, RFC 6298).
 */
import assert from "node:assert/strict";
import { OPENINGS } from "../_helpers/fixture.ts";
import { eventsOf, gaps, open, sentLog, SYN, transitions } from "../_helpers/timeline.ts";

for (const opening of OPENINGS) {
  // ── FIN-WAIT-2: the orphan timeout (row 20) ────────────────────────────────

  Deno.test(`FIN-WAIT-2: an orphan is given up after 60 s, row 20 (${opening})`, () => {
    const t = open("FIN-WAIT-2", { opening }); // entered FIN-WAIT-2 at 0 after close()
    assert.equal(t.ep.info(t.conn)!.timers.finWait2, 60_000);
    t.advance(59_999);
    t.expectState("FIN-WAIT-2");
    t.expectSilent();
    t.advance(1);
    // A RST so that a peer stuck in CLOSE-WAIT learns the connection is gone.
    t.expectSent(["<SEQ=101><CTL=RST>"]);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "timeout");
    assert.equal(transitions(t).at(-1), "FIN-WAIT-2 → CLOSED (fin-wait-2-timeout)");
  });

  Deno.test(`FIN-WAIT-2: a custom finWait2Timeout is honoured, row 20 (${opening})`, () => {
    const t = open("FIN-WAIT-2", { opening, tcb: { finWait2Timeout: 5000 } });
    t.advance(4999);
    t.expectState("FIN-WAIT-2");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "timeout");
  });

  Deno.test(`FIN-WAIT-2: after shutdown() only, A waits for B's FIN forever, row 20 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.shutdown();
    t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
    t.expectState("FIN-WAIT-2");
    assert.equal(t.ep.info(t.conn)!.timers.finWait2, Infinity);
    t.advance(24 * 3600 * 1000);
    t.expectState("FIN-WAIT-2");
    t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>"); // a day later
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
  });

  Deno.test(`FIN-WAIT-2: close() after shutdown() starts the orphan timeout then, row 20 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.shutdown();
    t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
    t.advance(3600 * 1000);
    t.close();
    t.expectState("FIN-WAIT-2");
    t.advance(59_999);
    t.expectState("FIN-WAIT-2");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(eventsOf(t, "closed")[0].now, 3600 * 1000 + 60_000);
  });

  Deno.test(`FIN-WAIT-2: B's FIN before the timeout leads to a full 2·MSL TIME-WAIT, row 20 (${opening})`, () => {
    const t = open("FIN-WAIT-2", { opening });
    t.advance(50_000);
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>");
    t.expectState("TIME-WAIT");
    t.advance(59_999); // well past the FIN-WAIT-2 deadline at 60 s
    t.expectState("TIME-WAIT");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
  });

  // ── the user timeout (row 21) ──────────────────────────────────────────────

  Deno.test(`ESTABLISHED: user timeout aborts when data stays unacknowledged, row 21 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { userTimeout: 5000 } });
    t.advance(1000); // idle: nothing outstanding, nothing times out
    t.send("hello");
    t.advance(4999);
    t.expectState("ESTABLISHED");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "timeout");
    assert.equal(transitions(t).at(-1), "ESTABLISHED → CLOSED (user-timeout)");
    assert.equal(eventsOf(t, "closed")[0].now, 6000);
    // §3.10.8 USER TIMEOUT: flush, signal the user, delete the TCB; no RST.
    assert.ok(sentLog(t).every((r) => !r.text.includes("RST")));
  });

  Deno.test(`ESTABLISHED: user timeout counts from the last progress, row 21 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { userTimeout: 5000 } });
    t.send("0123456789");
    t.advance(4000);
    t.deliver("<SEQ=300><ACK=105><CTL=ACK>"); // half acknowledged: progress
    t.advance(4999);
    t.expectState("ESTABLISHED");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(eventsOf(t, "closed")[0].now, 9000);
  });

  Deno.test(`ESTABLISHED: user timeout never fires while nothing is outstanding, row 21 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { userTimeout: 5000 } });
    t.send("x");
    t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
    t.advance(3600 * 1000);
    t.expectState("ESTABLISHED");
    assert.equal(t.ep.info(t.conn)!.timers.user, Infinity);
  });

  Deno.test(`FIN-WAIT-1: user timeout aborts when our FIN stays unacknowledged, row 21 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { userTimeout: 5000 } });
    t.advance(10_000); // idle for longer than the user timeout first
    t.close();
    t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
    t.advance(4999);
    t.expectState("FIN-WAIT-1");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "timeout");
    assert.equal(transitions(t).at(-1), "FIN-WAIT-1 → CLOSED (user-timeout)");
    assert.equal(eventsOf(t, "closed")[0].now, 15_000);
  });

  Deno.test(`LAST-ACK: user timeout aborts when our FIN stays unacknowledged, row 21 (${opening})`, () => {
    const t = open("CLOSE-WAIT", { opening, tcb: { userTimeout: 2000 } });
    t.advance(7000);
    t.close();
    t.advance(1999);
    t.expectState("LAST-ACK");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "timeout");
  });

  Deno.test(`ESTABLISHED: the user timeout is off by default, row 21 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.send("hello");
    assert.equal(t.ep.info(t.conn)!.timers.user, Infinity);
    t.advance(5 * 60_000); // only the retransmission limit (R2) may end it
    t.expectState("ESTABLISHED");
    assert.ok(t.ep.info(t.conn)!.retries > 0);
  });
}

// ── SYN-SENT: user timeout (row 21) ────────────────────────────────────────────

Deno.test("SYN-SENT: user timeout aborts the open before the SYN retries run out, row 21", () => {
  const t = open("CLOSED", { tcb: { userTimeout: 3000 } });
  t.user((ep, _c, now) => {
    t.conn = ep.connect("10.0.0.2", 80, now, { iss: 99, localPort: 49152 });
  });
  t.advance(2999);
  t.expectState("SYN-SENT");
  t.advance(1);
  t.expectState("CLOSED");
  assert.equal(t.closedReason(), "timeout");
  assert.equal(transitions(t).at(-1), "SYN-SENT → CLOSED (user-timeout)");
  assert.equal(
    sentLog(t).map((r) => `${r.now} ${r.text}`).join(" | "),
    "0 <SEQ=99><CTL=SYN> | 1000 <SEQ=99><CTL=SYN>",
  );
});

// ── SYN-SENT: SYN retransmission ──────────────────────────────────────────────

Deno.test("SYN-SENT: SYN retransmitted at 1, 3, 7, 15, 31, 63 s and given up at 123 s (synRetries 6)", () => {
  const t = open("CLOSED");
  t.user((ep, _c, now) => {
    t.conn = ep.connect("10.0.0.2", 80, now, { iss: 99, localPort: 49152 });
  });
  t.advance(10 * 60_000);
  const syns = sentLog(t);
  assert.ok(syns.every((r) => r.text === "<SEQ=99><CTL=SYN>"));
  assert.deepEqual(syns.map((r) => r.now), [0, 1000, 3000, 7000, 15_000, 31_000, 63_000]);
  assert.deepEqual(syns.map((r) => r.retransmission), [false, ...Array(6).fill(true)]);
  t.expectState("CLOSED");
  assert.equal(t.closedReason(), "timeout");
  // The last wait is 64 s capped at rtoMax = 60 s (RFC 6298 §2.5; Linux, whose cap is
  // 120 s, gives up at 127 s).
  assert.equal(eventsOf(t, "closed")[0].now, 123_000);
  assert.equal(transitions(t).at(-1), "SYN-SENT → CLOSED (retransmit-timeout)");
});

Deno.test("SYN-SENT: a custom synRetries is honoured", () => {
  const t = open("CLOSED", { tcb: { synRetries: 2 } });
  t.user((ep, _c, now) => {
    t.conn = ep.connect("10.0.0.2", 80, now, { iss: 99, localPort: 49152 });
  });
  t.advance(60_000);
  assert.deepEqual(gaps(sentLog(t).map((r) => r.now)), [1000, 2000]);
  assert.equal(eventsOf(t, "closed")[0].now, 7000);
});

Deno.test("SYN-SENT: a SYN,ACK after retransmissions completes the handshake", () => {
  const t = open("SYN-SENT");
  t.advance(3000); // two retransmissions
  t.takeSent();
  t.deliver("<SEQ=299><ACK=100><CTL=SYN,ACK>");
  t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
  t.expectState("ESTABLISHED");
  t.advance(10 * 60_000);
  t.expectSilent();
});

// ── SYN-RECEIVED: SYN,ACK retransmission ──────────────────────────────────────

Deno.test("SYN-RECEIVED (passive): SYN,ACK retransmitted with backoff, then the embryo is dropped", () => {
  const t = open("SYN-RECEIVED", { opening: "passive" });
  t.advance(10 * 60_000);
  const synAcks = sentLog(t).filter((r) => r.segment.flags & SYN);
  assert.ok(synAcks.every((r) => r.text === "<SEQ=99><ACK=300><CTL=SYN,ACK>"));
  // Five retries (Linux tcp_synack_retries) at 1, 3, 7, 15, 31 s, then R2 at 63 s.
  assert.deepEqual(synAcks.map((r) => r.now), [0, 1000, 3000, 7000, 15_000, 31_000]);
  t.expectState("CLOSED");
  assert.equal(eventsOf(t, "closed")[0].now, 63_000);
  assert.equal(t.closedReason(), "timeout");
  assert.equal(t.ep.size, 0);
});

Deno.test("SYN-RECEIVED (passive): B's retransmitted SYN gets the SYN,ACK again", () => {
  const t = open("SYN-RECEIVED", { opening: "passive" });
  t.deliver("<SEQ=299><CTL=SYN>");
  t.expectSent(["<SEQ=99><ACK=300><CTL=SYN,ACK>"]);
  t.expectState("SYN-RECEIVED");
});
