/**
 * RST and SYN validation in every state (behaviour table rows 14, 15, 16 and 27):
 * RFC 9293 §3.10.7.3 and §3.10.7.4 second and fourth checks with RFC 5961 §3.2, §4
 * and §7 (challenge ACKs and their rate limit).
 */
import assert from "node:assert/strict";
import type { State } from "../../src/tcb/state.ts";
import { B_PORT, OPENINGS, SERVICE_PORT } from "../_helpers/fixture.ts";
import { eventsOf, open, transitions } from "../_helpers/timeline.ts";
import { seg } from "../../src/wire/rfc_notation.ts";

/** A's SND.NXT and RCV.NXT in each synchronized fixture state. */
const SYNCHRONIZED: ReadonlyArray<{ state: State; snd: number; rcv: number }> = [
  { state: "ESTABLISHED", snd: 100, rcv: 300 },
  { state: "FIN-WAIT-1", snd: 101, rcv: 300 },
  { state: "FIN-WAIT-2", snd: 101, rcv: 300 },
  { state: "CLOSE-WAIT", snd: 100, rcv: 301 },
  { state: "CLOSING", snd: 101, rcv: 301 },
  { state: "LAST-ACK", snd: 101, rcv: 301 },
];

/** Largest window A offers without window scaling (the fixture's B sends no WS). */
const A_WINDOW = 65535;

for (const opening of OPENINGS) {
  for (const { state, snd, rcv } of SYNCHRONIZED) {
    // ── every synchronized state: RST (rows 14 and 27) ──────────────────────────

    Deno.test(`${state}: RST at exactly RCV.NXT closes with reason "reset", row 14 and 27 (${opening})`, () => {
      const t = open(state, { opening });
      t.deliver(`<SEQ=${rcv}><CTL=RST>`);
      t.expectSilent(); // never a RST for a RST
      t.expectState("CLOSED");
      assert.equal(transitions(t).at(-1), `${state} → CLOSED (rcv-rst)`);
      // ESTABLISHED, FIN-WAIT-1/2, CLOSE-WAIT: "connection reset" (§3.10.7.4). CLOSING
      // and LAST-ACK just close; the app had closed already and is told "reset" too,
      // because the FIN handshake did not complete.
      assert.equal(t.closedReason(), "reset");
      assert.equal(t.ep.size, 0);
      t.advance(10 * 60_000);
      t.expectSilent();
    });

    Deno.test(`${state}: RST in the window but not at RCV.NXT gets a challenge ACK, row 14 (${opening})`, () => {
      const t = open(state, { opening });
      t.deliver(`<SEQ=${rcv + 1000}><CTL=RST>`);
      t.expectSent([`<SEQ=${snd}><ACK=${rcv}><CTL=ACK>`]);
      t.expectState(state);
      assert.deepEqual(t.dropReasons(), ["rst-challenged"]);
    });

    Deno.test(`${state}: RST outside the window is dropped silently, row 14 (${opening})`, () => {
      const t = open(state, { opening });
      t.deliver(`<SEQ=${rcv - 1}><CTL=RST>`);
      t.deliver(`<SEQ=${rcv + A_WINDOW}><CTL=RST>`);
      t.deliver(`<SEQ=${rcv + 100_000}><ACK=${snd}><CTL=RST,ACK>`);
      t.expectSilent();
      t.expectState(state);
      assert.deepEqual(t.dropReasons(), Array(3).fill("rst-out-of-window"));
    });

    // ── every synchronized state: SYN (row 15) ──────────────────────────────────

    Deno.test(`${state}: SYN gets a challenge ACK whatever its SEQ, row 15 (${opening})`, () => {
      for (const seq of [rcv, rcv + 10, rcv - 50, rcv + 1_000_000]) {
        const t = open(state, { opening });
        t.deliver(`<SEQ=${seq}><CTL=SYN>`);
        t.expectSent([`<SEQ=${snd}><ACK=${rcv}><CTL=ACK>`]);
        t.expectState(state);
        assert.deepEqual(t.dropReasons(), ["syn-challenged"], `SEQ=${seq}`);
      }
    });
  }

  // ── ESTABLISHED: SYN,ACK and RST,ACK (rows 14, 15) ───────────────────────────

  Deno.test(`ESTABLISHED: a SYN,ACK (old duplicate handshake) gets a challenge ACK, row 15 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver("<SEQ=299><ACK=100><CTL=SYN,ACK>");
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
    t.expectState("ESTABLISHED");
  });

  Deno.test(`ESTABLISHED: RST,ACK at RCV.NXT resets and discards unread data, row 14 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="lost">');
    t.takeSent();
    t.deliver("<SEQ=304><ACK=100><CTL=RST,ACK>");
    t.expectSilent();
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "reset");
  });

  // ── challenge ACK rate limit (row 16) ───────────────────────────────────────

  Deno.test(`ESTABLISHED: challenge ACKs are limited to 1 per 500 ms per connection, row 16 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver("<SEQ=300><CTL=SYN>");
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
    t.advance(499);
    t.deliver("<SEQ=300><CTL=SYN>");
    t.deliver("<SEQ=400><CTL=RST>"); // RST and SYN challenges share the budget
    t.expectSilent();
    assert.deepEqual(t.dropReasons(), [
      "syn-challenged",
      "syn-challenged",
      "challenge-rate-limited",
      "rst-challenged",
      "challenge-rate-limited",
    ]);
    t.advance(1); // 500 ms after the first
    t.deliver("<SEQ=400><CTL=RST>");
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
    t.expectState("ESTABLISHED");
    assert.equal(t.ep.info(t.conn)!.counters.challengeAcks, 2);
  });

  Deno.test(`ESTABLISHED: a custom challengeAckInterval is honoured, row 16 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { challengeAckInterval: 2000 } });
    t.deliver("<SEQ=300><CTL=SYN>");
    t.advance(1999);
    t.deliver("<SEQ=300><CTL=SYN>");
    t.advance(1);
    t.deliver("<SEQ=300><CTL=SYN>");
    assert.deepEqual(
      t.takeSent().map((s) => s.ack),
      [300, 300],
      "the one at 1999 ms was suppressed",
    );
    assert.equal(
      eventsOf(t, "segment-sent").filter((e) => e.now === 1999).length,
      0,
    );
  });

  Deno.test(`ESTABLISHED: out-of-window pure ACKs are rate limited, data-bearing ones are not, row 16 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver("<SEQ=200000><ACK=100><CTL=ACK>");
    t.deliver("<SEQ=200000><ACK=100><CTL=ACK>");
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
    t.deliver("<SEQ=200><ACK=100><CTL=ACK><DATA=5>"); // an old retransmission
    t.deliver("<SEQ=200><ACK=100><CTL=ACK><DATA=5>");
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>", "<SEQ=100><ACK=300><CTL=ACK>"]);
  });

  Deno.test(`Global challenge ACK cap (endpoint challengeAckLimit) applies across the per-connection limit, row 16 (${opening})`, () => {
    const t = open("ESTABLISHED", {
      opening,
      tcb: { challengeAckInterval: 0 },
      endpoint: { challengeAckLimit: 2 },
    });
    for (let i = 0; i < 3; i++) t.deliver("<SEQ=300><CTL=SYN>");
    assert.equal(t.takeSent().length, 2, "third suppressed by the global cap");
    assert.equal(t.ep.stats.dropped["challenge-rate-limited"], 1);
    t.advance(999);
    t.deliver("<SEQ=300><CTL=SYN>");
    t.expectSilent();
    t.advance(1); // a new one-second budget
    t.deliver("<SEQ=300><CTL=SYN>");
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
  });

  Deno.test(`Global challenge ACK cap defaults to 1000 per second, row 16 (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { challengeAckInterval: 0 } });
    for (let i = 0; i < 1001; i++) t.deliver("<SEQ=300><CTL=SYN>");
    assert.equal(t.takeSent().length, 1000);
  });

  // ── TIME-WAIT: challenge rate limit (row 16) ─────────────────────────────────

  Deno.test(`TIME-WAIT: challenge ACKs for SYNs are rate limited too, row 16 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening });
    t.deliver("<SEQ=200><CTL=SYN>");
    t.deliver("<SEQ=200><CTL=SYN>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.advance(500);
    t.deliver("<SEQ=200><CTL=SYN>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
  });
}

// ── SYN-SENT: RST (row 27) ──────────────────────────────────────────────────────

Deno.test('SYN-SENT: RST that ACKs our SYN means "refused", row 27', () => {
  const t = open("SYN-SENT");
  t.deliver("<SEQ=0><ACK=100><CTL=RST,ACK>");
  t.expectSilent();
  t.expectState("CLOSED");
  assert.equal(t.closedReason(), "refused");
  assert.equal(transitions(t).at(-1), "SYN-SENT → CLOSED (rcv-rst)");
});

Deno.test("SYN-SENT: RST without ACK or with an unacceptable ACK is dropped, row 27", () => {
  const t = open("SYN-SENT");
  t.deliver("<SEQ=0><CTL=RST>"); // §3.10.7.3: "Otherwise (no ACK), drop the segment"
  t.deliver("<SEQ=0><ACK=5000><CTL=RST,ACK>"); // first check: ACK not acceptable
  t.deliver("<SEQ=0><ACK=99><CTL=RST,ACK>"); // SEG.ACK =< ISS
  t.expectSilent();
  t.expectState("SYN-SENT");
  assert.deepEqual(t.dropReasons(), [
    "rst-out-of-window",
    "bad-ack-syn-sent",
    "bad-ack-syn-sent",
  ]);
});

Deno.test("SYN-SENT: an unacceptable ACK without RST gets <SEQ=SEG.ACK><CTL=RST>, row 27", () => {
  const t = open("SYN-SENT");
  t.deliver("<SEQ=299><ACK=5000><CTL=SYN,ACK>");
  t.expectSent(["<SEQ=5000><CTL=RST>"]);
  t.expectState("SYN-SENT");
});

// ── SYN-RECEIVED: RST (row 27) ──────────────────────────────────────────────────

Deno.test("SYN-RECEIVED (passive): RST removes the embryonic connection; the listener stays, row 27", () => {
  const t = open("SYN-RECEIVED", { opening: "passive" });
  t.deliver("<SEQ=300><CTL=RST>");
  t.expectSilent();
  t.expectState("CLOSED");
  assert.equal(transitions(t).at(-1), "SYN-RECEIVED → CLOSED (rcv-rst)");
  assert.equal(t.ep.size, 0);
  // §3.10.7.4: "return this connection to LISTEN": the port still accepts.
  t.deliverSegment(seg("<SEQ=700><CTL=SYN>", { srcPort: B_PORT, dstPort: SERVICE_PORT }));
  t.expectSent(["<SEQ=99><ACK=701><CTL=SYN,ACK>"]);
  assert.equal(t.ep.size, 1);
});

Deno.test("SYN-RECEIVED (passive): a RST in the window but not at RCV.NXT is challenged, row 14 and 27", () => {
  const t = open("SYN-RECEIVED", { opening: "passive" });
  t.deliver("<SEQ=350><CTL=RST>");
  t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
  t.expectState("SYN-RECEIVED");
});

Deno.test('SYN-RECEIVED (simultaneous open): RST means "refused", row 27', () => {
  const t = open("SYN-RECEIVED", { opening: "active" });
  t.deliver("<SEQ=300><CTL=RST>");
  t.expectSilent();
  t.expectState("CLOSED");
  assert.equal(t.closedReason(), "refused");
});
