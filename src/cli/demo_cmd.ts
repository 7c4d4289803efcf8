/**
 * `finwait demo [scenario]`: two peers on the simulated network, live in the
 * terminal, stepping through the close states. On a terminal it runs the Ink UI at
 * a followable speed; piped or in CI it prints one line per event, flat out.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { intArg, lossArg, mslOption, numberArg } from "./args.ts";
import { DEMO_DEFAULTS, DemoSession } from "./demo_session.ts";
import { SCENARIOS } from "../trace/scenarios.ts";
import { MAX_SPEED } from "../../transports/sim_driver.ts";
import { runLines } from "../ui/lines.ts";
import { KEYS } from "../ui/keys.ts";

/** Options of `demo`, as parsed. */
export interface DemoCliOptions {
  seed: number;
  loss?: number;
  speed?: number;
  /** Seconds. */
  msl: number;
  /** ms. */
  delay: number;
  /** Seconds. */
  hold: number;
  stormRate: number;
  lines: boolean;
}

/** Whether the UI can take the terminal: raw mode needs stdin, drawing needs stdout. */
export function isInteractive(): boolean {
  return Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
}

/** Runs the demo: full screen on a terminal, line output otherwise. */
export async function demo(
  scenario: string,
  o: DemoCliOptions,
  out: (line: string) => void,
  interactive = !o.lines && isInteractive(),
): Promise<void> {
  const session = new DemoSession({
    scenario,
    seed: o.seed,
    loss: o.loss,
    // Line output runs flat out unless a speed was asked for.
    speed: o.speed ?? (interactive ? DEMO_DEFAULTS.speed : Infinity),
    msl: o.msl * 1000,
    delay: o.delay,
    hold: interactive ? o.hold * 1000 : 0,
    stormRate: o.stormRate,
  });
  if (!interactive) {
    await runLines({ source: session, write: out });
    return;
  }
  // Ink (and React) load only for the terminal UI.
  const { runTui } = await import("../ui/tui.tsx");
  await runTui({ source: session });
}

/** Adds `demo` to the program. */
export function registerDemo(prog: Command, out: (line: string) => void): void {
  const scenarioList = SCENARIOS.map((s) => `  ${s.name.padEnd(20)} ${s.description}`).join("\n");
  const keyList = KEYS.map((k) => `  ${k.key.padEnd(6)} ${k.help}`).join("\n");
  prog.command("demo")
    .description("Watch two peers close a connection, live in the terminal")
    .argument("[scenario]", "which close to play (see the list below)", DEMO_DEFAULTS.scenario)
    .option("--seed <n>", "seed of the simulated network", intArg("seed", 0, 2 ** 32 - 1), 1)
    .option("--loss <p>", "loss on both directions after the handshake (0.1 or 10%)", lossArg)
    .option(
      "--speed <x>",
      `clock speed, virtual ms per real ms (default ${DEMO_DEFAULTS.speed}; piped: flat out)`,
      numberArg("speed", 0.001, MAX_SPEED),
    )
    .addOption(mslOption(DEMO_DEFAULTS.msl / 1000))
    .option(
      "--delay <ms>",
      "one-way delay of the link",
      numberArg("delay", 0, 60_000),
      DEMO_DEFAULTS.delay,
    )
    .option(
      "--hold <seconds>",
      "show the open connection this long before the scenario plays",
      numberArg("hold", 0, 3600),
      DEMO_DEFAULTS.hold / 1000,
    )
    .option(
      "--storm-rate <n>",
      "connections opened per second in storm mode (t)",
      numberArg("storm-rate", 1, 100_000),
      DEMO_DEFAULTS.stormRate,
    )
    .option("--lines", "print one line per event even on a terminal", false)
    .addHelpText(
      "after",
      `\nScenarios:\n${scenarioList}\n\nKeys:\n${keyList}\n\nExamples:\n` +
        "  finwait demo                          normal-close, slowly\n" +
        "  finwait demo lossy-close --loss 30%   retransmissions, RTO backoff\n" +
        "  finwait demo simultaneous-close --speed 0.05\n" +
        "  finwait demo normal-close | head      line output when piped",
    )
    .action(async (scenario, o) => {
      await demo(scenario, o, out);
    });
}
