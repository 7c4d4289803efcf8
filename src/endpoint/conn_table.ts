/**
 * Open-addressing hash tables for the endpoint's two connection indexes:
 *
 * - by 4-tuple (RFC 9293 §3.10.7: "the TCB is identified by the 4-tuple"; the local
 *   address is the endpoint's own, so remote address id, remote port and local port
 *   suffice): {@linkcode PairTable} keyed by (address id, ports packed in 32 bits);
 * - by connection id: keyed by the id's high and low 32 bits ({@linkcode idHigh}).
 *
 * Why not `Map`: a 4-tuple key needs 16 + 16 + address bits, above V8's small-integer
 * range, so every lookup boxed a heap number and hashed a double. Worse, a `Map` under
 * constant insert/delete churn rehashes into a new backing store now and then, and V8
 * links each obsolete store to its successor (for live iterators) without clearing its
 * entries. Once one obsolete store is promoted to the old generation, the chain keeps
 * every later store, and every connection they held, alive through young-generation
 * collections: measured, ~28 % of all bytes a lifecycle allocated survived each
 * scavenge. Here keys live in two `Int32Array`s, with linear probing and
 * backward-shift deletion (no tombstones), and a lookup allocates nothing.
 *
 * @example
 * ```ts
 * import { PairTable } from "./conn_table.ts";
 * const t = new PairTable<string>(0x5eed);
 * t.set(0, 80 << 16 | 49152, "a");
 * if (t.get(0, 80 << 16 | 49152) !== "a" || t.get(0, 80 << 16 | 49153) !== undefined) {
 *   throw new Error("lookup");
 * }
 * t.delete(0, 80 << 16 | 49152);
 * if (t.size !== 0) throw new Error("delete");
 * ```
 *
 * @module
 */

/** The two ports of a 4-tuple as one int32 key word. */
export function portsKey(remotePort: number, localPort: number): number {
  return (remotePort << 16) | localPort;
}

/**
 * The high key word of a connection id: its bits above 32, or -1 when `id` is not a
 * non-negative safe integer (no connection has such an id).
 */
export function idHigh(id: number): number {
  if ((id >>> 0) === id) return 0;
  return Number.isSafeInteger(id) && id >= 0 ? Math.floor(id / 4294967296) : -1;
}

const EMPTY = -1;

/** Values by a pair of int32 keys; the first key must not be -1. */
export class PairTable<T> {
  #ka: Int32Array;
  #kb: Int32Array;
  #vals: (T | undefined)[];
  #mask: number;
  #size = 0;
  #seed: number;

  /**
   * `seed` keys the hash: the remote side picks its address and port, and must not be
   * able to aim many keys at one probe run (pass a value derived from a secret).
   *
   * Keys issued in sequence (connection ids) are hashed too. With their low bits as
   * the slot, the live ids formed one long run of occupied slots, and a deletion's
   * backward shift walked the whole run looking for the empty slot that ends it
   * (7 % of a lifecycle at 256 live connections).
   */
  constructor(seed: number, initialCapacity = 64) {
    this.#seed = seed | 0;
    let cap = 16;
    while (cap < initialCapacity * 2) cap *= 2;
    this.#ka = new Int32Array(cap).fill(EMPTY);
    this.#kb = new Int32Array(cap);
    this.#vals = new Array<T | undefined>(cap).fill(undefined);
    this.#mask = cap - 1;
  }

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** The value for the key, or `undefined`. */
  get(a: number, b: number): T | undefined {
    const i = a === EMPTY ? -1 : this.#find(a, b);
    return i < 0 ? undefined : this.#vals[i];
  }

  /** Whether the key is present. */
  has(a: number, b: number): boolean {
    return a !== EMPTY && this.#find(a, b) >= 0;
  }

  /** Sets (or replaces) the value for the key. */
  set(a: number, b: number, value: T): void {
    if (a === EMPTY) throw new RangeError("PairTable: the first key word must not be -1");
    const found = this.#find(a, b);
    if (found >= 0) {
      this.#vals[found] = value;
      return;
    }
    // Grow at half full: linear probing stays short.
    if ((this.#size + 1) * 2 > this.#ka.length) this.#grow();
    this.#insert(a, b, value);
    this.#size++;
  }

  /** Removes the key; returns whether it was present. */
  delete(a: number, b: number): boolean {
    let i = a === EMPTY ? -1 : this.#find(a, b);
    if (i < 0) return false;
    const ka = this.#ka;
    const kb = this.#kb;
    const vals = this.#vals;
    const mask = this.#mask;
    // Backward-shift deletion: pull later entries of the probe run into the hole when
    // their home slot does not lie (cyclically) between the hole and themselves.
    for (let j = (i + 1) & mask; ka[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.#slot(ka[j], kb[j], mask);
      const movable = i <= j ? home <= i || home > j : home <= i && home > j;
      if (movable) {
        ka[i] = ka[j];
        kb[i] = kb[j];
        vals[i] = vals[j];
        i = j;
      }
    }
    ka[i] = EMPTY;
    vals[i] = undefined;
    this.#size--;
    return true;
  }

  /** Calls `fn` for every value (order unspecified). */
  forEach(fn: (value: T) => void): void {
    const ka = this.#ka;
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] !== EMPTY) fn(this.#vals[i] as T);
    }
  }

  #find(a: number, b: number): number {
    const ka = this.#ka;
    const kb = this.#kb;
    const mask = this.#mask;
    for (let i = this.#slot(a, b, mask);; i = (i + 1) & mask) {
      const x = ka[i];
      if (x === EMPTY) return -1;
      if (x === a && kb[i] === b) return i;
    }
  }

  #insert(a: number, b: number, value: T): void {
    const ka = this.#ka;
    const mask = this.#mask;
    let i = this.#slot(a, b, mask);
    while (ka[i] !== EMPTY) i = (i + 1) & mask;
    ka[i] = a;
    this.#kb[i] = b;
    this.#vals[i] = value;
  }

  #slot(a: number, b: number, mask: number): number {
    return slotOf(a, b, mask, this.#seed);
  }

  #grow(): void {
    const oldA = this.#ka;
    const oldB = this.#kb;
    const oldVals = this.#vals;
    const cap = oldA.length * 2;
    this.#ka = new Int32Array(cap).fill(EMPTY);
    this.#kb = new Int32Array(cap);
    this.#vals = new Array<T | undefined>(cap).fill(undefined);
    this.#mask = cap - 1;
    for (let i = 0; i < oldA.length; i++) {
      if (oldA[i] !== EMPTY) this.#insert(oldA[i], oldB[i], oldVals[i] as T);
    }
  }
}

/** Home slot: a seeded multiplicative mix of both key words (murmur3's finalizer). */
function slotOf(a: number, b: number, mask: number, seed: number): number {
  let h = Math.imul((b ^ seed) ^ Math.imul(a + seed, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 15;
  return h & mask;
}

/** Slots of {@linkcode IdTable}'s direct-mapped front. */
const ID_SLOTS = 4096;

/**
 * Values by connection id. Ids are issued in sequence and a host's live connections
 * are mostly recent ones, so a direct-mapped array indexed by the id's low bits holds
 * nearly all of them: a lookup is one load and one comparison, no hashing. An id whose
 * slot is taken by another live one goes to a {@linkcode PairTable} behind it.
 */
export class IdTable<T> {
  #ids = new Float64Array(ID_SLOTS).fill(-1);
  #vals = new Array<T | undefined>(ID_SLOTS).fill(undefined);
  #front = 0;
  #spill: PairTable<T>;

  constructor(seed: number) {
    this.#spill = new PairTable<T>(seed);
  }

  /** Entries held. */
  get size(): number {
    return this.#front + this.#spill.size;
  }

  /** The value for `id`, or `undefined`. */
  get(id: number): T | undefined {
    const s = id & (ID_SLOTS - 1);
    if (this.#ids[s] === id) return this.#vals[s];
    return this.#spill.size === 0 ? undefined : this.#spill.get(idHigh(id), id | 0);
  }

  /** Sets (or replaces) the value for `id` (a non-negative safe integer). */
  set(id: number, value: T): void {
    const s = id & (ID_SLOTS - 1);
    if (this.#ids[s] === id) {
      this.#vals[s] = value;
    } else if (
      this.#ids[s] === -1 && !(this.#spill.size > 0 && this.#spill.has(idHigh(id), id | 0))
    ) {
      this.#ids[s] = id;
      this.#vals[s] = value;
      this.#front++;
    } else {
      this.#spill.set(idHigh(id), id | 0, value);
    }
  }

  /** Removes `id`; returns whether it was present. */
  delete(id: number): boolean {
    const s = id & (ID_SLOTS - 1);
    if (this.#ids[s] === id) {
      this.#ids[s] = -1;
      this.#vals[s] = undefined;
      this.#front--;
      return true;
    }
    return this.#spill.size > 0 && this.#spill.delete(idHigh(id), id | 0);
  }

  /** Calls `fn` for every value (order unspecified). */
  forEach(fn: (value: T) => void): void {
    for (let s = 0; s < ID_SLOTS; s++) {
      if (this.#ids[s] !== -1) fn(this.#vals[s] as T);
    }
    this.#spill.forEach(fn);
  }
}
