/**
 * mulberry32: a tiny seeded PRNG for property tests, so a failing run names its seed
 * and replays. Returns floats in [0, 1). (The simulator's own generator, with integer
 * draws and streams, is `src/sim/rng.ts`.)
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
