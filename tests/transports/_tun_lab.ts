/**
 * A network namespace with a TUN interface in it, for the kernel interop tests: the
 * kernel's TCP on one side (10.77.0.1), `finwait tun` on the other (10.77.0.2), both
 * inside the namespace, so nothing touches the host's network. Every lab removes its
 * processes, interface and namespace in `close()`.
 *
 * Needs Linux, root, `ip` and `ss` (iproute2) and /dev/net/tun; {@linkcode labSkipReason}
 * says what is missing. Readouts: `ss -tan` in the namespace (the kernel's states),
 * `/proc/net/snmp` (the kernel's RST and checksum-error counters), nftables counters
 * when `nft` is installed.
 */
import { CliProcess, have, JsonLinesProcess, sh } from "./_cli_procs.ts";
import type { NetLine } from "../../src/cli/net_args.ts";

export { closedLine, output, sh } from "./_cli_procs.ts";

export const KERNEL_IP = "10.77.0.1";
export const FINWAIT_IP = "10.77.0.2";

const PEER_SCRIPT = new URL("./_kernel_peer.ts", import.meta.url).pathname;
const LINGER_SCRIPT = new URL("./_kernel_linger.py", import.meta.url).pathname;

let labCount = 0;
const TAG = `${Deno.pid % 10000}`;

/** Why the interop tests cannot run here, or undefined. */
export async function labSkipReason(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "TUN interop needs Linux";
  const run = await Deno.permissions.query({ name: "run" });
  if (run.state !== "granted") return "needs --allow-run (the kernel side runs in subprocesses)";
  if (Deno.uid() !== 0) return "needs root (network namespaces and TUN interfaces)";
  for (const tool of ["ip", "ss"]) {
    if (!(await have(tool))) return `\`${tool}\` (iproute2) is not installed`;
  }
  // Asked of a shell: Deno wants --allow-all to stat anything under /dev.
  if (!(await sh(["sh", "-c", "test -c /dev/net/tun"], false)).ok) {
    return "/dev/net/tun does not exist (modprobe tun)";
  }
  const probe = `fwtp${TAG}`;
  const made = await sh(["ip", "netns", "add", probe], false);
  if (!made.ok) return `cannot create a network namespace: ${made.out.trim()}`;
  await sh(["ip", "netns", "del", probe], false);
  return undefined;
}

/** Whether `nft` works here (the FIN-drop rules need it). */
export async function nftAvailable(): Promise<boolean> {
  return (await have("nft")) && (await sh(["nft", "list", "tables"], false)).ok;
}

/** Whether python3 is installed (the SO_LINGER helper). */
export function pythonAvailable(): Promise<boolean> {
  return have("python3");
}

/** A JSON-lines subprocess with a command stdin (the kernel side). */
export class JsonProcess extends JsonLinesProcess<Record<string, unknown>> {
  #writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(argv: string[]) {
    super(argv, "piped");
    this.#writer = this.child.stdin.getWriter();
  }

  /** Sends command lines. */
  async send(...cmds: string[]): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(cmds.map((c) => c + "\n").join("")));
  }

  #cursor = 0;

  /**
   * The next line not yet taken, in order: every command prints exactly one (its
   * result or an `error`), after `listening` (listen only) and `connected`. Throws
   * after `ms`.
   */
  async next(ms = 20_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.#cursor < this.lines.length) return this.lines[this.#cursor++];
      if (Date.now() > deadline) {
        throw new Error(
          `Kernel side: timed out waiting for line ${this.#cursor + 1}; got:\n${this.dump()}\n` +
            (await this.stderrNow()),
        );
      }
      await this.nextLineOr(50);
    }
  }

  /** The next line, which must have `ev === ev`. */
  async expect(ev: string, ms = 20_000): Promise<Record<string, unknown>> {
    const l = await this.next(ms);
    if (l.ev !== ev) {
      throw new Error(`Kernel side: expected "${ev}", got ${JSON.stringify(l)}\n${this.dump()}`);
    }
    return l;
  }

  async stderrNow(): Promise<string> {
    const s = await Promise.race([
      this.stderr,
      new Promise<string>((r) => setTimeout(() => r(""), 10)),
    ]);
    return s;
  }

  /** Closes stdin, waits for exit (killing after `ms`). */
  async finish(ms = 5_000): Promise<Deno.CommandStatus> {
    try {
      await this.#writer.close();
    } catch { /* closed */ }
    return await this.exit(ms);
  }
}

/** One socket in `ss -tan`. */
export interface SsSocket {
  state: string;
  recvQ: number;
  sendQ: number;
  local: string;
  peer: string;
}

/** A network namespace with (soon) a TUN interface in it. */
export class Lab {
  readonly ns: string;
  readonly dev: string;
  #procs: { kill(): void; done: Promise<unknown> }[] = [];
  #cli: CliProcess[] = [];
  #nft = false;

  private constructor(ns: string, dev: string) {
    this.ns = ns;
    this.dev = dev;
  }

  /** A fresh namespace with loopback up. */
  static async create(): Promise<Lab> {
    const n = labCount++;
    const lab = new Lab(`fwtun${TAG}x${n}`, `fwt${n}`);
    await sh(["ip", "netns", "del", lab.ns], false);
    await sh(["ip", "netns", "add", lab.ns]);
    await lab.exec(["ip", "link", "set", "lo", "up"]);
    return lab;
  }

  /** Runs a command inside the namespace. */
  exec(cmd: string[], check = true): Promise<{ ok: boolean; out: string }> {
    return sh(["ip", "netns", "exec", this.ns, ...cmd], check);
  }

  /**
   * Creates the interface up front (persistent, as `ip tuntap add` does) with the
   * kernel's address, so `tc` can be set on it before finwait attaches.
   */
  async precreate(): Promise<void> {
    await this.exec(["ip", "tuntap", "add", "dev", this.dev, "mode", "tun"]);
    await this.exec(["ip", "addr", "add", `${KERNEL_IP}/24`, "dev", this.dev]);
    await this.exec(["ip", "link", "set", this.dev, "up"]);
  }

  /** Starts `finwait tun --dev DEV <args>` (with `--json`) inside the namespace. */
  finwait(tunOptions: string[], sub: string[]): CliProcess {
    const p = new CliProcess(["tun", "--dev", this.dev, ...tunOptions, ...sub, "--json"], [
      "ip",
      "netns",
      "exec",
      this.ns,
    ]);
    this.#cli.push(p);
    return p;
  }

  /** Starts the Deno kernel-side helper: `listen` on `host:port` or `connect` to it. */
  kernel(mode: "listen" | "connect", host: string, port: number): JsonProcess {
    return this.spawn([Deno.execPath(), "run", "-A", PEER_SCRIPT, mode, host, String(port)]);
  }

  /** Starts any JSON-lines command inside the namespace (removed in `close()`). */
  spawn(argv: string[]): JsonProcess {
    const p = new JsonProcess(["ip", "netns", "exec", this.ns, ...argv]);
    this.#procs.push(p);
    return p;
  }

  /** Starts the Python SO_LINGER helper. */
  python(mode: "listen" | "connect", host: string, port: number): JsonProcess {
    return this.spawn(["python3", "-u", LINGER_SCRIPT, mode, host, String(port)]);
  }

  /** The kernel's TCP sockets (`ss -Htan`). */
  async ss(): Promise<SsSocket[]> {
    const r = await this.exec(["ss", "-Htan"]);
    return r.out.split("\n").filter((l) => l.trim()).map((l) => {
      const [state, recvQ, sendQ, local, peer] = l.trim().split(/\s+/);
      return { state, recvQ: Number(recvQ), sendQ: Number(sendQ), local, peer };
    });
  }

  /** Polls `ss` until `pred` holds for some socket; throws after `ms`. */
  async waitSocket(pred: (s: SsSocket) => boolean, ms: number, what: string): Promise<SsSocket> {
    const deadline = Date.now() + ms;
    let last: SsSocket[] = [];
    while (Date.now() < deadline) {
      last = await this.ss();
      const hit = last.find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(
      `Timed out waiting for ${what}; ss -tan:\n${last.map((s) => JSON.stringify(s)).join("\n")}`,
    );
  }

  /**
   * Polls `ss` every few ms and collects the states the sockets matching `pred` go
   * through (consecutive repeats once), until stopped.
   */
  watch(pred: (s: SsSocket) => boolean): { stop(): Promise<string[]> } {
    const seen: string[] = [];
    let on = true;
    const loop = (async () => {
      while (on) {
        for (const s of await this.ss()) {
          if (pred(s) && seen.at(-1) !== s.state) seen.push(s.state);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    return {
      async stop() {
        on = false;
        await loop;
        return seen;
      },
    };
  }

  /** `/proc/net/snmp` Tcp counters in the namespace (OutRsts, InCsumErrors, ...). */
  async snmp(): Promise<Record<string, number>> {
    const r = await this.exec(["cat", "/proc/net/snmp"]);
    const tcp = r.out.split("\n").filter((l) => l.startsWith("Tcp:"));
    const keys = tcp[0].split(/\s+/).slice(1);
    const vals = tcp[1].split(/\s+/).slice(1).map(Number);
    return Object.fromEntries(keys.map((k, i) => [k, vals[i]]));
  }

  /**
   * nftables in the namespace: counts RSTs each way and, with `dropFirstFin`, drops the
   * first FIN each way (so both sides must retransmit theirs). Matches the interface
   * by name, so it can be set before finwait creates the interface.
   */
  async nft(dropFirstFin: boolean): Promise<void> {
    // Packets from finwait come in on the interface, the kernel's go out on it.
    const chain = (name: string, hook: string, ifname: string, from: string) => {
      const match = `${ifname} "${this.dev}" tcp flags`;
      return [
        ` chain ${name} { type filter hook ${hook} priority 0; policy accept;`,
        `  ${match} & rst == rst counter name rst_from_${from}`,
        dropFirstFin
          ? `  ${match} & fin == fin numgen inc mod 1000000 == 0 counter name fin_drop_${from} drop`
          : "",
        ` }`,
      ];
    };
    const rules = [
      `table inet fwlab {`,
      ...chain("in", "input", "iifname", "finwait"),
      ...chain("out", "output", "oifname", "kernel"),
      ` counter rst_from_finwait {}`,
      ` counter rst_from_kernel {}`,
      ` counter fin_drop_finwait {}`,
      ` counter fin_drop_kernel {}`,
      `}`,
    ].filter((l) => l !== "").join("\n");
    const file = await Deno.makeTempFile({ suffix: ".nft" });
    try {
      await Deno.writeTextFile(file, rules);
      await this.exec(["nft", "-f", file]);
    } finally {
      await Deno.remove(file);
    }
    this.#nft = true;
  }

  /** Packet counts of the nft counters set by {@linkcode Lab.nft}. */
  async nftCounters(): Promise<Record<string, number>> {
    if (!this.#nft) return {};
    const r = await this.exec(["nft", "-j", "list", "counters", "table", "inet", "fwlab"]);
    const out: Record<string, number> = {};
    for (const item of JSON.parse(r.out).nftables ?? []) {
      if (item.counter) out[item.counter.name] = item.counter.packets;
    }
    return out;
  }

  /** Removes every process, the interface and the namespace. */
  async close(): Promise<void> {
    for (const p of this.#cli) await p.interrupt(3_000).catch(() => {});
    for (const p of this.#procs) p.kill();
    await Promise.all(this.#procs.map((p) => p.done.catch(() => {})));
    await this.exec(["ip", "link", "del", this.dev], false);
    await sh(["ip", "netns", "del", this.ns], false);
  }
}

/** `state` lines of one finwait connection as "FROM → TO (cause)". */
export function finwaitTransitions(lines: NetLine[], conn?: number): string[] {
  return lines.flatMap((l) =>
    l.type === "state" && (conn === undefined || l.conn === conn)
      ? [`${l.from} → ${l.to} (${l.cause})`]
      : []
  );
}

/** The `summary` line. */
export function summaryLine(lines: NetLine[]): Extract<NetLine, { type: "summary" }> | undefined {
  return lines.find((l) => l.type === "summary") as Extract<NetLine, { type: "summary" }>;
}

/** SHA-256 hex of the first `n` bytes of the `finwait connect` pattern. */
export async function patternSha256(n: number): Promise<string> {
  const { patternByte } = await import("../../src/cli/connect_cmd.ts");
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = patternByte(i);
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}
