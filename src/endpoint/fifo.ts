/**
 * A first-in first-out queue over one array that keeps its storage when it drains.
 *
 * The endpoint's event, transmit and owed-ACK queues fill and drain many times per
 * connection. Emptying an array with `length = 0` makes V8 drop its backing store,
 * so every refill grew it again (`GrowFastSmiOrObjectElements`, ~1.5 % of a lifecycle
 * in `bench/engine_bench.ts`). Here the indices rewind instead, and a popped slot is
 * cleared so the queue keeps nothing alive. A queue that once held more than
 * {@linkcode KEEP_SLOTS} items lets that storage go when it drains.
 *
 * @module
 */

/** Storage kept across drains, in slots (a drained queue larger than this shrinks). */
export const KEEP_SLOTS = 4096;

/** A FIFO of `T` (never holding `undefined`). */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  #tail = 0;

  /** Items queued. */
  get length(): number {
    return this.#tail - this.#head;
  }

  /** Appends `item`. */
  push(item: T): void {
    const items = this.#items;
    if (this.#tail < items.length) items[this.#tail] = item;
    else items.push(item);
    this.#tail++;
  }

  /** The `i`-th oldest item (0 is the next `shift`), or `undefined` past the end. */
  at(i: number): T | undefined {
    return i >= 0 && i < this.length ? this.#items[this.#head + i] : undefined;
  }

  /** Removes and returns the oldest item, or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#head === this.#tail) return undefined;
    const items = this.#items;
    const item = items[this.#head];
    items[this.#head++] = undefined;
    if (this.#head === this.#tail) {
      this.#head = this.#tail = 0;
      if (items.length > KEEP_SLOTS) items.length = 0;
    }
    return item;
  }
}
