/**
 * One JSON object per log entry, for `finwait trace --json` and other tools.
 *
 * @module
 */
import type { WorldEntry } from "../sim/world.ts";
import { formatSegment } from "../wire/rfc_notation.ts";
import type { Segment } from "../wire/segment.ts";

/** Flat, stable JSON fields of a segment. */
export function segmentJson(seg: Segment): Record<string, unknown> {
  return {
    notation: formatSegment(seg),
    srcPort: seg.srcPort,
    dstPort: seg.dstPort,
    seq: seg.seq,
    ack: seg.ack,
    flags: seg.flags,
    window: seg.window,
    len: seg.payload.length,
    ...(seg.mss !== undefined ? { mss: seg.mss } : {}),
    ...(seg.windowScale !== undefined ? { windowScale: seg.windowScale } : {}),
    ...(seg.tsVal !== undefined ? { tsVal: seg.tsVal, tsEcr: seg.tsEcr } : {}),
  };
}

/** A log entry as a plain object; `names` maps addresses to peer names ("A", "B"). */
export function entryJson(
  e: WorldEntry,
  names: Record<string, string> = {},
): Record<string, unknown> {
  const name = (addr: string) => names[addr] ?? addr;
  switch (e.kind) {
    case "action":
      return { t: e.at, kind: "action", node: name(e.node), action: e.label };
    case "net": {
      const { type, id, copy, from, to, length } = e.event;
      return {
        t: e.at,
        kind: "net",
        type,
        datagram: id,
        copy,
        from: name(from),
        to: name(to),
        length,
      };
    }
    case "event": {
      const ev = e.event;
      const out: Record<string, unknown> = {
        t: e.at,
        kind: "event",
        node: name(e.node),
        type: ev.type,
      };
      for (const [k, v] of Object.entries(ev)) {
        if (k === "type" || k === "now") continue;
        out[k] = k === "segment" && v ? segmentJson(v as Segment) : v;
      }
      if (e.datagram !== undefined) out.datagram = e.datagram;
      if (e.copy) out.copy = e.copy;
      return out;
    }
  }
}
