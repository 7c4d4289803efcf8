/**
 * How `listen`, `connect` and `tun` run: the signals that stop them, the choice
 * between the terminal UI and the line output, the wait for every connection to
 * close, and the error line of a `connect` whose connections ended otherwise than
 * asked.
 *
 * @module
 */
import {
  capturePackets,
  type ConnRecord,
  impairmentOf,
  ioOf,
  type IpPort,
  lineWriter,
  type NetHooks,
  type NetLine,
  type UdpIo,
  type UdpRunSettings,
  withPcapFile,
} from "./net_args.ts";
import { type NetRole, runNetTui, wantTui } from "./net_tui.ts";
import { Driver } from "../../transports/driver.ts";
import { bindUdp } from "../../transports/udp_ffi.ts";
import type { CloseReason } from "../tcb/events.ts";

/**
 * The driver of `listen` and `connect`: a UDP socket bound to `bind` as `s` asks
 * (impairment, sockets), every segment captured into `s.pcap` if given (which needs
 * every event), else the `events` the hooks ask for.
 */
export function openUdpDriver(
  bind: IpPort,
  s: UdpRunSettings,
  events: NetHooks["events"],
): Driver {
  const transport = bindUdp({ hostname: bind.ip, port: bind.port, impair: s.impair }, s.io);
  const driver = new Driver({
    transport,
    tcb: { msl: s.msl * 1000 },
    events: s.pcap ? "all" : events,
  });
  if (s.pcap) capturePackets(driver, s.pcap.writer);
  return driver;
}

/**
 * Runs `fn` with a signal that any of `signals` aborts; the listeners are removed
 * when it ends.
 */
export async function withSignals<T>(
  signals: readonly Deno.Signal[],
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  for (const s of signals) Deno.addSignalListener(s, stop);
  try {
    return await fn(ac.signal);
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, stop);
  }
}

/** Resolves once `signal` aborts (at once if it has; never without a signal). */
export function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    signal?.addEventListener("abort", () => resolve(), { once: true });
  });
}

/**
 * Runs a command behind the terminal UI when {@linkcode wantTui} says so, else with
 * its lines going to `onLine`; `signal` stops it either way.
 */
export function runLinesOrTui<R>(
  o: { tui: boolean; json: boolean; msl: number },
  role: NetRole,
  out: (line: string) => void,
  signal: AbortSignal,
  onLine: (line: NetLine) => void,
  run: (hooks: NetHooks) => Promise<R>,
): Promise<R> {
  return wantTui(o)
    ? runNetTui({ role, msl: o.msl * 1000, out, signal, run })
    : run({ onLine, signal });
}

/** The parsed options every net command has. */
export interface NetActionOptions {
  tui: boolean;
  json: boolean;
  /** Seconds. */
  msl: number;
}

/** Which command an action runs, where its lines go, and the signals that stop it. */
export interface NetAction {
  role: NetRole;
  out: (line: string) => void;
  signals: readonly Deno.Signal[];
}

/**
 * The action of a net command: stopped by any of `a.signals`, behind the terminal UI
 * or with its lines going to `onLine` (see {@linkcode runLinesOrTui}).
 */
export function runNetAction<R>(
  o: NetActionOptions,
  a: NetAction,
  onLine: (line: NetLine) => void,
  run: (hooks: NetHooks) => Promise<R>,
): Promise<R> {
  return withSignals(a.signals, (signal) => runLinesOrTui(o, a.role, a.out, signal, onLine, run));
}

/** The parsed options `listen` and `connect` share (see `net_args.ts`). */
export interface UdpActionOptions extends NetActionOptions {
  pcap?: string;
  pcapEncap: "ip" | "udp";
  loss?: number;
  delay?: number;
  seed: number;
  io: UdpIo;
}

/**
 * The action of `listen` or `connect`: stopped by any of the signals, with the pcap file
 * of `--pcap` open throughout, the settings `prepare` gets from the shared options
 * (a usage error for `--io ffi` with an impairment), then as {@linkcode runLinesOrTui}.
 */
export function runUdpAction<R>(
  o: UdpActionOptions,
  { role, out, signals }: NetAction,
  prepare: (udp: UdpRunSettings) => (hooks: NetHooks) => Promise<R>,
): Promise<R> {
  return withSignals(signals, (signal) =>
    withPcapFile(o.pcap, o.pcapEncap, out, (pcap) => {
      const impair = impairmentOf(o);
      const run = prepare({ msl: o.msl, pcap, impair, io: ioOf(o.io, impair !== undefined) });
      return runLinesOrTui(o, role, out, signal, lineWriter(o.json, out), run);
    }));
}

/**
 * Waits until every connection of `records` (which may grow meanwhile) has closed, at
 * most `timeout` seconds, or until `stopped`; with `waitForSignal`, then on until
 * `stopped`. Whether every connection closed.
 */
export async function untilAllClosed(
  driver: Driver,
  records: readonly ConnRecord[],
  timeout: number | undefined,
  stopped: Promise<void>,
  waitForSignal: boolean | undefined,
): Promise<boolean> {
  const allClosed = () => records.every((c) => c.reason !== undefined);
  let finished = await Promise.race([
    driver.until(allClosed, timeout === undefined ? Infinity : timeout * 1000),
    stopped.then(() => false),
  ]);
  if (finished && waitForSignal) {
    await stopped;
    finished = allClosed(); // connections opened meanwhile may still be open
  }
  return finished;
}

/**
 * The error line for the first connection of `records` that did not end with `want`
 * (`reasons` in the same order), naming `peer`; `hint` is what to check when the peer
 * refused or did not answer. Undefined when every one ended as asked.
 */
export function closeError(
  records: readonly ConnRecord[],
  reasons: readonly CloseReason[],
  want: CloseReason,
  peer: string,
  hint: { refused: string; timeout: string },
): string | undefined {
  const bad = reasons.findIndex((r) => r !== want);
  if (bad < 0) return undefined;
  const r = reasons[bad];
  return r === "refused"
    ? `Cannot connect: ${peer} refused the connection (${hint.refused})`
    : r === "timeout"
    ? `Connection to ${peer} timed out (${hint.timeout})`
    : `Connection ${records[bad].id} to ${peer} ended with "${r}", not "${want}"`;
}
