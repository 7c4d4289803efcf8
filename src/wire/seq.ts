/**
 * Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4).
 *
 * Every comparison of sequence or acknowledgment numbers in finwait goes through
 * this module; a bare `<` on two sequence numbers is a bug once the space wraps.
 *
 * @module
 */

/** Adds `n` (may be negative) to a sequence number, wrapping at 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/**
 * The signed distance `b - a` in sequence space, in [-2^31, 2^31); numbers exactly
 * 2^31 apart read as -2^31 (RFC 1982 §3.2 leaves that case undefined).
 */
export function seqDiff(b: number, a: number): number {
  return (b - a) | 0;
}

/** `a < b` in sequence space. */
export function seqLt(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/** `a <= b` in sequence space. */
export function seqLe(a: number, b: number): boolean {
  return ((a - b) | 0) <= 0;
}

/** `a > b` in sequence space. */
export function seqGt(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** `a >= b` in sequence space. */
export function seqGe(a: number, b: number): boolean {
  return ((a - b) | 0) >= 0;
}

/** `lo <= x < hi` in sequence space (the window test of RFC 9293 §3.4). */
export function seqInWindow(x: number, lo: number, hi: number): boolean {
  return ((x - lo) | 0) >= 0 && ((x - hi) | 0) < 0;
}

/** The larger of two sequence numbers. */
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}

/** The smaller of two sequence numbers. */
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}
