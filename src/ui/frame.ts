/**
 * Builds one frame from the view model: what each section of the screen shows at a
 * given size and time. All the choices live here (which connections fit, where the
 * window over a long list starts, how far each countdown has run, which diagram rows
 * belong to the selected connection), so the Ink components only draw. Cost is
 * O(rows on screen) plus O(connections) when some closed away since the last frame.
 *
 * @module
 */
import type { CloseReason } from "../tcb/events.ts";
import { type Cause, type State, STATES } from "../tcb/state.ts";
import type { ConnView, DiagramRow, Totals, UiStore } from "./model.ts";
import type { UiStatus } from "./source.ts";
import type { KeyBinding } from "./keys.ts";
import { FIN, RST } from "../wire/segment.ts";

/** Lines every connection takes in a pane. */
export const CELL_LINES = 3;
/** Lines outside the body: header, note, summary (2), footer. */
export const CHROME_LINES = 5;

/** A countdown bar: how much of a running timer is left. */
export interface TimerBar {
  label: "RTO" | "FIN-WAIT-2" | "TIME-WAIT";
  /** ms left. */
  remaining: number;
  /** Left over total, 0..1. */
  fraction: number;
  /** RTO only: retransmissions so far (the exponential backoff count). */
  backoff?: number;
}

/** One end of a connection in a pane. */
export interface CellModel {
  id: number;
  state: State;
  from: State | undefined;
  cause: Cause | undefined;
  /** ms in the current state. */
  age: number;
  local: string;
  remote: string;
  sndUna: number | undefined;
  sndNxt: number | undefined;
  rcvNxt: number | undefined;
  inFlight: number;
  timers: TimerBar[];
  reason: CloseReason | undefined;
}

/** One connection: a cell per node. */
export interface PaneRow {
  seq: number;
  selected: boolean;
  cells: (CellModel | undefined)[];
}

/** The peer panes. */
export interface PanesModel {
  nodes: { label: string; address: string; live: number; timeWait: number }[];
  rows: PaneRow[];
  /** Index of the first row shown, and how many there are in all (windowing). */
  first: number;
  total: number;
  /** Lines the section takes (title and bottom rule included). */
  height: number;
}

/** A state beside an arrow; `from` is set when the arrow changed it. */
export interface StateMark {
  state: State;
  from: State | undefined;
}

/** A line of the sequence diagram. */
export type DiagramLine =
  | {
    kind: "segment";
    at: number;
    /** 0: left to right, 1: right to left. */
    dir: 0 | 1;
    text: string;
    left: StateMark | undefined;
    right: StateMark | undefined;
    fate: "in-flight" | "delivered" | "lost" | "dropped";
    marks: string[];
    rst: boolean;
    fin: boolean;
  }
  | { kind: "action"; at: number; side: 0 | 1; label: string }
  | {
    kind: "state";
    at: number;
    side: 0 | 1;
    from: State;
    to: State;
    cause: Cause;
    reason: CloseReason | undefined;
  };

/** The sequence diagram. */
export interface DiagramModel {
  left: string;
  right: string;
  /** Which connection it follows, when there are several. */
  pair: number | undefined;
  lines: DiagramLine[];
  /** Lines the section takes (title included). */
  height: number;
}

/** Counts, the TIME-WAIT sparkline and the rate. */
export interface SummaryModel {
  counts: { state: State; count: number }[];
  spark: number[];
  timeWait: number;
  live: number;
  segmentsPerSecond: number;
  totals: Totals;
}

/** Storm mode: counts per state and node, and a sample of connections. */
export interface StormModel {
  rate: number;
  opened: number;
  nodes: string[];
  table: { state: State; counts: number[]; total: number }[];
  sample: { node: string; cell: CellModel }[];
  height: number;
}

/** Everything one screen shows. */
export interface Frame {
  width: number;
  height: number;
  help: boolean;
  status: UiStatus;
  now: number;
  note: string;
  panes: PanesModel;
  diagram: DiagramModel;
  storm: StormModel | undefined;
  summary: SummaryModel;
  /** Lines for the body (panes + diagram, storm view or help). */
  bodyHeight: number;
  /** The keys for the footer and the help; default every one (`KEYS`). */
  keys?: readonly KeyBinding[];
}

/** What a frame is built for. */
export interface FrameOptions {
  width: number;
  height: number;
  now: number;
  status: UiStatus;
  help?: boolean;
  /** A message for the note line (replaces the status note). */
  message?: string;
  /** Sparkline width in samples (default: fits the width). */
  sparkWidth?: number;
  /** The source's keys, if not all of `KEYS`. */
  keys?: readonly KeyBinding[];
}

const SUMMARY_STATES: readonly State[] = STATES.filter((s) => s !== "CLOSED");

/** Builds the frame. */
export function buildFrame(store: UiStore, o: FrameOptions): Frame {
  const width = Math.max(20, o.width);
  const height = Math.max(CHROME_LINES + 4, o.height);
  const now = Math.max(o.now, 0);
  const body = height - CHROME_LINES;
  const storm = o.status.storm !== undefined && !o.help
    ? buildStorm(store, o.status.storm, now, body)
    : undefined;
  let panes: PanesModel;
  let diagram: DiagramModel;
  if (storm || o.help) {
    panes = { nodes: paneNodes(store), rows: [], first: 0, total: 0, height: 0 };
    diagram = { left: "", right: "", pair: undefined, lines: [], height: 0 };
  } else {
    const pairs = store.pairs();
    const fit = Math.floor((body * 0.45 - 2) / CELL_LINES);
    const k = Math.max(1, Math.min(Math.max(1, pairs.length), fit));
    panes = buildPanes(store, k, now);
    diagram = buildDiagram(store, body - panes.height, pairs.length > 1);
  }
  const sparkWidth = o.sparkWidth ?? Math.max(8, Math.min(60, width - 70));
  return {
    width,
    height,
    help: o.help ?? false,
    status: o.status,
    now,
    note: o.message ?? o.status.note ?? "",
    panes,
    diagram,
    storm,
    summary: {
      counts: SUMMARY_STATES.map((state) => ({ state, count: store.count(state) })),
      // The samples so far, then the count now.
      spark: [...store.samples(sparkWidth - 1), store.count("TIME-WAIT")],
      timeWait: store.count("TIME-WAIT"),
      live: store.live,
      segmentsPerSecond: store.segmentsPerSecond(now),
      totals: store.totals,
    },
    bodyHeight: body,
    keys: o.keys,
  };
}

function paneNodes(store: UiStore): PanesModel["nodes"] {
  return store.nodes.map((n) => ({
    label: n.label,
    address: n.address,
    live: n.conns.size,
    timeWait: store.countOn(n.index, "TIME-WAIT"),
  }));
}

/** The panes with a window of `k` connections around the selected one. */
function buildPanes(store: UiStore, k: number, now: number): PanesModel {
  const pairs = store.pairs();
  const n = pairs.length;
  const sel = store.selectedIndex();
  const first = Math.max(0, Math.min(sel - Math.floor((k - 1) / 2), n - k));
  const rows: PaneRow[] = [];
  for (let i = first; i < Math.min(n, first + k); i++) {
    const p = pairs[i];
    rows.push({
      seq: p.seq,
      selected: i === sel,
      cells: p.conns.map((c) => (c ? cell(c, now) : undefined)),
    });
  }
  return { nodes: paneNodes(store), rows, first, total: n, height: 2 + CELL_LINES * k };
}

/** A cell for connection `c` at time `now`. */
export function cell(c: ConnView, now: number): CellModel {
  const timers: TimerBar[] = [];
  const bar = (label: TimerBar["label"], deadline: number, armedAt: number, backoff?: number) => {
    if (!Number.isFinite(deadline)) return;
    const total = Math.max(1, deadline - armedAt);
    const remaining = Math.max(0, deadline - now);
    timers.push({ label, remaining, fraction: Math.min(1, remaining / total), backoff });
  };
  bar("RTO", c.rtx.deadline, c.rtx.armedAt, c.retries);
  bar("FIN-WAIT-2", c.finWait2.deadline, c.finWait2.armedAt);
  bar("TIME-WAIT", c.timeWait.deadline, c.timeWait.armedAt);
  const local = c.localPort === undefined ? "" : `:${c.localPort}`;
  const remote = c.remoteAddress === undefined ? "" : `${c.remoteAddress}:${c.remotePort}`;
  return {
    id: c.id,
    state: c.state,
    from: c.from,
    cause: c.cause,
    age: Math.max(0, now - c.since),
    local,
    remote,
    sndUna: c.sndUna,
    sndNxt: c.sndNxt,
    rcvNxt: c.rcvNxt,
    inFlight: c.inFlight,
    timers,
    reason: c.reason,
  };
}

function buildDiagram(store: UiStore, height: number, several: boolean): DiagramModel {
  const nodes = store.nodes;
  const sel = several ? store.selected : undefined;
  const rows = store.rows(Math.max(0, height - 1), sel);
  return {
    left: nodes[0] ? `${nodes[0].label} ${nodes[0].address}` : "",
    right: nodes[1] ? `${nodes[1].label} ${nodes[1].address}` : "peer",
    pair: sel?.conns.find((c) => c !== undefined)?.id,
    lines: rows.map(line),
    height,
  };
}

const side = (node: number): 0 | 1 => (node === 0 ? 0 : 1);

function line(row: DiagramRow): DiagramLine {
  switch (row.type) {
    case "action":
      return { kind: "action", at: row.at, side: side(row.node), label: row.label };
    case "state":
      return {
        kind: "state",
        at: row.at,
        side: side(row.conn.node),
        from: row.from,
        to: row.to,
        cause: row.cause,
        reason: row.reason,
      };
    case "segment": {
      const dir = row.from === 0 ? 0 : 1;
      const send: StateMark | undefined = row.senderState
        ? { state: row.senderState, from: row.senderFrom }
        : undefined;
      const recv: StateMark | undefined = row.receiverState
        ? { state: row.receiverState, from: row.receiverFrom }
        : undefined;
      const marks: string[] = [];
      if (row.retransmission) marks.push("rtx");
      if (row.lost) marks.push("lost");
      if (row.duplicated) marks.push("dup");
      if (row.reordered) marks.push("reordered");
      if (row.corrupted) marks.push("corrupted");
      if (row.dropped && !row.corrupted) marks.push(`dropped: ${row.dropped}`);
      const fate = row.lost && !row.received
        ? "lost"
        : row.dropped
        ? "dropped"
        : row.received || row.to < 0
        ? "delivered" // to a peer outside the view (one endpoint): sent is all we know
        : "in-flight";
      return {
        kind: "segment",
        at: row.at,
        dir,
        text: row.text,
        left: dir === 0 ? send : recv,
        right: dir === 0 ? recv : send,
        fate,
        marks,
        rst: (row.flags & RST) !== 0,
        fin: (row.flags & FIN) !== 0,
      };
    }
  }
}

function buildStorm(
  store: UiStore,
  storm: NonNullable<UiStatus["storm"]>,
  now: number,
  height: number,
): StormModel {
  const table = SUMMARY_STATES.map((state) => {
    const counts = store.nodes.map((n) => store.countOn(n.index, state));
    return { state, counts, total: counts.reduce((a, b) => a + b, 0) };
  });
  // Title + table header + states, then the sample fills what is left.
  const sampleRows = Math.max(0, height - 3 - table.length);
  const sample = store.recent(sampleRows).map((c) => ({
    node: store.nodes[c.node].label,
    cell: cell(c, now),
  }));
  return {
    rate: storm.rate,
    opened: storm.opened,
    nodes: store.nodes.map((n) => n.label),
    table,
    sample,
    height,
  };
}
