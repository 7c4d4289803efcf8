/**
 * The finwait command line. The only place that wires the layers together: each
 * command lives in its own `*_cmd.ts` and registers itself here.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { registerTrace, UsageError } from "./trace_cmd.ts";
import { registerDemo } from "./demo_cmd.ts";
import { registerDrill } from "./drill_cmd.ts";
import { registerNet } from "./net_cmd.ts";
import { registerTun } from "./tun_cmd.ts";

/** Builds the program (exported for tests). */
export function program(out: (line: string) => void = console.log): Command {
  const prog = new Command()
    .name("finwait")
    .description("A user-space TCP engine that makes connection termination visible")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) });
  registerTrace(prog, out);
  registerDemo(prog, out);
  registerDrill(prog, out);
  registerNet(prog, out);
  registerTun(prog, out);
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
