/**
 * Runs `finwait listen` and `finwait connect` as OS processes and reads their
 * `--json` lines: shared by the UDP loopback end-to-end test and the network
 * namespace test.
 */
import type { NetLine } from "../../src/cli/net_args.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** A running CLI process and the JSON lines it printed so far. */
export class CliProcess {
  readonly child: Deno.ChildProcess;
  readonly lines: NetLine[] = [];
  readonly stderr: Promise<string>;
  #waiters: (() => void)[] = [];
  readonly done: Promise<Deno.CommandStatus>;

  /** Starts `finwait <args>`, optionally under `prefix` (e.g. `ip netns exec A`). */
  constructor(args: string[], prefix: string[] = []) {
    const argv = [...prefix, Deno.execPath(), "run", "-A", MAIN, ...args];
    this.child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    this.stderr = new Response(this.child.stderr).text();
    const read = this.#read();
    this.done = read.then(() => this.child.status);
  }

  async #read(): Promise<void> {
    let rest = "";
    for await (const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let i;
      while ((i = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, i).trim();
        rest = rest.slice(i + 1);
        if (line.startsWith("{")) this.lines.push(JSON.parse(line));
        for (const w of this.#waiters.splice(0)) w();
      }
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves with the first line that satisfies `pred`, or throws after `ms`. */
  async waitFor(pred: (l: NetLine) => boolean, ms: number, what: string): Promise<NetLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(`Timed out waiting for ${what}; got:\n${this.dump()}`);
      }
      await Promise.race([
        new Promise<void>((r) => this.#waiters.push(r)),
        new Promise((r) => setTimeout(r, 100)),
      ]);
    }
  }

  /** The lines so far, one JSON per line (for failure messages). */
  dump(): string {
    return this.lines.map((l) => JSON.stringify(l)).join("\n");
  }

  /** Sends SIGINT (listen prints its summary and exits) and waits, killing after `ms`. */
  async interrupt(ms = 10_000): Promise<Deno.CommandStatus> {
    try {
      this.child.kill("SIGINT");
    } catch { /* already gone */ }
    const t = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, ms);
    const s = await this.done;
    clearTimeout(t);
    return s;
  }

  /** Waits for exit, killing after `ms`. */
  async exit(ms: number): Promise<Deno.CommandStatus> {
    const t = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, ms);
    const s = await this.done;
    clearTimeout(t);
    return s;
  }
}

/** State lines of connection `conn` in order, as "FROM → TO (cause)". */
export function transitions(lines: NetLine[], conn: number): string[] {
  return lines.flatMap((l) =>
    l.type === "state" && l.conn === conn ? [`${l.from} → ${l.to} (${l.cause})`] : []
  );
}

/** The time of the first state line of `conn` entering `to`. */
export function enteredAt(lines: NetLine[], conn: number, to: string): number | undefined {
  const l = lines.find((x) => x.type === "state" && x.conn === conn && x.to === to);
  return l?.t;
}
