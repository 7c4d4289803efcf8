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
import { mslOption } from "./args.ts";
import {
  AddressError,
  bindArg,
  connectionsOption,
  ConnRecord,
  IMPAIR_HELP,
  impairmentNote,
  impairOptions,
  ioOption,
  type IpPort,
  isLoopback,
  type NetHooks,
  type NetLine,
  outputOptions,
  pcapEncapOption,
  pcapOption,
  recordedWrite,
  resolveHost,
  sizeArg,
  targetArg,
  timeoutOption,
  type UdpRunSettings,
} from "./net_args.ts";
import { summarize } from "./listen_cmd.ts";
import { formatAddress } from "../../transports/transport.ts";
import type { CloseReason, ConnId } from "../tcb/events.ts";
import {
  closeError,
  openUdpDriver,
  runUdpAction,
  untilAborted,
  untilAllClosed,
} from "./net_run.ts";
import { sendPattern } from "./pattern.ts";

export { patternByte } from "./pattern.ts";

/** How `connect` closes. */
export type CloseMode = "full" | "half" | "abort";

/** Settings of {@linkcode runConnect}. */
export interface ConnectSettings extends UdpRunSettings {
  target: { host: string; port: number };
  /** Local UDP address; default: loopback for a loopback target, else the wildcard, port 0. */
  bind?: IpPort;
  send: number;
  connections: number;
  close: CloseMode;
  /** Give up (abort everything) after this many seconds; default none. */
  timeout?: number;
}

/** Hooks of {@linkcode runConnect}. */
export type ConnectHooks = NetHooks;

/** What `connect` ended with. */
export interface ConnectResult {
  summary: NetLine;
  /** Close reason per connection, in connection order. */
  reasons: CloseReason[];
  /** The error line for a non-zero exit, if any connection ended otherwise than asked. */
  error: string | undefined;
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
  const driver = openUdpDriver(bind, s, hooks.events);
  const peer = formatAddress(ip, s.target.port);
  const t = () => driver.now() / 1000;
  const emit = hooks.onLine;
  const records = new Map<ConnId, ConnRecord>();
  const order: ConnRecord[] = [];
  const buf = new Uint8Array(64 * 1024);
  /** Bytes handed to `send` per connection. */
  const offset = new Map<ConnId, number>();

  const pump = (c: ConnRecord) => {
    const st = driver.endpoint.state(c.id);
    if (c.closing || (st !== "ESTABLISHED" && st !== "CLOSE-WAIT")) return;
    const off = sendPattern(driver, c, offset.get(c.id) ?? 0, s.send);
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
      c.read(buf.subarray(0, n));
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
      if (counters && counters.segmentsOut > 0) c.takeCounters(counters);
      emit(c.stateLine(t(), ev));
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
    emit(c.stateLine(t(), { from: "CLOSED", to: c.state, cause: "open" }));
    return id;
  };
  hooks.onDriver?.(driver, { write: recordedWrite(driver, records), open: openOne });

  emit({
    type: "connecting",
    t: t(),
    from: driver.transport.localAddress,
    to: peer,
    connections: s.connections,
  });
  if (s.impair) emit({ type: "note", t: t(), text: impairmentNote(s.impair) });
  for (let i = 0; i < s.connections; i++) openOne();

  const stopped = untilAborted(hooks.signal);
  const finished = await untilAllClosed(
    driver,
    order,
    s.timeout,
    stopped,
    hooks.waitForSignal,
  );
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
  const answered = order.some((c) => c.segmentsIn > 0);
  if (!finished && !answered && s.timeout !== undefined && !hooks.signal?.aborted) {
    error = `Cannot connect: no answer from ${peer} within ${s.timeout} s ` +
      `(is finwait listening there, and UDP port ${s.target.port} open?)`;
  } else if (!finished) {
    const open = order.filter((c) => c.reason === "aborted").length;
    error = `Stopped with ${open} connection(s) still open (aborted)`;
  } else {
    error = closeError(order, reasons, want, peer, {
      refused: "is finwait listening there?",
      timeout: `is UDP port ${s.target.port} open?`,
    });
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
  const [noTui, json] = outputOptions();
  prog.command("connect")
    .description("Open connections over UDP, send, close, and wait through TIME-WAIT")
    .argument("<host:port>", "where finwait listens (UDP; the TCP port is the same)", targetArg)
    .option(
      "--send <bytes>",
      "bytes to send on each connection (65536, 64KiB, 1MiB)",
      sizeArg("--send"),
      65536,
    )
    .addOption(connectionsOption())
    .addOption(
      new Option(
        "--close <how>",
        "full: CLOSE; half: SHUTDOWN, then CLOSE after the peer's FIN; abort: RST",
      )
        .choices(["full", "half", "abort"] as const)
        .default("full" as const),
    )
    .addOption(mslOption(30))
    .addOption(
      new Option("--bind <ip:port>", "local UDP address (default: loopback or any, port 0)")
        .argParser(bindArg),
    )
    .addOption(timeoutOption())
    .addOption(pcapOption())
    .addOption(pcapEncapOption())
    .addOption(loss)
    .addOption(delay)
    .addOption(seed)
    .addOption(ioOption())
    .addOption(noTui)
    .addOption(json)
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
      const r = await runUdpAction(o, { role: "connect", out, signals: ["SIGINT"] }, (udp) => {
        const settings: ConnectSettings = {
          ...udp,
          target,
          bind: o.bind,
          send: o.send,
          connections: o.connections,
          close: o.close,
          timeout: o.timeout,
        };
        return (hooks) => runConnect(settings, hooks);
      });
      if (r.error) throw new ConnectFailed(r.error);
    });
}
