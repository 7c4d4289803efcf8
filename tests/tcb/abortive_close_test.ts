/**
 * Closes that end in a RST, and ABORT (behaviour table rows 17, 18, 19, 26 and 29):
 * RFC 9293 §3.10.4 (CLOSE, SHLD-3), §3.10.5 (ABORT), §3.5.2 (reset generation and
 * the RST sender's TIME-WAIT), RFC 2525 §2.17 (data lost on close).
 */
import assert from "node:assert/strict";
import type { State } from "../../src/tcb/state.ts";
import { OPENINGS } from "../_helpers/fixture.ts";
import { eventsOf, open, transitions } from "../_helpers/timeline.ts";

/** A's SND.NXT in each fixture state. */
const SND_NXT: Partial<Record<State, number>> = {
  "SYN-RECEIVED": 100,
  "ESTABLISHED": 100,
  "FIN-WAIT-1": 101,
  "FIN-WAIT-2": 101,
  "CLOSE-WAIT": 100,
};

for (const opening of OPENINGS) {
  // ── close() with unread data (row 17) ───────────────────────────────────────

  Deno.test(`ESTABLISHED: close with unread data sends RST, not FIN, row 17 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="unread">');
    t.advance(40);
    t.expectSent(["<SEQ=100><ACK=306><CTL=ACK>"]);
    t.close();
    // §3.10.4 SHLD-3: the RST tells B its data was lost; <SEQ=SND.NXT><CTL=RST>.
    t.expectSent(["<SEQ=100><CTL=RST>"]);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "aborted");
    assert.equal(transitions(t).at(-1), "ESTABLISHED → CLOSED (abort)");
  });

  Deno.test(`ESTABLISHED: close with unread data sends FIN when rstOnUnreadClose is off, row 17 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { rstOnUnreadClose: false } });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="unread">');
    t.close();
    t.expectSent(["<SEQ=100><ACK=306><CTL=FIN,ACK>"]);
    t.expectState("FIN-WAIT-1");
  });

  Deno.test(`ESTABLISHED: close after reading everything sends FIN, row 17 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="read">');
    assert.equal(t.read(), "read");
    t.close();
    t.expectSent(["<SEQ=100><ACK=304><CTL=FIN,ACK>"]);
  });

  Deno.test(`ESTABLISHED: shutdown with unread data still sends FIN (reading goes on), row 17 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="later">');
    t.shutdown();
    t.expectSent(["<SEQ=100><ACK=305><CTL=FIN,ACK>"]);
    assert.equal(t.read(), "later");
  });

  Deno.test(`CLOSE-WAIT: close with unread data (and the peer's FIN) sends RST, row 17 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=FIN,PSH,ACK><DATA="bye">');
    t.expectState("CLOSE-WAIT");
    t.takeSent();
    t.close();
    t.expectSent(["<SEQ=100><CTL=RST>"]);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "aborted");
  });

  Deno.test(`FIN-WAIT-2: close after shutdown with unread data sends RST, row 17 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.shutdown();
    t.deliver('<SEQ=300><ACK=101><CTL=PSH,ACK><DATA="x">');
    t.expectState("FIN-WAIT-2");
    t.takeSent();
    t.close();
    t.expectSent(["<SEQ=101><CTL=RST>"]);
    t.expectState("CLOSED");
  });

  // ── linger 0 (row 18) ───────────────────────────────────────────────────────

  for (const state of ["ESTABLISHED", "CLOSE-WAIT"] as const) {
    Deno.test(`${state}: close with lingerZero sends RST and skips TIME-WAIT, row 18 (${opening})`, () => {
      const t = open(state, { opening, tcb: { lingerZero: true } });
      t.close();
      t.expectSent([`<SEQ=${SND_NXT[state]}><CTL=RST>`]);
      t.expectState("CLOSED");
      assert.equal(t.closedReason(), "aborted");
      assert.ok(!t.states().includes("TIME-WAIT"));
      assert.equal(t.ep.size, 0);
    });
  }

  Deno.test(`ESTABLISHED: lingerZero discards queued data, row 18 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, peerWindow: 0, tcb: { lingerZero: true } });
    t.send("never sent"); // zero window: queued
    t.expectSilent();
    t.close();
    t.expectSent(["<SEQ=100><CTL=RST>"]);
    t.advance(10 * 60_000);
    t.expectSilent();
  });

  Deno.test(`FIN-WAIT-2: close with lingerZero after shutdown sends RST, row 18 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { lingerZero: true } });
    t.shutdown(); // shutdown is not affected by linger
    t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
    t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
    t.close();
    t.expectSent(["<SEQ=101><CTL=RST>"]);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "aborted");
  });

  // ── ABORT per state (§3.10.5; rows 18 and 29) ───────────────────────────────

  for (const state of ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "CLOSE-WAIT"] as const) {
    Deno.test(`${state}: abort sends <SEQ=SND.NXT><CTL=RST> and closes, idempotently (${opening})`, () => {
      const t = open(state, { opening });
      t.abort();
      t.abort();
      t.close();
      t.expectSent([`<SEQ=${SND_NXT[state]}><CTL=RST>`]);
      t.expectState("CLOSED");
      assert.equal(t.closedReason(), "aborted");
      assert.equal(eventsOf(t, "closed").length, 1);
    });
  }

  for (const state of ["CLOSING", "LAST-ACK", "TIME-WAIT"] as const) {
    Deno.test(`${state}: abort deletes the TCB without a RST (§3.10.5) (${opening})`, () => {
      const t = open(state, { opening });
      t.abort();
      t.expectSilent();
      t.expectState("CLOSED");
      assert.equal(t.closedReason(), "aborted");
    });
  }

  // ── data after a full close (row 19) ────────────────────────────────────────

  Deno.test(`FIN-WAIT-1: new data after close() gets <SEQ=SEG.ACK><CTL=RST> and CLOSED, row 19 (${opening})`, () => {
    const t = open("FIN-WAIT-1", { opening });
    t.deliver("<SEQ=300><ACK=100><CTL=PSH,ACK><DATA=3>"); // our FIN not yet ACKed
    t.expectSent(["<SEQ=100><CTL=RST>"]);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "aborted");
    assert.equal(transitions(t).at(-1), "FIN-WAIT-1 → CLOSED (data-after-close)");
  });

  Deno.test(`FIN-WAIT-2: new data after close() gets <SEQ=SEG.ACK><CTL=RST> and CLOSED, row 19 (${opening})`, () => {
    const t = open("FIN-WAIT-2", { opening });
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,PSH,ACK><DATA=3>");
    t.expectSent(["<SEQ=101><CTL=RST>"]);
    t.expectState("CLOSED");
    assert.equal(eventsOf(t, "peer-closed").length, 0, "the FIN after the data is not taken");
  });

  Deno.test(`FIN-WAIT-2: a duplicate of data read before close() is ACKed, not reset, row 19 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="abc">');
    assert.equal(t.read(), "abc");
    t.close();
    t.deliver("<SEQ=303><ACK=101><CTL=ACK>");
    t.expectState("FIN-WAIT-2");
    t.takeSent();
    t.deliver('<SEQ=300><ACK=101><CTL=PSH,ACK><DATA="abc">'); // nothing new
    t.expectSent(["<SEQ=101><ACK=303><CTL=ACK>"]);
    t.expectState("FIN-WAIT-2");
  });

  Deno.test(`FIN-WAIT-2: after shutdown() instead of close() the same data is accepted, row 19 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.shutdown();
    t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
    t.takeSent();
    t.deliver("<SEQ=300><ACK=101><CTL=PSH,ACK><DATA=3>");
    t.expectState("FIN-WAIT-2");
    assert.equal(t.read(), "abc");
    t.advance(40);
    t.expectSent(["<SEQ=101><ACK=303><CTL=ACK>"]);
  });

  // ── the RST sender's TIME-WAIT (row 29) ─────────────────────────────────────

  Deno.test(`ESTABLISHED: abort goes straight to CLOSED by default, row 29 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.abort();
    t.expectSent(["<SEQ=100><CTL=RST>"]);
    t.expectState("CLOSED");
    assert.ok(!t.states().includes("TIME-WAIT"));
  });

  Deno.test(`ESTABLISHED: with rstSenderTimeWait abort sends RST then waits 2·MSL, row 29 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { rstSenderTimeWait: true, msl: 1000 } });
    t.abort();
    t.expectSent(["<SEQ=100><CTL=RST>"]);
    t.expectState("TIME-WAIT");
    assert.equal(transitions(t).at(-1), "ESTABLISHED → TIME-WAIT (abort)");
    t.advance(1999);
    t.expectState("TIME-WAIT");
    t.advance(1);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "aborted");
    t.expectSilent();
  });

  Deno.test(`CLOSE-WAIT: with rstSenderTimeWait lingerZero close waits in TIME-WAIT, row 18 and 29 (${opening})`, () => {
    const t = open("CLOSE-WAIT", { opening, tcb: { rstSenderTimeWait: true, lingerZero: true } });
    t.close();
    t.expectSent(["<SEQ=100><CTL=RST>"]);
    t.expectState("TIME-WAIT");
    t.advance(60_000);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "aborted");
  });

  Deno.test(`FIN-WAIT-2: with rstSenderTimeWait data after close resets then waits in TIME-WAIT, row 19 and 29 (${opening})`, () => {
    const t = open("FIN-WAIT-2", { opening, tcb: { rstSenderTimeWait: true } });
    t.deliver("<SEQ=300><ACK=101><CTL=PSH,ACK><DATA=3>");
    t.expectSent(["<SEQ=101><CTL=RST>"]);
    t.expectState("TIME-WAIT");
    t.advance(60_000);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "aborted");
  });
}

// ── SYN-SENT and SYN-RECEIVED (rows 26, 27) ────────────────────────────────────

Deno.test("SYN-SENT: close is silent; a late SYN,ACK gets <SEQ=SEG.ACK><CTL=RST>, row 26", () => {
  const t = open("SYN-SENT");
  t.close();
  t.expectSilent();
  t.expectState("CLOSED");
  assert.equal(transitions(t).at(-1), "SYN-SENT → CLOSED (close)");
  assert.equal(t.ep.size, 0);
  t.advance(10_000);
  t.expectSilent(); // no SYN retransmission either
  t.deliver("<SEQ=299><ACK=100><CTL=SYN,ACK>");
  // §3.10.7.1: the connection no longer exists; the endpoint answers.
  t.expectSent(["<SEQ=100><CTL=RST>"]);
  assert.equal(t.ep.size, 0);
  assert.equal(t.ep.stats.dropped["no-connection"], 1);
});

Deno.test("SYN-SENT: abort is silent too (§3.10.5), row 26", () => {
  const t = open("SYN-SENT");
  t.abort();
  t.expectSilent();
  t.expectState("CLOSED");
  assert.equal(t.closedReason(), "aborted");
});

Deno.test("SYN-SENT: shutdown waits for the handshake, then sends FIN, row 26", () => {
  const t = open("SYN-SENT", { peerWindow: 65535 });
  t.shutdown();
  t.expectSilent();
  t.expectState("SYN-SENT");
  t.deliver("<SEQ=299><ACK=100><CTL=SYN,ACK>");
  // The FIN carries the ACK of B's SYN: one segment.
  t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
  t.expectState("FIN-WAIT-1");
});

Deno.test("SYN-RECEIVED (passive): abort sends <SEQ=SND.NXT><CTL=RST> and never TIME-WAIT, row 29", () => {
  const t = open("SYN-RECEIVED", { opening: "passive", tcb: { rstSenderTimeWait: true } });
  t.abort();
  t.expectSent(["<SEQ=100><CTL=RST>"]);
  t.expectState("CLOSED");
});

Deno.test("SYN-RECEIVED (passive): close sends FIN and proceeds to FIN-WAIT-1 (§3.10.4)", () => {
  const t = open("SYN-RECEIVED", { opening: "passive" });
  t.close();
  t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
  t.expectState("FIN-WAIT-1");
  t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
  t.expectState("FIN-WAIT-2");
});
