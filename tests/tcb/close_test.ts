/**
 * Graceful close, state by state (behaviour table rows 1–8 and 22). A is the
 * endpoint under test (SEQ from 100), B the scripted peer (SEQ from 300); each test
 * runs from both openings where the row has two sides.
 *
 * RFC 9293 §3.6 (closing a connection, Figures 12 and 13), §3.6.1 (half-close),
 * §3.10.4 (CLOSE), §3.10.7.4 (SEGMENT ARRIVES, seventh and eighth checks), §3.8.1 and
 * RFC 6298 (retransmission), §3.8.3 (R2).
 */
import assert from "node:assert/strict";
import { ConnectionStateError } from "../../src/tcb/tcb.ts";
import { OPENINGS } from "../_helpers/fixture.ts";
import {
  dataDelivered,
  eventsOf,
  FIN,
  gaps,
  open,
  sentLog,
  sentTimes,
  transitions,
} from "../_helpers/timeline.ts";

for (const opening of OPENINGS) {
  // ── ESTABLISHED ──────────────────────────────────────────────────────────────

  Deno.test(`ESTABLISHED: close sends FIN and enters FIN-WAIT-1, row 1 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.close();
    t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
    t.expectState("FIN-WAIT-1");
    assert.deepEqual(transitions(t).at(-1), "ESTABLISHED → FIN-WAIT-1 (close)");
  });

  Deno.test(`ESTABLISHED: FIN+ACK enters CLOSE-WAIT and tells the app, row 3 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver("<SEQ=300><ACK=100><CTL=FIN,ACK>");
    // §3.10.7.4 eighth check: advance RCV.NXT over the FIN, ACK it at once.
    t.expectSent(["<SEQ=100><ACK=301><CTL=ACK>"]);
    t.expectState("CLOSE-WAIT");
    assert.equal(eventsOf(t, "peer-closed").length, 1);
    assert.equal(t.read(), "", "end of stream: nothing more to read");
  });

  Deno.test(`ESTABLISHED: FIN carrying data delivers the data and closes, row 5 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=FIN,PSH,ACK><DATA="bye">');
    t.expectSent(["<SEQ=100><ACK=304><CTL=ACK>"]);
    t.expectState("CLOSE-WAIT");
    assert.equal(t.read(), "bye");
    const kinds = t.events.filter((e) => e.type === "data" || e.type === "peer-closed")
      .map((e) => e.type);
    assert.deepEqual(kinds, ["data", "peer-closed"], "data first, then the close");
  });

  Deno.test(`ESTABLISHED: data and FIN go out in one segment when the data waits for the window, row 5 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, peerWindow: 4 });
    assert.equal(t.send("abcdefghij"), 10);
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK><DATA=4>"]);
    t.close(); // before B acknowledged anything: the FIN joins the queue
    t.expectSilent();
    t.expectState("FIN-WAIT-1");
    t.deliver("<SEQ=300><ACK=104><CTL=ACK><WND=4>");
    t.expectSent(["<SEQ=104><ACK=300><CTL=ACK><DATA=4>"]);
    t.deliver("<SEQ=300><ACK=108><CTL=ACK><WND=4>");
    // The last two octets carry the FIN (§3.10.4: FIN after all queued SENDs).
    t.expectSent(["<SEQ=108><ACK=300><CTL=FIN,PSH,ACK><DATA=2>"]);
    t.deliver("<SEQ=300><ACK=111><CTL=ACK><WND=4>");
    t.expectSilent();
    t.expectState("FIN-WAIT-2");
  });

  Deno.test(`ESTABLISHED: every octet sent before close is delivered before the FIN, row 8 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, peerWindow: 3 });
    const text = "all of this must arrive";
    t.send(text);
    t.close();
    // B acknowledges whatever arrived, window 3, until A's FIN is acknowledged.
    const got: number[] = [];
    let finSeq = -1;
    for (let i = 0; i < 20 && finSeq < 0; i++) {
      for (const s of t.takeSent()) {
        got.push(...s.payload);
        if (s.flags & FIN) finSeq = s.seq + s.payload.length;
      }
      const acked = 100 + got.length;
      t.deliver(`<SEQ=300><ACK=${acked}><CTL=ACK><WND=3>`);
    }
    assert.equal(new TextDecoder().decode(new Uint8Array(got)), text);
    assert.equal(finSeq, 100 + text.length, "the FIN follows the last octet");
    t.deliver(`<SEQ=300><ACK=${finSeq + 1}><CTL=ACK><WND=3>`);
    t.expectState("FIN-WAIT-2");
  });

  Deno.test(`ESTABLISHED: shutdown half-closes; data still arrives and is readable, row 6 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.shutdown();
    t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
    t.expectState("FIN-WAIT-1");
    assert.throws(() => t.send("late"), ConnectionStateError, "no SEND after our FIN");
    // Data in FIN-WAIT-1, before our FIN is acknowledged.
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="one ">');
    assert.equal(t.read(), "one ");
    t.deliver('<SEQ=304><ACK=101><CTL=PSH,ACK><DATA="two">');
    t.expectState("FIN-WAIT-2");
    assert.equal(t.read(), "two");
    t.advance(40); // delayed ACK (§3.8.6.3): one ACK for both segments
    t.expectSent(["<SEQ=101><ACK=307><CTL=ACK>"]);
    t.deliver("<SEQ=307><ACK=101><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><ACK=308><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
    assert.equal(t.closedReason(), undefined);
  });

  // ── FIN-WAIT-1 ───────────────────────────────────────────────────────────────

  Deno.test(`FIN-WAIT-1: ACK of our FIN enters FIN-WAIT-2 silently, row 1 (${opening})`, () => {
    const t = open("FIN-WAIT-1", { opening });
    t.deliver("<SEQ=300><ACK=100><CTL=ACK>"); // acknowledges nothing new
    t.expectSilent();
    t.expectState("FIN-WAIT-1");
    t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
    t.expectSilent();
    t.expectState("FIN-WAIT-2");
    assert.equal(transitions(t).at(-1), "FIN-WAIT-1 → FIN-WAIT-2 (rcv-ack)");
  });

  Deno.test(`FIN-WAIT-1: a FIN that also ACKs our FIN goes straight to TIME-WAIT, row 2 (${opening})`, () => {
    const t = open("FIN-WAIT-1", { opening });
    const before = transitions(t).length;
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
    // One transition, never through FIN-WAIT-2 or CLOSING (Figure 5, §3.10.7.4).
    assert.deepEqual(transitions(t).slice(before), ["FIN-WAIT-1 → TIME-WAIT (rcv-fin)"]);
    assert.equal(eventsOf(t, "peer-closed").length, 1);
  });

  Deno.test(`FIN-WAIT-1: a FIN that does not ACK our FIN is a simultaneous close, row 4 (${opening})`, () => {
    const t = open("FIN-WAIT-1", { opening });
    t.deliver("<SEQ=300><ACK=100><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.expectState("CLOSING");
    t.deliver("<SEQ=301><ACK=101><CTL=ACK>");
    t.expectSilent();
    t.expectState("TIME-WAIT");
    assert.deepEqual(transitions(t).slice(-2), [
      "FIN-WAIT-1 → CLOSING (rcv-fin)",
      "CLOSING → TIME-WAIT (rcv-ack)",
    ]);
  });

  // ── FIN-WAIT-2 ───────────────────────────────────────────────────────────────

  Deno.test(`FIN-WAIT-2: FIN is ACKed at once and enters TIME-WAIT, row 1 (${opening})`, () => {
    const t = open("FIN-WAIT-2", { opening });
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
    t.advance(60_000);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
    assert.deepEqual(transitions(t).slice(-4), [
      "ESTABLISHED → FIN-WAIT-1 (close)",
      "FIN-WAIT-1 → FIN-WAIT-2 (rcv-ack)",
      "FIN-WAIT-2 → TIME-WAIT (rcv-fin)",
      "TIME-WAIT → CLOSED (time-wait-expired)",
    ]);
  });

  Deno.test(`FIN-WAIT-2: FIN with data after shutdown delivers both, row 5 and 6 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.shutdown();
    t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
    t.expectState("FIN-WAIT-2");
    t.takeSent();
    t.deliver('<SEQ=300><ACK=101><CTL=FIN,PSH,ACK><DATA="tail">');
    t.expectSent(["<SEQ=101><ACK=305><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
    assert.equal(t.read(), "tail", "readable after the FIN, in TIME-WAIT");
  });

  // ── CLOSE-WAIT ───────────────────────────────────────────────────────────────

  Deno.test(`CLOSE-WAIT: the half-closed side keeps sending, then closes, row 6 (${opening})`, () => {
    const t = open("CLOSE-WAIT", { opening });
    assert.equal(t.send("reply"), 5);
    t.expectSent(["<SEQ=100><ACK=301><CTL=PSH,ACK><DATA=5>"]);
    t.deliver("<SEQ=301><ACK=105><CTL=ACK>");
    t.expectSilent();
    t.close();
    t.expectSent(["<SEQ=105><ACK=301><CTL=FIN,ACK>"]);
    t.expectState("LAST-ACK");
    t.deliver("<SEQ=301><ACK=106><CTL=ACK>");
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
  });

  Deno.test(`CLOSE-WAIT: close sends FIN and waits in LAST-ACK for its ACK, row 3 (${opening})`, () => {
    const t = open("CLOSE-WAIT", { opening });
    t.close();
    t.expectSent(["<SEQ=100><ACK=301><CTL=FIN,ACK>"]);
    t.expectState("LAST-ACK");
    assert.deepEqual(transitions(t).slice(-2), [
      "ESTABLISHED → CLOSE-WAIT (rcv-fin)",
      "CLOSE-WAIT → LAST-ACK (close)",
    ]);
  });

  // ── LAST-ACK ─────────────────────────────────────────────────────────────────

  Deno.test(`LAST-ACK: only the ACK of our FIN closes; no TIME-WAIT on this side, row 3 (${opening})`, () => {
    const t = open("LAST-ACK", { opening });
    t.deliver("<SEQ=301><ACK=100><CTL=ACK>"); // does not cover our FIN
    t.expectSilent();
    t.expectState("LAST-ACK");
    t.deliver("<SEQ=301><ACK=101><CTL=ACK>");
    t.expectSilent();
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
    assert.equal(transitions(t).at(-1), "LAST-ACK → CLOSED (rcv-ack)");
    assert.ok(!t.states().includes("TIME-WAIT"));
  });

  Deno.test(`LAST-ACK: a retransmitted FIN from B is ACKed again, row 3 (${opening})`, () => {
    const t = open("LAST-ACK", { opening });
    t.deliver("<SEQ=300><ACK=100><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.expectState("LAST-ACK");
  });

  // ── CLOSING ──────────────────────────────────────────────────────────────────

  Deno.test(`CLOSING: our FIN is retransmitted until B ACKs it, then TIME-WAIT, row 4 (${opening})`, () => {
    const t = open("CLOSING", { opening });
    t.advance(200); // RTO after a 0 ms handshake sample: the 200 ms floor
    t.expectSent(["<SEQ=100><ACK=301><CTL=FIN,ACK>"]);
    t.deliver("<SEQ=300><ACK=100><CTL=FIN,ACK>"); // B's FIN again: ACK it
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.expectState("CLOSING");
    t.deliver("<SEQ=301><ACK=101><CTL=ACK>");
    t.expectState("TIME-WAIT");
    t.advance(60_000);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
  });

  // ── Reassembly and the FIN (row 7) ──────────────────────────────────────────

  Deno.test(`ESTABLISHED: a FIN beyond a hole is held until the gap fills, row 7 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=305><ACK=100><CTL=FIN,PSH,ACK><DATA="world">');
    // RCV.NXT stays at the hole; the FIN is not taken (§3.10.7.4 eighth check:
    // "do not process the FIN if ... SEG.SEQ is beyond RCV.NXT").
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
    t.expectState("ESTABLISHED");
    assert.equal(eventsOf(t, "peer-closed").length, 0);
    assert.equal(t.read(), "");
    t.deliver('<SEQ=302><ACK=100><CTL=ACK><DATA="llo">'); // still a hole at 300
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
    t.expectState("ESTABLISHED");
    t.deliver('<SEQ=300><ACK=100><CTL=ACK><DATA="he">');
    // The gap fills: "hello" and "world" in order, then the FIN.
    t.expectSent(["<SEQ=100><ACK=311><CTL=ACK>"]);
    t.expectState("CLOSE-WAIT");
    assert.equal(t.read(), "helloworld");
    assert.equal(eventsOf(t, "peer-closed").length, 1);
  });

  Deno.test(`FIN-WAIT-2: a bare FIN beyond a hole waits for the data, row 7 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.shutdown();
    t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
    t.takeSent();
    t.deliver("<SEQ=303><ACK=101><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><ACK=300><CTL=ACK>"]);
    t.expectState("FIN-WAIT-2");
    t.deliver('<SEQ=300><ACK=101><CTL=ACK><DATA="abc">');
    t.expectSent(["<SEQ=101><ACK=304><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
    assert.equal(t.read(), "abc");
  });

  // ── Retransmission of the FIN (row 8) ───────────────────────────────────────

  Deno.test(`FIN-WAIT-1: FIN retransmitted with exponential backoff 1 s, 2 s, 4 s … capped at 60 s, row 8 (${opening})`, () => {
    // rtoMin 1 s is RFC 6298 §2.4's floor: the 0 ms handshake sample gives RTO = 1 s.
    const t = open("ESTABLISHED", { opening, tcb: { rtoMin: 1000 } });
    t.shutdown(); // not an orphan: 15 retries
    t.advance(20 * 60_000);
    const fins = sentLog(t).filter((r) => r.segment.flags & FIN);
    assert.ok(fins.every((r) => r.text === "<SEQ=100><ACK=300><CTL=FIN,ACK>"));
    assert.deepEqual(fins.map((r) => r.retransmission), [false, ...Array(15).fill(true)]);
    assert.deepEqual(gaps(fins.map((r) => r.now)), [
      1000,
      2000,
      4000,
      8000,
      16_000,
      32_000,
      ...Array(9).fill(60_000),
    ]);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "timeout");
    // R2 reached (§3.8.3): closed one more RTO after the 15th retransmission, silently.
    const closed = eventsOf(t, "closed")[0];
    assert.equal(closed.now, fins.at(-1)!.now + 60_000);
    assert.equal(sentLog(t).at(-1)!.text, "<SEQ=100><ACK=300><CTL=FIN,ACK>", "no RST");
  });

  Deno.test(`FIN-WAIT-1: default RTO floor 200 ms doubles per retry, row 8 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.shutdown();
    t.advance(20 * 60_000);
    const times = sentTimes(t, FIN);
    assert.equal(times.length, 16);
    assert.deepEqual(gaps(times), [
      200,
      400,
      800,
      1600,
      3200,
      6400,
      12_800,
      25_600,
      51_200,
      ...Array(6).fill(60_000),
    ]);
    assert.equal(t.closedReason(), "timeout");
  });

  Deno.test(`FIN-WAIT-1: an orphan gives up after 8 retries, row 8 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { rtoMin: 1000 } });
    t.close();
    t.advance(20 * 60_000);
    const times = sentTimes(t, FIN);
    assert.deepEqual(gaps(times), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000, 60_000]);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "timeout");
    assert.equal(eventsOf(t, "closed")[0].now, times.at(-1)! + 60_000);
  });

  Deno.test(`LAST-ACK: the FIN is retransmitted and the connection gives up as an orphan, row 8 (${opening})`, () => {
    const t = open("LAST-ACK", { opening, tcb: { rtoMin: 1000 } });
    t.advance(1000);
    t.expectSent(["<SEQ=100><ACK=301><CTL=FIN,ACK>"]);
    t.advance(20 * 60_000);
    assert.equal(sentTimes(t, FIN).length, 1 + 8);
    assert.equal(t.closedReason(), "timeout");
  });

  Deno.test(`FIN-WAIT-1: a lost data segment and FIN are resent as one segment, row 5 and 8 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.send("hello");
    t.close();
    t.expectSent([
      "<SEQ=100><ACK=300><CTL=PSH,ACK><DATA=5>",
      "<SEQ=105><ACK=300><CTL=FIN,ACK>",
    ]);
    t.advance(200); // both lost: the RTO resends from SND.UNA, FIN on the data
    t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,PSH,ACK><DATA=5>"]);
    t.deliver("<SEQ=300><ACK=106><CTL=ACK>");
    t.expectState("FIN-WAIT-2");
    t.expectSilent();
  });

  // ── Orphans (row 22) ─────────────────────────────────────────────────────────

  Deno.test(`Orphan: after close() the engine retransmits, waits in TIME-WAIT and frees everything, row 22 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.send("last words");
    t.close(); // the only user call; nothing below touches the connection
    t.takeSent();
    t.advance(200); // everything was lost: the engine resends on its own
    t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,PSH,ACK><DATA=10>"]);
    t.deliver("<SEQ=300><ACK=111><CTL=ACK>");
    t.expectState("FIN-WAIT-2");
    t.deliver("<SEQ=300><ACK=111><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=111><ACK=301><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
    t.advance(60_000);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
    assert.equal(t.ep.size, 0, "the endpoint forgot the connection");
    t.advance(10 * 60_000);
    assert.equal(t.ep.timerEntries, 0, "no timer left behind");
    assert.equal(t.ep.pollTimeout(), Infinity);
  });

  Deno.test(`Orphan: a peer that never answers still ends in CLOSED with no user call, row 22 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.close();
    t.advance(30 * 60_000);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "timeout");
    assert.equal(t.ep.size, 0);
    assert.equal(t.ep.timerEntries, 0);
  });

  Deno.test(`Orphan: data read before close() is ACKed by the FIN; B's FIN completes the close, row 8 and 22 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="req">');
    assert.equal(t.read(), "req");
    t.close();
    t.expectSent(["<SEQ=100><ACK=303><CTL=FIN,ACK>"]);
    t.deliver("<SEQ=303><ACK=101><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><ACK=304><CTL=ACK>"]);
    t.expectState("TIME-WAIT");
    assert.equal(dataDelivered(t), 3);
  });
}
