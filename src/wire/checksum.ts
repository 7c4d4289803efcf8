/**
 * The Internet checksum (RFC 1071) as TCP uses it (RFC 9293 §3.1 "Checksum"), and the
 * address helpers the pseudo header needs.
 *
 * The sum is split in three so the hot path never allocates: {@linkcode addrSum} is
 * computed once per connection (the pseudo header's addresses and protocol), the
 * codec adds the TCP length and the segment bytes with {@linkcode sum16}, and
 * {@linkcode foldChecksum} turns the partial sum into the 16-bit field.
 *
 * @example Checksum of the RFC 1071 §3 example bytes
 * ```ts
 * import { foldChecksum, sum16 } from "./checksum.ts";
 * const bytes = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
 * if (foldChecksum(sum16(bytes, 0, bytes.length)) !== 0x220d) throw new Error("RFC 1071");
 * ```
 *
 * @module
 */

/** The IP protocol number of TCP, the last field of the pseudo header (RFC 9293 §3.1). */
export const IPPROTO_TCP = 6;

// Words summed between two carry folds. Each word is at most 0xffff, so 16000 words
// plus a folded carry stay below 2^30 and the accumulator remains a V8 small integer
// (RFC 1071 §2(E): carries are deferred and folded in rarely).
const CHUNK_BYTES = 32000;
// The same bound for the wide loop: each 32-bit word adds at most 2 × 0xffff.
const CHUNK_WORDS = 8000;

// Ranges shorter than this are summed byte by byte: reading `bytes.buffer` and setting
// up the wide loop cost about as much as 40 byte loads (measured in
// bench/codec_bench.ts's conditions). 64 rather than 40 also spares V8's small on-heap
// typed arrays (at most 64 bytes), for which reading `buffer` allocates one, all but
// those of exactly 64 bytes.
const WIDE_MIN_BYTES = 64;

// Platform byte order of a wide view: 32-bit loads see the 16-bit words byte-swapped
// on little-endian machines, and the sum is swapped back once at the end.
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Adds the big-endian 16-bit words of `bytes[start..end)` to `initial` (RFC 1071 §4.1).
 * An odd final byte is padded on the right with a zero octet, as RFC 9293 §3.1 asks.
 *
 * Returns a partial sum: a non-negative integer below 2^31 that is congruent to the
 * ones' complement sum modulo 0xffff. Feed it as `initial` to a further call (for a
 * range that starts at an even offset of the checksummed data) or to
 * {@linkcode foldChecksum}. `initial` must itself be such a partial sum (below 2^32).
 *
 * @throws {RangeError} when `start..end` is not a range inside `bytes`.
 */
export function sum16(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  if (!(start >= 0 && start <= end && end <= bytes.length)) {
    throw new RangeError(
      `Cannot checksum bytes ${start}..${end} of a buffer of length ${bytes.length}`,
    );
  }
  let sum = (initial & 0xffff) + (initial >>> 16);
  if (end - start >= WIDE_MIN_BYTES) return sumWide(bytes, start, end, sum);
  let i = start;
  const evenEnd = end - ((end - start) & 1);
  while (i < evenEnd) {
    const chunkEnd = evenEnd - i > CHUNK_BYTES ? i + CHUNK_BYTES : evenEnd;
    // Unrolled by four words; the tail loop below mops up the rest of the chunk.
    const fastEnd = chunkEnd - ((chunkEnd - i) & 7);
    for (; i < fastEnd; i += 8) {
      sum += ((bytes[i] << 8) | bytes[i + 1]) + ((bytes[i + 2] << 8) | bytes[i + 3]) +
        ((bytes[i + 4] << 8) | bytes[i + 5]) + ((bytes[i + 6] << 8) | bytes[i + 7]);
    }
    for (; i < chunkEnd; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  if (evenEnd < end) sum += bytes[evenEnd] << 8;
  return sum;
}

// 32-bit views of the last two buffers summed wide, so that alternating between an
// endpoint's transmit arena and its receive buffer never builds a view per call. The
// cache keeps those two buffers alive until two others replace them.
let bufferA: ArrayBufferLike | undefined;
let wordsA: Int32Array | undefined;
let bufferB: ArrayBufferLike | undefined;
let wordsB: Int32Array | undefined;

function wordsOf(bytes: Uint8Array): Int32Array {
  const buffer = bytes.buffer;
  let words: Int32Array;
  if (buffer === bufferA) {
    words = wordsA!;
  } else if (buffer === bufferB) {
    words = wordsB!;
    bufferB = bufferA;
    wordsB = wordsA;
    bufferA = buffer;
    wordsA = words;
  } else {
    words = new Int32Array(buffer, 0, buffer.byteLength >>> 2);
    bufferB = bufferA;
    wordsB = wordsA;
    bufferA = buffer;
    wordsA = words;
  }
  return words;
}

// Four bytes per load through a 32-bit view of the underlying buffer (RFC 1071 §2(C),
// parallel summation). `sum` is below 2^17 and `end - start` at least 4; the result
// stays below 2^20.
function sumWide(bytes: Uint8Array, start: number, end: number, sum: number): number {
  let at = bytes.byteOffset + start;
  if ((at & 1) !== 0) {
    // An odd address: the words from start + 1 on pair the bytes the other way, which
    // swaps their sum (RFC 1071 §2(B)); swap it back and add the first byte alone.
    return sum + (bytes[start] << 8) + swap16(sumWide(bytes, start + 1, end, 0));
  }
  let i = start;
  if ((at & 2) !== 0) {
    sum += (bytes[i] << 8) | bytes[i + 1];
    i += 2;
    at += 2;
  }
  let words = wordsOf(bytes);
  let w = at >>> 2;
  const wordsEnd = w + ((end - i) >>> 2);
  if (wordsEnd > words.length) {
    // A resizable buffer grew (or shrank, leaving the view empty) since the view was
    // made. A view of its current length covers every byte in bounds of `bytes`.
    bufferA = undefined;
    words = wordsOf(bytes);
  }
  let wide = 0;
  while (w < wordsEnd) {
    const chunkEnd = wordsEnd - w > CHUNK_WORDS ? w + CHUNK_WORDS : wordsEnd;
    for (; w < chunkEnd; w++) {
      const x = words[w];
      wide += (x & 0xffff) + (x >>> 16);
    }
    wide = (wide & 0xffff) + (wide >>> 16);
  }
  sum += LITTLE_ENDIAN ? swap16(wide) : wide;
  i = end - ((end - i) & 3);
  if (i + 2 <= end) {
    sum += (bytes[i] << 8) | bytes[i + 1];
    i += 2;
  }
  if (i < end) sum += bytes[i] << 8;
  return sum;
}

// Folds a partial sum to 16 bits and swaps its bytes: multiplying by 256 modulo 0xffff.
function swap16(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ((sum & 0xff) << 8) | (sum >>> 8);
}

/**
 * Folds a partial sum (below 2^32) into 16 bits with end-around carry and returns its
 * ones' complement: the value of the checksum field (RFC 1071 §4.1). Over data that
 * already contains a correct checksum the result is 0.
 */
export function foldChecksum(sum: number): number {
  sum = (sum & 0xffff) + (sum >>> 16);
  // The first fold can carry once more (0xffff + 0xffff); the second absorbs it.
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * The partial sum of the pseudo header without the TCP length (RFC 9293 §3.1; for
 * IPv6 RFC 8200 §8.1): source address, destination address and the protocol number 6.
 * The codec adds the TCP length, so one value serves every segment of a connection.
 *
 * @param src Source address, 4 bytes (IPv4) or 16 bytes (IPv6).
 * @param dst Destination address of the same family.
 * @throws {RangeError} when the addresses are not both 4 or both 16 bytes long.
 *
 * @example
 * ```ts
 * import { addrSum, foldChecksum, parseIp } from "./checksum.ts";
 * const sum = addrSum(parseIp("10.0.0.1")!, parseIp("10.0.0.2")!);
 * // A partial sum: only its folded value is defined.
 * const expected = foldChecksum(0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6);
 * if (foldChecksum(sum) !== expected) throw new Error("pseudo header");
 * ```
 */
export function addrSum(src: Uint8Array, dst: Uint8Array): number {
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) {
    throw new RangeError(
      `Cannot build a pseudo header from addresses of ${src.length} and ${dst.length} bytes`,
    );
  }
  return sum16(dst, 0, dst.length, sum16(src, 0, src.length, IPPROTO_TCP));
}

const DECIMAL_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * Parses dotted-quad IPv4 (`"192.0.2.1"`) or IPv6 text (RFC 4291 §2.2, with `::` and a
 * trailing dotted quad such as `"::ffff:192.0.2.1"`) into 4 or 16 bytes. Returns
 * `undefined` for anything else: leading zeros in a quad (they read as octal in some
 * parsers), zone ids (`%eth0`), brackets, ports or surrounding whitespace.
 */
export function parseIp(text: string): Uint8Array | undefined {
  if (text.includes(":")) return parseIpv6(text);
  const out = new Uint8Array(4);
  return parseIpv4Into(text, out, 0) ? out : undefined;
}

function parseIpv4Into(text: string, out: Uint8Array, at: number): boolean {
  const parts = text.split(".");
  if (parts.length !== 4) return false;
  for (let k = 0; k < 4; k++) {
    if (!DECIMAL_OCTET.test(parts[k])) return false;
    const v = Number(parts[k]);
    if (v > 255) return false;
    out[at + k] = v;
  }
  return true;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const gap = text.indexOf("::");
  if (gap !== -1 && text.indexOf("::", gap + 1) !== -1) return undefined; // one "::" only
  const headText = gap === -1 ? text : text.slice(0, gap);
  const tailText = gap === -1 ? "" : text.slice(gap + 2);
  const head = headText === "" ? [] : headText.split(":");
  const tail = tailText === "" ? [] : tailText.split(":");
  // Only the very last group may be a dotted quad, and it fills two 16-bit groups.
  const last = gap === -1 ? head : tail;
  const v4 = last.length > 0 && last[last.length - 1].includes(".");
  const words = head.length + tail.length + (v4 ? 1 : 0);
  // "::" stands for at least one zero group (RFC 4291 §2.2 item 2).
  if (gap === -1 ? words !== 8 : words > 7) return undefined;
  if (v4 && !parseIpv4Into(last.pop()!, out, 12)) return undefined;
  if (!writeGroups(head, out, 0)) return undefined;
  const tailWords = tail.length + (gap !== -1 && v4 ? 2 : 0);
  return writeGroups(tail, out, 16 - 2 * tailWords) ? out : undefined;
}

function writeGroups(groups: string[], out: Uint8Array, at: number): boolean {
  for (let k = 0; k < groups.length; k++) {
    if (!HEX_GROUP.test(groups[k])) return false;
    const v = parseInt(groups[k], 16);
    out[at + 2 * k] = v >>> 8;
    out[at + 2 * k + 1] = v & 0xff;
  }
  return true;
}

/**
 * Formats 4 bytes as dotted-quad IPv4 and 16 bytes as IPv6 in the RFC 5952 canonical
 * form: lowercase hex without leading zeros, the first longest run of two or more zero
 * groups as `::`, and IPv4-mapped addresses as `::ffff:a.b.c.d` (RFC 5952 §5).
 *
 * @throws {RangeError} for any other length.
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) {
    throw new RangeError(`Cannot format an address of ${bytes.length} bytes`);
  }
  let mapped = bytes[10] === 0xff && bytes[11] === 0xff;
  for (let k = 0; k < 10 && mapped; k++) mapped = bytes[k] === 0;
  if (mapped) return `::ffff:${formatIp(bytes.subarray(12))}`;
  const words: number[] = [];
  for (let k = 0; k < 16; k += 2) words.push((bytes[k] << 8) | bytes[k + 1]);
  let bestAt = -1;
  let bestLen = 1; // a single zero group is never shortened (RFC 5952 §4.2.2)
  for (let k = 0; k < 8;) {
    if (words[k] !== 0) {
      k++;
      continue;
    }
    let end = k;
    while (end < 8 && words[end] === 0) end++;
    if (end - k > bestLen) {
      bestAt = k;
      bestLen = end - k;
    }
    k = end;
  }
  const hex = (from: number, to: number) =>
    words.slice(from, to).map((w) => w.toString(16)).join(":");
  if (bestAt === -1) return hex(0, 8);
  return `${hex(0, bestAt)}::${hex(bestAt + bestLen, 8)}`;
}
