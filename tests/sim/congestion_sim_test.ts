/**
 * Congestion control on the seeded network: the lossy close simulation of
 * lossy_close_test.ts with NewReno on both sides (same invariants, shares of
 * legitimate give-ups measured for a congestion-controlled sender), and a bulk
 * transfer under random loss where fast retransmit and NewReno recovery, not the
 * retransmission timer, repair the losses.
 *
 * Replay one close run with its trace:
 *
 *     deno test -A tests/sim/lossy_close_test.ts -- --seed=17 --loss=0.3 --cc=newreno
 */
import assert from "node:assert/strict";
import { describeRun, type Outcome, runLossyClose } from "../_helpers/lossy_close.ts";
import { World } from "../../src/sim/world.ts";
import type { ConnId } from "../../src/tcb/events.ts";
import type { CongestionControlKind } from "../../src/tcb/congestion.ts";

const SEEDS = 1000;

/**
 * Largest shares of runs that may end other than normally (see lossy_close_test.ts
 * for what each outcome means). With a congestion window an RTO leaves one segment
 * in flight and a transfer takes more round trips, so at 30 % loss the eight orphan
 * retries run out about four times as often as without (measured: 1.6 % vs 0.4 %),
 * and a late FIN meets an expired TIME-WAIT a little more often (7.7 % vs 6.4 %).
 */
const ALLOWED: Record<number, Record<Exclude<Outcome, "normal">, number>> = {
  0: { "give-up": 0, "time-wait-expired": 0, "fin-wait-2-timeout": 0 },
  0.01: { "give-up": 0, "time-wait-expired": 0.003, "fin-wait-2-timeout": 0 },
  0.1: { "give-up": 0.002, "time-wait-expired": 0.015, "fin-wait-2-timeout": 0.003 },
  0.3: { "give-up": 0.03, "time-wait-expired": 0.12, "fin-wait-2-timeout": 0.005 },
};

for (const loss of [0, 0.01, 0.1, 0.3]) {
  Deno.test(`lossy close with NewReno: ${SEEDS} seeds at ${loss * 100} % loss keep every invariant`, () => {
    const seen: Record<Outcome, number[]> = {
      "normal": [],
      "give-up": [],
      "time-wait-expired": [],
      "fin-wait-2-timeout": [],
    };
    const failures: string[] = [];
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = runLossyClose({ seed, loss, congestionControl: "newreno" });
      seen[r.outcome].push(seed);
      if (r.problems.length > 0) {
        failures.push(`${describeRun(r)}\n    ${r.problems.join("\n    ")}`);
      }
    }
    assert.equal(failures.length, 0, failures.slice(0, 10).join("\n"));
    for (const [outcome, share] of Object.entries(ALLOWED[loss])) {
      const seeds = seen[outcome as Outcome];
      assert.ok(
        seeds.length <= share * SEEDS,
        `${seeds.length} of ${SEEDS} runs at loss ${loss} ended by ${outcome}, more than ` +
          `${share * 100} %; seeds ${seeds.slice(0, 20).join(", ")}`,
      );
    }
  });
}

/** What one bulk transfer did. */
interface Transfer {
  /** Virtual ms from connect to the last byte read. */
  ms: number;
  bytes: number;
  intact: boolean;
  /** Retransmissions sent in answer to an ACK at the resent SEQ (fast / partial ACK). */
  ackTriggered: number;
  /** Retransmission timeouts: a resend with no segment arriving at that instant. */
  timeouts: number;
}

const TOTAL = 256 * 1024;

/** A sends TOTAL bytes to B over a link with `loss` on A → B, then both close. */
function transfer(seed: number, cc: CongestionControlKind, loss = 0.02): Transfer {
  const world = new World({ seed, link: { delay: 10 } });
  world.net.setLink("10.0.0.1", "10.0.0.2", { delay: 10, loss });
  const tcb = { congestionControl: cc, mss: 1460 };
  const a = world.add({ address: "10.0.0.1", secret: new Uint8Array(16).fill(1), tcb });
  const b = world.add({ address: "10.0.0.2", secret: new Uint8Array(16).fill(2), tcb });
  b.listen(80);
  const data = new Uint8Array(TOTAL);
  for (let i = 0; i < TOTAL; i++) data[i] = (i * 7 + (i >>> 9)) & 0xff;
  const got = new Uint8Array(TOTAL);
  let received = 0, offset = 0, doneAt = -1, closing = false;
  let conn: ConnId = 0;
  world.act("10.0.0.1", "connect", (ep, now) => conn = ep.connect("10.0.0.2", 80, now));
  world.onEvent((node, ev, ep, w) => {
    if (node === "10.0.0.2") {
      if (ev.type === "data") {
        const chunk = ep.read(ev.conn, Infinity, w.now);
        got.set(chunk.subarray(0, Math.min(chunk.length, TOTAL - received)), received);
        received += chunk.length;
        if (received >= TOTAL && doneAt < 0) doneAt = w.now;
      }
      if (ev.type === "peer-closed") ep.close(ev.conn, w.now);
      return;
    }
    if (ep.state(conn) !== "ESTABLISHED" || closing) return;
    while (offset < TOTAL) {
      const n = ep.send(conn, data.subarray(offset, Math.min(TOTAL, offset + 65536)), w.now);
      if (n === 0) break;
      offset += n;
    }
    if (offset === TOTAL) {
      closing = true;
      ep.close(conn, w.now);
    }
  });
  world.run(600_000, () => a.size === 0 && b.size === 0);
  // Classify A's retransmissions: one sent in the same instant as an ACK at its SEQ
  // arrived was asked for by that ACK (third duplicate, or a NewReno partial ACK); one
  // sent when nothing arrived was the timer's. The rest are a go-back-N after an RTO,
  // clocked out by ACKs.
  let ackTriggered = 0, timeouts = 0;
  let lastAck = { at: -1, ack: -1 };
  for (const e of world.log) {
    if (e.kind !== "event" || e.node !== "10.0.0.1") continue;
    const ev = e.event;
    if (ev.type === "segment-received") lastAck = { at: e.at, ack: ev.segment.ack };
    if (ev.type === "segment-sent" && ev.retransmission && ev.segment.payload.length > 0) {
      if (lastAck.at !== e.at) timeouts++;
      else if (lastAck.ack === ev.segment.seq) ackTriggered++;
    }
  }
  const intact = received === TOTAL && got.every((x, i) => x === data[i]);
  return { ms: doneAt, bytes: received, intact, ackTriggered, timeouts };
}

Deno.test("lossy transfer: at 2 % loss NewReno repairs every loss by fast retransmit, no timeout", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const reno = transfer(seed, "newreno");
    const none = transfer(seed, "none");
    const where = `seed ${seed}: newreno ${JSON.stringify(reno)}, none ${JSON.stringify(none)}`;
    assert.ok(reno.intact && none.intact, where);
    assert.ok(reno.ackTriggered > 0, where);
    assert.equal(reno.timeouts, 0, where);
    // Without congestion control (and so without fast retransmit) only the timer
    // repairs a loss. (This network has no bottleneck, so sending the whole window at
    // once costs nothing here: the figure of merit is how losses are found.)
    assert.ok(none.timeouts > 0, where);
  }
});
