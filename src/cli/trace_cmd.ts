/**
 * `finwait trace <scenario>`: plays a scenario headless and prints it as the RFC
 * figure (default) or as JSON lines.
 *
 * @module
 */
import { type Command, Option } from "@commander-js/extra-typings";
import { intArg, lossArg, numberArg } from "./args.ts";
import { renderFigure } from "../trace/figure.ts";
import { entryJson } from "../trace/json.ts";
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
  json: boolean;
  live: boolean;
}

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
  const run = runScenario(scenario, {
    seed: o.seed,
    ...(o.loss !== undefined ? { loss: o.loss } : {}),
    msl: o.msl * 1000,
    delay: o.delay,
  });
  const log = run.world.log;
  if (o.json) {
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
    .option(
      "--msl <seconds>",
      "maximum segment lifetime; TIME-WAIT lasts 2·MSL",
      numberArg("msl", 0.001, 3600),
      1,
    )
    .option("--delay <ms>", "one-way delay of the link", numberArg("delay", 0, 60_000), 10)
    .option("--json", "one JSON object per event instead of the figure", false)
    .addOption(new Option("--live", "print the figure at reading pace").default(false).hideHelp())
    .addHelpText(
      "after",
      `\nScenarios:\n${scenarioList}\n\nExamples:\n` +
        "  finwait trace normal-close            RFC 9293 Figure 12\n" +
        "  finwait trace simultaneous-close      RFC 9293 Figure 13\n" +
        "  finwait trace lossy-close --loss 30% --seed 7\n" +
        "  finwait trace abort --json | jq .type",
    )
    .action(async (name, o) => {
      await trace(name, o, out, (ms) => new Promise((r) => setTimeout(r, ms)));
    });
}
