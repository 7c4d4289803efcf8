/**
 * Draws the timer costs of the last `deno task bench` against N as an SVG
 * (bench/results/timers.svg): ns per arm+cancel and per expiry, log-log, for the
 * TIME-WAIT log, the timer wheel, the binary heap and setTimeout.
 *
 * ```sh
 * deno run --allow-read --allow-write bench/plot.ts
 * ```
 *
 * @module
 */

interface Row {
  name: string;
  n?: number;
  value: number;
  unit: string;
}

const SERIES: [string, string, string, string][] = [
  // label, arm row, cancel row, colour
  ["TIME-WAIT log", "log insert", "log cancel", "#1b7837"],
  ["timer wheel", "wheel insert", "wheel cancel", "#2166ac"],
  ["binary heap", "heap insert", "heap cancel", "#b2182b"],
  ["setTimeout", "setTimeout arm", "setTimeout clear", "#7f7f7f"],
];

/** Renders the SVG text from the `timers` group rows. */
export function timersSvg(rows: Row[]): string {
  const W = 640, H = 400, L = 70, R = 170, T = 30, B = 50;
  const pts: { label: string; colour: string; xy: [number, number][] }[] = [];
  for (const [label, arm, cancelName, colour] of SERIES) {
    const xy: [number, number][] = [];
    for (const r of rows) {
      if (r.name !== arm || r.n === undefined) continue;
      const cancel = rows.find((c) => c.name === cancelName && c.n === r.n);
      if (cancel) xy.push([r.n, r.value + cancel.value]);
    }
    if (xy.length > 0) pts.push({ label, colour, xy: xy.sort((a, b) => a[0] - b[0]) });
  }
  const all = pts.flatMap((p) => p.xy);
  const lx = (n: number) => Math.log10(n);
  const x0 = Math.floor(lx(Math.min(...all.map((p) => p[0])))),
    x1 = Math.ceil(lx(Math.max(...all.map((p) => p[0]))));
  const y0 = Math.floor(lx(Math.min(...all.map((p) => p[1])))),
    y1 = Math.ceil(lx(Math.max(...all.map((p) => p[1]))));
  const px = (n: number) => L + ((lx(n) - x0) / Math.max(1, x1 - x0)) * (W - L - R);
  const py = (v: number) => H - B - ((lx(v) - y0) / Math.max(1, y1 - y0)) * (H - T - B);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="14">Timer cost per arm + cancel vs live timers (log-log)</text>`,
  ];
  for (let e = x0; e <= x1; e++) {
    const x = px(10 ** e);
    out.push(`<line x1="${x}" y1="${T}" x2="${x}" y2="${H - B}" stroke="#ddd"/>`);
    out.push(`<text x="${x}" y="${H - B + 18}" text-anchor="middle">1e${e}</text>`);
  }
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    out.push(`<line x1="${L}" y1="${y}" x2="${W - R}" y2="${y}" stroke="#ddd"/>`);
    out.push(`<text x="${L - 6}" y="${y + 4}" text-anchor="end">${10 ** e} ns</text>`);
  }
  out.push(
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">live timers (N)</text>`,
  );
  pts.forEach((p, k) => {
    const d = p.xy.map(([n, v], i) => `${i ? "L" : "M"}${px(n).toFixed(1)},${py(v).toFixed(1)}`)
      .join(" ");
    out.push(`<path d="${d}" fill="none" stroke="${p.colour}" stroke-width="2"/>`);
    for (const [n, v] of p.xy) {
      out.push(
        `<circle cx="${px(n).toFixed(1)}" cy="${py(v).toFixed(1)}" r="3" fill="${p.colour}"/>`,
      );
    }
    const ly = T + 20 + k * 20;
    out.push(
      `<line x1="${W - R + 15}" y1="${ly - 4}" x2="${W - R + 35}" y2="${
        ly - 4
      }" stroke="${p.colour}" stroke-width="2"/>`,
    );
    out.push(`<text x="${W - R + 40}" y="${ly}">${p.label}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}

if (import.meta.main) {
  const dir = new URL("./results/", import.meta.url);
  const report = JSON.parse(await Deno.readTextFile(new URL("latest.json", dir)));
  const rows: Row[] = report.groups?.timers?.results ?? [];
  if (rows.length === 0) {
    console.error("plot: no timers group in bench/results/latest.json; run deno task bench first");
    Deno.exit(1);
  }
  await Deno.writeTextFile(new URL("timers.svg", dir), timersSvg(rows));
  console.log("wrote bench/results/timers.svg");
}
