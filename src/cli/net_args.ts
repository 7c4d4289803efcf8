/**
 * What `listen` and `connect` share: address and size parsing, name resolution, the
 * per-connection record behind the line output, and the line format itself (text or
 * JSON). The run functions take an `onLine` callback, so a terminal UI can take the
 * same stream (and `onDriver` hands it the driver for the raw engine events).
 *
 * @module
 */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { intArg, lossArg, numberArg } from "./args.ts";
import { UsageError } from "./trace_cmd.ts";
import { parseIp } from "../wire/checksum.ts";
import type { Cause, State } from "../tcb/state.ts";
import type { CloseReason, ConnectionCounters, ConnId } from "../tcb/events.ts";
import { DEFAULT_UDP_PORT, formatAddress, parseHostPort } from "../../transports/transport.ts";
import { Sha256 } from "./digest.ts";
import type { Driver } from "../../transports/driver.ts";
import type { UdpImpairment } from "../../transports/udp.ts";
import { PcapWriteError, type PcapWriter } from "../trace/pcap.ts";
import { openPcapFile, type PcapFile } from "./pcap_file.ts";

/** An IP address (text, no brackets) and a UDP port. */
export interface IpPort {
  ip: string;
  port: number;
}

/** Thrown for a bad address; main prints the message alone. */
export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AddressError";
  }
}

/**
 * Parses `--bind`: `IP:PORT`, `[IPv6]:PORT`, a bare IP (port 9811) or `localhost`.
 * Names other than localhost are refused: a server binds to addresses it owns.
 */
export function bindArg(v: string): IpPort {
  const hp = parseHostPort(v, DEFAULT_UDP_PORT);
  const ip = hp && (hp.host === "localhost" ? "127.0.0.1" : hp.host);
  if (!hp || !ip || !parseIp(ip)) {
    throw new InvalidArgumentError(
      `Invalid address "${v}": expected IP:PORT such as 127.0.0.1:9811, [::1]:9811 or 0.0.0.0:9811`,
    );
  }
  return { ip, port: hp.port };
}

/** Parses `HOST:PORT` (a name is resolved later); the port defaults to 9811. */
export function targetArg(v: string): { host: string; port: number } {
  const hp = parseHostPort(v, DEFAULT_UDP_PORT);
  if (!hp || hp.port === 0 || /\s/.test(hp.host)) {
    throw new InvalidArgumentError(
      `Invalid address "${v}": expected HOST:PORT such as 192.0.2.7:9811 or [2001:db8::7]:9811`,
    );
  }
  return hp;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1000,
  kb: 1000,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 * 1024,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Parses a byte count: `65536`, `64KiB`, `1MiB`, `1.5MB`. */
export function sizeArg(name: string) {
  return (v: string): number => {
    const m = /^([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)$/.exec(v.trim());
    const unit = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
    const n = m && unit !== undefined ? Math.round(Number(m[1]) * unit) : NaN;
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new InvalidArgumentError(`${name} must be a byte count such as 65536, 64KiB or 1MiB`);
    }
    return n;
  };
}

/** Resolves a host name to an IP: literals as they are, `localhost`, else DNS (A, then AAAA). */
export async function resolveHost(host: string): Promise<string> {
  if (parseIp(host)) return host;
  if (host === "localhost") return "127.0.0.1";
  for (const type of ["A", "AAAA"] as const) {
    try {
      const r = await Deno.resolveDns(host, type);
      if (r.length > 0) return r[0];
    } catch {
      // try the next record type
    }
  }
  throw new AddressError(`Cannot connect: cannot resolve host "${host}"`);
}

/** Whether `ip` is a loopback address. */
export function isLoopback(ip: string): boolean {
  return ip === "::1" || ip.startsWith("127.");
}

/** One line of `listen` / `connect` output, as JSON objects (`--json`) or text. */
export type NetLine =
  | {
    type: "listening";
    t: number;
    address: string;
    tcpPort: number;
    mode: "sink" | "echo";
    mslSeconds: number;
  }
  | { type: "connecting"; t: number; from: string; to: string; connections: number }
  | {
    type: "state";
    t: number;
    conn: ConnId;
    peer: string;
    from: State;
    to: State;
    cause: Cause;
    bytesIn: number;
    bytesOut: number;
  }
  | {
    type: "closed";
    t: number;
    conn: ConnId;
    peer: string;
    reason: CloseReason;
    bytesIn: number;
    sha256In: string;
    bytesOut: number;
    bytesAcked: number;
    sha256Out: string;
    segmentsOut: number;
    retransmissions: number;
  }
  | { type: "note"; t: number; text: string }
  | {
    type: "summary";
    t: number;
    connections: number;
    closed: Record<string, number>;
    bytesIn: number;
    bytesOut: number;
    bytesAcked: number;
    segmentsIn: number;
    segmentsOut: number;
    retransmissions: number;
    rstsIn: number;
    rstsOut: number;
    dropped: Record<string, number>;
  };

/**
 * What the terminal UI may ask of a running `listen` or `connect` beyond the driver's
 * own commands (close, shutdown, abort go straight to the driver).
 */
export interface NetControl {
  /**
   * Writes `data` on `conn` as the command's own writes go: counted in the bytes out
   * and the digest of the `closed` line. Returns the bytes the send buffer took.
   */
  write(conn: ConnId, data: Uint8Array): number;
  /** Opens one more connection that sends and closes like the others (`connect` only). */
  open?(): ConnId;
}

/** Hooks of `runListen`, `runConnect` and `runTun` (the terminal UI passes them all). */
export interface NetHooks {
  onLine(line: NetLine): void;
  /**
   * The driver, once the socket is open (for the UI: raw events, commands), and the
   * command's own write (counted in the `closed` line) and open (`connect`).
   */
  onDriver?(driver: Driver, control: NetControl): void;
  /** Stops the command: open connections are aborted, the summary printed. */
  signal?: AbortSignal;
  /** Events the driver queues: `"all"` adds one per segment (the UI's diagram). */
  events?: "all" | "lifecycle";
  /**
   * `connect`: once every connection has closed, keep running until `signal` aborts
   * (the UI: the user may open more with `control.open`, and quits when done).
   */
  waitForSignal?: boolean;
}

/** Settings `listen` and `connect` share. */
export interface UdpRunSettings {
  /** Maximum segment lifetime in seconds (TIME-WAIT lasts 2·MSL). */
  msl: number;
  /** Write every segment into this pcap file as it happens (see `capturePackets`). */
  pcap?: PcapFile;
  /** Seeded user-space loss and delay on both directions (`--loss`, `--delay`). */
  impair?: UdpImpairment;
  /** Which UDP sockets (`--io`). */
  io?: UdpIo;
}

/** What the CLI tracks per connection. */
export class ConnRecord {
  readonly id: ConnId;
  readonly peer: string;
  bytesIn = 0;
  bytesOut = 0;
  bytesAcked = 0;
  segmentsIn = 0;
  segmentsOut = 0;
  retransmissions = 0;
  state: State = "CLOSED";
  reason: CloseReason | undefined;
  readonly digestIn = new Sha256();
  readonly digestOut = new Sha256();
  /** Bytes taken from the peer and not yet echoed (echo mode). */
  pending: Uint8Array | undefined;
  closing = false;

  constructor(id: ConnId, peer: string) {
    this.id = id;
    this.peer = peer;
  }

  /** Counts `n` bytes of `data` taken by the send buffer. */
  wrote(data: Uint8Array, n: number): void {
    this.bytesOut += n;
    this.digestOut.update(data.subarray(0, n));
  }

  /** Counts `data` read from the connection. */
  read(data: Uint8Array): void {
    this.bytesIn += data.length;
    this.digestIn.update(data);
  }

  /** Copies the TCB's counters (segments, bytes acknowledged, retransmissions). */
  takeCounters(k: ConnectionCounters): void {
    this.segmentsIn = k.segmentsIn;
    this.bytesAcked = k.bytesAcked;
    this.segmentsOut = k.segmentsOut;
    this.retransmissions = k.retransmissions;
  }

  /** The `state` line of a transition of this connection. */
  stateLine(t: number, ev: { from: State; to: State; cause: Cause }): NetLine {
    return {
      type: "state",
      t,
      conn: this.id,
      peer: this.peer,
      from: ev.from,
      to: ev.to,
      cause: ev.cause,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }

  /** The `closed` line for this connection. */
  closedLine(t: number): NetLine {
    return {
      type: "closed",
      t,
      conn: this.id,
      peer: this.peer,
      reason: this.reason ?? "normal",
      bytesIn: this.bytesIn,
      sha256In: this.digestIn.hex(),
      bytesOut: this.bytesOut,
      bytesAcked: this.bytesAcked,
      sha256Out: this.digestOut.hex(),
      segmentsOut: this.segmentsOut,
      retransmissions: this.retransmissions,
    };
  }
}

/**
 * The command's own write of {@linkcode NetControl}: sends on the driver and counts
 * what the send buffer took in the connection's record, if it has one.
 */
export function recordedWrite(
  driver: Driver,
  records: ReadonlyMap<ConnId, ConnRecord>,
): NetControl["write"] {
  return (id, data) => {
    const n = driver.send(id, data);
    records.get(id)?.wrote(data, n);
    return n;
  };
}

/** One line of text for `line` (the human format; `--json` prints the object). */
export function formatLine(line: NetLine): string {
  const t = line.t.toFixed(3).padStart(8);
  switch (line.type) {
    case "listening":
      return `${t} listening on udp ${line.address} (TCP port ${line.tcpPort}), ` +
        `${line.mode} mode, MSL ${line.mslSeconds} s`;
    case "connecting":
      return `${t} connecting from udp ${line.from} to ${line.to}` +
        (line.connections > 1 ? ` (${line.connections} connections)` : "");
    case "state":
      return `${t} #${line.conn} ${line.peer}  ${line.from} → ${line.to} (${line.cause})`.padEnd(
        72,
      ) + `  in ${line.bytesIn} B, out ${line.bytesOut} B`;
    case "closed":
      return `${t} #${line.conn} ${line.peer}  closed (${line.reason}): ` +
        `received ${line.bytesIn} B sha256 ${line.sha256In}; ` +
        `sent ${line.bytesOut} B (${line.bytesAcked} acknowledged) sha256 ${line.sha256Out}; ` +
        `${line.segmentsOut} segments, ${line.retransmissions} retransmitted`;
    case "note":
      return `${t} ${line.text}`;
    case "summary": {
      const closed = Object.entries(line.closed).map(([k, v]) => `${v} ${k}`).join(", ") ||
        "none";
      const dropped = Object.entries(line.dropped).map(([k, v]) => `${v} ${k}`).join(", ");
      return `${t} summary: ${line.connections} connection(s), closed ${closed}; ` +
        `received ${line.bytesIn} B, sent ${line.bytesOut} B (${line.bytesAcked} acknowledged); ` +
        `segments ${line.segmentsOut} out, ${line.segmentsIn} in; ` +
        `${line.retransmissions} retransmissions; RSTs ${line.rstsOut} out, ${line.rstsIn} in` +
        (dropped ? `; dropped ${dropped}` : "");
    }
  }
}

/** Prints lines as text or JSON through `out`. */
export function lineWriter(json: boolean, out: (s: string) => void): (line: NetLine) => void {
  return json ? (l) => out(JSON.stringify(l)) : (l) => out(formatLine(l));
}

/** `"127.0.0.1:9811"` from an {@linkcode IpPort}. */
export function ipPortText(a: IpPort): string {
  return formatAddress(a.ip, a.port);
}

/** Non-zero counters of a record of counters. */
export function nonZero(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v > 0));
}

/** `--pcap FILE` of `listen` and `connect` (a fresh Option per command). */
export function pcapOption() {
  return new Option("--pcap <file>", "write every segment sent or received, for Wireshark");
}

/** `--pcap-encap ip|udp`: synthetic IPv4/TCP (default) or the real IP/UDP/TCP. */
export function pcapEncapOption() {
  return new Option(
    "--pcap-encap <framing>",
    "pcap framing: synthetic IPv4/TCP, or IP/UDP/TCP with the real UDP addresses",
  ).choices(["ip", "udp"] as const).default("ip" as const);
}

/** `--no-tui` and `--json` of the net commands (fresh Options per command). */
export function outputOptions() {
  return [
    new Option("--no-tui", "one line per event instead of the terminal UI"),
    new Option("--json", "one JSON object per line").default(false),
  ] as const;
}

/** `--sink`, `--echo` and `--close-after-bytes` of `listen` and `tun listen` (fresh Options). */
export function sinkEchoOptions() {
  return [
    new Option("--sink", "read everything; close when the peer closes (default)"),
    new Option("--echo", "write back everything read").conflicts("sink"),
    new Option(
      "--close-after-bytes <n>",
      "close our side first once n bytes came in (then we wait in TIME-WAIT)",
    ).argParser(sizeArg("--close-after-bytes")),
  ] as const;
}

/** `--connections` of `connect` and `tun connect` (a fresh Option per command). */
export function connectionsOption() {
  return new Option("--connections <n>", "connections opened at once")
    .argParser(intArg("--connections", 1, 10_000))
    .default(1);
}

/** `--timeout` of `connect` and `tun connect` (a fresh Option per command). */
export function timeoutOption() {
  return new Option("--timeout <seconds>", "abort whatever is still open after this long")
    .argParser(numberArg("timeout", 0.001, 86_400));
}

/** Local address of `--pcap-encap ip` captures (as `finwait trace` writes A). */
const PCAP_LOCAL = "10.0.0.1";

/**
 * Writes every segment `driver` sends or receives into `writer` as it happens (the
 * driver must be created with `events: "all"`): at the wall-clock time, between the
 * real UDP addresses (`"udp"` encapsulation) or synthetic IPv4 ones (`"ip"`: this
 * side 10.0.0.1, peers 10.0.0.2 and up in order of appearance). Payload views are
 * only valid in the callback, so the packet is written there. A disk error stops
 * the capture; `PcapFile.close()` then reports it. Returns the detach function.
 */
export function capturePackets(driver: Driver, writer: PcapWriter): () => void {
  const offset = Date.now() - driver.now();
  const udp = writer.encapsulation === "udp";
  const local = udp ? driver.transport.localAddress : PCAP_LOCAL;
  const unknown = udp ? (local.startsWith("[") ? "[::]:0" : "0.0.0.0:0") : "?";
  const synthetic = new Map<string, string>();
  const peerOf = (conn: ConnId | undefined): string => {
    const real = (conn === undefined ? undefined : driver.peerOf(conn)) ?? unknown;
    if (udp) return real;
    let s = synthetic.get(real);
    if (s === undefined) {
      const n = 0x0a000002 + synthetic.size;
      s = `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
      synthetic.set(real, s);
    }
    return s;
  };
  let failed = false;
  return driver.onEvent((ev) => {
    if (failed || (ev.type !== "segment-sent" && ev.type !== "segment-received")) return;
    const peer = peerOf(ev.conn);
    const sent = ev.type === "segment-sent";
    try {
      writer.writeSegment({
        at: offset + ev.now,
        src: sent ? local : peer,
        dst: sent ? peer : local,
        segment: ev.segment,
      });
    } catch (e) {
      if (e instanceof PcapWriteError) failed = true; // close() reports it
      else if (!(e instanceof RangeError)) throw e; // RangeError: an address pcap cannot hold
    }
  });
}

/**
 * Runs `run` with the pcap file `path` open (none without a path), then closes it
 * and prints `pcap: N packets written to "FILE"`; a write error throws its one line.
 */
export async function withPcapFile<T>(
  path: string | undefined,
  encap: "ip" | "udp",
  out: (line: string) => void,
  run: (file: PcapFile | undefined) => Promise<T>,
): Promise<T> {
  const file = path === undefined ? undefined : openPcapFile(path, { encapsulation: encap });
  let result: T;
  try {
    result = await run(file);
  } catch (e) {
    try {
      file?.close();
    } catch { /* the run's own error comes first */ }
    throw e;
  }
  if (file) {
    file.close();
    out(`pcap: ${file.writer.packets} packets written to "${file.path}"`);
  }
  return result;
}

/**
 * `--loss`, `--delay` and `--seed` of `listen` and `connect` (fresh Options per
 * command): seeded user-space impairment of both directions of this end, for a
 * kernel without `tc netem` (a test and teaching aid; `tc netem` is the real thing).
 */
export function impairOptions() {
  return [
    new Option("--loss <p>", "user-space loss on both directions (0.01 or 1%)").argParser(lossArg),
    new Option("--delay <ms>", "user-space one-way delay on both directions").argParser(
      numberArg("delay", 0, 60_000),
    ),
    new Option("--seed <n>", "seed of the user-space loss").argParser(
      intArg("seed", 0, 2 ** 32 - 1),
    ).default(1),
  ] as const;
}

/** Which UDP sockets `listen` and `connect` use: see {@linkcode ioOption}. */
export type UdpIo = "auto" | "deno" | "ffi";

/**
 * `--io`: `ffi` (libc sockets through Deno FFI, Linux: synchronous sendto/recvfrom,
 * about twice the datagram rate), `deno` (`Deno.listenDatagram`), or `auto` (ffi
 * when FFI is permitted on Linux and no impairment is asked for, else deno).
 */
export function ioOption() {
  return new Option("--io <kind>", "UDP sockets: auto, deno (Deno.listenDatagram) or ffi (libc)")
    .choices(["auto", "deno", "ffi"] as const)
    .default("auto" as const);
}

/** `--io` checked against `--loss`/`--delay`, which run on the Deno sockets only. */
export function ioOf(io: UdpIo, impaired: boolean): UdpIo {
  if (io === "ffi" && impaired) {
    throw new UsageError(
      "--io ffi cannot be combined with --loss or --delay (they run on the Deno sockets: --io deno)",
    );
  }
  return io;
}

/** The impairment asked for by `--loss` / `--delay` (undefined when neither was given). */
export function impairmentOf(
  o: { loss?: number; delay?: number; seed: number },
): UdpImpairment | undefined {
  if (o.loss === undefined && o.delay === undefined) return undefined;
  return { seed: o.seed, loss: o.loss ?? 0, delay: o.delay ?? 0 };
}

/** The `note` text announcing an impairment: what it does and that it is not a network's. */
export function impairmentNote(i: UdpImpairment): string {
  const parts: string[] = [];
  if (i.loss) parts.push(`loss ${+(i.loss * 100).toFixed(3)}%`);
  if (i.delay) parts.push(`delay ${i.delay} ms`);
  if (parts.length === 0) parts.push("none");
  return `user-space impairment on both directions of this end: ${parts.join(", ")}, ` +
    `seed ${i.seed}`;
}

/** Help text shared by `listen` and `connect` about `--loss` and `--delay`. */
export const IMPAIR_HELP =
  "--loss and --delay impair in user space, seeded (--seed): every datagram this end\n" +
  "sends or receives is dropped with probability P and held back MS milliseconds, as\n" +
  "`tc netem` on both directions would. A test and teaching aid for kernels without\n" +
  "netem; on one end it impairs both directions of the path.\n";
