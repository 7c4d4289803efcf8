/**
 * Codec group: encode, decode and checksum of one segment (20-byte header with
 * timestamps, 64-byte payload), beside a naive baseline in the same run that
 * allocates a fresh buffer and a DataView per segment.
 *
 * @module
 */
import type { BenchContext } from "./main.ts";
import { addrSum, foldChecksum, parseIp, sum16 } from "../src/wire/checksum.ts";
import { ACK, decode, encode, newSegment, PSH } from "../src/wire/segment.ts";

const ROUNDS = 2_000_000;

function time(n: number, fn: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) * 1e6) / n;
}

/** The codec group. */
export async function codecGroup(ctx: BenchContext): Promise<void> {
  const n = ctx.mode === "quick" ? ROUNDS / 4 : ROUNDS;
  const sum = addrSum(parseIp("10.0.0.1")!, parseIp("10.0.0.2")!);
  const seg = newSegment({
    srcPort: 49152,
    dstPort: 80,
    seq: 100,
    ack: 300,
    flags: ACK | PSH,
    window: 2048,
    tsVal: 12345,
    tsEcr: 67890,
    payload: new Uint8Array(64).fill(0x61),
  });
  const buf = new Uint8Array(1500);
  const len = encode(seg, buf, 0, sum);
  const wire = buf.slice(0, len);
  let sink = 0;

  // Warm up every path first, so the order of measurement does not matter.
  for (let k = 0; k < 2; k++) {
    time(n / 10, () => sink += encode(seg, buf, 0, sum));
    time(n / 10, () => sink += decode(wire, sum).ok ? 1 : 0);
    time(n / 10, () => sink += naiveEncode(seg.seq, seg.ack, seg.payload).length);
  }

  const encodeNs = time(n, () => sink += encode(seg, buf, 0, sum));
  const decodeNs = time(n, () => sink += decode(wire, sum).ok ? 1 : 0);
  const checksumNs = time(n, () => sink += foldChecksum(sum16(wire, 0, wire.length, sum)));
  const naiveNs = time(n, () => sink += naiveEncode(seg.seq, seg.ack, seg.payload).length);
  ctx.record({
    name: "encode with checksum, into a reused buffer",
    value: encodeNs,
    unit: "ns/segment",
  });
  ctx.record({ name: "decode with checksum check", value: decodeNs, unit: "ns/segment" });
  ctx.record({ name: "checksum alone (84 bytes)", value: checksumNs, unit: "ns/segment" });
  ctx.record({
    name: "baseline: new buffer + DataView per segment",
    value: naiveNs,
    unit: "ns/segment",
  });
  ctx.record({ name: "baseline / finwait encode", value: naiveNs / encodeNs, unit: "x" });
  ctx.summary("codecEncodeNs", encodeNs);
  ctx.summary("codecDecodeNs", decodeNs);
  ctx.summary("codecSegmentsPerSec", 1e9 / (encodeNs + decodeNs));
  if (sink === -1) console.log(sink); // keep the work observable
  await Promise.resolve();
}

/** What code without a codec tends to do: allocate, then write through a DataView. */
function naiveEncode(seq: number, ack: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(32 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 49152);
  v.setUint16(2, 80);
  v.setUint32(4, seq);
  v.setUint32(8, ack);
  v.setUint8(12, 8 << 4);
  v.setUint8(13, 0x18);
  v.setUint16(14, 2048);
  out.set([1, 1, 8, 10], 20);
  out.set(payload, 32);
  let s = 0;
  for (let i = 0; i + 1 < out.length; i += 2) s += v.getUint16(i);
  v.setUint16(16, ~s & 0xffff);
  return out;
}
