/**
 * A growable FIFO of bytes: the send buffer (bytes from SND.UNA on) and the
 * receive buffer (bytes received in order but not yet read by the application).
 *
 * Views handed out by {@linkcode ByteQueue.view} stay valid until the next `push`
 * (which may compact or grow the storage); the TCB transmits a segment, and the
 * host encodes it, before any further `push`.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/** A byte FIFO over one contiguous buffer with a moving head. */
export class ByteQueue {
  #buf: Uint8Array;
  #head = 0;
  #tail = 0;

  /** Creates a queue with room for `initial` bytes before it first grows. */
  constructor(initial = 256) {
    this.#buf = initial > 0 ? new Uint8Array(initial) : EMPTY;
  }

  /** Bytes held. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** Appends `data` (copied). */
  push(data: Uint8Array, start = 0, end = data.length): void {
    const n = end - start;
    if (n <= 0) return;
    if (this.#tail + n > this.#buf.length) this.#makeRoom(n);
    this.#buf.set(
      start === 0 && end === data.length ? data : data.subarray(start, end),
      this.#tail,
    );
    this.#tail += n;
  }

  /** Drops `n` bytes from the front. */
  drop(n: number): void {
    if (n < 0 || n > this.length) throw new RangeError(`Cannot drop ${n} of ${this.length} bytes`);
    this.#head += n;
    if (this.#head === this.#tail) this.#head = this.#tail = 0;
  }

  /** A view of `len` bytes starting `offset` bytes after the front (no copy). */
  view(offset: number, len: number): Uint8Array {
    if (offset < 0 || len < 0 || offset + len > this.length) {
      throw new RangeError(`View ${offset}+${len} outside ${this.length} bytes`);
    }
    if (len === 0) return EMPTY;
    const s = this.#head + offset;
    return this.#buf.subarray(s, s + len);
  }

  /** Removes up to `max` bytes from the front and returns them as a new array. */
  take(max: number = this.length): Uint8Array {
    const n = Math.min(max, this.length);
    if (n === 0) return EMPTY;
    const out = this.#buf.slice(this.#head, this.#head + n);
    this.drop(n);
    return out;
  }

  /** Forgets everything. */
  clear(): void {
    this.#head = this.#tail = 0;
  }

  #makeRoom(n: number): void {
    const len = this.length;
    if (len + n <= this.#buf.length && this.#head >= this.#buf.length >>> 1) {
      // Enough space overall and the dead front is large: slide down instead of growing.
      this.#buf.copyWithin(0, this.#head, this.#tail);
    } else {
      let cap = Math.max(64, this.#buf.length);
      while (cap < len + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(this.#head, this.#tail));
      this.#buf = next;
    }
    this.#head = 0;
    this.#tail = len;
  }
}
