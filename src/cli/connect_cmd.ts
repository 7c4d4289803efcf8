/**
 * `finwait connect HOST:PORT`: opens connections over UDP, sends, closes as asked
 * (`full`: CLOSE, an active close through TIME-WAIT; `half`: SHUTDOWN, then CLOSE once
 * the peer closes too; `abort`: RST once everything sent is acknowledged), waits until
 * every connection is CLOSED (2·MSL after the close, `--msl` to shorten), and prints a
 * summary: bytes sent and acknowledged, bytes received and their SHA-256, the final
 * state of every connection, segments, retransmissions, RSTs.
 *
 * The bytes sent are a fixed pattern (byte i is `(i * 131 + (i >>> 11)) & 255`), so
 * two runs, and the listener, show the same digest for the same size.
 *
 * {@linkcode runConnect} is the command without commander (for the UI and tests).
 *
 * @module
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { intArg, numberArg } from "./args.ts";
import {
  AddressError,
  bindArg,
  capturePackets,
  ConnRecord,
  IMPAIR_HELP,
  impairmentNote,
  impairmentOf,
  impairOptions,
  ioOf,
  ioOption,
  type IpPort,
  isLoopback,
  lineWriter,
  type NetControl,
  type NetLine,
  pcapEncapOption,
  pcapOption,
  resolveHost,
  sizeArg,
  targetArg,
  type UdpIo,
  withPcapFile,
} from "./net_args.ts";
import { summarize } from "./listen_cmd.ts";
import { Driver } from "../../transports/driver.ts";
import { formatAddress } from "../../transports/transport.ts";
import type { UdpImpairment } from "../../transports/udp.ts";
import { bindUdp } from "../../transports/udp_ffi.ts";
import type { CloseReason, ConnId } from "../tcb/events.ts";
import { runNetTui, wantTui } from "./net_tui.ts";
import type { PcapFile } from "./pcap_file.ts";

/** How `connect` closes. */
export type CloseMode = "full" | "half" | "abort";

/** Settings of {@linkcode runConnect}. */
export interface ConnectSettings {
  target: { host: string; port: number };
  /** Local UDP address; default: loopback for a loopback target, else the wildcard, port 0. */
  bind?: IpPort;
  send: number;
  connections: number;
  close: CloseMode;
  /** Seconds. */
  msl: number;
  /** Write every segment into this pcap file as it happens (see `capturePackets`). */
  pcap?: PcapFile;
  /** Give up (abort everything) after this many seconds; default none. */
  timeout?: number;
  /** Seeded user-space loss and delay on both directions (`--loss`, `--delay`). */
  impair?: UdpImpairment;
  /** Which UDP sockets (`--io`). */
  io?: UdpIo;
}

/** Hooks of {@linkcode runConnect}. */
export interface ConnectHooks {
  onLine(line: NetLine): void;
  /** The driver and the command's own write and open (for the UI). */
  onDriver?(driver: Driver, control: NetControl): void;
  /** Aborts every connection and finishes. */
  signal?: AbortSignal;
  /** Events the driver queues: `"all"` adds one per segment (the UI's diagram). */
  events?: "all" | "lifecycle";
  /**
   * Once every connection has closed, keep running until `signal` aborts (the UI:
   * the user may open more with `control.open`, and quits when done).
   */
  waitForSignal?: boolean;
}

/** What `connect` ended with. */
export interface ConnectResult {
  summary: NetLine;
  /** Close reason per connection, in connection order. */
  reasons: CloseReason[];
  /** The error line for a non-zero exit, if any connection ended otherwise than asked. */
  error: string | undefined;
}

/** The byte at offset `i` of what `connect` sends. */
export function patternByte(i: number): number {
  return (i * 131 + (i >>> 11)) & 255;
}

/** Runs `connect` to the end. */
export async function runConnect(s: ConnectSettings, hooks: ConnectHooks): Promise<ConnectResult> {
  const ip = await resolveHost(s.target.host);
  const v6 = ip.includes(":");
  const bind = s.bind ?? {
    ip: isLoopback(ip) ? (v6 ? "::1" : "127.0.0.1") : (v6 ? "::" : "0.0.0.0"),
    port: 0,
  };
  if (bind.ip.includes(":") !== v6 && bind.ip !== "::") {
    throw new AddressError(
      `Cannot connect: --bind ${formatAddress(bind.ip, bind.port)} cannot reach ${ip}`,
    );
  }
  const transport = bindUdp({ hostname: bind.ip, port: bind.port, impair: s.impair }, s.io);
  const driver = new Driver({
    transport,
    tcb: { msl: s.msl * 1000 },
    events: s.pcap ? "all" : hooks.events,
  });
  if (s.pcap) capturePackets(driver, s.pcap.writer);
  const peer = formatAddress(ip, s.target.port);
  const t = () => driver.now() / 1000;
  const emit = hooks.onLine;
  const records = new Map<ConnId, ConnRecord>();
  const order: ConnRecord[] = [];
  const buf = new Uint8Array(64 * 1024);
  const chunk = new Uint8Array(64 * 1024);
  /** Bytes handed to `send` per connection. */
  const offset = new Map<ConnId, number>();

  const fill = (from: number, n: number) => {
    for (let k = 0; k < n; k++) chunk[k] = patternByte(from + k);
    return chunk.subarray(0, n);
  };
  const pump = (c: ConnRecord) => {
    const st = driver.endpoint.state(c.id);
    if (c.closing || (st !== "ESTABLISHED" && st !== "CLOSE-WAIT")) return;
    let off = offset.get(c.id) ?? 0;
    while (off < s.send) {
      const data = fill(off, Math.min(chunk.length, s.send - off));
      const n = driver.send(c.id, data);
      c.digestOut.update(data.subarray(0, n));
      off += n;
      c.bytesOut += n;
      if (n < data.length) break;
    }
    offset.set(c.id, off);
    if (off < s.send) return;
    if (s.close === "full") {
      c.closing = true;
      driver.close(c.id);
    } else if (s.close === "half") {
      c.closing = true;
      driver.shutdown(c.id);
    } else {
      const info = driver.info(c.id);
      if (info && info.counters.bytesAcked >= s.send) {
        c.closing = true;
        driver.abort(c.id);
      }
    }
  };
  const take = (c: ConnRecord) => {
    for (;;) {
      const n = driver.readInto(c.id, buf);
      if (n === 0) return;
      c.bytesIn += n;
      c.digestIn.update(buf.subarray(0, n));
    }
  };

  driver.onEvent((ev) => {
    const c = records.get(ev.conn ?? -1);
    if (!c) return;
    if (ev.type === "state-changed") {
      c.state = ev.to;
      // Entering TIME-WAIT the event carries the final counters: the connection may
      // now be a compact record whose info() has none.
      const counters = ev.counters ?? driver.info(ev.conn)?.counters;
      if (counters && counters.segmentsOut > 0) {
        c.segmentsIn = counters.segmentsIn;
        c.bytesAcked = counters.bytesAcked;
        c.segmentsOut = counters.segmentsOut;
        c.retransmissions = counters.retransmissions;
      }
      emit({
        type: "state",
        t: t(),
        conn: ev.conn,
        peer: c.peer,
        from: ev.from,
        to: ev.to,
        cause: ev.cause,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
      });
      if (ev.to === "ESTABLISHED") pump(c);
    } else if (ev.type === "data") {
      take(c);
    } else if (ev.type === "peer-closed") {
      take(c);
      // Half-close: the peer's FIN ends our wait; close fully now.
      if (s.close === "half" || s.close === "full") driver.close(ev.conn);
    } else if (ev.type === "closed") {
      c.reason = ev.reason;
      c.state = "CLOSED";
      emit(c.closedLine(t()));
    }
  });
  driver.afterDrain(() => {
    for (const c of order) if (!c.closing && c.state !== "CLOSED") pump(c);
  });
  const openOne = (): ConnId => {
    const id = driver.connect(peer, s.target.port);
    const c = new ConnRecord(id, peer);
    c.state = driver.endpoint.state(id);
    records.set(id, c);
    order.push(c);
    emit({
      type: "state",
      t: t(),
      conn: id,
      peer,
      from: "CLOSED",
      to: c.state,
      cause: "open",
      bytesIn: 0,
      bytesOut: 0,
    });
    return id;
  };
  hooks.onDriver?.(driver, {
    write: (id, data) => {
      const n = driver.send(id, data);
      const c = records.get(id);
      if (c) {
        c.digestOut.update(data.subarray(0, n));
        c.bytesOut += n;
      }
      return n;
    },
    open: openOne,
  });

  emit({
    type: "connecting",
    t: t(),
    from: transport.localAddress,
    to: peer,
    connections: s.connections,
  });
  if (s.impair) emit({ type: "note", t: t(), text: impairmentNote(s.impair) });
  for (let i = 0; i < s.connections; i++) openOne();

  const allClosed = () => order.every((c) => c.reason !== undefined);
  const stopped = new Promise<void>((resolve) => {
    if (hooks.signal?.aborted) return resolve();
    hooks.signal?.addEventListener("abort", () => resolve(), { once: true });
  });
  let finished = await Promise.race([
    driver.until(allClosed, s.timeout === undefined ? Infinity : s.timeout * 1000),
    stopped.then(() => false),
  ]);
  if (finished && hooks.waitForSignal) {
    await stopped;
    finished = allClosed(); // connections opened meanwhile may still be open
  }
  if (!finished) {
    for (const c of order) driver.abort(c.id);
    emit({ type: "note", t: t(), text: "stopped: open connections aborted" });
  }
  const summary = summarize(driver, order, t());
  await driver.stop();
  emit(summary);
  const reasons = order.map((c) => c.reason ?? "aborted");
  const want: CloseReason = s.close === "abort" ? "aborted" : "normal";
  let error: string | undefined;
  const bad = reasons.findIndex((r) => r !== want);
  const answered = order.some((c) => c.segmentsIn > 0);
  if (!finished && !answered && s.timeout !== undefined && !hooks.signal?.aborted) {
    error = `Cannot connect: no answer from ${peer} within ${s.timeout} s ` +
      `(is finwait listening there, and UDP port ${s.target.port} open?)`;
  } else if (!finished) {
    const open = order.filter((c) => c.reason === "aborted").length;
    error = `Stopped with ${open} connection(s) still open (aborted)`;
  } else if (bad >= 0) {
    const r = reasons[bad];
    error = r === "refused"
      ? `Cannot connect: ${peer} refused the connection (is finwait listening there?)`
      : r === "timeout"
      ? `Connection to ${peer} timed out (is UDP port ${s.target.port} open?)`
      : `Connection ${order[bad].id} to ${peer} ended with "${r}", not "${want}"`;
  }
  return { summary, reasons, error };
}

/** Thrown to exit non-zero after the summary was printed. */
export class ConnectFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectFailed";
  }
}

/** Adds `connect` to the program. */
export function registerConnect(prog: Command, out: (line: string) => void): void {
  const [loss, delay, seed] = impairOptions();
  prog.command("connect")
    .description("Open connections over UDP, send, close, and wait through TIME-WAIT")
    .argument("<host:port>", "where finwait listens (UDP; the TCP port is the same)", targetArg)
    .option(
      "--send <bytes>",
      "bytes to send on each connection (65536, 64KiB, 1MiB)",
      sizeArg("--send"),
      65536,
    )
    .option(
      "--connections <n>",
      "connections opened at once",
      intArg("--connections", 1, 10_000),
      1,
    )
    .addOption(
      new Option(
        "--close <how>",
        "full: CLOSE; half: SHUTDOWN, then CLOSE after the peer's FIN; abort: RST",
      )
        .choices(["full", "half", "abort"] as const)
        .default("full" as const),
    )
    .option(
      "--msl <seconds>",
      "maximum segment lifetime; TIME-WAIT lasts 2·MSL",
      numberArg("msl", 0.001, 3600),
      30,
    )
    .addOption(
      new Option("--bind <ip:port>", "local UDP address (default: loopback or any, port 0)")
        .argParser(bindArg),
    )
    .option(
      "--timeout <seconds>",
      "abort whatever is still open after this long",
      numberArg("timeout", 0.001, 86_400),
    )
    .addOption(pcapOption())
    .addOption(pcapEncapOption())
    .addOption(loss)
    .addOption(delay)
    .addOption(seed)
    .addOption(ioOption())
    .option("--no-tui", "one line per event instead of the terminal UI")
    .option("--json", "one JSON object per line", false)
    .addHelpText(
      "after",
      "\nOn a terminal it shows the terminal UI and stays after the close (n opens another\n" +
        "connection; q quits and prints the summary). With --no-tui or --json, or piped, it\n" +
        "prints one line per connection event and exits once every connection is CLOSED.\n\n" +
        IMPAIR_HELP +
        "\nExamples:\n" +
        "  finwait connect 127.0.0.1:9811                      64 KiB, close, 60 s in TIME-WAIT\n" +
        "  finwait connect 127.0.0.1:9811 --send 1MiB --msl 1  the same, 2 s in TIME-WAIT\n" +
        "  finwait connect 192.0.2.7:9811 --connections 10 --close half\n" +
        "  finwait connect [2001:db8::7]:9811 --close abort --json\n" +
        "  finwait connect 127.0.0.1:9811 --loss 10% --delay 20  10 % loss, 20 ms each way",
    )
    .action(async (target, o) => {
      const ac = new AbortController();
      const stop = () => ac.abort();
      Deno.addSignalListener("SIGINT", stop);
      try {
        const r = await withPcapFile(o.pcap, o.pcapEncap, out, (pcap) => {
          const settings: ConnectSettings = {
            target,
            bind: o.bind,
            send: o.send,
            connections: o.connections,
            close: o.close,
            msl: o.msl,
            timeout: o.timeout,
            pcap,
            impair: impairmentOf(o),
            io: ioOf(o.io, impairmentOf(o) !== undefined),
          };
          return wantTui(o)
            ? runNetTui({
              role: "connect",
              msl: o.msl * 1000,
              out,
              signal: ac.signal,
              run: (hooks) => runConnect(settings, hooks),
            })
            : runConnect(settings, { onLine: lineWriter(o.json, out), signal: ac.signal });
        });
        if (r.error) throw new ConnectFailed(r.error);
      } finally {
        Deno.removeSignalListener("SIGINT", stop);
      }
    });
}
