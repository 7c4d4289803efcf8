/**
 * pcap export: the writer's bytes checked by hand (file header, record layout, IPv4,
 * IPv6 and UDP checksums by a plain reference sum), streaming and disk errors, the
 * world log as packets, and, where tshark is installed, every scenario read back by
 * tshark: no malformed frame, no bad checksum, RFC 9293 Figures 12 and 13 as tshark
 * numbers them, retransmissions seen by tshark's expert info.
 */
import assert from "node:assert/strict";
import {
  capturePcap,
  DEFAULT_UDP_PORT,
  LINKTYPE_IPV4,
  LINKTYPE_RAW,
  PCAP_FILE_HEADER_BYTES,
  PCAP_RECORD_HEADER_BYTES,
  PcapLog,
  PcapWriteError,
  PcapWriter,
  type PcapWriterOptions,
  writeLogPcap,
} from "../../src/trace/pcap.ts";
import { trace, type TraceOptions } from "../../src/cli/trace_cmd.ts";
import { openPcapFile } from "../../src/cli/pcap_file.ts";
import { findScenario, PEER_A, PEER_B, runScenario, SCENARIOS } from "../../src/trace/scenarios.ts";
import { addrSum, parseIp } from "../../src/wire/checksum.ts";
import { ACK, decode, FIN, newSegment, PSH, RST, SYN } from "../../src/wire/segment.ts";

// ------------------------------------------------------------------ helpers

/** A sink that keeps every chunk, and the chunks' sizes. */
function memorySink() {
  const chunks: Uint8Array[] = [];
  return {
    chunks,
    write(b: Uint8Array) {
      chunks.push(b.slice());
    },
    bytes(): Uint8Array {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of chunks) {
        out.set(c, o);
        o += c.length;
      }
      return out;
    },
  };
}

function capture(
  fill: (w: PcapWriter) => void,
  opts: PcapWriterOptions = {},
): { file: Uint8Array; writer: PcapWriter } {
  const sink = memorySink();
  const writer = new PcapWriter(sink, opts);
  fill(writer);
  writer.close();
  return { file: sink.bytes(), writer };
}

interface PcapRecord {
  sec: number;
  nsec: number;
  incl: number;
  orig: number;
  data: Uint8Array;
}

/** Reads a classic pcap file the way libpcap does; throws on a cut record. */
function readPcap(file: Uint8Array): { header: DataView; records: PcapRecord[] } {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const records: PcapRecord[] = [];
  let o = PCAP_FILE_HEADER_BYTES;
  while (o < file.length) {
    const incl = v.getUint32(o + 8, true);
    const end = o + PCAP_RECORD_HEADER_BYTES + incl;
    if (end > file.length) throw new Error(`record at ${o} cut short`);
    records.push({
      sec: v.getUint32(o, true),
      nsec: v.getUint32(o + 4, true),
      incl,
      orig: v.getUint32(o + 12, true),
      data: file.subarray(o + PCAP_RECORD_HEADER_BYTES, end),
    });
    o = end;
  }
  return { header: new DataView(file.buffer, file.byteOffset, PCAP_FILE_HEADER_BYTES), records };
}

/** The RFC 1071 sum written the slow, obvious way (independent of src/wire/checksum.ts). */
function onesSum(...parts: number[][]): number {
  let sum = 0;
  for (const bytes of parts) {
    for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i] << 8) + (bytes[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Sum of a pseudo header (RFC 9293 §3.1, RFC 768, RFC 8200 §8.1). */
function pseudo(src: Uint8Array, dst: Uint8Array, proto: number, len: number): number[] {
  return [...src, ...dst, 0, proto, len >>> 8, len & 0xff];
}

const A = parseIp("10.0.0.1")!;
const B = parseIp("10.0.0.2")!;
const FIN_ACK = newSegment({
  srcPort: 49152,
  dstPort: 80,
  seq: 100,
  ack: 300,
  flags: FIN | ACK,
  window: 1024,
});

// ------------------------------------------------------------ pure: writer

Deno.test("pcap: file header is classic pcap, nanosecond magic, LINKTYPE_RAW", () => {
  const { file } = capture(() => {});
  assert.deepEqual(
    [...file],
    [
      0x4d,
      0x3c,
      0xb2,
      0xa1, // magic 0xa1b23c4d, little-endian
      2,
      0,
      4,
      0, // version 2.4
      0,
      0,
      0,
      0, // thiszone
      0,
      0,
      0,
      0, // sigfigs
      0,
      0,
      4,
      0, // snaplen 262144
      101,
      0,
      0,
      0, // LINKTYPE_RAW
    ],
  );
  const v4only = capture(() => {}, { linkType: LINKTYPE_IPV4 }).file;
  assert.equal(new DataView(v4only.buffer).getUint32(20, true), 228);
});

Deno.test("pcap: one record: nanosecond time stamp, lengths, IPv4 header, checksums", () => {
  const { file } = capture((w) => {
    w.writeSegment({ at: 1234.567891, src: "10.0.0.1", dst: "10.0.0.2", segment: FIN_ACK });
  });
  const { records } = readPcap(file);
  assert.equal(records.length, 1);
  const r = records[0];
  assert.deepEqual([r.sec, r.nsec, r.incl, r.orig], [1, 234_567_891, 40, 40]);
  const ip = r.data;
  assert.equal(ip[0], 0x45, "version 4, IHL 5");
  assert.equal((ip[2] << 8) | ip[3], 40, "total length");
  assert.equal((ip[4] << 8) | ip[5], 1, "first id");
  assert.equal(ip[6], 0x40, "DF");
  assert.equal(ip[8], 64, "TTL");
  assert.equal(ip[9], 6, "TCP");
  assert.deepEqual([...ip.subarray(12, 16)], [...A]);
  assert.deepEqual([...ip.subarray(16, 20)], [...B]);
  assert.equal(onesSum([...ip.subarray(0, 20)]), 0xffff, "IPv4 header checksum");
  const tcp = ip.subarray(20);
  assert.equal(onesSum(pseudo(A, B, 6, tcp.length), [...tcp]), 0xffff, "TCP checksum");
  const seg = decode(tcp, addrSum(A, B));
  assert.ok(seg.ok);
  assert.deepEqual(
    [seg.segment.seq, seg.segment.ack, seg.segment.flags, seg.segment.window],
    [100, 300, FIN | ACK, 1024],
  );
  assert.equal(FIN_ACK.checksum, 0, "the segment object is not modified");
});

Deno.test("pcap: IPv4 header checksum matches a hand-computed value", () => {
  // 4500 0028 0001 4000 4006 ____ 0a00 0001 0a00 0002: the words add up to 0xd932 (no
  // carry), whose ones' complement is 0x26cd.
  const words = [0x4500, 0x0028, 0x0001, 0x4000, 0x4006, 0x0a00, 0x0001, 0x0a00, 0x0002];
  assert.equal(words.reduce((a, b) => a + b, 0), 0xd932);
  const expected = 0x26cd;
  const { file } = capture((w) => {
    w.writeSegment({ at: 0, src: "10.0.0.1", dst: "10.0.0.2", segment: FIN_ACK });
  });
  const ip = readPcap(file).records[0].data;
  assert.equal((ip[10] << 8) | ip[11], expected);
});

Deno.test("pcap: records follow one another, ids count up, payload and options kept", () => {
  const data = new TextEncoder().encode("finwait!!");
  const syn = newSegment({
    srcPort: 49152,
    dstPort: 80,
    seq: 99,
    flags: SYN,
    window: 65535,
    mss: 1460,
    windowScale: 7,
    tsVal: 1,
    tsEcr: 0,
  });
  const psh = newSegment({ ...FIN_ACK, flags: PSH | ACK, payload: data });
  const { file, writer } = capture((w) => {
    w.writeSegment({ at: 0, src: "10.0.0.1", dst: "10.0.0.2", segment: syn });
    w.writeSegment({ at: 10, src: "10.0.0.2", dst: "10.0.0.1", segment: psh });
    w.writeSegment({ at: 20, src: "10.0.0.1", dst: "10.0.0.2", segment: FIN_ACK });
  });
  const { records } = readPcap(file);
  assert.equal(writer.packets, 3);
  assert.equal(writer.bytes, file.length);
  assert.deepEqual(records.map((r) => r.incl), [20 + 20 + 20, 20 + 20 + 9, 40]);
  assert.deepEqual(records.map((r) => r.nsec), [0, 10_000_000, 20_000_000]);
  assert.deepEqual(records.map((r) => (r.data[4] << 8) | r.data[5]), [1, 2, 3]);
  const back = decode(records[1].data.subarray(20), addrSum(B, A));
  assert.ok(back.ok);
  assert.deepEqual(back.segment.payload, data);
  const s = decode(records[0].data.subarray(20), addrSum(A, B));
  assert.ok(s.ok);
  assert.deepEqual([s.segment.mss, s.segment.windowScale, s.segment.tsVal], [1460, 7, 1]);
});

Deno.test("pcap: payload override and writeTcp recompute the TCP checksum for the IP header", () => {
  const data = new Uint8Array([1, 2, 3]);
  const seg = newSegment({ ...FIN_ACK, payload: data });
  const zeros = new Uint8Array(3);
  // Encoded with a checksum for other addresses, as a UDP run might.
  const foreign = new Uint8Array(23);
  const other = newSegment({ ...seg, checksum: 0xbeef });
  const { file } = capture((w) => {
    w.writeSegment({ at: 0, src: "10.0.0.1", dst: "10.0.0.2", segment: seg, payload: zeros });
    w.writeSegment({ at: 0, src: "10.0.0.1", dst: "10.0.0.2", segment: other });
    w.writeTcp({ at: 0, src: "10.0.0.1", dst: "10.0.0.2", bytes: foreign });
  });
  for (const r of readPcap(file).records) {
    const tcp = r.data.subarray(20);
    assert.equal(onesSum(pseudo(A, B, 6, tcp.length), [...tcp]), 0xffff);
  }
  assert.deepEqual([...readPcap(file).records[0].data.subarray(40)], [0, 0, 0]);
  assert.deepEqual([...data], [1, 2, 3], "the caller's payload is untouched");
});

Deno.test("pcap: UDP framing: IPv4/UDP/TCP, port 9811 or the address's, UDP checksum", () => {
  const tcp = new Uint8Array(20);
  tcp[16] = 0x12; // the transport's own TCP checksum: written as given
  tcp[17] = 0x34;
  const { file } = capture((w) => {
    w.writeSegment({ at: 0, src: "10.0.0.1", dst: "10.0.0.2", segment: FIN_ACK });
    w.writeTcp({ at: 1, src: "10.0.0.1:4000", dst: "10.0.0.2:5000", bytes: tcp });
  }, { encapsulation: "udp" });
  const [r0, r1] = readPcap(file).records;
  for (const r of [r0, r1]) {
    const ip = r.data;
    assert.equal(ip[9], 17, "UDP");
    assert.equal((ip[2] << 8) | ip[3], 48);
    assert.equal(onesSum([...ip.subarray(0, 20)]), 0xffff);
    const udp = ip.subarray(20);
    assert.equal((udp[4] << 8) | udp[5], 28, "UDP length");
    assert.equal(onesSum(pseudo(A, B, 17, udp.length), [...udp]), 0xffff, "UDP checksum");
  }
  const ports = (r: PcapRecord) => [(r.data[20] << 8) | r.data[21], (r.data[22] << 8) | r.data[23]];
  assert.deepEqual(ports(r0), [DEFAULT_UDP_PORT, DEFAULT_UDP_PORT]);
  assert.deepEqual(ports(r1), [4000, 5000]);
  assert.deepEqual([r1.data[28 + 16], r1.data[28 + 17]], [0x12, 0x34]);
  const inner = r0.data.subarray(28);
  assert.equal(onesSum(pseudo(A, B, 6, inner.length), [...inner]), 0xffff);
});

Deno.test("pcap: IPv6 addresses get an IPv6 header (raw link type only)", () => {
  const s = parseIp("2001:db8::1")!;
  const d = parseIp("2001:db8::2")!;
  const { file } = capture((w) => {
    w.writeSegment({ at: 0, src: "2001:db8::1", dst: "[2001:db8::2]:9811", segment: FIN_ACK });
  });
  const ip = readPcap(file).records[0].data;
  assert.equal(ip.length, 60);
  assert.equal(ip[0] >>> 4, 6);
  assert.equal((ip[4] << 8) | ip[5], 20, "payload length");
  assert.deepEqual([ip[6], ip[7]], [6, 64]);
  assert.deepEqual([...ip.subarray(8, 24)], [...s]);
  const tcp = ip.subarray(40);
  assert.equal(onesSum(pseudo(s, d, 6, 20), [...tcp]), 0xffff);
  const sink = memorySink();
  const v4 = new PcapWriter(sink, { linkType: LINKTYPE_IPV4 });
  assert.throws(
    () => v4.writeSegment({ at: 0, src: "::1", dst: "::1", segment: FIN_ACK }),
    /IPv6 address "::1" in an IPv4-only capture/,
  );
  const w = new PcapWriter(sink, { linkType: LINKTYPE_RAW });
  assert.throws(
    () => w.writeSegment({ at: 0, src: "10.0.0.1", dst: "::1", segment: FIN_ACK }),
    /not of one address family/,
  );
  assert.throws(
    () => w.writeSegment({ at: 0, src: "10.0.0.256", dst: "10.0.0.1", segment: FIN_ACK }),
    /bad address "10.0.0.256"/,
  );
});

Deno.test("pcap: a packet that cannot be encoded is left out whole", () => {
  const { file } = capture((w) => {
    w.writeSegment({ at: 0, src: "10.0.0.1", dst: "10.0.0.2", segment: FIN_ACK });
    const bad = newSegment({ ...FIN_ACK, window: 70_000 });
    assert.throws(
      () => w.writeSegment({ at: 1, src: "10.0.0.1", dst: "10.0.0.2", segment: bad }),
      /window/,
    );
    w.writeSegment({ at: 2, src: "10.0.0.2", dst: "10.0.0.1", segment: FIN_ACK });
  });
  const records = readPcap(file).records;
  assert.deepEqual(records.map((r) => r.nsec), [0, 2_000_000]);
  assert.equal(onesSum([...records[1].data.subarray(0, 20)]), 0xffff);
});

Deno.test("pcap: time stamps: epoch offset, rounding to the nanosecond, range", () => {
  const { file } = capture((w) => {
    w.writeSegment({ at: 0.0000004, src: "10.0.0.1", dst: "10.0.0.2", segment: FIN_ACK });
    w.writeSegment({ at: 999.9999999, src: "10.0.0.1", dst: "10.0.0.2", segment: FIN_ACK });
    w.writeSegment({ at: 2, src: "10.0.0.1", dst: "10.0.0.2", segment: FIN_ACK });
  }, { epochMs: 1_700_000_000_000 });
  assert.deepEqual(
    readPcap(file).records.map((r) => [r.sec, r.nsec]),
    [[1_700_000_000, 0], [1_700_000_001, 0], [1_700_000_000, 2_000_000]],
  );
  const w = new PcapWriter(memorySink());
  for (const at of [-1, NaN, Infinity]) {
    assert.throws(
      () => w.writeSegment({ at, src: "10.0.0.1", dst: "10.0.0.2", segment: FIN_ACK }),
      /outside pcap's range/,
    );
  }
});

Deno.test("pcap: streaming: the sink gets chunks no bigger than the buffer, partial writes resume", () => {
  const chunks: number[] = [];
  const out: number[] = [];
  // A sink that takes at most 100 bytes per call, as a pipe might.
  const sink = {
    write(b: Uint8Array) {
      const n = Math.min(100, b.length);
      chunks.push(b.length);
      out.push(...b.subarray(0, n));
      return n;
    },
  };
  const w = new PcapWriter(sink, { bufferBytes: 256 });
  const seg = newSegment({ ...FIN_ACK, payload: new Uint8Array(100) });
  for (let i = 0; i < 50; i++) {
    w.writeSegment({ at: i, src: "10.0.0.1", dst: "10.0.0.2", segment: seg });
  }
  assert.ok(chunks.length > 20, "flushed while writing, not at the end");
  assert.ok(Math.max(...chunks) <= 256);
  w.close();
  w.close(); // idempotent
  assert.equal(readPcap(new Uint8Array(out)).records.length, 50);
  assert.throws(
    () => w.writeSegment({ at: 0, src: "10.0.0.1", dst: "10.0.0.2", segment: seg }),
    /closed/,
  );
  // A record larger than the buffer still goes out whole.
  const big = capture((x) => {
    x.writeSegment({
      at: 0,
      src: "10.0.0.1",
      dst: "10.0.0.2",
      segment: newSegment({ ...FIN_ACK, payload: new Uint8Array(4000) }),
    });
  }, { bufferBytes: 256 });
  assert.equal(readPcap(big.file).records[0].incl, 4040);
});

Deno.test("pcap: a failing sink (disk full) gives PcapWriteError with the valid prefix", () => {
  const kept: number[] = [];
  const LIMIT = 300;
  const sink = {
    write(b: Uint8Array) {
      const room = LIMIT - kept.length;
      if (room <= 0) throw new Error("No space left on device (os error 28)");
      const n = Math.min(room, b.length);
      kept.push(...b.subarray(0, n));
      return n;
    },
  };
  const w = new PcapWriter(sink, { bufferBytes: 256 });
  const seg = newSegment({ ...FIN_ACK, payload: new Uint8Array(30) });
  let err: unknown;
  try {
    for (let i = 0; i < 20; i++) {
      w.writeSegment({ at: i, src: "10.0.0.1", dst: "10.0.0.2", segment: seg });
    }
    w.close();
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof PcapWriteError, String(err));
  assert.match(err.message, /^Cannot write pcap: No space left on device \(os error 28\); /);
  // 24 + n * (16 + 70) <= 300: 3 complete packets in 282 bytes.
  assert.deepEqual([err.packets, err.bytes], [3, 24 + 3 * 86]);
  assert.equal(kept.length, LIMIT, "everything the sink would take was handed to it");
  assert.equal(readPcap(new Uint8Array(kept.slice(0, err.bytes))).records.length, 3);
  assert.throws(() => w.flush(), PcapWriteError, "the failure sticks");
  assert.throws(() => w.close(), PcapWriteError);
});

// ------------------------------------------------------------ pure: world log

Deno.test("pcap log: one packet per segment sent, lost ones included, at the send time", () => {
  const run = runScenario(findScenario("lossy-close")!, { seed: 1 });
  const sends = run.world.log.filter((e) => e.kind === "event" && e.event.type === "segment-sent");
  const lost = run.world.log.filter((e) => e.kind === "net" && e.event.type === "lost");
  assert.ok(lost.length > 0, "seed 1 loses something");
  const sink = memorySink();
  const n = writeLogPcap(run.world.log, new PcapWriter(sink), { nodes: [PEER_A, PEER_B] });
  assert.equal(n, sends.length);
  const records = readPcap(sink.bytes()).records;
  assert.deepEqual(
    records.map((r) => r.sec * 1e3 + r.nsec / 1e6),
    sends.map((e) => e.at),
  );
  // Zero payloads, still correct checksums.
  for (const r of records) {
    const src = r.data.subarray(12, 16);
    const dst = r.data.subarray(16, 20);
    const tcp = r.data.subarray(20);
    assert.equal(onesSum(pseudo(src, dst, 6, tcp.length), [...tcp]), 0xffff);
    const seg = decode(tcp);
    assert.ok(seg.ok && seg.segment.payload.every((b) => b === 0));
  }
});

Deno.test("pcap log: capturePcap writes the real payload bytes while the world runs", () => {
  const sink = memorySink();
  const writer = new PcapWriter(sink);
  let cap: ReturnType<typeof capturePcap> | undefined;
  runScenario(findScenario("lossy-close")!, { seed: 1 }, {
    world: (w) => (cap = capturePcap(w, writer)),
  });
  cap!.finish();
  // PcapLog itself checks each packet's checksum against the one the endpoint sent.
  // A's data is "finwait " repeated from SEQ 100 on: each payload is its slice.
  const pattern = new TextEncoder().encode("finwait ");
  let carrying = 0;
  for (const r of readPcap(sink.bytes()).records) {
    const tcp = r.data.subarray(20);
    const payload = tcp.subarray((tcp[12] >>> 4) * 4);
    if (payload.length === 0) continue;
    carrying++;
    const seq = new DataView(tcp.buffer, tcp.byteOffset).getUint32(4);
    const want = payload.map((_, i) => pattern[(seq - 100 + i) % pattern.length]);
    assert.deepEqual(payload, want, `payload at SEQ ${seq}`);
  }
  assert.ok(carrying >= 3);
});

Deno.test("pcap log: a copy the network duplicated is written again when it arrives", () => {
  const sink = memorySink();
  let cap: ReturnType<typeof capturePcap> | undefined;
  const run = runScenario(findScenario("normal-close")!, { seed: 3 }, {
    world: (w) => {
      w.net.setLink(PEER_B, PEER_A, { duplicate: 1, delay: 10 });
      cap = capturePcap(w, new PcapWriter(sink));
    },
  });
  cap!.finish();
  const log = run.world.log;
  const sends = log.filter((e) => e.kind === "event" && e.event.type === "segment-sent");
  const dups = log.filter((e) =>
    e.kind === "event" && e.event.type === "segment-received" && e.copy === 1
  );
  assert.ok(dups.length > 0);
  const records = readPcap(sink.bytes()).records;
  assert.equal(records.length, sends.length + dups.length);
  const fromB = records.filter((r) => r.data[15] === 2);
  assert.ok(fromB.length >= 2 * dups.length);
});

Deno.test("pcap log: an unknown peer is a clear error", () => {
  const log = new PcapLog(new PcapWriter(memorySink()));
  const run = runScenario(findScenario("abort")!);
  const sent = run.world.log.find((e) => e.kind === "event" && e.event.type === "segment-sent")!;
  assert.throws(() => log.feed(sent), /no peer known for "10.0.0.1"/);
});

// ------------------------------------------------------------ CLI: files

const BASE: TraceOptions = { seed: 1, msl: 1, delay: 10, json: false, live: false };

Deno.test("trace --pcap writes the file and says so; --format diagram is the figure", async () => {
  const dir = await Deno.makeTempDir({ prefix: "finwait-pcap-" });
  try {
    const path = `${dir}/normal.pcap`;
    const lines: string[] = [];
    await trace("normal-close", { ...BASE, pcap: path, format: "diagram" }, (l) => lines.push(l));
    assert.match(lines[0], /TCP Peer A {4,}TCP Peer B/);
    assert.equal(lines.at(-1), `pcap: 7 packets written to "${path}"`);
    assert.equal(readPcap(await Deno.readFile(path)).records.length, 7);
    const figure: string[] = [];
    await trace("normal-close", BASE, (l) => figure.push(l));
    assert.deepEqual(lines.slice(0, -1), figure);
    const json: string[] = [];
    await trace("abort", { ...BASE, format: "json" }, (l) => json.push(l));
    assert.ok(json.every((l) => typeof JSON.parse(l) === "object"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trace: --json with another --format is refused", async () => {
  await assert.rejects(
    () => trace("abort", { ...BASE, json: true, format: "figure" }, () => {}),
    /Options --json and --format "figure" conflict/,
  );
});

Deno.test("trace --pcap: a file that cannot be written is one clear line", async () => {
  await assert.rejects(
    () => trace("abort", { ...BASE, pcap: "/nonexistent-dir/x.pcap" }, () => {}),
    (e: Error) => {
      assert.match(e.message, /^Cannot write pcap "\/nonexistent-dir\/x.pcap": No such file/);
      assert.ok(!e.message.includes("\n") && !e.message.includes("open '"));
      return true;
    },
  );
  let full = false;
  try {
    full = Deno.statSync("/dev/full").isCharDevice ?? false;
  } catch { /* not Linux */ }
  if (!full) {
    console.log("skipped the disk-full case: /dev/full not found");
    return;
  }
  await assert.rejects(
    () => trace("lossy-close", { ...BASE, pcap: "/dev/full" }, () => {}),
    /^Error: Cannot write pcap "\/dev\/full": No space left on device \(os error 28\); no packet was written$/,
  );
});

Deno.test("finwait trace --pcap past the file size limit: one line, the file cut to whole packets", async () => {
  // RLIMIT_FSIZE makes write(2) fail with EFBIG part way, like a full disk does.
  if (Deno.build.os !== "linux") {
    console.log("skipped: needs Linux and bash for ulimit -f");
    return;
  }
  const dir = await Deno.makeTempDir({ prefix: "finwait-pcap-" });
  try {
    const path = `${dir}/cut.pcap`;
    const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;
    const script = 'trap "" XFSZ; ulimit -f 1; exec "$0" run -A "$1" trace lossy-close --pcap "$2"';
    let out: Deno.CommandOutput;
    try {
      out = await new Deno.Command("bash", {
        args: ["-c", script, Deno.execPath(), main, path],
        stdout: "null",
        stderr: "piped",
      }).output();
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      console.log("skipped: bash not found");
      return;
    }
    const err = new TextDecoder().decode(out.stderr).trim();
    assert.equal(out.code, 1);
    const m =
      /^finwait: Cannot write pcap ".*cut\.pcap": File too large \(os error 27\); the file keeps the first (\d+) packets$/
        .exec(err);
    assert.ok(m, err);
    const file = await Deno.readFile(path);
    assert.ok(file.length <= 1024);
    assert.equal(readPcap(file).records.length, Number(m[1]), "no packet cut in the middle");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ------------------------------------------------------------ tshark

const TSHARK = (() => {
  try {
    const r = new Deno.Command("tshark", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
    return r.success;
  } catch {
    return false;
  }
})();
const NO_TSHARK = "skipped: tshark not found (apt-get install tshark; .ci/run does it)";

const FIELDS = [
  "frame.number",
  "ip.src",
  "tcp.flags",
  "tcp.seq",
  "tcp.ack",
  "tcp.seq_raw",
  "tcp.ack_raw",
  "ip.checksum.status",
  "tcp.checksum.status",
  "udp.checksum.status",
  "_ws.malformed",
  "_ws.expert.severity",
  "_ws.expert.message",
  "tcp.analysis.retransmission",
] as const;
type Frame = Record<(typeof FIELDS)[number], string>;

/** PI_ERROR in epan/proto.h: expert info of error severity (malformed, bad checksum). */
const PI_ERROR = 0x00800000;
/** `*.checksum.status` values in tshark's field output. */
const CHECKSUM_GOOD = "1";

/** Runs tshark on `file` with checksum checks on; one object per frame. */
async function tshark(file: string, extra: string[] = []): Promise<Frame[]> {
  const args = [
    "-r",
    file,
    "-o",
    "tcp.check_checksum:TRUE",
    "-o",
    "ip.check_checksum:TRUE",
    "-o",
    "udp.check_checksum:TRUE",
    ...extra,
    "-T",
    "fields",
    "-E",
    "separator=|",
    "-E",
    "occurrence=a",
    ...FIELDS.flatMap((f) => ["-e", f]),
  ];
  const out = await new Deno.Command("tshark", { args, stdout: "piped", stderr: "piped" }).output();
  const err = new TextDecoder().decode(out.stderr).replace(/^Running as user.*\n/m, "").trim();
  assert.ok(out.success, `tshark failed: ${err}`);
  // Complaints about the file itself ("cut short in the middle of a packet", ...) fail;
  // anything else is the local installation talking.
  assert.doesNotMatch(err, /cut short|corrupt|capture file|pcap/i, "tshark complained");
  if (err) console.log(`tshark said: ${err}`);
  return new TextDecoder().decode(out.stdout).trim().split("\n").map((line) => {
    const cols = line.split("|");
    return Object.fromEntries(FIELDS.map((f, i) => [f, cols[i] ?? ""])) as Frame;
  });
}

function assertClean(frames: Frame[], name: string): void {
  for (const f of frames) {
    const at = `${name} frame ${f["frame.number"]}`;
    assert.equal(f["_ws.malformed"], "", `${at}: malformed`);
    assert.equal(f["ip.checksum.status"], CHECKSUM_GOOD, `${at}: IP checksum`);
    assert.equal(f["tcp.checksum.status"], CHECKSUM_GOOD, `${at}: TCP checksum`);
    const sev = f["_ws.expert.severity"].split(",").filter(Boolean).map(Number);
    assert.ok(sev.every((s) => s < PI_ERROR), `${at}: expert error ${sev}`);
  }
}

async function tracePcap(
  dir: string,
  name: string,
  o: Partial<TraceOptions> = {},
): Promise<{ file: string; rtx: number[]; lost: number; packets: number }> {
  const file = `${dir}/${name}-${o.pcapEncap ?? "ip"}.pcap`;
  const lines: string[] = [];
  const run = await trace(name, { ...BASE, ...o, pcap: file }, (l) => lines.push(l));
  const packets = Number(/pcap: (\d+) packets/.exec(lines.at(-1)!)![1]);
  // Frame numbers of the segments finwait itself marked as retransmissions.
  const rtx: number[] = [];
  let frame = 0;
  for (const e of run.world.log) {
    if (e.kind === "event" && e.event.type === "segment-sent") {
      frame++;
      if (e.event.retransmission) rtx.push(frame);
    }
  }
  const lost = run.world.log.filter((e) => e.kind === "net" && e.event.type === "lost").length;
  return { file, rtx, lost, packets };
}

/** ISN of each peer: A's SYN carries 99, B's 299, so the close starts at 100 and 300. */
const ISN: Record<string, number> = { [PEER_A]: 99, [PEER_B]: 299 };

interface FigureRow {
  from: string;
  seq: number;
  ack: number;
  flags: number;
}

// RFC 9293 §3.6, Figures 12 and 13, after the handshake (frames 1 to 3).
const FIGURE_12: FigureRow[] = [
  { from: PEER_A, seq: 100, ack: 300, flags: FIN | ACK },
  { from: PEER_B, seq: 300, ack: 101, flags: ACK },
  { from: PEER_B, seq: 300, ack: 101, flags: FIN | ACK },
  { from: PEER_A, seq: 101, ack: 301, flags: ACK },
];
const FIGURE_13: FigureRow[] = [
  { from: PEER_A, seq: 100, ack: 300, flags: FIN | ACK },
  { from: PEER_B, seq: 300, ack: 100, flags: FIN | ACK },
  { from: PEER_A, seq: 101, ack: 301, flags: ACK },
  { from: PEER_B, seq: 301, ack: 101, flags: ACK },
];

/** `xs` with each pair (0-1, 2-3, ...) put in the order of `from`. */
function byPairs<T>(xs: T[], from: (x: T) => string): T[] {
  const out: T[] = [];
  for (let i = 0; i < xs.length; i += 2) {
    out.push(...xs.slice(i, i + 2).sort((a, b) => from(a).localeCompare(from(b))));
  }
  return out;
}

/**
 * Frames 4 on must be `rows`. With `crossing`, rows go by pairs sent at the same
 * moment (Figure 13's crossing segments), so each pair may come in either order.
 */
function assertFigure(frames: Frame[], rows: FigureRow[], name: string, crossing = false): void {
  assert.equal(frames.length, 3 + rows.length, `${name}: handshake and ${rows.length} segments`);
  assert.deepEqual(frames.slice(0, 3).map((f) => Number(f["tcp.flags"])), [SYN, SYN | ACK, ACK]);
  let close = frames.slice(3);
  if (crossing) {
    close = byPairs(close, (f) => f["ip.src"]);
    rows = byPairs(rows, (r) => r.from);
  }
  rows.forEach((row, i) => {
    const f = close[i];
    const to = row.from === PEER_A ? PEER_B : PEER_A;
    const got = {
      from: f["ip.src"],
      flags: Number(f["tcp.flags"]),
      seqRaw: Number(f["tcp.seq_raw"]),
      ackRaw: Number(f["tcp.ack_raw"]),
      seq: Number(f["tcp.seq"]),
      ack: Number(f["tcp.ack"]),
    };
    assert.deepEqual(got, {
      from: row.from,
      flags: row.flags,
      seqRaw: row.seq,
      ackRaw: row.ack,
      seq: row.seq - ISN[row.from],
      ack: row.ack - ISN[to],
    }, `${name} row ${i + 1}`);
  });
}

Deno.test({
  name: "tshark: every scenario reads clean: no malformed frame, no bad checksum, no error",
  ignore: !TSHARK,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "finwait-tshark-" });
    try {
      const runs = [];
      for (const s of SCENARIOS) runs.push({ name: s.name, ...await tracePcap(dir, s.name) });
      // No scenario here duplicates, so frame n is the n-th segment sent.
      const read = await Promise.all(runs.map((r) => tshark(r.file)));
      for (const [i, { name, rtx, lost, packets }] of runs.entries()) {
        const frames = read[i];
        assert.equal(frames.length, packets, `${name}: frames`);
        assertClean(frames, name);
        const seen = frames.filter((f) => f["tcp.analysis.retransmission"] !== "")
          .map((f) => Number(f["frame.number"]));
        if (lost === 0) assert.deepEqual(seen, [], `${name}: no retransmission`);
        assert.deepEqual(seen, rtx, `${name}: tshark's retransmissions are finwait's`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
if (!TSHARK) console.log(NO_TSHARK);

Deno.test({
  name: "tshark: normal-close reads as RFC 9293 Figure 12 (relative and absolute SEQ/ACK)",
  ignore: !TSHARK,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "finwait-tshark-" });
    try {
      const { file } = await tracePcap(dir, "normal-close");
      assertFigure(await tshark(file), FIGURE_12, "normal-close");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tshark: simultaneous-close reads as RFC 9293 Figure 13 (relative and absolute SEQ/ACK)",
  ignore: !TSHARK,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "finwait-tshark-" });
    try {
      const { file } = await tracePcap(dir, "simultaneous-close");
      assertFigure(await tshark(file), FIGURE_13, "simultaneous-close", true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tshark: lossy-close shows the retransmissions in its expert info",
  ignore: !TSHARK,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "finwait-tshark-" });
    try {
      // Seed 1 at the default 25 % loses segments (a data segment, its first resend and
      // B's FIN when this was written).
      const { file, rtx, lost } = await tracePcap(dir, "lossy-close", { seed: 1 });
      assert.ok(lost >= 1 && rtx.length >= 1, `seed 1 lost ${lost}, resent ${rtx.length}`);
      const frames = await tshark(file);
      assertClean(frames, "lossy-close");
      const seen = frames.filter((f) => f["tcp.analysis.retransmission"] !== "");
      assert.deepEqual(seen.map((f) => Number(f["frame.number"])), rtx);
      for (const f of seen) assert.match(f["_ws.expert.message"], /retransmission/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tshark: UDP framing decodes as TCP inside UDP 9811 with good UDP and TCP checksums",
  ignore: !TSHARK,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "finwait-tshark-" });
    try {
      const { file } = await tracePcap(dir, "normal-close", { pcapEncap: "udp" });
      const frames = await tshark(file, ["-d", `udp.port==${DEFAULT_UDP_PORT},tcp`]);
      assertClean(frames, "normal-close over UDP");
      assert.ok(frames.every((f) => f["udp.checksum.status"] === CHECKSUM_GOOD));
      assertFigure(frames, FIGURE_12, "normal-close over UDP");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "tshark: IPv6 headers read clean, and a broken checksum is caught (the check works)",
  ignore: !TSHARK,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "finwait-tshark-" });
    try {
      const path = `${dir}/v6.pcap`;
      const f = openPcapFile(path);
      f.writer.writeSegment({ at: 0, src: "2001:db8::1", dst: "2001:db8::2", segment: FIN_ACK });
      // A hand-made IPv4 packet whose TCP checksum is wrong on purpose.
      const bad = new Uint8Array(40);
      bad.set([0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, ...A, ...B]);
      const sum = ~onesSum([...bad.subarray(0, 20)]) & 0xffff;
      bad[10] = sum >>> 8;
      bad[11] = sum & 0xff;
      bad.set([0xc0, 0, 0, 80, 0, 0, 0, 100, 0, 0, 1, 44, 0x50, RST | ACK, 4, 0, 0xde, 0xad], 20);
      f.writer.writeIp(1, bad);
      f.close();
      const [v6, broken] = await tshark(path);
      assert.equal(v6["tcp.checksum.status"], CHECKSUM_GOOD, "IPv6: TCP checksum");
      assert.equal(v6["tcp.seq_raw"], "100");
      assert.equal(v6["_ws.malformed"], "");
      assert.equal(broken["ip.checksum.status"], CHECKSUM_GOOD);
      assert.equal(broken["tcp.checksum.status"], "0", "tshark reports the bad TCP checksum");
      const sev = broken["_ws.expert.severity"].split(",").map(Number);
      assert.ok(sev.some((s) => s >= PI_ERROR), "and flags it as an error");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
