/**
 * The model of a packetdrill script: what the parser produces and the runner
 * reads. Times are in milliseconds; sequence and acknowledgment numbers are
 * relative to the initial sequence numbers, as written in the script.
 *
 * @module
 */

/** A time written in a script, in milliseconds. */
export interface TimeValue {
  /** Milliseconds (absolute from the start, or after the previous event). */
  ms: number;
  /** Written with a leading `+`: counted from the previous event. */
  relative: boolean;
}

/** When an event happens: `0.1`, `+0.1`, `0.1~0.2`, `*`, or `0.1...0.2` (blocking call). */
export interface TimeSpec {
  /** `*`: any time (outbound packets only). */
  any: boolean;
  start: TimeValue;
  /** The end of a `start~end` range: the event may happen anywhere inside it. */
  rangeEnd?: TimeValue;
  /** The end of a `start...end` blocking call: the call returns at `end`. */
  blockingEnd?: TimeValue;
}

/** One TCP option as written between `<` and `>`. */
export type TcpOptionSpec =
  | { kind: "mss"; value: number }
  | { kind: "wscale"; value: number }
  | { kind: "sackOK" }
  | { kind: "ts"; val: number; ecr: number }
  | { kind: "sack"; blocks: Array<[number, number]> }
  | { kind: "nop" }
  | { kind: "eol" };

/** `< S 0:0(0) win 65535 <mss 1460>` (inbound) or `> S. 0:0(0) ack 1 <...>` (outbound). */
export interface PacketSpec {
  type: "packet";
  direction: "inbound" | "outbound";
  /** Control bits (the wire values from `src/wire/segment.ts`). */
  flags: number;
  /** The flags as written (`S.`, `F.`, `R`). */
  flagText: string;
  /** Relative sequence number of the first octet (`start` of `start:end(len)`). */
  start: number;
  /** Payload length in octets. */
  len: number;
  /** Relative acknowledgment number, when written. */
  ack?: number;
  /** Window as on the wire (before scaling), when written. */
  win?: number;
  /** Urgent pointer, when written. */
  urg?: number;
  /** Options: `undefined` when none are written, `"any"` for `<...>`. */
  options?: TcpOptionSpec[] | "any";
  /** `/udp(src > dst)`: UDP encapsulation ports (FreeBSD packetdrill). */
  udp?: { src: number; dst: number };
}

/** An argument of a system call. */
export type Expr =
  | { kind: "ellipsis" }
  | { kind: "int"; value: number }
  /** `SOL_SOCKET`, or several names joined by `|` (`O_RDWR|O_NONBLOCK`). */
  | { kind: "symbol"; names: string[] }
  | { kind: "string"; value: string }
  | { kind: "list"; items: Expr[] }
  | { kind: "struct"; fields: Array<{ name: string; value: Expr }> }
  | { kind: "call"; name: string; args: Expr[] };

/** `close(4) = 0`, `connect(3, ..., ...) = -1 EINPROGRESS`. */
export interface SyscallSpec {
  type: "syscall";
  name: string;
  args: Expr[];
  /** The expected return value. */
  ret: number;
  /** The expected errno name when `ret` is -1. */
  errno?: string;
}

/** One timed line of a script. */
export interface ScriptEvent {
  /** 1-based line number where the statement starts. */
  line: number;
  /** The statement as written (comments removed, whitespace collapsed). */
  text: string;
  time: TimeSpec;
  body: PacketSpec | SyscallSpec;
}

/** A line the runner does not apply, reported with the results. */
export interface IgnoredLine {
  line: number;
  text: string;
  kind: "option" | "shell" | "python" | "udp";
}

/** A parsed script. */
export interface Script {
  name: string;
  events: ScriptEvent[];
  ignored: IgnoredLine[];
}

/** Why a line could not be parsed. */
export interface ParseError {
  line: number;
  reason: string;
}

/** The result of parsing: a script, or every line that was malformed. */
export type ParseResult =
  | { ok: true; script: Script }
  | { ok: false; errors: ParseError[]; ignored: IgnoredLine[] };
