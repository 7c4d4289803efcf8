/**
 * A/B of the TIME-WAIT table's own cost per connection at 1e6 records between two
 * checkouts, in one process: `table_cost.ts`'s work (the connect-time check, writes
 * standing for the engine's allocations, the insert that evicts the oldest record) on
 * one table of each checkout, in alternating slices, the order flipping every round.
 * The engine's lifecycle (`ab.ts`, `slowdown.ts`) scatters by more than a table change
 * moves it; this isolates the table. Run it a second time with the checkouts swapped
 * (the first-loaded module has had a few percent of bias).
 *
 * ```sh
 * git worktree add /tmp/base HEAD   # the "before"
 * deno run -A bench/tools/table_ab.ts /tmp/base . [pollution bytes = 2300] [rounds = 40]
 * ```
 *
 * @module
 */
import type { TimeWaitTable } from "../../src/endpoint/time_wait.ts";
import { quantile } from "./ab.ts";
import { rig } from "./table_cost.ts";

const CAP = 1_000_000;
const SLICE = 50_000;

async function main(): Promise<void> {
  const [a, b, pollutionArg = "2300", roundsArg = "40"] = Deno.args;
  const pollution = Number(pollutionArg);
  const rounds = Number(roundsArg);
  if (!a || !b || !(pollution >= 0) || !(Number.isInteger(rounds) && rounds >= 2)) {
    console.error(
      "Usage: table_ab.ts <checkout A> <checkout B> [pollution bytes = 2300] [rounds = 40]",
    );
    Deno.exit(2);
  }
  const sides = await Promise.all([a, b].map(async (dir) => {
    const url = new URL("src/endpoint/time_wait.ts", `file://${Deno.realPathSync(dir)}/`);
    const { TimeWaitTable: Table } = await import(url.href) as {
      TimeWaitTable: typeof TimeWaitTable;
    };
    return { dir, step: rig(CAP, pollution, Table), ns: [] as number[] };
  }));
  for (const side of sides) for (let i = 0; i < CAP + 100_000; i++) side.step();
  for (let r = 0; r < rounds; r++) {
    for (let v = 0; v < 2; v++) {
      const side = sides[(r + v) % 2];
      const t0 = performance.now();
      for (let i = 0; i < SLICE; i++) side.step();
      side.ns.push((performance.now() - t0) * 1e6 / SLICE);
    }
  }
  const ratios = sides[1].ns.map((x, r) => x / sides[0].ns[r]);
  for (const side of sides) {
    console.log(`${side.dir}: median ${quantile(side.ns, 0.5).toFixed(1)} ns per connection`);
  }
  console.log(
    `B / A per round: median ${quantile(ratios, 0.5).toFixed(3)} ` +
      `(quartiles ${quantile(ratios, 0.25).toFixed(3)}, ${quantile(ratios, 0.75).toFixed(3)})`,
  );
}

if (import.meta.main) await main();
