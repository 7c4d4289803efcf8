/**
 * The latency of one dependent load into an array of each size: a random cycle through
 * its cache lines, each load's address coming from the load before (pointer chasing),
 * so no two misses overlap. It tells how much a random access into a table of a given
 * size costs on this machine, which bounds what a table of 1e6 TIME-WAIT records
 * (an index of 8 MiB) can cost a lifecycle.
 *
 * ```sh
 * deno run bench/tools/mem_latency.ts [MiB ...]
 * ```
 *
 * @module
 */

/** ns per dependent load through `bytes` of Int32Array, one load per 64-byte line. */
export function chaseNs(bytes: number, loads = 2_000_000): number {
  const a = new Int32Array(bytes >>> 2);
  const lines = a.length >>> 4;
  // A random cyclic order of the lines (Sattolo's algorithm: one cycle through all).
  const order = new Int32Array(lines);
  for (let i = 0; i < lines; i++) order[i] = i;
  for (let i = lines - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * i);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (let i = 0; i < lines; i++) a[order[i] << 4] = order[(i + 1) % lines] << 4;
  let p = 0;
  for (let i = 0; i < Math.min(loads, lines * 2); i++) p = a[p]; // warm the TLB and caches
  const t0 = performance.now();
  for (let i = 0; i < loads; i++) p = a[p];
  const ns = ((performance.now() - t0) * 1e6) / loads;
  if (p < 0) throw new Error("unreachable: indices are non-negative");
  return ns;
}

if (import.meta.main) {
  const sizes = Deno.args.length > 0 ? Deno.args.map(Number) : [0.25, 1, 2, 4, 8, 32, 64];
  for (const mib of sizes) {
    if (!(mib > 0)) {
      console.error(`Invalid size "${mib}" MiB`);
      Deno.exit(2);
    }
    const ns = chaseNs(Math.round(mib * 1024 * 1024));
    console.log(
      `${String(mib).padStart(6)} MiB: ${ns.toFixed(1).padStart(6)} ns per dependent load`,
    );
  }
}
