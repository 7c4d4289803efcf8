/**
 * `finwait listen` and `finwait connect` in the terminal UI. {@linkcode NetTuiSource}
 * adapts one real-time {@linkcode Driver} (its endpoint, and every segment it sends
 * and receives) to the UI's {@linkcode UiSource}: one pane for the local endpoint, the
 * sequence diagram of what it sees, key presses turned into engine calls.
 * {@linkcode runNetTui} runs a command behind the UI and, once the UI has left the
 * screen, prints the lines that matter after the fact: per connection the bytes, the
 * digests and how it closed, then the summary.
 *
 * The UI takes over only on a terminal (stdin and stdout), and never with `--no-tui`
 * or `--json` ({@linkcode wantTui}); otherwise the commands print their lines as before.
 *
 * @module
 */
import type { Driver } from "../../transports/driver.ts";
import type { ConnId, TcbEvent } from "../tcb/events.ts";
import type { State } from "../tcb/state.ts";
import type { KeyBinding } from "../ui/keys.ts";
import type { CommandReply, Target, UiCommand, UiInput, UiSource, UiStatus } from "../ui/source.ts";
import { formatLine, type NetControl, type NetLine } from "./net_args.ts";

/** Which command the UI shows. */
export type NetRole = "listen" | "connect";

/** Bytes `w` writes. */
const WRITE_BYTES = 200;
/** `closed` lines kept for after the UI (older ones are counted, not printed). */
const CLOSED_KEEP = 1000;
/** Inputs held before the UI starts (it starts within milliseconds of the socket). */
const PENDING_MAX = 100_000;

const SENDING: ReadonlySet<State> = new Set(["ESTABLISHED", "CLOSE-WAIT"]);
const CLOSABLE: ReadonlySet<State> = new Set([
  "SYN-SENT",
  "SYN-RECEIVED",
  "ESTABLISHED",
  "CLOSE-WAIT",
]);

/** The keys that apply to one endpoint on a real network (footer and help). */
export function netKeys(role: NetRole): readonly KeyBinding[] {
  const keys: KeyBinding[] = [
    { key: "c", short: "close", help: "close the selected connection (our FIN)" },
    { key: "h", short: "half-close", help: "half-close: shut down our send side; keep reading" },
    { key: "a", short: "abort", help: "abort: one RST, no FIN, no TIME-WAIT" },
    { key: "w", short: "write", help: `write ${WRITE_BYTES} bytes on it` },
  ];
  if (role === "connect") {
    keys.push({
      key: "n",
      short: "new",
      help: "open another connection (sends and closes like the first)",
    });
  }
  keys.push(
    { key: "↑/↓", short: "select", help: "select a connection; ←/→ a page at a time" },
    { key: "?", short: "help", help: "this help (any key closes it)" },
    {
      key: "q",
      short: "quit",
      help: "quit (Ctrl-C too): open connections are aborted, the summary printed",
    },
  );
  return keys;
}

/** Why a key of the demo does nothing on a real network. */
const NOT_HERE: Partial<Record<UiCommand["type"], string>> = {
  "simultaneous-close": "a simultaneous close needs both machines (press c on both at once)",
  pause: "a real network cannot be paused",
  step: "a real network cannot be paused",
  speed: "the clock runs in real time",
  loss: "the loss is the network's (tc netem adds some)",
  storm: "use finwait connect --connections N",
  pcap: "finwait trace writes pcap files",
};

/** What the source uses of a {@linkcode Driver} (tests pass a stand-in). */
export type NetTuiDriver =
  & Pick<Driver, "onEvent" | "now" | "info" | "peerOf" | "close" | "shutdown" | "abort">
  & { readonly transport: { readonly localAddress: string } };

/** Settings of {@linkcode NetTuiSource}. */
export interface NetTuiOptions {
  role: NetRole;
  driver: NetTuiDriver;
  /** The command's own write (and `open` for connect), from its `onDriver` hook. */
  control: NetControl;
  /** Maximum segment lifetime, ms. */
  msl: number;
  /** Called once when the UI stops the source (q, Ctrl-C, an error): ends the command. */
  onStop?: () => void;
}

/**
 * One endpoint driven in real time, as a {@linkcode UiSource}. Every driver event goes
 * to the UI with the driver's time; after each run of events (one microtask later,
 * so commands issued inside the drain are included) comes an `info()` snapshot of every
 * connection they touched, except those in TIME-WAIT (a compact record's info is a
 * table scan; the UI counts TIME-WAIT down by itself) or CLOSED.
 *
 * The remote end shown is the peer's UDP address (`Driver.peerOf`), as in the line
 * output: the endpoint's own remote address is a synthetic one per UDP peer.
 *
 * @example
 * ```ts ignore
 * const source = new NetTuiSource({ role: "listen", driver, control, msl: 30_000 });
 * await runTui({ source });
 * ```
 */
export class NetTuiSource implements UiSource {
  readonly nodes: readonly { address: string; label: string }[];
  readonly keys: readonly KeyBinding[];
  readonly role: NetRole;
  readonly driver: NetTuiDriver;
  #control: NetControl;
  #msl: number;
  #onStop: (() => void) | undefined;
  #address: string;
  #listeners: ((inputs: readonly UiInput[]) => void)[] = [];
  #errorListeners: ((error: unknown) => void)[] = [];
  #pending: UiInput[] = [];
  #touched = new Set<ConnId>();
  #flushQueued = false;
  /** A user call's label, shown at the time of the first event it causes. */
  #call: string | undefined;
  /** Live connections (TIME-WAIT included) and their state, as the events told. */
  #states = new Map<ConnId, State>();
  #peers = new Map<ConnId, { address: string; port: number }>();
  #seen = 0;
  #closed = new Map<string, number>();
  #started = false;
  #stopped = false;
  #unsubscribe: () => void;
  /** The `listening` or `connecting` line. */
  #header: NetLine | undefined;
  #lastClosed: Extract<NetLine, { type: "closed" }> | undefined;
  /** Set once the command has finished on its own (the driver is stopped). */
  #finished: string | undefined;

  constructor(o: NetTuiOptions) {
    this.role = o.role;
    this.driver = o.driver;
    this.#control = o.control;
    this.#msl = o.msl;
    this.#onStop = o.onStop;
    this.#address = o.driver.transport.localAddress;
    this.nodes = [{ address: this.#address, label: o.role }];
    this.keys = netKeys(o.role);
    this.#unsubscribe = o.driver.onEvent((ev) => this.#event(ev));
  }

  // ------------------------------------------------------------ UiSource

  subscribe(listener: (inputs: readonly UiInput[]) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#flush();
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#unsubscribe();
    this.#pending = [];
    this.#touched.clear();
    this.#onStop?.();
  }

  now(): number {
    return this.driver.now();
  }

  onError(listener: (error: unknown) => void): void {
    this.#errorListeners.push(listener);
  }

  status(): UiStatus {
    return {
      title: this.role,
      transport: this.#transportText(),
      msl: this.#msl,
      paused: false,
      note: this.#note(),
      idle: this.#idle(),
    };
  }

  command(cmd: UiCommand): CommandReply {
    if (cmd.type === "quit") return undefined;
    if (this.#stopped || this.#finished !== undefined) return "The command has ended: q quits";
    try {
      switch (cmd.type) {
        case "close":
          return this.#act(cmd.target, "Close", CLOSABLE, (id) => this.driver.close(id));
        case "half-close":
          return this.#act(cmd.target, "Shutdown", SENDING, (id) => this.driver.shutdown(id)) ??
            "Half-close: our FIN is sent; the peer may still send until it closes";
        case "abort":
          return this.#act(cmd.target, "Abort", undefined, (id) => this.driver.abort(id));
        case "write":
          return this.#write(cmd.target);
        case "new":
          return this.#open();
        default:
          return `Not available here: ${NOT_HERE[cmd.type] ?? "not on a real network"}`;
      }
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    } finally {
      // A call that caused no event (a write the window holds back) still shows.
      if (this.#call !== undefined) this.#emitCall(this.driver.now());
      this.#queueFlush();
    }
  }

  // ------------------------------------------------------- from the command

  /** Takes one line of the command's output (for the status line). */
  line(l: NetLine): void {
    if (l.type === "listening" || l.type === "connecting") this.#header = l;
    else if (l.type === "closed") this.#lastClosed = l;
  }

  /** The command has ended on its own (its driver is stopped); `why` goes on the note line. */
  finished(why = "the command has ended"): void {
    this.#finished = why;
  }

  /** The command failed: the UI leaves the screen and the error goes on. */
  fail(error: unknown): void {
    for (const l of this.#errorListeners) l(error);
  }

  // ------------------------------------------------------------ internals

  #event(ev: TcbEvent): void {
    if (this.#stopped) return;
    const conn = ev.conn;
    if (conn !== undefined) {
      if (ev.type === "state-changed") {
        if (ev.to === "CLOSED") this.#forget(conn);
        else {
          if (!this.#states.has(conn)) {
            this.#seen++;
            const peer = this.driver.peerOf(conn);
            if (peer !== undefined) this.#peers.set(conn, splitAddress(peer));
          }
          this.#states.set(conn, ev.to);
        }
      } else if (ev.type === "closed") {
        this.#forget(conn);
        this.#closed.set(ev.reason, (this.#closed.get(ev.reason) ?? 0) + 1);
      }
      this.#touched.add(conn);
    }
    if (!this.#started && this.#pending.length >= PENDING_MAX) return;
    if (this.#call !== undefined) this.#emitCall(ev.now);
    this.#pending.push({ kind: "event", at: ev.now, node: this.#address, event: ev });
    this.#queueFlush();
  }

  #forget(conn: ConnId): void {
    this.#states.delete(conn);
    this.#peers.delete(conn);
  }

  #queueFlush(): void {
    if (this.#flushQueued || !this.#started) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  /** Hands the events so far and snapshots of the connections they touched to the UI. */
  #flush(): void {
    if (!this.#started || this.#stopped) return;
    if (this.#pending.length === 0 && this.#touched.size === 0) return;
    const inputs = this.#pending;
    this.#pending = [];
    const at = this.driver.now();
    for (const id of this.#touched) {
      const state = this.#states.get(id);
      if (state === undefined || state === "TIME-WAIT") continue;
      const info = this.driver.info(id);
      if (!info) continue;
      const peer = this.#peers.get(id);
      inputs.push({
        kind: "snapshot",
        at,
        node: this.#address,
        info: peer ? { ...info, remoteAddress: peer.address, remotePort: peer.port } : info,
      });
    }
    this.#touched.clear();
    for (const l of this.#listeners) l(inputs);
  }

  /** Runs `fn` on the selected connection if its state allows, as a user call. */
  #act(
    target: Target,
    label: string,
    allowed: ReadonlySet<State> | undefined,
    fn: (id: ConnId) => void,
  ): CommandReply {
    const id = target[this.#address];
    const state = id === undefined ? undefined : this.#states.get(id);
    if (id === undefined || state === undefined) return this.#noSelection();
    if (allowed && !allowed.has(state)) {
      return `#${id} is ${state}: ${label === "Close" ? "nothing to close" : `no ${label}`} now`;
    }
    this.#action(label);
    fn(id);
    return undefined;
  }

  #write(target: Target): CommandReply {
    const id = target[this.#address];
    const state = id === undefined ? undefined : this.#states.get(id);
    if (id === undefined || state === undefined) return this.#noSelection();
    if (!SENDING.has(state)) return `#${id} is ${state}: it can no longer send`;
    this.#action(`Send ${WRITE_BYTES}`);
    const n = this.#control.write(id, payload(WRITE_BYTES));
    return n < WRITE_BYTES ? `The send buffer took ${n} of ${WRITE_BYTES} bytes` : undefined;
  }

  #open(): CommandReply {
    const open = this.#control.open;
    if (!open) return "Not available here: listen accepts connections (finwait connect opens them)";
    this.#action("Connect");
    open();
    return undefined;
  }

  #noSelection(): string {
    return this.role === "connect"
      ? "No open connection is selected (n opens one)"
      : "No open connection is selected (wait for finwait connect)";
  }

  /**
   * A user call, shown in the diagram before what it causes, with the time of its
   * first event (so the UI ties it to that connection).
   */
  #action(label: string): void {
    this.#call = label;
  }

  #emitCall(at: number): void {
    const label = this.#call!;
    this.#call = undefined;
    this.#pending.push({ kind: "action", at, node: this.#address, label });
  }

  #idle(): boolean {
    return this.#finished !== undefined ||
      (this.role === "connect" && this.#seen > 0 && this.#states.size === 0);
  }

  #transportText(): string {
    const h = this.#header;
    if (h?.type === "listening") return `udp ${h.address} (TCP port ${h.tcpPort}) · ${h.mode}`;
    if (h?.type === "connecting") return `udp ${h.from} → ${h.to}`;
    return `udp ${this.#address}`;
  }

  #note(): string {
    if (this.#finished !== undefined) return `Finished: ${this.#finished} · q prints the summary`;
    const live = this.#states.size;
    let timeWait = 0;
    for (const s of this.#states.values()) if (s === "TIME-WAIT") timeWait++;
    const last = this.#lastClosed;
    const lastText = last
      ? `#${last.conn} closed (${last.reason}): received ${last.bytesIn} B sha256 ${
        last.sha256In.slice(0, 8)
      }…, sent ${last.bytesOut} B (${last.bytesAcked} acknowledged)`
      : undefined;
    if (this.role === "connect" && this.#idle()) {
      const counts = [...this.#closed].map(([r, n]) => `${n} ${r}`).join(", ");
      return `Every connection CLOSED (${counts}) · n opens another · q quits, prints the summary`;
    }
    if (timeWait > 0 && timeWait === live) {
      return `TIME-WAIT: 2·MSL (${seconds(2 * this.#msl)}) before CLOSED · ` +
        "q quits now (aborts it)";
    }
    if (lastText) return `${lastText} · q quits`;
    if (live === 0) {
      return this.role === "listen"
        ? `Waiting for finwait connect ${this.#listenAddress()} · q quits, prints the summary`
        : "q quits, prints the summary";
    }
    return "c closes the selected connection, h half-closes, a aborts, w writes · " +
      "q quits (open connections are aborted)";
  }

  #listenAddress(): string {
    const h = this.#header;
    return h?.type === "listening" ? h.address : this.#address;
  }
}

/** `"[::1]:9811"` → `{ address: "[::1]", port: 9811 }` (brackets kept, for display). */
function splitAddress(text: string): { address: string; port: number } {
  const i = text.lastIndexOf(":");
  return { address: text.slice(0, i), port: Number(text.slice(i + 1)) };
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toPrecision(3))} s`;
}

function payload(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const text = new TextEncoder().encode("finwait ");
  for (let i = 0; i < n; i++) out[i] = text[i % text.length];
  return out;
}

// ------------------------------------------------------------------ running

/** Whether `listen`/`connect` show the UI: a terminal, and neither `--no-tui` nor `--json`. */
export function wantTui(
  o: { tui: boolean; json: boolean },
  interactive: boolean = Deno.stdin.isTerminal() && Deno.stdout.isTerminal(),
): boolean {
  return o.tui && !o.json && interactive;
}

/** The hooks {@linkcode runNetTui} gives the command (those of `runListen`, `runConnect`). */
export interface NetTuiHooks {
  onLine(line: NetLine): void;
  onDriver(driver: Driver, control: NetControl): void;
  signal: AbortSignal;
  events: "all";
  /** `connect`: stay once every connection closed, until the user quits. */
  waitForSignal: true;
}

/** Settings of {@linkcode runNetTui}. */
export interface RunNetTuiOptions<R> {
  role: NetRole;
  /** Maximum segment lifetime, ms. */
  msl: number;
  /** Where the lines after the UI go. */
  out: (line: string) => void;
  /** Runs the command with the hooks. */
  run(hooks: NetTuiHooks): Promise<R>;
  /** Ends the command from outside (SIGINT, SIGTERM). */
  signal?: AbortSignal;
  /** Shows the source until the user quits; default the Ink UI (`runTui`). */
  show?(source: NetTuiSource): Promise<void>;
}

/**
 * Runs a command behind the terminal UI. An error before the socket is open (a bad
 * address, a port in use) is thrown before the UI starts. When the user quits, the
 * command stops as on SIGINT (open connections aborted); then the `listening` or
 * `connecting` line, the `closed` line of every connection, notes and the summary
 * are printed, and the command's result is returned.
 */
export async function runNetTui<R>(o: RunNetTuiOptions<R>): Promise<R> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  if (o.signal?.aborted) stop();
  o.signal?.addEventListener("abort", stop, { once: true });
  const kept: NetLine[] = [];
  const closed: NetLine[] = [];
  let closedLines = 0;
  let source: NetTuiSource | undefined;
  let attached!: () => void;
  const ready = new Promise<void>((resolve) => attached = resolve);
  const running = o.run({
    onLine: (l) => {
      source?.line(l);
      if (l.type === "closed") closedLines++;
      if (l.type === "state") return;
      if (l.type !== "closed") kept.push(l);
      else if (closed.push(l) > CLOSED_KEEP) closed.shift();
    },
    onDriver: (driver, control) => {
      source = new NetTuiSource({ role: o.role, driver, control, msl: o.msl, onStop: stop });
      attached();
    },
    signal: ac.signal,
    events: "all",
    waitForSignal: true,
  });
  try {
    await Promise.race([ready, running]);
    if (source) {
      const s = source;
      running.then(
        () => s.finished(lastNote(kept)),
        (e) => s.fail(e),
      );
      const show = o.show ?? (async (src: NetTuiSource) => {
        // Ink (and React) load only for the terminal UI.
        const { runTui } = await import("../ui/tui.tsx");
        await runTui({ source: src });
      });
      await show(s);
    }
  } catch (e) {
    stop();
    await running.catch(() => {});
    throw e;
  } finally {
    stop();
    o.signal?.removeEventListener("abort", stop);
  }
  const result = await running;
  // As the line output orders them: the header, every connection's end, notes, summary.
  const header = (l: NetLine) => l.type === "listening" || l.type === "connecting";
  for (const l of kept) if (header(l)) o.out(formatLine(l));
  if (closedLines > closed.length) {
    o.out(`(${closedLines - closed.length} earlier closed connection(s) not shown)`);
  }
  for (const l of closed) o.out(formatLine(l));
  for (const l of kept) if (!header(l)) o.out(formatLine(l));
  return result;
}

function lastNote(lines: readonly NetLine[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i];
    if (l.type === "note") return l.text;
  }
  return undefined;
}
