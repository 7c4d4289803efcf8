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
 *   the datagram (counted); TCP retransmits it. Sends are never awaited one by one:
 *   on an idle socket Deno's send op completes at once, and the completion only
 *   frees the slot.
 * - Cost (measured, `bench/udp_bench.ts`): a datagram costs one send op and one
 *   receive op, about 8 µs and 2–3 µs on loopback, kernel included. That is most of
 *   a lifecycle; what this file adds per datagram is a ring copy, a table lookup for
 *   the destination and one for the source text, all cached, no strings built.
 * - `impair` puts a seeded {@linkcode Impairment} (loss, delay) on both directions
 *   of this end, in user space: `tc netem` for kernels built without `sch_netem`, a
 *   test and teaching aid, not a model of a real path. Its queue is bounded
 *   (`queue` datagrams; beyond that a datagram is dropped and counted).
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
import { IMPAIR_QUEUE, Impairment, type ImpairmentStats } from "./impairment.ts";
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
  /** Seeded user-space loss and delay on both directions (see the module doc). */
  impair?: UdpImpairment;
}

/** User-space impairment of both directions of one UDP end, as `tc netem` would do. */
export interface UdpImpairment {
  /** Seed of every random decision: the same seed drops the same datagrams. */
  seed: number;
  /** Probability in [0, 1] that a datagram is dropped, each direction. */
  loss?: number;
  /** One-way delay in ms added to each direction. */
  delay?: number;
  /**
   * Datagrams held back at most, both directions together (default
   * {@linkcode IMPAIR_QUEUE}); beyond that they are dropped and counted, so a flood
   * cannot grow the queue without bound.
   */
  queue?: number;
}

/** What the user-space impairment did so far. */
export type UdpImpairmentStats = ImpairmentStats;

const RECEIVE_BUFFER = 65_536;
/** Entries in each address cache (destinations; sources by port). */
const ADDRESS_CACHE = 4096;
export { IMPAIR_QUEUE };

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
  /** Per slot, the last view handed to `send` (reused when the length repeats). */
  #views: (Uint8Array | undefined)[];
  #addrCache = new Map<string, Deno.NetAddr>();
  #fromCache = new Map<number, { hostname: string; text: string }>();
  #impair: Impairment | undefined;

  /** Opens a socket; throws a {@linkcode TransportError} with a one-line message. */
  static bind(opts: UdpOptions = {}): UdpTransport {
    const hostname = opts.hostname ?? "127.0.0.1";
    const port = opts.port ?? DEFAULT_UDP_PORT;
    const where = formatAddress(hostname, port);
    if (opts.impair) checkImpairment(opts.impair); // before the socket exists
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
    this.#views = new Array(this.#cap);
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
    if (opts.impair) {
      const { seed, loss = 0, delay = 0, queue = IMPAIR_QUEUE } = opts.impair;
      this.#impair = new Impairment(this.localAddress, seed, { loss, delay }, queue);
    }
  }

  /** Counters of the user-space impairment; undefined without one. */
  get impairment(): UdpImpairmentStats | undefined {
    return this.#impair?.stats;
  }

  start(sink: TransportSink): void {
    if (this.#loop) throw new Error("UdpTransport already started");
    this.#sink = sink;
    this.#loop = this.#receiveLoop(sink);
  }

  async #receiveLoop(sink: TransportSink): Promise<void> {
    const buf = new Uint8Array(RECEIVE_BUFFER);
    const conn = this.#conn;
    const stats = this.stats;
    const max = this.maxDatagram;
    while (!this.#closed) {
      let bytes: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const r = await conn.receive(buf);
        bytes = r[0];
        from = r[1] as Deno.NetAddr;
      } catch (e) {
        if (this.#closed || e instanceof Deno.errors.BadResource) return;
        stats.errors++; // e.g. ECONNREFUSED after an ICMP port unreachable
        continue;
      }
      if (bytes.length > max) {
        stats.oversize++;
        continue;
      }
      stats.datagramsIn++;
      stats.bytesIn += bytes.length;
      const text = this.#sourceText(from.hostname, from.port);
      if (!this.#impair) sink.datagram(bytes, text);
      // Impaired, it enters at the driver's next poll (the transport has no clock).
      else if (this.#impair.arrive(bytes, text)) sink.wake?.();
    }
  }

  /**
   * The address text of a datagram's source. Peers send many datagrams each, so the
   * text is cached by port (one entry per port, checked against the host): the same
   * string object comes back every time, which saves building it and lets the
   * driver's table lookups reuse its cached hash. Bounded like the send cache.
   */
  #sourceText(hostname: string, port: number): string {
    const hit = this.#fromCache.get(port);
    if (hit !== undefined && hit.hostname === hostname) return hit.text;
    const text = formatAddress(hostname, port);
    if (this.#fromCache.size >= ADDRESS_CACHE) this.#fromCache.clear();
    this.#fromCache.set(port, { hostname, text });
    return text;
  }

  send(to: string, bytes: Uint8Array, now: number): boolean {
    if (this.#closed) return false;
    const n = bytes.length;
    const dst = this.#address(to);
    if (n > this.maxDatagram || dst === undefined) {
      this.stats.errors++;
      return false;
    }
    if (this.#impair) return this.#impair.send(to, bytes, now); // copies
    return this.#enqueue(dst, bytes, now);
  }

  /** Copies one datagram into the ring and sends what pacing allows. */
  #enqueue(dst: Deno.NetAddr, bytes: Uint8Array, now: number): boolean {
    const n = bytes.length;
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
    let at = Infinity;
    // Nothing queued, or the OS is busy: a completion flushes (or wakes the driver).
    if (this.#queued > 0 && this.#inFlight < this.#maxInFlight) {
      at = this.#tokens >= 1 ? this.#tokensAt : this.#tokensAt + (1 - this.#tokens) / this.#rate;
    }
    if (this.#impair) at = Math.min(at, this.#impair.nextDeadline());
    return at;
  }

  poll(now: number): void {
    if (this.#impair && !this.#closed) {
      this.#impair.poll(now, (bytes, from, to) => {
        if (this.#closed) return false;
        if (to === this.localAddress) {
          this.#sink?.datagram(bytes, from);
        } else {
          const dst = this.#address(to);
          if (dst !== undefined) this.#enqueue(dst, bytes, now);
        }
        return true;
      });
      if (this.#closed) return;
    }
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
      const n = this.#len[i];
      // Most datagrams of a connection have one of a few lengths (pure ACKs, full
      // segments): the slot's last view is usually the right one, saving an object.
      let view = this.#views[i];
      if (view === undefined || view.length !== n) {
        const start = i * size;
        view = this.#views[i] = this.#ring.subarray(start, start + n);
      }
      this.stats.datagramsOut++;
      this.stats.bytesOut += n;
      this.#conn.send(view, this.#dst[i]).then(this.#doneFns[i], this.#failFns[i]);
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
    if (this.#addrCache.size >= ADDRESS_CACHE) this.#addrCache.clear();
    this.#addrCache.set(to, addr);
    return addr;
  }
}

function checkImpairment(i: UdpImpairment): void {
  const { loss = 0, delay = 0, queue = IMPAIR_QUEUE } = i;
  if (
    !Number.isSafeInteger(i.seed) || !(loss >= 0 && loss <= 1) ||
    !(delay >= 0 && delay < Infinity) || !(Number.isInteger(queue) && queue > 0)
  ) {
    throw new RangeError(
      `Invalid impairment: seed ${i.seed}, loss ${loss}, delay ${delay} ms, queue ${queue}`,
    );
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
