/**
 * The compact TIME-WAIT table (storage only; the endpoint owns the protocol rules).
 *
 * A connection that enters TIME-WAIT (RFC 9293 §3.6) gives up its full TCB for a
 * record here: what an ACK from TIME-WAIT needs (SND.NXT, RCV.NXT, the window field
 * and its shift), what PAWS and SYN reopening need (TS.Recent, RFC 7323 §5, RFC 6191),
 * and the connection id that events name.
 *
 * **The log is the FIFO.** Every record waits the same `duration` (2·MSL), so deadline
 * order is arrival order. Records live in arrival order in a circular log
 * ({@link TimeWaitLog}); a record's index *is* its log slot. Insert appends at the
 * tail, expiry pops at the head (a sequential scan), the idle tick compares one cached
 * head deadline. A retransmitted FIN (RFC 9293 §3.10.7.4) copies the record to the tail
 * and marks the old slot dead; a removal marks the slot dead. Dead slots are skipped
 * when they reach the head (the head is always live), so no links are needed.
 *
 * Layout, all typed arrays, 30 B per log slot:
 *
 * | array  | type           | B  | content                                                   |
 * | ------ | -------------- | -- | --------------------------------------------------------- |
 * | rec    | Uint32 x 6     | 24 | address id (27 bits) \| window shift << 27 \| TS flag << 31, |
 * |        |                |    | local port << 16 \| remote port, SND.NXT, RCV.NXT,         |
 * |        |                |    | TS.Recent, connection id (one record, one or two lines)   |
 * | win    | Uint16         | 2  | the raw 16-bit window field                               |
 * | time   | Uint32 ({@link TimeWaitLog}) | 4 | ms of insert or restart from the log's epoch; all-ones: dead |
 * | index  | Int32, 2 per slot (pow2) | 8 | log slot \| fingerprint \| probe distance, load <= 0.5 |
 * |        |                |    | (21 + 4 + 7 bits at the default cap)                      |
 *
 * At 1e6 records (default cap 1 048 576, log grown to 2^20 slots): 30 x 1.049 + 8 x
 * 1.049 = 39.85 B per record all-in (38 B when the table is full at its cap). Linux's
 * `tcp_timewait_sock` is 248 B, FreeBSD's `tcptw` was 88 B; the previous linked-FIFO
 * table here was 54.5 B.
 *
 * The index is linear probing over a power-of-two Int32Array at load <= 0.5 with
 * backward-shift deletion (no tombstones, so churn never lengthens probes). A slot keeps
 * its entry's probe distance and a fingerprint of its key's hash beside the log slot,
 * the bits divided by the cap (7 and 4 at the default cap, 5 and 3 at the largest), so
 * a probe skips entries from other home slots and reads a record (at 1e6 records, a
 * cache miss) for 1 in 16 of the others only (1 in 8 at the largest cap).
 * The hash takes a seed (pass a random one, as Linux keys its `jhash`), so peers cannot
 * aim their ports at one cluster.
 *
 * **Locality.** The hash leaves the local port's two low bits out of its mix and
 * adds them back to the home slot: the records of local ports 4k..4k+3 towards one
 * remote address and port sit in one aligned block of 4 index slots (one cache line).
 * A client takes consecutive ports per destination (the endpoint's RFC 6056 port
 * selection), so at 1e6 records its connect-time check, its insert and the record's
 * eviction can share one cache miss among four connections instead of one each (with
 * 1e6 in TIME-WAIT, about 3 % more lifecycles per second in `bench/tools/slowdown.ts`).
 * The blocks collide more than single keys do, hence 7 bits of distance; 4 ports per
 * block rather than 16 keeps the distances short (at 16, a fifth of them were past 15
 * in the model of `bench/tools/index_sim.ts`), and 8 measured no better. (Buckets of 16
 * slots, one line, holding a destination's 16 ports with overflow to the next bucket,
 * measured worse: a bucket filled by one group overflows the next group that homes
 * there, about 2.3 buckets per probe and 1.3 per delete.)
 * A server's records, its own port fixed, spread as before.
 *
 * Records leave in log order, so the table knows which index lines the next
 * departures will touch: every 16 departures it reads those lines in one burst whose
 * cache misses overlap, instead of one stall per eviction or expiry (with 1e6 in
 * TIME-WAIT, 3-4 % more lifecycles per second: `bench/tools/slowdown.ts`).
 *
 * **Growth and dead slots.** Storage grows by doubling up to `capacity + max(1,
 * capacity / 256)` slots: a restart needs a free slot even when the table holds
 * `capacity` records. A dead slot costs memory until the head reaches it (up to
 * 2·MSL), so when the log is full:
 * - at the cap with "recycle-oldest", a restart recycles the oldest record (O(1)), as an
 *   insert does;
 * - with an eighth of the log dead, or the log at its largest, it is compacted: dead
 *   slots squeezed out, records kept in order and moved in runs (`copyWithin`), the
 *   index re-pointed in one sequential pass through a cache-sized bitmap of dead slots
 *   (no probe per record). About 25 ms for 2^20 slots on the machine of
 *   `bench/results`;
 * - otherwise the log doubles.
 *
 * So restart and remove are O(1) plus amortized compaction, `live / dead` record moves
 * per slot freed: nothing below half occupancy, ~0.6-1.1 us per restart at 1e6 live in
 * the default log (52k spare slots), ~6 us with the "skip" policy in a table full at its
 * cap (4096 spare slots), with a compaction pause every 52k or 4096 restarts. That is
 * the price of no links; the linked FIFO it replaced paid 12 B per record instead.
 *
 * **Indices after a restart.** {@link TimeWaitTable.restart} returns the record's new
 * index. Until the next change to the table (insert, restart, remove, expire, clear)
 * the old index still reads the same fields (the slot keeps its copy), and
 * `deadline`, `tsRecentAge` and the setters follow the record to its new slot, so
 * `restart(i, now); setTsRecent(i, ...); window(i)` works.
 *
 * **TS.Recent's age** is not stored: {@link TimeWaitTable.tsRecentAge} returns the time
 * the record was inserted or last restarted. TS.Recent is refreshed by the segment that
 * moves a connection into TIME-WAIT and by the FIN that restarts the record, and the
 * 24-day idle rule of PAWS (RFC 7323 §5.5) cannot matter to a record that lives 2·MSL.
 *
 * @example
 * ```ts
 * import { TimeWaitTable } from "./time_wait.ts";
 *
 * const tw = new TimeWaitTable({ duration: 60_000 });
 * const i = tw.insert({
 *   connId: 42, addrId: 1, localPort: 80, remotePort: 50_000, sndNxt: 1001, rcvNxt: 3001,
 *   window: 512, windowShift: 7, timestamps: true, tsRecent: 123_456, tsRecentAge: 0,
 * }, 0);
 * if (tw.lookup(1, 80, 50_000) !== i || tw.sndNxt(i) !== 1001) throw new Error("lookup");
 * const closed: number[] = [];
 * tw.expire(60_000, (j) => closed.push(tw.connId(j))); // 2·MSL later
 * if (closed.join() !== "42" || tw.size !== 0) throw new Error("expiry");
 * ```
 *
 * @module
 */

/** The fields a connection brings into TIME-WAIT. Reuse one object: nothing keeps it. */
export interface TimeWaitInit {
  /** Connection id, so events about this record name the connection. */
  connId: number;
  /**
   * Remote address, interned by the endpoint to a small non-negative integer
   * (below 2^27; a larger id is not stored: {@link TimeWaitTable.insert} returns -1).
   */
  addrId: number;
  localPort: number;
  remotePort: number;
  /** SND.NXT: the SEQ of every ACK sent from TIME-WAIT. */
  sndNxt: number;
  /** RCV.NXT: one past the peer's FIN. */
  rcvNxt: number;
  /** The raw 16-bit window field to advertise (already shifted right). */
  window: number;
  /** Our receive window scale shift (RFC 7323 §2), 0..14. */
  windowShift: number;
  /** Whether timestamps were negotiated; when false `tsRecent` is ignored. */
  timestamps: boolean;
  /** TS.Recent (RFC 7323 §4.3). */
  tsRecent: number;
  /**
   * When TS.Recent was recorded. Not stored: the record's insert time stands in for
   * it (see the module doc).
   */
  tsRecentAge: number;
}

/** What to do with a new record when the table holds `capacity` records. */
export type TimeWaitOverflow = "recycle-oldest" | "skip";

/** Options for {@link TimeWaitTable}. */
export interface TimeWaitOptions {
  /** The cap on records (default 1 048 576, as Linux's `tcp_max_tw_buckets` x 8). */
  capacity?: number;
  /** How long a record lives, ms: 2·MSL. */
  duration: number;
  /** Full-table policy: evict the oldest record (default, FreeBSD) or skip TIME-WAIT (Linux). */
  overflow?: TimeWaitOverflow;
  /** Log slots allocated up front (default 1024); storage doubles as needed. */
  initialSize?: number;
  /**
   * Seed mixed into the index hash (default 0). Pass a random 32-bit value (from the
   * endpoint's rng) so remote peers cannot predict which 4-tuples collide.
   */
  hashSeed?: number;
  /**
   * Called with the index of a record evicted by "recycle-oldest", while its fields are
   * still readable, so the endpoint can emit `closed` for that connection. It must not
   * modify the table (it throws if it tries).
   */
  onEvict?: (i: number) => void;
}

/** Counters since construction. */
export interface TimeWaitStats {
  inserted: number;
  expired: number;
  removed: number;
  recycled: number;
  /** Records not stored: full table with the "skip" policy, or an address id >= 2^27. */
  skipped: number;
  restarted: number;
  /** Largest number of records held at once. */
  peak: number;
}

/** Byte accounting of the table's typed arrays. */
export interface TimeWaitMemory {
  /** Record fields: 26 B per log slot. */
  recordBytes: number;
  /** The log's time array, which is the FIFO: 4 B per log slot. */
  fifoBytes: number;
  /** Open-addressing index. */
  indexBytes: number;
  totalBytes: number;
  /** Log slots allocated (>= size). */
  allocated: number;
  /** Log slots held by dead records (restarted or removed) not yet reclaimed. */
  dead: number;
  /** Index slots. */
  indexSlots: number;
}

// ---- the log ---------------------------------------------------------------------

/** `time` of a dead slot inside the log (a restarted or removed record). */
const DEAD = 0xffffffff;
/** A relative time at or past this rebases the epoch (times must stay below DEAD). */
const REBASE_AT = 0xf0000000;
/**
 * After a rebase the newest time is at most this. It exceeds any duration, so a record
 * whose time is clamped by a rebase was already due and still is.
 */
const REBASE_KEEP = 2 ** 31;
/** Where a slot moved to in a {@link TimeWaitLog.compact} or {@link TimeWaitLog.grow}. */
export type SlotMap = (slot: number) => number;

function sameSlot(slot: number): number {
  return slot;
}

/** Set bits in a 32-bit word. */
function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/**
 * Fills `dead` with the dead slots by offset from `head`, a word per 32 offsets
 * interleaved with the count of dead slots below that word: `[2w]` = dead below word
 * `w`, `[2w + 1]` = its bits (bit j: offset 32w + j is dead). One cache line answers
 * "dead below offset k", which a compaction asks for every index entry.
 */
function deadBitmap(time: Uint32Array, head: number, count: number, dead: Int32Array): void {
  const n = time.length;
  const words = (dead.length - 2) >>> 1;
  let p = head;
  let total = 0;
  for (let w = 0; w < words; w++) {
    let b = 0;
    const m = Math.min(32, count - (w << 5));
    for (let j = 0; j < m; j++) {
      if (time[p] === DEAD) b |= 1 << j;
      if (++p === n) p = 0;
    }
    dead[2 * w] = total;
    dead[2 * w + 1] = b;
    total += popcount(b);
  }
  dead[2 * words] = total;
}

function isDeadAt(dead: Int32Array, k: number): boolean {
  return ((dead[2 * (k >>> 5) + 1] >>> (k & 31)) & 1) !== 0;
}

/** Dead slots at offsets below `x` (x <= count). */
function deadBelow(dead: Int32Array, x: number): number {
  const w = x >>> 5;
  const i = 2 * w;
  return i + 1 < dead.length ? dead[i] + popcount(dead[i + 1] & ((1 << (x & 31)) - 1)) : dead[i];
}

/**
 * Where live slot `q` went in a compaction; `geo` is
 * `[slots, old head, offset kept (-1: none), dead below it + 1, dead below it]`.
 */
function compactedSlot(q: number, geo: Int32Array, dead: Int32Array): number {
  const n = geo[0];
  const h0 = geo[1];
  const ko = geo[2];
  let k = q - h0;
  if (k < 0) k += n;
  if (k === ko) return q;
  const i = 2 * (k >>> 5);
  const below = dead[i] + popcount(dead[i + 1] & ((1 << (k & 31)) - 1));
  // After the kept slot: back by the dead between; before it: forward by the dead
  // between (dead below k + 1 = below, as slot k is live).
  let t = k > ko ? k - below + geo[3] : k + geo[4] - below;
  t += h0;
  return t >= n ? t - n : t;
}

/**
 * Rewrites the slot (`mask` bits) of every non -1 element of `refs` after a compaction:
 * {@link compactedSlot} written out, scalars in registers (a call per element with the
 * geometry in an array ran 3-4x slower).
 */
function remapRefs(
  refs: Int32Array,
  mask: number,
  n: number,
  h0: number,
  ko: number,
  dLow: number,
  dKeep: number,
  dead: Int32Array,
): void {
  for (let s = 0; s < refs.length; s++) {
    const v = refs[s];
    if (v === -1) continue;
    const q = v & mask;
    let k = q - h0;
    if (k < 0) k += n;
    if (k === ko) continue;
    const i = (k >>> 5) << 1;
    let b = dead[i + 1] & ((1 << (k & 31)) - 1);
    b -= (b >>> 1) & 0x55555555;
    b = (b & 0x33333333) + ((b >>> 2) & 0x33333333);
    b = (b + (b >>> 4)) & 0x0f0f0f0f;
    const below = dead[i] + (Math.imul(b, 0x01010101) >>> 24);
    let t = k > ko ? k - below + dLow : k + dKeep - below;
    t += h0;
    if (t >= n) t -= n;
    if (t !== q) refs[s] = (v & ~mask) | t;
  }
}

/** Slots of the log's Float64Array. */
const HEAD_DL = 0;
const EPOCH = 1;
const TAIL_T = 2;

/**
 * A constant-duration timer log: slots in arrival order in a circular Uint32Array of
 * times, 4 B per slot. The FIFO of the TIME-WAIT table, usable on its own by any owner
 * that keeps per-slot data in parallel arrays (it reports every slot it moves).
 *
 * - {@link append} takes the tail slot, {@link kill} marks a slot dead (O(1); the head
 *   skips dead slots, so the head is always live), {@link popExpired} pops due slots
 *   at the head, and the idle tick ({@link due}) is one comparison. Owners with their
 *   own per-slot work run the expiry loop themselves from {@link limit},
 *   {@link dueHead}, {@link shiftDue} and {@link settle}, which inline into their loop:
 *   a callback per slot through one shared loop would turn polymorphic.
 * - Times are whole ms (rounded up, so a slot never fires early) relative to an epoch
 *   the log keeps; they never decrease along the log (an earlier `now` is raised to the
 *   tail's time) and are rebased before they reach 2^32, so any clock range works.
 * - When full, the owner calls {@link compact} or {@link grow}; both keep one chosen
 *   slot in place and report every other move.
 *
 * @example
 * ```ts
 * import { TimeWaitLog } from "./time_wait.ts";
 *
 * const log = new TimeWaitLog(60_000, 16);
 * const a = log.append(0);
 * const b = log.append(500);
 * log.kill(a); // a removed record: the head moves on to b
 * const fired: number[] = [];
 * log.popExpired(60_500, (p) => fired.push(p));
 * if (fired.join() !== String(b) || log.size !== 0) throw new Error("log order");
 * ```
 */
export class TimeWaitLog {
  /**
   * Per slot: ms from the epoch (rounded up), or DEAD for a dead slot inside the ring.
   * Slots outside the ring are free whatever they hold.
   */
  #time: Uint32Array;
  #n: number;
  /** Oldest slot; live whenever `#count > 0`. */
  #head = 0;
  /** Slots from the head to the tail, live and dead. */
  #count = 0;
  /** Dead slots among them. */
  #dead = 0;
  readonly #dur: number;
  /**
   * `[HEAD_DL]`: the head's deadline (Infinity when empty), for the idle tick;
   * `[EPOCH]`: ms that time 0 stands for; `[TAIL_T]`: the newest slot's time. In a
   * Float64Array, not fields: V8 boxes a double stored in an object field (~10 ns).
   */
  readonly #f = new Float64Array([Infinity, 0, 0]);

  /** A log of `slots` slots whose entries wait `duration` ms. */
  constructor(duration: number, slots = 1024) {
    if (!(duration >= 0 && duration < 2 ** 31)) {
      throw new RangeError(`Invalid TIME-WAIT duration "${duration}" ms`);
    }
    if (!(Number.isInteger(slots) && slots >= 1 && slots < DEAD)) {
      throw new RangeError(`Invalid TIME-WAIT log size "${slots}"`);
    }
    this.#dur = duration;
    this.#n = slots;
    this.#time = new Uint32Array(slots);
  }

  /** Slots allocated. */
  get capacity(): number {
    return this.#n;
  }

  /** Live slots. */
  get size(): number {
    return this.#count - this.#dead;
  }

  /** Slots in use, live and dead. */
  get used(): number {
    return this.#count;
  }

  /** Dead slots not yet reclaimed. */
  get dead(): number {
    return this.#dead;
  }

  /** Whether every slot is in use ({@link append} needs a free one). */
  get full(): boolean {
    return this.#count === this.#n;
  }

  /** The lifetime of an entry, ms. */
  get duration(): number {
    return this.#dur;
  }

  /** Bytes of the time array (4 per slot). */
  get byteLength(): number {
    return this.#time.byteLength;
  }

  /** The oldest live slot (next to expire), or -1 when empty. */
  head(): number {
    return this.#count === 0 ? -1 : this.#head;
  }

  /** Whether slot `p` is live. */
  has(p: number): boolean {
    const n = this.#n;
    if (!(p >= 0 && p < n) || (p | 0) !== p) return false;
    let k = p - this.#head;
    if (k < 0) k += n;
    return k < this.#count && this.#time[p] !== DEAD;
  }

  /** Whether live slot `p` is the newest slot. */
  isLast(p: number): boolean {
    let last = this.#head + this.#count - 1;
    if (last >= this.#n) last -= this.#n;
    return p === last;
  }

  /** The next live slot after `p` towards the tail, or -1. For walks in arrival order. */
  next(p: number): number {
    const n = this.#n;
    const time = this.#time;
    let k = p - this.#head;
    if (k < 0) k += n;
    for (k++; k < this.#count; k++) {
      if (++p === n) p = 0;
      if (time[p] !== DEAD) return p;
    }
    return -1;
  }

  /** The deadline of live slot `p`, ms (whole when `duration` is). */
  deadline(p: number): number {
    return this.#f[EPOCH] + this.#time[p] + this.#dur;
  }

  /** When live slot `p` was appended or retimed, ms (rounded up). */
  start(p: number): number {
    return this.#f[EPOCH] + this.#time[p];
  }

  /** The head's deadline, or Infinity when empty. */
  nextDeadline(): number {
    return this.#count === 0 ? Infinity : this.#f[EPOCH] + this.#time[this.#head] + this.#dur;
  }

  /**
   * The idle tick: whether anything may be due at `now`. One comparison with a cached
   * head deadline, which is exact except after {@link shiftDue} and before {@link settle},
   * when it is a lower bound (so this may say yes for nothing, never no for something).
   */
  due(now: number): boolean {
    return this.#f[HEAD_DL] <= now;
  }

  /** The time limit for {@link dueHead} at `now`: due slots have times `<= limit`. */
  limit(now: number): number {
    // Due: epoch + time + duration <= now, times being whole ms.
    return Math.floor(now - this.#f[EPOCH] - this.#dur);
  }

  /** The head slot if it is due by `limit` (from {@link limit}), else -1. */
  dueHead(limit: number): number {
    return this.#count > 0 && this.#time[this.#head] <= limit ? this.#head : -1;
  }

  /**
   * Pops the head slot (which must exist) and returns the new head if it is due by
   * `limit`, else -1. The head moves past dead slots, so the popped slot is free. For an
   * owner's expiry loop (read the slot between the two calls, then {@link settle}):
   *
   * ```ts ignore
   * const limit = log.limit(now);
   * for (let p = log.dueHead(limit); p >= 0; p = log.shiftDue(limit)) use(p);
   * log.settle();
   * ```
   */
  shiftDue(limit: number): number {
    const time = this.#time;
    const n = this.#n;
    let h = this.#head;
    let c = this.#count - 1;
    if (++h === n) h = 0;
    let t = time[h];
    if (t === DEAD && c > 0) {
      let d = this.#dead;
      do {
        if (++h === n) h = 0;
        c--;
        d--;
        t = time[h];
      } while (t === DEAD && c > 0);
      this.#dead = d;
    }
    this.#head = h;
    this.#count = c;
    return c > 0 && t <= limit ? h : -1;
  }

  /** Refreshes the cached head deadline after {@link shiftDue}. */
  settle(): void {
    const f = this.#f;
    f[HEAD_DL] = this.#count === 0 ? Infinity : f[EPOCH] + this.#time[this.#head] + this.#dur;
  }

  /** Takes the tail slot for an entry starting at `now` and returns it. Needs a free slot. */
  append(now: number): number {
    const c = this.#count;
    const n = this.#n;
    if (c === n) throw new RangeError("Cannot append to a full TIME-WAIT log");
    const f = this.#f;
    let p = this.#head + c;
    if (p >= n) p -= n;
    let t = 0;
    if (c === 0) {
      f[EPOCH] = Math.ceil(now);
      f[HEAD_DL] = f[EPOCH] + this.#dur;
    } else {
      t = Math.ceil(now) - f[EPOCH];
      if (t < f[TAIL_T]) t = f[TAIL_T];
      if (t >= REBASE_AT) t = this.#rebase(t);
    }
    this.#time[p] = t;
    f[TAIL_T] = t;
    this.#count = c + 1;
    return p;
  }

  /** Restarts the newest slot `p` at `now` in place (it stays the newest). */
  retime(p: number, now: number): void {
    const f = this.#f;
    let t = Math.ceil(now) - f[EPOCH];
    if (t < f[TAIL_T]) t = f[TAIL_T];
    if (t >= REBASE_AT) t = this.#rebase(t);
    this.#time[p] = t;
    f[TAIL_T] = t;
    if (p === this.#head) f[HEAD_DL] = f[EPOCH] + t + this.#dur;
  }

  /** Marks live slot `p` dead in O(1); the head moves past dead slots. */
  kill(p: number): void {
    this.#time[p] = DEAD;
    this.#dead++;
    if (p === this.#head) this.#skipDead();
  }

  /**
   * Pops every slot whose deadline is `<= now`, oldest first, calling `onExpire(p)`
   * while `p` is still live (it is dead when the callback returns). The callback must
   * not modify the log, and reads of its counts inside the callback see them as before
   * the call. Returns the number popped. With nothing due this is one comparison.
   */
  popExpired(now: number, onExpire: (p: number) => void): number {
    if (!(this.#f[HEAD_DL] <= now)) return 0;
    return this.#pop(now, onExpire);
  }

  /** Empties the log in O(1); the epoch restarts with the next append. */
  clear(): void {
    this.#head = 0;
    this.#count = 0;
    this.#dead = 0;
    this.#f[HEAD_DL] = Infinity;
    this.#f[TAIL_T] = 0;
  }

  /**
   * Squeezes every dead slot out, keeping arrival order. Live slot `keep` (or the head
   * when -1) stays where it is: later slots move back towards it, earlier ones forward.
   * Slots move in runs: `moveRun(src, dst, len)` asks the owner to move slots
   * `src .. src + len - 1` to `dst ..` (overlapping like `copyWithin`, never wrapping),
   * in an order where each run's destination is already free. Returns where each slot
   * that was live went (valid until the log next changes). An owner's index of slots
   * can be re-pointed in the same call, in one tight pass: every element of `refs` that
   * is not -1 holds a live slot in its `refMask` bits, which are rewritten.
   */
  compact(
    keep: number,
    moveRun: (src: number, dst: number, len: number) => void,
    refs?: Int32Array,
    refMask = -1,
  ): SlotMap {
    if (this.#dead === 0) return sameSlot;
    const n = this.#n;
    const h0 = this.#head;
    const count = this.#count;
    let ko = -1; // offset of `keep` from the head
    if (keep >= 0) {
      ko = keep - h0;
      if (ko < 0) ko += n;
    }
    // Dead slots by offset from the head (n / 4 bytes, small enough to stay in cache
    // while the index is re-pointed).
    const dead = new Int32Array(2 * ((count + 31) >>> 5) + 2);
    deadBitmap(this.#time, h0, count, dead);
    const dLow = deadBelow(dead, ko + 1);
    const dKeep = ko > 0 ? deadBelow(dead, ko) : 0;
    // After `keep`: runs move back (towards the head), the nearest first.
    for (let k = ko + 1; k < count;) {
      if (isDeadAt(dead, k)) {
        k++;
        continue;
      }
      let e = k + 1;
      while (e < count && !isDeadAt(dead, e)) e++;
      const shift = deadBelow(dead, k) - dLow;
      if (shift > 0) this.#moveRun(h0 + k, h0 + k - shift, e - k, false, moveRun);
      k = e;
    }
    // Before `keep`: runs move forward (towards it), the nearest first.
    for (let k = ko - 1; k >= 0;) {
      if (isDeadAt(dead, k)) {
        k--;
        continue;
      }
      let b = k - 1;
      while (b >= 0 && !isDeadAt(dead, b)) b--;
      const shift = dKeep - deadBelow(dead, k + 1);
      if (shift > 0) this.#moveRun(h0 + b + 1, h0 + b + 1 + shift, k - b, true, moveRun);
      k = b;
    }
    const head = h0 + dKeep;
    this.#head = head >= n ? head - n : head;
    this.#count = count - this.#dead;
    this.#dead = 0;
    const geo = new Int32Array([n, h0, ko, dLow, dKeep]);
    if (refs) remapRefs(refs, refMask, n, h0, ko, dLow, dKeep, dead);
    return (q: number): number => compactedSlot(q, geo, dead);
  }

  /**
   * Moves `len` slots from position `src` to `dst` (both taken modulo the size) in
   * chunks that do not wrap: from the front when moving back, from the end when moving
   * forward, so overlapping chunks copy like `copyWithin`.
   */
  #moveRun(
    src: number,
    dst: number,
    len: number,
    forward: boolean,
    moveRun: (src: number, dst: number, len: number) => void,
  ): void {
    const n = this.#n;
    const time = this.#time;
    src %= n;
    dst %= n;
    if (!forward) {
      while (len > 0) {
        const c = Math.min(len, n - src, n - dst);
        time.copyWithin(dst, src, src + c);
        moveRun(src, dst, c);
        src = src + c === n ? 0 : src + c;
        dst = dst + c === n ? 0 : dst + c;
        len -= c;
      }
      return;
    }
    // Forward: chunk from the end of the run.
    let se = (src + len) % n; // one past the run's end
    let de = (dst + len) % n;
    while (len > 0) {
      const c = Math.min(len, se === 0 ? n : se, de === 0 ? n : de);
      const s0 = (se === 0 ? n : se) - c;
      const d0 = (de === 0 ? n : de) - c;
      time.copyWithin(d0, s0, s0 + c);
      moveRun(s0, d0, c);
      se = s0;
      de = d0;
      len -= c;
    }
  }

  /**
   * Grows to `slots` slots. Live slot `keep` (or -1: any) keeps its position. The slots
   * in use are reported as runs `moveRun(src, dst, len)` from the old arrays to new
   * ones (which the owner allocates; kept runs too, as `src === dst`). Returns where
   * each slot went; `refs` and `refMask` re-point an owner's index as in
   * {@link compact}.
   */
  grow(
    slots: number,
    keep: number,
    moveRun: (src: number, dst: number, len: number) => void,
    refs?: Int32Array,
    refMask = -1,
  ): SlotMap {
    const n = this.#n;
    if (!(Number.isInteger(slots) && slots > n && slots < DEAD)) {
      throw new RangeError(`Invalid TIME-WAIT log size "${slots}"`);
    }
    const old = this.#time;
    const time = new Uint32Array(slots);
    const copy = (src: number, dst: number, len: number) => {
      if (len <= 0) return;
      time.set(old.subarray(src, src + len), dst);
      moveRun(src, dst, len);
    };
    const h = this.#head;
    const wrapped = h + this.#count - n; // slots used in [0, wrapped) after the wrap
    let map: SlotMap = sameSlot;
    if (wrapped > 0 && keep >= 0 && keep < h) {
      // Keep [0, wrapped) in place and move [h, n) up to the end of the new array.
      const shift = slots - n;
      copy(0, 0, wrapped);
      copy(h, h + shift, n - h);
      this.#head = h + shift;
      map = (p) => p >= h ? p + shift : p;
    } else if (wrapped > 0) {
      // Keep [h, n) in place; what wrapped continues at n (wrapping again if needed).
      copy(h, h, n - h);
      const first = Math.min(wrapped, slots - n);
      copy(0, n, first);
      copy(first, 0, wrapped - first);
      map = (p) => p >= h ? p : n + p < slots ? n + p : n + p - slots;
    } else {
      copy(h, h, this.#count);
    }
    this.#time = time;
    this.#n = slots;
    if (refs && map !== sameSlot) {
      for (let s = 0; s < refs.length; s++) {
        const v = refs[s];
        if (v === -1) continue;
        const q = v & refMask;
        const t = map(q);
        if (t !== q) refs[s] = (v & ~refMask) | t;
      }
    }
    return map;
  }

  /**
   * Checks the log's invariants in O(slots) and returns its counts; throws on a
   * violation. For tests and debugging.
   */
  audit(): { live: number; dead: number; free: number } {
    const time = this.#time;
    const n = this.#n;
    const f = this.#f;
    let live = 0;
    let dead = 0;
    let last = -1;
    let p = this.#head;
    for (let k = 0; k < this.#count; k++) {
      const t = time[p];
      if (t === DEAD) {
        if (k === 0) throw new Error(`TIME-WAIT log head ${p} is dead`);
        dead++;
      } else {
        if (t < last) throw new Error(`TIME-WAIT log out of order at slot ${p}`);
        last = t;
        live++;
      }
      if (++p === n) p = 0;
    }
    if (dead !== this.#dead) {
      throw new Error(`TIME-WAIT log counts ${this.#dead} dead, holds ${dead}`);
    }
    const want = this.#count === 0 ? Infinity : f[EPOCH] + time[this.#head] + this.#dur;
    if (f[HEAD_DL] !== want) {
      throw new Error(`TIME-WAIT log caches head deadline ${f[HEAD_DL]}, not ${want}`);
    }
    if (this.#count > 0 && f[TAIL_T] < last) throw new Error("TIME-WAIT log tail time behind");
    return { live, dead, free: n - this.#count };
  }

  #skipDead(): void {
    const time = this.#time;
    const n = this.#n;
    let h = this.#head;
    let c = this.#count;
    let d = this.#dead;
    while (c > 0 && time[h] === DEAD) {
      if (++h === n) h = 0;
      c--;
      d--;
    }
    this.#head = h;
    this.#count = c;
    this.#dead = d;
    const f = this.#f;
    f[HEAD_DL] = c === 0 ? Infinity : f[EPOCH] + time[h] + this.#dur;
  }

  #pop(now: number, onExpire: (p: number) => void): number {
    const limit = this.limit(now);
    const time = this.#time;
    const n = this.#n;
    // The head and the counts live in locals for the loop and are stored once at the
    // end (a field store per slot was most of the cost); a throwing callback leaves its
    // slot at the head, live.
    let h = this.#head;
    let c = this.#count;
    let d = this.#dead;
    let fired = 0;
    try {
      while (c > 0) {
        const t = time[h];
        if (t === DEAD) {
          d--;
        } else {
          if (t > limit) break;
          onExpire(h);
          fired++;
        }
        c--;
        if (++h === n) h = 0;
      }
    } finally {
      this.#head = h;
      this.#count = c;
      this.#dead = d;
      this.settle();
    }
    return fired;
  }

  /**
   * Moves the epoch forward so the new time `t` fits: by the head's time when that is
   * enough, else further, clamping older times to 0 (such entries were due long ago,
   * and stay due). Returns `t` relative to the new epoch.
   */
  #rebase(t: number): number {
    const time = this.#time;
    const f = this.#f;
    const n = this.#n;
    const delta = Math.max(time[this.#head], t - REBASE_KEEP);
    let p = this.#head;
    for (let k = 0; k < this.#count; k++) {
      const v = time[p];
      if (v !== DEAD) time[p] = v > delta ? v - delta : 0;
      if (++p === n) p = 0;
    }
    f[EPOCH] += delta;
    f[TAIL_T] = f[TAIL_T] > delta ? f[TAIL_T] - delta : 0;
    f[HEAD_DL] = f[EPOCH] + time[this.#head] + this.#dur;
    return t - delta;
  }
}

// ---- the table -------------------------------------------------------------------

/** u32 words per record in `rec`. */
const REC = 6;
const R_ADDR = 0;
const R_PORTS = 1;
const R_SND = 2;
const R_RCV = 3;
const R_TS = 4;
const R_CONN = 5;
/** Address id bits of the address word; the window shift and the TS flag sit above. */
const ADDR_MASK = (1 << 27) - 1;
const SHIFT_OFFSET = 27;
/** Set when timestamps were negotiated (RFC 7323); TS.Recent is meaningless otherwise. */
const TS_FLAG = 1 << 31;
/** Index slot value of an empty slot. */
const EMPTY = -1;
/**
 * The largest cap: its log (cap + cap/256 slots) keeps every slot below 2^24 - 1, so
 * the log slot leaves 8 bits of an index entry to the fingerprint and the distance
 * ({@link indexFields}).
 */
const MAX_CAPACITY = 0xff0000;
/**
 * Records whose index lines one {@link TimeWaitTable.#warm} pulls into cache. 16, 32
 * and 64 measured alike with `bench/tools/slowdown.ts` (8: about half the gain).
 */
const WARM = 16;
/**
 * Index slots from which {@link TimeWaitTable.#warm} runs: 1 MiB of index, past the
 * private (L2) cache of common x86 cores. Below it the index stays cached and warming
 * would cost a hash per departure for nothing.
 */
const WARM_FROM = 1 << 18;
/** The local-port bits that choose a slot within a block of 4 (one block, 4 ports). */
const GROUP_MASK = 3;

/**
 * How the 32 bits of an index entry divide for a log of at most `slots` slots: the log
 * slot in the low bits, as many as it needs (21 at the default cap); then a fingerprint
 * of the key's hash, 3 to 8 bits (a probe reads a record, at 1e6 records a likely cache
 * miss, only when it matches); then the probe distance in the rest, 5 bits or more
 * (the largest value meaning "that or more: read the record to know"). At the default
 * cap: 21 + 4 + 7. The same 3 + 5 at every cap had cost the engine's rig about 0.5 record
 * reads per connection at 1e6 records (0.33 on fingerprint matches, 0.16 on saturated
 * distances); 4 + 7 cost 0.05.
 */
function indexFields(slots: number): { slotBits: number; fpBits: number } {
  const slotBits = 32 - Math.clz32(slots); // every slot < 2^slotBits - 1: no entry is EMPTY
  const rest = 32 - slotBits;
  return { slotBits, fpBits: Math.min(8, Math.max(3, rest - 7)) };
}

/** Log slots for a cap: room for one restart even when `cap` records are held. */
function maxSlots(cap: number): number {
  return cap + Math.max(1, cap >>> 8);
}

/**
 * Integer hash of the (address id, ports) key: a multiplicative mix of the two words
 * and the seed, then the murmur3 finalizer, so small address ids and sequential remote
 * ports spread over all slots. The local port's low {@link GROUP_MASK} bits stay out
 * of the mix and are XORed into the result's low bits: a destination's four ports
 * 4k..4k+3 get four distinct home slots in one aligned block (see "Locality" above).
 * Not a cryptographic defence; a seed only makes collisions hard to aim.
 */
function hashKey(addr: number, ports: number, seed: number): number {
  let h = Math.imul(addr ^ seed, 0x9e3779b1) ^ (ports & ~(GROUP_MASK << 16));
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16) ^ ((ports >>> 16) & GROUP_MASK);
}

/**
 * The index slot the table's hash gives a 4-tuple in an index of `slots` (a power of
 * two) slots. Exposed for tests that need colliding keys; not needed by callers.
 */
export function timeWaitHome(
  addrId: number,
  localPort: number,
  remotePort: number,
  slots: number,
  seed = 0,
): number {
  const ports = (((localPort & 0xffff) << 16) | (remotePort & 0xffff)) >>> 0;
  return hashKey(addrId >>> 0, ports, seed | 0) & (slots - 1);
}

function nextPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/**
 * The TIME-WAIT table: compact records found by 4-tuple, expiring in arrival order.
 *
 * A record's index is its log slot: stable until the record is restarted (which moves
 * it to the tail and returns the new index) or the log is compacted or grown by an
 * insert or restart. Hold indices only between calls that change the table.
 */
export class TimeWaitTable {
  readonly #cap: number;
  readonly #maxSlots: number;
  readonly #recycle: boolean;
  readonly #onEvict: ((i: number) => void) | undefined;
  readonly #seed: number;
  readonly #stats: TimeWaitStats = {
    inserted: 0,
    expired: 0,
    removed: 0,
    recycled: 0,
    skipped: 0,
    restarted: 0,
    peak: 0,
  };

  readonly #log: TimeWaitLog;
  /** {@link REC} words per log slot. */
  #rec: Uint32Array;
  #win: Uint16Array;
  #index: Int32Array;
  #mask: number;
  /** Probe distance of the empty index slot the last {@link #probe} found. */
  #dist = 0;
  /** The fingerprint of the key `#scan` looked for last. */
  #fp = 0;
  /** The home slot of the key `#scan` looked for last. */
  #home = 0;
  /** The slot the last {@link #unindex} left empty. */
  #hole = 0;
  /** Index entry fields, sized to the cap (see {@link indexFields}). */
  readonly #slotMask: number;
  readonly #fpShift: number;
  readonly #fpMask: number;
  readonly #fpFrom: number;
  readonly #distShift: number;
  readonly #distSat: number;
  /** Set while a callback runs: changes to the table then throw. */
  #busy = false;
  /** Departures (evictions, expiries) left before the next {@link #warm}. */
  #warmLeft = 0;
  /** What {@link #warm} read, kept so the compiler keeps the reads. */
  #warmSink = 0;

  /** Creates an empty table; see {@link TimeWaitOptions}. */
  constructor(options: TimeWaitOptions) {
    const cap = options.capacity ?? 1_048_576;
    if (!(Number.isInteger(cap) && cap >= 1 && cap <= MAX_CAPACITY)) {
      throw new RangeError(`Invalid TIME-WAIT capacity "${cap}"`);
    }
    this.#cap = cap;
    this.#maxSlots = maxSlots(cap);
    const f = indexFields(this.#maxSlots);
    this.#slotMask = (1 << f.slotBits) - 1;
    this.#fpShift = f.slotBits;
    this.#fpMask = (1 << f.fpBits) - 1;
    this.#fpFrom = 32 - f.fpBits;
    this.#distShift = f.slotBits + f.fpBits;
    this.#distSat = 2 ** (32 - this.#distShift) - 1;
    this.#recycle = (options.overflow ?? "recycle-oldest") === "recycle-oldest";
    this.#onEvict = options.onEvict;
    this.#seed = (options.hashSeed ?? 0) | 0;
    const n = Math.min(Math.max(1, Math.floor(options.initialSize ?? 1024)), this.#maxSlots);
    this.#log = new TimeWaitLog(options.duration, n);
    this.#rec = new Uint32Array(n * REC);
    this.#win = new Uint16Array(n);
    this.#index = new Int32Array(this.#indexSize(n)).fill(EMPTY);
    this.#mask = this.#index.length - 1;
  }

  /** Records held. */
  get size(): number {
    return this.#log.size;
  }

  /** The cap on records. */
  get capacity(): number {
    return this.#cap;
  }

  /** The lifetime of a record, ms (2·MSL). */
  get duration(): number {
    return this.#log.duration;
  }

  /** Counters (a live object, updated in place). */
  get stats(): Readonly<TimeWaitStats> {
    return this.#stats;
  }

  /**
   * Stores a record for a connection entering TIME-WAIT at `now` and returns its index.
   * When the table is full, "recycle-oldest" evicts the oldest record first (reported
   * through `onEvict`, counted in `stats.recycled`), and "skip" stores nothing and
   * returns -1 (`stats.skipped`): the caller then closes without TIME-WAIT. An address
   * id of 2^27 or more is not stored either (-1, `stats.skipped`).
   * Throws if the 4-tuple is already present (the endpoint removes it on reopen).
   */
  insert(rec: TimeWaitInit, now: number): number {
    this.#notBusy();
    const addr = rec.addrId >>> 0;
    if (addr > ADDR_MASK) {
      this.#stats.skipped++;
      return -1;
    }
    const ports = (((rec.localPort & 0xffff) << 16) | (rec.remotePort & 0xffff)) >>> 0;
    let s = this.#probe(addr, ports);
    let fp = this.#fp;
    let dist = this.#dist;
    const log = this.#log;
    if (log.size >= this.#cap) {
      if (!this.#recycle) {
        this.#stats.skipped++;
        return -1;
      }
      const home = this.#home;
      this.#evictOldest();
      // The eviction's backward shift leaves one slot empty, where it ended. Only when
      // that slot lies on this key's probe run, between its home and `s`, must the key
      // probe again: elsewhere the run and `s` are as they were.
      const mask = this.#mask;
      if (((this.#hole - home) & mask) < ((s - home) & mask)) {
        s = this.#probe(addr, ports);
        fp = this.#fp;
        dist = this.#dist;
      }
    } else if (log.full) {
      this.#makeRoom(-1);
      s = this.#probe(addr, ports); // growth rebuilt the index
      fp = this.#fp;
      dist = this.#dist;
    }
    const p = log.append(now);
    const r = this.#rec;
    const b = p * REC;
    const shift = (rec.windowShift & 15) << SHIFT_OFFSET;
    if (rec.timestamps) {
      r[b + R_ADDR] = addr | shift | TS_FLAG;
      r[b + R_TS] = rec.tsRecent;
    } else {
      r[b + R_ADDR] = addr | shift;
      r[b + R_TS] = 0;
    }
    r[b + R_PORTS] = ports;
    r[b + R_SND] = rec.sndNxt;
    r[b + R_RCV] = rec.rcvNxt;
    r[b + R_CONN] = rec.connId;
    this.#win[p] = rec.window;
    this.#index[s] = this.#entry(p, fp, dist);
    const stats = this.#stats;
    stats.inserted++;
    const size = log.size;
    if (size > stats.peak) stats.peak = size;
    return p;
  }

  /** The index of the record for this 4-tuple, or -1. */
  lookup(addrId: number, localPort: number, remotePort: number): number {
    const ports = (((localPort & 0xffff) << 16) | (remotePort & 0xffff)) >>> 0;
    const found = this.#scan(addrId >>> 0, ports);
    return found >= 0 ? found : -1;
  }

  /** Whether `i` holds a live record. */
  has(i: number): boolean {
    return this.#log.has(i);
  }

  /**
   * Restarts the 2·MSL timer of record `i` at `now` (RFC 9293 §3.10.7.4: a
   * retransmitted FIN in TIME-WAIT is acknowledged and the timeout restarted): the
   * record moves to the tail of the log. Returns its new index; `i` keeps reading the
   * record until the table next changes (see the module doc).
   */
  restart(i: number, now: number): number {
    this.#notBusy();
    const log = this.#log;
    if (!log.has(i)) throw new Error(`TIME-WAIT record ${i} is not live`);
    this.#stats.restarted++;
    if (log.isLast(i)) {
      log.retime(i, now);
      return i;
    }
    // Free a slot first if the log is full; `i` keeps its slot through compaction or
    // growth, so the copy left behind stays readable through the old index.
    if (log.full && i !== log.head()) this.#makeRoom(i);
    log.kill(i);
    const j = log.append(now); // === i when the log was full and i was the head
    if (j !== i) {
      this.#copy(i, j);
      this.#repoint(i, j);
    }
    return j;
  }

  /** Removes record `i` (SYN reopening, RST with RFC 1337 off, abort). */
  remove(i: number): void {
    this.#notBusy();
    const log = this.#log;
    if (!log.has(i)) throw new Error(`TIME-WAIT record ${i} is not live`);
    this.#unindex(i);
    log.kill(i);
    this.#stats.removed++;
  }

  /**
   * Removes every record whose deadline is `<= now`, oldest first, calling
   * `onExpire(i)` while the record is still readable (it is gone when the callback
   * returns; the callback must not change the table). Returns the number expired. With
   * nothing due this is one comparison.
   */
  expire(now: number, onExpire: (i: number) => void): number {
    // The idle tick: one comparison, small enough to inline into the driver's loop.
    if (!this.#log.due(now)) return 0;
    return this.#expire(now, onExpire);
  }

  #expire(now: number, onExpire: (i: number) => void): number {
    this.#notBusy();
    const log = this.#log;
    const limit = log.limit(now);
    let expired = 0;
    let warmLeft = this.#warmLeft; // a local: the callback keeps a field out of registers
    this.#busy = true;
    try {
      // The log's primitives inline here: no per-record call but the user's.
      for (let i = log.dueHead(limit); i >= 0; i = log.shiftDue(limit)) {
        if (--warmLeft <= 0) {
          this.#warm();
          warmLeft = this.#warmLeft;
        }
        onExpire(i);
        this.#unindex(i); // after the callback: a throwing callback leaves the record whole
        expired++;
      }
    } finally {
      this.#warmLeft = warmLeft;
      this.#busy = false;
      log.settle();
      this.#stats.expired += expired;
    }
    return expired;
  }

  /** The earliest deadline (ms), or Infinity when empty. */
  nextDeadline(): number {
    return this.#log.nextDeadline();
  }

  /** The oldest record (next to expire), or -1. */
  oldest(): number {
    return this.#log.head();
  }

  /**
   * The record of connection `connId`, or -1. A scan in arrival order, O(size): for
   * tests and UIs, not for a per-segment path (those look up by 4-tuple).
   */
  findConn(connId: number): number {
    const want = connId >>> 0;
    const log = this.#log;
    const r = this.#rec;
    for (let i = log.head(); i !== -1; i = log.next(i)) if (r[i * REC + R_CONN] === want) return i;
    return -1;
  }

  /** Calls `fn(i)` for every record, oldest first. `fn` must not change the table. */
  forEach(fn: (i: number) => void): void {
    this.#notBusy();
    const log = this.#log;
    this.#busy = true;
    try {
      for (let i = log.head(); i !== -1; i = log.next(i)) fn(i);
    } finally {
      this.#busy = false;
    }
  }

  /** Removes every record without callbacks (counted as removed). Keeps the storage. */
  clear(): void {
    this.#notBusy();
    this.#stats.removed += this.#log.size;
    this.#log.clear();
    this.#index.fill(EMPTY);
  }

  // ---- fields ---------------------------------------------------------------

  /** Remote address id of record `i`. */
  addrId(i: number): number {
    return this.#rec[i * REC + R_ADDR] & ADDR_MASK;
  }
  /** Local port of record `i`. */
  localPort(i: number): number {
    return this.#rec[i * REC + R_PORTS] >>> 16;
  }
  /** Remote port of record `i`. */
  remotePort(i: number): number {
    return this.#rec[i * REC + R_PORTS] & 0xffff;
  }
  /** Connection id of record `i`. */
  connId(i: number): number {
    return this.#rec[i * REC + R_CONN];
  }
  /** SND.NXT of record `i`. */
  sndNxt(i: number): number {
    return this.#rec[i * REC + R_SND];
  }
  /** RCV.NXT of record `i`. */
  rcvNxt(i: number): number {
    return this.#rec[i * REC + R_RCV];
  }
  /** The raw 16-bit window field to advertise from record `i`. */
  window(i: number): number {
    return this.#win[i];
  }
  /** The receive window shift of record `i`. */
  windowShift(i: number): number {
    return (this.#rec[i * REC + R_ADDR] >>> SHIFT_OFFSET) & 15;
  }
  /** Whether record `i` negotiated timestamps (PAWS applies, RFC 7323 §5). */
  hasTimestamps(i: number): boolean {
    return (this.#rec[i * REC + R_ADDR] & TS_FLAG) !== 0;
  }
  /** TS.Recent of record `i` (0 without timestamps). */
  tsRecent(i: number): number {
    return this.#rec[i * REC + R_TS];
  }
  /**
   * When TS.Recent of record `i` was last refreshed, as far as the table knows: the
   * time the record was inserted or last restarted, ms modulo 2^32 (0 without
   * timestamps). Its idle time is `((now >>> 0) - tsRecentAge(i)) >>> 0`.
   */
  tsRecentAge(i: number): number {
    if (!this.hasTimestamps(i)) return 0;
    const j = this.#follow(i);
    return j < 0 ? 0 : this.#log.start(j) >>> 0;
  }
  /** The expiry time of record `i`, ms (NaN when `i` names no record). */
  deadline(i: number): number {
    const j = this.#follow(i);
    return j < 0 ? NaN : this.#log.deadline(j);
  }
  /** Sets SND.NXT of record `i`. */
  setSndNxt(i: number, value: number): void {
    this.#set(i, R_SND, value);
  }
  /** Sets RCV.NXT of record `i`. */
  setRcvNxt(i: number, value: number): void {
    this.#set(i, R_RCV, value);
  }
  /**
   * Records a new TS.Recent for record `i` (RFC 7323 §4.3). `now` is not stored: the
   * record's restart time stands in for TS.Recent's age.
   */
  setTsRecent(i: number, tsVal: number, _now: number): void {
    const r = this.#rec;
    const j = this.#follow(i);
    r[i * REC + R_TS] = tsVal;
    r[i * REC + R_ADDR] |= TS_FLAG;
    if (j >= 0 && j !== i) {
      r[j * REC + R_TS] = tsVal;
      r[j * REC + R_ADDR] |= TS_FLAG;
    }
  }

  // ---- memory and audit --------------------------------------------------------

  /** Byte accounting of every typed array the table holds. */
  memory(): TimeWaitMemory {
    const recordBytes = this.#rec.byteLength + this.#win.byteLength;
    const fifoBytes = this.#log.byteLength;
    const indexBytes = this.#index.byteLength;
    return {
      recordBytes,
      fifoBytes,
      indexBytes,
      totalBytes: recordBytes + fifoBytes + indexBytes,
      allocated: this.#log.capacity,
      dead: this.#log.dead,
      indexSlots: this.#index.length,
    };
  }

  /**
   * Bytes of typed arrays per record held (records, log and index, including the
   * slack of doubling, of dead slots and of the index's load factor). NaN when empty.
   */
  bytesPerEntry(): number {
    return this.memory().totalBytes / this.#log.size;
  }

  /**
   * Checks every internal invariant in O(slots) and returns the counts; throws on a
   * violation. `linked` is the records in the log (= live). For tests and debugging.
   */
  audit(): { live: number; dead: number; free: number; indexed: number; linked: number } {
    const { live, dead, free } = this.#log.audit();
    let indexed = 0;
    const index = this.#index;
    const r = this.#rec;
    for (let s = 0; s < index.length; s++) {
      const v = index[s];
      if (v === EMPTY) continue;
      indexed++;
      const p = v & this.#slotMask;
      if (!this.#log.has(p)) throw new Error(`Index slot ${s} names dead record ${p}`);
      const b = p * REC;
      const h = hashKey(r[b + R_ADDR] & ADDR_MASK, r[b + R_PORTS], this.#seed);
      const dist = (s - (h & this.#mask)) & this.#mask;
      if ((v >>> this.#distShift) !== Math.min(dist, this.#distSat)) {
        throw new Error(`Index slot ${s} holds distance ${v >>> this.#distShift}, not ${dist}`);
      }
      const fp = h >>> this.#fpFrom;
      const has = (v >>> this.#fpShift) & this.#fpMask;
      if (has !== fp) {
        throw new Error(
          `Index slot ${s} holds fingerprint ${has}, not ${fp}`,
        );
      }
      if (this.lookup(this.addrId(p), this.localPort(p), this.remotePort(p)) !== p) {
        throw new Error(`Record ${p} is unreachable from its home slot`);
      }
    }
    if (indexed !== live || live !== this.size) {
      throw new Error(
        `TIME-WAIT counts disagree: size ${this.size}, indexed ${indexed}, live ${live}`,
      );
    }
    return { live, dead, free, indexed, linked: live };
  }

  // ---- internals -------------------------------------------------------------

  #notBusy(): void {
    if (this.#busy) throw new Error("Cannot change the TIME-WAIT table from its own callback");
  }

  /** Index slots for `slots` log slots: load <= 0.5 at the most records they can hold. */
  #indexSize(slots: number): number {
    return nextPow2(2 * Math.min(slots, this.#cap));
  }

  /**
   * The live slot holding the record that slot `i` holds or held before a restart
   * moved it (same 4-tuple and connection id), or -1.
   */
  #follow(i: number): number {
    const log = this.#log;
    if (log.has(i)) return i;
    const r = this.#rec;
    const b = i * REC;
    if (!(b >= 0 && b < r.length)) return -1;
    const ports = r[b + R_PORTS];
    const j = this.lookup(r[b + R_ADDR] & ADDR_MASK, ports >>> 16, ports & 0xffff);
    return j >= 0 && r[j * REC + R_CONN] === r[b + R_CONN] ? j : -1;
  }

  /** Writes word `w` of record `i`, and of the slot it moved to if it was restarted. */
  #set(i: number, w: number, value: number): void {
    const j = this.#follow(i);
    this.#rec[i * REC + w] = value;
    if (j >= 0 && j !== i) this.#rec[j * REC + w] = value;
  }

  /**
   * Finds the empty index slot for a new key and returns it (its probe distance in
   * `#dist`); throws if the key is present.
   */
  #probe(addr: number, ports: number): number {
    const found = this.#scan(addr, ports);
    if (found >= 0) {
      throw new Error(
        `Cannot insert TIME-WAIT record: 4-tuple "${addr}:${ports >>> 16}:${
          ports & 0xffff
        }" is already present`,
      );
    }
    return ~found;
  }

  /**
   * Walks the key's probe run: returns the record's index when the key is present,
   * else `~slot` of the empty index slot that ends the run (its probe distance in
   * `#dist`).
   */
  #scan(addr: number, ports: number): number {
    const index = this.#index;
    const mask = this.#mask;
    const r = this.#rec;
    const slotMask = this.#slotMask;
    const fpShift = this.#fpShift;
    const fpMask = this.#fpMask;
    const distShift = this.#distShift;
    const sat = this.#distSat;
    const h = hashKey(addr, ports, this.#seed);
    const fp = h >>> this.#fpFrom;
    let s = h & mask;
    let d = 0;
    for (let v = index[s]; v !== EMPTY; v = index[s]) {
      const vd = v >>> distShift;
      // Only an entry with our home slot (same probe distance here) and our fingerprint
      // can be ours: only then is its record read.
      if (((v >>> fpShift) & fpMask) === fp && (vd === d || vd === sat)) {
        const p = v & slotMask;
        const b = p * REC;
        if (r[b + R_PORTS] === ports && (r[b + R_ADDR] & ADDR_MASK) === addr) return p;
      }
      s = (s + 1) & mask;
      if (d < sat) d++;
    }
    this.#dist = d;
    this.#fp = fp;
    this.#home = h & mask;
    return ~s;
  }

  #evictOldest(): void {
    const log = this.#log;
    const i = log.head();
    if (--this.#warmLeft <= 0) this.#warm();
    if (this.#onEvict) {
      this.#busy = true;
      try {
        this.#onEvict(i);
      } finally {
        this.#busy = false;
      }
    }
    this.#unindex(i);
    log.kill(i);
    this.#stats.recycled++;
  }

  /**
   * Pulls into cache the index lines of the next {@link WARM} records to leave: the
   * oldest, at the head of the log, which evictions and expiries take in order. At 1e6
   * records the index (8 MiB) is out of cache, and each departure's `#unindex` would
   * stall on a miss to DRAM; loads issued back to back, none waiting for another,
   * overlap in the CPU's memory pipeline, so WARM of them cost about what one does.
   * Reads only: any slot it reads (even a dead one) is harmless to read.
   */
  #warm(): void {
    const index = this.#index;
    if (index.length < WARM_FROM) {
      // A small index stays in cache: nothing to gain. `#makeRoom` resets the count
      // when it builds a larger one.
      this.#warmLeft = 0x3fffffff; // a small integer field stays unboxed
      return;
    }
    this.#warmLeft = WARM;
    const log = this.#log;
    const n = log.capacity;
    const r = this.#rec;
    const mask = this.#mask;
    const seed = this.#seed;
    const m = Math.min(WARM, log.used);
    let p = log.head();
    let x = 0;
    for (let k = 0; k < m; k++) {
      const b = p * REC;
      x ^= index[hashKey(r[b + R_ADDR] & ADDR_MASK, r[b + R_PORTS], seed) & mask];
      if (++p === n) p = 0;
    }
    this.#warmSink = x;
  }

  /** The index slot whose entry names log slot `p` (the record at `p` gives the key). */
  #find(p: number): number {
    const index = this.#index;
    const mask = this.#mask;
    const r = this.#rec;
    const b = p * REC;
    let s = hashKey(r[b + R_ADDR] & ADDR_MASK, r[b + R_PORTS], this.#seed) & mask;
    const slotMask = this.#slotMask;
    for (let v = index[s]; (v & slotMask) !== p || v === EMPTY; v = index[s]) {
      if (v === EMPTY) throw new Error(`TIME-WAIT record ${p} is not indexed`);
      s = (s + 1) & mask;
    }
    return s;
  }

  /** The index entry naming log slot `p` (see {@link indexFields}). */
  #entry(p: number, fp: number, dist: number): number {
    return p | (fp << this.#fpShift) | (dist << this.#distShift);
  }

  /** Re-points the index entry of the record at `src` to `dst` (same key). */
  #repoint(src: number, dst: number): void {
    const s = this.#find(src);
    this.#index[s] = (this.#index[s] & ~this.#slotMask) | dst;
  }

  /** Deletes the index entry of record `p` with a backward shift (no tombstones). */
  #unindex(p: number): void {
    const index = this.#index;
    const mask = this.#mask;
    const r = this.#rec;
    const distShift = this.#distShift;
    const sat = this.#distSat;
    const belowDist = (1 << distShift) - 1;
    let hole = this.#find(p);
    // Pull back each later cluster member that may sit at the hole (its home is not
    // in (hole, j]), i.e. whose probe distance reaches back to the hole.
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const v = index[j];
      if (v === EMPTY) break;
      let dist = v >>> distShift;
      if (dist === sat) {
        const b = (v & this.#slotMask) * REC;
        dist = (j - (hashKey(r[b + R_ADDR] & ADDR_MASK, r[b + R_PORTS], this.#seed) & mask)) &
          mask;
      }
      const back = (j - hole) & mask;
      if (dist >= back) {
        const nd = dist - back;
        index[hole] = (v & belowDist) | ((nd < sat ? nd : sat) << distShift);
        hole = j;
      }
    }
    index[hole] = EMPTY;
    this.#hole = hole;
  }

  /** Copies record `src` over slot `dst` (the index is the caller's business). */
  #copy(src: number, dst: number): void {
    const r = this.#rec;
    const a = src * REC;
    const b = dst * REC;
    r[b] = r[a];
    r[b + 1] = r[a + 1];
    r[b + 2] = r[a + 2];
    r[b + 3] = r[a + 3];
    r[b + 4] = r[a + 4];
    r[b + 5] = r[a + 5];
    this.#win[dst] = this.#win[src];
  }

  /**
   * Frees log slots when the log is full. Live slot `keep` (or -1) keeps its position.
   * - At the cap with "recycle-oldest" (a restart; an insert has already evicted):
   *   recycle the oldest record, O(1).
   * - With an eighth of the log dead, or at its largest: compaction.
   * - Else: double the log (up to its largest).
   */
  #makeRoom(keep: number): void {
    const log = this.#log;
    if (this.#recycle && log.size >= this.#cap) {
      this.#evictOldest();
      return;
    }
    const n = log.capacity;
    if (log.dead > 0 && (log.dead >= n >>> 3 || n >= this.#maxSlots)) {
      // Records move in runs; the log re-points the index in one sequential pass.
      const rec = this.#rec;
      const win = this.#win;
      log.compact(
        keep,
        (src, dst, len) => {
          rec.copyWithin(dst * REC, src * REC, (src + len) * REC);
          win.copyWithin(dst, src, src + len);
        },
        this.#index,
        this.#slotMask,
      );
      return;
    }
    const slots = Math.min(n * 2, this.#maxSlots);
    const oldRec = this.#rec;
    const oldWin = this.#win;
    const rec = new Uint32Array(slots * REC);
    const win = new Uint16Array(slots);
    // Same index size (the last step to the largest log): re-point, don't rehash.
    const sameIndex = this.#indexSize(slots) === this.#index.length;
    log.grow(
      slots,
      keep,
      (src, dst, len) => {
        rec.set(oldRec.subarray(src * REC, (src + len) * REC), dst * REC);
        win.set(oldWin.subarray(src, src + len), dst);
      },
      sameIndex ? this.#index : undefined,
      this.#slotMask,
    );
    this.#rec = rec;
    this.#win = win;
    if (sameIndex) return;
    // Rehash every live record into an index sized for the new log.
    const index = new Int32Array(this.#indexSize(slots)).fill(EMPTY);
    const mask = index.length - 1;
    for (let p = log.head(); p !== -1; p = log.next(p)) {
      const b = p * REC;
      const h = hashKey(rec[b + R_ADDR] & ADDR_MASK, rec[b + R_PORTS], this.#seed);
      let s = h & mask;
      let d = 0;
      while (index[s] !== EMPTY) {
        s = (s + 1) & mask;
        if (d < this.#distSat) d++;
      }
      index[s] = this.#entry(p, h >>> this.#fpFrom, d);
    }
    this.#index = index;
    this.#mask = mask;
    this.#warmLeft = 0;
  }
}
