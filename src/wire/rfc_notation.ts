/**
 * The segment notation of RFC 9293 §3.5 and §3.6 (Figures 6 to 13), used by tests,
 * traces and the UI: `<SEQ=100><ACK=300><CTL=FIN,ACK>`.
 *
 * Fields: `<SEQ=n>`, `<ACK=n>`, `<CTL=a,b>`, `<DATA>`, `<DATA=n>`, `<DATA="text">`, and
 * finwait's extensions for windows and options: `<WND=n>`, `<MSS=n>`, `<WS=n>`,
 * `<SACKOK>`, `<TS=val,ecr>`, `<SACK=left:right,...>`.
 *
 * @example
 * ```ts
 * import { formatSegment, seg } from "./rfc_notation.ts";
 * const fin = seg("<SEQ=100><ACK=300><CTL=FIN,ACK>");
 * if (formatSegment(fin) !== "<SEQ=100><ACK=300><CTL=FIN,ACK>") throw new Error("round trip");
 * ```
 *
 * @module
 */
import {
  ACK,
  CWR,
  ECE,
  FIN,
  MAX_WINDOW_SCALE,
  newSegment,
  PSH,
  RST,
  type Segment,
  SYN,
  URG,
} from "./segment.ts";

/** Control-bit names in the order `<CTL=...>` lists them. */
const CTL_NAMES: ReadonlyArray<readonly [string, number]> = [
  ["SYN", SYN],
  ["FIN", FIN],
  ["RST", RST],
  ["PSH", PSH],
  ["URG", URG],
  ["ECE", ECE],
  ["CWR", CWR],
  ["ACK", ACK],
];
const CTL_BY_NAME: ReadonlyMap<string, number> = new Map(CTL_NAMES);

/** Options for {@linkcode formatSegment}. */
export interface FormatOptions {
  /** Also show the window and the options present (`<WND=n><MSS=n>...`). */
  verbose?: boolean;
}

/**
 * Formats a segment in RFC 9293 notation: `<SEQ=n>`, then `<ACK=n>` only when the ACK
 * control bit is set (the field means nothing otherwise, §3.1), then `<CTL=...>` with
 * the set control bits in the order SYN, FIN, RST, PSH, URG, ECE, CWR, ACK (omitted when
 * none is set), then `<DATA=n>` with the octet count when there is data.
 *
 * With `verbose`, appends `<WND=n>` and each option present: `<MSS=n>`, `<WS=n>`,
 * `<SACKOK>`, `<TS=val,ecr>`, `<SACK=left:right,...>`.
 *
 * @example
 * ```ts
 * import { formatSegment } from "./rfc_notation.ts";
 * import { newSegment, SYN } from "./segment.ts";
 * const syn = newSegment({ seq: 100, flags: SYN, window: 65535, mss: 1460 });
 * if (formatSegment(syn) !== "<SEQ=100><CTL=SYN>") throw new Error("plain");
 * if (formatSegment(syn, { verbose: true }) !== "<SEQ=100><CTL=SYN><WND=65535><MSS=1460>") {
 *   throw new Error("verbose");
 * }
 * ```
 */
export function formatSegment(seg: Segment, opts?: FormatOptions): string {
  let text = `<SEQ=${seg.seq}>`;
  if (seg.flags & ACK) text += `<ACK=${seg.ack}>`;
  if (seg.flags !== 0) {
    const names: string[] = [];
    for (const [name, bit] of CTL_NAMES) if (seg.flags & bit) names.push(name);
    text += `<CTL=${names.join(",")}>`;
  }
  if (seg.payload.length > 0) text += `<DATA=${seg.payload.length}>`;
  if (opts?.verbose) {
    text += `<WND=${seg.window}>`;
    if (seg.mss !== undefined) text += `<MSS=${seg.mss}>`;
    if (seg.windowScale !== undefined) text += `<WS=${seg.windowScale}>`;
    if (seg.sackPermitted) text += "<SACKOK>";
    if (seg.tsVal !== undefined) text += `<TS=${seg.tsVal},${seg.tsEcr ?? 0}>`;
    if (seg.sack !== undefined && seg.sack.length > 0) {
      const blocks: string[] = [];
      for (let k = 0; k + 1 < seg.sack.length; k += 2) {
        blocks.push(`${seg.sack[k]}:${seg.sack[k + 1]}`);
      }
      text += `<SACK=${blocks.join(",")}>`;
    }
  }
  return text;
}

/** The result of {@linkcode parseSegment}. */
export type ParseSegmentResult =
  | { ok: true; segment: Segment }
  | { ok: false; reason: string };

/** Thrown by {@linkcode seg} when the notation does not parse; `message` is the reason. */
export class NotationError extends SyntaxError {
  /** Creates the error with the parser's reason as its message. */
  constructor(message: string) {
    super(message);
    this.name = "NotationError";
  }
}

const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
/** Largest `<DATA=n>`: the most octets one IPv4 datagram could carry, rounded up. */
const DATA_MAX_OCTETS = 0xffff;
const DIGITS = /^[0-9]+$/;
const NAME_CHAR = /[A-Za-z]/;
const UTF8 = new TextEncoder();
const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['"', '"'],
  ["\\", "\\"],
  ["n", "\n"],
  ["r", "\r"],
  ["t", "\t"],
]);

function fail(reason: string): ParseSegmentResult {
  return { ok: false, reason };
}

function parseUint(text: string | undefined, max: number): number | undefined {
  if (text === undefined || !DIGITS.test(text)) return undefined;
  const v = Number(text);
  return v <= max ? v : undefined;
}

/** `n` octets of the repeating pattern "abc...z", so data is readable in dumps. */
function patternPayload(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let k = 0; k < n; k++) out[k] = 0x61 + (k % 26);
  return out;
}

/**
 * Parses RFC 9293 notation into a segment built on `init` (ports, window and any other
 * field the text does not set). Whitespace between fields is ignored; each field may
 * appear once; field names are upper case as in the RFC.
 *
 * - `<SEQ=n>`, `<ACK=n>` (decimal, 0 to 2^32-1). `<ACK=n>` sets only the acknowledgment
 *   number: the ACK control bit comes from `<CTL=...>` alone, as in the RFC figures.
 * - `<CTL=a,b,...>` with names SYN, FIN, RST, PSH, URG, ECE, CWR, ACK in any order;
 *   replaces `init.flags`.
 * - `<DATA>` is one octet, the letter "x"; `<DATA=n>` is n octets of "abc...zabc...";
 *   `<DATA="text">` is the UTF-8 of text, where `\"`, `\\`, `\n`, `\r`, `\t` are escapes.
 * - `<WND=n>`, `<MSS=n>` (0 to 65535), `<WS=n>` (0 to 14), `<SACKOK>`, `<TS=val,ecr>`,
 *   `<SACK=left:right,...>`.
 *
 * Never throws; a bad input gives a reason such as `Unknown field "<FOO=1>"`.
 */
export function parseSegment(text: string, init?: Partial<Segment>): ParseSegmentResult {
  const segment = newSegment(init);
  const seen = new Set<string>();
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && /\s/.test(text[i])) i++;
    if (i >= n) break;
    if (text[i] !== "<") {
      return fail(`Expected "<" but found "${text[i]}" at offset ${i} of "${text}"`);
    }
    const start = i;
    let j = i + 1;
    while (j < n && NAME_CHAR.test(text[j])) j++;
    const name = text.slice(i + 1, j);
    let value: string | undefined;
    let quoted = false;
    if (text[j] === "=") {
      j++;
      if (text[j] === '"') {
        // A quoted string may hold "<" and ">", so it is scanned, not searched.
        quoted = true;
        value = "";
        j++;
        for (;;) {
          if (j >= n) return fail(`Unterminated field "${text.slice(start)}"`);
          const c = text[j];
          if (c === '"') break;
          if (c === "\\") {
            const e = text[j + 1];
            const unescaped = e === undefined ? undefined : ESCAPES.get(e);
            if (unescaped === undefined) {
              return fail(`Bad escape "\\${e ?? ""}" in "${text.slice(start)}"`);
            }
            value += unescaped;
            j += 2;
            continue;
          }
          value += c;
          j++;
        }
        j++; // past the closing quote
      } else {
        let k = j;
        while (k < n && text[k] !== ">" && text[k] !== "<") k++;
        value = text.slice(j, k);
        j = k;
      }
    }
    if (j >= n || text[j] === "<") return fail(`Unterminated field "${text.slice(start, j)}"`);
    if (text[j] !== ">") {
      let k = j;
      while (k < n && text[k] !== ">" && text[k] !== "<") k++;
      return fail(`Malformed field "${text.slice(start, k < n && text[k] === ">" ? k + 1 : k)}"`);
    }
    i = j + 1;
    const field = text.slice(start, i);
    if (seen.has(name)) return fail(`Duplicate field "${field}"`);
    seen.add(name);
    const reason = applyField(segment, name, value, quoted, field);
    if (reason !== undefined) return fail(reason);
  }
  if (seen.size === 0) return fail("Empty segment notation");
  return { ok: true, segment };
}

/** Sets one field on `s`; returns a reason when the field is unknown or malformed. */
function applyField(
  s: Segment,
  name: string,
  value: string | undefined,
  quoted: boolean,
  field: string,
): string | undefined {
  const malformed = (expected: string) => `Malformed field "${field}": expected ${expected}`;
  if (quoted && name !== "DATA") return malformed(`<${name}=...> without quotes`);
  switch (name) {
    case "SEQ":
    case "ACK": {
      const v = parseUint(value, U32_MAX);
      if (v === undefined) return malformed(`<${name}=n> with n in 0..${U32_MAX}`);
      if (name === "SEQ") s.seq = v;
      else s.ack = v;
      return;
    }
    case "CTL": {
      if (value === undefined || value === "") return malformed("<CTL=a,b> with control bits");
      let flags = 0;
      for (const part of value.split(",")) {
        const bit = CTL_BY_NAME.get(part.trim());
        if (bit === undefined) return `Unknown control bit "${part}" in "${field}"`;
        flags |= bit;
      }
      s.flags = flags;
      return;
    }
    case "DATA": {
      if (value === undefined) s.payload = new Uint8Array([0x78]); // "x", as in §3.5
      else if (quoted) s.payload = UTF8.encode(value);
      else {
        const v = parseUint(value, DATA_MAX_OCTETS);
        if (v === undefined) {
          return malformed(`<DATA>, <DATA=n> with n in 0..${DATA_MAX_OCTETS} or <DATA="text">`);
        }
        s.payload = patternPayload(v);
      }
      return;
    }
    case "WND":
    case "MSS": {
      const v = parseUint(value, U16_MAX);
      if (v === undefined) return malformed(`<${name}=n> with n in 0..${U16_MAX}`);
      if (name === "WND") s.window = v;
      else s.mss = v;
      return;
    }
    case "WS": {
      const v = parseUint(value, MAX_WINDOW_SCALE);
      if (v === undefined) return malformed(`<WS=n> with n in 0..${MAX_WINDOW_SCALE}`);
      s.windowScale = v;
      return;
    }
    case "SACKOK":
      if (value !== undefined) return malformed("<SACKOK> without a value");
      s.sackPermitted = true;
      return;
    case "TS": {
      const parts = value?.split(",");
      const val = parseUint(parts?.[0], U32_MAX);
      const ecr = parseUint(parts?.[1], U32_MAX);
      if (parts?.length !== 2 || val === undefined || ecr === undefined) {
        return malformed(`<TS=val,ecr> with both in 0..${U32_MAX}`);
      }
      s.tsVal = val;
      s.tsEcr = ecr;
      return;
    }
    case "SACK": {
      const edges: number[] = [];
      for (const block of value?.split(",") ?? [""]) {
        const [left, right, extra] = block.split(":");
        const l = parseUint(left, U32_MAX);
        const r = parseUint(right, U32_MAX);
        if (l === undefined || r === undefined || extra !== undefined) {
          return malformed("<SACK=left:right,...> with edges in 0..4294967295");
        }
        edges.push(l, r);
      }
      s.sack = edges;
      return;
    }
    default:
      return `Unknown field "${field}"`;
  }
}

/**
 * Parses RFC 9293 notation or throws: the short form for tests and fixtures.
 *
 * @throws {NotationError} with the reason {@linkcode parseSegment} gives.
 *
 * @example
 * ```ts
 * import { seg } from "./rfc_notation.ts";
 * import { ACK, FIN } from "./segment.ts";
 * const s = seg("<SEQ=300><ACK=101><CTL=FIN,ACK>", { srcPort: 80, dstPort: 49152 });
 * if (s.flags !== (FIN | ACK) || s.ack !== 101 || s.srcPort !== 80) throw new Error("seg");
 * ```
 */
export function seg(text: string, init?: Partial<Segment>): Segment {
  const r = parseSegment(text, init);
  if (!r.ok) throw new NotationError(r.reason);
  return r.segment;
}
