/**
 * Renders a world log as the two time lines of RFC 9293 Figures 12 and 13: peer A
 * on the left, peer B on the right, one arrow per segment in RFC notation, each
 * peer's state beside the arrow, user calls as "(Close)", and TIME-WAIT's end as
 * "(2 MSL)". Lost, duplicated, corrupted and retransmitted segments get a note.
 *
 * Layout (columns as in the RFC): number at 3, state A at 7, arrow at 19, segment
 * at 23, arrow at 56, state B at 60.
 *
 * @module
 */
import type { State } from "../tcb/state.ts";
import type { WorldEntry } from "../sim/world.ts";
import { formatSegment } from "../wire/rfc_notation.ts";
import type { Segment } from "../wire/segment.ts";

/** What to draw. */
export interface FigureInput {
  log: readonly WorldEntry[];
  /** Index in `log` where the figure starts. */
  start: number;
  left: string;
  right: string;
  initial: { a: State; b: State };
  /** Column titles. */
  titles?: [string, string];
}

interface Send {
  index: number;
  at: number;
  from: string;
  id: number;
  seg: Segment;
  rtx: boolean;
  arrival: number | undefined;
  dupArrival: number | undefined;
  lost: boolean;
  corrupted: boolean;
}

type Side = "a" | "b";

const SEG_WIDTH = 31;

/** Draws the figure; returns its lines. */
export function renderFigure(input: FigureInput): string[] {
  const { log, start, left, right } = input;
  const side = (node: string): Side | undefined =>
    node === left ? "a" : node === right ? "b" : undefined;

  // States after every log entry, and each node's transitions (for the tail).
  const states: { a: State; b: State }[] = [];
  const cur = { ...input.initial };
  const changes: Record<Side, { index: number; to: State; cause: string }[]> = { a: [], b: [] };
  for (let i = 0; i < log.length; i++) {
    const e = log[i];
    if (i >= start && e.kind === "event" && e.event.type === "state-changed") {
      const s = side(e.node);
      if (s) {
        cur[s] = e.event.to;
        changes[s].push({ index: i, to: e.event.to, cause: e.event.cause });
      }
    }
    states.push({ a: cur.a, b: cur.b });
  }
  const stateAt = (i: number) => states[Math.min(Math.max(i, 0), states.length - 1)] ?? cur;

  // Segments by datagram id, with their fates.
  const sends: Send[] = [];
  const byId = new Map<number, Send>();
  for (let i = start; i < log.length; i++) {
    const e = log[i];
    if (e.kind === "event" && e.event.type === "segment-sent" && e.datagram !== undefined) {
      if (!side(e.node)) continue;
      const s: Send = {
        index: i,
        at: e.at,
        from: e.node,
        id: e.datagram,
        seg: e.event.segment,
        rtx: e.event.retransmission,
        arrival: undefined,
        dupArrival: undefined,
        lost: false,
        corrupted: false,
      };
      sends.push(s);
      byId.set(s.id, s);
    } else if (e.kind === "event" && e.datagram !== undefined) {
      const s = byId.get(e.datagram);
      if (!s) continue;
      if (e.event.type === "segment-dropped" && e.event.segment === undefined) {
        s.corrupted = true;
        if (s.arrival === undefined) s.arrival = i;
      } else if (e.event.type === "segment-received") {
        if (s.arrival === undefined) s.arrival = i;
        else s.dupArrival = i;
      }
    } else if (e.kind === "net" && e.event.type === "lost") {
      const s = byId.get(e.event.id);
      if (s && e.event.copy === 0) s.lost = true;
    }
  }
  const sendIndexes = sends.map((s) => s.index);
  const nextSendAfter = (i: number) => {
    for (const j of sendIndexes) if (j > i) return j;
    return log.length;
  };
  /** A peer's state once the input at log index `i` is fully processed. */
  const afterArrival = (i: number) =>
    stateAt(Math.min(nextSendAfter(i) - 1, lastIndexAt(log, log[i].at, i)));

  // Items in log order: sends, and arrivals that could not be drawn with their send.
  type Item =
    | { kind: "send"; index: number; at: number; send: Send }
    | { kind: "arrive"; index: number; at: number; send: Send; copy: 0 | 1 }
    | { kind: "action"; index: number; at: number; node: string; label: string };
  const items: Item[] = [];
  for (let i = start; i < log.length; i++) {
    const e = log[i];
    if (e.kind === "action" && e.label && side(e.node)) {
      items.push({ kind: "action", index: i, at: e.at, node: e.node, label: e.label });
    }
  }
  // Figure 13: two segments sent at the same moment in opposite directions that
  // arrive together are drawn as one crossing (first leaving, second across, first
  // arriving), so their arrivals get no rows of their own.
  const paired = new Set<Send>();
  for (let k = 0; k + 1 < sends.length; k++) {
    const x = sends[k];
    const y = sends[k + 1];
    const alone = (k === 0 || sends[k - 1].at !== x.at) &&
      (k + 2 >= sends.length || sends[k + 2].at !== x.at);
    if (
      alone && x.at === y.at && x.from !== y.from && x.arrival !== undefined &&
      y.arrival !== undefined && !x.lost && !y.lost && !x.corrupted && !y.corrupted &&
      log[x.arrival].at === log[y.arrival].at && x.dupArrival === undefined &&
      y.dupArrival === undefined
    ) {
      paired.add(x);
      paired.add(y);
      k++;
    }
  }
  for (const s of sends) {
    items.push({ kind: "send", index: s.index, at: s.at, send: s });
    const direct = s.arrival !== undefined && nextSendAfter(s.index) > s.arrival;
    if (s.arrival !== undefined && !direct && !paired.has(s)) {
      items.push({ kind: "arrive", index: s.arrival, at: log[s.arrival].at, send: s, copy: 0 });
    }
    if (s.dupArrival !== undefined) {
      items.push({
        kind: "arrive",
        index: s.dupArrival,
        at: log[s.dupArrival].at,
        send: s,
        copy: 1,
      });
    }
  }
  items.sort((x, y) => x.index - y.index);

  const width = Math.max(
    SEG_WIDTH,
    ...sends.map((s) => formatSegment(s.seg).length),
  ) + 2;
  const lines: string[] = [];
  const titles = input.titles ?? ["TCP Peer A", "TCP Peer B"];
  lines.push(cols("", titles[0], titles[1]));
  lines.push("");
  lines.push(cols("1", input.initial.a, input.initial.b));
  const shown = { ...input.initial };
  let num = 1;

  const row = (
    n: string,
    a: string,
    arrow1: string,
    seg: string,
    arrow2: string,
    b: string,
    note: string,
  ) => {
    const prefix = n ? `${n}.`.padStart(5) + "  " : "       ";
    let line = prefix + a.padEnd(12) + arrow1 + " " + seg.padEnd(width) + arrow2;
    if (b) line += " " + b;
    if (note) line = line.padEnd(7 + 12 + 4 + width + 3 + 1 + 12) + note;
    return line.trimEnd();
  };
  const notes = (s: Send, copy: 0 | 1 = 0) => {
    const n: string[] = [];
    if (s.rtx) n.push("retransmission");
    if (copy === 1) n.push("duplicate");
    if (s.corrupted && copy === 0) n.push("corrupted, dropped");
    if (s.lost && s.arrival === undefined) n.push("lost");
    return n.length ? `(${n.join(", ")})` : "";
  };
  const show = (sd: Side, st: State) => {
    shown[sd] = st;
    return st;
  };

  let i = 0;
  while (i < items.length) {
    // One numbered group: every item at the same virtual time.
    const at = items[i].at;
    let j = i;
    while (j < items.length && items[j].at === at) j++;
    const group = items.slice(i, j);
    i = j;
    num++;
    let label: string | undefined = String(num);
    const take = () => {
      const l = label ?? "";
      label = undefined;
      return l;
    };
    lines.push("");

    const actions = group.filter((g) => g.kind === "action") as Extract<Item, { kind: "action" }>[];
    if (actions.length > 0) {
      const la = actions.filter((x) => side(x.node) === "a").map((x) => `(${x.label})`);
      const lb = actions.filter((x) => side(x.node) === "b").map((x) => `(${x.label})`);
      lines.push(cols(take(), la.join(" "), lb.join(" ")));
    }
    const segItems = group.filter((g) => g.kind !== "action") as Exclude<
      Item,
      { kind: "action" }
    >[];

    // Figure 13: two segments cross and arrive together: draw the first leaving, the
    // second across, then the first arriving.
    if (segItems.length === 2 && segItems.every((g) => g.kind === "send" && paired.has(g.send))) {
      // Peer A's segment is the one drawn leaving first, as in Figure 13.
      const [first, second] = segItems.map((g) => g.send).sort((x, y) =>
        (side(x.from) === "a" ? 0 : 1) - (side(y.from) === "a" ? 0 : 1)
      );
      const fa = side(first.from) === "a";
      const endAt = stateAt(lastIndexAt(log, log[first.index].at, first.index));
      lines.push(row(
        take(),
        show("a", endAt.a),
        fa ? "-->" : "...",
        formatSegment(first.seg),
        fa ? "..." : "<--",
        show("b", endAt.b),
        notes(first),
      ));
      const sa = side(second.from) === "a";
      lines.push(
        row(
          "",
          "",
          sa ? "-->" : "<--",
          formatSegment(second.seg),
          sa ? "-->" : "<--",
          "",
          notes(second),
        ),
      );
      lines.push(
        row("", "", fa ? "..." : "<--", formatSegment(first.seg), fa ? "-->" : "...", "", ""),
      );
      continue;
    }

    for (const g of segItems) {
      const s = g.send;
      const fromA = side(s.from) === "a";
      const seg = formatSegment(s.seg);
      if (g.kind === "send") {
        // The sender's state once the call or input that sent it is done (an abort's
        // RST is drawn from CLOSED).
        const senderState = afterArrival(s.index)[fromA ? "a" : "b"];
        const direct = s.arrival !== undefined && nextSendAfter(s.index) > s.arrival;
        if (direct) {
          const recv = afterArrival(s.arrival!)[fromA ? "b" : "a"];
          const note = notes(s);
          if (fromA) {
            lines.push(
              row(
                take(),
                show("a", senderState),
                "-->",
                seg,
                s.corrupted ? "--x" : "-->",
                show("b", recv),
                note,
              ),
            );
          } else {
            lines.push(
              row(
                take(),
                show("a", recv),
                s.corrupted ? "x--" : "<--",
                seg,
                "<--",
                show("b", senderState),
                note,
              ),
            );
          }
        } else if (s.lost || s.arrival === undefined) {
          if (fromA) {
            lines.push(row(take(), show("a", senderState), "-->", seg, "--x", "", notes(s)));
          } else lines.push(row(take(), "", "x--", seg, "<--", show("b", senderState), notes(s)));
        } else {
          if (fromA) {
            lines.push(row(take(), show("a", senderState), "-->", seg, "...", "", notes(s)));
          } else lines.push(row(take(), "", "...", seg, "<--", show("b", senderState), notes(s)));
        }
      } else {
        const recv = afterArrival(g.index)[fromA ? "b" : "a"];
        const note = g.copy === 1 ? notes(s, 1) : s.corrupted ? "(corrupted, dropped)" : "";
        if (fromA) {
          lines.push(
            row(
              take(),
              "",
              "...",
              seg,
              s.corrupted && g.copy === 0 ? "--x" : "-->",
              show("b", recv),
              note,
            ),
          );
        } else {lines.push(
            row(
              take(),
              show("a", recv),
              s.corrupted && g.copy === 0 ? "x--" : "<--",
              seg,
              "...",
              "",
              note,
            ),
          );}
      }
    }
  }

  // The tail: states not drawn yet, with "(2 MSL)" before a TIME-WAIT expiry.
  const tail = (sd: Side): string[] => {
    const ch = changes[sd];
    let k = ch.length - 1;
    while (k >= 0 && ch[k].to !== shown[sd]) k--;
    const out: string[] = [];
    for (const c of ch.slice(k + 1)) {
      if (c.cause === "time-wait-expired") out.push("(2 MSL)");
      out.push(c.to);
    }
    return out;
  };
  const ta = tail("a");
  const tb = tail("b");
  if (ta.length > 0 || tb.length > 0) {
    lines.push("");
    num++;
    for (let k = 0; k < Math.max(ta.length, tb.length); k++) {
      lines.push(cols(k === 0 ? String(num) : "", ta[k] ?? "", tb[k] ?? ""));
    }
  }
  return lines;
}

/** A line with text in column A (7) and column B (60). */
function cols(n: string, a: string, b: string): string {
  const prefix = n ? `${n}.`.padStart(5) + "  " : "       ";
  return (prefix + (b ? a.padEnd(53) + b : a)).trimEnd();
}

/** The last log index at virtual time `at`, starting the search at `from`. */
function lastIndexAt(log: readonly WorldEntry[], at: number, from: number): number {
  let k = from;
  while (k + 1 < log.length && log[k + 1].at === at) k++;
  return k;
}
