/**
 * RFC 9293 Figures 12 and 13, segment by segment, from A's side and from B's side.
 */
import assert from "node:assert/strict";
import { fixture, OPENINGS } from "../_helpers/fixture.ts";

for (const opening of OPENINGS) {
  Deno.test(`Figure 12 normal close, A closes first (${opening} open)`, () => {
    const t = fixture("ESTABLISHED", { opening });
    t.close(); // 2.
    t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
    t.expectState("FIN-WAIT-1");
    t.deliver("<SEQ=300><ACK=101><CTL=ACK>"); // 3.
    t.expectSilent();
    t.expectState("FIN-WAIT-2");
    t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>"); // 4.
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]); // 5.
    t.expectState("TIME-WAIT");
    t.advance(2 * 30_000 - 1);
    t.expectState("TIME-WAIT");
    t.advance(1); // 6. (2 MSL)
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
    assert.deepEqual(t.states().slice(-4), ["FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"]);
  });

  Deno.test(`Figure 12 normal close, B's side: passive close (${opening} open)`, () => {
    const t = fixture("ESTABLISHED", { opening });
    t.deliver("<SEQ=300><ACK=100><CTL=FIN,ACK>"); // B's view of 2.
    t.expectSent(["<SEQ=100><ACK=301><CTL=ACK>"]);
    t.expectState("CLOSE-WAIT");
    assert.ok(t.events.some((e) => e.type === "peer-closed"));
    t.close();
    t.expectSent(["<SEQ=100><ACK=301><CTL=FIN,ACK>"]);
    t.expectState("LAST-ACK");
    t.deliver("<SEQ=301><ACK=101><CTL=ACK>");
    t.expectSilent();
    t.expectState("CLOSED");
    assert.equal(t.closedReason(), "normal");
  });

  Deno.test(`Figure 13 simultaneous close (${opening} open)`, () => {
    const t = fixture("ESTABLISHED", { opening });
    t.close();
    t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
    t.deliver("<SEQ=300><ACK=100><CTL=FIN,ACK>");
    t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
    t.expectState("CLOSING");
    t.deliver("<SEQ=301><ACK=101><CTL=ACK>");
    t.expectSilent();
    t.expectState("TIME-WAIT");
    t.advance(60_000);
    t.expectState("CLOSED");
  });
}
