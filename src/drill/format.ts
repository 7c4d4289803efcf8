/**
 * Segments in packetdrill notation, relative to the initial sequence numbers, and
 * the comparison of a segment the engine sent with the one a script expects, in
 * plain words.
 *
 * @module
 */
import { ACK, CWR, ECE, FIN, PSH, RST, type Segment, SYN, URG } from "../wire/segment.ts";
import type { PacketSpec, TcpOptionSpec } from "./script.ts";

/** How script numbers map to wire numbers. */
export interface SeqBase {
  /** The engine's ISN (its sequence numbers are written relative to it). */
  local: number;
  /** The script's remote ISN. */
  remote: number;
  /** Engine TSval = script TSval + this offset, once known. */
  tsOffset: number | undefined;
}

const FLAG_ORDER: ReadonlyArray<readonly [number, string, string]> = [
  [SYN, "S", "SYN"],
  [FIN, "F", "FIN"],
  [RST, "R", "RST"],
  [PSH, "P", "PSH"],
  [URG, "U", "URG"],
  [ECE, "E", "ECE"],
  [CWR, "W", "CWR"],
  [ACK, ".", "ACK"],
];

/** Control bits as packetdrill writes them: `S.`, `FP.`, `R`, `.`. */
export function flagLetters(flags: number): string {
  let s = "";
  for (const [bit, letter] of FLAG_ORDER) if (flags & bit) s += letter;
  return s === "" ? "(none)" : s;
}

/** Control bits in words: `FIN, ACK`. */
export function flagWords(flags: number): string {
  const w = FLAG_ORDER.filter(([bit]) => flags & bit).map(([, , word]) => word);
  return w.length === 0 ? "no flags" : w.join(", ");
}

/** Relative distance of `x` from `base`, modulo 2^32. */
export function rel(x: number, base: number): number {
  return (x - base + 2 ** 32) % 2 ** 32;
}

/** Formats an outbound segment relative to `base`, as a script line would write it. */
export function formatSent(seg: Segment, base: SeqBase): string {
  const len = seg.payload.length;
  const start = rel(seg.seq, base.local);
  let s = `${flagLetters(seg.flags)} ${start}:${(start + len) % 2 ** 32}(${len})`;
  if (seg.flags & ACK) s += ` ack ${rel(seg.ack, base.remote)}`;
  s += ` win ${seg.window}`;
  if (seg.flags & URG) s += ` urg ${seg.urgent}`;
  const opts = formatOptions(seg, base);
  if (opts) s += ` <${opts}>`;
  return s;
}

/** The options of `seg` in the layout finwait's encoder writes them. */
function formatOptions(seg: Segment, base: SeqBase): string {
  const parts: string[] = [];
  if (seg.mss !== undefined) parts.push(`mss ${seg.mss}`);
  if (seg.windowScale !== undefined) parts.push("nop", `wscale ${seg.windowScale}`);
  if (seg.tsVal !== undefined) {
    parts.push(seg.sackPermitted ? "sackOK" : "nop", ...(seg.sackPermitted ? [] : ["nop"]));
    const val = base.tsOffset === undefined ? seg.tsVal : rel(seg.tsVal, base.tsOffset);
    parts.push(`TS val ${val} ecr ${seg.tsEcr ?? 0}`);
  } else if (seg.sackPermitted) {
    parts.push("nop", "nop", "sackOK");
  }
  if (seg.sack && seg.sack.length > 0) {
    const blocks: string[] = [];
    for (let i = 0; i + 1 < seg.sack.length; i += 2) {
      blocks.push(`${rel(seg.sack[i], base.remote)}:${rel(seg.sack[i + 1], base.remote)}`);
    }
    parts.push(`sack ${blocks.join(" ")}`);
  }
  return parts.join(",");
}

/**
 * How `seg` differs from what `spec` expects, one plain phrase per difference
 * (empty when it matches). Options are compared by meaning: NOP and EOL are
 * padding, and TS val is not checked (its clock is the engine's), as packetdrill.
 */
export function differences(seg: Segment, spec: PacketSpec, base: SeqBase): string[] {
  const out: string[] = [];
  if (seg.flags !== spec.flags) {
    out.push(
      `flags ${flagLetters(seg.flags)} (${flagWords(seg.flags)}) where the script expects ` +
        `${flagLetters(spec.flags)} (${flagWords(spec.flags)})`,
    );
  }
  const start = rel(seg.seq, base.local);
  if (start !== spec.start) {
    out.push(`sequence number ${start} where the script expects ${spec.start}`);
  }
  if (seg.payload.length !== spec.len) {
    out.push(`${octets(seg.payload.length)} of data where the script expects ${spec.len}`);
  }
  if (spec.ack !== undefined && (seg.flags & ACK)) {
    const ack = rel(seg.ack, base.remote);
    if (ack !== spec.ack) out.push(`ack ${ack} where the script expects ${spec.ack}`);
  }
  if (spec.win !== undefined && seg.window !== spec.win) {
    out.push(`window ${seg.window} where the script expects ${spec.win}`);
  }
  if (spec.urg !== undefined && seg.urgent !== spec.urg) {
    out.push(`urgent pointer ${seg.urgent} where the script expects ${spec.urg}`);
  }
  if (spec.options !== "any") out.push(...optionDifferences(seg, spec.options ?? []));
  return out;
}

function octets(n: number): string {
  return n === 1 ? "1 octet" : `${n} octets`;
}

function optionDifferences(seg: Segment, want: TcpOptionSpec[]): string[] {
  const out: string[] = [];
  const find = <K extends TcpOptionSpec["kind"]>(k: K) =>
    want.find((o) => o.kind === k) as Extract<TcpOptionSpec, { kind: K }> | undefined;
  const mss = find("mss");
  if (mss && seg.mss !== mss.value) {
    out.push(
      seg.mss === undefined
        ? `no MSS option (expected mss ${mss.value})`
        : `mss ${seg.mss} where the script expects ${mss.value}`,
    );
  } else if (!mss && seg.mss !== undefined) {
    out.push(`an MSS option (mss ${seg.mss}) the script does not expect`);
  }
  const ws = find("wscale");
  if (ws && seg.windowScale !== ws.value) {
    out.push(
      seg.windowScale === undefined
        ? `no window scale option (expected wscale ${ws.value})`
        : `wscale ${seg.windowScale} where the script expects ${ws.value}`,
    );
  } else if (!ws && seg.windowScale !== undefined) {
    out.push(`a window scale option (wscale ${seg.windowScale}) the script does not expect`);
  }
  const sackOk = find("sackOK");
  if (sackOk && !seg.sackPermitted) out.push("no SACK-permitted option (expected sackOK)");
  else if (!sackOk && seg.sackPermitted) {
    out.push("a SACK-permitted option the script does not expect");
  }
  const ts = find("ts");
  if (ts && seg.tsVal === undefined) out.push("no timestamps option (expected TS)");
  else if (!ts && seg.tsVal !== undefined) {
    out.push(`a timestamps option (TS ecr ${seg.tsEcr}) the script does not expect`);
  } else if (ts && seg.tsEcr !== ts.ecr) {
    out.push(`TS ecr ${seg.tsEcr} where the script expects ${ts.ecr}`);
  }
  const sack = find("sack");
  const has = seg.sack !== undefined && seg.sack.length > 0;
  if (sack && !has) out.push("no SACK blocks (finwait never sends SACK)");
  else if (!sack && has) out.push("SACK blocks the script does not expect");
  return out;
}
