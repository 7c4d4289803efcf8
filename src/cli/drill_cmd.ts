/**
 * `finwait drill FILE.pkt… [--profile linux|freebsd|finwait] [--verbose]`: runs
 * packetdrill scripts against the engine in virtual time and prints one verdict
 * per script, then `N passed, N failed`.
 *
 * @module
 */
import { type Command, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { numberArg } from "./args.ts";
import { DEFAULT_TOLERANCE_MS, type DrillResult, runDrill } from "../drill/runner.ts";
import { PROFILE_NAMES, type ProfileName, PROFILES } from "../drill/profiles.ts";

/** Options of `drill`. */
export interface DrillCmdOptions {
  profile: ProfileName;
  verbose: boolean;
  tolerance: number;
}

/** Totals of one `drill` run. */
export interface DrillTotals {
  passed: number;
  failed: number;
  results: DrillResult[];
}

/**
 * Runs every file and writes the report through `write`. `readFile` returns the
 * text or throws (the message is shown as the script's failure).
 */
export function drillFiles(
  files: string[],
  o: DrillCmdOptions,
  write: (line: string) => void,
  readFile: (path: string) => string,
): DrillTotals {
  let passed = 0, failed = 0;
  const results: DrillResult[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFile(file);
    } catch (e) {
      failed++;
      write(`FAIL ${file}`);
      write(`  cannot read the file: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const r = runDrill(text, file, { profile: o.profile, toleranceMs: o.tolerance });
    results.push(r);
    for (const line of reportLines(r, o.verbose)) write(line);
    if (r.passed) passed++;
    else failed++;
  }
  write(`${passed} passed, ${failed} failed`);
  return { passed, failed, results };
}

/** The report of one script: a verdict line, then details indented. */
export function reportLines(r: DrillResult, verbose: boolean): string[] {
  const out: string[] = [];
  if (r.passed) {
    out.push(
      `PASS ${r.name} (${r.eventsRun} lines, ${(r.endMs / 1000).toFixed(3)} s virtual)`,
    );
  } else if (r.errors.length > 0) {
    out.push(`FAIL ${r.name}: malformed script`);
    for (const e of r.errors) out.push(`  line ${e.line}: ${e.reason}`);
  } else {
    out.push(`FAIL ${r.name}`);
  }
  if (verbose && r.log.length > 0) { for (const l of r.log) out.push(`    ${l}`); }
  if (r.failure) {
    out.push(`  line ${r.failure.line}: expected  ${r.failure.expected}`);
    out.push(`  instead,  ${r.failure.actual}`);
  }
  for (const i of r.ignored) {
    const why = i.kind === "option"
      ? "option line, not applied"
      : i.kind === "shell"
      ? "shell command, not run"
      : i.kind === "python"
      ? "Python block, not run"
      : "UDP encapsulation ports, not checked (the engine is transport-free)";
    out.push(`  ignored line ${i.line}: ${i.text} (${why})`);
  }
  return out;
}

function profileArg(v: string): ProfileName {
  if (!(PROFILE_NAMES as readonly string[]).includes(v)) {
    throw new InvalidArgumentError(`profile must be one of ${PROFILE_NAMES.join(", ")}`);
  }
  return v as ProfileName;
}

/** Adds `drill` to the program. */
export function registerDrill(prog: Command, out: (line: string) => void): void {
  const profiles = PROFILE_NAMES.map((n) => `  ${n.padEnd(9)} ${PROFILES[n].description}`).join(
    "\n",
  );
  prog.command("drill")
    .description("Run packetdrill scripts against the engine in virtual time")
    .argument("<files...>", "packetdrill scripts (.pkt)")
    .addOption(
      new Option("--profile <name>", "defaults of the kernel the scripts were written for")
        .argParser(profileArg)
        .default("finwait" as ProfileName),
    )
    .option(
      "--tolerance <ms>",
      "how far an outbound packet may be from its scripted time",
      numberArg("tolerance", 0, 60_000),
      DEFAULT_TOLERANCE_MS,
    )
    .option("--verbose", "print each script's timeline", false)
    .addHelpText(
      "after",
      `\nProfiles:\n${profiles}\n\nExamples:\n` +
        "  finwait drill tests/drill/*.pkt\n" +
        "  finwait drill --profile linux tests/drill/linux/*.pkt\n" +
        "  finwait drill --verbose tests/drill/active-close-passive-open.pkt",
    )
    .action((files, o) => {
      const totals = drillFiles(files, o, out, (p) => Deno.readTextFileSync(p));
      if (totals.failed > 0) Deno.exitCode = 1;
    });
}
