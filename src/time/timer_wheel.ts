/**
 * A hierarchical timer wheel for the variable per-connection timers: RTO with
 * backoff (RFC 6298), SYN retransmission, FIN-WAIT-2, user timeout (RFC 5482),
 * delayed ACK.
 *
 * Design (Varghese & Lauck 1987; Linux `timer.c` before 4.8, tokio): `levels` wheels
 * of `2^slotBits` slots. Level 0 has one slot per tick; a slot of level k spans
 * `2^(slotBits·k)` ticks. A timer sits in the lowest level whose current rotation
 * contains its expiry tick; when time reaches a higher-level slot, its timers are
 * cascaded down, so every timer fires exactly in its own tick. Timers beyond the top
 * level's rotation (2^32 ticks, 49 days at 1 ms, by default) wait in an overflow
 * list that is re-placed when time reaches their rotation.
 *
 * Storage is typed arrays with a free list — no object per timer: one 24-byte record
 * per timer in a shared buffer (deadline, links, id, generation side by side, so a
 * cancel touches one cache line plus its neighbours'), and per-slot list heads and
 * occupancy bitmaps. Every list is doubly linked, so cancel is an O(1) unlink. Time
 * jumps of any size cost O(occupied slots), not O(ticks): empty slots are skipped
 * through the bitmaps. The idle tick compares `now` with the cached time of the next
 * slot event and returns, small enough for V8 to inline into the driver's loop.
 *
 * Guarantees: a timer fires exactly once, never before its deadline, at most one tick
 * after it; a cancelled timer never fires. Within one `advance` timers fire in tick
 * order; within a tick, in the order they reached the slot.
 *
 * Handles carry a 6-bit generation next to a 24-bit slot index, so cancelling a
 * handle whose timer already fired or was cancelled is a harmless no-op (unless the
 * same slot has since been reused 64 times — do not keep handles that long: clear a
 * stored handle when its timer fires or is cancelled).
 *
 * @example
 * ```ts
 * import { TimerWheel } from "./timer_wheel.ts";
 *
 * const wheel = new TimerWheel({ now: 0 });
 * const rto = wheel.insert(7, 1000); // connection slot 7, RTO at t = 1000 ms
 * wheel.insert(8, 40); // delayed ACK of slot 8
 * wheel.cancel(rto); // ACK arrived: cancel is O(1)
 * const fired: number[] = [];
 * wheel.advance(50, (id) => fired.push(id));
 * if (fired.join() !== "8" || wheel.size !== 0) throw new Error("wheel order");
 * ```
 *
 * @module
 */

/** Bits of a handle that hold the slot index; the generation sits above them. */
const INDEX_BITS = 24;
const INDEX_MASK = (1 << INDEX_BITS) - 1;
/** The largest number of simultaneous timers (16 777 216). */
const MAX_CAPACITY = 1 << INDEX_BITS;
/** Generations wrap at 64 so a handle stays a small integer (a V8 Smi, never boxed). */
const GEN_MASK = 63;
/** `prev` of a free entry; list members hold an index or `~listId` (both > FREE). */
const FREE = -0x7fffffff;
const TWO_NEG_32 = 2 ** -32;
/** Indices into `#t`. */
const NOW = 0;
const ELAPSED = 1;
const NEXT_TICK = 2;
const NEXT_AT = 3;
const OVERFLOW_MIN = 4;
/** Bytes per timer record and the Int32 word offsets inside it (see `#i32`). */
const RECORD_BYTES = 24;
const W = 6;
const PREV = 2;
const NEXT = 3;
const ID = 4;
const GEN = 5;

/** Options for {@link TimerWheel}. */
export interface TimerWheelOptions {
  /** The current time in ms; ticks up to it count as already processed. */
  now: number;
  /** Tick length in ms (default 1). An integer or power of two keeps rounding exact. */
  tickMs?: number;
  /** Initial number of timers stored before the arrays double (default 1024). */
  capacity?: number;
  /** Number of wheel levels (default 4). Smaller geometries exist for tests. */
  levels?: number;
  /** log2 of the slots per level (default 8: 256 slots, top rotation 2^32 ticks). */
  slotBits?: number;
}

/**
 * Hierarchical timer wheel keyed by caller ids (connection slots).
 *
 * Drive it sans-IO: {@link TimerWheel.insert} and {@link TimerWheel.cancel} as
 * timers are armed and disarmed, {@link TimerWheel.advance} with the current time
 * whenever the driver wakes, and {@link TimerWheel.nextDeadline} to know when to wake.
 */
export class TimerWheel {
  readonly #tickMs: number;
  readonly #levels: number;
  readonly #slotBits: number;
  readonly #mask: number;
  readonly #wheelSlots: number;
  /** List ids beyond the wheel slots. */
  readonly #due: number;
  readonly #overflow: number;
  readonly #proc: number;
  /** `#span[k]` = ticks covered by one slot of level k = 2^(slotBits·k); k = 0..levels. */
  readonly #span: Float64Array;
  /** Level of a timer by the highest bit where its tick differs from `[ELAPSED]`. */
  readonly #levelOfBit: Uint8Array;
  /** 1 / tickMs when that is exact (tickMs a power of two), else 0. */
  readonly #invTick: number;

  // Per-timer storage: one 24-byte record per timer in a shared buffer, so a cancel
  // touches one cache line for the timer plus one per neighbour. Int32 words:
  // [6i, 6i+1] deadline (the Float64 at #f64[3i]), [6i+2] prev, [6i+3] next,
  // [6i+4] id, [6i+5] generation.
  #i32: Int32Array;
  #f64: Float64Array;
  #free = -1;
  #hwm = 0;
  #size = 0;

  // Lists: wheel slots, then DUE (overdue on insert), OVERFLOW, PROC (being fired).
  #heads: Int32Array;
  #tails: Int32Array;
  #bitmap: Uint32Array;
  /** Non-empty slots per level, to skip empty levels without touching the bitmap. */
  #levelSlots: Int32Array;

  /**
   * Clock state, in a Float64Array rather than fields: V8 boxes every double stored in
   * an object field (about 10 ns a store), and ticks outgrow small integers.
   * - `[NOW]`: latest `now` seen, ms.
   * - `[ELAPSED]`: last processed tick: every timer with an expiry tick <= this has fired.
   * - `[NEXT_TICK]`: tick of the next slot or overflow event; a lower bound while
   *   `#nextStale`. `[NEXT_AT]`: the same in ms, what the idle tick compares `now` with.
   * - `[OVERFLOW_MIN]`: lower bound of the expiry ticks in the overflow list.
   */
  readonly #t = new Float64Array(5);
  #nextStale = false;
  /** List id found by the last `#computeNext` (side output, avoids an allocation). */
  #nextList = -1;

  /** Creates an empty wheel at time `now`. */
  constructor(options: TimerWheelOptions) {
    const { now, tickMs = 1, capacity = 1024, levels = 4, slotBits = 8 } = options;
    if (!(tickMs > 0)) throw new RangeError(`Invalid tickMs "${tickMs}": must be > 0`);
    if (!Number.isFinite(now)) throw new RangeError(`Invalid now "${now}": must be finite`);
    if (!(levels >= 1 && slotBits >= 1 && slotBits <= 10 && levels * slotBits <= 32)) {
      throw new RangeError(`Invalid wheel geometry "${levels}x2^${slotBits}": at most 32 bits`);
    }
    this.#tickMs = tickMs;
    this.#levels = levels;
    this.#slotBits = slotBits;
    const slots = 1 << slotBits;
    this.#mask = slots - 1;
    this.#wheelSlots = levels * slots;
    this.#due = this.#wheelSlots;
    this.#overflow = this.#wheelSlots + 1;
    this.#proc = this.#wheelSlots + 2;
    this.#span = new Float64Array(levels + 1);
    for (let k = 0; k <= levels; k++) this.#span[k] = 2 ** (slotBits * k);
    this.#levelOfBit = new Uint8Array(32);
    for (let b = 0; b < 32; b++) this.#levelOfBit[b] = Math.min(Math.floor(b / slotBits), levels);
    const exponent = Math.log2(tickMs);
    this.#invTick = Number.isInteger(exponent) ? 2 ** -exponent : 0;

    const cap = Math.min(Math.max(16, capacity | 0), MAX_CAPACITY);
    const buf = new ArrayBuffer(cap * RECORD_BYTES);
    this.#i32 = new Int32Array(buf);
    this.#f64 = new Float64Array(buf);

    this.#heads = new Int32Array(this.#wheelSlots + 3).fill(-1);
    this.#tails = new Int32Array(this.#wheelSlots + 3).fill(-1);
    this.#bitmap = new Uint32Array(Math.ceil(this.#wheelSlots / 32));
    this.#levelSlots = new Int32Array(levels);
    this.#t[NOW] = now;
    this.#t[ELAPSED] = Math.floor(now / tickMs);
    this.#t[NEXT_TICK] = Infinity;
    this.#t[NEXT_AT] = Infinity;
    this.#t[OVERFLOW_MIN] = Infinity;
  }

  /** Number of armed timers. */
  get size(): number {
    return this.#size;
  }

  /** Number of timers storable before the arrays double. */
  get capacity(): number {
    return this.#f64.length / 3;
  }

  /** Bytes held by the wheel's typed arrays. */
  get byteLength(): number {
    return this.#i32.byteLength + this.#heads.byteLength + this.#tails.byteLength +
      this.#bitmap.byteLength + this.#levelSlots.byteLength;
  }

  /** The latest time passed to the constructor or {@link advance}, ms. */
  get now(): number {
    return this.#t[NOW];
  }

  /**
   * Arms a timer for `id` (a non-negative int32, e.g. the connection slot) at
   * `deadline` ms and returns its handle. A deadline `<= now` fires on the next
   * {@link advance}; `Infinity` never fires. O(levels).
   */
  insert(id: number, deadline: number): number {
    if (deadline !== deadline) throw new RangeError(`Invalid deadline "NaN" for timer ${id}`);
    let i = this.#free;
    if (i >= 0) {
      this.#free = this.#i32[i * W + NEXT];
    } else {
      if (this.#hwm === this.capacity) this.#grow();
      i = this.#hwm++;
    }
    const m = this.#i32;
    m[i * W + ID] = id;
    this.#f64[i * 3] = deadline;
    this.#schedule(i, deadline);
    this.#size++;
    return (m[i * W + GEN] << INDEX_BITS) | i;
  }

  /**
   * Disarms the timer behind `handle` in O(1). Returns false (and does nothing) when
   * the timer already fired or was cancelled.
   */
  cancel(handle: number): boolean {
    const i = handle & INDEX_MASK;
    const m = this.#i32;
    if (i >= this.#hwm || m[i * W + GEN] !== handle >>> INDEX_BITS || m[i * W + PREV] === FREE) {
      return false;
    }
    this.#unlink(i);
    this.#release(i);
    this.#size--;
    return true;
  }

  /**
   * Moves a live timer to `deadline`, keeping its handle (returned). Throws when the
   * handle is not live: re-arming a fired timer is {@link insert}.
   */
  reschedule(handle: number, deadline: number): number {
    const i = handle & INDEX_MASK;
    if (!this.isActive(handle)) {
      throw new RangeError(`Cannot reschedule timer ${handle}: it is not armed`);
    }
    if (deadline !== deadline) throw new RangeError(`Invalid deadline "NaN" for timer ${handle}`);
    this.#unlink(i);
    this.#f64[i * 3] = deadline;
    this.#schedule(i, deadline);
    return handle;
  }

  /** Whether `handle` names an armed timer. */
  isActive(handle: number): boolean {
    const i = handle & INDEX_MASK;
    return handle >= 0 && i < this.#hwm && this.#i32[i * W + GEN] === handle >>> INDEX_BITS &&
      this.#i32[i * W + PREV] !== FREE;
  }

  /** The deadline of an armed timer, ms (NaN for a stale handle). */
  deadlineOf(handle: number): number {
    return this.isActive(handle) ? this.#f64[(handle & INDEX_MASK) * 3] : NaN;
  }

  /**
   * Advances time to `now` (ms; earlier values are treated as the latest seen) and
   * fires, via `onExpire(id, handle)`, every timer whose deadline is `<= now`. The
   * timer is disarmed before its callback runs, so the callback may insert, cancel
   * and reschedule freely. Timers armed by a callback with a deadline already past
   * fire on the next call, so a callback that re-arms cannot spin.
   * Returns the number of timers fired. With nothing due it is two comparisons.
   */
  advance(now: number, onExpire: (id: number, handle: number) => void): number {
    if (now > this.#t[NOW]) {
      if (now === Infinity) throw new RangeError(`Invalid now "Infinity": must be finite`);
      this.#t[NOW] = now;
    }
    // The idle tick, small enough to inline into the driver's loop: one comparison
    // with the cached time of the next slot event, one with the overdue list.
    if (this.#t[NOW] < this.#t[NEXT_AT] && this.#heads[this.#due] < 0) return 0;
    return this.#advanceSlow(onExpire);
  }

  #advanceSlow(onExpire: (id: number, handle: number) => void): number {
    const target = Math.floor(this.#t[NOW] / this.#tickMs);
    let fired = 0;
    if (this.#heads[this.#due] >= 0) fired = this.#fireDue(onExpire);
    const heads = this.#heads;
    for (;;) {
      const at = this.#computeNext();
      if (at > target) {
        this.#setNext(at);
        this.#nextStale = false;
        break;
      }
      // Jump straight to the next occupied slot: skipped slots are empty.
      this.#t[ELAPSED] = at;
      let list = this.#nextList;
      if (list === this.#overflow) {
        // A new top-level rotation began: re-place the far timers.
        this.#moveList(list, this.#proc);
        this.#t[OVERFLOW_MIN] = Infinity;
        list = this.#proc;
      }
      // Pop from the head each time: a callback may cancel any timer in this list.
      let i: number;
      while ((i = heads[list]) >= 0) {
        this.#unlink(i);
        const t = this.#tickOf(this.#f64[i * 3]);
        if (t <= at) {
          fired++;
          this.#fire(i, onExpire);
        } else {
          this.#place(i, t); // cascade to a lower level (never into this slot)
        }
      }
    }
    if (target > this.#t[ELAPSED]) this.#t[ELAPSED] = target;
    return fired;
  }

  /**
   * The time (ms) at which {@link advance} next has work: the latest `now` when a
   * timer armed in the past is waiting; else the firing time of the earliest level-0 timer (its deadline
   * rounded up to the tick); else the start of the earliest higher-level slot, a lower
   * bound at which `advance` only cascades. Each such wake-up moves the answer strictly
   * forward, so a driver never spins. Infinity when empty. Cost: a bitmap scan.
   */
  nextDeadline(): number {
    if (this.#heads[this.#due] >= 0) return this.#t[NOW];
    if (this.#nextStale) {
      this.#syncElapsed();
      this.#setNext(this.#computeNext());
      this.#nextStale = false;
    }
    return this.#t[NEXT_AT];
  }

  /** Disarms every timer; all outstanding handles become stale. O(capacity used). */
  clear(): void {
    const m = this.#i32;
    for (let i = 0; i < this.#hwm; i++) {
      if (m[i * W + PREV] !== FREE) {
        m[i * W + PREV] = FREE;
        m[i * W + GEN] = (m[i * W + GEN] + 1) & GEN_MASK;
      }
    }
    // Rebuild the free list in index order.
    this.#free = -1;
    for (let i = this.#hwm - 1; i >= 0; i--) {
      m[i * W + NEXT] = this.#free;
      this.#free = i;
    }
    this.#heads.fill(-1);
    this.#tails.fill(-1);
    this.#bitmap.fill(0);
    this.#levelSlots.fill(0);
    this.#size = 0;
    this.#setNext(Infinity);
    this.#nextStale = false;
    this.#t[OVERFLOW_MIN] = Infinity;
  }

  // ---- internals -------------------------------------------------------------

  /** Puts entry `i` with `deadline` into DUE, a wheel slot or OVERFLOW. */
  #schedule(i: number, deadline: number): void {
    if (deadline <= this.#t[NOW]) {
      this.#append(this.#due, i);
    } else {
      this.#syncElapsed();
      this.#place(i, this.#tickOf(deadline));
    }
  }

  /** Expiry tick of a deadline: rounded up, so a timer never fires early. */
  #tickOf(deadline: number): number {
    // A power-of-two tick has an exact reciprocal; anything else pays for a division.
    return this.#invTick > 0
      ? Math.ceil(deadline * this.#invTick)
      : Math.ceil(deadline / this.#tickMs);
  }

  /**
   * Brings `[ELAPSED]` up to the tick of `[NOW]`. The idle tick leaves it behind (to stay
   * one comparison); that is safe because no slot event lies before `[NEXT_TICK]`, and
   * placing new timers against a fresh `[ELAPSED]` keeps them in the lowest level.
   */
  #syncElapsed(): void {
    const target = Math.floor(this.#t[NOW] / this.#tickMs);
    if (target > this.#t[ELAPSED] && target < this.#t[NEXT_TICK]) this.#t[ELAPSED] = target;
  }

  #setNext(tick: number): void {
    this.#t[NEXT_TICK] = tick;
    this.#t[NEXT_AT] = tick * this.#tickMs;
  }

  /** Places entry `i` expiring at tick `t` relative to `[ELAPSED]`. */
  #place(i: number, t: number): void {
    const e = this.#t[ELAPSED];
    if (t <= e) {
      // Only float rounding with an odd tickMs gets here; firing next advance is on time.
      this.#append(this.#due, i);
      return;
    }
    // The level is set by the highest bit where t and e differ (Linux, tokio): the
    // lowest level whose current rotation holds t. Ticks beyond 2^32 compare their
    // high halves first; `^` works on the low 32 bits.
    if (Math.floor(t * TWO_NEG_32) === Math.floor(e * TWO_NEG_32)) {
      const k = this.#levelOfBit[31 - Math.clz32((t ^ e) | this.#mask)];
      if (k < this.#levels) {
        const shift = k * this.#slotBits;
        const lo = t >>> 0;
        this.#append((k << this.#slotBits) | ((lo >>> shift) & this.#mask), i);
        const at = t - (lo & ((1 << shift) - 1)); // start tick of that slot
        if (at < this.#t[NEXT_TICK]) this.#setNext(at);
        return;
      }
    }
    this.#append(this.#overflow, i);
    if (t < this.#t[OVERFLOW_MIN]) this.#t[OVERFLOW_MIN] = t;
    const at = this.#overflowTick();
    if (at < this.#t[NEXT_TICK]) this.#setNext(at);
  }

  /** Start of the top-level rotation holding the earliest overflow timer (> elapsed). */
  #overflowTick(): number {
    const top = this.#span[this.#levels];
    const rotation = Math.max(
      Math.floor(this.#t[ELAPSED] / top) + 1,
      Math.floor(this.#t[OVERFLOW_MIN] / top),
    );
    return rotation * top;
  }

  /**
   * Tick of the earliest pending slot (setting `#nextList`), or of the overflow
   * re-placement, or Infinity. The lowest non-empty level always holds the earliest
   * slot: everything in level k lies inside the current slot of level k+1.
   */
  #computeNext(): number {
    const e = this.#t[ELAPSED];
    const bits = this.#slotBits;
    for (let k = 0; k < this.#levels; k++) {
      if (this.#levelSlots[k] === 0) continue;
      const g = this.#span[k];
      const first = Math.floor(e / g) + 1; // absolute number of the first unprocessed slot
      const pos = first & this.#mask;
      const s = pos === 0 ? -1 : this.#findSet((k << bits) + pos, (k + 1) << bits);
      if (s < 0) throw new Error(`Timer wheel invariant broken: level ${k} holds stale slots`);
      this.#nextList = s;
      return (first - pos + (s & this.#mask)) * g;
    }
    if (this.#heads[this.#overflow] >= 0) {
      this.#nextList = this.#overflow;
      return this.#overflowTick();
    }
    this.#nextList = -1;
    return Infinity;
  }

  /** First set bitmap bit in [from, end), or -1. */
  #findSet(from: number, end: number): number {
    const bm = this.#bitmap;
    let w = from >>> 5;
    const lastWord = (end - 1) >>> 5;
    let word = bm[w] & (-1 << (from & 31));
    for (;;) {
      if (word !== 0) {
        const bit = (w << 5) + 31 - Math.clz32(word & -word);
        return bit < end ? bit : -1;
      }
      if (++w > lastWord) return -1;
      word = bm[w];
    }
  }

  #append(list: number, i: number): void {
    const m = this.#i32;
    const t = this.#tails[list];
    if (t < 0) {
      this.#heads[list] = i;
      m[i * W + PREV] = ~list;
      if (list < this.#wheelSlots) {
        this.#bitmap[list >>> 5] |= 1 << (list & 31);
        this.#levelSlots[list >>> this.#slotBits]++;
      }
    } else {
      m[t * W + NEXT] = i;
      m[i * W + PREV] = t;
    }
    m[i * W + NEXT] = ~list;
    this.#tails[list] = i;
  }

  /** O(1) unlink. The first member's `prev` and the last's `next` hold `~listId`. */
  #unlink(i: number): void {
    const m = this.#i32;
    const p = m[i * W + PREV];
    const n = m[i * W + NEXT];
    if (p >= 0) m[p * W + NEXT] = n;
    else this.#heads[~p] = n; // n < 0 leaves the head negative: empty
    if (n >= 0) m[n * W + PREV] = p;
    else this.#tails[~n] = p;
    if (p < 0 && n < 0) {
      const list = ~p;
      if (list < this.#wheelSlots) {
        this.#bitmap[list >>> 5] &= ~(1 << (list & 31));
        this.#levelSlots[list >>> this.#slotBits]--;
        this.#nextStale = true;
      } else if (list === this.#overflow) {
        this.#t[OVERFLOW_MIN] = Infinity;
        this.#nextStale = true;
      }
    }
  }

  /** Moves all of list `from` to the empty list `to` in O(1). */
  #moveList(from: number, to: number): void {
    const h = this.#heads[from];
    const t = this.#tails[from];
    this.#heads[to] = h;
    this.#tails[to] = t;
    this.#i32[h * W + PREV] = ~to;
    this.#i32[t * W + NEXT] = ~to;
    this.#heads[from] = -1;
    this.#tails[from] = -1;
  }

  #fireDue(onExpire: (id: number, handle: number) => void): number {
    // Detach first: timers that callbacks make overdue wait for the next advance.
    const proc = this.#proc;
    this.#moveList(this.#due, proc);
    let fired = 0;
    let i: number;
    while ((i = this.#heads[proc]) >= 0) {
      this.#unlink(i);
      fired++;
      this.#fire(i, onExpire);
    }
    return fired;
  }

  /** Frees unlinked entry `i`, then runs its callback with its (now stale) handle. */
  #fire(i: number, onExpire: (id: number, handle: number) => void): void {
    const handle = (this.#i32[i * W + GEN] << INDEX_BITS) | i;
    const id = this.#i32[i * W + ID];
    this.#release(i);
    this.#size--;
    onExpire(id, handle);
  }

  #release(i: number): void {
    const m = this.#i32;
    m[i * W + PREV] = FREE;
    m[i * W + GEN] = (m[i * W + GEN] + 1) & GEN_MASK;
    m[i * W + NEXT] = this.#free;
    this.#free = i;
  }

  #grow(): void {
    const old = this.capacity;
    if (old >= MAX_CAPACITY) {
      throw new RangeError(`Cannot arm more than ${MAX_CAPACITY} timers`);
    }
    const cap = Math.min(old * 2, MAX_CAPACITY);
    const buf = new ArrayBuffer(cap * RECORD_BYTES);
    const i32 = new Int32Array(buf);
    i32.set(this.#i32);
    this.#i32 = i32;
    this.#f64 = new Float64Array(buf);
  }
}
