/**
 * The wire layer of finwait: sequence arithmetic, the TCP segment codec, the Internet
 * checksum and RFC 9293 segment notation. Sans-IO: no clock, no randomness, no I/O.
 *
 * @example Build a segment from notation, encode it with a checksum, decode it back
 * ```ts
 * import { addrSum, decode, encode, formatSegment, parseIp, seg } from "./mod.ts";
 * const sum = addrSum(parseIp("192.0.2.1")!, parseIp("192.0.2.2")!);
 * const fin = seg("<SEQ=100><ACK=300><CTL=FIN,ACK>", { srcPort: 49152, dstPort: 80 });
 * const buf = new Uint8Array(1500);
 * const r = decode(buf.subarray(0, encode(fin, buf, 0, sum)), sum);
 * if (!r.ok || formatSegment(r.segment) !== "<SEQ=100><ACK=300><CTL=FIN,ACK>") {
 *   throw new Error("round trip");
 * }
 * ```
 *
 * @module
 */
export * from "./seq.ts";
export * from "./segment.ts";
export * from "./checksum.ts";
export * from "./rfc_notation.ts";
