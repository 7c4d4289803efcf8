/**
 * Runs a packetdrill script against one finwait {@linkcode Endpoint} in virtual
 * time. Sans-IO: the caller passes the script text; nothing here reads a clock or
 * a file.
 *
 * - Inbound packets (`<`) are built from the script, their sequence numbers
 *   offset by the remote ISN the runner picks and their ACKs by the engine's ISN
 *   (learned from its SYN or SYN,ACK, as packetdrill does), encoded with a valid
 *   checksum and handed to `handleDatagram`.
 * - Outbound packets (`>`) must come from the engine within the time tolerance
 *   (default 4 ms) and match: flags, sequence range, `ack`, `win` and options when
 *   written. A segment the script does not expect fails the script.
 * - System calls act on the endpoint with file-descriptor bookkeeping and Linux
 *   errno results.
 *
 * @example
 * ```ts
 * import { runDrill } from "./runner.ts";
 * const r = runDrill(
 *   [
 *     "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
 *     "+0 bind(3, ..., ...) = 0",
 *     "+0 listen(3, 1) = 0",
 *     "+0 < S 0:0(0) win 65535 <mss 1460>",
 *     "+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>",
 *   ].join("\n"),
 *   "listen.pkt",
 * );
 * if (!r.passed) throw new Error(r.failure?.actual);
 * ```
 *
 * @module
 */
import { ConnectionStateError, Endpoint } from "../endpoint/endpoint.ts";
import { addrSum, parseIp } from "../wire/checksum.ts";
import {
  ACK,
  decode,
  encode,
  encodedLength,
  newSegment,
  type Segment,
  SYN,
} from "../wire/segment.ts";
import type { CloseReason, ConnId } from "../tcb/events.ts";
import type { TcbOptions } from "../tcb/options.ts";
import type { State } from "../tcb/state.ts";
import { differences, formatSent, type SeqBase } from "./format.ts";
import { parseScript } from "./parser.ts";
import { findProfile, type Profile, type ProfileName, profileTcbOptions } from "./profiles.ts";
import type {
  Expr,
  IgnoredLine,
  PacketSpec,
  ParseError,
  Script,
  ScriptEvent,
  SyscallSpec,
  TimeValue,
} from "./script.ts";
import { CONSTANTS, ERRNO, errnoName } from "./symbols.ts";

/** The engine's address (packetdrill's default local address). */
export const LOCAL_ADDRESS = "192.168.0.1";
/** The scripted peer's address (packetdrill's default remote address). */
export const REMOTE_ADDRESS = "192.0.2.1";
/** The port `bind` gives a socket, and the port `connect` connects to. */
export const SCRIPT_PORT = 8080;
/** The peer's port when it connects to a listener. */
export const REMOTE_EPHEMERAL_PORT = 48_879;
/** The peer's ISN: inbound sequence numbers are written relative to it. */
export const REMOTE_ISN = 1_000_000;
/** packetdrill's default time tolerance. */
export const DEFAULT_TOLERANCE_MS = 4;

/** Run settings. */
export interface DrillOptions {
  /** Defaults of the kernel the script was written for. Default "finwait". */
  profile?: ProfileName;
  /** How far (ms) an outbound packet may be from its scripted time. Default 4. */
  toleranceMs?: number;
}

/** Why a script failed at run time. */
export interface DrillFailure {
  /** The line of the script. */
  line: number;
  /** That line as written. */
  expected: string;
  /** What the engine did instead, in plain words. */
  actual: string;
}

/** The outcome of one script. */
export interface DrillResult {
  name: string;
  passed: boolean;
  /** Set when a step failed. */
  failure?: DrillFailure;
  /** Set when the script is malformed (nothing was run). */
  errors: ParseError[];
  /** Lines not applied: `--` options, shell and Python lines, /udp suffixes. */
  ignored: IgnoredLine[];
  /** The timeline, one line per step and engine event, for `--verbose`. */
  log: string[];
  /** Events run (all of them when it passed). */
  eventsRun: number;
  /** Virtual time at the end, ms. */
  endMs: number;
}

/** Parses and runs `source`. */
export function runDrill(source: string, name: string, opts: DrillOptions = {}): DrillResult {
  const parsed = parseScript(source, name);
  if (!parsed.ok) {
    return {
      name,
      passed: false,
      errors: parsed.errors,
      ignored: parsed.ignored,
      log: [],
      eventsRun: 0,
      endMs: 0,
    };
  }
  return runScript(parsed.script, opts);
}

/** Runs a parsed script. Never throws for script or engine trouble: it fails the script. */
export function runScript(script: Script, opts: DrillOptions = {}): DrillResult {
  const profile = findProfile(opts.profile ?? "finwait");
  if (!profile) throw new RangeError(`Unknown profile "${opts.profile}"`);
  const run = new Run(profile, opts.toleranceMs ?? DEFAULT_TOLERANCE_MS);
  let failure: DrillFailure | undefined;
  let eventsRun = 0;
  try {
    for (const ev of script.events) {
      run.step(ev);
      eventsRun++;
    }
    run.finish(script.events.at(-1));
  } catch (e) {
    if (e instanceof StepFailure) {
      failure = { line: e.line, expected: e.expected, actual: e.message };
    } else {
      // The engine (or the runner) broke an invariant: report it as a failure of the
      // step being run, never as a stack trace.
      const ev = script.events[eventsRun];
      const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      failure = {
        line: ev?.line ?? 0,
        expected: ev?.text ?? "(end of script)",
        actual: `the engine threw an error (a bug): ${msg}`,
      };
    }
  }
  if (failure) run.log.push(`FAILED at line ${failure.line}: ${failure.actual}`);
  return {
    name: script.name,
    passed: failure === undefined,
    ...(failure ? { failure } : {}),
    errors: [],
    ignored: script.ignored,
    log: run.log,
    eventsRun,
    endMs: run.now,
  };
}

// ------------------------------------------------------------------ internals

class StepFailure extends Error {
  constructor(readonly line: number, readonly expected: string, message: string) {
    super(message);
  }
}

/** What a system call returned, or that it blocks (with a way to try again). */
type Outcome =
  | { ret: number; errno?: string; note?: string }
  | { block: string; retry: () => Outcome };

interface Sock {
  fd: number;
  kind: "socket" | "listener" | "conn";
  nonblocking: boolean;
  /** Settings made before connect/listen; they become the connection's options. */
  tcb: Partial<TcbOptions>;
  /** SO_LINGER {onoff=1, linger=0}. */
  linger0: boolean;
  /** linger0 was set before the connection opened, so the engine applies it itself. */
  lingerInEngine: boolean;
  boundPort?: number;
  port?: number;
  conn?: ConnId;
  /** Pending error for SO_ERROR, read, write (errno name). */
  error?: string;
  closedReason?: CloseReason;
  /** The last state the connection was seen in. */
  lastState: State;
  shutWr: boolean;
  shutRd: boolean;
}

interface Sent {
  seg: Segment;
  at: number;
}

interface PendingCall {
  ev: ScriptEvent;
  spec: SyscallSpec;
  retry: () => Outcome;
  reason: string;
  endAt: number;
}

const SYSCALL_NAMES = [
  "socket",
  "bind",
  "listen",
  "accept",
  "connect",
  "write",
  "send",
  "read",
  "recv",
  "shutdown",
  "close",
  "setsockopt",
  "getsockopt",
  "fcntl",
];

const PEER_CLOSED_STATES: ReadonlySet<State> = new Set([
  "CLOSE-WAIT",
  "LAST-ACK",
  "CLOSING",
  "TIME-WAIT",
]);

class Run {
  readonly log: string[] = [];
  now = 0;
  readonly #ep: Endpoint;
  readonly #profile: Profile;
  readonly #tol: number;
  readonly #sum: number;
  #prevTime = 0;
  #base: SeqBase = { local: 0, remote: REMOTE_ISN, tsOffset: undefined };
  #localIsnKnown = false;
  /** Engine TSval minus virtual ms, from the first segment with timestamps. */
  #tsClock: number | undefined;
  #sent: Sent[] = [];
  #socks = new Map<number, Sock>();
  #byConn = new Map<ConnId, Sock>();
  #accepted = new Set<ConnId>();
  #tuple = { local: SCRIPT_PORT, remote: REMOTE_EPHEMERAL_PORT };
  #current: ConnId | undefined;
  #pending: PendingCall | undefined;
  #lastLine = 0;

  constructor(profile: Profile, tolerance: number) {
    this.#profile = profile;
    this.#tol = tolerance;
    this.#ep = new Endpoint({
      address: LOCAL_ADDRESS,
      secret: new Uint8Array(16).fill(0x5a),
      tcb: profileTcbOptions(profile),
    });
    this.#sum = addrSum(parseIp(LOCAL_ADDRESS)!, parseIp(REMOTE_ADDRESS)!);
  }

  // ------------------------------------------------------------- the steps

  step(ev: ScriptEvent): void {
    this.#lastLine = ev.line;
    const t = ev.time;
    if (ev.body.type === "packet" && ev.body.direction === "outbound") {
      let lo = -Infinity, hi = Infinity, point = this.#prevTime;
      if (!t.any) {
        point = this.#timeOf(t.start, ev);
        const end = t.rangeEnd ? this.#timeOf(t.rangeEnd, ev) : point;
        if (end < point) this.#fail(ev, `The time range ends (${sec(end)}) before it starts`);
        lo = point - this.#tol;
        hi = end + this.#tol;
      }
      const at = this.#expectOutbound(ev, ev.body, lo, hi, t.any ? "any time" : sec(point));
      this.#prevTime = t.any || t.rangeEnd ? at : point;
      return;
    }
    if (t.any) this.#fail(ev, 'The time "*" is only for outbound packets');
    const at = this.#timeOf(t.start, ev);
    this.#advanceTo(at, ev);
    this.#checkNothingSentBefore(at - this.#tol, ev);
    if (ev.body.type === "packet") this.#inject(ev, ev.body);
    else this.#syscall(ev, ev.body);
    this.#prevTime = at;
  }

  finish(last: ScriptEvent | undefined): void {
    const line = last?.line ?? 0;
    const text = last?.text ?? "(end of script)";
    if (this.#pending) {
      const p = this.#pending;
      throw new StepFailure(
        p.ev.line,
        p.ev.text,
        `${callText(p.spec)} was still blocked when the script ended (${p.reason})`,
      );
    }
    const s = this.#sent[0];
    if (s) {
      throw new StepFailure(
        line,
        text,
        `after the last line, the engine sent \`${this.#fmt(s.seg)}\` at ${sec(s.at)}, ` +
          `which the script does not expect${this.#stateNote()}`,
      );
    }
  }

  #timeOf(v: TimeValue, ev: ScriptEvent): number {
    const t = v.relative ? this.#prevTime + v.ms : v.ms;
    if (t < this.#prevTime - 1e-9) {
      this.#fail(ev, `The time ${sec(t)} is before the previous event (${sec(this.#prevTime)})`);
    }
    return t;
  }

  // --------------------------------------------------------------- time

  /** Fires engine timers due up to `t`, then sets the clock to `t`. */
  #advanceTo(t: number, ev: ScriptEvent): void {
    let guard = 0;
    for (;;) {
      const next = this.#ep.pollTimeout();
      if (next > t) break;
      this.#fireAt(next);
      if (++guard > 1_000_000) this.#fail(ev, "the engine's timers never settle (a timer loop)");
    }
    this.now = Math.max(this.now, t);
    this.#checkPendingDeadline();
  }

  #fireAt(t: number): void {
    this.now = Math.max(this.now, t);
    this.#checkPendingDeadline();
    this.#ep.handleTimeout(this.now);
    this.#drain();
    this.#checkPending();
  }

  // ------------------------------------------------------------ packets

  #expectOutbound(ev: ScriptEvent, spec: PacketSpec, lo: number, hi: number, when: string) {
    let guard = 0;
    while (this.#sent.length === 0) {
      const next = this.#ep.pollTimeout();
      if (next > hi) {
        const by = Number.isFinite(hi) ? ` by ${sec(hi)}` : "";
        const timer = this.#nextTimerNote();
        this.#fail(ev, `the engine sent nothing${by}${this.#stateNote()}${timer}`);
      }
      this.#fireAt(next);
      if (++guard > 1_000_000) this.#fail(ev, "the engine's timers never settle (a timer loop)");
    }
    const s = this.#sent.shift()!;
    if (s.at < lo) {
      this.#fail(
        ev,
        `the engine sent \`${this.#fmt(s.seg)}\` at ${sec(s.at)}, before the scripted ` +
          `time ${when} (tolerance ${this.#tol} ms)${this.#stateNote()}`,
      );
    }
    if (s.at > hi) {
      this.#fail(
        ev,
        `the engine sent \`${this.#fmt(s.seg)}\` at ${sec(s.at)}, after the scripted ` +
          `time ${when} (tolerance ${this.#tol} ms)`,
      );
    }
    // Learn the engine's ISN from its SYN (packetdrill does the same), and the offset
    // of its timestamp clock from the first TS val the script writes.
    if (s.seg.flags & SYN) {
      // Every SYN the engine sends fixes its ISN (a reopened 4-tuple has a new one).
      const start = (spec.flags & SYN) ? spec.start : 0;
      this.#base.local = (s.seg.seq - start + 2 ** 32) % 2 ** 32;
      this.#localIsnKnown = true;
    }
    const ports: string[] = [];
    if (s.seg.dstPort !== this.#tuple.remote || s.seg.srcPort !== this.#tuple.local) {
      ports.push(
        `ports ${s.seg.srcPort} > ${s.seg.dstPort} where the script's connection is ` +
          `${this.#tuple.local} > ${this.#tuple.remote}`,
      );
    }
    const diffs = [...ports, ...differences(s.seg, spec, this.#base)];
    if (diffs.length > 0) {
      this.#fail(
        ev,
        `the engine sent \`${this.#fmt(s.seg)}\` at ${sec(s.at)}: ${diffs.join("; ")}` +
          this.#stateNote(),
      );
    }
    if (spec.options !== "any" && s.seg.tsVal !== undefined && this.#base.tsOffset === undefined) {
      const ts = spec.options?.find((o) => o.kind === "ts");
      if (ts && ts.kind === "ts") this.#base.tsOffset = (s.seg.tsVal - ts.val + 2 ** 32) % 2 ** 32;
    }
    this.log.push(`${sec(s.at)}  line ${ev.line}  > ${this.#fmt(s.seg)}   (engine, as expected)`);
    return s.at;
  }

  #checkNothingSentBefore(limit: number, ev: ScriptEvent): void {
    const s = this.#sent[0];
    if (s && s.at < limit) {
      this.#fail(
        ev,
        `before this line the engine sent \`${this.#fmt(s.seg)}\` at ${sec(s.at)}, ` +
          `which the script does not expect${this.#stateNote()}`,
      );
    }
  }

  #inject(ev: ScriptEvent, spec: PacketSpec): void {
    const opts = spec.options === "any" ? [] : spec.options ?? [];
    const seg = newSegment({
      srcPort: this.#tuple.remote,
      dstPort: this.#tuple.local,
      seq: (REMOTE_ISN + spec.start) % 2 ** 32,
      ack: spec.ack === undefined ? 0 : (this.#base.local + spec.ack) % 2 ** 32,
      flags: spec.flags,
      window: spec.win ?? 0,
      urgent: spec.urg ?? 0,
      payload: new Uint8Array(spec.len),
    });
    for (const o of opts) {
      if (o.kind === "mss") seg.mss = o.value;
      else if (o.kind === "wscale") seg.windowScale = o.value;
      else if (o.kind === "sackOK") seg.sackPermitted = true;
      else if (o.kind === "ts") {
        seg.tsVal = o.val;
        seg.tsEcr = o.ecr === 0 ? 0 : (o.ecr + this.#tsOffsetForEcr()) % 2 ** 32;
      }
    }
    if (spec.ack !== undefined && !this.#localIsnKnown && (spec.flags & ACK)) {
      this.log.push(
        `${
          sec(this.now)
        }  line ${ev.line}  (the engine's ISN is not known yet: ack taken as absolute)`,
      );
    }
    const bytes = new Uint8Array(encodedLength(seg));
    encode(seg, bytes, 0, this.#sum);
    this.log.push(
      `${sec(this.now)}  line ${ev.line}  < ${ev.text.replace(/^\S+\s+<\s*/, "")}   (injected)`,
    );
    this.#ep.handleDatagram(bytes, REMOTE_ADDRESS, this.now);
    this.#drain();
    this.#checkPending();
  }

  #tsOffsetForEcr(): number {
    // Script TS values map to the engine's clock through the offset learned from the
    // first outbound TS val the script wrote; without one, script values are
    // virtual milliseconds.
    return this.#base.tsOffset ?? this.#tsClock ?? 0;
  }

  /** The drain rule: transmits, then events. */
  #drain(): void {
    const ep = this.#ep;
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
      const r = decode(t.bytes, this.#sum);
      if (!r.ok) {
        throw new Error(`The engine sent a segment that does not decode: ${r.reason}`);
      }
      const seg = { ...r.segment, payload: r.segment.payload.slice() };
      if (seg.tsVal !== undefined && this.#tsClock === undefined) {
        this.#tsClock = (seg.tsVal - Math.floor(this.now) + 2 ** 32) % 2 ** 32;
      }
      this.#sent.push({ seg, at: this.now });
    }
    for (let e = ep.pollEvent(); e; e = ep.pollEvent()) {
      switch (e.type) {
        case "state-changed": {
          const sock = this.#byConn.get(e.conn);
          if (sock && e.to !== "CLOSED") sock.lastState = e.to;
          this.log.push(
            `${sec(e.now)}           connection ${e.conn}: ${e.from} → ${e.to} (${e.cause})`,
          );
          break;
        }
        case "closed": {
          const sock = this.#byConn.get(e.conn);
          if (sock) {
            sock.closedReason = e.reason;
            const err = closeErrno(e.reason, sock.lastState);
            if (err) sock.error = err;
          }
          this.log.push(`${sec(e.now)}           connection ${e.conn} closed (${e.reason})`);
          break;
        }
        case "segment-dropped":
          this.log.push(
            `${sec(e.now)}           engine dropped a segment: ${e.reason}` +
              (e.detail ? ` (${e.detail})` : ""),
          );
          break;
        case "peer-closed":
          this.log.push(`${sec(e.now)}           connection ${e.conn}: the peer closed (FIN)`);
          break;
      }
    }
  }

  // ------------------------------------------------------------ syscalls

  #syscall(ev: ScriptEvent, spec: SyscallSpec): void {
    if (!SYSCALL_NAMES.includes(spec.name)) {
      this.#fail(
        ev,
        `the system call ${spec.name}() is not supported by finwait drill ` +
          `(supported: ${SYSCALL_NAMES.join(", ")})`,
      );
    }
    if (this.#pending && ev.time.blockingEnd) {
      this.#fail(ev, "only one blocking call may be outstanding at a time");
    }
    const out = this.#call(ev, spec);
    this.#drain();
    if ("block" in out) {
      if (!ev.time.blockingEnd) {
        this.#fail(
          ev,
          `${callText(spec)} would block at ${sec(this.now)} (${out.block}); make the socket ` +
            "non-blocking (fcntl O_NONBLOCK) or write the time as start...end",
        );
      }
      const endAt = this.#timeOf(ev.time.blockingEnd!, ev);
      this.#pending = { ev, spec, retry: out.retry, reason: out.block, endAt };
      this.log.push(`${sec(this.now)}  line ${ev.line}  ${callText(spec)} blocks (${out.block})`);
      return;
    }
    if (ev.time.blockingEnd) {
      const endAt = this.#timeOf(ev.time.blockingEnd, ev);
      if (Math.abs(endAt - this.now) > this.#tol) {
        this.#fail(
          ev,
          `${callText(spec)} returned at once (${sec(this.now)}), not at ${sec(endAt)}`,
        );
      }
    }
    this.#checkResult(ev, spec, out);
    this.#checkPending();
  }

  #checkResult(
    ev: ScriptEvent,
    spec: SyscallSpec,
    out: { ret: number; errno?: string; note?: string },
  ) {
    this.#drain();
    const got = out.ret === -1 ? `-1 ${out.errno}` : String(out.ret);
    const want = spec.ret === -1 ? `-1 ${spec.errno}` : String(spec.ret);
    const sameErrno = spec.errno === undefined ||
      (out.errno !== undefined && ERRNO[out.errno] === ERRNO[spec.errno]);
    if (out.ret !== spec.ret || !sameErrno) {
      this.#fail(
        ev,
        `${callText(spec)} returned ${got} where the script expects ${want}` +
          (out.note ? ` (${out.note})` : "") + this.#stateNote(),
      );
    }
    this.log.push(
      `${sec(this.now)}  line ${ev.line}  ${callText(spec)} = ${got}` +
        (out.note ? `   (${out.note})` : ""),
    );
  }

  #checkPending(): void {
    const p = this.#pending;
    if (!p) return;
    const out = p.retry();
    if ("block" in out) {
      p.retry = out.retry;
      p.reason = out.block;
      return;
    }
    this.#pending = undefined;
    if (Math.abs(this.now - p.endAt) > this.#tol) {
      this.#fail(
        p.ev,
        `${callText(p.spec)} returned at ${sec(this.now)}, the script expects it to return at ` +
          `${sec(p.endAt)}`,
      );
    }
    this.#checkResult(p.ev, p.spec, out);
  }

  #checkPendingDeadline(): void {
    const p = this.#pending;
    if (p && this.now > p.endAt + this.#tol) {
      this.#fail(
        p.ev,
        `${callText(p.spec)} was still blocked at ${
          sec(p.endAt)
        } (${p.reason})${this.#stateNote()}`,
      );
    }
  }

  #call(ev: ScriptEvent, spec: SyscallSpec): Outcome {
    switch (spec.name) {
      case "socket":
        return this.#socket(ev, spec);
      case "bind":
        return this.#withSock(ev, spec, (s) => this.#bind(s));
      case "listen":
        return this.#withSock(ev, spec, (s) => this.#listen(ev, spec, s));
      case "accept":
        return this.#withSock(ev, spec, (s) => this.#accept(s));
      case "connect":
        return this.#withSock(ev, spec, (s) => this.#connect(s));
      case "write":
      case "send":
        return this.#withSock(ev, spec, (s) => this.#write(ev, spec, s));
      case "read":
      case "recv":
        return this.#withSock(ev, spec, (s) => this.#read(ev, spec, s));
      case "shutdown":
        return this.#withSock(ev, spec, (s) => this.#shutdown(ev, spec, s));
      case "close":
        return this.#withSock(ev, spec, (s) => this.#close(s));
      case "setsockopt":
        return this.#withSock(ev, spec, (s) => this.#setsockopt(ev, spec, s));
      case "getsockopt":
        return this.#withSock(ev, spec, (s) => this.#getsockopt(ev, spec, s));
      case "fcntl":
        return this.#withSock(ev, spec, (s) => this.#fcntl(ev, spec, s));
    }
    this.#fail(ev, `the system call ${spec.name}() is not supported by finwait drill`);
  }

  #withSock(ev: ScriptEvent, spec: SyscallSpec, f: (s: Sock) => Outcome): Outcome {
    const a = spec.args[0];
    if (!a || a.kind !== "int") {
      this.#fail(ev, `the first argument of ${spec.name}() must be a file descriptor number`);
    }
    const s = this.#socks.get(a.value);
    if (!s) return { ret: -1, errno: "EBADF", note: `fd ${a.value} is not open` };
    return f(s);
  }

  #socket(ev: ScriptEvent, spec: SyscallSpec): Outcome {
    const type = spec.args[1];
    if (type && type.kind !== "ellipsis" && this.#int(ev, type) !== CONSTANTS.SOCK_STREAM) {
      return { ret: -1, errno: "EPROTONOSUPPORT", note: "finwait drill opens TCP sockets only" };
    }
    let fd = 3;
    while (this.#socks.has(fd)) fd++;
    this.#socks.set(fd, {
      fd,
      kind: "socket",
      nonblocking: false,
      tcb: {},
      linger0: false,
      lingerInEngine: false,
      lastState: "CLOSED",
      shutWr: false,
      shutRd: false,
    });
    return { ret: fd };
  }

  #bind(s: Sock): Outcome {
    if (s.kind !== "socket" || s.boundPort !== undefined) {
      return { ret: -1, errno: "EINVAL", note: `fd ${s.fd} is already bound` };
    }
    s.boundPort = SCRIPT_PORT;
    return { ret: 0 };
  }

  #listen(ev: ScriptEvent, spec: SyscallSpec, s: Sock): Outcome {
    if (s.kind === "listener") return { ret: 0 };
    if (s.kind !== "socket") return { ret: -1, errno: "EINVAL", note: `fd ${s.fd} is connected` };
    const backlog = spec.args[1] ? this.#int(ev, spec.args[1]) : 1;
    const port = s.boundPort ?? SCRIPT_PORT;
    try {
      // Linux queues up to backlog + 1 established connections.
      this.#ep.listen(port, {
        backlog: Math.max(1, backlog) + 1,
        autoAccept: false,
        tcb: this.#openOptions(s),
      });
    } catch (e) {
      if (e instanceof Error && e.name === "AddressInUseError") {
        return { ret: -1, errno: "EADDRINUSE", note: e.message };
      }
      throw e;
    }
    s.kind = "listener";
    s.port = port;
    this.#tuple = { local: port, remote: REMOTE_EPHEMERAL_PORT };
    return { ret: 0 };
  }

  #openOptions(s: Sock): Partial<TcbOptions> {
    s.lingerInEngine = s.linger0;
    return s.linger0 ? { ...s.tcb, lingerZero: true } : { ...s.tcb };
  }

  #accept(s: Sock): Outcome {
    if (s.kind !== "listener") {
      return { ret: -1, errno: "EINVAL", note: `fd ${s.fd} is not listening` };
    }
    const id = this.#ep.accept(s.port!);
    if (id === undefined) {
      const reason = "no connection is established yet";
      if (s.nonblocking) return { ret: -1, errno: "EAGAIN", note: reason };
      return { block: reason, retry: () => this.#accept(s) };
    }
    let fd = 3;
    while (this.#socks.has(fd)) fd++;
    const c: Sock = {
      fd,
      kind: "conn",
      nonblocking: false,
      tcb: { ...s.tcb },
      linger0: s.linger0,
      lingerInEngine: s.lingerInEngine,
      conn: id,
      lastState: this.#ep.state(id),
      shutWr: false,
      shutRd: false,
    };
    this.#socks.set(fd, c);
    this.#byConn.set(id, c);
    this.#accepted.add(id);
    this.#current = id;
    return { ret: fd, note: `connection ${id}` };
  }

  #connect(s: Sock): Outcome {
    if (s.kind === "listener") return { ret: -1, errno: "EINVAL", note: `fd ${s.fd} is listening` };
    if (s.kind === "conn") {
      if (s.error) return this.#takeError(s);
      const st = this.#ep.state(s.conn!);
      if (st === "SYN-SENT" || st === "SYN-RECEIVED") {
        return { ret: -1, errno: "EALREADY", note: `the connection is in ${st}` };
      }
      if (st === "CLOSED") return { ret: -1, errno: "EBADF", note: "the connection is closed" };
      return { ret: -1, errno: "EISCONN", note: `the connection is in ${st}` };
    }
    let id: ConnId;
    try {
      id = this.#ep.connect(REMOTE_ADDRESS, SCRIPT_PORT, this.now, {
        ...(s.boundPort !== undefined ? { localPort: s.boundPort } : {}),
        tcb: this.#openOptions(s),
      });
    } catch (e) {
      if (e instanceof Error && e.name === "AddressInUseError") {
        return { ret: -1, errno: "EADDRINUSE", note: e.message };
      }
      throw e;
    }
    s.kind = "conn";
    s.conn = id;
    s.lastState = "SYN-SENT";
    this.#byConn.set(id, s);
    this.#current = id;
    this.#tuple = { local: this.#ep.info(id)!.localPort, remote: SCRIPT_PORT };
    if (s.nonblocking) {
      return { ret: -1, errno: "EINPROGRESS", note: "the SYN is sent; the handshake goes on" };
    }
    const wait = (): Outcome => {
      if (s.error) return this.#takeError(s);
      const st = this.#ep.state(id);
      if (st === "SYN-SENT" || st === "SYN-RECEIVED") {
        return { block: "the handshake is not complete", retry: wait };
      }
      return { ret: 0 };
    };
    return wait();
  }

  #takeError(s: Sock): Outcome {
    const errno = s.error!;
    s.error = undefined;
    return { ret: -1, errno, note: "the pending socket error" };
  }

  #write(ev: ScriptEvent, spec: SyscallSpec, s: Sock): Outcome {
    const count = this.#int(ev, spec.args[2], "the byte count");
    const dontWait = spec.name === "send" && spec.args[3] !== undefined &&
      (this.#int(ev, spec.args[3]) & CONSTANTS.MSG_DONTWAIT) !== 0;
    if (s.kind !== "conn") return { ret: -1, errno: "EPIPE", note: `fd ${s.fd} is not connected` };
    if (s.error) return this.#takeError(s);
    if (s.shutWr) return { ret: -1, errno: "EPIPE", note: "the socket was shut down for writing" };
    if (this.#ep.state(s.conn!) === "CLOSED") {
      return { ret: -1, errno: "EPIPE", note: "the connection is closed" };
    }
    const attempt = (): Outcome => {
      let n: number;
      try {
        n = this.#ep.send(s.conn!, new Uint8Array(count), this.now);
      } catch (e) {
        if (e instanceof ConnectionStateError) return { ret: -1, errno: "EPIPE", note: e.message };
        if (e instanceof Error && e.name === "ConnectionNotFoundError") {
          return { ret: -1, errno: s.error ?? "EPIPE", note: "the connection is closed" };
        }
        throw e;
      }
      if (n === 0 && count > 0) {
        const reason = "the send buffer is full";
        if (s.nonblocking || dontWait) return { ret: -1, errno: "EAGAIN", note: reason };
        return { block: reason, retry: attempt };
      }
      return { ret: n };
    };
    return attempt();
  }

  #read(ev: ScriptEvent, spec: SyscallSpec, s: Sock): Outcome {
    const count = this.#int(ev, spec.args[2], "the byte count");
    const dontWait = spec.name === "recv" && spec.args[3] !== undefined &&
      (this.#int(ev, spec.args[3]) & CONSTANTS.MSG_DONTWAIT) !== 0;
    if (s.kind !== "conn") {
      return { ret: -1, errno: "ENOTCONN", note: `fd ${s.fd} is not connected` };
    }
    const attempt = (): Outcome => {
      if (s.error) return this.#takeError(s);
      if (s.shutRd) return { ret: 0, note: "the socket was shut down for reading" };
      const st = this.#ep.state(s.conn!);
      if (st !== "CLOSED" && count > 0) {
        let n = 0;
        try {
          n = this.#ep.read(s.conn!, count, this.now).length;
        } catch (e) {
          // A connection in the compact TIME-WAIT table has no receive buffer left.
          if (!(e instanceof Error && e.name === "ConnectionNotFoundError")) throw e;
        }
        this.#drain();
        if (n > 0) return { ret: n };
      }
      if (st === "CLOSED" || PEER_CLOSED_STATES.has(st)) {
        return { ret: 0, note: "end of stream: the peer closed" };
      }
      const reason = "no data has arrived";
      if (s.nonblocking || dontWait) return { ret: -1, errno: "EAGAIN", note: reason };
      return { block: reason, retry: attempt };
    };
    return attempt();
  }

  #shutdown(ev: ScriptEvent, spec: SyscallSpec, s: Sock): Outcome {
    const how = this.#int(ev, spec.args[1], "how (SHUT_RD, SHUT_WR or SHUT_RDWR)");
    if (s.kind !== "conn" || this.#ep.state(s.conn!) === "CLOSED") {
      return { ret: -1, errno: "ENOTCONN", note: `fd ${s.fd} is not connected` };
    }
    if (how === CONSTANTS.SHUT_RD || how === CONSTANTS.SHUT_RDWR) s.shutRd = true;
    if (how === CONSTANTS.SHUT_WR || how === CONSTANTS.SHUT_RDWR) {
      this.#ep.shutdown(s.conn!, this.now);
      s.shutWr = true;
    }
    return { ret: 0 };
  }

  #close(s: Sock): Outcome {
    this.#socks.delete(s.fd);
    if (s.kind === "listener") {
      // Like Linux: connections the application never accepted are reset.
      const port = s.port!;
      for (let id = this.#ep.accept(port); id !== undefined; id = this.#ep.accept(port)) {
        this.#ep.abort(id, this.now);
      }
      for (const id of this.#ep.connections()) {
        const i = this.#ep.info(id);
        if (i && i.passive && i.localPort === port && !this.#accepted.has(id)) {
          this.#ep.abort(id, this.now);
        }
      }
      this.#ep.unlisten(port);
      return { ret: 0 };
    }
    if (s.kind === "conn") {
      this.#byConn.delete(s.conn!);
      if (s.linger0 && !s.lingerInEngine) {
        this.#ep.abort(s.conn!, this.now);
        return { ret: 0, note: "SO_LINGER 0: abortive close" };
      }
      this.#ep.close(s.conn!, this.now);
    }
    return { ret: 0 };
  }

  #setsockopt(ev: ScriptEvent, spec: SyscallSpec, s: Sock): Outcome {
    const name = symbolName(spec.args[2]);
    const value = spec.args[3];
    const beforeOpen = s.kind === "socket";
    const needsBeforeOpen = () =>
      this.#fail(
        ev,
        `${name} can only be set before connect() or listen() in finwait drill: the engine ` +
          "fixes a connection's settings when it opens",
      );
    switch (name) {
      case "SO_REUSEADDR":
      case "SO_REUSEPORT":
      case "SO_KEEPALIVE":
      case "TCP_QUICKACK":
        return { ret: 0, note: `${name} accepted; no effect in finwait` };
      case "TCP_NODELAY":
        return { ret: 0, note: "TCP_NODELAY accepted; finwait has no Nagle algorithm" };
      case "SO_LINGER": {
        if (!value || value.kind !== "struct") {
          this.#fail(ev, "SO_LINGER needs a value like {onoff=1, linger=0}");
        }
        const field = (n: string) => {
          const f = value.fields.find((x) => x.name === n || x.name === `l_${n}`);
          if (!f) this.#fail(ev, `SO_LINGER needs the field ${n}`);
          return this.#int(ev, f.value);
        };
        const on = field("onoff") !== 0;
        const secs = field("linger");
        s.linger0 = on && secs === 0;
        if (beforeOpen) s.tcb.lingerZero = s.linger0;
        return {
          ret: 0,
          note: s.linger0 ? "linger 0: close() will reset" : "close() stays graceful",
        };
      }
      case "TCP_USER_TIMEOUT": {
        if (!beforeOpen) needsBeforeOpen();
        s.tcb.userTimeout = this.#listValue(ev, value, name);
        return { ret: 0 };
      }
      case "SO_RCVBUF":
        if (!beforeOpen) needsBeforeOpen();
        s.tcb.rcvBuffer = this.#listValue(ev, value, name);
        return { ret: 0 };
      case "SO_SNDBUF":
        if (!beforeOpen) needsBeforeOpen();
        s.tcb.sndBuffer = this.#listValue(ev, value, name);
        return { ret: 0 };
      case "TCP_MAXSEG":
        if (!beforeOpen) needsBeforeOpen();
        s.tcb.mss = this.#listValue(ev, value, name);
        return { ret: 0 };
    }
    return {
      ret: -1,
      errno: "ENOPROTOOPT",
      note: `finwait drill does not know the option ${name}`,
    };
  }

  #getsockopt(ev: ScriptEvent, spec: SyscallSpec, s: Sock): Outcome {
    const name = symbolName(spec.args[2]);
    if (name !== "SO_ERROR") this.#fail(ev, `getsockopt(${name}) is not supported (only SO_ERROR)`);
    const actual = s.error ? ERRNO[s.error] : 0;
    const actualName = s.error ?? "0";
    s.error = undefined;
    const want = spec.args[3];
    if (want && want.kind !== "ellipsis") {
      const w = this.#listValue(ev, want, name);
      if (w !== actual) {
        this.#fail(
          ev,
          `SO_ERROR is ${actualName}${actual ? ` (${actual})` : ""} where the script expects ` +
            `${w === 0 ? "0" : `${errnoName(w)} (${w})`}${this.#stateNote()}`,
        );
      }
    }
    return { ret: 0, note: `SO_ERROR ${actualName}` };
  }

  #fcntl(ev: ScriptEvent, spec: SyscallSpec, s: Sock): Outcome {
    const cmd = this.#int(ev, spec.args[1], "the command");
    if (cmd === CONSTANTS.F_SETFL) {
      const flags = this.#int(ev, spec.args[2], "the flags");
      s.nonblocking = (flags & CONSTANTS.O_NONBLOCK) !== 0;
      return { ret: 0 };
    }
    if (cmd === CONSTANTS.F_GETFL) {
      return { ret: CONSTANTS.O_RDWR | (s.nonblocking ? CONSTANTS.O_NONBLOCK : 0) };
    }
    this.#fail(ev, "fcntl() supports F_GETFL and F_SETFL only");
  }

  // ------------------------------------------------------------ helpers

  #int(ev: ScriptEvent, e: Expr | undefined, what = "an integer"): number {
    if (!e) this.#fail(ev, `missing argument: expected ${what}`);
    if (e.kind === "int") return e.value;
    if (e.kind === "symbol") {
      let v = 0;
      for (const n of e.names) {
        const c = CONSTANTS[n] ?? ERRNO[n];
        if (c === undefined) this.#fail(ev, `unknown name "${n}"`);
        v |= c;
      }
      return v;
    }
    this.#fail(ev, `expected ${what}, found ${exprText(e)}`);
  }

  #listValue(ev: ScriptEvent, e: Expr | undefined, name: string): number {
    if (e && e.kind === "list" && e.items.length === 1) return this.#int(ev, e.items[0]);
    if (e && (e.kind === "int" || e.kind === "symbol")) return this.#int(ev, e);
    this.#fail(ev, `${name} needs a value like [1000]`);
  }

  #fmt(seg: Segment): string {
    // A SYN carries its own ISN: show it as 0 until the script has matched it.
    if (seg.flags & SYN) return formatSent(seg, { ...this.#base, local: seg.seq });
    return formatSent(seg, this.#base);
  }

  #stateNote(): string {
    if (this.#current === undefined) return "";
    return `; the connection is in ${this.#ep.state(this.#current)}`;
  }

  /** The earliest timer armed on any connection, in words. */
  #nextTimerNote(): string {
    let best = Infinity, what = "";
    for (const id of this.#ep.connections()) {
      const t = this.#ep.info(id)?.timers;
      if (!t) continue;
      const named: Array<[string, number]> = [
        ["retransmission", t.retransmit],
        ["delayed ACK", t.delayedAck],
        ["FIN-WAIT-2 timeout", t.finWait2],
        ["TIME-WAIT expiry", t.timeWait],
        ["user timeout", t.user],
      ];
      for (const [n, at] of named) {
        if (at < best) {
          best = at;
          what = n;
        }
      }
    }
    if (!Number.isFinite(best)) return "; no timer is armed";
    return `; its next timer: ${what} at ${sec(best)}`;
  }

  #fail(ev: ScriptEvent, message: string): never {
    throw new StepFailure(ev.line, ev.text, message);
  }
}

/** The errno a close reason leaves on the socket (Linux tcp_reset, tcp_write_err). */
function closeErrno(reason: CloseReason, lastState: State): string | undefined {
  switch (reason) {
    case "refused":
      return "ECONNREFUSED";
    case "reset":
      // Linux: a RST in CLOSE-WAIT reports EPIPE, elsewhere ECONNRESET.
      return lastState === "CLOSE-WAIT" ? "EPIPE" : "ECONNRESET";
    case "timeout":
      return "ETIMEDOUT";
    default:
      return undefined;
  }
}

function symbolName(e: Expr | undefined): string {
  if (!e) return "(missing)";
  if (e.kind === "symbol") return e.names.join("|");
  return exprText(e);
}

/** An argument as written. */
export function exprText(e: Expr): string {
  switch (e.kind) {
    case "ellipsis":
      return "...";
    case "int":
      return String(e.value);
    case "symbol":
      return e.names.join("|");
    case "string":
      return JSON.stringify(e.value);
    case "list":
      return `[${e.items.map(exprText).join(", ")}]`;
    case "struct":
      return `{${e.fields.map((f) => `${f.name}=${exprText(f.value)}`).join(", ")}}`;
    case "call":
      return `${e.name}(${e.args.map(exprText).join(", ")})`;
  }
}

function callText(spec: SyscallSpec): string {
  return `${spec.name}(${spec.args.map(exprText).join(", ")})`;
}

/** Virtual time in seconds, as scripts write it. */
function sec(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}
