/**
 * A constant-duration timer queue: a doubly linked FIFO over typed arrays.
 *
 * Every TIME-WAIT entry waits the same 2·MSL, so deadline order is arrival order
 * and a FIFO replaces a priority queue (RFC 9293 §3.6.1; FreeBSD `twq_2msl`, Node's
 * per-duration timer lists). Append, unlink and expiry are O(1); the idle tick
 * ("anything due?") is one comparison against a cached head deadline.
 *
 * Entries are the caller's record indices (for example the TIME-WAIT table's slot),
 * so the queue needs no storage of its own beyond one Int32Array holding, per slot,
 * `prev`/`next` links and a deadline side by side — 12 bytes per slot, and an unlink
 * touches one cache line per node it rewrites.
 *
 * Deadlines are stored as whole milliseconds modulo 2^32, rounded up so a timer never
 * fires early; full values are rebuilt from the newest deadline, which is kept as a
 * number. That is exact while the queue spans less than 2^32 ms (49 days): expire at
 * least once in that time (any engine does so every few ms).
 *
 * @example
 * ```ts
 * import { FifoTimer } from "./fifo_timer.ts";
 *
 * const q = new FifoTimer(16);
 * q.append(3, 1000);
 * q.append(7, 1500);
 * const fired: number[] = [];
 * q.popExpired(1200, (idx) => fired.push(idx));
 * if (fired.join() !== "3" || q.headDeadline() !== 1500) throw new Error("FIFO order");
 * ```
 *
 * @module
 */

/** `prev`/`next` value of a linked slot at either end of the queue. */
const NONE = -1;
/** `prev` value of a slot that is not in the queue. */
const UNLINKED = -2;
/** Indices into `#full`. */
const HEAD = 0;
const TAIL = 1;

/**
 * A FIFO of slot indices with non-decreasing deadlines.
 *
 * The caller owns the indices: a slot is either unlinked or linked once. Appending a
 * deadline earlier than the current tail's would break arrival order; it is raised to
 * the tail's deadline instead, so the slot fires a little late, never early.
 */
export class FifoTimer {
  /**
   * Per slot, interleaved so an unlink touches one cache line per node:
   * `[3i] = prev`, `[3i + 1] = next`, `[3i + 2] = deadline` (whole ms modulo 2^32).
   */
  #node: Int32Array;
  #head = NONE;
  #tail = NONE;
  #size = 0;
  /**
   * `[TAIL]`: full deadline of the tail, the reference every 32-bit deadline is rebuilt
   * from. `[HEAD]`: full deadline of the head (Infinity when empty), cached for the idle
   * tick; exact except inside {@link popExpired}, where it may lag behind as a lower
   * bound. Both live in a Float64Array, not in fields: V8 boxes every double stored in
   * an object field (about 10 ns a store), a typed array element costs nothing.
   */
  readonly #full = new Float64Array([Infinity, -Infinity]);

  /** Creates a queue for slot indices `0 .. capacity - 1` (grow with {@link grow}). */
  constructor(capacity = 1024) {
    this.#node = new Int32Array(capacity * 3);
    this.#markUnlinked(0, capacity);
  }

  /** Number of slot indices the queue can hold (`0 .. capacity - 1`). */
  get capacity(): number {
    return this.#node.length / 3;
  }

  /** Number of linked slots. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the queue's typed array (12 per slot). */
  get byteLength(): number {
    return this.#node.byteLength;
  }

  /** Grows the index space to `capacity` slots, keeping every linked slot. */
  grow(capacity: number): void {
    const old = this.capacity;
    if (capacity <= old) return;
    const node = new Int32Array(capacity * 3);
    node.set(this.#node);
    this.#node = node;
    this.#markUnlinked(old, capacity);
  }

  /** Whether `idx` is linked. */
  has(idx: number): boolean {
    return this.#node[idx * 3] !== UNLINKED;
  }

  /**
   * Links `idx` at the tail with `deadline` (ms). `idx` must not be linked.
   * A deadline before the tail's is raised to it (arrival order is deadline order).
   */
  append(idx: number, deadline: number): void {
    const node = this.#node;
    const full = this.#full;
    const b = idx * 3;
    if (node[b] !== UNLINKED) {
      throw new Error(`Cannot append slot ${idx}: it is already in the queue`);
    }
    // Round up to a whole ms so the 32-bit copy never makes the slot fire early.
    let d = Math.ceil(deadline);
    if (d < full[TAIL]) d = full[TAIL];
    const tail = this.#tail;
    node[b] = tail;
    node[b + 1] = NONE;
    node[b + 2] = d; // stored modulo 2^32
    if (tail === NONE) {
      this.#head = idx;
      full[HEAD] = d;
    } else {
      node[tail * 3 + 1] = idx;
    }
    this.#tail = idx;
    full[TAIL] = d;
    this.#size++;
  }

  /** Unlinks `idx` in O(1); a no-op when it is not linked. */
  unlink(idx: number): void {
    const node = this.#node;
    const full = this.#full;
    const b = idx * 3;
    const p = node[b];
    if (p === UNLINKED) return;
    const n = node[b + 1];
    if (n === NONE) {
      this.#tail = p;
      // Later slots are never earlier: step the reference back by the 32-bit difference.
      full[TAIL] = p === NONE ? -Infinity : full[TAIL] - ((node[b + 2] - node[p * 3 + 2]) >>> 0);
    } else {
      node[n * 3] = p;
    }
    if (p === NONE) {
      this.#head = n;
      full[HEAD] = n === NONE ? Infinity : this.#fullOf(n);
    } else {
      node[p * 3 + 1] = n;
    }
    node[b] = UNLINKED;
    node[b + 1] = NONE;
    this.#size--;
  }

  /** The oldest slot, or -1 when empty. */
  head(): number {
    return this.#head;
  }

  /** The newest slot, or -1 when empty. */
  tail(): number {
    return this.#tail;
  }

  /** The slot after `idx` (towards the tail), or -1. For iteration in deadline order. */
  next(idx: number): number {
    return this.#node[idx * 3 + 1];
  }

  /** The head's deadline in ms (rounded up to a whole ms), or Infinity when empty. */
  headDeadline(): number {
    return this.#head === NONE ? Infinity : this.#fullOf(this.#head);
  }

  /** The deadline of linked slot `idx` in ms (rounded up to a whole ms). */
  deadline(idx: number): number {
    return this.#fullOf(idx);
  }

  /**
   * Whether {@link popExpired} at `now` may have work: one comparison with the cached
   * head deadline, for owners that run their own idle tick.
   */
  due(now: number): boolean {
    return this.#full[HEAD] <= now;
  }

  /**
   * Unlinks every slot whose deadline is `<= now`, oldest first, calling
   * `onExpire(idx)` after each unlink (so the callback may append `idx` again).
   * Slots appended during the call wait for the next call, so a callback that
   * re-arms with a past deadline cannot spin. Returns the number expired.
   */
  popExpired(now: number, onExpire: (idx: number) => void): number {
    // The idle tick: one comparison, no array access, small enough to inline.
    if (!(this.#full[HEAD] <= now)) return 0;
    return this.#popExpired(now, onExpire);
  }

  #popExpired(now: number, onExpire: (idx: number) => void): number {
    let head = this.#head;
    if (head === NONE) return 0;
    // Deadlines are whole ms, so due means deadline <= floor(now). Compare 32-bit
    // offsets from the first head's deadline: no floating point per entry, and no
    // cached head deadline to maintain until the loop ends.
    const base32 = this.#node[head * 3 + 2];
    const limit = Math.floor(now) - this.#fullOf(head);
    let budget = this.#size;
    let fired = 0;
    while (budget-- > 0) {
      head = this.#head;
      if (head === NONE) break;
      const node = this.#node; // a callback may have grown the queue
      const b = head * 3;
      if (((node[b + 2] - base32) >>> 0) > limit) break;
      const n = node[b + 1];
      this.#head = n;
      if (n === NONE) {
        this.#tail = NONE;
        this.#full[TAIL] = -Infinity;
      } else {
        node[n * 3] = NONE;
      }
      node[b] = UNLINKED;
      node[b + 1] = NONE;
      this.#size--;
      fired++;
      onExpire(head);
    }
    this.#full[HEAD] = this.#head === NONE ? Infinity : this.#fullOf(this.#head);
    return fired;
  }

  /**
   * Unlinks the head slot `idx` — the expiry fast path of {@link unlink}; the caller
   * has checked `idx === head()`. For owners that expire with their own loop.
   */
  popHead(idx: number): void {
    if (idx !== this.#head || idx === NONE) {
      throw new Error(`Cannot pop slot ${idx}: it is not the head`);
    }
    this.unlink(idx);
  }

  /** Unlinks every slot. O(size). */
  clear(): void {
    const node = this.#node;
    let i = this.#head;
    while (i !== NONE) {
      const n = node[i * 3 + 1];
      node[i * 3] = UNLINKED;
      node[i * 3 + 1] = NONE;
      i = n;
    }
    this.#head = NONE;
    this.#tail = NONE;
    this.#size = 0;
    this.#full[HEAD] = Infinity;
    this.#full[TAIL] = -Infinity;
  }

  /** Full deadline of linked slot `idx`, rebuilt from the tail's. */
  #fullOf(idx: number): number {
    const node = this.#node;
    return this.#full[TAIL] - ((node[this.#tail * 3 + 2] - node[idx * 3 + 2]) >>> 0);
  }

  #markUnlinked(from: number, to: number): void {
    const node = this.#node;
    for (let i = from; i < to; i++) {
      node[i * 3] = UNLINKED;
      node[i * 3 + 1] = NONE;
    }
  }
}
