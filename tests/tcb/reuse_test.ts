/**
 * Tcb.reuse: a TCB recycled for a new connection behaves exactly as a fresh one. Two
 * TCBs talk over a seeded lossy link (drops, duplicates, reordering, timers), and the
 * whole trace (every segment, event and timer request) of a run on fresh TCBs must
 * equal the trace of the same run on TCBs that first lived through other connections:
 * a field that `#begin` forgot to reset shows up as a difference.
 */
import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { Tcb, type TcbHost, type TcbInit } from "../../src/tcb/tcb.ts";
import { tcbOptions } from "../../src/tcb/options.ts";
import type { TcbOptions } from "../../src/tcb/options.ts";
import { SYN } from "../../src/wire/segment.ts";
import type { Segment } from "../../src/wire/segment.ts";
import { prng } from "../_helpers/prng.ts";

interface Side {
  tcb: Tcb;
  deadline: number;
  /** Segments in flight towards the other side: [arrival time, segment]. */
  inbox: [number, Segment][];
}

/** A host that records everything and hands transmissions to the link. */
function host(trace: string[], name: string, link: (seg: Segment, now: number) => void): TcbHost {
  return {
    transmit: (_tcb, seg, rtx, now) => {
      // Every field, ports and options included (RFC notation leaves some out).
      const { payload, ...fields } = seg;
      trace.push(`${now} ${name}>${rtx ? " rtx" : ""} ${JSON.stringify(fields)} ${payload.join()}`);
      link({ ...seg, payload: seg.payload.slice() }, now);
    },
    event: (ev, tcb) => {
      const { now, ...rest } = ev as { now: number };
      trace.push(`${now} ${name} ${tcb.id} ${JSON.stringify(rest)}`);
    },
    schedule: () => {},
    allowChallengeAck: () => true,
    released: (tcb) => trace.push(`${name} released ${tcb.id}`),
  };
}

/**
 * One connection from `a` (active) to `b` (passive) over a link with the given seed:
 * `bytes` each way, then both close; or, with `abortAt`, A aborts at that time.
 * Returns the trace; both TCBs end CLOSED.
 */
function run(
  make: (init: TcbInit) => Tcb,
  opts: {
    seed: number;
    options: TcbOptions;
    bytes: number;
    abortAt?: number;
    /** A's id, port, ISS and timestamp offset (B's follow from them). */
    id: number;
    port?: number;
    iss?: number;
    tsOffset?: number;
    /** The host takes A over in TIME-WAIT (adoptTimeWait), as the endpoint does. */
    adopt?: boolean;
  },
): string[] {
  const trace: string[] = [];
  const rand = prng(opts.seed);
  let now = 0;
  const sides: Side[] = [];
  const link = (to: number) => (seg: Segment, at: number) => {
    if (rand() < 0.15) return; // lost
    const copies = rand() < 0.05 ? 2 : 1; // duplicated
    for (let k = 0; k < copies; k++) sides[to].inbox.push([at + 1 + Math.floor(rand() * 30), seg]);
  };
  const port = opts.port ?? 49152;
  const iss = opts.iss ?? 0xfffff000;
  const tsOffset = opts.tsOffset ?? 5;
  const initOf = (k: number): TcbInit => {
    const h = host(trace, k === 0 ? "A" : "B", link(1 - k));
    if (k === 0 && opts.adopt) h.adoptTimeWait = () => true;
    return {
      id: opts.id + k,
      localPort: k === 0 ? port : 80,
      remotePort: k === 0 ? 80 : port,
      iss: k === 0 ? iss : (iss * 7 + 12345) >>> 0,
      tsOffset: k === 0 ? tsOffset : (tsOffset ^ 0x7fffffff) >>> 0,
      options: opts.options,
      host: h,
    };
  };
  const a = make(initOf(0));
  sides.push({ tcb: a, deadline: Infinity, inbox: [] });
  // B exists once A's SYN arrives (a listener's fresh TCB).
  let b: Tcb | undefined;
  sides.push({ tcb: a, deadline: Infinity, inbox: [] });
  a.connect(now);
  const data = new Uint8Array(opts.bytes).map((_, i) => (i * 31 + opts.seed) & 0xff);
  const got = [0, 0];
  const sent = [0, 0];
  const buf = new Uint8Array(1 << 16);
  const closed = [false, false];
  for (let step = 0; step < 20_000; step++) {
    if (opts.abortAt !== undefined && now >= opts.abortAt && a.state !== "CLOSED") {
      a.abort(now);
    }
    for (let k = 0; k < 2; k++) {
      const s = sides[k];
      const due = s.inbox.filter(([t]) => t <= now);
      s.inbox = s.inbox.filter(([t]) => t > now);
      for (const [, seg] of due) {
        if (k === 1 && b === undefined) {
          if (!(seg.flags & SYN)) continue;
          b = make(initOf(1));
          s.tcb = b;
          b.acceptSyn(seg, now);
          continue;
        }
        if (k === 1 && b === undefined) continue;
        s.tcb.handleSegment(seg, now);
      }
      const t = k === 1 ? b : a;
      if (t === undefined) continue;
      if (
        t.timers.retransmit <= now || t.timers.delayedAck <= now || t.timers.timeWait <= now ||
        t.timers.finWait2 <= now || t.timers.user <= now
      ) {
        t.handleTimeout(now);
      }
      const st = t.state;
      if (st === "ESTABLISHED" || st === "CLOSE-WAIT") {
        while (sent[k] < data.length && t.sendSpace > 0) {
          sent[k] += t.send(data.subarray(sent[k], Math.min(data.length, sent[k] + 700)), now);
        }
      }
      if (st !== "CLOSED") got[k] += t.readInto(buf, now);
      // A closes once it has everything; B when A's FIN came and its data is out.
      const ready = k === 0 ? got[0] === data.length : st === "CLOSE-WAIT";
      if (!closed[k] && sent[k] === data.length && ready && t.unread === 0) {
        closed[k] = true;
        t.close(now);
      }
    }
    if ((a.state === "CLOSED" || a.adopted) && (b === undefined || b.state === "CLOSED")) break;
    now += 1;
    // Jump over idle stretches (TIME-WAIT, backoff) straight to the next thing due.
    const next = Math.min(
      ...sides.flatMap((s) => s.inbox.map(([t]) => t)),
      ...[a, b].filter((t) => t !== undefined).map((t) => {
        const x = t!.timers;
        return Math.min(x.retransmit, x.delayedAck, x.timeWait, x.finWait2, x.user);
      }),
    );
    if (Number.isFinite(next) && next > now) now = next;
  }
  // Anything still open (an abort whose RST was lost) is aborted, so both are done.
  if (a.state !== "CLOSED" && !a.adopted) a.abort(now);
  if (b !== undefined && b.state !== "CLOSED") b.abort(now);
  trace.push(`got ${got.join("/")} of ${data.length}`);
  return trace;
}

const BASE = tcbOptions({ msl: 500, rtoInitial: 50, rtoMin: 20, maxRetries: 6 });

Deno.test("Tcb.reuse: a recycled TCB runs a connection exactly as a fresh one", () => {
  const pool: Tcb[] = [];
  // The earlier A serves as A again, or as B (and the earlier B as A).
  let swapped = false;
  const reuse = (init: TcbInit) => {
    const t = swapped ? pool.pop() : pool.shift();
    if (!t) return new Tcb(init);
    t.reuse(init);
    return t;
  };
  const keep = (init: TcbInit) => {
    const t = new Tcb(init);
    pool.push(t);
    return t;
  };
  // Earlier lives that leave every kind of state behind: another MSS, no timestamps
  // or window scaling, no congestion control, an abort with data in flight and out of
  // order, a long transfer with losses and backoff.
  // Each also with another id, port, ISS and timestamp offset; the last ends adopted
  // in TIME-WAIT instead of CLOSED.
  const earlier = [
    {
      seed: 11,
      options: tcbOptions({ ...BASE, mss: 536, timestamps: false, windowScale: undefined }),
      bytes: 5000,
    },
    {
      seed: 12,
      options: tcbOptions({ ...BASE, congestionControl: "none", rcvBuffer: 3000 }),
      bytes: 20_000,
      abortAt: 60,
    },
    { seed: 13, options: BASE, bytes: 30_000 },
    { seed: 14, options: tcbOptions({ ...BASE, windowScale: 2 }), bytes: 7000, adopt: true },
  ].map((e, k) => ({ ...e, id: 100 + 2 * k, port: 50000 + k, iss: 1000 * k, tsOffset: 77 * k }));
  for (const opts of [BASE, tcbOptions({ ...BASE, timestamps: false, mss: 700 })]) {
    for (const seed of [1, 2, 3]) {
      const fresh = run((init) => new Tcb(init), { seed, options: opts, bytes: 9000, id: 1 });
      for (const e of earlier) {
        for (const swap of [false, true]) {
          pool.length = 0;
          run(keep, e);
          equal(pool.length, 2);
          swapped = swap;
          const again = run(reuse, { seed, options: opts, bytes: 9000, id: 1 });
          deepStrictEqual(again, fresh, `seed ${seed} after seed ${e.seed}, swapped ${swap}`);
        }
      }
    }
  }
});

/** Everything a TCB shows from outside. */
function snapshot(t: Tcb): Record<string, unknown> {
  return {
    id: t.id,
    ports: [t.localPort, t.remotePort],
    state: t.state,
    passive: t.passive,
    adopted: t.adopted,
    orphaned: t.orphaned,
    closedReason: t.closedReason,
    send: [
      t.iss,
      t.sndUna,
      t.sndNxt,
      t.sndMax,
      t.sndWnd,
      t.sndWl1,
      t.sndWl2,
      t.maxSndWnd,
      t.sndMss,
    ],
    recv: [t.irs, t.rcvNxt, t.rcvWnd, t.rcvShift, t.windowField, t.unread],
    ts: [t.tsOk, t.tsRecent, t.tsRecentAge],
    queued: [t.sendQueued, t.sendSpace, t.bytesInFlight],
    retries: t.retries,
    timers: t.timers,
    counters: t.counters,
    cc: { ...t.cc, enabled: t.cc.enabled, sendWindow: t.cc.sendWindow },
    rto: { ...t.rto, current: t.rto.current },
  };
}

Deno.test("Tcb.reuse: every read-out equals a fresh TCB's, before and after connect", () => {
  const pool: Tcb[] = [];
  const keep = (init: TcbInit) => {
    const t = new Tcb(init);
    pool.push(t);
    return t;
  };
  const trace: string[] = [];
  // Other options than the earlier lives had: the reset must take them (rtoMax below rtoInitial shows in rto.current).
  const options = tcbOptions({
    ...BASE,
    mss: 1200,
    congestionControl: "none",
    rtoInitial: 2000,
    rtoMax: 900,
  });
  for (
    const [seed, abortAt, adopt] of [[21, undefined, false], [22, 40, false], [
      23,
      undefined,
      true,
    ]] as const
  ) {
    pool.length = 0;
    run(keep, {
      seed,
      options: BASE,
      bytes: 12_000,
      abortAt,
      adopt,
      id: 50,
      port: 1234,
      iss: 99,
      tsOffset: 3,
    });
    for (const old of pool) {
      const role = old.passive ? "B" : "A";
      const init: TcbInit = {
        id: 7,
        localPort: 2,
        remotePort: 3,
        iss: 0x80000000,
        tsOffset: 9,
        options,
        host: host(trace, "X", () => {}),
      };
      const fresh = new Tcb(init);
      old.reuse(init);
      deepStrictEqual(snapshot(old), snapshot(fresh), `seed ${seed}, ${role}`);
      fresh.connect(5);
      old.connect(5);
      deepStrictEqual(snapshot(old), snapshot(fresh), `seed ${seed}, ${role} after connect`);
    }
  }
});

Deno.test("Tcb.reuse: refuses a connection that is still live", () => {
  const trace: string[] = [];
  const init = (id: number): TcbInit => ({
    id,
    localPort: 1,
    remotePort: 2,
    iss: 0,
    tsOffset: 0,
    options: BASE,
    host: host(trace, "A", () => {}),
  });
  const t = new Tcb(init(1));
  t.connect(0);
  throws(() => t.reuse(init(2)), /reuse/);
  t.abort(1);
  t.reuse(init(2));
  equal(t.id, 2);
  equal(t.state, "CLOSED");
});
