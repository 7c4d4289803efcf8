/**
 * A/B of the engine's lifecycle rate between two checkouts, in one process.
 *
 * ```sh
 * git worktree add /tmp/base HEAD   # the "before"
 * deno run -A --v8-flags=--expose-gc bench/tools/ab.ts /tmp/base . [rounds] [lifecycles]
 * ```
 *
 * Both checkouts' `LifecycleRig` run in alternating slices (a fresh rig each), the
 * order flipping every round, and the CPU time of each slice gives its rate. On a
 * shared VM the same code swings by 2x within minutes, so single runs compare
 * nothing: read the median of the per-round ratios, and run it once more with the two
 * checkouts swapped (the first-loaded module has had a few percent of bias).
 *
 * @module
 */
import process from "node:process";

interface Side {
  dir: string;
  Rig: new () => { run(n: number): void };
  rates: number[];
}

/** The `q` quantile of `xs` (0.5: the median), by rank. */
export function quantile(xs: number[], q: number): number {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.floor(a.length * q))];
}

/** Lifecycles per CPU second of one `rig.run(n)`: a VM's stolen time does not count. */
export function cpuRate(rig: { run(n: number): void }, n: number): number {
  const u0 = process.cpuUsage();
  rig.run(n);
  const u = process.cpuUsage(u0);
  return n / ((u.user + u.system) / 1e6);
}

async function main(): Promise<void> {
  const [a, b, roundsArg, nArg] = Deno.args;
  if (!a || !b) {
    console.error("Usage: ab.ts <checkout A> <checkout B> [rounds = 30] [lifecycles = 15000]");
    Deno.exit(2);
  }
  const rounds = Number(roundsArg ?? 30);
  const n = Number(nArg ?? 15_000);
  const sides: Side[] = [];
  for (const dir of [a, b]) {
    const url = new URL(`bench/engine_bench.ts`, `file://${Deno.realPathSync(dir)}/`);
    const { LifecycleRig } = await import(url.href);
    new LifecycleRig().run(30_000); // JIT warm-up
    sides.push({ dir, Rig: LifecycleRig, rates: [] });
  }
  (globalThis as { gc?: () => void }).gc?.();
  for (let r = 0; r < rounds; r++) {
    for (const s of r % 2 === 0 ? sides : [...sides].reverse()) {
      s.rates.push(cpuRate(new s.Rig(), n));
    }
  }
  const base = sides[0].rates;
  for (const s of sides) {
    const ratio = quantile(s.rates.map((v, i) => v / base[i]), 0.5);
    console.log(
      `${s.dir}: median ${quantile(s.rates, 0.5).toFixed(0)}, p90 ${
        quantile(s.rates, 0.9).toFixed(0)
      } lifecycles/s; per-round ratio to A ${ratio.toFixed(3)}`,
    );
  }
}

if (import.meta.main) await main();
