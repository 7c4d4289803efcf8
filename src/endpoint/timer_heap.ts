/**
 * A binary min-heap of (deadline, id) pairs with lazy cancellation: the owner
 * re-checks an id when it pops, so stale entries cost one wasted pop.
 *
 * @module
 */

/** Deadlines in a typed-array heap; no object per entry. */
export class TimerHeap {
  #deadlines = new Float64Array(64);
  #ids = new Float64Array(64);
  #size = 0;

  /** Entries held. */
  get size(): number {
    return this.#size;
  }

  /** Adds `id` due at `deadline`. */
  push(deadline: number, id: number): void {
    if (this.#size === this.#deadlines.length) this.#grow();
    const d = this.#deadlines;
    const ids = this.#ids;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (d[parent] <= deadline) break;
      d[i] = d[parent];
      ids[i] = ids[parent];
      i = parent;
    }
    d[i] = deadline;
    ids[i] = id;
  }

  /** The earliest deadline (Infinity when empty). */
  peekDeadline(): number {
    return this.#size > 0 ? this.#deadlines[0] : Infinity;
  }

  /** Removes the earliest entry and returns its id. */
  pop(): number {
    const d = this.#deadlines;
    const ids = this.#ids;
    const top = ids[0];
    const n = --this.#size;
    const lastD = d[n];
    const lastId = ids[n];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && d[child + 1] < d[child]) child++;
      if (d[child] >= lastD) break;
      d[i] = d[child];
      ids[i] = ids[child];
      i = child;
    }
    d[i] = lastD;
    ids[i] = lastId;
    return top;
  }

  #grow(): void {
    const d = new Float64Array(this.#deadlines.length * 2);
    d.set(this.#deadlines);
    const ids = new Float64Array(this.#ids.length * 2);
    ids.set(this.#ids);
    this.#deadlines = d;
    this.#ids = ids;
  }
}
