/**
 * One seeded run of the lossy close simulation: A (10.0.0.1) connects to B
 * (10.0.0.2:80) over an impaired {@linkcode World}, both write a random amount of
 * data in random chunks, then the connection is torn down in the way the seed picks.
 * The run returns the invariants it found broken (none when all is well) and how it
 * ended, so the test can count the rare, legitimate give-ups.
 *
 * ```ts
 * const r = runLossyClose({ seed: 17, loss: 0.3 });
 * if (r.problems.length > 0) console.log(describeRun(r), formatWorldLog(r.log));
 * ```
 */
import type { Endpoint } from "../../src/endpoint/endpoint.ts";
import type { CloseReason, ConnId, TcbEvent } from "../../src/tcb/events.ts";
import { type TcbOptions, tcbOptions } from "../../src/tcb/options.ts";
import type { CongestionControlKind } from "../../src/tcb/congestion.ts";
import { type Cause, isAllowedTransition, type State } from "../../src/tcb/state.ts";
import { Rng } from "../../src/sim/rng.ts";
import { World, type WorldEntry } from "../../src/sim/world.ts";
import { FIN } from "../../src/wire/segment.ts";
import { formatSegment } from "../../src/wire/rfc_notation.ts";

/** How the connection is closed. */
export type Scenario = "a-closes-first" | "b-closes-first" | "simultaneous" | "half-close";

/** Every scenario; the seed picks one. */
export const SCENARIOS: readonly Scenario[] = [
  "a-closes-first",
  "b-closes-first",
  "simultaneous",
  "half-close",
];

/** Settings of one run. */
export interface LossyRunOptions {
  seed: number;
  /** Loss probability on both directions. */
  loss: number;
  /** Most bytes each side writes per phase (default 20 KB). */
  maxBytes?: number;
  /** MSL in ms (default 1 s, so TIME-WAIT lasts 2 s). */
  msl?: number;
  /** Virtual-time bound of the run in ms. */
  limit?: number;
  /** Congestion control of both sides (default the engine's, "newreno"). */
  congestionControl?: CongestionControlKind;
  /** The drain order (World `drain`): events first lets deferred ACKs ride on replies. */
  drain?: "transmits-first" | "events-first";
}

/**
 * How a run ended:
 * - `normal`: both sides closed with reason "normal".
 * - `give-up`: one side gave up after exhausting its retransmissions (§3.8.3 R2).
 * - `time-wait-expired`: the passive closer's FIN retransmission, backed off beyond
 *   2·MSL, arrived after the other side's TIME-WAIT had expired and was answered with
 *   RST (§3.10.7.1).
 * - `fin-wait-2-timeout`: the active closer, an orphan, gave up waiting for the peer's
 *   FIN in FIN-WAIT-2 (Linux tcp_fin_timeout) before the peer's backed-off FIN
 *   retransmission came, and reset the peer.
 */
export type Outcome = "normal" | "give-up" | "time-wait-expired" | "fin-wait-2-timeout";

/** What one run found. */
export interface LossyRunResult {
  seed: number;
  loss: number;
  scenario: Scenario;
  /** Which side half-closes in the half-close scenario. */
  halfCloser: "A" | "B";
  /** The link and option choices, for the failure message. */
  config: string;
  outcome: Outcome;
  /** Broken invariants; empty when the run passed. */
  problems: string[];
  /** Notes on legitimate abnormal ends (who gave up, who got the late RST). */
  notes: string[];
  /** Bytes written per direction. */
  bytesAB: number;
  bytesBA: number;
  /** Segments both endpoints sent. */
  segments: number;
  /** Virtual time at the end, ms. */
  endedAt: number;
  log: WorldEntry[];
}

const A_ADDR = "10.0.0.1";
const B_ADDR = "10.0.0.2";
const PORT = 80;
/** SYN,ACK retransmissions of a passive open (the TCB's SYNACK_RETRIES, Linux tcp_synack_retries). */
const SYNACK_RETRIES = 5;

/** Bytes written or read, in order. */
class ByteLog {
  #buf = new Uint8Array(1024);
  length = 0;
  push(b: Uint8Array): void {
    if (this.length + b.length > this.#buf.length) {
      const n = new Uint8Array(Math.max(this.#buf.length * 2, this.length + b.length));
      n.set(this.#buf.subarray(0, this.length));
      this.#buf = n;
    }
    this.#buf.set(b, this.length);
    this.length += b.length;
  }
  get bytes(): Uint8Array {
    return this.#buf.subarray(0, this.length);
  }
}

interface Side {
  name: "A" | "B";
  addr: string;
  ep: Endpoint;
  conn: ConnId | undefined;
  established: boolean;
  /** Chunks of the first writing phase, and of the second (half-close, after the peer's FIN). */
  phase1: Uint8Array[];
  phase2: Uint8Array[];
  /** Total the side means to write in both phases. */
  planned: number;
  written: ByteLog;
  received: ByteLog;
  writerStarted: boolean;
  writerDone: boolean;
  phase2Started: boolean;
  phase2Done: boolean;
  peerClosed: boolean;
  closeScheduled: boolean;
  shutdownScheduled: boolean;
  /** The application called close() (the connection is an orphan from then on). */
  closeCalled: boolean;
  /** A deferred read is pending (slow reader). */
  readScheduled: boolean;
  /** `retries` of the connection when it last retransmitted. */
  lastRetries: number;
  closedReason: CloseReason | undefined;
  closedCause: Cause | undefined;
  closedFrom: State | undefined;
  closedAt: number;
  /** When the connection last entered FIN-WAIT-2. */
  fw2At: number;
}

/** Runs one seeded scenario and checks every invariant. Never throws on a broken invariant. */
export function runLossyClose(opts: LossyRunOptions): LossyRunResult {
  const { seed, loss } = opts;
  const msl = opts.msl ?? 1000;
  const maxBytes = opts.maxBytes ?? 20 * 1024;
  const limit = opts.limit ?? 3_600_000;
  const rng = new Rng(seed).fork("lossy-close");
  const scenario = SCENARIOS[rng.int(SCENARIOS.length)];
  const halfCloser: "A" | "B" = rng.chance(0.5) ? "A" : "B";
  const delay = 5 + rng.int(16);
  const jitter = rng.int(11);
  const tcb: Partial<TcbOptions> = {
    msl,
    timestamps: rng.chance(0.5),
    delayedAck: rng.chance(0.5) ? 40 : 0,
    mss: rng.chance(0.5) ? 1460 : 536,
    congestionControl: opts.congestionControl ?? "newreno",
  };
  // A quarter of the runs read late into a small buffer, so the window closes and
  // zero-window probes (§3.8.6.1) run under loss too.
  const slowReader = rng.chance(0.25);
  if (slowReader) tcb.rcvBuffer = 1024 + rng.int(8192);
  const finWait2Timeout = tcbOptions(tcb).finWait2Timeout;
  const config = `delay=${delay} jitter=${jitter} timestamps=${tcb.timestamps} ` +
    `delayedAck=${tcb.delayedAck} mss=${tcb.mss} cc=${tcb.congestionControl}` +
    (slowReader ? ` slow reader rcvBuffer=${tcb.rcvBuffer}` : "");

  const world = new World({
    seed,
    drain: opts.drain,
    link: {
      loss,
      corrupt: loss / 10,
      duplicate: 0.02,
      reorder: 0.05,
      reorderDelay: 25,
      delay,
      jitter,
    },
  });
  const secret = new Uint8Array(16).fill(seed & 0xff);
  const epA = world.add({ address: A_ADDR, secret, tcb });
  const epB = world.add({ address: B_ADDR, secret: secret.map((x) => x ^ 0x5a), tcb });
  epB.listen(PORT);

  const dataRng = rng.fork("data");
  const plan = (max: number, min = 0): Uint8Array[] => {
    let total = min + rng.int(max - min + 1);
    const chunks: Uint8Array[] = [];
    while (total > 0) {
      const n = Math.min(total, 1 + rng.int(rng.chance(0.3) ? 64 : 4096));
      const c = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const r = dataRng.nextU32();
        c[i] = r;
        if (i + 1 < n) c[i + 1] = r >>> 8;
        if (i + 2 < n) c[i + 2] = r >>> 16;
        if (i + 3 < n) c[i + 3] = r >>> 24;
      }
      chunks.push(c);
      total -= n;
    }
    return chunks;
  };
  const side = (name: "A" | "B", addr: string, ep: Endpoint): Side => {
    const phase1 = plan(maxBytes);
    // Half-close: the side that stays open writes at least one byte after the FIN.
    const phase2 = scenario === "half-close" && name !== halfCloser ? plan(maxBytes, 1) : [];
    const planned = [...phase1, ...phase2].reduce((s, c) => s + c.length, 0);
    return {
      name,
      addr,
      ep,
      conn: undefined,
      established: false,
      phase1,
      phase2,
      planned,
      written: new ByteLog(),
      received: new ByteLog(),
      writerStarted: false,
      writerDone: false,
      phase2Started: false,
      phase2Done: phase2.length === 0,
      peerClosed: false,
      closeScheduled: false,
      shutdownScheduled: false,
      closeCalled: false,
      readScheduled: false,
      lastRetries: 0,
      closedReason: undefined,
      closedCause: undefined,
      closedFrom: undefined,
      closedAt: -1,
      fw2At: -1,
    };
  };
  const a = side("A", A_ADDR, epA);
  const b = side("B", B_ADDR, epB);
  const peerOf = (s: Side) => s === a ? b : a;
  const bySide = (addr: string) => addr === A_ADDR ? a : b;

  const alive = (s: Side) => s.conn !== undefined && s.ep.state(s.conn) !== "CLOSED";
  const drainReads = (s: Side, now: number) => {
    if (!alive(s)) return;
    const got = s.ep.read(s.conn!, Infinity, now);
    if (got.length > 0) s.received.push(got);
  };

  // With events polled first, half of the application's reactions happen at once,
  // inside the event hook (the ACK the engine deferred then rides on them); the rest
  // after a random gap, as always.
  const eventsFirst = opts.drain === "events-first";
  let inHook = false;
  const after = (
    s: Side,
    gap: number,
    label: string,
    run: (ep: Endpoint, now: number) => void,
  ) => {
    if (eventsFirst && inHook && rng.int(2) === 0) {
      run(world.endpoints.get(s.addr)!, world.now);
    } else {
      world.at(world.now + gap, s.addr, label, run);
    }
  };

  /** Writes `chunks` one by one at random gaps, then calls `done`. */
  const write = (s: Side, chunks: Uint8Array[], done: () => void) => {
    let i = 0;
    let off = 0;
    const next = () => {
      if (i >= chunks.length) return done();
      after(s, rng.int(30), "", (ep, now) => {
        const st = ep.state(s.conn!);
        if (st !== "ESTABLISHED" && st !== "CLOSE-WAIT") return; // gave up: stop writing
        const c = chunks[i].subarray(off);
        const n = ep.send(s.conn!, c, now);
        s.written.push(c.subarray(0, n));
        off += n;
        if (off === chunks[i].length) {
          i++;
          off = 0;
        }
        next();
      });
    };
    next();
  };

  const scheduleClose = (s: Side, at: number, how: "close" | "shutdown") => {
    if (how === "close") s.closeScheduled = true;
    else s.shutdownScheduled = true;
    after(s, at - world.now, how, (ep, now) => {
      if (!alive(s)) return;
      drainReads(s, now); // never close with unread data: that would be an abort (RST)
      if (how === "close") {
        s.closeCalled = true;
        ep.close(s.conn!, now);
      } else ep.shutdown(s.conn!, now);
    });
  };

  /** Has `s` read everything its peer's first phase writes? */
  const gotPhase1 = (s: Side) => {
    const p = peerOf(s);
    return s.received.length >= p.phase1.reduce((n, c) => n + c.length, 0);
  };

  /** The application logic: decides closes from what each side has seen. */
  const progress = () => {
    const now = world.now;
    if (scenario === "a-closes-first" || scenario === "b-closes-first") {
      const first = scenario === "a-closes-first" ? a : b;
      const second = peerOf(first);
      // The active closer closes once it wrote everything and read all the peer
      // wrote, so no data can arrive after its close (which would be answered by RST,
      // RFC 2525 §2.17).
      if (!first.closeScheduled && first.writerDone && gotPhase1(first)) {
        scheduleClose(first, now + rng.int(20), "close");
      }
      if (!second.closeScheduled && second.peerClosed && second.writerDone) {
        scheduleClose(second, now + rng.int(50), "close");
      }
    } else if (scenario === "simultaneous") {
      const ready = (s: Side) => s.writerDone && gotPhase1(s);
      if (!a.closeScheduled && ready(a) && ready(b)) {
        // The same instant on both sides: the FINs cross in flight (Figure 13).
        const at = now + 1 + rng.int(10);
        scheduleClose(a, at, "close");
        scheduleClose(b, at, "close");
      }
    } else {
      const x = halfCloser === "A" ? a : b;
      const y = peerOf(x);
      if (!x.shutdownScheduled && x.writerDone) scheduleClose(x, now + rng.int(20), "shutdown");
      // Data flows back after the first FIN, then the other side closes too.
      if (y.peerClosed && y.writerDone && !y.phase2Started) {
        y.phase2Started = true;
        write(y, y.phase2, () => {
          y.phase2Done = true;
          progress();
        });
      }
      if (!y.closeScheduled && y.phase2Done && y.peerClosed) {
        scheduleClose(y, now + rng.int(20), "close");
      }
      // The half-closer reads to the end, then closes its handle.
      if (!x.closeScheduled && x.peerClosed) scheduleClose(x, now + rng.int(20), "close");
    }
  };

  world.onEvent((node, ev: TcbEvent, ep) => {
    inHook = true;
    try {
      onEvent(node, ev, ep);
    } finally {
      inHook = false;
    }
  });

  function onEvent(node: string, ev: TcbEvent, ep: Endpoint): void {
    const s = bySide(node);
    switch (ev.type) {
      case "state-changed":
        if (s.conn === undefined) s.conn = ev.conn;
        if (ev.to === "ESTABLISHED" && !s.writerStarted) {
          s.established = true;
          s.writerStarted = true;
          write(s, s.phase1, () => {
            s.writerDone = true;
            progress();
          });
        }
        if (ev.to === "FIN-WAIT-2") s.fw2At = ev.now;
        if (ev.to === "CLOSED") {
          s.closedCause = ev.cause;
          s.closedFrom = ev.from;
        }
        break;
      case "segment-sent":
        if (ev.retransmission && ev.conn !== undefined) {
          s.lastRetries = ep.info(ev.conn)?.retries ?? s.lastRetries;
        }
        break;
      case "data":
        if (!slowReader) {
          drainReads(s, world.now);
          progress();
        } else if (!s.readScheduled) {
          s.readScheduled = true;
          world.at(world.now + rng.int(200), s.addr, "", (_ep, now) => {
            s.readScheduled = false;
            drainReads(s, now);
            progress();
          });
        }
        break;
      case "peer-closed":
        drainReads(s, world.now);
        s.peerClosed = true;
        progress();
        break;
      case "closed":
        s.closedReason = ev.reason;
        s.closedAt = ev.now;
        break;
    }
  }

  world.act(A_ADDR, "connect", (ep, now) => {
    a.conn = ep.connect(B_ADDR, PORT, now);
  });
  const idle = () => world.nextDeadline() === Infinity;
  world.run(limit, idle);

  const problems: string[] = [];
  const notes: string[] = [];

  // A side that gave up leaves its peer with nobody to talk to; the peer's
  // application notices (an idle timeout, say) and closes its handle.
  const gaveUp = (s: Side) =>
    s.closedReason === "timeout" && s.closedCause === "retransmit-timeout";
  if ((gaveUp(a) || gaveUp(b)) && (alive(a) || alive(b)) && world.now < limit) {
    for (const s of [a, b]) {
      if (!alive(s)) continue;
      notes.push(`${s.name} closed by its application after the peer gave up`);
      world.act(s.addr, "close (peer gone)", (ep, now) => {
        drainReads(s, now);
        s.closeCalled = true;
        ep.close(s.conn!, now);
      });
    }
    world.run(limit, idle);
  }

  // ---------------------------------------------------------------- invariants

  // Every state change is in the table; TIME-WAIT lasts at least 2·MSL, counted from
  // entering it and from the last FIN it acknowledged (each restarts the timer).
  const twEnter = new Map<string, number>();
  const twLastFin = new Map<string, number>();
  const states = new Map<string, State>();
  // Event times are sums of fractional delays: compare durations to the microsecond.
  const EPS = 1e-6;
  const log = world.log;
  for (let i = 0; i < log.length; i++) {
    const e = log[i];
    if (e.kind !== "event") continue;
    const ev = e.event;
    const key = `${e.node}#${ev.conn}`;
    if (ev.type === "state-changed") {
      if (!isAllowedTransition(ev.from, ev.to, ev.cause)) {
        problems.push(
          `${e.node} made a transition not in the table: ${ev.from} → ${ev.to} (${ev.cause})`,
        );
      }
      const prev = states.get(key) ?? "CLOSED";
      if (prev !== ev.from) problems.push(`${e.node} changed from ${ev.from} while in ${prev}`);
      states.set(key, ev.to);
      if (ev.to === "TIME-WAIT") {
        twEnter.set(key, e.at);
        twLastFin.set(key, e.at);
      }
      if (ev.from === "TIME-WAIT") {
        const held = e.at - twEnter.get(key)!;
        const sinceFin = e.at - twLastFin.get(key)!;
        if (ev.cause !== "time-wait-expired") {
          problems.push(`${e.node} left TIME-WAIT by ${ev.cause}`);
        } else if (held + EPS < 2 * msl || sinceFin + EPS < 2 * msl) {
          problems.push(
            `${e.node} held TIME-WAIT ${held} ms (${sinceFin} ms after the last FIN), ` +
              `less than 2·MSL = ${2 * msl} ms`,
          );
        }
      }
    } else if (
      ev.type === "segment-received" && (ev.segment.flags & FIN) && states.get(key) === "TIME-WAIT"
    ) {
      // A FIN that TIME-WAIT accepts as a retransmission restarts 2·MSL (§3.10.7.4);
      // an old duplicate (PAWS, out of window) is dropped first and restarts nothing.
      let dropped = false;
      for (let j = i + 1; j < log.length; j++) {
        const n = log[j];
        if (n.kind !== "event" || n.node !== e.node) continue;
        dropped = n.event.type === "segment-dropped" && n.event.conn === ev.conn;
        break;
      }
      if (!dropped) twLastFin.set(key, e.at);
    }
  }

  // Both sides reach CLOSED, the way the run explains.
  let outcome: Outcome = "normal";
  for (const s of [a, b]) {
    if (alive(s)) problems.push(`${s.name} still ${s.ep.state(s.conn!)} at t=${world.now}`);
    if (s.conn === undefined && s === a) problems.push(`A never opened a connection`);
  }
  const giver = [a, b].find(gaveUp);
  if (giver) {
    outcome = "give-up";
    // §3.8.3 R2: only after the retransmissions allowed in that state ran out.
    const st = giver.closedFrom;
    const want = st === "SYN-SENT"
      ? "synRetries"
      : st === "SYN-RECEIVED" && giver.name === "B"
      ? "SYNACK_RETRIES"
      : giver.closeCalled
      ? "orphanRetries"
      : "maxRetries";
    const limitRetries = want === "SYNACK_RETRIES" ? SYNACK_RETRIES : tcbOptions(tcb)[want];
    // At least: a connection orphaned after many retries gives up at its next RTO.
    if (giver.lastRetries < limitRetries) {
      problems.push(
        `${giver.name} gave up in ${st} after ${giver.lastRetries} retries; ${want} is ${limitRetries}`,
      );
    }
    notes.push(`${giver.name} gave up in ${st} after ${giver.lastRetries} retries`);
    const other = peerOf(giver);
    // The survivor may still finish normally, run out of retries itself, or be reset
    // by the giver's §3.10.7.1 RST once the giver's TCB is gone.
    if (other.conn !== undefined && !["normal", "timeout", "reset"].includes(other.closedReason!)) {
      problems.push(
        `${other.name} closed with "${other.closedReason}" after ${giver.name} gave up`,
      );
    }
    for (const s of [a, b]) {
      if (s.closedReason === "timeout" && s.closedCause === "retransmit-timeout") continue;
      if (s.closedReason === "timeout" && s.closedCause !== "fin-wait-2-timeout") {
        problems.push(`${s.name} timed out by ${s.closedCause}`);
      }
    }
  } else {
    // Without a give-up, the only legitimate abnormal end is a close timer on one
    // side running out while the peer's FIN retransmission is still backed off
    // (its RTO beyond the timer): the side that closed first, with nothing left to
    // say, answers the late FIN with a RST (§3.10.7.1) or sends one when it gives
    // up waiting in FIN-WAIT-2; the peer, already past sending its data, is reset.
    const early = [a, b].find((s) =>
      (s.closedReason === "normal" && s.closedCause === "time-wait-expired") ||
      (s.closedReason === "timeout" && s.closedCause === "fin-wait-2-timeout")
    );
    const late = early && peerOf(early);
    if (
      early && late && late.closedReason === "reset" && late.closedCause === "rcv-rst" &&
      (late.closedFrom === "LAST-ACK" || late.closedFrom === "CLOSING") &&
      late.closedAt >= early.closedAt
    ) {
      if (early.closedCause === "time-wait-expired") {
        outcome = "time-wait-expired";
      } else {
        outcome = "fin-wait-2-timeout";
        // Only an orphan is timed out in FIN-WAIT-2, and only after the full timeout.
        const waited = early.closedAt - early.fw2At;
        if (!early.closeCalled || waited < finWait2Timeout) {
          problems.push(
            `${early.name} timed out of FIN-WAIT-2 after ${waited} ms ` +
              `(orphan: ${early.closeCalled}, timeout ${finWait2Timeout} ms)`,
          );
        }
      }
      notes.push(
        `${late.name} reset in ${late.closedFrom} after ${early.name} left ${early.closedFrom} ` +
          `by ${early.closedCause}`,
      );
    } else {
      for (const s of [a, b]) {
        if (s.conn !== undefined && s.closedReason !== "normal") {
          problems.push(
            `${s.name} closed with "${s.closedReason}" (${s.closedFrom} → CLOSED by ${s.closedCause})`,
          );
        }
      }
    }
  }

  // Every byte written arrives exactly once and in order; after a give-up, what
  // arrived is still an exact prefix of what was written.
  for (const [from, to] of [[a, b], [b, a]]) {
    const w = from.written.bytes;
    const r = to.received.bytes;
    const label = `${from.name}→${to.name}`;
    if (outcome !== "give-up" && from.written.length !== from.planned) {
      problems.push(`${label}: wrote ${from.written.length} of ${from.planned} bytes`);
    }
    if (r.length > w.length) {
      problems.push(`${label}: received ${r.length} bytes, more than the ${w.length} written`);
    } else if (outcome !== "give-up" && r.length !== w.length) {
      problems.push(`${label}: received ${r.length} of ${w.length} bytes`);
    }
    const n = Math.min(r.length, w.length);
    for (let i = 0; i < n; i++) {
      if (r[i] !== w[i]) {
        problems.push(`${label}: byte ${i} differs (got ${r[i]}, wrote ${w[i]})`);
        break;
      }
    }
  }

  // Nothing leaks: no connection, no timer entry (stale ones were skipped when due),
  // nothing in flight.
  for (const s of [a, b]) {
    if (s.ep.size !== 0) problems.push(`${s.name} endpoint holds ${s.ep.size} connections`);
    if (s.ep.pollTimeout() !== Infinity || s.ep.timerEntries !== 0) {
      problems.push(
        `${s.name} endpoint still has ${s.ep.timerEntries} timer entries (next ${s.ep.pollTimeout()})`,
      );
    }
  }
  if (world.net.nextDeadline() !== undefined || world.net.stats.inFlight !== 0) {
    problems.push(`network not idle: ${world.net.stats.inFlight} datagrams in flight`);
  }
  if (world.now >= limit) problems.push(`run did not settle before t=${limit}`);

  return {
    seed,
    loss,
    scenario,
    halfCloser,
    config,
    outcome,
    problems,
    notes,
    bytesAB: a.written.length,
    bytesBA: b.written.length,
    segments: epA.stats.segmentsOut + epB.stats.segmentsOut,
    endedAt: world.now,
    log: world.log,
  };
}

/** One line naming the run, enough to replay it. */
export function describeRun(r: LossyRunResult): string {
  const hc = r.scenario === "half-close" ? ` (${r.halfCloser} half-closes)` : "";
  return `seed=${r.seed} loss=${r.loss} scenario=${r.scenario}${hc} ${r.config} ` +
    `bytes A→B=${r.bytesAB} B→A=${r.bytesBA}`;
}

/** The world's log as a readable trace (segments in RFC notation). */
export function formatWorldLog(log: readonly WorldEntry[], verbose = false): string {
  const lines: string[] = [];
  const t = (at: number) => at.toFixed(1).padStart(9);
  for (const e of log) {
    if (e.kind === "action") {
      if (e.label) lines.push(`${t(e.at)} ${e.node} ACTION ${e.label}`);
      continue;
    }
    if (e.kind === "net") {
      const n = e.event;
      if (n.type !== "delivered") lines.push(`${t(e.at)} net #${n.id} ${n.from}→${n.to} ${n.type}`);
      continue;
    }
    const ev = e.event;
    const who = `${e.node}#${ev.conn ?? "-"}`;
    switch (ev.type) {
      case "segment-sent":
        lines.push(
          `${t(e.at)} ${who} sent${ev.retransmission ? " (rtx)" : ""} #${e.datagram} ` +
            `${formatSegment(ev.segment, { verbose })} len=${ev.segment.payload.length}`,
        );
        break;
      case "segment-received":
        lines.push(
          `${t(e.at)} ${who} rcvd ${
            formatSegment(ev.segment, { verbose })
          } len=${ev.segment.payload.length}`,
        );
        break;
      case "state-changed":
        lines.push(`${t(e.at)} ${who} ${ev.from} → ${ev.to} (${ev.cause})`);
        break;
      case "segment-dropped":
        lines.push(`${t(e.at)} ${who} dropped ${ev.reason}${ev.detail ? ` ${ev.detail}` : ""}`);
        break;
      case "data":
        lines.push(`${t(e.at)} ${who} data ${ev.length}`);
        break;
      case "peer-closed":
        lines.push(`${t(e.at)} ${who} peer-closed`);
        break;
      case "closed":
        lines.push(`${t(e.at)} ${who} closed ${ev.reason}`);
        break;
    }
  }
  return lines.join("\n");
}
