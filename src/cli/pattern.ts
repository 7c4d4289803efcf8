/**
 * The bytes `connect` (and `tun`) send: a fixed pattern, byte i is
 * `(i * 131 + (i >>> 11)) & 255`, so two runs, and the listener, show the same digest
 * for the same size.
 *
 * @module
 */
import type { Driver } from "../../transports/driver.ts";
import type { ConnRecord } from "./net_args.ts";

/** The byte at offset `i` of what `connect` sends. */
export function patternByte(i: number): number {
  return (i * 131 + (i >>> 11)) & 255;
}

/** Bytes handed to `send` at once. */
const CHUNK = 64 * 1024;
/**
 * The pattern repeats every 2^19 bytes (131·2^19 is a multiple of 256, and i >>> 11
 * grows by 256), so one precomputed period (plus a chunk) serves any offset without
 * filling a buffer per send.
 */
const PATTERN_PERIOD = 1 << 19;
let patternCache: Uint8Array | undefined;

function patternBuffer(): Uint8Array {
  if (patternCache) return patternCache;
  const p = new Uint8Array(PATTERN_PERIOD + CHUNK);
  for (let i = 0; i < p.length; i++) p[i] = patternByte(i);
  return patternCache = p;
}

/**
 * Sends the pattern on `c` from offset `from` up to `total` bytes, as far as the send
 * buffer takes it, counting it in the record. Returns the new offset.
 */
export function sendPattern(driver: Driver, c: ConnRecord, from: number, total: number): number {
  const pattern = patternBuffer();
  let off = from;
  while (off < total) {
    const at = off % PATTERN_PERIOD;
    const data = pattern.subarray(at, at + Math.min(CHUNK, total - off));
    const n = driver.send(c.id, data);
    c.wrote(data, n);
    off += n;
    if (n < data.length) break;
  }
  return off;
}
