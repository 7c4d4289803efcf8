/**
 * The TUN transport: finwait as an IPv4 host on a Linux TUN interface, so its TCP
 * meets the kernel's own (README, "Talk to your kernel").
 *
 * - The device (`tun_device.ts`, libc through Deno FFI) carries whole IPv4 packets.
 *   The kernel's side of the link has an address on the interface (`10.77.0.1/24`);
 *   finwait is another host on that subnet (`10.77.0.2`), so the kernel routes
 *   packets for finwait into the device and reads finwait's packets out of it.
 * - Transport addresses are bare IPv4 text (`"10.77.0.1"`): the IP layer has no ports;
 *   the TCP ports are inside the segment.
 * - Receive: after every wake-up (`poll(2)` on a blocking-pool thread, or a 1 ms timer
 *   with `wake: "timer"`) the descriptor is read until `EAGAIN` (at most 4096 packets per
 *   turn of the event loop), every packet into one reused buffer: one read per wake-up
 *   would cap a bulk transfer at a quarter of the speed (README, "Talk to your kernel",
 *   for the measurements). A packet that is not IPv4, has a bad header or header
 *   checksum, is not TCP, is not addressed to us, or is a fragment is ignored and
 *   counted ({@linkcode TunStats.ignored}). A TCP segment goes to the driver with its
 *   payload bytes untouched.
 * - The checksum: the driver runs the endpoint with the zero-address pseudo header
 *   (the UDP rule, which lets one endpoint serve any transport). The kernel checks the
 *   real one (RFC 9293 §3.1). So on send the two addresses are added to the TCP
 *   checksum field and on receive they are taken out again, by RFC 1624 (four 16-bit
 *   adds): a segment whose real checksum was wrong is still wrong afterwards and the
 *   endpoint drops and counts it as `bad-checksum`.
 * - Send: the IPv4 header (DF, TTL 64, an incrementing id) and the segment are built in
 *   one reused buffer and written with one `write(2)`, so there is no send queue.
 *   The largest segment is the MTU less 20, and the driver sizes the MSS to it.
 * - `impair` puts a seeded {@linkcode Impairment} (loss, delay, jitter, duplication,
 *   reordering) between the engine and the device on both directions: `tc netem`
 *   in user space, for kernels built without `sch_netem`; its queue is bounded.
 *
 * @module
 */
import {
  checksumAdd,
  checksumSub,
  encodeIpv4Header,
  IPV4_MIN_HEADER_BYTES,
  ipv4AddressSum,
  ipv4ToNumber,
  ipv4ToText,
  newIpv4Header,
  readIpv4,
} from "../src/wire/ipv4.ts";
import { IPPROTO_TCP, parseIp } from "../src/wire/checksum.ts";
import type { LinkConfig } from "../src/sim/netem.ts";
import { Impairment, type ImpairmentStats } from "./impairment.ts";
import {
  hostOf,
  newTransportStats,
  type Transport,
  type TransportSink,
  type TransportStats,
} from "./transport.ts";
import { ERRNO, TunDevice, TunError } from "./tun_device.ts";

export { TunError } from "./tun_device.ts";

/** Settings of {@linkcode TunTransport.open}. */
export interface TunOptions {
  /** Interface name (created if missing; default `"finwait0"`). */
  dev?: string;
  /** finwait's IPv4 address (default `"10.77.0.2"`). */
  address?: string;
  /**
   * The kernel's address on the interface and the subnet, `"10.77.0.1/24"` (the
   * prefix defaults to 24). Set on the interface, which is brought up, unless
   * `configure` is false. Must not be finwait's address.
   */
  peer?: string;
  /** Set the peer address and bring the interface up (default true). */
  configure?: boolean;
  /** Set the interface MTU (default: leave it; a new TUN interface has 1500). */
  mtu?: number;
  /** User-space impairment on both directions (seeded). */
  impair?: TunImpairment;
  /**
   * How received packets are noticed: `"poll"` (default) waits in `poll(2)` on a
   * blocking-pool thread; `"timer"` reads every `timerMs` (default 1) instead.
   */
  wake?: "poll" | "timer";
  timerMs?: number;
}

/** Impairment of both directions, as `tc netem` would apply it. */
export interface TunImpairment extends Partial<LinkConfig> {
  seed: number;
}

/** Why received packets were ignored. */
export interface TunIgnored {
  /** Not IPv4 (IPv6 router solicitations and the like). */
  notIpv4: number;
  /** Truncated, bad IHL or total length, or a bad header checksum. */
  badIpHeader: number;
  /** IPv4 but not TCP (ICMP, UDP). */
  notTcp: number;
  /** TCP for another address. */
  notForUs: number;
  /** A fragment (finwait sends DF and does not reassemble). */
  fragment: number;
}

/** The transport counters plus the TUN ones. */
export interface TunStats extends TransportStats {
  /** Packets read from the device, whatever they were. */
  packetsRead: number;
  /** Wake-ups that read at least one packet. */
  wakeups: number;
  /** The most packets one wake-up read. */
  maxBatch: number;
  ignored: TunIgnored;
}

const TCP_CHECKSUM_OFFSET = 16;
const READ_BUFFER = 65_536;
/** Packets read per wake-up before yielding to the event loop (the next poll returns at once). */
const MAX_BATCH = 4096;

/** `"10.77.0.1/24"` (prefix 24 when left out, 1 to 30) → address bytes and prefix. */
export function parsePeer(text: string): { ip: Uint8Array; prefix: number } | undefined {
  const slash = text.indexOf("/");
  const ipText = slash < 0 ? text : text.slice(0, slash);
  const prefixText = slash < 0 ? "24" : text.slice(slash + 1);
  const ip = ipText.includes(":") ? undefined : parseIp(ipText);
  if (!ip || !/^[0-9]{1,2}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix >= 1 && prefix <= 30 ? { ip, prefix } : undefined;
}

/** A {@linkcode Transport} over a TUN interface. */
export class TunTransport implements Transport {
  readonly localAddress: string;
  readonly maxDatagram: number;
  readonly stats: TunStats = {
    ...newTransportStats(),
    packetsRead: 0,
    wakeups: 0,
    maxBatch: 0,
    ignored: { notIpv4: 0, badIpHeader: 0, notTcp: 0, notForUs: 0, fragment: 0 },
  };
  /** The interface. */
  readonly device: TunDevice;
  /** The MTU the transport sizes packets by. */
  readonly mtu: number;
  #local: number;
  #sink: TransportSink | undefined;
  #closed = false;
  #loop: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #rbuf = new Uint8Array(READ_BUFFER);
  #wbuf: Uint8Array;
  #hdr = newIpv4Header();
  #id = 0;
  #wake: "poll" | "timer";
  #timerMs: number;
  /** Destination text → number (a few peers; bounded). */
  #dst = new Map<string, number>();
  /** Source number → text, for the last sources seen. */
  #srcNum = -1;
  #srcText = "";
  #impair: Impairment | undefined;

  /**
   * Opens (or creates) the interface and configures it. Throws a {@linkcode TunError}
   * with a one-line message (no FFI permission, no root or CAP_NET_ADMIN, no TUN
   * support, a bad name or address).
   */
  static open(opts: TunOptions = {}): TunTransport {
    const address = opts.address ?? "10.77.0.2";
    const local = ipv4ToNumber(address);
    if (local === undefined) {
      throw new TunError("failed", `Invalid address "${address}": expected IPv4 such as 10.77.0.2`);
    }
    const peer = opts.peer === undefined ? undefined : parsePeer(opts.peer);
    if (opts.peer !== undefined && !peer) {
      throw new TunError(
        "failed",
        `Invalid peer "${opts.peer}": expected IPv4 with an optional prefix such as 10.77.0.1/24`,
      );
    }
    if (peer && ipv4ToNumber(peer.ip.join(".")) === local) {
      throw new TunError(
        "failed",
        `Invalid peer "${opts.peer}": the kernel side needs another address than finwait's`,
      );
    }
    if (opts.mtu !== undefined && !(Number.isInteger(opts.mtu) && opts.mtu >= 576)) {
      throw new TunError("failed", `Invalid MTU ${opts.mtu}: at least 576`);
    }
    const device = TunDevice.open(opts.dev ?? "finwait0");
    try {
      if (opts.mtu !== undefined) device.setMtu(opts.mtu);
      if (peer && opts.configure !== false) {
        device.setAddress(peer.ip, peer.prefix);
        device.up();
      }
      return new TunTransport(device, local, device.mtu(), opts);
    } catch (e) {
      void device.close();
      throw e;
    }
  }

  private constructor(device: TunDevice, local: number, mtu: number, opts: TunOptions) {
    this.device = device;
    this.#local = local;
    this.localAddress = ipv4ToText(local);
    this.mtu = mtu;
    this.maxDatagram = mtu - IPV4_MIN_HEADER_BYTES;
    this.#wbuf = new Uint8Array(mtu);
    this.#wake = opts.wake ?? "poll";
    this.#timerMs = opts.timerMs ?? 1;
    if (opts.impair) {
      const { seed, ...link } = opts.impair;
      this.#impair = new Impairment(this.localAddress, seed, link);
    }
  }

  start(sink: TransportSink): void {
    if (this.#sink) throw new Error("TunTransport already started");
    this.#sink = sink;
    if (this.#wake === "timer") {
      this.#timer = setInterval(() => this.#drain(), this.#timerMs);
    } else {
      this.#loop = this.#pollLoop();
    }
  }

  async #pollLoop(): Promise<void> {
    while (!this.#closed) {
      const ok = await this.device.waitReadable();
      if (this.#closed) return;
      if (!ok) {
        // POLLERR/POLLHUP on the descriptor: the interface is gone (deleted under us).
        this.stats.errors++;
        return;
      }
      this.#drain();
    }
  }

  /** Reads until EAGAIN (or a batch limit); every packet is handled at once. */
  #drain(): void {
    const buf = this.#rbuf;
    let batch = 0;
    while (batch < MAX_BATCH && !this.#closed) {
      const n = this.device.read(buf);
      if (n < 0) {
        if (n !== -ERRNO.EAGAIN) this.stats.errors++;
        break;
      }
      batch++;
      this.#packet(n);
    }
    if (batch > 0) {
      this.stats.wakeups++;
      this.stats.packetsRead += batch;
      if (batch > this.stats.maxBatch) this.stats.maxBatch = batch;
    }
  }

  #packet(n: number): void {
    const b = this.#rbuf;
    const h = this.#hdr;
    const ig = this.stats.ignored;
    const failure = readIpv4(b, n, h);
    if (failure !== undefined) {
      if (failure === "not-ipv4") ig.notIpv4++;
      else ig.badIpHeader++;
      return;
    }
    if (h.protocol !== IPPROTO_TCP) {
      ig.notTcp++;
      return;
    }
    if (h.dst !== this.#local) {
      ig.notForUs++;
      return;
    }
    if (h.moreFragments || h.fragmentOffset !== 0) {
      ig.fragment++;
      return;
    }
    const off = h.headerLength;
    const len = h.totalLength - off;
    if (len > this.maxDatagram) {
      this.stats.oversize++;
      return;
    }
    if (len >= TCP_CHECKSUM_OFFSET + 2) {
      // Real pseudo header → zero addresses, for the driver's endpoint (module doc).
      const at = off + TCP_CHECKSUM_OFFSET;
      const c = checksumSub((b[at] << 8) | b[at + 1], ipv4AddressSum(h.src, h.dst));
      b[at] = c >>> 8;
      b[at + 1] = c & 0xff;
    }
    this.stats.datagramsIn++;
    this.stats.bytesIn += len;
    if (h.src !== this.#srcNum) {
      this.#srcNum = h.src;
      this.#srcText = ipv4ToText(h.src);
    }
    const segment = b.subarray(off, off + len);
    if (this.#impair) {
      // Stamped with the driver's time at the next poll (the transport has no clock).
      if (this.#impair.arrive(segment, this.#srcText)) this.#sink!.wake?.();
      return;
    }
    this.#sink!.datagram(segment, this.#srcText);
  }

  send(to: string, bytes: Uint8Array, now: number): boolean {
    if (this.#closed) return false;
    const n = bytes.length;
    let dst = this.#dst.get(to);
    if (dst === undefined) {
      dst = ipv4ToNumber(hostOf(to)) ?? ipv4ToNumber(to);
      if (dst === undefined) {
        this.stats.errors++;
        return false;
      }
      if (this.#dst.size >= 1024) this.#dst.clear();
      this.#dst.set(to, dst);
    }
    if (n > this.maxDatagram || n < TCP_CHECKSUM_OFFSET + 2) {
      this.stats.errors++;
      return false;
    }
    const w = this.#wbuf;
    this.#id = (this.#id + 1) & 0xffff;
    encodeIpv4Header(
      { src: this.#local, dst, protocol: IPPROTO_TCP, payloadLength: n, id: this.#id },
      w,
      0,
    );
    w.set(bytes, IPV4_MIN_HEADER_BYTES);
    // Zero-address pseudo header → the real one the kernel verifies.
    const at = IPV4_MIN_HEADER_BYTES + TCP_CHECKSUM_OFFSET;
    const c = checksumAdd((w[at] << 8) | w[at + 1], ipv4AddressSum(this.#local, dst));
    w[at] = c >>> 8;
    w[at + 1] = c & 0xff;
    const total = IPV4_MIN_HEADER_BYTES + n;
    if (this.#impair) return this.#impair.send(ipv4ToText(dst), w.subarray(0, total), now);
    return this.#write(w, total, n);
  }

  #write(packet: Uint8Array, total: number, segmentBytes: number): boolean {
    const r = this.device.write(packet, total);
    if (r < 0) {
      if (r === -ERRNO.EAGAIN) this.stats.sendQueueFull++;
      else this.stats.errors++;
      return false;
    }
    this.stats.datagramsOut++;
    this.stats.bytesOut += segmentBytes;
    return true;
  }

  nextDeadline(): number {
    return this.#impair ? this.#impair.nextDeadline() : Infinity;
  }

  poll(now: number): void {
    if (!this.#impair || this.#closed) return;
    this.#impair.poll(now, (bytes, from, to) => {
      if (this.#closed) return false;
      if (to === this.localAddress) this.#sink?.datagram(bytes, from);
      else this.#write(bytes, bytes.length, bytes.length - IPV4_MIN_HEADER_BYTES);
      return true;
    });
  }

  /** Counters of the user-space impairment, if any. */
  get impairment(): ImpairmentStats | undefined {
    return this.#impair?.stats;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.device.close();
    await this.#loop?.catch(() => {});
  }
}
