/**
 * Segment fuzzing against connections in every state. Seeded: random and mutated
 * segments from the peer (flags flipped, SEQ and ACK near and far from the window
 * edges, random windows, options with and without timestamps, payloads of every
 * size, raw bytes with and without a valid checksum) go into a fixture in each of the
 * ten states, for both ways of opening, with timer advances and user calls mixed
 * in. The engine must never throw, never make a transition outside the table, always
 * close with a reason that fits the cause, never keep a CLOSED connection, never
 * answer a RST with a RST, and everything it sends must decode with a good checksum.
 *
 * A failure prints the seed, the fixture and the inputs since the fixture was made.
 * Run more or other seeds with:
 *
 *     deno test -A tests/tcb/fuzz_test.ts -- --seed=7 --segments=1000000
 */
import { A, B, Fixture, fixture, type Opening } from "../_helpers/fixture.ts";
import { ConnectionNotFoundError, ConnectionStateError } from "../../src/endpoint/endpoint.ts";
import type { CloseReason, TcbEvent } from "../../src/tcb/events.ts";
import type { TcbOptions } from "../../src/tcb/options.ts";
import { type Cause, isAllowedTransition, type State } from "../../src/tcb/state.ts";
import { Rng } from "../../src/sim/rng.ts";
import { addrSum, foldChecksum, parseIp, sum16 } from "../../src/wire/checksum.ts";
import { formatSegment } from "../../src/wire/rfc_notation.ts";
import {
  ACK,
  CWR,
  decode,
  ECE,
  encode,
  FIN,
  newSegment,
  PSH,
  RST,
  type Segment,
  SYN,
  URG,
} from "../../src/wire/segment.ts";
import { seqAdd, seqGt, seqLe, seqLt } from "../../src/wire/seq.ts";

const DEFAULT_SEED = 0x5eed;
const DEFAULT_SEGMENTS = 200_000;

/** Checksum sums of the pseudo header, B → A (what A verifies) and A → B. */
const SUM_BA = addrSum(parseIp(B)!, parseIp(A)!);
const SUM_AB = addrSum(parseIp(A)!, parseIp(B)!);

/** The close reasons each cause of a transition to CLOSED may report. */
const REASONS_BY_CAUSE: Partial<Record<Cause, readonly CloseReason[]>> = {
  "close": ["aborted"], // CLOSE in LISTEN or SYN-SENT deletes the TCB (§3.10.4)
  "rcv-ack": ["normal"],
  "rcv-rst": ["reset", "refused", "normal"], // normal: TIME-WAIT with RFC 1337 off
  "abort": ["aborted"],
  "data-after-close": ["aborted"],
  "retransmit-timeout": ["timeout"],
  "user-timeout": ["timeout"],
  "fin-wait-2-timeout": ["timeout"],
  "time-wait-expired": ["normal", "aborted"], // aborted: RST sender held in TIME-WAIT
  "reopened": ["normal"],
  "recycled": ["normal"],
};

/** States a fixture can start in, per opening (ten each). */
const STARTS: Record<Opening, readonly (State | "LISTEN")[]> = {
  active: [
    "CLOSED",
    "SYN-SENT",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
  ],
  passive: [
    "CLOSED",
    "LISTEN",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
  ],
};

/** A fixture whose drain also checks the checksum of everything A sends. */
class FuzzFixture extends Fixture {
  /** Problems found while draining (thrown by the loop with context). */
  problems: string[] = [];

  override drain(): void {
    for (let t = this.ep.pollTransmit(); t; t = this.ep.pollTransmit()) {
      if (t.to !== B) this.problems.push(`A sent to "${t.to}"`);
      const r = decode(t.bytes, SUM_AB);
      if (!r.ok) {
        this.problems.push(`A sent an undecodable segment: ${r.reason}`);
        continue;
      }
      this.sent.push({ ...r.segment, payload: r.segment.payload.slice() });
    }
    for (let e = this.ep.pollEvent(); e; e = this.ep.pollEvent()) {
      this.events.push(e);
      this.fresh.push(e);
    }
  }

  /** Events since the last check (not the fixture's own `takeEvents` queue). */
  fresh: TcbEvent[] = [];
}

/**
 * Connection options for one fixture: the defaults half the time, else a random mix
 * of the settings that change how segments are handled.
 */
function randomOptions(
  rng: Rng,
  start: State | "LISTEN",
  timestamps: boolean,
): Partial<TcbOptions> {
  const o: Partial<TcbOptions> = { timestamps };
  if (rng.chance(0.5)) return o;
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
  o.rcvBuffer = pick([1, 100, 1460, 4096, 65535, 256 * 1024, 4 << 20]);
  o.sndBuffer = pick([1, 100, 4096, 256 * 1024]);
  o.mss = pick([1, 64, 536, 1460, 9000]);
  o.windowScale = pick([undefined, 0, 7, 14]);
  o.rfc1337 = rng.chance(0.5);
  o.paws = rng.chance(0.7);
  o.timeWaitReopen = pick(["seq-and-timestamp", "seq", "never"] as const);
  o.challengeAckInterval = pick([0, 500]);
  o.rstOnUnreadClose = rng.chance(0.7);
  o.userTimeout = pick([0, 0, 500, 5000]);
  o.delayedAck = pick([0, 40, 200]);
  o.rstSenderTimeWait = rng.chance(0.3);
  o.finWait2Timeout = pick([1000, 60_000]);
  o.msl = pick([1000, 30_000]);
  o.maxRetries = pick([1, 15]);
  o.orphanRetries = pick([0, 8]);
  o.synRetries = pick([0, 6]);
  o.rtoMin = pick([1, 200]);
  // Linger 0 turns the fixture's own close() into an abort: only where it is not used.
  const setupCloses = start === "FIN-WAIT-1" || start === "FIN-WAIT-2" || start === "CLOSING" ||
    start === "TIME-WAIT" || start === "LAST-ACK";
  o.lingerZero = !setupCloses && rng.chance(0.2);
  return o;
}

/** Makes a fixture in `start`. Timestamps on or off decide what B's segments carry. */
function makeFixture(
  start: State | "LISTEN",
  opening: Opening,
  tcb: Partial<TcbOptions>,
): FuzzFixture {
  // Build through the shared helper, then move its endpoint into a FuzzFixture so
  // that every later drain checks checksums too.
  if (start === "LISTEN") {
    const t = new FuzzFixture({ opening: "passive", tcb });
    t.ep.listen(80, { iss: 99 });
    return t;
  }
  const base = fixture(start, { opening, tcb });
  const t = Object.setPrototypeOf(base, FuzzFixture.prototype) as FuzzFixture;
  t.problems = [];
  t.fresh = [];
  return t;
}

interface Run {
  seed: number;
  segments: number;
  /** Distinct (start state, opening) pairs fixtures were made in. */
  starts: Set<string>;
  /** States the connection under test was seen in while segments arrived. */
  statesHit: Set<State>;
  datagrams: number;
  fixtures: number;
  advances: number;
  userCalls: number;
  closes: number;
}

function fuzz(seed: number, segments: number): Run {
  const rng = new Rng(seed);
  const pool = new Uint8Array(8192);
  for (let i = 0; i < pool.length; i++) pool[i] = rng.int(256);
  const wire = new Uint8Array(70_000);
  const run: Run = {
    seed,
    segments: 0,
    starts: new Set(),
    statesHit: new Set(),
    datagrams: 0,
    fixtures: 0,
    advances: 0,
    userCalls: 0,
    closes: 0,
  };
  const pick = <T>(xs: readonly T[]): T => xs[rng.int(xs.length)];
  const u32 = () => rng.nextU32();
  const near = (x: number, spread: number) => seqAdd(x, rng.int(2 * spread + 1) - spread);

  let k = 0;
  while (run.segments < segments) {
    // Walk every (opening, state, timestamps) combination in turn.
    const opening: Opening = (k & 1) === 0 ? "active" : "passive";
    const starts = STARTS[opening];
    const start = starts[(k >> 1) % starts.length];
    const timestamps = (Math.floor((k >> 1) / starts.length) & 1) === 1;
    k++;
    const options = randomOptions(rng, start, timestamps);
    const t = makeFixture(start, opening, options);
    run.fixtures++;
    run.starts.add(`${opening} ${start}`);
    const history: string[] = [];
    const fail = (msg: string): never => {
      throw new Error(
        `${msg}\n  seed=${seed} fixture=${start} (${opening} open) options ${
          JSON.stringify(options)
        }` +
          `\n  inputs since the fixture was made:\n    ${history.slice(-40).join("\n    ")}`,
      );
    };
    const known = new Map<number, State>();
    /** The last ACK field each connection sent: RCV.NXT never moves back. */
    const acked = new Map<number, number>();
    if (t.conn !== 0) known.set(t.conn, t.ep.state(t.conn));
    // B's timestamp clock and what A last sent (for echoes and ACK fields).
    let bTs = 5000;
    const budget = 1 + rng.int(80);

    for (let step = 0; step < budget && run.segments < segments; step++) {
      const info = t.conn !== 0 ? t.ep.info(t.conn) : undefined;
      const lastA = t.sent.at(-1);
      t.sent = t.sent.slice(-4);
      const roll = rng.float();
      /** The segment B sent this step, as A decoded it (undefined for other inputs). */
      let input: Segment | undefined;
      try {
        if (roll < 0.86) {
          // ------------------------------------------------ a segment from B
          run.segments++;
          if (info) run.statesHit.add(info.state);
          const rcvNxt = info?.rcvNxt ?? (lastA?.ack || 300);
          const rcvWnd = info?.rcvWnd ?? 65535;
          const sndUna = info?.sndUna ?? (lastA?.seq ?? 100);
          const sndNxt = info?.sndNxt ?? sndUna;
          const sndMax = info ? seqAdd(info.sndUna, info.bytesInFlight) : sndNxt;
          const irs = info?.irs ?? 299;
          const iss = info?.iss ?? 99;
          const seq = pick([
            () => rcvNxt,
            () => rcvNxt,
            () => rcvNxt,
            () => near(rcvNxt, 3),
            () => near(seqAdd(rcvNxt, rcvWnd), 2), // the right edge of the window
            () => seqAdd(rcvNxt, rng.int(Math.max(1, rcvWnd))), // in window, out of order
            () => seqAdd(rcvNxt, -1 - rng.int(70_000)), // old
            () => near(irs, 2),
            () => seqAdd(rcvNxt, 0x80000000 + rng.int(3) - 1), // half the space away
            () => u32(),
          ])();
          const ack = pick([
            () => sndNxt,
            () => sndNxt,
            () => sndMax,
            () => sndUna,
            () => near(sndUna, 2),
            () => near(sndMax, 2),
            () => seqAdd(sndUna, -(info?.sndWnd ?? 65535) - rng.int(3) + 1), // RFC 5961 §5 edge
            () => near(iss, 2),
            () => seqAdd(sndUna, 0x80000000),
            () => u32(),
          ])();
          let flags = pick([
            ACK,
            ACK,
            ACK,
            ACK | PSH,
            ACK | FIN,
            FIN,
            RST,
            RST | ACK,
            SYN,
            SYN | ACK,
            SYN | FIN,
            SYN | RST,
            0,
            rng.int(256),
          ]);
          if (rng.chance(0.1)) flags ^= 1 << rng.int(8); // flip one more bit
          if (rng.chance(0.05)) flags |= URG | ECE | CWR;
          const len = pick([
            0,
            0,
            0,
            0,
            1,
            2,
            rng.int(100),
            rng.int(1500),
            536,
            1460,
            1461,
            rng.int(5000),
          ]);
          const off = rng.int(pool.length - len);
          const useTs = timestamps ? !rng.chance(0.1) : rng.chance(0.1);
          if (rng.chance(0.8)) bTs = seqAdd(bTs, rng.int(50));
          const tsVal = pick([
            bTs,
            bTs,
            bTs,
            seqAdd(bTs, -1 - rng.int(1000)),
            seqAdd(bTs, 0x80000000),
            0,
            u32(),
          ]);
          const tsEcr = pick([lastA?.tsVal ?? 0, lastA?.tsVal ?? 0, 0, u32()]);
          const portOk = !rng.chance(0.04);
          const seg: Segment = newSegment({
            srcPort: portOk ? t.remotePort : 1 + rng.int(65535),
            dstPort: portOk || rng.chance(0.5) ? t.localPort : 1 + rng.int(65535),
            seq,
            ack,
            flags,
            window: pick([0, 1, 2, 512, 65535, rng.int(65536)]),
            urgent: rng.chance(0.05) ? rng.int(65536) : 0,
            mss: rng.chance((flags & SYN) ? 0.7 : 0.05)
              ? pick([0, 1, 88, 536, 1460, 65535])
              : undefined,
            windowScale: rng.chance((flags & SYN) ? 0.6 : 0.05) ? rng.int(15) : undefined,
            sackPermitted: rng.chance(0.1),
            tsVal: useTs ? tsVal : undefined,
            tsEcr: useTs ? tsEcr : undefined,
            sack: rng.chance(0.05) ? [sndUna, seqAdd(sndUna, rng.int(3000))] : undefined,
            payload: pool.subarray(off, off + len),
          });
          input = seg;
          const how = rng.float();
          if (how < 0.65) {
            history.push(
              `t=${t.now} segment ${
                formatSegment(seg, { verbose: true })
              } ports ${seg.srcPort}>${seg.dstPort}`,
            );
            t.deliverSegment(seg);
          } else {
            // Through the codec: as sent, or with bytes mutated (checksum fixed up or not).
            run.datagrams++;
            const n = encode({ ...seg, sack: undefined }, wire, 0, SUM_BA);
            let bytes = wire.subarray(0, n);
            let what = "datagram";
            if (how > 0.8) {
              const m = rng.float();
              if (m < 0.3) {
                for (let j = 1 + rng.int(4); j > 0; j--) {
                  bytes[rng.int(Math.min(n, 60))] = rng.int(256);
                }
                what = "header-mutated datagram";
              } else if (m < 0.5) {
                bytes = bytes.subarray(0, rng.int(n + 1));
                what = "truncated datagram";
              } else if (m < 0.75) {
                // An options area of random bytes with a data offset to match.
                const words = 5 + rng.int(11);
                const len2 = Math.min(words * 4 + rng.int(40), wire.length);
                for (let j = 0; j < len2; j++) wire[j] = j < 20 ? wire[j] : rng.int(256);
                wire[12] = (words << 4) | (wire[12] & 0x0f);
                bytes = wire.subarray(0, len2);
                what = "random-options datagram";
              } else {
                const len2 = rng.int(80);
                for (let j = 0; j < len2; j++) wire[j] = rng.int(256);
                bytes = wire.subarray(0, len2);
                what = "random datagram";
              }
              if (rng.chance(0.7) && bytes.length >= 20) {
                // Fix the checksum so the mutation reaches the parser and the TCB.
                bytes[16] = bytes[17] = 0;
                const c = foldChecksum(sum16(bytes, 0, bytes.length, SUM_BA + bytes.length));
                bytes[16] = c >>> 8;
                bytes[17] = c;
                what += " (checksum fixed)";
              }
            }
            const d = decode(bytes, SUM_BA);
            input = d.ok ? { ...d.segment } : undefined;
            history.push(
              `t=${t.now} ${what} ${bytes.length} B` +
                (d.ok ? ` ${formatSegment(d.segment, { verbose: true })}` : ` (${d.reason})`),
            );
            t.deliverBytes(bytes.slice());
          }
        } else if (roll < 0.94) {
          // ------------------------------------------------ time passes
          run.advances++;
          const ms = pick([1, 10, 40, 200, 1000, rng.int(3000), rng.int(70_000), 61_000, 600_000]);
          history.push(`t=${t.now} advance ${ms} ms`);
          t.advance(ms);
        } else {
          // ------------------------------------------------ a user call on A
          run.userCalls++;
          const call = pick(["send", "send", "read", "shutdown", "close", "abort"] as const);
          history.push(`t=${t.now} user ${call}`);
          try {
            t.user((ep, c, now) => {
              if (call === "send") ep.send(c, pool.subarray(0, 1 + rng.int(3000)), now);
              else if (call === "read") ep.read(c, Infinity, now);
              else ep[call](c, now);
            });
          } catch (e) {
            // Illegal in this state (§3.10 "error: ..."), or the connection is gone.
            if (!(e instanceof ConnectionStateError || e instanceof ConnectionNotFoundError)) {
              throw e;
            }
            t.drain();
          }
        }
      } catch (e) {
        fail(`The engine threw: ${(e as Error).stack}`);
      }

      // ------------------------------------------------------------ invariants
      if (t.problems.length > 0) fail(t.problems.join("; "));
      const sentRst = t.fresh.some((e) => e.type === "segment-sent" && (e.segment.flags & RST));
      const inputRst = input !== undefined && (input.flags & RST) !== 0;
      if (inputRst && sentRst) fail("A answered a RST with a RST (§3.10.7)");
      const mine = input !== undefined && info !== undefined &&
        input.srcPort === t.remotePort && input.dstPort === t.localPort;
      const moved = t.fresh.find((e) => e.type === "state-changed" && e.conn === t.conn);
      if (mine && moved?.type === "state-changed") {
        const f = input!.flags;
        if ((f & RST) && moved.cause === "rcv-rst") {
          // RFC 5961 §3.2 (§3.10.7.4 second check): only a RST at exactly RCV.NXT resets;
          // in SYN-SENT only one that acknowledges our SYN (§3.10.7.3).
          const ok = info!.state === "SYN-SENT"
            ? (f & ACK) !== 0 && seqGt(input!.ack, info!.iss) && seqLe(input!.ack, info!.sndNxt)
            : input!.seq === info!.rcvNxt;
          if (!ok) {
            fail(`A RST at SEQ ${input!.seq} reset ${info!.state} (RCV.NXT ${info!.rcvNxt})`);
          }
        }
        const synchronized = info!.state !== "SYN-SENT" && info!.state !== "SYN-RECEIVED" &&
          info!.state !== "TIME-WAIT";
        if ((f & SYN) && !(f & RST) && synchronized) {
          // RFC 5961 §4 (§3.10.7.4 fourth check): a SYN only draws a challenge ACK.
          fail(`A SYN moved ${info!.state} to ${moved.to} (${moved.cause})`);
        }
      }
      for (const e of t.fresh) {
        if (e.type === "segment-sent") {
          const f = e.segment.flags;
          if ((f & RST) && ((f & (SYN | FIN)) || e.segment.payload.length > 0)) {
            fail(`A sent a RST with SYN, FIN or data: ${formatSegment(e.segment)}`);
          }
          if ((f & SYN) && (f & FIN)) fail(`A sent SYN with FIN: ${formatSegment(e.segment)}`);
          if (e.conn !== undefined && (f & ACK) && !(f & RST)) {
            const prev = acked.get(e.conn);
            if (prev !== undefined && seqLt(e.segment.ack, prev)) {
              fail(`Connection ${e.conn} acknowledged ${e.segment.ack} after ${prev}`);
            }
            acked.set(e.conn, e.segment.ack);
          }
        } else if (e.type === "state-changed") {
          if (!isAllowedTransition(e.from, e.to, e.cause)) {
            fail(`Transition ${e.from} → ${e.to} (${e.cause}) is not in the table`);
          }
          const before = known.get(e.conn) ?? "CLOSED";
          if (before !== e.from) {
            fail(`Connection ${e.conn} changed from ${e.from} while in ${before}`);
          }
          known.set(e.conn, e.to);
          if (e.to === "CLOSED" && e.conn === t.conn) run.closes++;
        } else if (e.type === "closed") {
          const cause = lastCause(t.events, e.conn);
          const ok = cause !== undefined && REASONS_BY_CAUSE[cause]?.includes(e.reason);
          if (!ok) fail(`Connection ${e.conn} closed with "${e.reason}" after cause ${cause}`);
          if (known.get(e.conn) !== "CLOSED") fail(`closed event for ${e.conn} before CLOSED`);
        }
      }
      t.fresh = [];
      const ids = t.ep.connections();
      if (ids.length !== t.ep.size) fail(`size ${t.ep.size} but ${ids.length} connections`);
      for (const id of ids) {
        if (t.ep.state(id) === "CLOSED") fail(`The endpoint holds connection ${id} in CLOSED`);
      }
      // A listener's first connection becomes the connection under test.
      if (t.conn === 0 && ids.length > 0) t.conn = ids[0];
      if (t.conn !== 0 && t.ep.state(t.conn) === "CLOSED" && rng.chance(0.7)) break;
    }

    // Nothing leaks: once every connection is gone, stale timers drain to Infinity.
    t.advance(3_600_000);
    if (t.problems.length > 0) fail(t.problems.join("; "));
    if (t.ep.size === 0 && (t.ep.pollTimeout() !== Infinity || t.ep.timerEntries !== 0)) {
      fail(`No connection left but ${t.ep.timerEntries} timer entries`);
    }
  }
  return run;
}

/** The cause of the last transition of `conn` to CLOSED. */
function lastCause(events: readonly TcbEvent[], conn: number): Cause | undefined {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === "state-changed" && e.conn === conn && e.to === "CLOSED") return e.cause;
  }
  return undefined;
}

// ---------------------------------------------------------------- found by fuzzing

Deno.test("CLOSE in SYN-RECEIVED: FIN-WAIT-1 with our SYN unacknowledged resends SYN,ACK, then FIN", () => {
  // §3.10.4: CLOSE in SYN-RECEIVED sends FIN and enters FIN-WAIT-1 while SND.UNA is
  // still the ISS. Going back to SND.UNA used to index the send buffer at -1 (throw).
  const t = fixture("SYN-RECEIVED", { opening: "passive" });
  t.shutdown();
  t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
  t.expectState("FIN-WAIT-1");
  // The window closes and reopens (§3.8.6.1): resend from the first data octet.
  t.deliver("<SEQ=300><ACK=99><CTL=ACK><WND=0>");
  t.expectSilent();
  t.deliver("<SEQ=300><ACK=99><CTL=ACK><WND=1000>");
  t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
  // RTO (RFC 6298 §5.4): the oldest unacknowledged segment is the SYN,ACK.
  t.advance(1000);
  t.expectSent(["<SEQ=99><ACK=300><CTL=SYN,ACK>"]);
  t.deliver("<SEQ=300><ACK=100><CTL=ACK>");
  t.expectSent(["<SEQ=100><ACK=300><CTL=FIN,ACK>"]);
  t.deliver("<SEQ=300><ACK=101><CTL=ACK>");
  t.expectSilent();
  t.expectState("FIN-WAIT-2");
});

function arg(name: string): number | undefined {
  const a = Deno.args.find((x) => x.startsWith(`--${name}=`));
  return a === undefined ? undefined : Number(a.split("=")[1]);
}

const SEED = arg("seed") ?? DEFAULT_SEED;
const SEGMENTS = arg("segments") ?? DEFAULT_SEGMENTS;

Deno.test(`fuzz: ${SEGMENTS} random and mutated segments into every state keep every invariant`, () => {
  const seed = SEED;
  const segments = SEGMENTS;
  const run = fuzz(seed, segments);
  // The walk really covered every start and reached every state with a connection.
  const missing = [
    ...STARTS.active.map((s) => `active ${s}`),
    ...STARTS.passive.map((s) => `passive ${s}`),
  ].filter((s) => !run.starts.has(s));
  if (missing.length > 0) throw new Error(`Never started in ${missing.join(", ")}`);
  const wanted: State[] = [
    "SYN-SENT",
    "SYN-RECEIVED",
    "ESTABLISHED",
    "FIN-WAIT-1",
    "FIN-WAIT-2",
    "CLOSE-WAIT",
    "CLOSING",
    "LAST-ACK",
    "TIME-WAIT",
  ];
  const unhit = wanted.filter((s) => !run.statesHit.has(s));
  if (unhit.length > 0) throw new Error(`No segment arrived in ${unhit.join(", ")}`);
  if (run.segments < segments) throw new Error(`Only ${run.segments} segments`);
  console.log(
    `seed ${seed}: ${run.segments} segments (${run.datagrams} as datagrams), ${run.fixtures} ` +
      `fixtures, ${run.advances} timer advances, ${run.userCalls} user calls, ${run.closes} closes`,
  );
});
