/**
 * One interface for every datagram backend (the in-memory simulated network, UDP, a
 * TUN device later). A transport moves datagrams and nothing else: no protocol logic,
 * no clock. The driver (`driver.ts`) owns the clock and the endpoint, passes `now` in,
 * and calls {@linkcode Transport.poll} when {@linkcode Transport.nextDeadline} comes.
 *
 * Addresses are text: `"127.0.0.1:9811"` for IPv4, `"[::1]:9811"` for IPv6 (see
 * {@linkcode formatAddress}). The same peer always has the same text, so a transport
 * address can key a table.
 *
 * @module
 */

/** Where a transport delivers what it receives. */
export interface TransportSink {
  /**
   * One datagram from `from`. `bytes` is only valid during the call: the transport
   * reuses its buffer; copy what you keep.
   */
  datagram(bytes: Uint8Array, from: string): void;
  /** The transport's {@linkcode Transport.nextDeadline} moved earlier: re-arm the timer. */
  wake?(): void;
}

/** Counters every transport keeps. */
export interface TransportStats {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Received datagrams longer than `maxDatagram`, dropped. */
  oversize: number;
  /** Datagrams dropped because the send queue was full. */
  sendQueueFull: number;
  /** Sends or receives the operating system refused (counted, never thrown). */
  errors: number;
}

/** A datagram backend. */
export interface Transport {
  /** Our own address, e.g. `"127.0.0.1:9811"` (the real port when bound to port 0). */
  readonly localAddress: string;
  /** Largest datagram sent or accepted, bytes. */
  readonly maxDatagram: number;
  readonly stats: TransportStats;
  /**
   * Sends one datagram to `to` at driver time `now` (ms). The transport copies
   * `bytes` before returning if it keeps them (a send queue, pacing). Returns false
   * when the datagram was dropped (queue full, bad address); it is counted then.
   */
  send(to: string, bytes: Uint8Array, now: number): boolean;
  /** Starts delivering received datagrams to `sink`. Called once. */
  start(sink: TransportSink): void;
  /**
   * The driver time at which {@linkcode Transport.poll} must run (queued sends waiting
   * for pacing, simulated datagrams in flight); Infinity when nothing waits.
   */
  nextDeadline(): number;
  /** Does what is due at `now`: sends paced datagrams, delivers simulated ones. */
  poll(now: number): void;
  /** Stops receiving and frees the socket. Idempotent. */
  close(): Promise<void>;
}

/** Fresh zeroed {@linkcode TransportStats}. */
export function newTransportStats(): TransportStats {
  return {
    datagramsIn: 0,
    datagramsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    oversize: 0,
    sendQueueFull: 0,
    errors: 0,
  };
}

/**
 * Largest datagram by default: the IPv6 minimum MTU (1280) less the IPv6 (40) and UDP
 * (8) headers, so no IP fragmentation on any path (REFERENCE.md, UDP encapsulation).
 */
export const DEFAULT_MAX_DATAGRAM = 1232;

/** The UDP port finwait uses unless told otherwise (FreeBSD's TCP-over-UDP test port). */
export const DEFAULT_UDP_PORT = 9811;

/** A host (IP text, no brackets) and a port. */
export interface HostPort {
  host: string;
  port: number;
}

/** `"1.2.3.4:80"`, `"[::1]:80"`; an IPv4-mapped IPv6 host is written as IPv4. */
export function formatAddress(host: string, port: number): string {
  const h = host.startsWith("::ffff:") && host.includes(".") ? host.slice(7) : host;
  return h.includes(":") ? `[${h}]:${port}` : `${h}:${port}`;
}

/**
 * Parses `"host:port"` or `"[v6]:port"` (a bare host takes `defaultPort`); the host
 * is left as written (a name or an IP). Returns undefined for malformed text.
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort | undefined {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) return undefined;
    host = text.slice(1, end);
    const rest = text.slice(end + 1);
    if (rest !== "" && !rest.startsWith(":")) return undefined;
    portText = rest === "" ? undefined : rest.slice(1);
  } else {
    const colons = text.split(":").length - 1;
    if (colons > 1) {
      host = text; // bare IPv6 without a port
    } else if (colons === 1) {
      const i = text.indexOf(":");
      host = text.slice(0, i);
      portText = text.slice(i + 1);
    } else {
      host = text;
    }
  }
  if (host === "") return undefined;
  let port = defaultPort;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
  }
  if (port === undefined || port > 65535) return undefined;
  return { host, port };
}

/** The host part of an address text (`"[::1]:80"` → `"::1"`). */
export function hostOf(address: string): string {
  if (address.startsWith("[")) return address.slice(1, address.indexOf("]"));
  const i = address.lastIndexOf(":");
  return i < 0 ? address : address.slice(0, i);
}
