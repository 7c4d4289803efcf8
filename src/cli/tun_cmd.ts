/**
 * `finwait tun`: finwait as a host on a Linux TUN interface, face to face with the
 * kernel's TCP (README, "Talk to your kernel"). `finwait tun … listen PORT` accepts
 * connections from kernel sockets (`nc 10.77.0.2 PORT`), `finwait tun … connect
 * HOST:PORT` opens connections to a kernel listener; both print the same lines as
 * `listen` and `connect` (text or `--json`), so every state a connection goes through
 * on finwait's side is visible while `ss -tan` shows the kernel's side.
 *
 * Beyond the options of `listen` and `connect`, both sides can take every close role,
 * which is what the interop tests drive: `--send` bytes (after the peer's FIN with
 * `--send-after-fin`), then `--close full|half|abort|passive`, held back until
 * `--close-after-bytes` bytes came in.
 *
 * Needs root or CAP_NET_ADMIN and FFI (`--allow-ffi`); without them it prints one line
 * saying which is missing and exits 1.
 *
 * @module
 */
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { intArg, lossArg, mslOption, numberArg } from "./args.ts";
import {
  connectionsOption,
  ConnRecord,
  formatLine,
  type NetControl,
  type NetHooks,
  type NetLine,
  nonZero,
  outputOptions,
  recordedWrite,
  resolveHost,
  sinkEchoOptions,
  sizeArg,
  targetArg,
  timeoutOption,
} from "./net_args.ts";
import { summarize } from "./listen_cmd.ts";
import { ConnectFailed } from "./connect_cmd.ts";
import { closeError, runNetAction, untilAborted, untilAllClosed } from "./net_run.ts";
import { sendPattern } from "./pattern.ts";
import { Driver } from "../../transports/driver.ts";
import { formatAddress } from "../../transports/transport.ts";
import { type TunImpairment, TunTransport } from "../../transports/tun.ts";
import type { CloseReason, ConnectionCounters, ConnId } from "../tcb/events.ts";

/** How a connection closes: CLOSE, SHUTDOWN, ABORT, or CLOSE after the peer's FIN. */
export type TunCloseMode = "full" | "half" | "abort" | "passive";

/** The interface. */
export interface TunDeviceSettings {
  dev: string;
  /** finwait's IPv4 address. */
  addr: string;
  /** The kernel's address and prefix on the interface. */
  peer: string;
  /** Set the peer address and bring the interface up. */
  configure: boolean;
  mtu?: number;
  /** User-space impairment (both directions), for kernels without `tc netem`. */
  impair?: TunImpairment;
  wake?: "poll" | "timer";
}

/** What each connection does. */
export interface TunSessionSettings {
  role: "listen" | "connect";
  /** `listen`: the TCP port. */
  port?: number;
  /** `connect`: where to. */
  target?: { host: string; port: number };
  /** Connections to open (`connect`). */
  connections: number;
  /** Bytes of the `connect` pattern to send on each connection. */
  send: number;
  /** Send only after the peer's FIN (data on a half-closed connection). */
  sendAfterFin: boolean;
  /** Write back what is read (`listen --echo`). */
  echo: boolean;
  close: TunCloseMode;
  /** Hold the close back until this many bytes came in. */
  closeAfterBytes: number;
  /** Seconds. */
  msl: number;
  /** `connect`: abort what is still open after this many seconds. */
  timeout?: number;
  /** `listen`: exit once this many connections have closed. */
  exitAfter?: number;
}

/** Hooks of {@linkcode runTun} (those of `runListen` and `runConnect`, for the terminal UI). */
export type TunHooks = NetHooks;

/** What {@linkcode runTun} ended with. */
export interface TunResult {
  summary: NetLine;
  reasons: CloseReason[];
  /** The error line for a non-zero exit (`connect` only). */
  error: string | undefined;
}

const CHUNK = 64 * 1024;

/** One line of text for `tun` (the `listen` and `connect` format, naming the interface). */
export function formatTunLine(line: NetLine, dev: string): string {
  const t = line.t.toFixed(3).padStart(8);
  if (line.type === "listening") {
    return `${t} listening on tun ${dev} ${line.address}, ${line.mode} mode, ` +
      `MSL ${line.mslSeconds} s`;
  }
  if (line.type === "connecting") {
    return `${t} connecting from tun ${dev} ${line.from} to ${line.to}` +
      (line.connections > 1 ? ` (${line.connections} connections)` : "");
  }
  return formatLine(line);
}

/** Runs `tun listen` (until the signal or `exitAfter`) or `tun connect` (until all closed). */
export async function runTun(
  d: TunDeviceSettings,
  s: TunSessionSettings,
  hooks: TunHooks,
): Promise<TunResult> {
  const targetIp = s.role === "connect" ? await resolveHost(s.target!.host) : undefined;
  const transport = TunTransport.open({
    dev: d.dev,
    address: d.addr,
    peer: d.peer,
    configure: d.configure,
    mtu: d.mtu,
    impair: d.impair,
    wake: d.wake,
  });
  const driver = new Driver({ transport, tcb: { msl: s.msl * 1000 }, events: hooks.events });
  const t = () => driver.now() / 1000;
  const emit = hooks.onLine;
  const records = new Map<ConnId, ConnRecord>();
  const order: ConnRecord[] = [];
  const offset = new Map<ConnId, number>();
  const peerFin = new Set<ConnId>();
  const buf = new Uint8Array(CHUNK);
  let closedCount = 0;

  /** Connections not yet closed, for the after-drain pass. */
  const live = new Set<ConnRecord>();
  /**
   * Each connection's TCB counters object, held from the first event: it stays current
   * until the TCB gives way to a compact TIME-WAIT record, and keeps its final values.
   */
  const counters = new Map<ConnId, ConnectionCounters>();
  const open = (c: ConnRecord) => c.state === "ESTABLISHED" || c.state === "CLOSE-WAIT";
  const syncCounters = (c: ConnRecord) => {
    const k = counters.get(c.id);
    if (k) c.takeCounters(k);
  };
  /** Hands the pattern (or pending echo bytes) to the send buffer as far as it takes them. */
  const pump = (c: ConnRecord) => {
    if (c.closing || !open(c)) return;
    if (c.pending) {
      const n = driver.send(c.id, c.pending);
      c.wrote(c.pending, n);
      c.pending = n === c.pending.length ? undefined : c.pending.subarray(n);
      if (c.pending) return;
    }
    if (s.sendAfterFin && !peerFin.has(c.id)) return;
    offset.set(c.id, sendPattern(driver, c, offset.get(c.id) ?? 0, s.send));
  };
  const take = (c: ConnRecord) => {
    if (c.pending) return; // echo: read on once the last chunk went out
    for (;;) {
      const n = driver.readInto(c.id, buf);
      if (n === 0) return;
      const data = buf.subarray(0, n);
      c.read(data);
      if (s.echo) {
        c.pending = data.slice();
        pump(c);
        if (c.pending) return;
      }
    }
  };
  /**
   * Closes as `s.close` says once everything is handed to the send buffer and
   * `closeAfterBytes` came in. A peer that closes first is answered with CLOSE in every
   * mode but abort, which keeps its own trigger.
   */
  const maybeClose = (c: ConnRecord) => {
    if (c.closing || c.reason !== undefined) return;
    if ((offset.get(c.id) ?? 0) < s.send || c.pending) return;
    const fin = peerFin.has(c.id);
    let act: "close" | "shutdown" | "abort" | undefined;
    if (fin && s.close !== "abort") act = "close";
    else if (c.bytesIn < s.closeAfterBytes || s.close === "passive") act = undefined;
    else if (s.close === "full") act = "close";
    else if (s.close === "half") act = "shutdown";
    else {
      if ((counters.get(c.id)?.bytesAcked ?? 0) >= c.bytesOut) act = "abort";
    }
    if (act === undefined) return;
    c.closing = true;
    if (act === "close") driver.close(c.id);
    else if (act === "shutdown") driver.shutdown(c.id);
    else driver.abort(c.id);
  };

  driver.onEvent((ev) => {
    if (ev.conn === undefined) return;
    let c = records.get(ev.conn);
    if (ev.type === "state-changed") {
      if (ev.from === "CLOSED" && ev.to === "LISTEN") return; // the listener itself
      if (!c) {
        const info = driver.info(ev.conn);
        const ip = driver.peerOf(ev.conn) ?? "?";
        c = new ConnRecord(ev.conn, formatAddress(ip, info?.remotePort ?? 0));
        records.set(ev.conn, c);
        order.push(c);
        live.add(c);
        if (info) counters.set(ev.conn, info.counters);
      }
      c.state = ev.to;
      if (ev.counters) counters.set(ev.conn, ev.counters); // final, on entering TIME-WAIT
      syncCounters(c);
      emit(c.stateLine(t(), ev));
      if (ev.to === "ESTABLISHED") pump(c);
      return;
    }
    if (!c) return;
    if (ev.type === "data") {
      take(c);
    } else if (ev.type === "peer-closed") {
      take(c);
      peerFin.add(ev.conn);
      pump(c);
    } else if (ev.type === "closed") {
      c.reason = ev.reason;
      c.state = "CLOSED";
      syncCounters(c);
      live.delete(c);
      counters.delete(c.id);
      closedCount++;
      emit(c.closedLine(t()));
    }
  });
  driver.afterDrain(() => {
    for (const c of live) {
      if (c.closing) continue;
      if (c.pending) {
        pump(c);
        if (!c.pending) take(c);
      }
      pump(c);
      maybeClose(c);
    }
  });
  const control: NetControl = {
    write: recordedWrite(driver, records),
    open: s.role === "connect" ? () => driver.connect(targetIp!, s.target!.port) : undefined,
  };

  emit({
    type: "note",
    t: t(),
    text: `tun ${transport.device.name}: finwait ${transport.localAddress}, kernel ${d.peer}` +
      `${d.configure ? "" : " (not configured by finwait)"}, MTU ${transport.mtu}, ` +
      `MSS ${transport.maxDatagram - 32}` +
      (d.impair ? `, impaired in user space (${impairText(d.impair)})` : ""),
  });

  const stopped = untilAborted(hooks.signal);
  let finished: boolean;
  if (s.role === "listen") {
    driver.listen(s.port!, { backlog: 1024 });
    hooks.onDriver?.(uiDriver(driver), control);
    emit({
      type: "listening",
      t: t(),
      address: formatAddress(transport.localAddress, s.port!),
      tcpPort: s.port!,
      mode: s.echo ? "echo" : "sink",
      mslSeconds: s.msl,
    });
    const enough = () => s.exitAfter !== undefined && closedCount >= s.exitAfter;
    finished = await Promise.race([driver.until(enough), stopped.then(() => false)]);
  } else {
    const to = formatAddress(targetIp!, s.target!.port);
    hooks.onDriver?.(uiDriver(driver), control);
    emit({
      type: "connecting",
      t: t(),
      from: transport.localAddress,
      to,
      connections: s.connections,
    });
    // Each connection's record comes with its first event (CLOSED → SYN-SENT).
    for (let i = 0; i < s.connections; i++) driver.connect(targetIp!, s.target!.port);
    finished = await untilAllClosed(driver, order, s.timeout, stopped, hooks.waitForSignal);
  }
  const open_ = order.filter((c) => c.reason === undefined);
  if (open_.length > 0) {
    for (const c of open_) driver.abort(c.id);
    if (s.role === "connect" || !finished) {
      emit({ type: "note", t: t(), text: "stopped: open connections aborted" });
    }
  }
  const summary = summarize(driver, order, t());
  if (summary.type === "summary") {
    const ig = transport.stats.ignored;
    summary.dropped = {
      ...summary.dropped,
      ...nonZero({
        "not-ipv4": ig.notIpv4,
        "bad-ip-header": ig.badIpHeader,
        "not-tcp": ig.notTcp,
        "not-for-us": ig.notForUs,
        "fragment": ig.fragment,
      }),
    };
  }
  const ts = transport.stats;
  emit({
    type: "note",
    t: t(),
    text: `tun ${transport.device.name}: read ${ts.packetsRead} packets in ${ts.wakeups} ` +
      `wake-ups (at most ${ts.maxBatch} at once), wrote ${ts.datagramsOut}` +
      (ts.errors > 0 ? `, ${ts.errors} read or write errors` : ""),
  });
  await driver.stop();
  emit(summary);
  const reasons = order.map((c) => c.reason ?? "aborted");
  let error: string | undefined;
  if (s.role === "connect") {
    const want: CloseReason = s.close === "abort" ? "aborted" : "normal";
    const peer = formatAddress(targetIp!, s.target!.port);
    error = !finished
      ? "Stopped before every connection closed"
      : closeError(order, reasons, want, peer, {
        refused: "is a kernel socket listening there?",
        timeout: `is ${d.peer} on "${d.dev}" and the interface up?`,
      });
  }
  return { summary, reasons, error };
}

/**
 * The driver as the terminal UI sees it: over TUN a peer is an IP address without a
 * port (the ports are inside TCP), so `peerOf` gives the kernel socket's `IP:PORT`,
 * as `ss` shows it.
 */
function uiDriver(driver: Driver): Driver {
  const peerOf = (conn: ConnId) => {
    const ip = driver.peerOf(conn);
    return ip === undefined ? undefined : formatAddress(ip, driver.info(conn)?.remotePort ?? 0);
  };
  return new Proxy(driver, {
    get(target, prop) {
      if (prop === "peerOf") return peerOf;
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

function impairText(i: TunImpairment): string {
  const parts: string[] = [];
  if (i.loss) parts.push(`loss ${+(i.loss * 100).toFixed(3)}%`);
  if (i.delay) parts.push(`delay ${i.delay} ms`);
  if (i.jitter) parts.push(`jitter ${i.jitter} ms`);
  parts.push(`seed ${i.seed}`);
  return parts.join(", ");
}

function portArg(v: string): number {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
    throw new InvalidArgumentError(`Invalid port "${v}": expected 1 to 65535`);
  }
  return Number(v);
}

function ipv4Arg(name: string) {
  return (v: string): string => {
    if (
      !/^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/
        .test(v)
    ) {
      throw new InvalidArgumentError(`Invalid ${name} "${v}": expected IPv4 such as 10.77.0.2`);
    }
    return v;
  };
}

function peerArg(v: string): string {
  const [ip, prefix, extra] = v.split("/");
  ipv4Arg("--peer")(ip);
  if (
    extra !== undefined ||
    (prefix !== undefined && !(/^[0-9]{1,2}$/.test(prefix) && +prefix >= 1 && +prefix <= 30))
  ) {
    throw new InvalidArgumentError(
      `Invalid --peer "${v}": expected IP/PREFIX such as 10.77.0.1/24`,
    );
  }
  return prefix === undefined ? `${ip}/24` : v;
}

const CLOSE_HELP = "full: CLOSE; half: SHUTDOWN (data may still come in); abort: RST once " +
  "everything sent is acknowledged; passive: CLOSE after the peer's FIN";

/** Adds `tun listen` and `tun connect` to the program. */
export function registerTun(prog: Command, out: (line: string) => void): void {
  const tun = prog.command("tun")
    .description("Meet the kernel's TCP on a TUN interface (root or CAP_NET_ADMIN)")
    .option("--dev <name>", "TUN interface (created if missing)", "finwait0")
    .option("--addr <ip>", "finwait's IPv4 address", ipv4Arg("--addr"), "10.77.0.2")
    .option("--peer <ip/prefix>", "the kernel's address on the interface", peerArg, "10.77.0.1/24")
    .option("--mtu <bytes>", "set the interface MTU", intArg("--mtu", 576, 65_535))
    .option("--no-configure", "leave the interface's address and state alone (set up with ip)")
    .option("--loss <p>", "user-space loss on both directions (0.01 or 1%)", lossArg)
    .option(
      "--delay <ms>",
      "user-space one-way delay on both directions",
      numberArg("delay", 0, 60_000),
    )
    .option("--seed <n>", "seed of the user-space impairment", intArg("seed", 0, 2 ** 32 - 1), 1)
    .addOption(
      new Option("--wake <how>", "how received packets are noticed").choices(
        ["poll", "timer"] as const,
      )
        .default("poll" as const),
    )
    .addHelpText(
      "after",
      "\nfinwait becomes a host on the interface; the kernel has --peer on it. Needs root or\n" +
        "CAP_NET_ADMIN. --loss and --delay impair in user space (for kernels without tc netem).\n\n" +
        "Examples:\n" +
        "  sudo finwait tun listen 8080                 then: nc 10.77.0.2 8080; ss -tan\n" +
        "  sudo finwait tun connect 10.77.0.1:8080      after: nc -l 10.77.0.1 8080\n" +
        "  sudo finwait tun --dev fw1 --addr 10.78.0.2 --peer 10.78.0.1/24 listen 80 --echo",
    );
  const device = (): TunDeviceSettings => {
    const o = tun.opts();
    const impair = o.loss !== undefined || o.delay !== undefined
      ? { seed: o.seed, loss: o.loss ?? 0, delay: o.delay ?? 0 }
      : undefined;
    return {
      dev: o.dev,
      addr: o.addr,
      peer: o.peer,
      configure: o.configure,
      mtu: o.mtu,
      impair,
      wake: o.wake,
    };
  };
  const writer = (json: boolean) => (l: NetLine) =>
    out(json ? JSON.stringify(l) : formatTunLine(l, tun.opts().dev));

  const [sink, echo, closeAfterBytes] = sinkEchoOptions();
  const [listenNoTui, listenJson] = outputOptions();
  tun.command("listen")
    .description("Accept connections from kernel sockets and show every one close")
    .argument("<port>", "TCP port", portArg)
    .addOption(sink)
    .addOption(echo)
    .addOption(closeAfterBytes)
    .option("--send <bytes>", "bytes to send on each connection", sizeArg("--send"), 0)
    .option("--send-after-fin", "send only after the peer's FIN (a half-closed connection)")
    .addOption(
      new Option(
        "--close <how>",
        `${CLOSE_HELP} (default: passive, full with --close-after-bytes)`,
      )
        .choices(["full", "half", "abort", "passive"] as const),
    )
    .option(
      "--exit-after <n>",
      "exit once n connections have closed",
      intArg("--exit-after", 1, 1e9),
    )
    .addOption(mslOption(30))
    .addOption(listenNoTui)
    .addOption(listenJson)
    .action(async (port, o) => {
      const settings: TunSessionSettings = {
        role: "listen",
        port,
        connections: 0,
        send: o.send,
        sendAfterFin: o.sendAfterFin ?? false,
        echo: o.echo ?? false,
        close: o.close ?? (o.closeAfterBytes !== undefined ? "full" : "passive"),
        closeAfterBytes: o.closeAfterBytes ?? 0,
        msl: o.msl,
        exitAfter: o.exitAfter,
      };
      await runNetAction(
        o,
        { role: "listen", out, signals: ["SIGINT", "SIGTERM"] },
        writer(o.json),
        (hooks) => runTun(device(), settings, hooks),
      );
    });

  const [connectNoTui, connectJson] = outputOptions();
  tun.command("connect")
    .description("Open connections to a kernel listener, send, close, wait through TIME-WAIT")
    .argument("<host:port>", "the kernel listener, e.g. 10.77.0.1:8080", targetArg)
    .option("--send <bytes>", "bytes to send on each connection", sizeArg("--send"), 65536)
    .option("--send-after-fin", "send only after the peer's FIN (a half-closed connection)")
    .addOption(connectionsOption())
    .addOption(
      new Option("--close <how>", CLOSE_HELP).choices(
        ["full", "half", "abort", "passive"] as const,
      )
        .default("full" as const),
    )
    .option(
      "--close-after-bytes <n>",
      "hold the close back until n bytes came in",
      sizeArg("--close-after-bytes"),
      0,
    )
    .addOption(mslOption(30))
    .addOption(timeoutOption())
    .addOption(connectNoTui)
    .addOption(connectJson)
    .action(async (target, o) => {
      const settings: TunSessionSettings = {
        role: "connect",
        target,
        connections: o.connections,
        send: o.send,
        sendAfterFin: o.sendAfterFin ?? false,
        echo: false,
        close: o.close,
        closeAfterBytes: o.closeAfterBytes,
        msl: o.msl,
        timeout: o.timeout,
      };
      const r = await runNetAction(
        o,
        { role: "connect", out, signals: ["SIGINT", "SIGTERM"] },
        writer(o.json),
        (hooks) => runTun(device(), settings, hooks),
      );
      if (r.error) throw new ConnectFailed(r.error);
    });
}
