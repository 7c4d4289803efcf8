/**
 * The IPv4 header (RFC 791 §3.1), as far as a TUN device needs it: decode a received
 * packet's header and find its payload, encode the 20-byte header of a packet we send,
 * and move a TCP checksum between pseudo headers (RFC 1624).
 *
 * Addresses are unsigned 32-bit numbers (`0x0a4d0002` is 10.77.0.2), so the hot path
 * compares and hashes them without allocating; {@linkcode ipv4ToNumber} and
 * {@linkcode ipv4ToText} convert. {@linkcode readIpv4} fills a caller-owned header
 * object; {@linkcode decodeIpv4} is the allocating convenience form.
 *
 * @example Encode a header, read it back
 * ```ts
 * import { encodeIpv4Header, ipv4ToNumber, ipv4ToText, newIpv4Header, readIpv4 } from "./ipv4.ts";
 *
 * const packet = new Uint8Array(20 + 4);
 * encodeIpv4Header(
 *   { src: ipv4ToNumber("10.77.0.2")!, dst: ipv4ToNumber("10.77.0.1")!, protocol: 6, payloadLength: 4 },
 *   packet,
 * );
 * const h = newIpv4Header();
 * const failure = readIpv4(packet, packet.length, h);
 * if (failure !== undefined || ipv4ToText(h.dst) !== "10.77.0.1" || h.totalLength !== 24) {
 *   throw new Error("round trip");
 * }
 * ```
 *
 * @module
 */
import { foldChecksum, parseIp, sum16 } from "./checksum.ts";

/** A header without options. */
export const IPV4_MIN_HEADER_BYTES = 20;
/** The longest header: IHL 15 (40 bytes of options). */
export const IPV4_MAX_HEADER_BYTES = 60;
/** The longest packet the 16-bit total length can describe. */
export const IPV4_MAX_PACKET_BYTES = 65_535;
/** The TTL we send with (Linux's default, `net.ipv4.ip_default_ttl`). */
export const IPV4_DEFAULT_TTL = 64;

/** Why a buffer is not an IPv4 packet we can read. */
export type Ipv4DecodeFailure =
  /** Shorter than 20 bytes. */
  | "short-buffer"
  /** The version nibble is not 4 (an IPv6 packet on the same device, for one). */
  | "not-ipv4"
  /** IHL below 5, or a header longer than the buffer. */
  | "bad-header-length"
  /** Total length shorter than the header or longer than the buffer. */
  | "bad-total-length"
  /** The header checksum does not verify. */
  | "bad-checksum";

/** Every {@linkcode Ipv4DecodeFailure}, for counters keyed by reason. */
export const IPV4_DECODE_FAILURES: readonly Ipv4DecodeFailure[] = Object.freeze([
  "short-buffer",
  "not-ipv4",
  "bad-header-length",
  "bad-total-length",
  "bad-checksum",
]);

/** The fields of a decoded header. */
export interface Ipv4Header {
  /** Header length in bytes (IHL × 4), 20 to 60. */
  headerLength: number;
  /** Type of service / DSCP and ECN. */
  tos: number;
  /** Header plus payload, bytes. */
  totalLength: number;
  /** Identification. */
  id: number;
  /** DF. */
  dontFragment: boolean;
  /** MF: more fragments of this datagram follow. */
  moreFragments: boolean;
  /** Fragment offset in bytes (the field × 8). */
  fragmentOffset: number;
  ttl: number;
  /** 6 for TCP. */
  protocol: number;
  /** The header checksum as read. */
  checksum: number;
  /** Source address, unsigned 32-bit. */
  src: number;
  /** Destination address, unsigned 32-bit. */
  dst: number;
}

/** A zeroed header object to pass to {@linkcode readIpv4} again and again. */
export function newIpv4Header(): Ipv4Header {
  return {
    headerLength: 0,
    tos: 0,
    totalLength: 0,
    id: 0,
    dontFragment: false,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 0,
    protocol: 0,
    checksum: 0,
    src: 0,
    dst: 0,
  };
}

function u32At(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

/**
 * Reads the header of the packet in `bytes[0..length)` into `into` without allocating.
 * Returns undefined when the packet is readable (its payload is then
 * `bytes[into.headerLength..into.totalLength)`; bytes beyond the total length are link
 * padding and ignored), else the reason. Never throws. Checks, in this order: 20 bytes,
 * version 4, IHL, total length, header checksum. Fragments decode fine: whether to
 * take them (`moreFragments`, `fragmentOffset`) is the caller's decision.
 */
export function readIpv4(
  bytes: Uint8Array,
  length: number,
  into: Ipv4Header,
): Ipv4DecodeFailure | undefined {
  if (length > bytes.length) length = bytes.length;
  if (length < IPV4_MIN_HEADER_BYTES) return "short-buffer";
  const b0 = bytes[0];
  if (b0 >>> 4 !== 4) return "not-ipv4";
  const headerLength = (b0 & 0x0f) << 2;
  if (headerLength < IPV4_MIN_HEADER_BYTES || headerLength > length) return "bad-header-length";
  const totalLength = (bytes[2] << 8) | bytes[3];
  if (totalLength < headerLength || totalLength > length) return "bad-total-length";
  if (foldChecksum(sum16(bytes, 0, headerLength)) !== 0) return "bad-checksum";
  const frag = (bytes[6] << 8) | bytes[7];
  into.headerLength = headerLength;
  into.tos = bytes[1];
  into.totalLength = totalLength;
  into.id = (bytes[4] << 8) | bytes[5];
  into.dontFragment = (frag & 0x4000) !== 0;
  into.moreFragments = (frag & 0x2000) !== 0;
  into.fragmentOffset = (frag & 0x1fff) << 3;
  into.ttl = bytes[8];
  into.protocol = bytes[9];
  into.checksum = (bytes[10] << 8) | bytes[11];
  into.src = u32At(bytes, 12);
  into.dst = u32At(bytes, 16);
  return undefined;
}

/** What {@linkcode decodeIpv4} returns. */
export type Ipv4DecodeResult =
  | { ok: true; header: Ipv4Header; payload: Uint8Array }
  | { ok: false; reason: Ipv4DecodeFailure };

/**
 * Decodes a whole packet: {@linkcode readIpv4} into a fresh header, and the payload as a
 * `subarray` of `bytes` (not a copy). Never throws.
 *
 * @example
 * ```ts
 * import { decodeIpv4 } from "./ipv4.ts";
 * const r = decodeIpv4(new Uint8Array([0x60, 0, 0, 0]));
 * if (r.ok || r.reason !== "short-buffer") throw new Error("decode");
 * ```
 */
export function decodeIpv4(bytes: Uint8Array): Ipv4DecodeResult {
  const header = newIpv4Header();
  const reason = readIpv4(bytes, bytes.length, header);
  if (reason !== undefined) return { ok: false, reason };
  return { ok: true, header, payload: bytes.subarray(header.headerLength, header.totalLength) };
}

/** What {@linkcode encodeIpv4Header} writes. */
export interface Ipv4Fields {
  /** Source address, unsigned 32-bit. */
  src: number;
  /** Destination address, unsigned 32-bit. */
  dst: number;
  protocol: number;
  /** Bytes that follow the header (at most 65,515). */
  payloadLength: number;
  /** Identification (default 0). */
  id?: number;
  /** Default 64. */
  ttl?: number;
  /** Default 0. */
  tos?: number;
  /** DF (default true: TCP does its own segmenting, RFC 1191). */
  dontFragment?: boolean;
}

/**
 * Writes a 20-byte header with its checksum at `out[offset..offset+20)`; returns 20.
 *
 * @throws {RangeError} when a field does not fit or `out` is too short.
 */
export function encodeIpv4Header(f: Ipv4Fields, out: Uint8Array, offset = 0): number {
  const id = f.id ?? 0;
  const ttl = f.ttl ?? IPV4_DEFAULT_TTL;
  const tos = f.tos ?? 0;
  const total = IPV4_MIN_HEADER_BYTES + f.payloadLength;
  if (
    !(Number.isInteger(f.payloadLength) && f.payloadLength >= 0 && total <= IPV4_MAX_PACKET_BYTES)
  ) {
    throw new RangeError(`Cannot encode an IPv4 packet with a payload of ${f.payloadLength} bytes`);
  }
  if (!isU8(ttl) || !isU8(tos) || !isU8(f.protocol) || !(id >= 0 && id <= 0xffff && id % 1 === 0)) {
    throw new RangeError(
      `Cannot encode an IPv4 header: ttl ${ttl}, tos ${tos}, protocol ${f.protocol}, id ${id}`,
    );
  }
  if (!isU32(f.src) || !isU32(f.dst)) {
    throw new RangeError(`Cannot encode an IPv4 header: addresses ${f.src} and ${f.dst}`);
  }
  if (offset < 0 || offset + IPV4_MIN_HEADER_BYTES > out.length) {
    throw new RangeError(`Cannot encode an IPv4 header at ${offset} of ${out.length} bytes`);
  }
  const o = offset;
  out[o] = 0x45;
  out[o + 1] = tos;
  out[o + 2] = total >>> 8;
  out[o + 3] = total & 0xff;
  out[o + 4] = id >>> 8;
  out[o + 5] = id & 0xff;
  out[o + 6] = f.dontFragment === false ? 0 : 0x40;
  out[o + 7] = 0;
  out[o + 8] = ttl;
  out[o + 9] = f.protocol;
  out[o + 10] = 0;
  out[o + 11] = 0;
  writeU32(out, o + 12, f.src);
  writeU32(out, o + 16, f.dst);
  const c = foldChecksum(sum16(out, o, o + IPV4_MIN_HEADER_BYTES));
  out[o + 10] = c >>> 8;
  out[o + 11] = c & 0xff;
  return IPV4_MIN_HEADER_BYTES;
}

function isU8(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xff;
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function writeU32(out: Uint8Array, i: number, v: number): void {
  out[i] = v >>> 24;
  out[i + 1] = (v >>> 16) & 0xff;
  out[i + 2] = (v >>> 8) & 0xff;
  out[i + 3] = v & 0xff;
}

/** `"10.77.0.2"` → `0x0a4d0002`; undefined for anything but dotted-quad IPv4. */
export function ipv4ToNumber(text: string): number | undefined {
  if (text.includes(":")) return undefined;
  const b = parseIp(text);
  return b === undefined ? undefined : u32At(b, 0);
}

/** `0x0a4d0002` → `"10.77.0.2"`. */
export function ipv4ToText(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/**
 * The partial sum of the two addresses of a TCP/IPv4 pseudo header (RFC 9293 §3.1),
 * without the protocol and length: what a checksum over real addresses has on top of
 * one over zero addresses.
 */
export function ipv4AddressSum(src: number, dst: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
}

/**
 * The checksum field after `delta` (a partial sum, as {@linkcode ipv4AddressSum}
 * returns) is added to the data it covers, by RFC 1624 eqn. 3 with m = 0:
 * HC' = ~(~HC + m'). A checksum that verified still verifies; one that did not still
 * does not.
 */
export function checksumAdd(field: number, delta: number): number {
  return foldChecksum((~field & 0xffff) + (~foldChecksum(delta) & 0xffff));
}

/** The checksum field after `delta` is taken out of the data it covers (HC' = ~(~HC + ~m)). */
export function checksumSub(field: number, delta: number): number {
  return foldChecksum((~field & 0xffff) + foldChecksum(delta));
}
