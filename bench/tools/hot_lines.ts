/**
 * The hottest source lines of a V8 CPU profile taken with `deno run --cpu-prof`.
 *
 * ```sh
 * deno run -A --cpu-prof --cpu-prof-dir=/tmp/prof bench/tools/ab.ts . . 10
 * deno run -A bench/tools/hot_lines.ts /tmp/prof/*.cpuprofile [top = 40]
 * ```
 *
 * Line numbers in a profile are those of the JavaScript Deno ran, not of the
 * TypeScript: each line is printed from Deno's emitted-module cache (`deno info`'s
 * `typescriptCache`), so what you read is what the ticks fell on. A profile's
 * per-function self times hide inlined callees in their callers; per line they show.
 *
 * @module
 */

interface ProfileNode {
  callFrame: { url: string };
  positionTicks?: { line: number; ticks: number }[];
}

async function emittedCache(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"] }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).typescriptCache as string;
}

async function main(): Promise<void> {
  const [file, topArg] = Deno.args;
  if (!file) {
    console.error("Usage: hot_lines.ts <profile.cpuprofile> [top = 40]");
    Deno.exit(2);
  }
  const top = Number(topArg ?? 40);
  const profile = JSON.parse(await Deno.readTextFile(file)) as {
    nodes: ProfileNode[];
    samples: number[];
  };
  const ticks = new Map<string, number>();
  for (const node of profile.nodes) {
    for (const p of node.positionTicks ?? []) {
      const key = `${node.callFrame.url}\n${p.line}`;
      ticks.set(key, (ticks.get(key) ?? 0) + p.ticks);
    }
  }
  const cache = await emittedCache();
  const sources = new Map<string, string[]>();
  const lineOf = (url: string, line: number): string => {
    if (!url.startsWith("file://")) return "";
    let lines = sources.get(url);
    if (!lines) {
      try {
        lines = Deno.readTextFileSync(`${cache}/file${new URL(url).pathname}.js`).split("\n");
      } catch {
        lines = [];
      }
      sources.set(url, lines);
    }
    return (lines[line - 1] ?? "").trim().slice(0, 100);
  };
  const total = profile.samples.length;
  const cwd = `${Deno.cwd()}/`;
  const rows = [...ticks].sort((x, y) => y[1] - x[1]).slice(0, top);
  for (const [key, n] of rows) {
    const [url, line] = key.split("\n");
    // Paths under the working directory print relative to it (two checkouts differ).
    const path = url.startsWith("file://") ? new URL(url).pathname : url;
    const name = path.startsWith(cwd) ? path.slice(cwd.length) : path;
    const pct = ((100 * n) / total).toFixed(2).padStart(6);
    console.log(`${pct}% ${name}:${line}  ${lineOf(url, Number(line))}`);
  }
}

if (import.meta.main) await main();
