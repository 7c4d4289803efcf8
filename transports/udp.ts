/**
 * UDP encapsulation: one TCP segment per UDP datagram, over `Deno.listenDatagram`
 * (`"unstable": ["net"]` in deno.json). The framing and checksum rule are in the
 * README ("Two machines"): the datagram payload is the whole TCP segment, at most
 * `maxDatagram` (1232) bytes; the TCP checksum's pseudo header has zero addresses.
 *
 * - Receive: one loop, one reusable 64 KiB buffer; the driver copies only what it
 *   keeps (the endpoint copies payload into its receive buffer). Longer than
 *   `maxDatagram` is dropped and counted; so are receive errors (an ICMP port
 *   unreachable surfaces as one), which never stop the loop. The kernel's socket
 *   buffer bounds what can queue, so a flood never grows memory here.
 * - Send: every datagram is copied into a fixed ring of slots (the bytes the endpoint
 *   hands out are reused at its next input, and Deno may read a buffer after `send`
 *   returns); a token bucket paces the ring out, `burst` datagrams at once and then
 *   `ratePerMs`, and at most `maxInFlight` sends wait on the OS. A full ring drops
 *   the datagram (counted); TCP retransmits it.
 * - IPv4 and IPv6: bind `"::"` for both on one dual-stack socket (IPv4 peers then
 *   appear as plain IPv4 text), or `"0.0.0.0"`, `"127.0.0.1"`, `"::1"`, any address.
 *
 * @example
 * ```ts
 * import { UdpTransport } from "./udp.ts";
 *
 * const a = UdpTransport.bind({ hostname: "127.0.0.1", port: 0 });
 * const b = UdpTransport.bind({ hostname: "127.0.0.1", port: 0 });
 * const got = new Promise<string>((resolve) =>
 *   b.start({ datagram: (bytes, from) => resolve(`${bytes.length} from ${from}`) })
 * );
 * a.start({ datagram: () => {} });
 * a.send(b.localAddress, new Uint8Array(20), 0);
 * console.assert((await got) === `20 from ${a.localAddress}`);
 * await a.close();
 * await b.close();
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

/** Why a socket could not be opened, for one-line CLI errors. */
export type TransportErrorKind =
  | "bad-address"
  | "address-in-use"
  | "address-not-available"
  | "permission";

/** A socket could not be opened; `message` is one line for the user. */
export class TransportError extends Error {
  readonly kind: TransportErrorKind;
  constructor(kind: TransportErrorKind, message: string) {
    super(message);
    this.name = "TransportError";
    this.kind = kind;
  }
}

/** Settings of {@linkcode UdpTransport.bind}. */
export interface UdpOptions {
  /** Address to bind (default `"127.0.0.1"`; `"::"` for IPv4 and IPv6). */
  hostname?: string;
  /** UDP port (default 9811; 0 lets the OS pick). */
  port?: number;
  /** Largest datagram sent or accepted (default 1232). */
  maxDatagram?: number;
  /** Datagrams sent back to back before pacing applies (default 16). */
  burst?: number;
  /** Paced rate, datagrams per ms (default 50: 60 MB/s of 1232-byte datagrams). */
  ratePerMs?: number;
  /** Send ring size in datagrams (default 2048). */
  queue?: number;
  /** Sends outstanding in the OS at once (default 256). */
  maxInFlight?: number;
}

const RECEIVE_BUFFER = 65_536;

/** A {@linkcode Transport} over one UDP socket. */
export class UdpTransport implements Transport {
  readonly localAddress: string;
  readonly maxDatagram: number;
  readonly stats: TransportStats = newTransportStats();
  #conn: Deno.DatagramConn;
  #sink: TransportSink | undefined;
  #v6: boolean;
  #closed = false;
  #loop: Promise<void> | undefined;

  // Send ring: slots [head, next) wait on the OS, [next, tail) wait for pacing.
  #ring: Uint8Array;
  #len: Int32Array;
  #dst: Deno.NetAddr[];
  #done: Uint8Array;
  #doneFns: (() => void)[];
  #failFns: (() => void)[];
  #cap: number;
  #head = 0;
  #next = 0;
  #tail = 0;
  /** Slots in use: sent and not yet freed, plus queued. */
  #count = 0;
  /** Slots waiting for pacing, from `#next`. */
  #queued = 0;
  #inFlight = 0;
  #maxInFlight: number;
  #burst: number;
  #rate: number;
  #tokens: number;
  #tokensAt = -Infinity;
  #addrCache = new Map<string, Deno.NetAddr>();

  /** Opens a socket; throws a {@linkcode TransportError} with a one-line message. */
  static bind(opts: UdpOptions = {}): UdpTransport {
    const hostname = opts.hostname ?? "127.0.0.1";
    const port = opts.port ?? DEFAULT_UDP_PORT;
    const where = formatAddress(hostname, port);
    let conn: Deno.DatagramConn;
    try {
      conn = Deno.listenDatagram({ transport: "udp", hostname, port });
    } catch (e) {
      throw bindError(e, where);
    }
    return new UdpTransport(conn, opts);
  }

  private constructor(conn: Deno.DatagramConn, opts: UdpOptions) {
    this.#conn = conn;
    const addr = conn.addr as Deno.NetAddr;
    this.#v6 = addr.hostname.includes(":");
    this.localAddress = formatAddress(addr.hostname, addr.port);
    this.maxDatagram = opts.maxDatagram ?? DEFAULT_MAX_DATAGRAM;
    this.#cap = opts.queue ?? 2048;
    this.#ring = new Uint8Array(this.#cap * this.maxDatagram);
    this.#len = new Int32Array(this.#cap);
    this.#dst = new Array(this.#cap);
    this.#done = new Uint8Array(this.#cap);
    this.#doneFns = [];
    this.#failFns = [];
    for (let i = 0; i < this.#cap; i++) {
      this.#doneFns.push(() => this.#complete(i));
      this.#failFns.push(() => {
        this.stats.errors++;
        this.#complete(i);
      });
    }
    this.#maxInFlight = opts.maxInFlight ?? 256;
    this.#burst = opts.burst ?? 16;
    this.#rate = opts.ratePerMs ?? 50;
    this.#tokens = this.#burst;
  }

  start(sink: TransportSink): void {
    if (this.#loop) throw new Error("UdpTransport already started");
    this.#sink = sink;
    this.#loop = this.#receiveLoop(sink);
  }

  async #receiveLoop(sink: TransportSink): Promise<void> {
    const buf = new Uint8Array(RECEIVE_BUFFER);
    while (!this.#closed) {
      let bytes: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const r = await this.#conn.receive(buf);
        bytes = r[0];
        from = r[1] as Deno.NetAddr;
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        this.stats.errors++; // e.g. ECONNREFUSED after an ICMP port unreachable
        continue;
      }
      if (bytes.length > this.maxDatagram) {
        this.stats.oversize++;
        continue;
      }
      this.stats.datagramsIn++;
      this.stats.bytesIn += bytes.length;
      sink.datagram(bytes, formatAddress(from.hostname, from.port));
    }
  }

  send(to: string, bytes: Uint8Array, now: number): boolean {
    if (this.#closed) return false;
    const n = bytes.length;
    const dst = this.#address(to);
    if (n > this.maxDatagram || dst === undefined) {
      this.stats.errors++;
      return false;
    }
    if (this.#count === this.#cap) {
      this.stats.sendQueueFull++;
      return false;
    }
    const i = this.#tail;
    this.#ring.set(bytes, i * this.maxDatagram);
    this.#len[i] = n;
    this.#dst[i] = dst;
    this.#tail = i + 1 === this.#cap ? 0 : i + 1;
    this.#count++;
    this.#queued++;
    this.#flush(now);
    return true;
  }

  nextDeadline(): number {
    // Nothing queued, or the OS is busy: a completion flushes (or wakes the driver).
    if (this.#queued === 0 || this.#inFlight >= this.#maxInFlight) return Infinity;
    if (this.#tokens >= 1) return this.#tokensAt; // due now
    return this.#tokensAt + (1 - this.#tokens) / this.#rate;
  }

  poll(now: number): void {
    this.#flush(now);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#loop?.catch(() => {});
  }

  #flush(now: number): void {
    if (this.#closed) return;
    // Token bucket: `rate` per ms, at most `burst` banked.
    const elapsed = now - this.#tokensAt;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.#burst, this.#tokens + elapsed * this.#rate);
      this.#tokensAt = now;
    }
    const size = this.maxDatagram;
    while (this.#queued > 0 && this.#tokens >= 1 && this.#inFlight < this.#maxInFlight) {
      const i = this.#next;
      this.#next = i + 1 === this.#cap ? 0 : i + 1;
      this.#queued--;
      this.#tokens--;
      this.#inFlight++;
      const start = i * size;
      const n = this.#len[i];
      this.stats.datagramsOut++;
      this.stats.bytesOut += n;
      this.#conn.send(this.#ring.subarray(start, start + n), this.#dst[i])
        .then(this.#doneFns[i], this.#failFns[i]);
    }
  }

  #complete(i: number): void {
    this.#inFlight--;
    this.#done[i] = 1;
    // Free finished slots in ring order (sends may finish out of order): the sent,
    // unfreed slots are the `#count - #queued` from `#head`.
    while (this.#count > this.#queued && this.#done[this.#head] === 1) {
      this.#done[this.#head] = 0;
      this.#head = this.#head + 1 === this.#cap ? 0 : this.#head + 1;
      this.#count--;
    }
    if (this.#queued > 0 && !this.#closed) {
      this.#flush(this.#tokensAt);
      // Still waiting for tokens: the driver's timer must come back for them.
      if (this.#queued > 0 && this.#inFlight === 0) this.#sink?.wake?.();
    }
  }

  /** `"host:port"` → the socket address object, cached (bounded). */
  #address(to: string): Deno.NetAddr | undefined {
    const hit = this.#addrCache.get(to);
    if (hit !== undefined) return hit;
    const hp = parseHostPort(to);
    if (!hp) return undefined;
    // A dual-stack IPv6 socket reaches IPv4 peers at their IPv4-mapped address.
    const hostname = this.#v6 && !hp.host.includes(":") ? `::ffff:${hp.host}` : hp.host;
    const addr: Deno.NetAddr = { transport: "udp", hostname, port: hp.port };
    if (this.#addrCache.size >= 4096) this.#addrCache.clear();
    this.#addrCache.set(to, addr);
    return addr;
  }
}

function bindError(e: unknown, where: string): Error {
  if (e instanceof Deno.errors.AddrInUse) {
    return new TransportError("address-in-use", `Cannot listen: UDP ${where} is already in use`);
  }
  if (e instanceof Deno.errors.AddrNotAvailable) {
    return new TransportError(
      "address-not-available",
      `Cannot listen: ${where} is not an address of this machine`,
    );
  }
  if (e instanceof Deno.errors.PermissionDenied) {
    return new TransportError(
      "permission",
      `Cannot listen: permission denied for UDP ${where} (ports below 1024 need privileges)`,
    );
  }
  if (e instanceof Deno.errors.NotCapable) {
    return new TransportError(
      "permission",
      `Cannot listen: network access to ${where} not granted (run with --allow-net)`,
    );
  }
  const msg = e instanceof Error ? e.message : String(e);
  if (/invalid|lookup|resolve|parse/i.test(msg)) {
    return new TransportError("bad-address", `Cannot listen: invalid address ${where}`);
  }
  return e instanceof Error ? e : new Error(msg);
}
