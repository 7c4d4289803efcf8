/**
 * The compact TIME-WAIT table (storage only; the endpoint owns the protocol rules).
 *
 * A connection that enters TIME-WAIT (RFC 9293 §3.6) gives up its full TCB for a
 * record here: what an ACK from TIME-WAIT needs (SND.NXT, RCV.NXT, the window field
 * and its shift), what PAWS and SYN reopening need (TS.Recent and its age, RFC 7323
 * §5, RFC 6191), and the connection id that events name.
 *
 * Layout, all struct-of-arrays typed arrays (no object per record):
 *
 * | array            | type    | B | content                                          |
 * | ---------------- | ------- | - | ------------------------------------------------ |
 * | key              | Uint32  | 8 | remote address id, local port << 16 \| remote port |
 * | sndNxt, rcvNxt   | Uint32  | 8 | SND.NXT, RCV.NXT                                 |
 * | wnd              | Uint32  | 4 | raw window field \| shift << 16 \| TS flag        |
 * | tsRecent, tsAge  | Uint32  | 8 | TS.Recent and when it was recorded (ms mod 2^32) |
 * | connId           | Uint32  | 4 | connection id                                    |
 * | FIFO             | Int32   | 12 | prev, next, deadline ({@link FifoTimer})        |
 * | index            | Int32   | 4 per slot | record index \| probe distance << 24, load <= 0.5 |
 *
 * Every record waits the same `duration` (2·MSL), so expiry is a FIFO: O(1) insert,
 * restart (a retransmitted FIN, RFC 9293 §3.10.7.4) and expiry, and the idle tick is
 * one comparison. The index is linear probing over a power-of-two Int32Array at load
 * <= 0.5 with backward-shift deletion: no tombstones, so heavy churn never degrades
 * probe lengths. Each slot also keeps its entry's probe distance (8 bits next to the
 * 24-bit record index), so probes skip entries from other home slots and deletion
 * shifts entries back without touching their records: a lookup reads about one index
 * line and one record line. The hash takes a seed (pass a random one, as Linux keys
 * its `jhash`), so peers cannot aim their ports at one cluster. Storage grows by
 * doubling up to `capacity` (at most 2^24 - 1), so small tables stay small.
 *
 * At 1e6 records (default cap 1 048 576): 44 B of record and FIFO per allocated
 * record plus 8 B of index, 54.5 B per record all-in (52 B when the table is full).
 * Linux's `tcp_timewait_sock` is 248 B, FreeBSD's `tcptw` was 88 B. The 40 B goal
 * would need fields dropped or narrowed: the listed fields are 32 B, the FIFO 12 B and
 * an index at load <= 0.5 over a power-of-two table 8 B, 52 B before any slack.
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

import { FifoTimer } from "../time/fifo_timer.ts";

/** The fields a connection brings into TIME-WAIT. Reuse one object: nothing keeps it. */
export interface TimeWaitInit {
  /** Connection id, so events about this record name the connection. */
  connId: number;
  /** Remote address, interned by the endpoint to a small non-negative integer. */
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
  /** Whether timestamps were negotiated; when false `tsRecent*` are ignored. */
  timestamps: boolean;
  /** TS.Recent (RFC 7323 §4.3). */
  tsRecent: number;
  /** The ms clock value when TS.Recent was recorded (stored modulo 2^32). */
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
  /** Records allocated up front (default 1024); storage doubles up to `capacity`. */
  initialSize?: number;
  /**
   * Seed mixed into the index hash (default 0). Pass a random 32-bit value (from the
   * endpoint's rng) so remote peers cannot predict which 4-tuples collide.
   */
  hashSeed?: number;
  /**
   * Called with the index of a record evicted by "recycle-oldest", while its fields are
   * still readable, so the endpoint can emit `closed` for that connection. It must not
   * modify the table.
   */
  onEvict?: (i: number) => void;
}

/** Counters since construction. */
export interface TimeWaitStats {
  inserted: number;
  expired: number;
  removed: number;
  recycled: number;
  skipped: number;
  restarted: number;
  /** Largest number of records held at once. */
  peak: number;
}

/** Byte accounting of the table's typed arrays. */
export interface TimeWaitMemory {
  /** Record fields (8 Uint32 arrays). */
  recordBytes: number;
  /** FIFO links and deadlines. */
  fifoBytes: number;
  /** Open-addressing index. */
  indexBytes: number;
  totalBytes: number;
  /** Records allocated (>= size). */
  allocated: number;
  /** Index slots. */
  indexSlots: number;
}

/** Window field bits in the packed `wnd` word. */
const WINDOW_MASK = 0xffff;
const SHIFT_OFFSET = 16;
/** Set when timestamps were negotiated (RFC 7323); TS.Recent is meaningless otherwise. */
const TS_FLAG = 1 << 20;
/** Index slot value of an empty slot. */
const EMPTY = -1;
/** Index slot: the record index in the low 24 bits, the probe distance above it. */
const IDX_BITS = 24;
const IDX_MASK = (1 << IDX_BITS) - 1;
/** Probe distances from 255 up are stored as 255: "read the record to know". */
const DIST_SAT = 255;
/** The largest cap the 24-bit record index allows (all-ones is never a live slot). */
const MAX_CAPACITY = IDX_MASK;

/**
 * Integer hash of the (address id, ports) key: a multiplicative mix of the two words
 * and the seed, then the murmur3 finalizer, so sequential ports and small address ids
 * spread over all slots. Not a cryptographic defence; a seed only makes collisions
 * hard to aim.
 */
function hashKey(addr: number, ports: number, seed: number): number {
  let h = Math.imul(addr ^ seed, 0x9e3779b1) ^ ports;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
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

function noop(): void {}

function nextPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/**
 * The TIME-WAIT table: compact records found by 4-tuple, expiring in arrival order.
 *
 * Record indices are stable while a record lives (restart keeps the index) and are
 * reused after it is removed, expired or evicted.
 */
export class TimeWaitTable {
  readonly #cap: number;
  readonly #duration: number;
  readonly #recycle: boolean;
  readonly #onEvict: ((i: number) => void) | undefined;
  readonly #stats: TimeWaitStats = {
    inserted: 0,
    expired: 0,
    removed: 0,
    recycled: 0,
    skipped: 0,
    restarted: 0,
    peak: 0,
  };

  readonly #seed: number;
  /** `[2i]` remote address id, `[2i + 1]` local port << 16 | remote port. */
  #key: Uint32Array;
  /** Also the free-list link of free records (read back with `| 0`: -1 ends it). */
  #sndNxt: Uint32Array;
  #rcvNxt: Uint32Array;
  #wnd: Uint32Array;
  #tsRecent: Uint32Array;
  #tsAge: Uint32Array;
  #connId: Uint32Array;
  readonly #fifo: FifoTimer;
  #index: Int32Array;
  #mask: number;

  #size = 0;
  /** Records ever handed out; indices >= hwm have never been used. */
  #hwm = 0;
  #free = -1;

  /** Creates an empty table; see {@link TimeWaitOptions}. */
  constructor(options: TimeWaitOptions) {
    const cap = options.capacity ?? 1_048_576;
    if (!(Number.isInteger(cap) && cap >= 1 && cap <= MAX_CAPACITY)) {
      throw new RangeError(`Invalid TIME-WAIT capacity "${cap}"`);
    }
    if (!(options.duration >= 0 && options.duration < 2 ** 31)) {
      throw new RangeError(`Invalid TIME-WAIT duration "${options.duration}" ms`);
    }
    this.#cap = cap;
    this.#duration = options.duration;
    this.#recycle = (options.overflow ?? "recycle-oldest") === "recycle-oldest";
    this.#onEvict = options.onEvict;
    this.#seed = (options.hashSeed ?? 0) | 0;
    const n = Math.min(Math.max(1, options.initialSize ?? 1024), cap);
    this.#key = new Uint32Array(n * 2);
    this.#sndNxt = new Uint32Array(n);
    this.#rcvNxt = new Uint32Array(n);
    this.#wnd = new Uint32Array(n);
    this.#tsRecent = new Uint32Array(n);
    this.#tsAge = new Uint32Array(n);
    this.#connId = new Uint32Array(n);
    this.#fifo = new FifoTimer(n);
    this.#index = new Int32Array(nextPow2(n) * 2).fill(EMPTY);
    this.#mask = this.#index.length - 1;
  }

  /** Records held. */
  get size(): number {
    return this.#size;
  }

  /** The cap on records. */
  get capacity(): number {
    return this.#cap;
  }

  /** The lifetime of a record, ms (2·MSL). */
  get duration(): number {
    return this.#duration;
  }

  /** Counters (a live object, updated in place). */
  get stats(): Readonly<TimeWaitStats> {
    return this.#stats;
  }

  /**
   * Stores a record for a connection entering TIME-WAIT at `now` and returns its index.
   * When the table is full, "recycle-oldest" evicts the oldest record first (reported
   * through `onEvict`, counted in `stats.recycled`), and "skip" stores nothing and
   * returns -1 (`stats.skipped`): the caller then closes without TIME-WAIT.
   * Throws if the 4-tuple is already present (the endpoint removes it on reopen).
   */
  insert(rec: TimeWaitInit, now: number): number {
    if (this.#size >= this.#cap) {
      if (!this.#recycle) {
        this.#stats.skipped++;
        return -1;
      }
      this.#evictOldest();
    }
    const addr = rec.addrId >>> 0;
    const ports = (((rec.localPort & 0xffff) << 16) | (rec.remotePort & 0xffff)) >>> 0;
    const i = this.#alloc();
    // Probe after any eviction or growth: either may have moved index entries.
    const index = this.#index;
    const mask = this.#mask;
    const key = this.#key;
    let s = hashKey(addr, ports, this.#seed) & mask;
    let d = 0;
    for (let v = index[s]; v !== EMPTY; v = index[s]) {
      const vd = v >>> IDX_BITS;
      if (vd === d || vd === DIST_SAT) {
        const r = v & IDX_MASK;
        if (key[2 * r] === addr && key[2 * r + 1] === ports) {
          this.#release(i);
          throw new Error(
            `Cannot insert TIME-WAIT record: 4-tuple "${addr}:${rec.localPort}:${rec.remotePort}" is already present`,
          );
        }
      }
      s = (s + 1) & mask;
      if (d < DIST_SAT) d++;
    }
    index[s] = i | (d << IDX_BITS);
    key[2 * i] = addr;
    key[2 * i + 1] = ports;
    this.#sndNxt[i] = rec.sndNxt;
    this.#rcvNxt[i] = rec.rcvNxt;
    if (rec.timestamps) {
      this.#wnd[i] = (rec.window & WINDOW_MASK) | ((rec.windowShift & 15) << SHIFT_OFFSET) |
        TS_FLAG;
      this.#tsRecent[i] = rec.tsRecent;
      this.#tsAge[i] = rec.tsRecentAge;
    } else {
      this.#wnd[i] = (rec.window & WINDOW_MASK) | ((rec.windowShift & 15) << SHIFT_OFFSET);
      this.#tsRecent[i] = 0;
      this.#tsAge[i] = 0;
    }
    this.#connId[i] = rec.connId;
    this.#fifo.append(i, now + this.#duration);
    const size = ++this.#size;
    this.#stats.inserted++;
    if (size > this.#stats.peak) this.#stats.peak = size;
    return i;
  }

  /** The index of the record for this 4-tuple, or -1. */
  lookup(addrId: number, localPort: number, remotePort: number): number {
    const addr = addrId >>> 0;
    const ports = (((localPort & 0xffff) << 16) | (remotePort & 0xffff)) >>> 0;
    const index = this.#index;
    const mask = this.#mask;
    const key = this.#key;
    let s = hashKey(addr, ports, this.#seed) & mask;
    let d = 0;
    for (let v = index[s]; v !== EMPTY; v = index[s]) {
      const vd = v >>> IDX_BITS;
      // Only an entry with our home slot (same probe distance here) can be ours.
      if (vd === d || vd === DIST_SAT) {
        const r = v & IDX_MASK;
        if (key[2 * r] === addr && key[2 * r + 1] === ports) return r;
      }
      s = (s + 1) & mask;
      if (d < DIST_SAT) d++;
    }
    return -1;
  }

  /** Whether `i` holds a live record. */
  has(i: number): boolean {
    return i >= 0 && i < this.#hwm && this.#fifo.has(i);
  }

  /**
   * Restarts the 2·MSL timer of record `i` at `now` (RFC 9293 §3.10.7.4: a
   * retransmitted FIN in TIME-WAIT is acknowledged and the timeout restarted).
   */
  restart(i: number, now: number): void {
    this.#assertLive(i);
    this.#fifo.unlink(i);
    this.#fifo.append(i, now + this.#duration);
    this.#stats.restarted++;
  }

  /** Removes record `i` (SYN reopening, RST with RFC 1337 off, shutdown). */
  remove(i: number): void {
    this.#assertLive(i);
    this.#unindex(i);
    this.#fifo.unlink(i);
    this.#release(i);
    this.#size--;
    this.#stats.removed++;
  }

  /**
   * Removes every record whose deadline is `<= now`, oldest first, calling
   * `onExpire(i)` while the record is still readable (it is freed when the callback
   * returns; do not remove it). Returns the number expired. With nothing due this is
   * one comparison.
   */
  expire(now: number, onExpire: (i: number) => void): number {
    // The idle tick: one comparison, small enough to inline into the driver's loop.
    if (!this.#fifo.due(now)) return 0;
    return this.#expire(now, onExpire);
  }

  #expire(now: number, onExpire: (i: number) => void): number {
    const outer = this.#userExpire; // expire() may be re-entered from a callback
    this.#userExpire = onExpire;
    try {
      const n = this.#fifo.popExpired(now, this.#expireOne);
      this.#stats.expired += n;
      return n;
    } finally {
      this.#userExpire = outer;
    }
  }

  /** The user's expiry callback during {@link expire}. */
  #userExpire: (i: number) => void = noop;

  /** Runs for each record the FIFO pops: the FIFO has already unlinked it. */
  readonly #expireOne = (i: number): void => {
    this.#unindex(i);
    this.#size--;
    this.#userExpire(i);
    this.#release(i);
  };

  /** The earliest deadline (ms, whole), or Infinity when empty. */
  nextDeadline(): number {
    return this.#fifo.headDeadline();
  }

  /** The oldest record (next to expire), or -1. */
  oldest(): number {
    return this.#fifo.head();
  }

  /**
   * The record of connection `connId`, or -1. A scan in arrival order, O(size): for
   * tests and UIs, not for a per-segment path (those look up by 4-tuple).
   */
  findConn(connId: number): number {
    const want = connId >>> 0;
    const fifo = this.#fifo;
    const conn = this.#connId;
    for (let i = fifo.head(); i !== -1; i = fifo.next(i)) if (conn[i] === want) return i;
    return -1;
  }

  /** Calls `fn(i)` for every record, oldest first. `fn` must not modify the table. */
  forEach(fn: (i: number) => void): void {
    const fifo = this.#fifo;
    for (let i = fifo.head(); i !== -1; i = fifo.next(i)) fn(i);
  }

  /**
   * Removes every record without callbacks (counted as removed). O(allocated), a bulk
   * reset: no per-record index deletion.
   */
  clear(): void {
    this.#stats.removed += this.#size;
    this.#fifo.clear();
    this.#index.fill(EMPTY);
    this.#size = 0;
    this.#hwm = 0; // every record is unused again; no free list needed
    this.#free = -1;
  }

  // ---- fields ---------------------------------------------------------------

  /** Remote address id of record `i`. */
  addrId(i: number): number {
    return this.#key[2 * i];
  }
  /** Local port of record `i`. */
  localPort(i: number): number {
    return this.#key[2 * i + 1] >>> 16;
  }
  /** Remote port of record `i`. */
  remotePort(i: number): number {
    return this.#key[2 * i + 1] & 0xffff;
  }
  /** Connection id of record `i`. */
  connId(i: number): number {
    return this.#connId[i];
  }
  /** SND.NXT of record `i`. */
  sndNxt(i: number): number {
    return this.#sndNxt[i];
  }
  /** RCV.NXT of record `i`. */
  rcvNxt(i: number): number {
    return this.#rcvNxt[i];
  }
  /** The raw 16-bit window field to advertise from record `i`. */
  window(i: number): number {
    return this.#wnd[i] & WINDOW_MASK;
  }
  /** The receive window shift of record `i`. */
  windowShift(i: number): number {
    return (this.#wnd[i] >>> SHIFT_OFFSET) & 15;
  }
  /** Whether record `i` negotiated timestamps (PAWS applies, RFC 7323 §5). */
  hasTimestamps(i: number): boolean {
    return (this.#wnd[i] & TS_FLAG) !== 0;
  }
  /** TS.Recent of record `i` (0 without timestamps). */
  tsRecent(i: number): number {
    return this.#tsRecent[i];
  }
  /**
   * When TS.Recent of record `i` was recorded: the ms clock modulo 2^32 (0 without
   * timestamps). Its idle time is `((now >>> 0) - tsRecentAge(i)) >>> 0`.
   */
  tsRecentAge(i: number): number {
    return this.#tsAge[i];
  }
  /** The expiry time of record `i`, ms (whole). */
  deadline(i: number): number {
    return this.#fifo.deadline(i);
  }
  /** Sets SND.NXT of record `i`. */
  setSndNxt(i: number, value: number): void {
    this.#sndNxt[i] = value;
  }
  /** Sets RCV.NXT of record `i`. */
  setRcvNxt(i: number, value: number): void {
    this.#rcvNxt[i] = value;
  }
  /** Records a new TS.Recent for record `i` at `now` (RFC 7323 §4.3). */
  setTsRecent(i: number, tsVal: number, now: number): void {
    this.#tsRecent[i] = tsVal;
    this.#tsAge[i] = now;
    this.#wnd[i] |= TS_FLAG;
  }

  // ---- memory and audit --------------------------------------------------------

  /** Byte accounting of every typed array the table holds. */
  memory(): TimeWaitMemory {
    const recordBytes = this.#key.byteLength + this.#sndNxt.byteLength + this.#rcvNxt.byteLength +
      this.#wnd.byteLength +
      this.#tsRecent.byteLength + this.#tsAge.byteLength + this.#connId.byteLength;
    const fifoBytes = this.#fifo.byteLength;
    const indexBytes = this.#index.byteLength;
    return {
      recordBytes,
      fifoBytes,
      indexBytes,
      totalBytes: recordBytes + fifoBytes + indexBytes,
      allocated: this.#connId.length,
      indexSlots: this.#index.length,
    };
  }

  /**
   * Bytes of typed arrays per record held (record + FIFO + index, including the
   * slack of doubling and of the index's load factor). NaN when empty.
   */
  bytesPerEntry(): number {
    return this.memory().totalBytes / this.#size;
  }

  /**
   * Checks every internal invariant in O(capacity) and returns the counts; throws on
   * a violation. For tests and debugging.
   */
  audit(): { live: number; free: number; indexed: number; linked: number } {
    let indexed = 0;
    const index = this.#index;
    for (let s = 0; s < index.length; s++) {
      const v = index[s];
      if (v === EMPTY) continue;
      indexed++;
      const r = v & IDX_MASK;
      if (!this.#fifo.has(r)) throw new Error(`Index slot ${s} names dead record ${r}`);
      const home = hashKey(this.#key[2 * r], this.#key[2 * r + 1], this.#seed) & this.#mask;
      const dist = (s - home) & this.#mask;
      if ((v >>> IDX_BITS) !== Math.min(dist, DIST_SAT)) {
        throw new Error(`Index slot ${s} holds distance ${v >>> IDX_BITS}, not ${dist}`);
      }
      if (this.lookup(this.addrId(r), this.localPort(r), this.remotePort(r)) !== r) {
        throw new Error(`Record ${r} is unreachable from its home slot`);
      }
    }
    let linked = 0;
    let last = -Infinity;
    for (let i = this.#fifo.head(); i !== -1; i = this.#fifo.next(i)) {
      linked++;
      const d = this.#fifo.deadline(i);
      if (d < last) throw new Error(`FIFO out of order at record ${i}`);
      last = d;
    }
    let free = 0;
    for (let i = this.#free; i !== -1; i = this.#sndNxt[i] | 0) {
      if (this.#fifo.has(i)) throw new Error(`Free record ${i} is linked`);
      free++;
    }
    const live = this.#size;
    if (indexed !== live || linked !== live || free + live !== this.#hwm) {
      throw new Error(
        `TIME-WAIT counts disagree: size ${live}, indexed ${indexed}, linked ${linked}, free ${free}, used ${this.#hwm}`,
      );
    }
    return { live, free, indexed, linked };
  }

  // ---- internals -------------------------------------------------------------

  #assertLive(i: number): void {
    if (!this.has(i)) throw new Error(`TIME-WAIT record ${i} is not live`);
  }

  #evictOldest(): void {
    const i = this.#fifo.head();
    this.#onEvict?.(i);
    this.#unindex(i);
    this.#fifo.unlink(i);
    this.#release(i);
    this.#size--;
    this.#stats.recycled++;
  }

  #alloc(): number {
    const f = this.#free;
    if (f !== -1) {
      this.#free = this.#sndNxt[f] | 0;
      return f;
    }
    if (this.#hwm === this.#connId.length) this.#grow();
    return this.#hwm++;
  }

  #release(i: number): void {
    this.#sndNxt[i] = this.#free;
    this.#free = i;
  }

  /** Deletes record `i` from the index with a backward shift (no tombstones). */
  #unindex(i: number): void {
    const index = this.#index;
    const mask = this.#mask;
    const key = this.#key;
    let hole = hashKey(key[2 * i], key[2 * i + 1], this.#seed) & mask;
    for (let v = index[hole]; (v & IDX_MASK) !== i || v === EMPTY; v = index[hole]) {
      if (v === EMPTY) throw new Error(`TIME-WAIT record ${i} is not indexed`);
      hole = (hole + 1) & mask;
    }
    // Pull back each later cluster member that may sit at the hole (its home is not
    // in (hole, j]), i.e. whose probe distance reaches back to the hole.
    let j = hole;
    for (;;) {
      j = (j + 1) & mask;
      const v = index[j];
      if (v === EMPTY) break;
      let dist = v >>> IDX_BITS;
      if (dist === DIST_SAT) {
        const r = v & IDX_MASK;
        dist = (j - (hashKey(key[2 * r], key[2 * r + 1], this.#seed) & mask)) & mask;
      }
      const back = (j - hole) & mask;
      if (dist >= back) {
        const nd = dist - back;
        index[hole] = (v & IDX_MASK) | ((nd < DIST_SAT ? nd : DIST_SAT) << IDX_BITS);
        hole = j;
      }
    }
    index[hole] = EMPTY;
  }

  #grow(): void {
    const old = this.#connId.length;
    const n = Math.min(old * 2, this.#cap);
    const grown = (a: Uint32Array, width = 1): Uint32Array => {
      const b = new Uint32Array(n * width);
      b.set(a);
      return b;
    };
    this.#key = grown(this.#key, 2);
    this.#sndNxt = grown(this.#sndNxt);
    this.#rcvNxt = grown(this.#rcvNxt);
    this.#wnd = grown(this.#wnd);
    this.#tsRecent = grown(this.#tsRecent);
    this.#tsAge = grown(this.#tsAge);
    this.#connId = grown(this.#connId);
    this.#fifo.grow(n);
    // Rehash into an index sized for load <= 0.5 at the new record capacity.
    const index = new Int32Array(nextPow2(n) * 2).fill(EMPTY);
    const mask = index.length - 1;
    const key = this.#key;
    const fifo = this.#fifo;
    for (let i = fifo.head(); i !== -1; i = fifo.next(i)) {
      let s = hashKey(key[2 * i], key[2 * i + 1], this.#seed) & mask;
      let d = 0;
      while (index[s] !== EMPTY) {
        s = (s + 1) & mask;
        if (d < DIST_SAT) d++;
      }
      index[s] = i | (d << IDX_BITS);
    }
    this.#index = index;
    this.#mask = mask;
  }
}
