/**
 * Ink components of the terminal UI. Each draws one section of a {@linkcode Frame}
 * in exactly the lines the frame gave it, one `<Text>` per line, so a frame costs a
 * few dozen Ink nodes however many connections the engine holds.
 *
 * @module
 */
import { Box, Text } from "ink";
import { createContext, type ReactNode, useContext } from "react";
import { STATES, TRANSITIONS } from "../tcb/state.ts";
import type { State } from "../tcb/state.ts";
import type {
  CellModel,
  DiagramLine,
  DiagramModel,
  Frame,
  PanesModel,
  StateMark,
  StormModel,
  SummaryModel,
} from "./frame.ts";
import {
  bar,
  CAUSE_TEXT,
  count,
  fit,
  headerText,
  seconds,
  sparkline,
  stamp,
  STATE_MEANING,
  STATE_STYLE,
} from "./format.ts";
import { type KeyBinding, KEYS } from "./keys.ts";

/** A styled run of text inside a line. */
export interface Span {
  t: string;
  color?: string;
  bg?: string;
  bold?: boolean;
  dim?: boolean;
}

/** Pads or cuts spans to exactly `width` columns. */
function fitSpans(spans: Span[], width: number): Span[] {
  const out: Span[] = [];
  let used = 0;
  for (const s of spans) {
    if (used >= width) break;
    const room = width - used;
    if (s.t.length > room) {
      out.push({ ...s, t: room > 1 ? s.t.slice(0, room - 1) + "…" : "…" });
      used = width;
      break;
    }
    out.push(s);
    used += s.t.length;
  }
  if (used < width) out.push({ t: " ".repeat(width - used) });
  return out;
}

const spansWidth = (spans: Span[]) => spans.reduce((n, s) => n + s.t.length, 0);

/** SGR parameters of the colours the UI uses (16 colours plus two of the 256). */
const FG: Readonly<Record<string, string>> = {
  black: "30",
  red: "31",
  green: "32",
  yellow: "33",
  blue: "34",
  magenta: "35",
  cyan: "36",
  white: "37",
  gray: "90",
  orange: "38;5;208",
  purple: "38;5;135",
};
const BG: Readonly<Record<string, string>> = {
  black: "40",
  red: "41",
  green: "42",
  yellow: "43",
  blue: "44",
  magenta: "45",
  cyan: "46",
  white: "47",
  gray: "100",
  orange: "48;5;208",
  purple: "48;5;135",
};

/** Whether lines carry colour (off for NO_COLOR). */
export const ColorContext = createContext(true);

/** One line as a string, with SGR escapes when `color` is on. */
export function lineText(spans: readonly Span[], color: boolean): string {
  // Trailing blanks without a background are left out: Ink draws every character it
  // is given, and blank cells cost as much as letters.
  let end = spans.length;
  while (end > 0 && !spans[end - 1].bg && spans[end - 1].t.trimEnd() === "") end--;
  let out = "";
  for (let i = 0; i < end; i++) {
    const s = i === end - 1 && !spans[i].bg ? { ...spans[i], t: spans[i].t.trimEnd() } : spans[i];
    if (!color) {
      out += s.t;
      continue;
    }
    const codes: string[] = [];
    if (s.bold) codes.push("1");
    if (s.dim) codes.push("2");
    if (s.color) codes.push(FG[s.color] ?? "39");
    if (s.bg) codes.push(BG[s.bg] ?? "49");
    out += codes.length ? `\x1b[${codes.join(";")}m${s.t}\x1b[0m` : s.t;
  }
  return out;
}

/**
 * One screen line: a single `<Text>` holding the styled string, so a frame is a few
 * dozen Ink nodes (per-span `<Text>` nodes made Ink's layout the frame's main cost).
 */
function Line({ spans }: { spans: Span[] }): ReactNode {
  const color = useContext(ColorContext);
  // An empty <Text> takes no line at all: keep one blank.
  return <Text>{lineText(spans, color) || " "}</Text>;
}

function Lines({ lines }: { lines: Span[][] }): ReactNode {
  return (
    <Box flexDirection="column">
      {lines.map((spans, i) => <Line key={i} spans={spans} />)}
    </Box>
  );
}

/** A state as a coloured badge. */
export function badge(state: State, pad = 0): Span {
  const st = STATE_STYLE[state];
  return { t: ` ${state.padEnd(pad)} `, bg: st.bg, color: st.fg, bold: true };
}

// ------------------------------------------------------------------ header

/** Transport, seed, loss, speed, MSL, running or paused. */
export function Header({ frame }: { frame: Frame }): ReactNode {
  const s = frame.status;
  const run: Span = s.paused
    ? { t: " ❚❚ PAUSED ", bg: "yellow", color: "black", bold: true }
    : s.storm
    ? { t: " ⚡ STORM ", bg: "red", color: "white", bold: true }
    : { t: " ▶ RUNNING ", bg: "green", color: "black", bold: true };
  const text = headerText(s, frame.now);
  const spans: Span[] = [run, { t: " " }, { t: text, bold: true }];
  return <Line spans={fitSpans(spans, frame.width)} />;
}

/** The line under the header: a message, or what is playing. */
export function Note({ frame }: { frame: Frame }): ReactNode {
  return (
    <Line
      spans={fitSpans([{ t: frame.note, color: "yellow", dim: !frame.note }], frame.width)}
    />
  );
}

// ------------------------------------------------------------------- panes

function cellLines(
  c: CellModel | undefined,
  selected: boolean,
  width: number,
  /** The narrowest cell of the row: every cell picks the same words. */
  labelWidth = width,
): Span[][] {
  if (!c) return [[{ t: "  —", dim: true }], [], []].map((l) => fitSpans(l, width));
  const mark: Span = selected ? { t: "▶", color: "cyan", bold: true } : { t: " " };
  const head: Span[] = [
    mark,
    { t: `#${c.id} `, bold: true },
    badge(c.state),
    { t: ` ${seconds(c.age)}`, dim: true },
  ];
  const addr = c.remote ? ` ${c.local}→${c.remote}` : "";
  if (addr && spansWidth(head) + addr.length <= width) head.push({ t: addr, dim: true });
  const num = (n: number | undefined) => (n === undefined ? "?" : String(n));
  const vars: Span[] = [
    { t: "  SND.UNA ", dim: true },
    { t: num(c.sndUna) },
    { t: " SND.NXT ", dim: true },
    { t: num(c.sndNxt) },
    { t: " RCV.NXT ", dim: true },
    { t: num(c.rcvNxt) },
    { t: " in flight ", dim: true },
    { t: String(c.inFlight) },
  ];
  // Narrow panes (or ten-digit sequence numbers): shorter words, never a cut number.
  if (spansWidth(vars) > labelWidth) vars[6] = { t: " flight ", dim: true };
  if (spansWidth(vars) > labelWidth) {
    vars[0] = { t: "  UNA ", dim: true };
    vars[2] = { t: " NXT ", dim: true };
    vars[4] = { t: " RCV ", dim: true };
  }
  const timers: Span[] = [{ t: "  " }];
  if (c.state === "CLOSED") {
    timers.push({ t: `closed${c.reason ? ` (${c.reason})` : ""}`, dim: true });
  } else if (c.timers.length === 0) {
    timers.push({ t: "no timer running", dim: true });
  }
  const barWidth = c.timers.length > 1 ? 6 : 12;
  for (const tb of c.timers) {
    const color = tb.label === "RTO" ? "red" : STATE_STYLE[tb.label].bg;
    timers.push({ t: `${tb.label} `, color, bold: true });
    timers.push({ t: bar(tb.fraction, barWidth), color });
    timers.push({ t: ` ${seconds(tb.remaining)}` });
    if (tb.backoff) timers.push({ t: ` ×${tb.backoff}`, color: "red", bold: true });
    timers.push({ t: "  " });
  }
  return [fitSpans(head, width), fitSpans(vars, width), fitSpans(timers, width)];
}

/** One pane per peer, side by side: each connection's state, variables and timers. */
export function PeerPanes({ panes, width }: { panes: PanesModel; width: number }): ReactNode {
  if (panes.height === 0) return null;
  const n = Math.max(1, panes.nodes.length);
  const inner = width - (n + 1);
  const cw = Math.floor(inner / n);
  const extra = inner - cw * n;
  const widths = panes.nodes.map((_, i) => cw + (i === n - 1 ? extra : 0));
  const titleRow: Span[] = [];
  panes.nodes.forEach((node, i) => {
    const label = ` ${node.label} ${node.address} · ${count(node.live)} live` +
      (node.timeWait ? ` · ${count(node.timeWait)} TIME-WAIT` : "") + " ";
    const w = widths[i];
    const l = label.length + 1 > w ? fit(label, Math.max(0, w - 1)) : label;
    titleRow.push({ t: i === 0 ? "┌─" : "┬─", dim: true });
    titleRow.push({ t: l, bold: true });
    titleRow.push({ t: "─".repeat(Math.max(0, w - 1 - l.length)), dim: true });
  });
  titleRow.push({ t: "┐", dim: true });
  const lines: Span[][] = [fitSpans(titleRow, width)];
  if (panes.rows.length === 0) {
    const empty = fitSpans([{ t: "│ no connection yet: press n to open one", dim: true }], width);
    lines.push(empty);
    for (let k = 1; k < 3; k++) lines.push(fitSpans([{ t: "│", dim: true }], width));
  }
  for (const row of panes.rows) {
    const narrowest = Math.min(...widths);
    const cells = row.cells.map((c, i) => cellLines(c, row.selected, widths[i], narrowest));
    for (let k = 0; k < 3; k++) {
      const spans: Span[] = [];
      for (const cl of cells) spans.push({ t: "│", dim: true }, ...cl[k]);
      spans.push({ t: "│", dim: true });
      lines.push(spans);
    }
  }
  const shown = panes.rows.length;
  const range = panes.total > shown
    ? ` ${panes.first + 1}–${panes.first + shown} of ${count(panes.total)} (↑/↓) `
    : "";
  const bottom: Span[] = [
    { t: "└" + "─".repeat(Math.max(0, width - 2 - range.length)), dim: true },
    { t: range, color: "cyan" },
    { t: "┘", dim: true },
  ];
  lines.push(fitSpans(bottom, width));
  while (lines.length < panes.height) lines.splice(lines.length - 1, 0, fitSpans([], width));
  return <Lines lines={lines.slice(0, panes.height)} />;
}

// ----------------------------------------------------------------- diagram

/** Column widths of the diagram at `width`. */
export function diagramColumns(width: number): { time: number; side: number; mid: number } {
  const time = 8;
  // The segment first (arrows and a FIN,ACK take about 40 columns), then the states.
  const side = Math.max(11, Math.min(26, Math.floor((width - time - 2 - 40) / 2)));
  const mid = Math.max(10, width - time - 2 * side - 2);
  return { time, side, mid };
}

function markText(m: StateMark | undefined, width: number): string {
  if (!m) return "";
  if (m.from && m.from !== m.state) {
    const full = `${m.from} → ${m.state}`;
    return full.length <= width ? full : `→ ${m.state}`;
  }
  return m.state;
}

function markSpan(m: StateMark | undefined, width: number, align: "left" | "right"): Span {
  const text = fit(markText(m, width), width, align);
  if (!m) return { t: text };
  const changed = m.from !== undefined && m.from !== m.state;
  return changed ? { t: text, color: STATE_STYLE[m.state].bg, bold: true } : { t: text, dim: true };
}

/** The spans of one diagram line (exported for the line output and tests). */
export function diagramSpans(l: DiagramLine, width: number): Span[] {
  const { time, side, mid } = diagramColumns(width);
  const out: Span[] = [{ t: stamp(l.at, time - 1) + " ", dim: true }];
  if (l.kind === "segment") {
    const lost = l.fate === "lost";
    const color = l.rst
      ? "red"
      : lost
      ? "red"
      : l.fate === "dropped"
      ? "yellow"
      : l.fin
      ? "cyan"
      : l.fate === "in-flight"
      ? "gray"
      : "white";
    const marks = l.marks.length ? ` (${l.marks.join(", ")})` : "";
    const head = l.dir === 0 ? "--> " : lost ? "x-- " : l.fate === "in-flight" ? "··· " : "<-- ";
    const tail = l.dir === 0 ? (lost ? " --x" : l.fate === "in-flight" ? " ···" : " -->") : " <--";
    const room = mid - head.length - tail.length;
    const body = fit(l.text + marks, room);
    out.push(markSpan(l.left, side, "right"));
    out.push({ t: " " });
    out.push({ t: head, color });
    out.push({ t: body.slice(0, l.text.length), color, bold: l.fin || l.rst });
    out.push({ t: body.slice(l.text.length), color: lost ? "red" : "yellow" });
    out.push({ t: tail, color });
    out.push({ t: " " });
    out.push(markSpan(l.right, side, "left"));
    return out;
  }
  if (l.kind === "action") {
    const text = `(${l.label})`;
    out.push({ t: l.side === 0 ? fit(text, side, "right") : " ".repeat(side), color: "cyan" });
    out.push({ t: " ".repeat(mid + 2) });
    if (l.side === 1) out.push({ t: fit(text, side), color: "cyan" });
    return out;
  }
  const change = `${l.from} → ${l.to}`;
  const why = `(${CAUSE_TEXT[l.cause]}${l.reason ? `, ${l.reason}` : ""})`;
  const st: Span = { t: "", color: STATE_STYLE[l.to].bg, bold: true };
  if (l.side === 0) {
    out.push({ ...st, t: fit(change.length <= side ? change : `→ ${l.to}`, side, "right") });
    out.push({ t: " " + fit(why, mid) + " ", dim: true });
  } else {
    out.push({ t: " ".repeat(side + 1) });
    out.push({ t: fit(why, mid, "right") + " ", dim: true });
    out.push({ ...st, t: fit(change.length <= side ? change : `→ ${l.to}`, side) });
  }
  return out;
}

/** The sequence diagram in RFC notation, newest at the bottom. */
export function SequenceDiagram(
  { diagram, width }: { diagram: DiagramModel; width: number },
): ReactNode {
  if (diagram.height <= 0) return null;
  const { time, side, mid } = diagramColumns(width);
  const title = `Sequence${diagram.pair !== undefined ? ` of #${diagram.pair}` : ""}`;
  const head: Span[] = [
    { t: fit(title, time + side - diagram.left.length), bold: true },
    { t: diagram.left, bold: true },
    { t: fit("  RFC 9293 notation, newest last", mid + 2, "left"), dim: true },
    { t: diagram.right, bold: true },
  ];
  const lines: Span[][] = [fitSpans(head, width)];
  const body = diagram.lines.slice(-(diagram.height - 1));
  for (let i = 0; i < diagram.height - 1 - body.length; i++) lines.push(fitSpans([], width));
  for (const l of body) lines.push(fitSpans(diagramSpans(l, width), width));
  return <Lines lines={lines} />;
}

// ----------------------------------------------------------------- summary

/** Count per state, TIME-WAIT over time, segments per second. */
export function Summary({ summary, width }: { summary: SummaryModel; width: number }): ReactNode {
  const first: Span[] = [{ t: "States ", bold: true }];
  for (const { state, count: n } of summary.counts) {
    if (n === 0 && state !== "TIME-WAIT" && state !== "ESTABLISHED") continue;
    first.push({ t: ` ${state} `, color: STATE_STYLE[state].bg, bold: n > 0, dim: n === 0 });
    first.push({ t: count(n), bold: true });
    first.push({ t: " " });
  }
  first.push({ t: ` · ${count(summary.live)} live`, dim: true });
  const t = summary.totals;
  const second: Span[] = [
    { t: "TIME-WAIT ", color: STATE_STYLE["TIME-WAIT"].bg, bold: true },
    { t: sparkline(summary.spark), color: "blue" },
    { t: ` ${count(summary.timeWait)}`, bold: true },
    { t: "   segments/s ", dim: true },
    { t: count(Math.round(summary.segmentsPerSecond)), bold: true },
    { t: "   sent ", dim: true },
    { t: count(t.segments) },
    { t: " · lost ", dim: true },
    { t: count(t.lost), color: t.lost ? "red" : undefined },
    { t: " · dup ", dim: true },
    { t: count(t.duplicated) },
    { t: " · reordered ", dim: true },
    { t: count(t.reordered) },
    { t: " · rtx ", dim: true },
    { t: count(t.retransmissions) },
    { t: " · RST ", dim: true },
    { t: count(t.resets) },
  ];
  return <Lines lines={[fitSpans(first, width), fitSpans(second, width)]} />;
}

// ------------------------------------------------------------------ footer

/** The keys: with their words while they fit, then the keys alone; help and quit always. */
export function footerSpans(width: number, all: readonly KeyBinding[] = KEYS): Span[] {
  const tail: Span[] = [
    { t: "? ", color: "cyan", bold: true },
    { t: "help  ", dim: true },
    { t: "q ", color: "cyan", bold: true },
    { t: "quit", dim: true },
  ];
  const keys = all.filter((k) => k.key !== "?" && k.key !== "q");
  const room = width - spansWidth(tail);
  const out: Span[] = [];
  let used = 0;
  let short = false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    // Keys still to come, without words: what must stay free for them.
    const rest = keys.slice(i + 1).reduce((n, r) => n + r.key.length + 1, 0);
    const word = `${k.key} ${k.short}  `;
    if (!short && used + word.length + rest <= room) {
      out.push({ t: k.key, color: "cyan", bold: true }, { t: ` ${k.short}  `, dim: true });
      used += word.length;
    } else {
      short = true;
      out.push({ t: k.key + " ", color: "cyan", bold: true });
      used += k.key.length + 1;
    }
  }
  return fitSpans([...fitSpans(out, Math.max(0, room)), ...tail], width);
}

/** Footer with the keys. */
export function Footer(
  { width, keys }: { width: number; keys?: readonly KeyBinding[] },
): ReactNode {
  return <Line spans={footerSpans(width, keys)} />;
}

// -------------------------------------------------------------------- help

/** ESTABLISHED and every state after it in the RFC's order: the ones a close passes. */
const CLOSE_STATES = new Set<State>(STATES.slice(STATES.indexOf("ESTABLISHED")));

/** The help overlay: every key, the state legend and the close transitions. */
export function HelpOverlay(
  { width, height, keys = KEYS }: {
    width: number;
    height: number;
    keys?: readonly KeyBinding[];
  },
): ReactNode {
  const lines: Span[][] = [];
  const push = (spans: Span[]) => lines.push(fitSpans(spans, width));
  push([{ t: "┌─ Help ", bold: true }, { t: "─".repeat(Math.max(0, width - 9)) + "┐", dim: true }]);
  const half = Math.ceil(keys.length / 2);
  const colW = Math.floor((width - 2) / 2);
  for (let i = 0; i < half; i++) {
    const row: Span[] = [{ t: "│ ", dim: true }];
    for (const k of [keys[i], keys[i + half]]) {
      if (!k) continue;
      row.push({ t: fit(k.key, 6), color: "cyan", bold: true });
      row.push({ t: fit(k.help, colW - 7) + " " });
    }
    push(row);
  }
  push([{ t: "│", dim: true }]);
  push([{ t: "│ States", bold: true }, { t: " (the badge colours)", dim: true }]);
  for (const s of STATES) {
    if (!CLOSE_STATES.has(s) && s !== "CLOSED") continue;
    push([{ t: "│ ", dim: true }, badge(s, 12), { t: " " + STATE_MEANING[s] }]);
  }
  push([{ t: "│", dim: true }]);
  push([{ t: "│ Close transitions", bold: true }, { t: " (RFC 9293 Figure 5)", dim: true }]);
  const arrows: string[] = [];
  for (const tr of TRANSITIONS) {
    if (!CLOSE_STATES.has(tr.from)) continue;
    const causes = tr.causes.filter((c) =>
      !["rcv-rst", "abort", "data-after-close", "user-timeout", "retransmit-timeout"].includes(c)
    );
    if (causes.length === 0) continue;
    arrows.push(`${tr.from} → ${tr.to} (${causes.map((c) => CAUSE_TEXT[c]).join(", ")})`);
  }
  const perLine = Math.max(1, Math.floor((width - 2) / 44));
  for (let i = 0; i < arrows.length; i += perLine) {
    push([
      { t: "│ ", dim: true },
      { t: arrows.slice(i, i + perLine).map((a) => fit(a, 43)).join(" ") },
    ]);
  }
  push([{
    t: "│ Any state → CLOSED on RST, abort or a timeout.  Press any key to close this help.",
    dim: true,
  }]);
  while (lines.length < height - 1) push([{ t: "│", dim: true }]);
  const out = lines.slice(0, Math.max(0, height - 1));
  out.push(fitSpans([{ t: "└" + "─".repeat(Math.max(0, width - 2)) + "┘", dim: true }], width));
  return <Lines lines={out.slice(0, height)} />;
}

// ------------------------------------------------------------------- storm

/** Storm mode: counts per state and node, and a sample of connections. */
export function StormView({ storm, width }: { storm: StormModel; width: number }): ReactNode {
  const lines: Span[][] = [];
  const push = (spans: Span[]) => lines.push(fitSpans(spans, width));
  push([
    { t: " ⚡ Storm ", bg: "red", color: "white", bold: true },
    { t: ` opening ${count(storm.rate)} connections per second; each sends and closes · ` },
    { t: `${count(storm.opened)} opened`, bold: true },
    { t: " · t stops", dim: true },
  ]);
  const colW = 10;
  const head: Span[] = [{ t: fit("state", 14), dim: true }];
  for (const n of storm.nodes) head.push({ t: fit(n, colW, "right"), dim: true });
  head.push({ t: fit("total", colW, "right") + "  ", dim: true });
  push(head);
  const max = Math.max(1, ...storm.table.map((r) => r.total));
  const barW = Math.max(0, width - 14 - colW * (storm.nodes.length + 1) - 3);
  for (const r of storm.table) {
    const spans: Span[] = [{ ...badge(r.state, 11), t: ` ${fit(r.state, 12)} ` }];
    for (const c of r.counts) spans.push({ t: fit(count(c), colW, "right"), dim: c === 0 });
    spans.push({ t: fit(count(r.total), colW, "right") + "  ", bold: true });
    // Log scale: 10 and 100,000 both stay visible.
    const len = r.total === 0
      ? 0
      : Math.max(1, Math.round((Math.log10(r.total + 1) / Math.log10(max + 1)) * barW));
    spans.push({ t: "█".repeat(len), color: STATE_STYLE[r.state].bg });
    push(spans);
  }
  push([{ t: "Latest changes", bold: true }, { t: " (a sample of the connections)", dim: true }]);
  for (const { node, cell } of storm.sample) {
    const spans: Span[] = [
      { t: ` ${node} ${`#${cell.id}`.padEnd(8)}`, bold: true },
      badge(cell.state, 12),
      { t: ` ${cell.local}→${cell.remote}`.padEnd(26), dim: true },
    ];
    for (const tb of cell.timers) {
      spans.push({ t: `${tb.label} ${bar(tb.fraction, 8)} ${seconds(tb.remaining)}  ` });
    }
    if (cell.state === "CLOSED") spans.push({ t: `closed (${cell.reason ?? "?"})`, dim: true });
    push(spans);
  }
  while (lines.length < storm.height) push([]);
  return <Lines lines={lines.slice(0, storm.height)} />;
}

// ------------------------------------------------------------------ screen

/** The whole screen for one frame. */
export function Screen({ frame }: { frame: Frame }): ReactNode {
  const w = frame.width;
  let body: ReactNode;
  if (frame.help) body = <HelpOverlay width={w} height={frame.bodyHeight} keys={frame.keys} />;
  else if (frame.storm) body = <StormView storm={frame.storm} width={w} />;
  else {
    body = (
      <>
        <PeerPanes panes={frame.panes} width={w} />
        <SequenceDiagram diagram={frame.diagram} width={w} />
      </>
    );
  }
  return (
    <Box flexDirection="column" width={w}>
      <Header frame={frame} />
      <Note frame={frame} />
      {body}
      <Summary summary={frame.summary} width={w} />
      <Footer width={w} keys={frame.keys} />
    </Box>
  );
}
