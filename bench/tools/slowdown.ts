/**
 * The lifecycle slowdown with 1e6 connections in TIME-WAIT, measured more finely than
 * the benchmark does: one process, a baseline rig and a rig held at 1e6 records in
 * many short alternating slices (CPU time), the median of the per-round ratios and
 * its quartiles. Run it three times or more per checkout: between processes the
 * median moves by a few percent (where the tables land in memory).
 *
 * ```sh
 * deno run -A --v8-flags=--expose-gc bench/tools/slowdown.ts [checkout = .] [fresh | near] [rounds = 80]
 * ```
 *
 * `fresh`: the baseline is a new rig every 8 rounds (as the benchmark's "empty");
 * `near`: a long-lived rig whose records expire as they arrive (the near-empty table).
 * The checkout's `LifecycleRig` must take an options object (commit 4deecbe on).
 *
 * @module
 */
import { cpuRate, quantile } from "./ab.ts";

interface Rig {
  completed: number;
  run(n: number): void;
}

async function main(): Promise<void> {
  const [dir = ".", mode = "fresh", roundsArg = "80"] = Deno.args;
  if (mode !== "fresh" && mode !== "near") {
    console.error(`Unknown baseline "${mode}" (fresh or near)`);
    Deno.exit(2);
  }
  const rounds = Number(roundsArg);
  if (!(Number.isInteger(rounds) && rounds >= 4)) {
    console.error(`Invalid rounds "${roundsArg}" (a whole number, at least 4)`);
    Deno.exit(2);
  }
  const url = new URL("bench/engine_bench.ts", `file://${Deno.realPathSync(dir)}/`);
  const { LifecycleRig, NEAR_EMPTY_MSL } = await import(url.href) as {
    LifecycleRig: new (opts?: { timeWaitCapacity?: number; msl?: number }) => Rig;
    NEAR_EMPTY_MSL: number;
  };
  const n = 15_000; // lifecycles per slice, about 70 ms
  const full = new LifecycleRig({ timeWaitCapacity: 1_000_000 });
  while (full.completed < 1_050_000) {
    full.run(50_000);
    console.error(`filling: ${full.completed}`);
  }
  const near = mode === "near" ? new LifecycleRig({ msl: NEAR_EMPTY_MSL }) : null;
  near?.run(100_000);
  new LifecycleRig().run(30_000); // JIT warm-up
  (globalThis as { gc?: () => void }).gc?.();
  const ratios: number[] = [];
  let fresh = new LifecycleRig();
  for (let r = 0; r < rounds; r++) {
    if (!near && r % 8 === 0) fresh = new LifecycleRig();
    const base = near ?? fresh;
    const rate = [0, 0];
    for (const k of r % 2 ? [1, 0] : [0, 1]) rate[k] = cpuRate(k === 0 ? base : full, n);
    ratios.push(rate[0] / rate[1]);
  }
  const q = (f: number) => quantile(ratios, f).toFixed(3);
  console.log(`${mode} / 1e6 in TIME-WAIT: median ${q(0.5)} (quartiles ${q(0.25)}, ${q(0.75)})`);
}

if (import.meta.main) await main();
