/**
 * The TIME-WAIT table's own cost per connection at 1e6 records, without the engine
 * around it: what the lifecycle benchmark's slowdown at 1e6 can at most lose by
 * making the table faster.
 *
 * ```sh
 * deno run bench/tools/table_cost.ts [pollution bytes per connection = 0] [cap = 1000000]
 * ```
 *
 * Per connection, as the engine group's rig makes them: the connect-time check (a
 * lookup that finds nothing) and the insert at TIME-WAIT, which at the cap evicts the
 * oldest record. The keys follow the rig: 127 destinations in turn, each taking
 * consecutive local ports (RFC 6056 Algorithm 4). A table held at `cap` records and one
 * held at 300 run in alternating slices; the figure is the median of each and their
 * difference. `pollution` writes that many bytes of a 16 MiB ring between the check
 * and the insert, standing for the engine's allocations (about 2.3 KiB a lifecycle).
 *
 * @module
 */
import { type TimeWaitInit, TimeWaitTable } from "../../src/endpoint/time_wait.ts";
import { quantile } from "./ab.ts";

const DESTINATIONS = 127;
const SMALL_CAP = 300;
const SLICE = 100_000;
const ROUNDS = 20;

const ring = new Uint8Array(16 << 20);
let ringAt = 0;

/** Writes `n` bytes' worth of cache lines of the ring, in order, as allocation does. */
function pollute(n: number): void {
  for (let i = 0; i < n; i += 64) {
    ring[ringAt] = i;
    ringAt += 64;
    if (ringAt >= ring.length) ringAt = 0;
  }
}

/**
 * A table of `cap` records and a function that runs one connection's table work.
 * `Table` is the table class (another checkout's, for `table_ab.ts`).
 */
export function rig(
  cap: number,
  pollution: number,
  Table: typeof TimeWaitTable = TimeWaitTable,
): () => void {
  const table = new Table({ capacity: cap, duration: 60_000 });
  // Each destination starts somewhere in the range, as Algorithm 4's F would place it.
  const next = new Uint16Array(DESTINATIONS).map((_, d) => (d * 997) & 16383);
  const rec: TimeWaitInit = {
    connId: 0,
    addrId: 1,
    localPort: 0,
    remotePort: 0,
    sndNxt: 1,
    rcvNxt: 2,
    window: 512,
    windowShift: 7,
    timestamps: true,
    tsRecent: 5,
    tsRecentAge: 0,
  };
  let k = 0;
  return () => {
    const d = k % DESTINATIONS;
    const localPort = 49152 + (next[d]++ & 16383);
    const remotePort = 1000 + d;
    if (table.lookup(1, localPort, remotePort) >= 0) throw new Error("Bug: 4-tuple reused");
    if (pollution > 0) pollute(pollution);
    rec.connId = ++k;
    rec.localPort = localPort;
    rec.remotePort = remotePort;
    table.insert(rec, 0);
  };
}

function main(): void {
  const pollution = Number(Deno.args[0] ?? 0);
  const cap = Number(Deno.args[1] ?? 1_000_000);
  if (!(pollution >= 0) || !(Number.isInteger(cap) && cap > SMALL_CAP)) {
    console.error(
      `Usage: table_cost.ts [pollution bytes >= 0 = 0] [cap > ${SMALL_CAP} = 1000000]`,
    );
    Deno.exit(2);
  }
  const big = rig(cap, pollution);
  const small = rig(SMALL_CAP, pollution);
  for (let i = 0; i < cap + 50_000; i++) big();
  for (let i = 0; i < 100_000; i++) small();
  const ns: Record<"small" | "big", number[]> = { small: [], big: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, step] of [["small", small], ["big", big]] as const) {
      const t0 = performance.now();
      for (let i = 0; i < SLICE; i++) step();
      ns[name].push((performance.now() - t0) * 1e6 / SLICE);
    }
  }
  const s = quantile(ns.small, 0.5);
  const b = quantile(ns.big, 0.5);
  console.log(
    `check + insert per connection, ${pollution} B of pollution each: ` +
      `${SMALL_CAP} records ${s.toFixed(1)} ns, ${cap} records ${b.toFixed(1)} ns ` +
      `(+${(b - s).toFixed(1)} ns)`,
  );
}

if (import.meta.main) main();
