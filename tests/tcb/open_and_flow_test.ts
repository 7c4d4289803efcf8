/**
 * The opening handshake and the data path that termination depends on: simultaneous
 * open (RFC 9293 §3.5, Figure 7), zero-window probing (§3.8.6.1), out-of-order
 * reassembly (§3.10.7.4 seventh check), window scaling (RFC 7323 §2) and delayed
 * ACKs (§3.8.6.3).
 */
import assert from "node:assert/strict";
import { A_PORT, B, Fixture, OPENINGS, SERVICE_PORT } from "../_helpers/fixture.ts";
import { dataDelivered, open, sentLog, transitions } from "../_helpers/timeline.ts";

// ── SYN-SENT → SYN-RECEIVED: simultaneous open ───────────────────────────────────

Deno.test("Figure 7 simultaneous open: SYNs cross, SYN,ACKs cross, both ESTABLISHED", () => {
  const t = new Fixture({ peerWindow: 65535 });
  t.user((ep, _c, now) => {
    t.conn = ep.connect(B, SERVICE_PORT, now, { iss: 99, localPort: A_PORT });
  });
  t.expectSent(["<SEQ=99><CTL=SYN>"]); // 2.
  t.deliver("<SEQ=299><CTL=SYN>"); // 3. B's SYN crosses ours
  t.expectSent(["<SEQ=99><ACK=300><CTL=SYN,ACK>"]); // 5.
  t.expectState("SYN-RECEIVED");
  t.deliver("<SEQ=299><ACK=100><CTL=SYN,ACK>"); // 6. B's SYN,ACK
  t.expectState("ESTABLISHED");
  t.expectSilent(); // B learns from our SYN,ACK (7.); no challenge ACK needed
  assert.deepEqual(transitions(t), [
    "CLOSED → SYN-SENT (open)",
    "SYN-SENT → SYN-RECEIVED (rcv-syn)",
    "SYN-RECEIVED → ESTABLISHED (rcv-ack)",
  ]);
  t.send("hi");
  t.expectSent(["<SEQ=100><ACK=300><CTL=PSH,ACK><DATA=2>"]);
  t.close();
  t.expectSent(["<SEQ=102><ACK=300><CTL=FIN,ACK>"]);
  t.expectState("FIN-WAIT-1");
});

Deno.test("Simultaneous open: a pure ACK of our SYN,ACK also completes it", () => {
  const t = open("SYN-RECEIVED", { opening: "active" });
  t.deliver("<SEQ=300><ACK=100><CTL=ACK>");
  t.expectSilent();
  t.expectState("ESTABLISHED");
});

Deno.test("Simultaneous open: a SYN,ACK that does not ACK our SYN is challenged, not accepted", () => {
  const t = open("SYN-RECEIVED", { opening: "active" });
  t.deliver("<SEQ=299><ACK=99><CTL=SYN,ACK>");
  t.expectSent(["<SEQ=100><ACK=300><CTL=ACK>"]);
  t.expectState("SYN-RECEIVED");
});

Deno.test("Simultaneous open: our SYN,ACK is retransmitted until B answers", () => {
  const t = open("SYN-RECEIVED", { opening: "active" });
  t.advance(1000);
  t.expectSent(["<SEQ=99><ACK=300><CTL=SYN,ACK>"]);
  t.deliver("<SEQ=299><ACK=100><CTL=SYN,ACK>");
  t.expectState("ESTABLISHED");
});

Deno.test("SYN-RECEIVED (passive): an ACK for something not sent gets <SEQ=SEG.ACK><CTL=RST>", () => {
  const t = open("SYN-RECEIVED", { opening: "passive" });
  t.deliver("<SEQ=300><ACK=5000><CTL=ACK>");
  t.expectSent(["<SEQ=5000><CTL=RST>"]);
  t.expectState("SYN-RECEIVED");
});

for (const opening of OPENINGS) {
  // ── ESTABLISHED: zero window ──────────────────────────────────────────────────

  Deno.test(`ESTABLISHED: zero window: 1-byte probes with backoff, no timeout while B answers (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, peerWindow: 0 });
    t.send("hello");
    t.expectSilent();
    // B answers every probe with a zero window and without taking the octet.
    const probes: number[] = [];
    for (let now = 0; now < 30 * 60_000; now += 100) {
      t.advance(100);
      for (const s of t.takeSent()) {
        assert.equal(s.payload.length, 1, "a probe carries one octet");
        assert.equal(s.seq, 100);
        probes.push(t.now);
        t.deliver("<SEQ=300><ACK=100><CTL=ACK><WND=0>");
        t.expectSilent();
      }
    }
    t.expectState("ESTABLISHED");
    assert.ok(probes.length >= 20, `${probes.length} probes in 30 min`);
    // §3.8.6.1 SHLD-29/30: the first after one RTO, then exponentially further apart,
    // never more than rtoMax.
    assert.equal(probes[0], 200);
    const gapsMs = probes.slice(1).map((x, i) => x - probes[i]);
    assert.deepEqual(gapsMs.slice(0, 4), [400, 800, 1600, 3200]);
    assert.ok(gapsMs.every((g) => g <= 60_000));
    // The window opens: everything goes out from SND.UNA.
    t.deliver("<SEQ=300><ACK=100><CTL=ACK><WND=1000>");
    t.expectSent(["<SEQ=100><ACK=300><CTL=PSH,ACK><DATA=5>"]);
    t.deliver("<SEQ=300><ACK=105><CTL=ACK><WND=1000>");
    t.close();
    t.expectSent(["<SEQ=105><ACK=300><CTL=FIN,ACK>"]);
  });

  Deno.test(`ESTABLISHED: zero window: a probe that B accepts moves SND.UNA on (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, peerWindow: 0 });
    t.send("hello");
    t.advance(200);
    t.expectSent(["<SEQ=100><ACK=300><CTL=ACK><DATA=1>"]);
    t.deliver("<SEQ=300><ACK=101><CTL=ACK><WND=0>"); // took the octet, window closed again
    t.expectSilent();
    t.deliver("<SEQ=300><ACK=101><CTL=ACK><WND=100>");
    t.expectSent(["<SEQ=101><ACK=300><CTL=PSH,ACK><DATA=4>"]);
  });

  Deno.test(`ESTABLISHED: zero window: a peer that stops answering probes is given up on (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, peerWindow: 0 });
    t.send("hello");
    t.advance(60 * 60_000);
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "timeout");
  });

  // ── ESTABLISHED: reassembly ───────────────────────────────────────────────────

  Deno.test(`ESTABLISHED: out-of-order, overlapping and duplicate segments are delivered once, in order (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=305><ACK=100><CTL=ACK><DATA="fgh">');
    t.deliver('<SEQ=302><ACK=100><CTL=ACK><DATA="cdef">'); // overlaps fgh
    t.deliver('<SEQ=308><ACK=100><CTL=PSH,ACK><DATA="ij">');
    t.deliver('<SEQ=305><ACK=100><CTL=ACK><DATA="fgh">'); // duplicate
    // RFC 5681 §4.2: each out-of-order segment is ACKed at once with RCV.NXT.
    t.expectSent(Array(4).fill("<SEQ=100><ACK=300><CTL=ACK>"));
    assert.equal(t.read(), "");
    t.deliver('<SEQ=300><ACK=100><CTL=ACK><DATA="abc">'); // fills the hole, overlaps cdef
    t.expectSent(["<SEQ=100><ACK=310><CTL=ACK>"]);
    assert.equal(t.read(), "abcdefghij");
    assert.equal(dataDelivered(t), 10, "every octet delivered exactly once");
    t.deliver('<SEQ=300><ACK=100><CTL=ACK><DATA="abcdefghij">'); // all old
    t.expectSent(["<SEQ=100><ACK=310><CTL=ACK>"]);
    assert.equal(t.read(), "");
  });

  Deno.test(`ESTABLISHED: a segment straddling RCV.NXT delivers only its new part (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=ACK><DATA="abc">');
    t.deliver('<SEQ=301><ACK=100><CTL=ACK><DATA="bcde">');
    assert.equal(t.read(), "abcde");
    t.expectSent(["<SEQ=100><ACK=305><CTL=ACK>"]); // second segment: ACK at once
  });

  // ── ESTABLISHED: delayed ACK ──────────────────────────────────────────────────

  Deno.test(`ESTABLISHED: one data segment is ACKed after 40 ms (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="x">');
    t.advance(39);
    t.expectSilent();
    t.advance(1);
    t.expectSent(["<SEQ=100><ACK=301><CTL=ACK>"]);
    assert.equal(sentLog(t).at(-1)!.now, 40);
  });

  Deno.test(`ESTABLISHED: every second full segment is ACKed at once (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver("<SEQ=300><ACK=100><CTL=ACK><DATA=10>");
    t.expectSilent();
    t.deliver("<SEQ=310><ACK=100><CTL=ACK><DATA=10>");
    t.expectSent(["<SEQ=100><ACK=320><CTL=ACK>"]);
    t.advance(100);
    t.expectSilent();
  });

  Deno.test(`ESTABLISHED: a FIN is ACKed at once, covering data waiting for a delayed ACK (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="x">');
    t.advance(10);
    t.deliver("<SEQ=301><ACK=100><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=100><ACK=302><CTL=ACK>"]);
    t.advance(100);
    t.expectSilent(); // the delayed ACK was folded in
  });

  Deno.test(`ESTABLISHED: delayedAck 0 ACKs every segment at once (${opening})`, () => {
    const t = open("ESTABLISHED", { opening, tcb: { delayedAck: 0 } });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="x">');
    t.expectSent(["<SEQ=100><ACK=301><CTL=ACK>"]);
  });

  Deno.test(`ESTABLISHED: data sent piggybacks the pending ACK (${opening})`, () => {
    const t = open("ESTABLISHED", { opening });
    t.deliver('<SEQ=300><ACK=100><CTL=PSH,ACK><DATA="ping">');
    t.send("pong");
    t.expectSent(["<SEQ=100><ACK=304><CTL=PSH,ACK><DATA=4>"]);
    t.advance(100);
    t.expectSilent();
  });
}

// ── window scaling (RFC 7323 §2) ─────────────────────────────────────────────────

Deno.test("Window scaling (active): B's shift applies after the SYN,ACK, never to it", () => {
  const t = new Fixture({ peerWindow: 65535 });
  t.user((ep, _c, now) => {
    t.conn = ep.connect(B, SERVICE_PORT, now, { iss: 99, localPort: A_PORT });
  });
  t.expectSent(["<SEQ=99><CTL=SYN><WND=65535><MSS=1460><WS=7>"], { verbose: true });
  // RFC 7323 §2.2: the window in a SYN,ACK is not scaled: 10 octets, not 40.
  t.deliver("<SEQ=299><ACK=100><CTL=SYN,ACK><WND=10><WS=2><MSS=1000>");
  t.expectSent(["<SEQ=100><ACK=300><CTL=ACK><WND=2048>"], { verbose: true }); // 256 KiB >> 7
  t.send("x".repeat(100));
  t.expectSent(["<SEQ=100><ACK=300><CTL=ACK><DATA=10>"]);
  t.deliver("<SEQ=300><ACK=110><CTL=ACK><WND=10>"); // now scaled: 40 octets
  t.expectSent(["<SEQ=110><ACK=300><CTL=ACK><DATA=40>"]);
});

Deno.test("Window scaling (passive): both SYNs carry WS, the shifts apply after the handshake", () => {
  const t = new Fixture({ opening: "passive", peerWindow: 65535 });
  t.ep.listen(SERVICE_PORT, { iss: 99 });
  t.deliver("<SEQ=299><CTL=SYN><WND=10><WS=3><MSS=1000>");
  t.conn = t.ep.connections()[0];
  t.expectSent(["<SEQ=99><ACK=300><CTL=SYN,ACK><WND=65535><MSS=1460><WS=7>"], { verbose: true });
  t.deliver("<SEQ=300><ACK=100><CTL=ACK><WND=5>"); // 5 << 3 = 40 octets
  t.expectState("ESTABLISHED");
  t.send("y".repeat(100));
  t.expectSent(["<SEQ=100><ACK=300><CTL=ACK><DATA=40>"]);
});

Deno.test("Window scaling: not used unless both SYNs carry WS", () => {
  const t = new Fixture({ peerWindow: 65535 });
  t.user((ep, _c, now) => {
    t.conn = ep.connect(B, SERVICE_PORT, now, { iss: 99, localPort: A_PORT });
  });
  t.takeSent();
  t.deliver("<SEQ=299><ACK=100><CTL=SYN,ACK><WND=10>"); // no WS from B
  t.expectSent(["<SEQ=100><ACK=300><CTL=ACK><WND=65535>"], { verbose: true });
  t.deliver("<SEQ=300><ACK=100><CTL=ACK><WND=20>");
  t.send("z".repeat(100));
  t.expectSent(["<SEQ=100><ACK=300><CTL=ACK><DATA=20>"]);
});
