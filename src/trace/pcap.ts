/**
 * Classic pcap export, so a finwait conversation opens in Wireshark and tshark.
 *
 * {@linkcode PcapWriter} streams a capture into a sink: the 24-byte file header
 * (nanosecond magic `0xa1b23c4d`, little-endian), then one record per packet with
 * a synthetic IP header, since finwait's segments never had one of their own:
 *
 * - `encapsulation: "ip"` (default): IPv4 (or IPv6) / TCP. The TCP checksum is
 *   computed over the pseudo header of the addresses written, so it is correct
 *   whatever rule produced the bytes.
 * - `encapsulation: "udp"`: IPv4 (or IPv6) / UDP / TCP, the framing of UDP runs
 *   (default port 9811). The UDP checksum covers the datagram; the TCP segment
 *   inside is written as given by {@linkcode PcapWriter.writeTcp} (the real bytes,
 *   whatever checksum rule the transport used).
 *
 * IPv4 headers: version 4, IHL 5, DF set, TTL 64, an id counting up per writer, a
 * correct header checksum. Link type `LINKTYPE_RAW` (101, IPv4 or IPv6) by
 * default, or `LINKTYPE_IPV4` (228).
 *
 * The writer buffers at most `bufferBytes` (64 KiB) and hands full chunks to the
 * sink, so a capture never sits in memory whole. When the sink throws (disk
 * full), the writer throws a {@linkcode PcapWriteError} telling how many complete
 * packets, and bytes, reached the sink: truncating the file there leaves a valid
 * capture. Sans-IO: the sink is the caller's; nothing here touches `Deno`.
 *
 * {@linkcode PcapLog} turns a world log (`src/sim/world.ts`) into packets and
 * {@linkcode capturePcap} attaches one to a running world.
 *
 * @example Two segments into memory
 * ```ts
 * import { PcapWriter } from "./pcap.ts";
 * import { ACK, FIN, newSegment } from "../wire/segment.ts";
 *
 * const chunks: Uint8Array[] = [];
 * const pcap = new PcapWriter({ write: (b) => void chunks.push(b.slice()) });
 * const fin = newSegment({ srcPort: 49152, dstPort: 80, seq: 100, ack: 300, flags: FIN | ACK });
 * pcap.writeSegment({ at: 0, src: "10.0.0.1", dst: "10.0.0.2", segment: fin });
 * pcap.close();
 * // 24-byte file header, 16-byte record header, 20 IPv4 + 20 TCP
 * if (chunks.reduce((n, c) => n + c.length, 0) !== 80) throw new Error("size");
 * ```
 *
 * @module
 */
import type { World, WorldEntry } from "../sim/world.ts";
import { foldChecksum, parseIp, sum16 } from "../wire/checksum.ts";
import { encode, encodedLength, type Segment } from "../wire/segment.ts";

/** Magic number of a classic pcap file with nanosecond timestamps. */
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Raw IP: each packet starts with an IPv4 or IPv6 header (tcpdump.org link types). */
export const LINKTYPE_RAW = 101;
/** IPv4 only. */
export const LINKTYPE_IPV4 = 228;
/** Snapshot length written in the file header; records are never cut. */
export const PCAP_SNAPLEN = 262_144;
/** Bytes of the file header. */
export const PCAP_FILE_HEADER_BYTES = 24;
/** Bytes of each record header. */
export const PCAP_RECORD_HEADER_BYTES = 16;
/** UDP port of TCP-over-UDP runs (the FreeBSD TCP-over-UDP port, as the UDP transport). */
export const DEFAULT_UDP_PORT = 9811;
/** Hop limit of the synthetic IP headers. */
export const IP_TTL = 64;

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPV4_HEADER_BYTES = 20;
const IPV6_HEADER_BYTES = 40;
const UDP_HEADER_BYTES = 8;
const TCP_CHECKSUM_AT = 16;
const DEFAULT_BUFFER_BYTES = 64 * 1024;
/** Parsed addresses kept; a long live run with many peers starts over past this. */
const ADDRESS_CACHE = 1024;

/** Where the bytes go. `write` returns how many bytes it took (all when it returns nothing). */
export interface PcapSink {
  write(bytes: Uint8Array): number | void;
}

/** Options of {@linkcode PcapWriter}. */
export interface PcapWriterOptions {
  /** {@linkcode LINKTYPE_RAW} (default) or {@linkcode LINKTYPE_IPV4}. */
  linkType?: typeof LINKTYPE_RAW | typeof LINKTYPE_IPV4;
  /** `"ip"` (default): IP/TCP. `"udp"`: IP/UDP/TCP, as UDP runs carry segments. */
  encapsulation?: "ip" | "udp";
  /** UDP port for addresses written without one (default {@linkcode DEFAULT_UDP_PORT}). */
  udpPort?: number;
  /** Wall-clock ms added to every `at` (default 0: virtual time reads from 1970-01-01). */
  epochMs?: number;
  /** Bytes buffered before the sink is called (default 64 KiB). */
  bufferBytes?: number;
}

/** Where and when a packet was seen. Addresses: `"10.0.0.1"`, `"10.0.0.1:9811"`, `"[::1]:9811"`. */
export interface PcapPacket {
  /** Time in ms (virtual or wall clock; `epochMs` is added). */
  at: number;
  src: string;
  dst: string;
}

/** Thrown when the sink fails; the sink holds a valid capture of `bytes` bytes. */
export class PcapWriteError extends Error {
  /** Complete packets the sink took. */
  readonly packets: number;
  /** Bytes of the file header and of those complete packets: truncate the file here. */
  readonly bytes: number;
  /** Creates the error; `cause` is what the sink threw. */
  constructor(cause: unknown, packets: number, bytes: number) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`Cannot write pcap: ${why}; ${packets} complete packets (${bytes} bytes) written`, {
      cause,
    });
    this.name = "PcapWriteError";
    this.packets = packets;
    this.bytes = bytes;
  }
}

interface Address {
  ip: Uint8Array;
  port: number | undefined;
}

/** A streaming classic pcap writer; see the module documentation. */
export class PcapWriter {
  /** The link type in the file header. */
  readonly linkType: number;
  /** IP/TCP or IP/UDP/TCP. */
  readonly encapsulation: "ip" | "udp";
  #sink: PcapSink;
  #udpPort: number;
  #epochMs: number;
  #buf: Uint8Array;
  #view: DataView;
  #used = 0;
  /** Bytes the sink took so far. */
  #flushed = 0;
  /** Packets written into the buffer or the sink. */
  #packets = 0;
  /** Complete packets, and their bytes with the file header, that reached the sink. */
  #sunkPackets = 0;
  #sunkBytes = 0;
  #ipId = 0;
  #failed: PcapWriteError | undefined;
  #closed = false;
  #addrs = new Map<string, Address>();
  /** Addresses of the packet between #begin and #finish. */
  #src: Address | undefined;
  #dst: Address | undefined;

  /** Starts a capture: the file header waits in the buffer for the first flush. */
  constructor(sink: PcapSink, opts: PcapWriterOptions = {}) {
    this.#sink = sink;
    this.linkType = opts.linkType ?? LINKTYPE_RAW;
    if (this.linkType !== LINKTYPE_RAW && this.linkType !== LINKTYPE_IPV4) {
      throw new RangeError(`Cannot write pcap: unsupported link type "${this.linkType}"`);
    }
    this.encapsulation = opts.encapsulation ?? "ip";
    this.#udpPort = opts.udpPort ?? DEFAULT_UDP_PORT;
    if ((this.#udpPort & 0xffff) !== this.#udpPort) {
      throw new RangeError(`Cannot write pcap: bad UDP port "${this.#udpPort}"`);
    }
    this.#epochMs = opts.epochMs ?? 0;
    this.#buf = new Uint8Array(Math.max(opts.bufferBytes ?? DEFAULT_BUFFER_BYTES, 256));
    this.#view = new DataView(this.#buf.buffer);
    const v = this.#view;
    v.setUint32(0, PCAP_MAGIC_NS, true);
    v.setUint16(4, 2, true); // version 2.4
    v.setUint16(6, 4, true);
    v.setInt32(8, 0, true); // thiszone: UTC
    v.setUint32(12, 0, true); // sigfigs
    v.setUint32(16, PCAP_SNAPLEN, true);
    v.setUint32(20, this.linkType, true);
    this.#used = PCAP_FILE_HEADER_BYTES;
  }

  /** Packets written so far (buffered or in the sink). */
  get packets(): number {
    return this.#packets;
  }

  /** Bytes written so far (buffered or in the sink), file header included. */
  get bytes(): number {
    return this.#flushed + this.#used;
  }

  /**
   * Writes `segment` sent from `src` to `dst`, encoded with `payload` (default
   * `segment.payload`) and a TCP checksum computed for these addresses. The segment
   * object is not modified. Returns the TCP checksum written.
   */
  writeSegment(p: PcapPacket & { segment: Segment; payload?: Uint8Array }): number {
    const seg = p.payload === undefined || p.payload === p.segment.payload
      ? p.segment
      : { ...p.segment, payload: p.payload };
    const len = encodedLength(seg);
    const at = this.#begin(p, len);
    encode(seg, this.#buf, at);
    return this.#finish(at, len, true);
  }

  /**
   * Writes encoded TCP bytes sent from `src` to `dst`. With `"ip"` encapsulation the
   * TCP checksum is recomputed for the synthetic header (UDP runs checksum segments
   * without the IP addresses); with `"udp"` the bytes go inside the UDP datagram as
   * given. Returns the TCP checksum as written.
   */
  writeTcp(p: PcapPacket & { bytes: Uint8Array }): number {
    const len = p.bytes.length;
    const at = this.#begin(p, len);
    this.#buf.set(p.bytes, at);
    return this.#finish(at, len, this.encapsulation === "ip");
  }

  /** Writes a whole IP packet as it is (for transports that see IP, such as a TUN device). */
  writeIp(at: number, packet: Uint8Array): void {
    const o = this.#record(at, packet.length);
    this.#buf.set(packet, o);
    this.#used = o + packet.length;
    this.#packets++;
  }

  /** Hands everything buffered to the sink. */
  flush(): void {
    this.#check();
    this.#flush();
  }

  /** Flushes; later writes throw. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#check();
    this.#flush();
    this.#closed = true;
  }

  // Starts a packet whose TCP segment is `tcpLen` bytes: writes the record, IP and
  // UDP headers (checksums later) and returns where the segment goes. Nothing counts
  // as written until #finish, so a throw in between leaves the capture as it was.
  #begin(p: PcapPacket, tcpLen: number): number {
    const src = this.#src = this.#address(p.src);
    const dst = this.#dst = this.#address(p.dst);
    if (src.ip.length !== dst.ip.length) {
      throw new RangeError(
        `Cannot write packet: "${p.src}" and "${p.dst}" are not of one address family`,
      );
    }
    const v6 = src.ip.length === 16;
    if (v6 && this.linkType === LINKTYPE_IPV4) {
      throw new RangeError(`Cannot write packet: IPv6 address "${p.src}" in an IPv4-only capture`);
    }
    const udp = this.encapsulation === "udp";
    const l4 = tcpLen + (udp ? UDP_HEADER_BYTES : 0);
    const ipLen = (v6 ? IPV6_HEADER_BYTES : IPV4_HEADER_BYTES) + l4;
    if (v6 ? l4 > 0xffff : ipLen > 0xffff) {
      throw new RangeError(`Cannot write packet: ${tcpLen} bytes do not fit one IP packet`);
    }
    const o = this.#record(p.at, ipLen);
    const b = this.#buf;
    const proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
    if (v6) {
      b[o] = 0x60;
      b[o + 1] = b[o + 2] = b[o + 3] = 0;
      b[o + 4] = l4 >>> 8;
      b[o + 5] = l4;
      b[o + 6] = proto;
      b[o + 7] = IP_TTL;
      b.set(src.ip, o + 8);
      b.set(dst.ip, o + 24);
    } else {
      const id = this.#ipId = (this.#ipId + 1) & 0xffff;
      b[o] = 0x45; // version 4, IHL 5
      b[o + 1] = 0;
      b[o + 2] = ipLen >>> 8;
      b[o + 3] = ipLen;
      b[o + 4] = id >>> 8;
      b[o + 5] = id;
      b[o + 6] = 0x40; // DF, as Linux sends TCP
      b[o + 7] = 0;
      b[o + 8] = IP_TTL;
      b[o + 9] = proto;
      b[o + 10] = b[o + 11] = 0;
      b.set(src.ip, o + 12);
      b.set(dst.ip, o + 16);
      const sum = foldChecksum(sum16(b, o, o + IPV4_HEADER_BYTES));
      b[o + 10] = sum >>> 8;
      b[o + 11] = sum;
    }
    let at = o + (v6 ? IPV6_HEADER_BYTES : IPV4_HEADER_BYTES);
    if (udp) {
      const sp = src.port ?? this.#udpPort;
      const dp = dst.port ?? this.#udpPort;
      b[at] = sp >>> 8;
      b[at + 1] = sp;
      b[at + 2] = dp >>> 8;
      b[at + 3] = dp;
      b[at + 4] = l4 >>> 8;
      b[at + 5] = l4;
      b[at + 6] = b[at + 7] = 0;
      at += UDP_HEADER_BYTES;
    }
    return at;
  }

  // Fills the checksums of the packet begun by #begin and commits it.
  #finish(tcpAt: number, tcpLen: number, fixTcp: boolean): number {
    const b = this.#buf;
    const src = this.#src!.ip;
    const dst = this.#dst!.ip;
    let tcpSum = tcpLen >= TCP_CHECKSUM_AT + 2 ? (b[tcpAt + 16] << 8) | b[tcpAt + 17] : 0;
    if (fixTcp && tcpLen >= TCP_CHECKSUM_AT + 2) {
      // RFC 9293 §3.1: pseudo header (addresses, protocol, TCP length), field as zero.
      b[tcpAt + 16] = b[tcpAt + 17] = 0;
      const pseudo = pseudoSum(src, dst, IPPROTO_TCP, tcpLen);
      tcpSum = foldChecksum(sum16(b, tcpAt, tcpAt + tcpLen, pseudo));
      b[tcpAt + 16] = tcpSum >>> 8;
      b[tcpAt + 17] = tcpSum;
    }
    if (this.encapsulation === "udp") {
      // RFC 768 (RFC 8200 §8.1 for IPv6): zero means "no checksum", so 0 goes out as 0xffff.
      const u = tcpAt - UDP_HEADER_BYTES;
      const udpLen = tcpLen + UDP_HEADER_BYTES;
      const sum = foldChecksum(sum16(b, u, u + udpLen, pseudoSum(src, dst, IPPROTO_UDP, udpLen)));
      const field = sum === 0 ? 0xffff : sum;
      b[u + 6] = field >>> 8;
      b[u + 7] = field;
    }
    this.#used = tcpAt + tcpLen;
    this.#packets++;
    return tcpSum;
  }

  // Writes the record header for a `len`-byte packet, making room first; returns
  // where the packet goes. The caller commits it by moving #used past it.
  #record(at: number, len: number): number {
    this.#check();
    if (this.#closed) throw new Error("Cannot write packet: the pcap writer is closed");
    const ms = this.#epochMs + at;
    if (!(ms >= 0 && ms < 2 ** 32 * 1000)) {
      throw new RangeError(`Cannot write packet: time "${at}" ms is outside pcap's range`);
    }
    let sec = Math.floor(ms / 1000);
    let ns = Math.round((ms - sec * 1000) * 1e6);
    if (ns >= 1e9) {
      sec++;
      ns -= 1e9;
    }
    const need = PCAP_RECORD_HEADER_BYTES + len;
    if (this.#used + need > this.#buf.length) {
      this.#flush();
      if (need > this.#buf.length) {
        this.#buf = new Uint8Array(need);
        this.#view = new DataView(this.#buf.buffer);
      }
    }
    const v = this.#view;
    const o = this.#used;
    v.setUint32(o, sec, true);
    v.setUint32(o + 4, ns, true);
    v.setUint32(o + 8, len, true);
    v.setUint32(o + 12, len, true);
    return o + PCAP_RECORD_HEADER_BYTES;
  }

  #flush(): void {
    const buf = this.#buf;
    const end = this.#used;
    let off = 0;
    try {
      while (off < end) {
        const n = this.#sink.write(buf.subarray(off, end));
        const took = n === undefined ? end - off : n;
        if (!(took > 0 && took <= end - off)) {
          throw new Error(`the sink took ${took} of ${end - off} bytes`);
        }
        off += took;
      }
    } catch (e) {
      this.#count(off);
      this.#failed = new PcapWriteError(e, this.#sunkPackets, this.#sunkBytes);
      this.#used = 0;
      throw this.#failed;
    }
    this.#count(end);
    this.#flushed += end;
    this.#used = 0;
  }

  // Counts the complete records among the first `took` bytes of the buffer (which
  // starts with the file header on the first flush).
  #count(took: number): void {
    let o = 0;
    if (this.#flushed === 0) {
      if (took < PCAP_FILE_HEADER_BYTES) return;
      o = PCAP_FILE_HEADER_BYTES;
    }
    while (o + PCAP_RECORD_HEADER_BYTES <= took) {
      const end = o + PCAP_RECORD_HEADER_BYTES + this.#view.getUint32(o + 8, true);
      if (end > took) break;
      o = end;
      this.#sunkPackets++;
    }
    this.#sunkBytes = this.#flushed + o;
  }

  #check(): void {
    if (this.#failed) throw this.#failed;
  }

  #address(text: string): Address {
    let a = this.#addrs.get(text);
    if (a) return a;
    a = parseAddress(text);
    if (!a) throw new RangeError(`Cannot write packet: bad address "${text}"`);
    if (this.#addrs.size >= ADDRESS_CACHE) this.#addrs.clear();
    this.#addrs.set(text, a);
    return a;
  }
}

/** Partial sum of an IPv4 or IPv6 pseudo header for `proto` and `len` bytes. */
function pseudoSum(src: Uint8Array, dst: Uint8Array, proto: number, len: number): number {
  return sum16(dst, 0, dst.length, sum16(src, 0, src.length, proto + len));
}

/** `"10.0.0.1"`, `"10.0.0.1:9811"`, `"::1"`, `"[::1]:9811"`; undefined when bad. */
function parseAddress(text: string): Address | undefined {
  let host = text;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return undefined;
    host = text.slice(1, close);
    const rest = text.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return undefined;
      portText = rest.slice(1);
    }
  } else if (text.indexOf(":") >= 0 && text.indexOf(":") === text.lastIndexOf(":")) {
    host = text.slice(0, text.indexOf(":"));
    portText = text.slice(text.indexOf(":") + 1);
  }
  const ip = parseIp(host);
  if (!ip) return undefined;
  if (portText === undefined) return { ip, port: undefined };
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 0xffff) return undefined;
  return { ip, port: Number(portText) };
}

/** Options of {@linkcode PcapLog}. */
export interface PcapLogOptions {
  /**
   * Payload bytes: `"live"` (default) copies the segment's payload view, which is
   * valid only while the world is still in the drain that logged it, so feed each
   * entry then (as {@linkcode capturePcap} does); `"zeros"` writes zero bytes of the
   * payload's length, for logs read after the run. Checksums are correct either way.
   */
  payload?: "live" | "zeros";
  /** The two endpoints of the log: each one's segments go to the other. */
  nodes?: readonly [string, string];
  /** The address `node`'s segments go to, for logs with more than two endpoints. */
  peerOf?: (node: string) => string;
}

/**
 * Writes a world log as packets: every `segment-sent` at its send time (a segment the
 * network then lost is written too, so its resend reads as a retransmission), and a
 * second copy of a segment the network duplicated when that copy arrives. Nothing
 * else: an arrival is the same packet as its send.
 */
export class PcapLog {
  /** Where the packets go. */
  readonly writer: PcapWriter;
  #zeros: boolean;
  #peerOf: (node: string) => string;
  #zeroBuf = new Uint8Array(0);

  /** Writes through `writer`; see {@linkcode PcapLogOptions}. */
  constructor(writer: PcapWriter, opts: PcapLogOptions = {}) {
    this.writer = writer;
    this.#zeros = opts.payload === "zeros";
    const [a, b] = opts.nodes ?? ["", ""];
    this.#peerOf = opts.peerOf ?? ((node) => {
      if (opts.nodes && (node === a || node === b)) return node === a ? b : a;
      throw new Error(`Cannot write pcap: no peer known for "${node}" (pass nodes or peerOf)`);
    });
  }

  /** Writes what `entry` puts on the wire, if anything. */
  feed(e: WorldEntry): void {
    if (e.kind !== "event") return;
    const ev = e.event;
    if (ev.type === "segment-sent") {
      const sum = this.#write(e.at, e.node, this.#peerOf(e.node), ev.segment);
      // The endpoint computed the real checksum for the same pseudo header: another
      // value means the payload view was reused before it was fed (feed it sooner).
      if (!this.#zeros && sum !== ev.segment.checksum) {
        throw new Error(
          `Bug: pcap checksum ${sum} differs from the sent ${ev.segment.checksum}: stale payload`,
        );
      }
    } else if (ev.type === "segment-received" && e.copy === 1) {
      this.#write(e.at, this.#peerOf(e.node), e.node, ev.segment);
    }
  }

  #write(at: number, src: string, dst: string, segment: Segment): number {
    let payload = segment.payload;
    if (this.#zeros && payload.length > 0) {
      if (this.#zeroBuf.length < payload.length) this.#zeroBuf = new Uint8Array(payload.length);
      payload = this.#zeroBuf.subarray(0, payload.length);
    }
    return this.writer.writeSegment({ at, src, dst, segment, payload });
  }
}

/** A capture attached to a world by {@linkcode capturePcap}. */
export interface WorldCapture {
  /** Writes what the log holds beyond the last event and flushes the writer. */
  finish(): void;
}

/**
 * Streams `world`'s traffic into `writer` while it runs, with the real payload
 * bytes: every endpoint event feeds the new log entries before any other hook can
 * issue commands. Attach before the first segment (for a scenario, through
 * `runScenario`'s `world` option) and call `finish()` after the run. The world must
 * keep its log; with two endpoints the peer of each is the other one.
 */
export function capturePcap(
  world: World,
  writer: PcapWriter,
  opts: Pick<PcapLogOptions, "peerOf"> = {},
): WorldCapture {
  let nodes: string[] | undefined;
  const peerOf = opts.peerOf ?? ((node: string) => {
    nodes ??= [...world.endpoints.keys()];
    if (nodes.length === 2) return node === nodes[0] ? nodes[1] : nodes[0];
    throw new Error(`Cannot write pcap: the world has ${nodes.length} endpoints (pass peerOf)`);
  });
  const log = new PcapLog(writer, { payload: "live", peerOf });
  let next = 0;
  const catchUp = () => {
    const entries = world.log;
    while (next < entries.length) log.feed(entries[next++]);
  };
  world.onEvent(catchUp);
  return {
    finish() {
      catchUp();
      writer.flush();
    },
  };
}

/**
 * Writes a finished log (for instance the one a UI keeps) with zero payload bytes,
 * since payload views do not outlive the run; headers, lengths and checksums are
 * those of a real capture. Flushes `writer` and returns the packets written.
 */
export function writeLogPcap(
  entries: Iterable<WorldEntry>,
  writer: PcapWriter,
  opts: Omit<PcapLogOptions, "payload">,
): number {
  const before = writer.packets;
  const log = new PcapLog(writer, { ...opts, payload: "zeros" });
  for (const e of entries) log.feed(e);
  writer.flush();
  return writer.packets - before;
}
