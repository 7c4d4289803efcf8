/**
 * `finwait listen`: accepts connections over UDP and shows each one step through its
 * states. With `--sink` (default) it reads everything and, when the peer closes,
 * closes its own side (a passive close: LAST-ACK, then CLOSED at once); with
 * `--echo` it writes back what it reads. Per connection it reports the bytes received
 * and their SHA-256.
 *
 * {@linkcode runListen} is the whole command without commander: the terminal UI
 * (or a test) passes `onLine` for the line stream and `onDriver` for the engine.
 *
 * @module
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { mslOption } from "./args.ts";
import {
  bindArg,
  ConnRecord,
  IMPAIR_HELP,
  impairmentNote,
  impairOptions,
  ioOption,
  type IpPort,
  type NetHooks,
  type NetLine,
  nonZero,
  outputOptions,
  pcapEncapOption,
  pcapOption,
  recordedWrite,
  sinkEchoOptions,
  type UdpRunSettings,
} from "./net_args.ts";
import type { Driver } from "../../transports/driver.ts";
import { UdpTransport } from "../../transports/udp.ts";
import type { ConnId } from "../tcb/events.ts";
import { openUdpDriver, runUdpAction, untilAborted } from "./net_run.ts";

/** Settings of {@linkcode runListen}. */
export interface ListenSettings extends UdpRunSettings {
  bind: IpPort;
  mode: "sink" | "echo";
  /** Close our side (an active close) once this many bytes came in. */
  closeAfterBytes?: number;
}

/** Hooks of {@linkcode runListen}. */
export type ListenHooks = Omit<NetHooks, "waitForSignal">;

/** Runs `listen` until `signal` aborts; resolves with the summary line. */
export async function runListen(s: ListenSettings, hooks: ListenHooks): Promise<NetLine> {
  const driver = openUdpDriver(s.bind, s, hooks.events);
  const transport = driver.transport;
  const tcpPort = Number(transport.localAddress.slice(transport.localAddress.lastIndexOf(":") + 1));
  const t = () => driver.now() / 1000;
  const conns = new Map<ConnId, ConnRecord>();
  const done: ConnRecord[] = [];
  const emit = hooks.onLine;
  const buf = new Uint8Array(64 * 1024);

  const take = (c: ConnRecord) => {
    // Read everything in order; echo what fits in the send buffer.
    if (s.mode === "echo" && c.pending) return;
    for (;;) {
      const n = driver.readInto(c.id, buf);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      c.read(chunk);
      if (s.mode === "echo") {
        c.pending = chunk.slice();
        flush(c);
        if (c.pending) break;
      }
    }
    if (s.closeAfterBytes !== undefined && c.bytesIn >= s.closeAfterBytes && !c.closing) {
      c.closing = true;
      driver.close(c.id);
    }
  };
  const flush = (c: ConnRecord) => {
    const p = c.pending;
    if (!p) return;
    const st = driver.endpoint.state(c.id);
    if (st !== "ESTABLISHED" && st !== "CLOSE-WAIT") {
      c.pending = undefined;
      return;
    }
    const n = driver.send(c.id, p);
    c.wrote(p, n);
    c.pending = n === p.length ? undefined : p.subarray(n);
  };

  driver.onEvent((ev) => {
    if (ev.type === "state-changed") {
      let c = conns.get(ev.conn);
      if (!c) {
        c = new ConnRecord(ev.conn, driver.peerOf(ev.conn) ?? "?");
        conns.set(ev.conn, c);
      }
      c.state = ev.to;
      // Entering TIME-WAIT the event carries the final counters (see connect_cmd.ts).
      const counters = ev.counters ?? driver.info(ev.conn)?.counters;
      if (counters && counters.segmentsOut > 0) c.takeCounters(counters);
      if (ev.from === "CLOSED" && ev.to === "LISTEN") return; // the accept itself
      emit(c.stateLine(t(), ev));
    } else if (ev.type === "data") {
      const c = conns.get(ev.conn);
      if (c) take(c);
    } else if (ev.type === "peer-closed") {
      const c = conns.get(ev.conn);
      if (c && !c.closing && !c.pending) {
        // The passive close: our FIN goes once everything is read (and echoed).
        take(c);
        if (!c.pending) {
          c.closing = true;
          driver.close(ev.conn);
        }
      }
    } else if (ev.type === "closed") {
      const c = conns.get(ev.conn);
      if (!c) return;
      conns.delete(ev.conn);
      c.reason = ev.reason;
      done.push(c);
      emit(c.closedLine(t()));
    }
  });
  driver.afterDrain(() => {
    if (s.mode !== "echo") return;
    for (const c of conns.values()) {
      if (!c.pending) continue;
      flush(c);
      if (!c.pending) {
        take(c);
        if (!c.pending && !c.closing && driver.endpoint.state(c.id) === "CLOSE-WAIT") {
          c.closing = true;
          driver.close(c.id);
        }
      }
    }
  });

  driver.listen(tcpPort, { backlog: 1024 });
  hooks.onDriver?.(driver, { write: recordedWrite(driver, conns) });
  emit({
    type: "listening",
    t: t(),
    address: transport.localAddress,
    tcpPort,
    mode: s.mode,
    mslSeconds: s.msl,
  });
  if (s.impair) emit({ type: "note", t: t(), text: impairmentNote(s.impair) });

  await untilAborted(hooks.signal);
  for (const id of [...conns.keys()]) driver.abort(id);
  const summary = summarize(driver, [...done, ...conns.values()], t());
  await driver.stop();
  emit(summary);
  return summary;
}

/** The `summary` line of a driver and its connections. */
export function summarize(driver: Driver, records: ConnRecord[], t: number): NetLine {
  const st = driver.endpoint.stats;
  const closed: Record<string, number> = {};
  for (const r of records) {
    const k = r.reason ?? r.state;
    closed[k] = (closed[k] ?? 0) + 1;
  }
  const impaired = driver.transport instanceof UdpTransport
    ? driver.transport.impairment
    : undefined;
  const dropped = nonZero({
    ...st.dropped,
    "too-short": driver.stats.tooShort,
    "unexpected-source": driver.stats.unexpectedSource,
    "oversize": driver.transport.stats.oversize,
    "rst-rate-limited": driver.stats.rstsRateLimited + st.rstsRateLimited,
    // Both directions: the user-space impairment (`--loss`) drops what we send too.
    "impairment-loss": impaired?.lost ?? 0,
    "impairment-queue-full": impaired?.queueFull ?? 0,
  });
  return {
    type: "summary",
    t,
    connections: records.length,
    closed,
    bytesIn: records.reduce((a, r) => a + r.bytesIn, 0),
    bytesOut: records.reduce((a, r) => a + r.bytesOut, 0),
    bytesAcked: records.reduce((a, r) => a + r.bytesAcked, 0),
    segmentsIn: st.segmentsIn,
    segmentsOut: st.segmentsOut,
    retransmissions: st.retransmissions,
    rstsIn: st.rstsIn,
    rstsOut: st.rstsOut,
    dropped,
  };
}

/** Adds `listen` to the program. */
export function registerListen(prog: Command, out: (line: string) => void): void {
  const [sink, echo, closeAfterBytes] = sinkEchoOptions();
  const [loss, delay, seed] = impairOptions();
  const [noTui, json] = outputOptions();
  prog.command("listen")
    .description("Accept connections over UDP and show every one close")
    .addOption(
      new Option("--bind <ip:port>", "UDP address to listen on; the TCP port is the same number")
        .argParser(bindArg)
        .default({ ip: "127.0.0.1", port: 9811 }, "127.0.0.1:9811"),
    )
    .addOption(sink)
    .addOption(echo)
    .addOption(closeAfterBytes)
    .addOption(mslOption(30))
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
      "\nOn a terminal it shows the terminal UI (q quits: open connections are aborted, the\n" +
        "summary printed). With --no-tui or --json, or piped, it prints one line per\n" +
        "connection event and a summary on Ctrl-C.\n\n" + IMPAIR_HELP + "\nExamples:\n" +
        "  finwait listen                              127.0.0.1:9811, sink\n" +
        "  finwait listen --bind 0.0.0.0:9811          every IPv4 interface (open UDP 9811)\n" +
        "  finwait listen --bind [::]:9811 --echo      IPv4 and IPv6, echo\n" +
        "  finwait listen --close-after-bytes 1MiB --msl 2 --json\n" +
        "  finwait listen --loss 10% --delay 20 --seed 7   10 % loss, 20 ms each way",
    )
    .action(async (o) => {
      await runUdpAction(o, { role: "listen", out, signals: ["SIGINT", "SIGTERM"] }, (udp) => {
        const settings: ListenSettings = {
          ...udp,
          bind: o.bind,
          mode: o.echo ? "echo" : "sink",
          closeAfterBytes: o.closeAfterBytes,
        };
        return (hooks) => runListen(settings, hooks);
      });
    });
}
