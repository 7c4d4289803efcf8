/**
 * UDP encapsulation over a libc socket, through Deno FFI (`--allow-ffi`, Linux): the
 * same framing, datagram size, stats and errors as {@linkcode UdpTransport} (one TCP
 * segment per datagram, at most `maxDatagram` bytes, oversize and receive errors
 * dropped and counted), with cheaper operations. Use
 * {@linkcode UdpFfiTransport.available} to decide, and fall back to `UdpTransport`.
 *
 * - Send: one synchronous `sendto(2)` on a non-blocking socket, straight from the
 *   caller's bytes (the kernel copies them; nothing is kept). `EAGAIN` or `ENOBUFS`
 *   (the socket buffer is full) drops the datagram and counts it in `sendQueueFull`;
 *   TCP retransmits. Pacing is the same token bucket as `UdpTransport` (`burst`, then
 *   `ratePerMs`): a datagram beyond it is copied into a bounded ring and sent at the
 *   driver's next poll. The defaults are looser (64, then 200 per ms, against 16 and
 *   50): a paced datagram waits for a runtime timer, and with the tighter bucket 8
 *   parallel lifecycles on loopback ran ~15 % slower, bulk transfer ~40 % slower.
 * - Receive: synchronous non-blocking `recvfrom(2)` until `EAGAIN`, into one reused
 *   64 KiB buffer (the driver copies what it keeps), with a microtask turn between
 *   datagrams (see `#drain`). Only when a drain found the
 *   socket empty does the transport wait, with one `poll(2)` FFI call marked
 *   `nonblocking` (it runs on a thread of Deno's blocking pool; the event loop stays
 *   free); one such call at most is outstanding. The poll set holds the socket and an
 *   `eventfd`: {@linkcode UdpFfiTransport.close} writes the eventfd, so a pending poll
 *   returns at once and close completes promptly (no poll timeout, no periodic wake).
 * - After datagrams are sent, one more synchronous drain runs in a microtask, once
 *   the driver's drain is done (a reply over loopback may already be there), before
 *   going back to the poll: at most `retryDrains` of them per poll wake-up, so two
 *   endpoints in one process cannot starve the event loop with microtasks. Measured
 *   (8 parallel lifecycles, both ends in one process, before the per-datagram
 *   microtask turn below): ~10.7k lifecycles/s without, ~13.2k with one; two or
 *   more gave nothing more.
 * - Cost (measured, `bench/udp_bench.ts`, loopback, both ends in one process): ~165k
 *   raw datagrams/s through this transport against ~100k for `Deno.listenDatagram`;
 *   a bulk transfer ~105k segments/s (~58k over `UdpTransport`); 8 parallel
 *   lifecycles ~10k/s (~8.4k). The wake-up through the poll thread is the expensive
 *   part when the socket was idle.
 * - Addresses are IP literals (and `localhost`): `"127.0.0.1:9811"`, `"[::1]:9811"`.
 *   Bind `"::"` for IPv4 and IPv6 on one dual-stack socket (IPv4 peers appear as
 *   plain IPv4 text), as `UdpTransport` does. No user-space impairment here: use
 *   `UdpTransport` with `impair`.
 *
 * @example
 * ```ts
 * import { UdpFfiTransport } from "./udp_ffi.ts";
 *
 * if (UdpFfiTransport.available()) {
 *   const a = UdpFfiTransport.bind({ hostname: "127.0.0.1", port: 0 });
 *   const b = UdpFfiTransport.bind({ hostname: "127.0.0.1", port: 0 });
 *   const got = new Promise<string>((resolve) =>
 *     b.start({ datagram: (bytes, from) => resolve(`${bytes.length} from ${from}`) })
 *   );
 *   a.start({ datagram: () => {} });
 *   a.send(b.localAddress, new Uint8Array(20), 0);
 *   console.assert((await got) === `20 from ${a.localAddress}`);
 *   await a.close();
 *   await b.close();
 * }
 * ```
 *
 * @module
 */
import {
  DEFAULT_MAX_DATAGRAM,
  DEFAULT_UDP_PORT,
  formatAddress,
  newTransportStats,
  parseHostPort,
  type Transport,
  type TransportSink,
  type TransportStats,
} from "./transport.ts";
import { TransportError, type UdpOptions, UdpTransport } from "./udp.ts";
import { errno, type Libc, loadLibc, ReadableWaiter } from "./libc.ts";
import { formatIp, parseIp } from "../src/wire/checksum.ts";

/**
 * Settings of {@linkcode UdpFfiTransport.bind}: those of `UdpTransport` (hostname, an
 * IP literal or `localhost`; port; maxDatagram; queue: datagrams waiting for pacing,
 * beyond which they are dropped and counted), with looser pacing defaults (`burst`
 * 64, `ratePerMs` 200, Infinity for none) and no impairment, plus:
 */
export interface UdpFfiOptions extends Omit<UdpOptions, "maxInFlight" | "impair"> {
  /**
   * Synchronous drains after sends, per poll wake-up, before waiting again (default
   * 1; 0 disables them).
   */
  retryDrains?: number;
  /** Datagrams one drain takes at most before yielding to the event loop (default 256). */
  drainBatch?: number;
}

// <sys/socket.h>, <netinet/in.h>, <poll.h>, <errno.h>, <sys/eventfd.h> on Linux.
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const EINTR = 4;
const EAGAIN = 11;
const EACCES = 13;
const EPERM = 1;
const ENOBUFS = 105;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
const EAFNOSUPPORT = 97;
const SOCKADDR_IN = 16;
const SOCKADDR_IN6 = 28;
const RECEIVE_BUFFER = 65_536;
const RECEIVE_BUFFER_N = BigInt(RECEIVE_BUFFER);
/** `size_t` arguments are BigInts: made once for each datagram length. */
const LENGTHS: bigint[] = [];
/** Entries in each address cache (destinations; sources). */
const ADDRESS_CACHE = 4096;

let libcFailed = false;

/** libc, or undefined when it cannot be used here (not Linux, no FFI permission). */
function load(): Libc | undefined {
  if (libcFailed) return undefined;
  try {
    if (Deno.build.os !== "linux") throw new Error("not Linux");
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      throw new Error("no FFI permission");
    }
    return loadLibc();
  } catch {
    libcFailed = true;
    return undefined;
  }
}

/** A {@linkcode Transport} over one libc UDP socket. */
export class UdpFfiTransport implements Transport {
  readonly localAddress: string;
  readonly maxDatagram: number;
  readonly stats: TransportStats = newTransportStats();
  #c: Libc;
  #fd: number;
  #waiter: ReadableWaiter;
  #v6: boolean;
  #sink: TransportSink | undefined;
  #closed = false;
  #started = false;

  // Receive.
  #buf = new Uint8Array(RECEIVE_BUFFER);
  /** Views of `#buf` by length, made once each. */
  #views: (Uint8Array | undefined)[];
  #from = new Uint8Array(SOCKADDR_IN6);
  #fromView: DataView;
  #fromLen = new Uint8Array(4);
  #fromLenView: DataView;
  /** IPv4 sources: `ip * 65536 + port` → text. */
  #v4From = new Map<number, string>();
  /** IPv6 sources: port → the last address bytes seen there, and its text. */
  #v6From = new Map<number, { addr: Uint8Array; text: string }>();
  #drainBatch: number;

  // Waiting.
  #retryDrains: number;
  #retryBudget = 0;
  #retryScheduled = false;
  #draining = false;
  /** A datagram was sent since the current drain began. */
  #sent = false;

  // Send.
  /** Destination text → its sockaddr bytes (cached, bounded); null when unusable. */
  #dst = new Map<string, Uint8Array | null>();
  #burst: number;
  #rate: number;
  #tokens: number;
  #tokensAt = -Infinity;
  // Pacing ring: slots [head, head + queued) wait for tokens.
  #cap: number;
  #ring: Uint8Array;
  #ringLen: Int32Array;
  #ringDst: (Uint8Array | undefined)[];
  #ringViews: (Uint8Array | undefined)[];
  #head = 0;
  #queued = 0;

  /**
   * Whether this transport can be used here: Linux, FFI permission granted (without
   * prompting) and libc loadable. Otherwise use `UdpTransport`.
   */
  static available(): boolean {
    return load() !== undefined;
  }

  /** Opens a socket; throws a {@linkcode TransportError} with a one-line message. */
  static bind(opts: UdpFfiOptions = {}): UdpFfiTransport {
    const c = load();
    if (!c) {
      throw new TransportError(
        "permission",
        "Cannot use the FFI UDP transport: needs Linux and --allow-ffi",
      );
    }
    const hostname = opts.hostname ?? "127.0.0.1";
    const port = opts.port ?? DEFAULT_UDP_PORT;
    const where = formatAddress(hostname, port);
    const sa = Number.isInteger(port) && port >= 0 && port <= 65535
      ? sockaddr(hostname === "localhost" ? "127.0.0.1" : hostname, port, false)
      : undefined;
    if (!sa) throw new TransportError("bad-address", `Cannot listen: invalid address ${where}`);
    const v6 = sa.length === SOCKADDR_IN6;
    const fd = c.socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw new Error(`Cannot listen: socket() failed, errno ${errno()}`);
    if (v6) {
      // Dual-stack whatever the system default (net.ipv6.bindv6only), as Deno does.
      const off = new Uint8Array(4);
      c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, off, 4);
    }
    if (c.bind(fd, sa, sa.length) < 0) {
      const e = errno();
      c.close(fd);
      throw bindError(e, where);
    }
    const waiter = ReadableWaiter.create(c, fd);
    if (typeof waiter === "number") {
      c.close(fd);
      throw new Error(`Cannot listen: eventfd() failed, errno ${waiter}`);
    }
    return new UdpFfiTransport(c, fd, waiter, v6, opts);
  }

  private constructor(
    c: Libc,
    fd: number,
    waiter: ReadableWaiter,
    v6: boolean,
    opts: UdpFfiOptions,
  ) {
    this.#c = c;
    this.#fd = fd;
    this.#waiter = waiter;
    this.#v6 = v6;
    this.#fromView = new DataView(this.#from.buffer);
    this.#fromLenView = new DataView(this.#fromLen.buffer);
    // getsockname: the real port when bound to port 0.
    this.#fromLenView.setUint32(0, SOCKADDR_IN6, true);
    c.getsockname(fd, this.#from, this.#fromLen);
    this.localAddress = this.#sourceText() ?? "0.0.0.0:0";
    this.maxDatagram = opts.maxDatagram ?? DEFAULT_MAX_DATAGRAM;
    this.#views = new Array(this.maxDatagram + 1);
    this.#drainBatch = opts.drainBatch ?? 256;
    this.#retryDrains = opts.retryDrains ?? 1;
    this.#burst = opts.burst ?? 64;
    this.#rate = opts.ratePerMs ?? 200;
    this.#tokens = this.#burst;
    this.#cap = opts.queue ?? 2048;
    this.#ring = new Uint8Array(this.#cap * this.maxDatagram);
    this.#ringLen = new Int32Array(this.#cap);
    this.#ringDst = new Array(this.#cap);
    this.#ringViews = new Array(this.#cap);
  }

  start(sink: TransportSink): void {
    if (this.#started) throw new Error("UdpFfiTransport already started");
    this.#started = true;
    this.#sink = sink;
    if (this.#closed) return;
    this.#retryBudget = this.#retryDrains;
    this.#pump();
  }

  // ----------------------------------------------------------------- receive

  /**
   * Drains the socket, then waits: in a poll, or first in one more drain when this
   * one sent datagrams (`retryDrains`). One drain runs at a time.
   */
  async #pump(): Promise<void> {
    if (this.#draining || this.#closed) return; // the running drain waits when done
    this.#draining = true;
    this.#sent = false;
    try {
      await this.#drain();
    } finally {
      this.#draining = false;
    }
    if (this.#closed) return;
    if (this.#sent && this.#retryBudget > 0) {
      this.#retryBudget--;
      this.#retryScheduled = true;
      queueMicrotask(this.#retry);
    } else if (!this.#retryScheduled) this.#wait();
  }

  /**
   * Delivers what the socket holds, up to `drainBatch` datagrams. Between two
   * datagrams it lets queued microtasks run, as a receive op per datagram would: code
   * that reacts one microtask after an input (the UI's snapshots) sees each one.
   */
  async #drain(): Promise<void> {
    const sink = this.#sink;
    if (!sink) return;
    const c = this.#c;
    const fd = this.#fd;
    const buf = this.#buf;
    const from = this.#from;
    const fromLen = this.#fromLen;
    const lenView = this.#fromLenView;
    const stats = this.stats;
    const max = this.maxDatagram;
    for (let i = this.#drainBatch; i > 0 && !this.#closed; i--) {
      lenView.setUint32(0, SOCKADDR_IN6, true);
      const n = c.recvfrom(fd, buf, RECEIVE_BUFFER_N, 0, from, fromLen);
      if (n < 0) {
        const e = errno();
        if (e === EAGAIN) return;
        if (e !== EINTR) stats.errors++; // e.g. ECONNREFUSED after an ICMP unreachable
        continue;
      }
      if (n > max) {
        stats.oversize++;
        continue;
      }
      const text = this.#sourceText();
      if (text === undefined) {
        stats.errors++;
        continue;
      }
      stats.datagramsIn++;
      stats.bytesIn += n;
      const view = this.#views[n] ??= buf.subarray(0, n);
      sink.datagram(view, text);
      await undefined;
    }
  }

  /** One poll outstanding at most; it drains when the socket is readable. */
  #wait(): void {
    if (this.#closed || this.#waiter.waiting) return;
    this.#waiter.wait().then(this.#onPoll);
  }

  #onPoll = (): void => {
    if (this.#closed) return;
    this.#retryBudget = this.#retryDrains;
    this.#pump();
  };

  #retry = (): void => {
    this.#retryScheduled = false;
    this.#pump();
  };

  /**
   * The address text of the datagram source in `#from` (also used for getsockname),
   * cached: the same string object comes back for the same source.
   */
  #sourceText(): string | undefined {
    const v = this.#fromView;
    const family = v.getUint16(0, true);
    const port = v.getUint16(2, false);
    if (family === AF_INET) return this.#v4Text(v.getUint32(4, false), port);
    if (family !== AF_INET6) return undefined;
    const a = this.#from;
    // IPv4-mapped (::ffff:a.b.c.d): written as plain IPv4.
    if (
      v.getUint32(8) === 0 && v.getUint32(12) === 0 && v.getUint32(16, false) === 0xffff
    ) {
      return this.#v4Text(v.getUint32(20, false), port);
    }
    const hit = this.#v6From.get(port);
    if (hit !== undefined) {
      const h = hit.addr;
      let same = true;
      for (let i = 0; i < 16; i++) {
        if (h[i] !== a[8 + i]) {
          same = false;
          break;
        }
      }
      if (same) return hit.text;
    }
    const addr = a.slice(8, 24);
    const text = `[${formatIp(addr)}]:${port}`;
    if (this.#v6From.size >= ADDRESS_CACHE) this.#v6From.clear();
    this.#v6From.set(port, { addr, text });
    return text;
  }

  #v4Text(ip: number, port: number): string {
    const key = ip * 65536 + port;
    const hit = this.#v4From.get(key);
    if (hit !== undefined) return hit;
    const text = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}:${port}`;
    if (this.#v4From.size >= ADDRESS_CACHE) this.#v4From.clear();
    this.#v4From.set(key, text);
    return text;
  }

  // -------------------------------------------------------------------- send

  send(to: string, bytes: Uint8Array, now: number): boolean {
    if (this.#closed) return false;
    const n = bytes.length;
    let sa = this.#dst.get(to);
    if (sa === undefined) sa = this.#address(to);
    if (n > this.maxDatagram || sa === null) {
      this.stats.errors++;
      return false;
    }
    if (this.#rate === Infinity) return this.#sendto(sa, bytes, n); // not paced
    // Token bucket: `rate` per ms, at most `burst` banked.
    const elapsed = now - this.#tokensAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
      this.#tokensAt = now;
    }
    if (this.#queued > 0) this.#flush();
    if (this.#queued === 0 && this.#tokens >= 1) {
      this.#tokens--;
      return this.#sendto(sa, bytes, n);
    }
    if (this.#queued === this.#cap) {
      this.stats.sendQueueFull++;
      return false;
    }
    let i = this.#head + this.#queued;
    if (i >= this.#cap) i -= this.#cap;
    this.#ring.set(bytes, i * this.maxDatagram);
    this.#ringLen[i] = n;
    this.#ringDst[i] = sa;
    this.#queued++;
    if (this.#queued === 1) this.#sink?.wake?.();
    return true;
  }

  #sendto(sa: Uint8Array, bytes: Uint8Array, n: number): boolean {
    const c = this.#c;
    for (;;) {
      const r = c.sendto(this.#fd, bytes, LENGTHS[n] ??= BigInt(n), 0, sa, sa.length);
      if (r >= 0) break;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN || e === ENOBUFS) this.stats.sendQueueFull++;
      else this.stats.errors++;
      return false;
    }
    this.stats.datagramsOut++;
    this.stats.bytesOut += n;
    this.#sent = true;
    // A send outside a drain (a timer, a command): one drain after it, as well.
    if (!this.#draining && !this.#retryScheduled && this.#retryBudget > 0 && this.#started) {
      this.#retryBudget--;
      this.#retryScheduled = true;
      queueMicrotask(this.#retry);
    }
    return true;
  }

  /** Sends queued datagrams while tokens last. */
  #flush(): void {
    const size = this.maxDatagram;
    while (this.#queued > 0 && this.#tokens >= 1) {
      const i = this.#head;
      this.#head = i + 1 === this.#cap ? 0 : i + 1;
      this.#queued--;
      this.#tokens--;
      const n = this.#ringLen[i];
      let view = this.#ringViews[i];
      if (view === undefined || view.length !== n) {
        view = this.#ringViews[i] = this.#ring.subarray(i * size, i * size + n);
      }
      const sa = this.#ringDst[i]!;
      this.#ringDst[i] = undefined;
      this.#sendto(sa, view, n);
    }
  }

  /** `"host:port"` → its sockaddr (cached, bounded), or null when unusable. */
  #address(to: string): Uint8Array | null {
    const hp = parseHostPort(to);
    const host = hp?.host === "localhost" ? (this.#v6 ? "::1" : "127.0.0.1") : hp?.host;
    const sa = hp && host !== undefined ? sockaddr(host, hp.port, this.#v6) ?? null : null;
    // An IPv4 socket cannot reach an IPv6 peer.
    const usable = sa !== null && (this.#v6 || sa.length === SOCKADDR_IN) ? sa : null;
    if (this.#dst.size >= ADDRESS_CACHE) this.#dst.clear();
    this.#dst.set(to, usable);
    return usable;
  }

  nextDeadline(): number {
    if (this.#queued === 0) return Infinity;
    return this.#tokens >= 1 ? this.#tokensAt : this.#tokensAt + (1 - this.#tokens) / this.#rate;
  }

  poll(now: number): void {
    if (this.#closed || this.#queued === 0) return;
    const elapsed = now - this.#tokensAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
      this.#tokensAt = now;
    }
    this.#flush();
  }

  /** Wakes the pending poll (eventfd), waits for it, then closes both descriptors. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#waiter.close();
    this.#c.close(this.#fd);
  }
}

function bindError(e: number, where: string): TransportError | Error {
  if (e === EADDRINUSE) {
    return new TransportError("address-in-use", `Cannot listen: UDP ${where} is already in use`);
  }
  if (e === EADDRNOTAVAIL || e === EAFNOSUPPORT) {
    return new TransportError(
      "address-not-available",
      `Cannot listen: ${where} is not an address of this machine`,
    );
  }
  if (e === EACCES || e === EPERM) {
    return new TransportError(
      "permission",
      `Cannot listen: permission denied for UDP ${where} (ports below 1024 need privileges)`,
    );
  }
  return new Error(`Cannot listen: bind to UDP ${where} failed, errno ${e}`);
}

/**
 * The sockaddr of an IP literal and port: sockaddr_in (16 bytes) for IPv4, or
 * sockaddr_in6 (28) for IPv6 and, when `v6` (a dual-stack socket), for IPv4 too as
 * an IPv4-mapped address. Undefined when `host` is not an IP literal.
 */
export function sockaddr(host: string, port: number, v6: boolean): Uint8Array | undefined {
  const ip = parseIp(host);
  if (!ip) return undefined;
  const inet = ip.length === 4 && !v6;
  const sa = new Uint8Array(inet ? SOCKADDR_IN : SOCKADDR_IN6);
  const v = new DataView(sa.buffer);
  v.setUint16(0, inet ? AF_INET : AF_INET6, true);
  v.setUint16(2, port, false);
  if (inet) {
    sa.set(ip, 4);
  } else if (ip.length === 4) {
    // IPv4-mapped (::ffff:a.b.c.d) for a dual-stack socket.
    sa[18] = sa[19] = 0xff;
    sa.set(ip, 20);
  } else {
    sa.set(ip, 8);
  }
  return sa;
}

/**
 * The UDP transport `finwait listen/connect` use: {@linkcode UdpFfiTransport} when
 * {@linkcode UdpFfiTransport.available} and no user-space impairment is asked for,
 * else {@linkcode UdpTransport}. Throws a {@linkcode TransportError} as both do.
 */
export function bindUdp(
  opts: UdpOptions = {},
  io: "auto" | "deno" | "ffi" = "auto",
): UdpTransport | UdpFfiTransport {
  if (io === "ffi") {
    if (opts.impair !== undefined) {
      throw new TypeError("The user-space impairment runs on UdpTransport only, not over FFI");
    }
    if (!UdpFfiTransport.available()) {
      throw new TransportError(
        "permission",
        "Cannot bind: --io ffi needs Linux and --allow-ffi (deno task finwait grants it)",
      );
    }
  }
  if (io !== "deno" && opts.impair === undefined && UdpFfiTransport.available()) {
    return UdpFfiTransport.bind({
      hostname: opts.hostname,
      port: opts.port,
      maxDatagram: opts.maxDatagram,
    });
  }
  return UdpTransport.bind(opts);
}
