/**
 * A small, fast, seeded pseudo-random number generator for simulations.
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, from PractRand)
 * on 32-bit integer math only, seeded through splitmix32. Everything is `Math.imul`,
 * shifts and `| 0`, so the same seed yields the same sequence on every platform and
 * every JavaScript engine; `Math.random` and `crypto` are never used (the core is
 * sans-IO: randomness is passed in, like time).
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 *
 * const a = new Rng(42);
 * const b = new Rng(42);
 * console.assert(a.nextU32() === b.nextU32());
 * const loss = a.fork("loss"); // its own stream: drawing from it leaves `a` alone
 * console.assert(loss.float() < 1);
 * ```
 *
 * @module
 */

/** 2^32 as a double; turns a u32 into a float in [0, 1) exactly. */
const TWO_POW_32 = 4294967296;

/**
 * One splitmix32 finalizer (the 32-bit MurmurHash3 fmix with splitmix's golden
 * increment folded in by the caller). Spreads every input bit over the output so
 * seeds 1 and 2 produce unrelated sfc32 states.
 */
function mix32(z: number): number {
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `label`: deterministic, no TextEncoder needed. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/**
 * A seeded PRNG (sfc32). Same seed → same sequence, byte for byte, everywhere.
 *
 * Not cryptographic: it drives simulated loss and jitter, never ISNs for real peers.
 */
export class Rng {
  // sfc32 state: three mixing words and a counter that guarantees a period of at
  // least 2^32 from any seed.
  #a = 0;
  #b = 0;
  #c = 0;
  #counter = 0;
  // The 64-bit seed, kept so fork() can derive children from it without drawing
  // from (and so perturbing) this stream.
  #seedLo = 0;
  #seedHi = 0;

  /**
   * Creates a generator from an integer seed.
   *
   * @param seed any safe integer (negative and > 2^32 are fine: both halves count)
   * @throws {RangeError} if `seed` is not a safe integer
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Cannot seed Rng: seed must be a safe integer, got "${seed}"`);
    }
    this.#init(seed >>> 0, Math.floor(seed / TWO_POW_32) >>> 0);
  }

  #init(lo: number, hi: number): void {
    this.#seedLo = lo;
    this.#seedHi = hi;
    // splitmix32 walk over the low word, with the high word mixed in, so every seed
    // bit reaches every state word.
    let s = (lo ^ mix32(hi ^ 0x6a09e667)) | 0;
    s = (s + 0x9e3779b9) | 0;
    this.#a = mix32(s);
    s = (s + 0x9e3779b9) | 0;
    this.#b = mix32(s);
    s = (s + 0x9e3779b9) | 0;
    this.#c = mix32(s);
    this.#counter = 1;
    // The author's recommended warm-up: let the state decorrelate from the seed.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** The next 32-bit unsigned integer, uniform in [0, 2^32). */
  nextU32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#counter;
    const t = (((a + b) | 0) + d) | 0;
    this.#counter = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.#c = (r + t) | 0;
    return t >>> 0;
  }

  /** A float uniform in [0, 1), with 32 bits of resolution. Consumes one draw. */
  float(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /**
   * An integer uniform in [0, n), without modulo bias (rejection sampling).
   *
   * @param n an integer in [1, 2^32]
   * @throws {RangeError} if `n` is out of range or not an integer
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Cannot draw Rng.int: n must be an integer in [1, 2^32], got "${n}"`);
    }
    // Reject the top sliver of [0, 2^32) that does not divide evenly by n; at most
    // half the draws are rejected (n just above 2^31), usually none.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let u = this.nextU32();
    while (u >= limit) u = this.nextU32();
    return u % n;
  }

  /**
   * True with probability `p`. Always consumes exactly one draw, whatever `p` is
   * (0 and 1 included), so a stream's position never depends on a configured value.
   */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /**
   * Derives an independent generator from this one's seed and `label`.
   *
   * Deterministic and stateless: it does not draw from this stream, so adding a new
   * fork never shifts an existing stream, and `fork("x")` returns a fresh generator
   * at the start of the same "x" stream each time. Different labels give unrelated
   * streams; forks can be forked again.
   */
  fork(label: string): Rng {
    const h = hashLabel(label);
    const child = new Rng(0);
    child.#init(
      mix32((this.#seedLo ^ h) + 0x9e3779b9),
      mix32(this.#seedHi ^ ((h << 16) | (h >>> 16)) ^ 0x5bd1e995),
    );
    return child;
  }
}
