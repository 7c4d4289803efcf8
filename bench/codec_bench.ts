/**
 * Codec group: encode, decode and checksum of one segment (20-byte header with
 * timestamps, 64-byte payload), the nine segments of a connection lifecycle (SYN,
 * SYN-ACK, ACK, 64 bytes each way, FIN, ACK, FIN, ACK) as the engine codes them, the
 * checksum over a full 1460-byte segment, and a naive baseline in the same run that
 * allocates a fresh buffer and a DataView per segment.
 *
 * Every case runs in several interleaved repetitions; the table shows the median and
 * the fastest repetition, so a noisy neighbour shows as a gap between the two.
 *
 * @module
 */
import type { BenchContext } from "./main.ts";
import { addrSum, foldChecksum, parseIp, sum16 } from "../src/wire/checksum.ts";
import {
  ACK,
  decode,
  decodeInto,
  encode,
  FIN,
  newSegment,
  PSH,
  type Segment,
  SYN,
} from "../src/wire/segment.ts";

const ROUNDS = 2_000_000;
const REPETITIONS = 7;

function time(n: number, fn: () => void): number {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  return ((performance.now() - t0) * 1e6) / n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** The segments of one lifecycle, A at SEQ 100 and B at SEQ 300 (RFC 9293 Figure 12). */
function lifecycle(payload: Uint8Array): Segment[] {
  const a = { srcPort: 49152, dstPort: 80, window: 64240 };
  const b = { srcPort: 80, dstPort: 49152, window: 65160 };
  const syn = { mss: 1460, windowScale: 7, sackPermitted: true };
  return [
    newSegment({ ...a, ...syn, seq: 99, flags: SYN, tsVal: 1000, tsEcr: 0 }),
    newSegment({ ...b, ...syn, seq: 299, ack: 100, flags: SYN | ACK, tsVal: 7000, tsEcr: 1000 }),
    newSegment({ ...a, seq: 100, ack: 300, flags: ACK, tsVal: 1001, tsEcr: 7000 }),
    newSegment({ ...a, seq: 100, ack: 300, flags: ACK | PSH, tsVal: 1001, tsEcr: 7000, payload }),
    newSegment({ ...b, seq: 300, ack: 164, flags: ACK | PSH, tsVal: 7001, tsEcr: 1001, payload }),
    newSegment({ ...a, seq: 164, ack: 364, flags: FIN | ACK, tsVal: 1002, tsEcr: 7001 }),
    newSegment({ ...b, seq: 364, ack: 165, flags: ACK, tsVal: 7002, tsEcr: 1002 }),
    newSegment({ ...b, seq: 364, ack: 165, flags: FIN | ACK, tsVal: 7003, tsEcr: 1002 }),
    newSegment({ ...a, seq: 165, ack: 365, flags: ACK, tsVal: 1003, tsEcr: 7003 }),
  ];
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
  const rx = newSegment();

  // The lifecycle as the engine codes it: encoded back to back into one arena, and
  // decoded from views into the other side's arena.
  const life = lifecycle(seg.payload);
  const arena = new Uint8Array(4096);
  const txArena = new Uint8Array(4096);
  const views: Uint8Array[] = [];
  for (let k = 0, at = 0; k < life.length; k++) {
    const bytes = arena.subarray(at, at + encode(life[k], arena, at, sum));
    views.push(bytes);
    at += bytes.length;
  }
  const full = new Uint8Array(1460 + 32).fill(0x5a);
  let sink = 0;

  const cases: Array<{ name: string; per: number; rounds: number; fn: () => void }> = [
    {
      name: "encode with checksum, into a reused buffer",
      per: 1,
      rounds: n,
      fn: () => sink += encode(seg, buf, 0, sum),
    },
    {
      name: "decode with checksum check",
      per: 1,
      rounds: n,
      fn: () => sink += decode(wire, sum).ok ? 1 : 0,
    },
    {
      name: "decodeInto a reused segment, with checksum",
      per: 1,
      rounds: n,
      fn: () => sink += decodeInto(wire, rx, sum) === undefined ? 1 : 0,
    },
    {
      name: "lifecycle: encode each of its 9 segments",
      per: life.length,
      rounds: n / life.length,
      fn: () => {
        for (let k = 0, at = 0; k < life.length; k++) at += encode(life[k], txArena, at, sum);
      },
    },
    {
      name: "lifecycle: decodeInto each of its 9 segments",
      per: life.length,
      rounds: n / life.length,
      fn: () => {
        for (let k = 0; k < views.length; k++) sink += decodeInto(views[k], rx, sum) ? 1 : 0;
      },
    },
    {
      name: `checksum alone (${wire.length} bytes)`,
      per: 1,
      rounds: n,
      fn: () => sink += foldChecksum(sum16(wire, 0, wire.length, sum)),
    },
    {
      name: `checksum alone (${full.length} bytes)`,
      per: 1,
      rounds: n / 10,
      fn: () => sink += foldChecksum(sum16(full, 0, full.length, sum)),
    },
    {
      name: "baseline: new buffer + DataView per segment",
      per: 1,
      rounds: n / 4,
      fn: () => sink += naiveEncode(seg.seq, seg.ack, seg.payload).length,
    },
  ];

  // Warm up every path first, so the order of measurement does not matter.
  for (let k = 0; k < 2; k++) for (const c of cases) time(c.rounds / 10, c.fn);

  const samples = cases.map(() => [] as number[]);
  for (let r = 0; r < REPETITIONS; r++) {
    ctx.progress(`repetition ${r + 1} of ${REPETITIONS}`);
    cases.forEach((c, k) => samples[k].push(time(c.rounds / REPETITIONS, c.fn) / c.per));
  }
  const result = cases.map((c, k) => ({
    name: c.name,
    value: median(samples[k]),
    min: Math.min(...samples[k]),
  }));
  for (const r of result) ctx.record({ ...r, unit: "ns/segment" });
  const [encodeNs, decodeNs] = [result[0].value, result[1].value];
  const naiveNs = result[result.length - 1].value;
  ctx.record({ name: "baseline / finwait encode", value: naiveNs / encodeNs, unit: "x" });
  ctx.note(`medians of ${REPETITIONS} interleaved repetitions; min is the fastest one`);
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
