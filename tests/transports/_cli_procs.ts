/**
 * Runs `finwait listen` and `finwait connect` as OS processes and reads their
 * `--json` lines: shared by the UDP loopback end-to-end test, the network namespace
 * test and the TUN lab (`_tun_lab.ts`), which also uses {@linkcode JsonLinesProcess}
 * and {@linkcode sh}.
 */
import assert from "node:assert/strict";
import type { NetLine } from "../../src/cli/net_args.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** Runs a command to completion: its exit code and decoded output (throws if it cannot start). */
export async function output(
  cmd: string[],
): Promise<{ success: boolean; code: number; stdout: string; stderr: string }> {
  const r = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  return {
    success: r.success,
    code: r.code,
    stdout: new TextDecoder().decode(r.stdout),
    stderr: new TextDecoder().decode(r.stderr),
  };
}

/** Runs a command; returns its success and combined output (never throws unless `check`). */
export async function sh(cmd: string[], check = true): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await output(cmd);
    const out = r.stdout + r.stderr;
    if (check && !r.success) throw new Error(`${cmd.join(" ")} failed: ${out.trim()}`);
    return { ok: r.success, out };
  } catch (e) {
    if (check) throw e;
    return { ok: false, out: String(e) };
  }
}

/** Whether `tool` is on the PATH. */
export async function have(tool: string): Promise<boolean> {
  return (await sh(["sh", "-c", `command -v ${tool}`], false)).ok;
}

/** A subprocess printing JSON lines on stdout, collected in `lines` as they arrive. */
export class JsonLinesProcess<T> {
  readonly child: Deno.ChildProcess;
  readonly lines: T[] = [];
  readonly stderr: Promise<string>;
  readonly done: Promise<Deno.CommandStatus>;
  #waiters: (() => void)[] = [];

  constructor(argv: string[], stdin: "piped" | "null") {
    this.child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      stdin,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.stderr = new Response(this.child.stderr).text();
    this.done = this.#read().then(() => this.child.status);
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
        this.#wake();
      }
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Resolves when the next line arrives (or the output ends), or after `ms`. */
  protected nextLineOr(ms: number): Promise<unknown> {
    return Promise.race([
      new Promise<void>((r) => this.#waiters.push(r)),
      new Promise((r) => setTimeout(r, ms)),
    ]);
  }

  /** The lines so far, one JSON per line (for failure messages). */
  dump(): string {
    return this.lines.map((l) => JSON.stringify(l)).join("\n");
  }

  /** Waits for exit, killing after `ms`. */
  async exit(ms: number): Promise<Deno.CommandStatus> {
    const t = setTimeout(() => this.kill(), ms);
    try {
      return await this.done;
    } finally {
      clearTimeout(t);
    }
  }

  /** Sends SIGKILL (if still running). */
  kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
  }
}

/** A running CLI process and the JSON lines it printed so far. */
export class CliProcess extends JsonLinesProcess<NetLine> {
  /** Starts `finwait <args>`, optionally under `prefix` (e.g. `ip netns exec A`). */
  constructor(args: string[], prefix: string[] = []) {
    super([...prefix, Deno.execPath(), "run", "-A", MAIN, ...args], "null");
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
      await this.nextLineOr(100);
    }
  }

  /** Sends SIGINT (listen prints its summary and exits) and waits, killing after `ms`. */
  interrupt(ms = 10_000): Promise<Deno.CommandStatus> {
    try {
      this.child.kill("SIGINT");
    } catch { /* already gone */ }
    return this.exit(ms);
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

export type ClosedLine = Extract<NetLine, { type: "closed" }>;

/** The `closed` line of the (first) connection. */
export function closedLine(lines: NetLine[]): ClosedLine | undefined {
  return lines.find((l) => l.type === "closed") as ClosedLine;
}

/**
 * Waits for the listener's `closed` line and asserts it closed normally having received
 * `bytes` bytes with the digest the connector (`sent`) sent.
 */
export async function expectReceived(
  listener: CliProcess,
  sent: ClosedLine,
  bytes: number,
): Promise<ClosedLine> {
  const got = await listener.waitFor((l) => l.type === "closed", 20_000, "closed") as ClosedLine;
  assert.equal(got.reason, "normal");
  assert.equal(got.bytesIn, bytes);
  assert.equal(got.sha256In, sent.sha256Out);
  return got;
}
