/**
 * The finwait command line. The only place that wires the layers together.
 *
 * @module
 */
import { Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { SCENARIOS } from "../trace/scenarios.ts";
import { trace, UsageError } from "./trace_cmd.ts";

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

function numberArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    }
    return n;
  };
}

/** Loss as a fraction (0.1) or a percentage ("10%"). */
function lossArg(v: string): number {
  const pct = v.endsWith("%");
  const n = Number(pct ? v.slice(0, -1) : v);
  const p = pct ? n / 100 : n;
  if (!Number.isFinite(p) || p < 0 || p > 1) {
    throw new InvalidArgumentError("loss must be a fraction from 0 to 1, or a percentage like 10%");
  }
  return p;
}

/** Builds the program (exported for tests). */
export function program(out: (line: string) => void = console.log) {
  const prog = new Command()
    .name("finwait")
    .description("A user-space TCP engine that makes connection termination visible")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });

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
  return prog;
}

if (import.meta.main) {
  try {
    await program().parseAsync(Deno.args, { from: "user" });
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`finwait: ${e.message}`);
      Deno.exit(2);
    }
    if (Deno.args.includes("--debug")) throw e;
    console.error(`finwait: ${e instanceof Error ? e.message : String(e)}`);
    Deno.exit(1);
  }
}
