/**
 * Segments for no connection and segments to a listener (behaviour table row 28):
 * RFC 9293 §3.5.2 (reset generation, group 1), §3.10.7.1 (CLOSED) and §3.10.7.2
 * (LISTEN), with the backlog cap.
 */
import assert from "node:assert/strict";
import { A, A_PORT, B, Fixture, OPENINGS, SERVICE_PORT } from "../_helpers/fixture.ts";
import { open, transitions } from "../_helpers/timeline.ts";
import { seg } from "../../src/wire/rfc_notation.ts";
import { encode, encodedLength } from "../../src/wire/segment.ts";
import { addrSum, parseIp } from "../../src/wire/checksum.ts";

// ── CLOSED: no connection (row 28) ───────────────────────────────────────────────

Deno.test("CLOSED: a segment without ACK gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, row 28", () => {
  const t = new Fixture();
  t.deliver("<SEQ=500><CTL=SYN>");
  t.expectSent(["<SEQ=0><ACK=501><CTL=RST,ACK>"]);
  t.deliver("<SEQ=500><CTL=PSH><DATA=3>");
  t.expectSent(["<SEQ=0><ACK=503><CTL=RST,ACK>"]);
  t.deliver("<SEQ=500><CTL=FIN><DATA=3>"); // SEG.LEN counts the FIN
  t.expectSent(["<SEQ=0><ACK=504><CTL=RST,ACK>"]);
  t.deliver("<SEQ=4294967295><CTL=SYN>"); // SEG.SEQ + SEG.LEN wraps mod 2^32
  t.expectSent(["<SEQ=0><ACK=0><CTL=RST,ACK>"]);
  assert.equal(t.ep.stats.dropped["no-connection"], 4);
  assert.equal(t.ep.stats.rstsOut, 4);
  assert.equal(t.ep.size, 0, "the connection remains CLOSED: nothing is created");
});

Deno.test("CLOSED: a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>, row 28", () => {
  const t = new Fixture();
  t.deliver("<SEQ=500><ACK=777><CTL=ACK>");
  t.expectSent(["<SEQ=777><CTL=RST>"]);
  t.deliver("<SEQ=500><ACK=778><CTL=FIN,PSH,ACK><DATA=3>");
  t.expectSent(["<SEQ=778><CTL=RST>"]);
  t.deliver("<SEQ=500><ACK=779><CTL=SYN,ACK>");
  t.expectSent(["<SEQ=779><CTL=RST>"]);
});

Deno.test("CLOSED: never a RST for a RST, row 28", () => {
  const t = new Fixture();
  t.deliver("<SEQ=500><CTL=RST>");
  t.deliver("<SEQ=500><ACK=777><CTL=RST,ACK>");
  t.deliver("<SEQ=500><CTL=RST><DATA=3>");
  t.expectSilent();
  assert.equal(t.ep.stats.dropped["no-connection"], 3);
  assert.equal(t.ep.stats.rstsOut, 0);
});

Deno.test("CLOSED: the same rule for a segment arriving as bytes on the wire, row 28", () => {
  const t = new Fixture();
  const s = seg("<SEQ=1000><ACK=42><CTL=ACK><DATA=2>", {
    srcPort: SERVICE_PORT,
    dstPort: A_PORT,
    window: 100,
  });
  const bytes = new Uint8Array(encodedLength(s));
  // The checksum over the real pseudo header (B → A), as the endpoint verifies it.
  encode(s, bytes, 0, addrSum(parseIp(B)!, parseIp(A)!));
  t.deliverBytes(bytes);
  t.expectSent(["<SEQ=42><CTL=RST>"]);
  bytes[bytes.length - 1] ^= 0xff; // corrupted: dropped, never answered
  t.deliverBytes(bytes);
  t.expectSilent();
  assert.equal(t.ep.stats.dropped["bad-checksum"], 1);
});

Deno.test("CLOSED: RSTs for no connection are capped per second (endpoint rstLimit), row 28", () => {
  const t = new Fixture({ endpoint: { rstLimit: 2 } });
  for (let i = 0; i < 3; i++) t.deliver(`<SEQ=${500 + i}><CTL=SYN>`);
  assert.equal(t.takeSent().length, 2);
  assert.equal(t.ep.stats.rstsRateLimited, 1);
  t.advance(1000);
  t.deliver("<SEQ=600><CTL=SYN>");
  t.expectSent(["<SEQ=0><ACK=601><CTL=RST,ACK>"]);
});

for (const opening of OPENINGS) {
  Deno.test(`CLOSED: after TIME-WAIT has expired a late FIN gets a RST, row 28 (${opening})`, () => {
    const t = open("TIME-WAIT", { opening });
    t.advance(60_000);
    t.expectState("CLOSED");
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><CTL=RST>"]);
  });

  Deno.test(`CLOSED: after LAST-ACK completes a retransmitted FIN gets a RST, row 28 (${opening})`, () => {
    const t = open("LAST-ACK", { opening });
    t.deliver("<SEQ=301><ACK=101><CTL=ACK>");
    t.expectState("CLOSED");
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><CTL=RST>"]);
  });
}

// ── LISTEN (row 28) ──────────────────────────────────────────────────────────────

/** A listening on port 80 with no connection yet; B may use any source port. */
function listening(backlog?: number, autoAccept?: boolean) {
  const t = new Fixture({ opening: "passive", peerWindow: 65535 });
  t.ep.listen(SERVICE_PORT, { iss: 99, backlog, autoAccept });
  const from = (port: number, text: string) =>
    t.deliverSegment(seg(text, { srcPort: port, dstPort: SERVICE_PORT, window: 65535 }));
  return { t, from };
}

Deno.test("LISTEN: an ACK gets <SEQ=SEG.ACK><CTL=RST>, row 28", () => {
  const { t, from } = listening();
  from(40000, "<SEQ=500><ACK=777><CTL=ACK>");
  t.expectSent(["<SEQ=777><CTL=RST>"]);
  from(40000, "<SEQ=500><ACK=778><CTL=SYN,ACK>"); // second check comes before the SYN
  t.expectSent(["<SEQ=778><CTL=RST>"]);
  assert.equal(t.ep.size, 0);
  assert.equal(t.ep.stats.dropped["listen-unexpected"], 2);
});

Deno.test("LISTEN: a RST is ignored, row 28", () => {
  const { t, from } = listening();
  from(40000, "<SEQ=500><CTL=RST>");
  from(40000, "<SEQ=500><ACK=1><CTL=RST,ACK>");
  t.expectSilent();
  assert.equal(t.ep.size, 0);
});

Deno.test("LISTEN: a segment with neither SYN, ACK nor RST is dropped, row 28", () => {
  const { t, from } = listening();
  from(40000, "<SEQ=500><CTL=FIN>");
  from(40000, "<SEQ=500><DATA=4>");
  t.expectSilent();
  assert.equal(t.ep.size, 0);
});

Deno.test("LISTEN: a SYN creates a connection in SYN-RECEIVED and gets a SYN,ACK", () => {
  const { t, from } = listening();
  from(40000, "<SEQ=500><CTL=SYN>");
  t.expectSent(["<SEQ=99><ACK=501><CTL=SYN,ACK>"]);
  t.conn = t.ep.connections()[0];
  t.expectState("SYN-RECEIVED");
  assert.deepEqual(transitions(t), ["CLOSED → LISTEN (listen)", "LISTEN → SYN-RECEIVED (rcv-syn)"]);
});

Deno.test("LISTEN: the backlog cap drops SYNs beyond it and counts them, row 28", () => {
  const { t, from } = listening(2);
  from(40001, "<SEQ=500><CTL=SYN>");
  from(40002, "<SEQ=600><CTL=SYN>");
  from(40003, "<SEQ=700><CTL=SYN>"); // third embryo: over the backlog of 2
  t.expectSent(["<SEQ=99><ACK=501><CTL=SYN,ACK>", "<SEQ=99><ACK=601><CTL=SYN,ACK>"]);
  assert.equal(t.ep.size, 2);
  assert.equal(t.ep.stats.dropped["listen-backlog-full"], 1);
  // The client retries; once one handshake completes (auto-accept) a slot is free.
  from(40001, "<SEQ=501><ACK=100><CTL=ACK>");
  from(40003, "<SEQ=700><CTL=SYN>");
  t.expectSent(["<SEQ=99><ACK=701><CTL=SYN,ACK>"]);
  assert.equal(t.ep.size, 3);
});

Deno.test("LISTEN: without autoAccept established connections hold the backlog until accept(), row 28", () => {
  const { t, from } = listening(1, false);
  from(40001, "<SEQ=500><CTL=SYN>");
  from(40001, "<SEQ=501><ACK=100><CTL=ACK>");
  t.takeSent();
  from(40002, "<SEQ=600><CTL=SYN>");
  t.expectSilent();
  assert.equal(t.ep.stats.dropped["listen-backlog-full"], 1);
  const id = t.ep.accept(SERVICE_PORT);
  assert.equal(t.ep.state(id!), "ESTABLISHED");
  from(40002, "<SEQ=600><CTL=SYN>");
  t.expectSent(["<SEQ=99><ACK=601><CTL=SYN,ACK>"]);
});

Deno.test("LISTEN: an embryo that times out frees its backlog slot, row 28", () => {
  const { t, from } = listening(1);
  from(40001, "<SEQ=500><CTL=SYN>");
  t.advance(120_000); // SYN,ACK retries run out
  assert.equal(t.ep.size, 0);
  t.takeSent();
  from(40002, "<SEQ=600><CTL=SYN>");
  t.expectSent(["<SEQ=99><ACK=601><CTL=SYN,ACK>"]);
});

Deno.test("No listener on the port: a SYN is refused with <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>, row 28", () => {
  const { t } = listening();
  t.deliverSegment(seg("<SEQ=500><CTL=SYN>", { srcPort: 40000, dstPort: 81 }));
  t.expectSent(["<SEQ=0><ACK=501><CTL=RST,ACK>"]);
});
