/**
 * The benchmark runner behind `deno task bench`.
 *
 * ```sh
 * deno task bench            # default sweep, well under 10 minutes
 * deno task bench --quick    # CI: under a minute
 * deno task bench --full     # adds N = 1e7
 * deno task bench --only=timers,memory
 * ```
 *
 * Each group is an async function taking a {@link BenchContext}; it records figures
 * with units and may set summary keys. Progress goes to stderr, a table per group to
 * stdout, and everything to `bench/results/latest.json` with the machine it ran on.
 *
 * Every group runs in a fresh Deno process (this file with `--child=<group>`), so no
 * group measures on a heap that an earlier one filled: the timer groups leave
 * millions of entries' worth of old-generation garbage and fragmentation behind,
 * which had made the engine's lifecycle rate with 1e6 in TIME-WAIT look 1.6x slower
 * than the same measurement alone. Every ratio is taken inside one group, from figures
 * of the same process: `engineVsKernel` comes from the kernel group, which alternates
 * kernel and engine slices.
 *
 * Adding a group is one import and one line in {@link GROUPS}.
 *
 * @module
 */

import { timersGroup } from "./timers_bench.ts";
import { memoryGroup } from "./memory_bench.ts";
import { engineGroup } from "./engine_bench.ts";
import { kernelGroup } from "./kernel_bench.ts";
import { codecGroup } from "./codec_bench.ts";
import { udpGroup } from "./udp_bench.ts";
import { uiGroup } from "./ui_bench.ts";
import { timersSvg } from "./plot.ts";
import { cpus } from "node:os";

/** `quick` for CI, `default`, or `full` (adds the largest sizes). */
export type BenchMode = "quick" | "default" | "full";

/** One measured figure. */
export interface Measurement {
  /** What was measured, e.g. `fifo insert`. */
  name: string;
  /** Problem size (live entries), when it applies. */
  n?: number;
  value: number;
  /** Unit of `value`, e.g. `ns/op`, `B/entry`, `x`. */
  unit: string;
  /** The fastest timed batch, same unit (robust to a noisy neighbour). */
  min?: number;
  /** Anything a reader must know (caps, extrapolation, sample count). */
  note?: string;
}

/** What a group gets from the runner. */
export interface BenchContext {
  readonly mode: BenchMode;
  /** The N sweep for this mode: 1e3..1e6, plus 1e7 with `--full`. */
  readonly sizes: readonly number[];
  /** Prints one progress line to stderr, prefixed with the group name and elapsed time. */
  progress(message: string): void;
  /** Records a figure for the group's table and JSON. */
  record(m: Measurement): void;
  /** Records a note printed under the group's table and kept in the JSON. */
  note(text: string): void;
  /** Sets a top-level summary figure (unit in the key name, e.g. `timerInsertNs`). */
  summary(key: string, value: number): void;
  /** Full garbage collection when run with `--v8-flags=--expose-gc`, else a no-op. */
  gc(): void;
}

/** A benchmark group: measures and records through the context. */
export type BenchGroup = (ctx: BenchContext) => Promise<void>;

/** Every group, in run order. Add a group here. */
export const GROUPS: ReadonlyArray<readonly [string, BenchGroup]> = [
  ["timers", timersGroup],
  ["memory", memoryGroup],
  ["engine", engineGroup],
  ["kernel", async (ctx) => void await kernelGroup(ctx)],
  ["codec", codecGroup],
  ["udp", udpGroup],
  ["ui", uiGroup],
];

interface GroupResult {
  seconds: number;
  results: Measurement[];
  notes: string[];
}

interface Args {
  mode: BenchMode;
  only: Set<string> | null;
  out: string;
  /** Internal: run this one group and write its result to `out`. */
  child: string | null;
  /** Internal: the parent's start (epoch ms), for progress times. */
  t0: number;
  /** Ask glibc for transparent huge pages in the groups' processes (see {@link hugePageEnv}). */
  hugePages: boolean;
}

function parseArgs(args: string[]): Args {
  let mode: BenchMode = "default";
  let only: Set<string> | null = null;
  let out = new URL("./results/latest.json", import.meta.url).pathname;
  let child: string | null = null;
  let t0 = Date.now();
  let hugePages = true;
  for (const a of args) {
    if (a === "--quick") mode = "quick";
    else if (a === "--full") mode = "full";
    else if (a.startsWith("--only=")) only = new Set(a.slice(7).split(",").filter(Boolean));
    else if (a.startsWith("--out=")) out = a.slice(6);
    else if (a.startsWith("--child=")) child = a.slice(8);
    else if (a.startsWith("--t0=")) t0 = Number(a.slice(5));
    else if (a === "--no-huge-pages") hugePages = false;
    else if (a === "--help" || a === "-h") {
      console.log(
        "Usage: deno task bench [--quick | --full] [--only=group,...] [--out=file.json] [--no-huge-pages]",
      );
      console.log(`Groups: ${GROUPS.map(([name]) => name).join(", ")}`);
      console.log(
        "--no-huge-pages: leave glibc's malloc as the environment has it (by default the groups " +
          "run with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 on Linux)",
      );
      Deno.exit(0);
    } else {
      console.error(`Unknown option "${a}" (try --help)`);
      Deno.exit(2);
    }
  }
  if (only) {
    const unknown = [...only].filter((g) => !GROUPS.some(([name]) => name === g));
    if (unknown.length > 0) {
      console.error(
        `Unknown group "${unknown.join(", ")}" (groups: ${GROUPS.map(([n]) => n).join(", ")})`,
      );
      Deno.exit(2);
    }
  }
  return { mode, only, out, child, t0, hugePages };
}

/** The glibc tunable that has malloc ask for transparent huge pages (glibc 2.35 on). */
const HUGETLB_TUNABLE = "glibc.malloc.hugetlb=1";

/**
 * The environment that gives the groups' processes huge pages for their large typed
 * arrays, or `undefined` where it does not apply (not Linux, or the user already set
 * the tunable). Deno allocates an ArrayBuffer's memory with malloc; with this tunable
 * glibc marks its large mappings MADV_HUGEPAGE, which a kernel whose transparent huge
 * pages are in "madvise" mode (Ubuntu's default, this machine's) needs before it backs
 * them with 2 MiB pages; in "always" mode they get them anyway. The TIME-WAIT table at
 * 1e6 records is 40 MiB of arrays touched at random: 20 TLB entries with huge pages,
 * 10,000 without, and a TLB miss in a VM walks two page tables. (The baseline's
 * connection hash Linux allocates at boot, on x86-64 typically in its direct map of
 * large pages.) Measured with `bench/tools/slowdown.ts`, pairs of processes with and
 * without: the slowdown at 1e6 in TIME-WAIT averaged 1.056 against 1.075 (near-empty
 * baseline, 10 pairs) and 1.048 against 1.063 (fresh baseline, 5 pairs), lower in 12
 * of the 15 pairs.
 */
function hugePageEnv(): Record<string, string> | undefined {
  if (Deno.build.os !== "linux") return undefined;
  const current = Deno.env.get("GLIBC_TUNABLES") ?? "";
  if (current.includes("glibc.malloc.hugetlb")) return undefined;
  return { GLIBC_TUNABLES: current ? `${current}:${HUGETLB_TUNABLE}` : HUGETLB_TUNABLE };
}

/** The kernel's transparent huge page mode ("always", "madvise", "never"), if known. */
async function thpMode(): Promise<string | null> {
  if (Deno.build.os !== "linux") return null;
  try {
    // Deno reads /sys only with --allow-all; `cat` needs only the --allow-run we have.
    const out = await new Deno.Command("cat", {
      args: ["/sys/kernel/mm/transparent_hugepage/enabled"],
      stderr: "null",
    }).output();
    return /\[(\w+)\]/.exec(new TextDecoder().decode(out.stdout))?.[1] ?? null;
  } catch {
    return null; // no cat, or no permission
  }
}

/**
 * The machine the figures came from: they mean little without it. `childEnv` is what
 * the groups' processes get on top of this one's environment.
 */
async function machineInfo(
  mode: BenchMode,
  childEnv: Record<string, string> | undefined,
): Promise<Record<string, unknown>> {
  let cpu = "unknown";
  try {
    // node:os reads /proc/cpuinfo natively: Deno itself wants --allow-all for /proc.
    cpu = cpus()[0]?.model?.trim() || cpu;
  } catch {
    // --allow-sys missing: keep "unknown".
  }
  try {
    if (cpu === "unknown") {
      const info = await Deno.readTextFile("/proc/cpuinfo");
      cpu = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpu;
    }
  } catch {
    // Not Linux, or no permission: keep "unknown".
  }
  let memoryBytes: number | null = null;
  try {
    memoryBytes = Deno.systemMemoryInfo().total;
  } catch {
    // --allow-sys missing.
  }
  let osRelease = "";
  try {
    osRelease = Deno.osRelease();
  } catch {
    // --allow-sys missing.
  }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memoryBytes,
    memoryGiB: memoryBytes === null ? null : Math.round(memoryBytes / 2 ** 30 * 10) / 10,
    os: `${Deno.build.os} ${osRelease}`.trim(),
    arch: Deno.build.arch,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === "function",
    transparentHugePages: await thpMode(),
    // What the groups ran with: the tunable this runner added, the user's, or none.
    glibcTunables: childEnv?.GLIBC_TUNABLES ?? Deno.env.get("GLIBC_TUNABLES") ?? null,
    mode,
    date: new Date().toISOString(),
  };
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e6) return v.toExponential(3);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function formatN(n: number | undefined): string {
  if (n === undefined) return "";
  const e = Math.log10(n);
  return Number.isInteger(e) ? `1e${e}` : String(n);
}

function printTable(name: string, g: GroupResult): void {
  const rows = g.results.map((m) => [
    m.name,
    formatN(m.n),
    formatValue(m.value),
    m.min === undefined ? "" : formatValue(m.min),
    m.unit,
    m.note ?? "",
  ]);
  const head = ["measure", "N", "median", "min", "unit", "note"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === 2 || c === 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
      .join("  ")
      .trimEnd();
  console.log(`\n## ${name} (${g.seconds.toFixed(1)} s)\n`);
  console.log(line(head));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(r));
  for (const n of g.notes) console.log(`note: ${n}`);
}

/** What a child process hands back for its group. */
interface ChildReport {
  result: GroupResult;
  summary: Record<string, number>;
}

/** Runs one group in this process (the child side). */
async function runGroup(name: string, args: Args): Promise<ChildReport> {
  const group = GROUPS.find(([n]) => n === name)?.[1];
  if (!group) throw new Error(`Unknown group "${name}"`);
  const sizes = args.mode === "full" ? [1e3, 1e4, 1e5, 1e6, 1e7] : [1e3, 1e4, 1e5, 1e6];
  const result: GroupResult = { seconds: 0, results: [], notes: [] };
  const summary: Record<string, number> = {};
  const gcFn = (globalThis as { gc?: () => void }).gc;
  const t0 = performance.now();
  const ctx: BenchContext = {
    mode: args.mode,
    sizes,
    progress: (message) => {
      const t = ((Date.now() - args.t0) / 1000).toFixed(1).padStart(6);
      console.error(`[${t}s] ${name}: ${message}`);
    },
    record: (m) => {
      result.results.push(m);
    },
    note: (text) => {
      result.notes.push(text);
    },
    summary: (key, value) => {
      summary[key] = value;
    },
    gc: () => gcFn?.(),
  };
  await group(ctx);
  result.seconds = (performance.now() - t0) / 1000;
  return { result, summary };
}

/** Runs one group in a fresh Deno process with the same permissions and flags. */
async function runChild(
  name: string,
  args: Args,
  gcExposed: boolean,
  env: Record<string, string> | undefined,
): Promise<ChildReport> {
  const tmp = await Deno.makeTempFile({ prefix: `finwait-bench-${name}-`, suffix: ".json" });
  try {
    const config = new URL("../deno.json", import.meta.url).pathname;
    const flags = [
      "run",
      `--config=${config}`,
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env",
      "--allow-sys",
      "--allow-run",
      // The UDP group measures the FFI transport too when the runner may use FFI.
      ...(Deno.permissions.querySync({ name: "ffi" }).state === "granted" ? ["--allow-ffi"] : []),
      ...(gcExposed ? ["--v8-flags=--expose-gc"] : []),
      new URL(import.meta.url).pathname,
      `--child=${name}`,
      `--out=${tmp}`,
      `--t0=${args.t0}`,
      ...(args.mode === "default" ? [] : [`--${args.mode}`]),
    ];
    const status = await new Deno.Command(Deno.execPath(), {
      args: flags,
      env,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn().status;
    if (!status.success) {
      throw new Error(`the ${name} group failed (exit code ${status.code}); see above`);
    }
    return JSON.parse(await Deno.readTextFile(tmp)) as ChildReport;
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

async function main(): Promise<void> {
  const args = parseArgs(Deno.args);
  const gcFn = (globalThis as { gc?: () => void }).gc;
  if (args.child !== null) {
    const report = await runGroup(args.child, args);
    await Deno.writeTextFile(args.out, JSON.stringify(report));
    return;
  }
  const { mode, only, out } = args;
  const childEnv = args.hugePages ? hugePageEnv() : undefined;
  const machine = await machineInfo(mode, childEnv);
  const groups: Record<string, GroupResult> = {};
  const summary: Record<string, number> = {};
  const start = performance.now();
  console.error(
    `finwait bench (${mode}) on ${machine.cpu}, ${machine.cores} cores, deno ${machine.deno}` +
      (gcFn ? "" : " — no --expose-gc: memory figures are less reliable") +
      (machine.glibcTunables ? `; GLIBC_TUNABLES=${machine.glibcTunables}` : "") +
      "; each group in its own process",
  );

  for (const [name] of GROUPS) {
    if (only && !only.has(name)) continue;
    const report = await runChild(name, args, gcFn !== undefined, childEnv);
    groups[name] = report.result;
    Object.assign(summary, report.summary);
    printTable(name, report.result);
  }

  const totalSeconds = (performance.now() - start) / 1000;
  console.log(`\n## summary (${totalSeconds.toFixed(1)} s total)\n`);
  const keyWidth = Math.max(0, ...Object.keys(summary).map((k) => k.length));
  for (const [k, v] of Object.entries(summary)) {
    console.log(`${k.padEnd(keyWidth)}  ${formatValue(v).padStart(10)}`);
  }
  const report = { machine: { ...machine, totalSeconds }, groups, summary };
  await Deno.mkdir(new URL(".", `file://${out}`).pathname, { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(report, null, 2) + "\n");
  console.error(`wrote ${out}`);
  const timers = groups.timers?.results;
  if (timers && timers.length > 0) {
    const svg = out.replace(/[^/]*$/, "timers.svg");
    await Deno.writeTextFile(svg, timersSvg(timers));
    console.error(`wrote ${svg}`);
  }
}

if (import.meta.main) await main();
