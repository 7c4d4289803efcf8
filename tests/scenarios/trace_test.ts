/**
 * `finwait trace`: the two RFC 9293 figures, character for character, and every
 * scenario ends with both peers CLOSED the way it should.
 */
import assert from "node:assert/strict";
import { renderFigure } from "../../src/trace/figure.ts";
import { findScenario, PEER_A, PEER_B, runScenario, SCENARIOS } from "../../src/trace/scenarios.ts";
import { trace } from "../../src/cli/trace_cmd.ts";
import type { CloseReason } from "../../src/tcb/events.ts";

// RFC 9293 §3.6, Figure 12 and Figure 13, as printed in the RFC.
const FIGURE_12 = `       TCP Peer A                                           TCP Peer B

   1.  ESTABLISHED                                          ESTABLISHED

   2.  (Close)
       FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  --> CLOSE-WAIT

   3.  FIN-WAIT-2  <-- <SEQ=300><ACK=101><CTL=ACK>      <-- CLOSE-WAIT

   4.                                                       (Close)
       TIME-WAIT   <-- <SEQ=300><ACK=101><CTL=FIN,ACK>  <-- LAST-ACK

   5.  TIME-WAIT   --> <SEQ=101><ACK=301><CTL=ACK>      --> CLOSED

   6.  (2 MSL)
       CLOSED`;

const FIGURE_13 = `       TCP Peer A                                           TCP Peer B

   1.  ESTABLISHED                                          ESTABLISHED

   2.  (Close)                                              (Close)
       FIN-WAIT-1  --> <SEQ=100><ACK=300><CTL=FIN,ACK>  ... FIN-WAIT-1
                   <-- <SEQ=300><ACK=100><CTL=FIN,ACK>  <--
                   ... <SEQ=100><ACK=300><CTL=FIN,ACK>  -->

   3.  CLOSING     --> <SEQ=101><ACK=301><CTL=ACK>      ... CLOSING
                   <-- <SEQ=301><ACK=101><CTL=ACK>      <--
                   ... <SEQ=101><ACK=301><CTL=ACK>      -->

   4.  TIME-WAIT                                            TIME-WAIT
       (2 MSL)                                              (2 MSL)
       CLOSED                                               CLOSED`;

async function traceText(name: string): Promise<string[]> {
  const lines: string[] = [];
  await trace(name, { seed: 1, msl: 1, delay: 10, json: false, live: false }, (l) => lines.push(l));
  return lines;
}

Deno.test("trace normal-close prints RFC 9293 Figure 12 exactly", async () => {
  const lines = await traceText("normal-close");
  assert.equal(lines.slice(0, FIGURE_12.split("\n").length).join("\n"), FIGURE_12);
  assert.match(lines.at(-1)!, /A CLOSED \(normal\), B CLOSED \(normal\); 4 segments, 0 lost/);
});

Deno.test("trace simultaneous-close prints RFC 9293 Figure 13 exactly", async () => {
  const lines = await traceText("simultaneous-close");
  assert.equal(lines.slice(0, FIGURE_13.split("\n").length).join("\n"), FIGURE_13);
});

Deno.test("the figures match the RFC text itself when shared/rfc is beside the repo", async () => {
  let rfc: string;
  try {
    rfc = await Deno.readTextFile(new URL("../../../shared/rfc/rfc9293.txt", import.meta.url));
  } catch {
    console.log("skipped: ../shared/rfc/rfc9293.txt not found");
    return;
  }
  const lines = rfc.split("\n").map((l) => l.trimEnd());
  for (const fig of [FIGURE_12, FIGURE_13]) {
    const first = fig.split("\n")[2]; // "   1.  ESTABLISHED ..."
    assert.ok(lines.includes(first));
    const at = lines.findIndex((l, i) =>
      l === fig.split("\n")[0] && lines[i + 2] === first &&
      lines.slice(i, i + fig.split("\n").length).join("\n") === fig
    );
    assert.ok(at >= 0, "figure text not found verbatim in RFC 9293");
  }
});

const EXPECTED: Record<string, { a: CloseReason[]; b: CloseReason[]; segments?: number }> = {
  "normal-close": { a: ["normal"], b: ["normal"], segments: 4 },
  "simultaneous-close": { a: ["normal"], b: ["normal"], segments: 4 },
  "half-close": { a: ["normal"], b: ["normal"] },
  "abort": { a: ["aborted"], b: ["reset"], segments: 1 },
  "unread-data-rst": { a: ["aborted"], b: ["reset"] },
  "time-wait-reopen": { a: ["normal", "normal"], b: ["normal", "normal"] },
  "lossy-close": { a: ["normal"], b: ["normal"] },
};

for (const s of SCENARIOS) {
  Deno.test(`scenario ${s.name} finishes with the expected close on both sides`, () => {
    const run = runScenario(s);
    assert.ok(run.finished, "both endpoints must end with no connection");
    const reasons = (node: string) =>
      run.world.log.flatMap((e) =>
        e.kind === "event" && e.node === node && e.event.type === "closed" ? [e.event.reason] : []
      );
    const want = EXPECTED[s.name];
    assert.ok(want, `no expectation for ${s.name}`);
    assert.deepEqual(reasons(PEER_A), want.a);
    assert.deepEqual(reasons(PEER_B), want.b);
    if (want.segments !== undefined) {
      const sent = run.world.log.slice(run.start).filter((e) =>
        e.kind === "event" && e.event.type === "segment-sent"
      );
      assert.equal(sent.length, want.segments);
    }
  });
}

Deno.test("time-wait-reopen: the SYN reopens B's TIME-WAIT with ISS = old SND.NXT + 65537", () => {
  const run = runScenario(findScenario("time-wait-reopen")!);
  const causes = run.world.log.flatMap((e) =>
    e.kind === "event" && e.node === PEER_B && e.event.type === "state-changed"
      ? [`${e.event.from}>${e.event.to}:${e.event.cause}`]
      : []
  );
  assert.ok(causes.includes("TIME-WAIT>CLOSED:reopened"), causes.join(" "));
  const synAck = run.world.log.find((e) =>
    e.kind === "event" && e.node === PEER_B && e.event.type === "segment-sent" &&
    e.event.segment.flags === 0x12 && e.at > run.world.log[run.start].at
  );
  assert.ok(synAck && synAck.kind === "event" && synAck.event.type === "segment-sent");
  assert.equal(synAck.event.segment.seq, 301 + 65537);
});

Deno.test("lossy-close marks lost segments and retransmissions in the figure", () => {
  let found = false;
  for (let seed = 1; seed <= 20 && !found; seed++) {
    const run = runScenario(findScenario("lossy-close")!, { seed, loss: 0.3 });
    assert.ok(run.finished, `seed ${seed} did not finish`);
    const text = renderFigure({
      log: run.world.log,
      start: run.start,
      left: PEER_A,
      right: PEER_B,
      initial: run.initial,
    }).join("\n");
    found = text.includes("(lost)") && text.includes("retransmission");
  }
  assert.ok(found, "no seed in 1..20 showed a loss and a retransmission");
});

Deno.test("trace --json prints one parseable object per event", async () => {
  const lines: string[] = [];
  await trace(
    "abort",
    { seed: 1, msl: 1, delay: 10, json: true, live: false },
    (l) => lines.push(l),
  );
  const objs = lines.map((l) => JSON.parse(l));
  assert.ok(
    objs.some((o) => o.type === "segment-sent" && o.segment.notation === "<SEQ=100><CTL=RST>"),
  );
  assert.ok(objs.some((o) => o.type === "closed" && o.node === "B" && o.reason === "reset"));
});

Deno.test("trace refuses an unknown scenario with a clear message", async () => {
  await assert.rejects(
    () => traceText("nope"),
    /Unknown scenario "nope": choose one of normal-close/,
  );
});
