/**
 * `finwait trace <scenario>`: plays a scenario headless and prints it as the RFC
 * figure (default) or as JSON lines, and with `--pcap FILE` writes the packets for
 * Wireshark.
 *
 * @module
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { intArg, lossArg, mslOption, numberArg } from "./args.ts";
import { renderFigure } from "../trace/figure.ts";
import { entryJson } from "../trace/json.ts";
import { capturePcap, type WorldCapture } from "../trace/pcap.ts";
import { openPcapFile, type PcapFile } from "./pcap_file.ts";
import {
  findScenario,
  PEER_A,
  PEER_B,
  runScenario,
  SCENARIO_NAMES,
  type ScenarioRun,
  SCENARIOS,
} from "../trace/scenarios.ts";
import type { CloseReason } from "../tcb/events.ts";

/** Options of `trace`. */
export interface TraceOptions {
  seed: number;
  loss?: number;
  /** MSL in seconds. */
  msl: number;
  delay: number;
  /** Same as `format: "json"` (kept from before `--format`). */
  json: boolean;
  live: boolean;
  /** `figure` (default) and `diagram` draw the RFC figure; `json` prints one event per line. */
  format?: TraceFormat;
  /** Also write the run, handshake included, as a pcap file here. */
  pcap?: string;
  /** pcap framing: IP/TCP (default) or IP/UDP/TCP as UDP runs carry segments. */
  pcapEncap?: "ip" | "udp";
}

/** Output formats of `trace`. */
export const TRACE_FORMATS = ["figure", "diagram", "json"] as const;
/** One of {@linkcode TRACE_FORMATS}. */
export type TraceFormat = typeof TRACE_FORMATS[number];

/** Thrown for user mistakes; the CLI prints the message alone and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Plays `name` and writes the trace through `write`. Returns the run. */
export async function trace(
  name: string,
  o: TraceOptions,
  write: (line: string) => void,
  sleep: (ms: number) => Promise<void> = () => Promise.resolve(),
): Promise<ScenarioRun> {
  const scenario = findScenario(name);
  if (!scenario) {
    throw new UsageError(`Unknown scenario "${name}": choose one of ${SCENARIO_NAMES.join(", ")}`);
  }
  if (o.json && o.format !== undefined && o.format !== "json") {
    throw new UsageError(`Options --json and --format "${o.format}" conflict: choose one`);
  }
  const format: TraceFormat = o.json ? "json" : o.format ?? "figure";
  let file: PcapFile | undefined;
  let capture: WorldCapture | undefined;
  let run: ScenarioRun;
  if (o.pcap !== undefined) file = openPcapFile(o.pcap, { encapsulation: o.pcapEncap ?? "ip" });
  try {
    run = runScenario(scenario, {
      seed: o.seed,
      ...(o.loss !== undefined ? { loss: o.loss } : {}),
      msl: o.msl * 1000,
      delay: o.delay,
    }, { world: file ? (w) => (capture = capturePcap(w, file.writer)) : undefined });
    capture?.finish();
  } finally {
    file?.close();
  }
  const log = run.world.log;
  if (format === "json") {
    const names = { [PEER_A]: "A", [PEER_B]: "B" };
    for (let i = run.start; i < log.length; i++) write(JSON.stringify(entryJson(log[i], names)));
    return run;
  }
  const lines = renderFigure({
    log,
    start: run.start,
    left: PEER_A,
    right: PEER_B,
    initial: run.initial,
  });
  for (const line of lines) {
    // --live: a pause before each numbered group, so the close unfolds at reading pace.
    if (o.live && /^\s*\d+\./.test(line)) await sleep(700);
    write(line);
  }
  write("");
  write(summary(run));
  if (file) write(`pcap: ${file.writer.packets} packets written to "${file.path}"`);
  return run;
}

/** One line: how each side ended and what the network did. */
export function summary(run: ScenarioRun): string {
  const log = run.world.log;
  const reasons: Record<string, CloseReason[]> = { [PEER_A]: [], [PEER_B]: [] };
  let segments = 0, lost = 0, rtx = 0, dup = 0;
  for (let i = run.start; i < log.length; i++) {
    const e = log[i];
    if (e.kind === "event") {
      if (e.event.type === "closed") reasons[e.node]?.push(e.event.reason);
      if (e.event.type === "segment-sent") {
        segments++;
        if (e.event.retransmission) rtx++;
      }
    } else if (e.kind === "net") {
      if (e.event.type === "lost") lost++;
      if (e.event.type === "duplicated") dup++;
    }
  }
  const side = (addr: string, label: string) => {
    const ep = run.world.endpoints.get(addr)!;
    const r = reasons[addr];
    const end = ep.size === 0 ? "CLOSED" : `${ep.size} open`;
    return `${label} ${end}${r.length ? ` (${r.join(", ")})` : ""}`;
  };
  return `${run.name}: ${side(PEER_A, "A")}, ${side(PEER_B, "B")}; ${segments} segments, ` +
    `${lost} lost, ${dup} duplicated, ${rtx} retransmitted; ` +
    `virtual time ${(run.world.now / 1000).toFixed(3)} s` + (run.finished ? "" : "; NOT FINISHED");
}

/** Adds `trace` to the program. */
export function registerTrace(prog: Command, out: (line: string) => void): void {
  const scenarioList = SCENARIOS.map((s) => `  ${s.name.padEnd(20)} ${s.description}`).join("\n");
  prog.command("trace")
    .description("Play a close scenario on the simulated network and print it as RFC 9293 draws it")
    .argument("<scenario>", "which close to play (see the list below)")
    .option("--seed <n>", "seed of the simulated network", intArg("seed", 0, 2 ** 32 - 1), 1)
    .option("--loss <p>", "loss on both directions after the handshake (0.1 or 10%)", lossArg)
    .addOption(mslOption(1))
    .option("--delay <ms>", "one-way delay of the link", numberArg("delay", 0, 60_000), 10)
    .addOption(
      new Option("--format <format>", "figure or diagram (the RFC figure), or json")
        .choices(TRACE_FORMATS),
    )
    .option("--json", "same as --format json", false)
    .option("--pcap <file>", "also write the packets, handshake included, for Wireshark")
    .addOption(
      new Option("--pcap-encap <framing>", "IPv4/TCP, or IPv4/UDP/TCP as UDP runs carry it")
        .choices(["ip", "udp"] as const).default("ip" as const),
    )
    .addOption(new Option("--live", "print the figure at reading pace").default(false).hideHelp())
    .addHelpText(
      "after",
      `\nScenarios:\n${scenarioList}\n\nExamples:\n` +
        "  finwait trace normal-close            RFC 9293 Figure 12\n" +
        "  finwait trace simultaneous-close      RFC 9293 Figure 13\n" +
        "  finwait trace lossy-close --loss 30% --seed 7\n" +
        "  finwait trace abort --format json | jq .type\n" +
        "  finwait trace lossy-close --pcap lossy.pcap && tshark -r lossy.pcap",
    )
    .action(async (name, o) => {
      await trace(name, o, out, (ms) => new Promise((r) => setTimeout(r, ms)));
    });
}
