/**
 * TCP segment header codec (RFC 9293 §3.1, §3.2): decode, `encodedLength`, encode
 * into a caller's buffer. Options: MSS, window scale, SACK-permitted, SACK blocks
 * (decoded only), timestamps (RFC 7323), NOP and EOL; unknown options are skipped
 * by their length.
 *
 * Bytes from the network never throw: {@linkcode decode} returns a failure reason.
 *
 * @module
 */
import { foldChecksum, sum16 } from "./checksum.ts";

/** Control bits (RFC 9293 §3.1). FIN: no more data from sender. */
export const FIN = 0x01;
/** Control bit SYN: synchronize sequence numbers (RFC 9293 §3.1). */
export const SYN = 0x02;
/** Control bit RST: reset the connection (RFC 9293 §3.1). */
export const RST = 0x04;
/** Control bit PSH: push function (RFC 9293 §3.1). */
export const PSH = 0x08;
/** Control bit ACK: the acknowledgment field is significant (RFC 9293 §3.1). */
export const ACK = 0x10;
/** Control bit URG: the urgent pointer field is significant (RFC 9293 §3.1). */
export const URG = 0x20;
/** Control bit ECE: ECN-Echo (RFC 3168 §6.1). */
export const ECE = 0x40;
/** Control bit CWR: congestion window reduced (RFC 3168 §6.1). */
export const CWR = 0x80;

/**
 * A decoded TCP segment. Option fields are `undefined` when the option is absent.
 * Every field is always present on objects that finwait creates, so they share one
 * hidden class.
 */
export interface Segment {
  /** Source port (RFC 9293 §3.1). */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** SEG.SEQ: sequence number of the first octet (of the SYN when SYN is set). */
  seq: number;
  /** SEG.ACK: the next sequence number expected; significant only with ACK set. */
  ack: number;
  /** Bitwise OR of {@linkcode FIN}, {@linkcode SYN}, ... */
  flags: number;
  /** SEG.WND as on the wire, before any window scaling (RFC 7323 §2.3). */
  window: number;
  /** The checksum as read from the wire (decode) or as last written (encode). */
  checksum: number;
  /** SEG.UP: urgent pointer, significant only with URG set. */
  urgent: number;
  /** Maximum segment size option (§3.7.1), kind 2. */
  mss: number | undefined;
  /** Window scale shift (RFC 7323 §2), kind 3; decode clamps it to 14. */
  windowScale: number | undefined;
  /** SACK-permitted option (RFC 2018 §2), kind 4. */
  sackPermitted: boolean;
  /**
   * SACK blocks as [left, right) pairs, decoded only (RFC 2018), stored flat:
   * `[left0, right0, left1, right1, ...]`.
   */
  sack: number[] | undefined;
  /** Timestamps option TSval (RFC 7323 §3), kind 8; set together with `tsEcr`. */
  tsVal: number | undefined;
  /** Timestamps option TSecr (RFC 7323 §3). */
  tsEcr: number | undefined;
  /** The data; after {@linkcode decode} a view into the decoded bytes, not a copy. */
  payload: Uint8Array;
}

/** Why {@linkcode decode} refused a buffer. */
export type DecodeFailure =
  | "short-buffer"
  | "bad-data-offset"
  | "option-overrun"
  | "bad-option-length"
  | "syn-fin"
  | "syn-rst"
  | "bad-checksum";

/** The result of {@linkcode decode}. */
export type DecodeResult =
  | { ok: true; segment: Segment }
  | { ok: false; reason: DecodeFailure };

/** Shortest TCP header in bytes: data offset 5 (RFC 9293 §3.1). */
export const MIN_HEADER_BYTES = 20;
/** Longest TCP header in bytes: data offset 15, so at most 40 bytes of options. */
export const MAX_HEADER_BYTES = 60;
/** Largest window scale shift; larger received values are used as 14 (RFC 7323 §2.3). */
export const MAX_WINDOW_SCALE = 14;

/** Every {@linkcode DecodeFailure}, for counters that want one slot per reason. */
export const DECODE_FAILURES: readonly DecodeFailure[] = Object.freeze(
  [
    "short-buffer",
    "bad-data-offset",
    "option-overrun",
    "bad-option-length",
    "syn-fin",
    "syn-rst",
    "bad-checksum",
  ] as const,
);

/**
 * The empty payload shared by every segment without data, so that building or
 * decoding a bare ACK allocates no buffer. It has length 0 and cannot be written to.
 */
export const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * Thrown by {@linkcode encode} for caller bugs only: a buffer too small or a field
 * outside the range its header field can hold. Network input never causes it.
 */
export class EncodeError extends RangeError {
  /** Creates the error; `message` follows the house style (no trailing period). */
  constructor(message: string) {
    super(message);
    this.name = "EncodeError";
  }
}

/**
 * Builds a segment with every field present, in one fixed order, so all segments share
 * one hidden class. Missing numbers are 0, options absent, `sackPermitted` false and
 * the payload {@linkcode EMPTY}.
 *
 * @example A FIN+ACK as in RFC 9293 Figure 12
 * ```ts
 * import { ACK, FIN, newSegment } from "./segment.ts";
 * const fin = newSegment({ seq: 100, ack: 300, flags: FIN | ACK });
 * if (fin.window !== 0 || fin.mss !== undefined) throw new Error("defaults");
 * ```
 */
export function newSegment(init?: Partial<Segment>): Segment {
  const i = init ?? NO_INIT;
  return {
    srcPort: i.srcPort ?? 0,
    dstPort: i.dstPort ?? 0,
    seq: i.seq ?? 0,
    ack: i.ack ?? 0,
    flags: i.flags ?? 0,
    window: i.window ?? 0,
    checksum: i.checksum ?? 0,
    urgent: i.urgent ?? 0,
    mss: i.mss,
    windowScale: i.windowScale,
    sackPermitted: i.sackPermitted ?? false,
    sack: i.sack,
    tsVal: i.tsVal,
    tsEcr: i.tsEcr,
    payload: i.payload ?? EMPTY,
  };
}

const NO_INIT: Partial<Segment> = Object.freeze({});

// Option kinds (RFC 9293 §3.2, RFC 7323, RFC 2018).
const OPT_EOL = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;
const OPT_WS = 3;
const OPT_SACK_PERMITTED = 4;
const OPT_SACK = 5;
const OPT_TS = 8;

// Bytes of options encode() writes; the layout is in encode's documentation.
function optionsLength(seg: Segment): number {
  let n = 0;
  if (seg.mss !== undefined) n += 4;
  if (seg.windowScale !== undefined) n += 4;
  if (seg.tsVal !== undefined || seg.tsEcr !== undefined) n += 12;
  else if (seg.sackPermitted) n += 4;
  return n;
}

/**
 * The number of bytes {@linkcode encode} writes for `seg`: the 20-byte header, the
 * options it carries (laid out as {@linkcode encode} describes; always a multiple of
 * 4) and the payload. SACK blocks are never encoded and do not count.
 */
export function encodedLength(seg: Segment): number {
  return MIN_HEADER_BYTES + optionsLength(seg) + seg.payload.length;
}

function isU16(x: number): boolean {
  return (x & 0xffff) === x;
}

function isU32(x: number | undefined): boolean {
  return x === undefined || (x >>> 0) === x;
}

/**
 * Encodes `seg` into `out` at `offset` and returns the number of bytes written
 * (equal to {@linkcode encodedLength}). Allocates nothing. Control bits are written as
 * given, even illegal pairs such as SYN+FIN, so tests can build hostile segments; the
 * reserved bits are written as zero (RFC 9293 §3.1). `seg.sack` is ignored.
 *
 * With `addrSum` (the pseudo-header sum from `addrSum` in checksum.ts) the checksum is computed over
 * the pseudo header and the segment, written, and stored in `seg.checksum`; without it
 * `seg.checksum` is written unchanged. With `addrSum` and `partial`, the checksum is
 * left to the link, as with a NIC's checksum offload (Linux's CHECKSUM_PARTIAL, which
 * its loopback device never completes): the field gets the folded pseudo-header sum,
 * TCP length included, and {@linkcode completeChecksum} turns it into the checksum.
 *
 * Timestamps are present when `tsVal` and `tsEcr` are both set; setting only one of
 * them is a caller bug.
 *
 * Options are written in this order, each block 4-byte aligned so no EOL padding is ever
 * needed (at most 20 of the 40 option bytes, RFC 9293 §3.2 and RFC 7323 Appendix A):
 *
 * ```text
 * MSS:                   02 04 mm mm                   (4)
 * window scale:          01 03 03 ss                   (4, NOP then WS, as Linux)
 * SACK-permitted and TS: 04 02 08 0a <TSval> <TSecr>   (12, Linux "sackOK,TS")
 * TS only:               01 01 08 0a <TSval> <TSecr>   (12, NOP, NOP, TS)
 * SACK-permitted only:   01 01 04 02                   (4, NOP, NOP, SACKOK)
 * ```
 *
 * @throws {EncodeError} when `out` is too small from `offset` or a field does not fit
 * its header field (ports, window, urgent pointer, checksum and MSS are 16-bit; SEQ,
 * ACK, TSval and TSecr 32-bit; control bits 8-bit; window scale 0 to 14).
 *
 * @example Encode a SYN with options and decode it back
 * ```ts
 * import { decode, encode, encodedLength, newSegment, SYN } from "./segment.ts";
 * import { addrSum, parseIp } from "./checksum.ts";
 * const sum = addrSum(parseIp("192.0.2.1")!, parseIp("192.0.2.2")!);
 * const syn = newSegment({ srcPort: 49152, dstPort: 80, seq: 100, flags: SYN,
 *   window: 65535, mss: 1460, windowScale: 7, sackPermitted: true, tsVal: 1, tsEcr: 0 });
 * const buf = new Uint8Array(64);
 * const n = encode(syn, buf, 0, sum);
 * const r = decode(buf.subarray(0, n), sum);
 * if (n !== encodedLength(syn) || !r.ok || r.segment.mss !== 1460) throw new Error("SYN");
 * ```
 */
export function encode(
  seg: Segment,
  out: Uint8Array,
  offset = 0,
  addrSum?: number,
  partial = false,
): number {
  const { srcPort, dstPort, seq, ack, flags, window, urgent, mss, windowScale, tsVal, tsEcr } = seg;
  const payload = seg.payload;
  const checksum = seg.checksum;
  const sackPermitted = seg.sackPermitted;
  // One combined test on the hot path; the slow path names the offending field.
  if (
    !(isU16(srcPort) && isU16(dstPort) && isU32(seq) && isU32(ack) && (flags & 0xff) === flags &&
      isU16(window) && isU16(checksum) && isU16(urgent) && (mss === undefined || isU16(mss)) &&
      (windowScale === undefined ||
        ((windowScale >>> 0) === windowScale && windowScale <= MAX_WINDOW_SCALE)) &&
      isU32(tsVal) && isU32(tsEcr) && (tsVal === undefined) === (tsEcr === undefined))
  ) {
    throw fieldError(seg);
  }
  const headerLength = MIN_HEADER_BYTES + optionsLength(seg);
  const payloadLength = payload.length;
  const total = headerLength + payloadLength;
  if (!((offset >>> 0) === offset && offset + total <= out.length)) {
    throw new EncodeError(
      `Cannot encode segment: it needs ${total} bytes at offset ${offset} but the buffer has ${out.length}`,
    );
  }
  const seqHi = seq >>> 16;
  const seqLo = seq & 0xffff;
  const ackHi = ack >>> 16;
  const ackLo = ack & 0xffff;
  // Data offset in 32-bit words in the top nibble, reserved bits 0 (§3.1), control bits.
  const offsetFlags = (headerLength << 10) | flags;
  let p = offset;
  // Typed-array stores keep the low 8 bits, so no masks are needed below.
  out[p] = srcPort >>> 8;
  out[p + 1] = srcPort;
  out[p + 2] = dstPort >>> 8;
  out[p + 3] = dstPort;
  out[p + 4] = seqHi >>> 8;
  out[p + 5] = seqHi;
  out[p + 6] = seqLo >>> 8;
  out[p + 7] = seqLo;
  out[p + 8] = ackHi >>> 8;
  out[p + 9] = ackHi;
  out[p + 10] = ackLo >>> 8;
  out[p + 11] = ackLo;
  out[p + 12] = offsetFlags >>> 8;
  out[p + 13] = flags;
  out[p + 14] = window >>> 8;
  out[p + 15] = window;
  out[p + 18] = urgent >>> 8;
  out[p + 19] = urgent;
  // The checksum of header and options is summed from the values as they are written,
  // not read back from `out` (RFC 1071 §2(A): words add in any order). The checksum
  // field counts as zero (§3.1), so it is left out. At most 20 words of 16 bits, a
  // folded pseudo-header sum and the length keep `sum` a small integer.
  let sum = srcPort + dstPort + seqHi + seqLo + ackHi + ackLo + offsetFlags + window + urgent;
  p += MIN_HEADER_BYTES;
  if (mss !== undefined) {
    out[p] = OPT_MSS;
    out[p + 1] = 4;
    out[p + 2] = mss >>> 8;
    out[p + 3] = mss;
    sum += 0x0204 + mss;
    p += 4;
  }
  if (windowScale !== undefined) {
    out[p] = OPT_NOP;
    out[p + 1] = OPT_WS;
    out[p + 2] = 3;
    out[p + 3] = windowScale;
    sum += 0x0103 + 0x0300 + windowScale;
    p += 4;
  }
  if (tsVal !== undefined) {
    if (sackPermitted) {
      out[p] = OPT_SACK_PERMITTED;
      out[p + 1] = 2;
      sum += 0x0402;
    } else {
      out[p] = OPT_NOP;
      out[p + 1] = OPT_NOP;
      sum += 0x0101;
    }
    out[p + 2] = OPT_TS;
    out[p + 3] = 10;
    const vHi = tsVal >>> 16, vLo = tsVal & 0xffff;
    const eHi = tsEcr! >>> 16, eLo = tsEcr! & 0xffff;
    out[p + 4] = vHi >>> 8;
    out[p + 5] = vHi;
    out[p + 6] = vLo >>> 8;
    out[p + 7] = vLo;
    out[p + 8] = eHi >>> 8;
    out[p + 9] = eHi;
    out[p + 10] = eLo >>> 8;
    out[p + 11] = eLo;
    sum += 0x080a + vHi + vLo + eHi + eLo;
    p += 12;
  } else if (sackPermitted) {
    out[p] = OPT_NOP;
    out[p + 1] = OPT_NOP;
    out[p + 2] = OPT_SACK_PERMITTED;
    out[p + 3] = 2;
    sum += 0x0101 + 0x0402;
    p += 4;
  }
  if (payloadLength > 0) out.set(payload, p);
  if (addrSum === undefined) {
    out[offset + 16] = checksum >>> 8;
    out[offset + 17] = checksum;
    return total;
  }
  // The TCP length of the pseudo header (§3.1) is added here, once per segment. The
  // data starts at a multiple of 4 from the segment start, so its words line up; it is
  // read back from `out`, which holds exactly the bytes sent.
  const pseudo = (addrSum & 0xffff) + (addrSum >>> 16) + total;
  if (partial) {
    // The pseudo header's sum, folded but not complemented: summing the segment with
    // this in the field gives the checksum (completeChecksum).
    const c = ~foldChecksum(pseudo) & 0xffff;
    out[offset + 16] = c >>> 8;
    out[offset + 17] = c;
    seg.checksum = c;
    return total;
  }
  sum += pseudo;
  if (payloadLength > 0) sum = sum16(out, p, p + payloadLength, sum);
  const c = foldChecksum(sum);
  out[offset + 16] = c >>> 8;
  out[offset + 17] = c;
  seg.checksum = c;
  return total;
}

/**
 * Completes the checksum of a segment that {@linkcode encode} wrote with `partial`: what
 * an offloading NIC does on the way out (or the stack's software fallback for a link
 * that cannot). `bytes` is the whole segment, header to last data byte. Returns the
 * checksum it wrote.
 *
 * @throws {RangeError} when `bytes` is shorter than a TCP header.
 *
 * @example The completed segment equals the one encoded with a full checksum
 * ```ts
 * import { completeChecksum, encode, newSegment, ACK } from "./segment.ts";
 * import { addrSum, parseIp } from "./checksum.ts";
 * const sum = addrSum(parseIp("192.0.2.1")!, parseIp("192.0.2.2")!);
 * const seg = newSegment({ srcPort: 80, dstPort: 49152, seq: 7, ack: 9, flags: ACK });
 * const full = new Uint8Array(20), partial = new Uint8Array(20);
 * encode(seg, full, 0, sum);
 * encode(seg, partial, 0, sum, true);
 * completeChecksum(partial);
 * if (partial.join() !== full.join()) throw new Error("offload");
 * ```
 */
export function completeChecksum(bytes: Uint8Array): number {
  if (bytes.length < MIN_HEADER_BYTES) {
    throw new RangeError(
      `Cannot complete the checksum of ${bytes.length} bytes: a TCP header has ${MIN_HEADER_BYTES}`,
    );
  }
  const c = foldChecksum(sum16(bytes, 0, bytes.length));
  bytes[16] = c >>> 8;
  bytes[17] = c;
  return c;
}

function fieldError(seg: Segment): EncodeError {
  const u16 = ["srcPort", "dstPort", "window", "checksum", "urgent", "mss"] as const;
  const u32 = ["seq", "ack", "tsVal", "tsEcr"] as const;
  for (const name of u16) {
    const v = seg[name];
    if (v !== undefined && !isU16(v)) return rangeError(name, v, "0..65535");
  }
  for (const name of u32) {
    if (!isU32(seg[name])) return rangeError(name, seg[name], "0..4294967295");
  }
  if ((seg.flags & 0xff) !== seg.flags) return rangeError("flags", seg.flags, "0..255");
  const ws = seg.windowScale;
  if (ws !== undefined && !((ws >>> 0) === ws && ws <= MAX_WINDOW_SCALE)) {
    return rangeError("windowScale", ws, `0..${MAX_WINDOW_SCALE}`);
  }
  return new EncodeError(
    `Cannot encode segment: tsVal "${seg.tsVal}" and tsEcr "${seg.tsEcr}" must be set together`,
  );
}

function rangeError(name: string, value: unknown, range: string): EncodeError {
  return new EncodeError(`Cannot encode segment: ${name} "${value}" is outside ${range}`);
}

// Failures are preallocated: a flood of junk must not allocate per datagram.
function failure(reason: DecodeFailure): DecodeResult {
  return Object.freeze({ ok: false, reason });
}
const SHORT_BUFFER = failure("short-buffer");
const BAD_DATA_OFFSET = failure("bad-data-offset");
const OPTION_OVERRUN = failure("option-overrun");
const BAD_OPTION_LENGTH = failure("bad-option-length");
const SYN_FIN = failure("syn-fin");
const SYN_RST = failure("syn-rst");
const BAD_CHECKSUM = failure("bad-checksum");
/** One shared frozen result per reason. */
const FAILURES: Record<DecodeFailure, DecodeResult> = {
  "short-buffer": SHORT_BUFFER,
  "bad-data-offset": BAD_DATA_OFFSET,
  "option-overrun": OPTION_OVERRUN,
  "bad-option-length": BAD_OPTION_LENGTH,
  "syn-fin": SYN_FIN,
  "syn-rst": SYN_RST,
  "bad-checksum": BAD_CHECKSUM,
};

function u32At(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/**
 * Decodes one TCP segment (the whole IP payload: header, options, data). Never throws;
 * a refused buffer gives `{ ok: false, reason }`. Checks, in this order:
 *
 * 1. at least 20 bytes (`"short-buffer"`);
 * 2. with `addrSum`, the checksum over pseudo header and segment (`"bad-checksum"`),
 *    first, so a corrupted segment is counted as corrupted whatever else it breaks;
 * 3. data offset at least 5 and within the buffer (`"bad-data-offset"`);
 * 4. options (§3.2): EOL ends the list, NOP is skipped, any other kind needs a length
 *    byte inside the header (`"option-overrun"`), a length of at least 2 and, for known
 *    kinds, the exact length: MSS 4, WS 3, SACK-permitted 2, TS 10, SACK 2+8n with n >= 1
 *    (`"bad-option-length"`), and a body inside the header (`"option-overrun"`).
 *    Unknown kinds are skipped by their length; a repeated option overwrites the earlier;
 *    a window scale above 14 reads as 14 (RFC 7323 §2.3);
 * 5. SYN with FIN (`"syn-fin"`) or SYN with RST (`"syn-rst"`).
 *
 * Reserved header bits are ignored (§3.1). Options are reported whatever the control
 * bits; which of them count (MSS only on SYN, §3.7.1) is the TCB's decision.
 *
 * The payload is a `subarray` of `bytes` (or {@linkcode EMPTY}), not a copy: callers
 * that keep it beyond the life of `bytes` must copy it. `sack` holds the SACK blocks
 * as a flat list of edges `[left0, right0, left1, right1, ...]`, each block [left, right).
 *
 * @example
 * ```ts
 * import { decode } from "./segment.ts";
 * const r = decode(new Uint8Array(10));
 * if (r.ok || r.reason !== "short-buffer") throw new Error("decode");
 * ```
 */
export function decode(bytes: Uint8Array, addrSum?: number): DecodeResult {
  const segment = newSegment();
  const reason = decodeInto(bytes, segment, addrSum);
  return reason === undefined ? { ok: true, segment } : FAILURES[reason];
}

/**
 * {@linkcode decode} into a caller's segment object (no allocation but the payload
 * view and SACK blocks). Returns the failure reason, or `undefined` on success; on
 * failure `out` is left unchanged.
 */
export function decodeInto(
  bytes: Uint8Array,
  out: Segment,
  addrSum?: number,
): DecodeFailure | undefined {
  const length = bytes.length;
  if (length < MIN_HEADER_BYTES) return "short-buffer";
  // The fixed header is read once, as 16-bit words: they feed both the checksum and
  // the fields.
  const srcPort = (bytes[0] << 8) | bytes[1];
  const dstPort = (bytes[2] << 8) | bytes[3];
  const seqHi = (bytes[4] << 8) | bytes[5];
  const seqLo = (bytes[6] << 8) | bytes[7];
  const ackHi = (bytes[8] << 8) | bytes[9];
  const ackLo = (bytes[10] << 8) | bytes[11];
  const offsetFlags = (bytes[12] << 8) | bytes[13];
  const window = (bytes[14] << 8) | bytes[15];
  const checksum = (bytes[16] << 8) | bytes[17];
  const urgent = (bytes[18] << 8) | bytes[19];
  const headerLength = (offsetFlags >>> 12) << 2;
  // NOP, NOP, timestamps and nothing else: the options of nearly every segment after
  // the handshake (encode's layout, and Linux's). The general loop below would read
  // them the same way; this path skips its per-option checks.
  const tsOnly = headerLength === 32 && length >= 32 && bytes[20] === OPT_NOP &&
    bytes[21] === OPT_NOP && bytes[22] === OPT_TS && bytes[23] === 10;
  let tsValHi = 0, tsValLo = 0, tsEcrHi = 0, tsEcrLo = 0;
  if (tsOnly) {
    tsValHi = (bytes[24] << 8) | bytes[25];
    tsValLo = (bytes[26] << 8) | bytes[27];
    tsEcrHi = (bytes[28] << 8) | bytes[29];
    tsEcrLo = (bytes[30] << 8) | bytes[31];
  }
  if (addrSum !== undefined) {
    // Words already read are summed from their values (RFC 1071 §2(A)); sum16 reads
    // only the rest. The TCP length is that of the pseudo header (§3.1).
    const initial = addrSum + length;
    let sum = (initial & 0xffff) + (initial >>> 16) + srcPort + dstPort + seqHi + seqLo +
      ackHi + ackLo + offsetFlags + window + checksum + urgent;
    let from = MIN_HEADER_BYTES;
    if (tsOnly) {
      sum += 0x0101 + 0x080a + tsValHi + tsValLo + tsEcrHi + tsEcrLo;
      from = 32;
    }
    if (from < length) sum = sum16(bytes, from, length, sum);
    if (foldChecksum(sum) !== 0) return "bad-checksum";
  }
  if (headerLength < MIN_HEADER_BYTES || headerLength > length) return "bad-data-offset";

  let mss: number | undefined;
  let windowScale: number | undefined;
  let sackPermitted = false;
  let sack: number[] | undefined;
  let tsVal: number | undefined;
  let tsEcr: number | undefined;
  if (tsOnly) {
    tsVal = ((tsValHi << 16) | tsValLo) >>> 0;
    tsEcr = ((tsEcrHi << 16) | tsEcrLo) >>> 0;
  }
  // The general option walk (§3.2); the fast path above has nothing left for it.
  let i = tsOnly ? headerLength : MIN_HEADER_BYTES;
  while (i < headerLength) {
    const kind = bytes[i];
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= headerLength) return "option-overrun";
    const len = bytes[i + 1];
    if (len < 2) return "bad-option-length";
    switch (kind) {
      case OPT_MSS:
        if (len !== 4) return "bad-option-length";
        break;
      case OPT_WS:
        if (len !== 3) return "bad-option-length";
        break;
      case OPT_SACK_PERMITTED:
        if (len !== 2) return "bad-option-length";
        break;
      case OPT_SACK:
        if (len < 10 || (len - 2) % 8 !== 0) return "bad-option-length";
        break;
      case OPT_TS:
        if (len !== 10) return "bad-option-length";
        break;
    }
    if (i + len > headerLength) return "option-overrun";
    switch (kind) {
      case OPT_MSS:
        mss = (bytes[i + 2] << 8) | bytes[i + 3];
        break;
      case OPT_WS: {
        const shift = bytes[i + 2];
        windowScale = shift > MAX_WINDOW_SCALE ? MAX_WINDOW_SCALE : shift;
        break;
      }
      case OPT_SACK_PERMITTED:
        sackPermitted = true;
        break;
      case OPT_SACK:
        sack = [];
        for (let k = i + 2; k < i + len; k += 4) sack.push(u32At(bytes, k));
        break;
      case OPT_TS:
        tsVal = u32At(bytes, i + 2);
        tsEcr = u32At(bytes, i + 6);
        break;
    }
    i += len;
  }

  const flags = offsetFlags & 0xff;
  if ((flags & (SYN | FIN)) === (SYN | FIN)) return "syn-fin";
  if ((flags & (SYN | RST)) === (SYN | RST)) return "syn-rst";

  out.srcPort = srcPort;
  out.dstPort = dstPort;
  out.seq = ((seqHi << 16) | seqLo) >>> 0;
  out.ack = ((ackHi << 16) | ackLo) >>> 0;
  out.flags = flags;
  out.window = window;
  out.checksum = checksum;
  out.urgent = urgent;
  out.mss = mss;
  out.windowScale = windowScale;
  out.sackPermitted = sackPermitted;
  out.sack = sack;
  out.tsVal = tsVal;
  out.tsEcr = tsEcr;
  out.payload = headerLength === length ? EMPTY : bytes.subarray(headerLength);
  return undefined;
}
