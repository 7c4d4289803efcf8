/**
 * Out-of-order reassembly (RFC 9293 §3.10.7.4, seventh check: segments beyond
 * RCV.NXT are held until the gap before them fills).
 *
 * Holds copies of segment payloads keyed by sequence number, merged lazily:
 * overlaps are trimmed when data is pulled out in order.
 *
 * @module
 */
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from "../wire/seq.ts";

const NONE: Piece[] = [];

interface Piece {
  seq: number;
  data: Uint8Array;
}

/** Segments received beyond RCV.NXT, in sequence order. */
export class Reassembly {
  /** Created on first use: most connections never see a segment out of order. */
  #pieces: Piece[] = NONE;
  #bytes = 0;

  /** Bytes held (overlaps counted once per piece). */
  get bytes(): number {
    return this.#bytes;
  }

  /** Number of held pieces. */
  get count(): number {
    return this.#pieces.length;
  }

  /** Holds a copy of `data` starting at `seq`. Exact duplicates are ignored. */
  insert(seq: number, data: Uint8Array): void {
    if (data.length === 0) return;
    const end = seqAdd(seq, data.length);
    if (this.#pieces === NONE) this.#pieces = [];
    let i = this.#pieces.length;
    while (i > 0 && seqGt(this.#pieces[i - 1].seq, seq)) i--;
    const prev = this.#pieces[i - 1];
    // Already covered entirely by the piece before: nothing new.
    if (prev && seqLe(end, seqAdd(prev.seq, prev.data.length))) return;
    this.#pieces.splice(i, 0, { seq, data: data.slice() });
    this.#bytes += data.length;
  }

  /**
   * Pulls out everything contiguous with `rcvNxt`, calling `deliver` for each run
   * in order; returns the new RCV.NXT.
   */
  pull(rcvNxt: number, deliver: (data: Uint8Array) => void): number {
    let next = rcvNxt;
    while (this.#pieces.length > 0) {
      const p = this.#pieces[0];
      if (seqGt(p.seq, next)) break; // still a hole before it
      this.#pieces.shift();
      this.#bytes -= p.data.length;
      const skip = seqDiff(next, p.seq);
      if (skip < p.data.length) {
        const fresh = p.data.subarray(skip);
        deliver(fresh);
        next = seqAdd(next, fresh.length);
      }
    }
    return next;
  }

  /** Drops pieces that start at or after `limit` (e.g. beyond the peer's FIN). */
  dropFrom(limit: number): void {
    while (this.#pieces.length > 0) {
      const last = this.#pieces[this.#pieces.length - 1];
      if (seqLt(last.seq, limit)) break;
      this.#pieces.pop();
      this.#bytes -= last.data.length;
    }
  }

  /** Forgets everything. */
  clear(): void {
    this.#pieces = NONE;
    this.#bytes = 0;
  }
}
