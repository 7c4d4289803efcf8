/**
 * The packetdrill parser: script text to {@linkcode Script}. A malformed line is
 * reported with its line number and a reason; the parser never throws on input.
 *
 * ```text
 * 0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
 * +0    bind(3, ..., ...) = 0
 * +0    listen(3, 1) = 0
 * +0    < S 0:0(0) win 65535 <mss 1460,nop,wscale 7>
 * +0    > S. 0:0(0) ack 1 <...>
 * +.1   < . 1:1(0) ack 1 win 257
 * +0    accept(3, ..., ...) = 4
 * +0    close(4) = 0
 * +0    > F. 1:1(0) ack 1
 * 0.1~0.2 > . 1:1(0) ack 2                  // a range: anywhere inside it
 * 0.1...0.3 read(4, ..., 100) = 0           // a blocking call returning at 0.3
 * ```
 *
 * @example
 * ```ts
 * import { parseScript } from "./parser.ts";
 * const r = parseScript("+0 < S 0:0(0) win 1000\n+0 > R. 0:0(0) ack 1\n", "x.pkt");
 * if (!r.ok || r.script.events.length !== 2) throw new Error("parse");
 * const bad = parseScript("+0 < SX 0:0(0) win 1000\n", "bad.pkt");
 * if (bad.ok || bad.errors[0].line !== 1) throw new Error("line number");
 * ```
 *
 * @module
 */
import { ACK, CWR, ECE, FIN, PSH, RST, SYN, URG } from "../wire/segment.ts";
import { splitStatements, type Token, tokenize } from "./lexer.ts";
import { ERRNO } from "./symbols.ts";
import type {
  Expr,
  PacketSpec,
  ParseError,
  ParseResult,
  ScriptEvent,
  SyscallSpec,
  TcpOptionSpec,
  TimeSpec,
  TimeValue,
} from "./script.ts";

/** Flag letters of packetdrill and the control bits they stand for. */
export const FLAG_LETTERS: Readonly<Record<string, number>> = Object.freeze({
  S: SYN,
  F: FIN,
  R: RST,
  P: PSH,
  ".": ACK,
  U: URG,
  E: ECE,
  W: CWR,
});

const U32 = 2 ** 32;

class LineError extends Error {}

/** Parses a whole script. */
export function parseScript(source: string, name: string): ParseResult {
  const split = splitStatements(source);
  const errors: ParseError[] = [...split.errors];
  const events: ScriptEvent[] = [];
  const ignored = [...split.ignored];
  for (const st of split.statements) {
    try {
      const ev = parseStatement(st.text, st.line);
      events.push(ev);
      if (ev.body.type === "packet" && ev.body.udp) {
        ignored.push({
          line: st.line,
          text: `/udp(${ev.body.udp.src} > ${ev.body.udp.dst})`,
          kind: "udp",
        });
      }
    } catch (e) {
      if (!(e instanceof LineError)) throw e;
      errors.push({ line: st.line, reason: e.message });
    }
  }
  ignored.sort((a, b) => a.line - b.line);
  errors.sort((a, b) => a.line - b.line);
  if (errors.length > 0) return { ok: false, errors, ignored };
  return { ok: true, script: { name, events, ignored } };
}

/** Parses one statement (a timed packet or system call). Throws LineError. */
function parseStatement(text: string, line: number): ScriptEvent {
  const t = tokenize(text);
  if (!t.ok) throw new LineError(t.reason);
  const p = new Cursor(t.tokens);
  const time = parseTime(p);
  const next = p.peek();
  let body: PacketSpec | SyscallSpec;
  if (next && next.kind === "punct" && (next.text === "<" || next.text === ">")) {
    body = parsePacket(p);
  } else if (next && next.kind === "ident") {
    body = parseSyscall(p);
  } else {
    throw new LineError(
      `Expected a packet ("<" or ">") or a system call after the time, found ${p.describe()}`,
    );
  }
  if (!p.done()) throw new LineError(`Unexpected ${p.describe()} at the end of the line`);
  if (time.any && (body.type !== "packet" || body.direction !== "outbound")) {
    throw new LineError('The time "*" is only allowed for outbound packets');
  }
  if (time.blockingEnd && body.type !== "syscall") {
    throw new LineError('A blocking time "start...end" is only allowed for system calls');
  }
  return { line, text, time, body };
}

// ---------------------------------------------------------------------- time

function parseTime(p: Cursor): TimeSpec {
  const first = p.peek();
  if (first === undefined) throw new LineError("Empty statement");
  if (first.kind === "punct" && first.text === "*") {
    p.next();
    return { any: true, start: { ms: 0, relative: true } };
  }
  const start = parseTimeValue(p, "a time (like 0, +0.1 or 1.5)");
  const spec: TimeSpec = { any: false, start };
  if (p.isPunct("~")) {
    p.next();
    spec.rangeEnd = parseTimeValue(p, "the end of the time range");
  }
  if (p.isPunct("...")) {
    p.next();
    spec.blockingEnd = parseTimeValue(p, "the end time of the blocking call");
  }
  return spec;
}

function parseTimeValue(p: Cursor, what: string): TimeValue {
  let relative = false;
  if (p.isPunct("+")) {
    p.next();
    relative = true;
  }
  const n = p.peek();
  if (!n || n.kind !== "num") throw new LineError(`Expected ${what}, found ${p.describe()}`);
  p.next();
  if (!Number.isFinite(n.value) || n.value < 0) throw new LineError(`Bad time "${n.text}"`);
  // Microsecond precision, as packetdrill.
  return { ms: Math.round(n.value * 1e6) / 1e3, relative };
}

// -------------------------------------------------------------------- packets

function parsePacket(p: Cursor): PacketSpec {
  const dir = p.next()!;
  const direction = dir.text === "<" ? "inbound" : "outbound";
  // Flags: letters and "." written together (`S.`, `FP.`, `.`).
  let flagText = "";
  const f0 = p.peek();
  if (!f0 || (f0.kind !== "ident" && !(f0.kind === "punct" && f0.text === "."))) {
    throw new LineError(`Expected TCP flags (like S, S., F., R or .), found ${p.describe()}`);
  }
  flagText = p.next()!.text;
  while (true) {
    const n = p.peek();
    if (!n || n.space) break;
    if (n.kind === "punct" && n.text === ".") flagText += p.next()!.text;
    else if (n.kind === "ident") flagText += p.next()!.text;
    else break;
  }
  let flags = 0;
  for (const c of flagText) {
    const bit = FLAG_LETTERS[c];
    if (bit === undefined) {
      throw new LineError(
        `Unknown TCP flag "${c}" in "${flagText}": use S, F, R, P, ., U, E or W`,
      );
    }
    if (flags & bit) throw new LineError(`Flag "${c}" written twice in "${flagText}"`);
    flags |= bit;
  }
  // start:end(len)
  const start = p.expectInt("the sequence range start:end(length)", U32 - 1);
  p.expectPunct(":", "start:end(length)");
  const end = p.expectInt("the end of the sequence range", U32 - 1);
  p.expectPunct("(", "start:end(length)");
  const len = p.expectInt("the payload length", 65535);
  p.expectPunct(")", "start:end(length)");
  if (((end - start + U32) % U32) !== len) {
    throw new LineError(
      `Sequence range ${start}:${end} covers ${(end - start + U32) % U32} octets ` +
        `but the length says (${len})`,
    );
  }
  const spec: PacketSpec = { type: "packet", direction, flags, flagText, start, len };
  while (!p.done()) {
    const n = p.peek()!;
    if (n.kind === "ident" && n.text === "ack") {
      p.next();
      if (spec.ack !== undefined) throw new LineError('"ack" written twice');
      spec.ack = p.expectInt("the acknowledgment number after ack", U32 - 1);
    } else if (n.kind === "ident" && n.text === "win") {
      p.next();
      if (spec.win !== undefined) throw new LineError('"win" written twice');
      spec.win = p.expectInt("the window after win", 65535);
    } else if (n.kind === "ident" && n.text === "urg") {
      p.next();
      spec.urg = p.expectInt("the urgent pointer after urg", 65535);
    } else if (n.kind === "punct" && n.text === "<") {
      if (spec.options !== undefined) throw new LineError("Options written twice");
      spec.options = parseOptions(p);
    } else if (n.kind === "punct" && n.text === "/") {
      p.next();
      const w = p.next();
      if (!w || w.kind !== "ident" || w.text !== "udp") {
        throw new LineError('Expected "udp" after "/" (as in /udp(1234 > 9811))');
      }
      p.expectPunct("(", "/udp(src > dst)");
      const src = p.expectInt("the UDP source port", 65535);
      p.expectPunct(">", "/udp(src > dst)");
      const dst = p.expectInt("the UDP destination port", 65535);
      p.expectPunct(")", "/udp(src > dst)");
      spec.udp = { src, dst };
    } else if (n.kind === "punct" && n.text === "[") {
      throw new LineError("IP-level details in brackets (ECN, TOS) are not supported");
    } else {
      throw new LineError(
        `Unexpected ${p.describe()} in a packet: expected ack, win, urg, <options> or /udp(...)`,
      );
    }
  }
  if (direction === "inbound") {
    if (spec.win === undefined) {
      throw new LineError('An inbound packet needs a window: add "win N"');
    }
    if ((flags & ACK) && spec.ack === undefined) {
      throw new LineError('An inbound packet with the ACK flag (".") needs "ack N"');
    }
    if (spec.options === "any") {
      throw new LineError('"<...>" matches any options, so it is only for outbound packets');
    }
  }
  return spec;
}

function parseOptions(p: Cursor): TcpOptionSpec[] | "any" {
  p.expectPunct("<", "<options>");
  if (p.isPunct("...")) {
    p.next();
    p.expectPunct(">", "<...>");
    return "any";
  }
  const out: TcpOptionSpec[] = [];
  while (true) {
    const n = p.next();
    if (!n || n.kind !== "ident") {
      throw new LineError(`Expected a TCP option name, found ${describe(n)}`);
    }
    switch (n.text) {
      case "mss":
        out.push({ kind: "mss", value: p.expectInt("the MSS value", 65535) });
        break;
      case "wscale": {
        const value = p.expectInt("the window scale shift", 255);
        if (value > 14) throw new LineError(`Window scale ${value} is above 14 (RFC 7323 §2.3)`);
        out.push({ kind: "wscale", value });
        break;
      }
      case "sackOK":
        out.push({ kind: "sackOK" });
        break;
      case "nop":
        out.push({ kind: "nop" });
        break;
      case "eol":
        out.push({ kind: "eol" });
        break;
      case "TS": {
        const v = p.next();
        if (!v || v.text !== "val") throw new LineError('Expected "val" after "TS"');
        const val = p.expectInt("the TS val", U32 - 1);
        const e = p.next();
        if (!e || e.text !== "ecr") throw new LineError('Expected "ecr" after the TS val');
        const ecr = p.expectInt("the TS ecr", U32 - 1);
        out.push({ kind: "ts", val, ecr });
        break;
      }
      case "sack": {
        const blocks: Array<[number, number]> = [];
        while (p.peek()?.kind === "num") {
          const l = p.expectInt("a SACK block left edge", U32 - 1);
          p.expectPunct(":", "a SACK block left:right");
          const r = p.expectInt("a SACK block right edge", U32 - 1);
          blocks.push([l, r]);
        }
        if (blocks.length === 0) {
          throw new LineError('Expected SACK blocks "left:right" after sack');
        }
        out.push({ kind: "sack", blocks });
        break;
      }
      case "FO":
      case "FOEXP":
        throw new LineError("TCP Fast Open cookies (FO) are not supported by finwait");
      case "md5":
        throw new LineError("TCP MD5 signatures are not supported by finwait");
      default:
        throw new LineError(
          `Unknown TCP option "${n.text}": use mss, nop, eol, wscale, sackOK, TS val N ecr N or sack`,
        );
    }
    if (p.isPunct(",")) {
      p.next();
      continue;
    }
    p.expectPunct(">", "the end of the options");
    return out;
  }
}

/**
 * Items separated by commas, up to (not including) the punctuation `close`; none when
 * `close` comes first.
 */
function commaList<T>(p: Cursor, close: string, item: (p: Cursor) => T): T[] {
  const items: T[] = [];
  if (p.isPunct(close)) return items;
  items.push(item(p));
  while (p.isPunct(",")) {
    p.next();
    items.push(item(p));
  }
  return items;
}

// ---------------------------------------------------------------- syscalls

function parseSyscall(p: Cursor): SyscallSpec {
  const name = p.next()!.text;
  p.expectPunct("(", `${name}(...)`);
  const args = commaList(p, ")", parseExpr);
  p.expectPunct(")", `the end of the arguments of ${name}`);
  if (!p.isPunct("=")) {
    throw new LineError(`Expected "= result" after ${name}(...), found ${p.describe()}`);
  }
  p.next();
  let negative = false;
  if (p.isPunct("-")) {
    p.next();
    negative = true;
  }
  const r = p.peek();
  if (!r || r.kind !== "num" || !Number.isInteger(r.value)) {
    throw new LineError(`Expected an integer result after "=", found ${p.describe()}`);
  }
  p.next();
  const spec: SyscallSpec = { type: "syscall", name, args, ret: negative ? -r.value : r.value };
  const e = p.peek();
  if (e && e.kind === "ident") {
    p.next();
    if (ERRNO[e.text] === undefined) throw new LineError(`Unknown errno name "${e.text}"`);
    if (spec.ret !== -1) throw new LineError(`An errno (${e.text}) goes with the result -1`);
    spec.errno = e.text;
  } else if (spec.ret === -1) {
    throw new LineError("The result -1 needs an errno name, like -1 EAGAIN");
  }
  // packetdrill allows a note in parentheses: `= -1 ECONNRESET (Connection reset by peer)`.
  if (p.isPunct("(")) {
    let depth = 0;
    while (!p.done()) {
      const t = p.next()!;
      if (t.kind === "punct" && t.text === "(") depth++;
      if (t.kind === "punct" && t.text === ")" && --depth === 0) break;
    }
    if (depth !== 0) throw new LineError("Unclosed note in parentheses after the result");
  }
  return spec;
}

function parseExpr(p: Cursor): Expr {
  const t = p.peek();
  if (!t) throw new LineError("Expected an argument, found the end of the line");
  if (t.kind === "punct") {
    switch (t.text) {
      case "...":
        p.next();
        return { kind: "ellipsis" };
      case "-": {
        p.next();
        const n = p.next();
        if (!n || n.kind !== "num") throw new LineError('Expected a number after "-"');
        return { kind: "int", value: -n.value };
      }
      case "[": {
        p.next();
        const items = commaList(p, "]", parseExpr);
        p.expectPunct("]", "the end of a [list]");
        return { kind: "list", items };
      }
      case "{": {
        p.next();
        if (p.isPunct("...")) {
          p.next();
          p.expectPunct("}", "{...}");
          return { kind: "ellipsis" };
        }
        const fields = commaList(p, "}", (p) => {
          const n = p.next();
          if (!n || n.kind !== "ident") {
            throw new LineError(`Expected a field name in {...}, found ${describe(n)}`);
          }
          p.expectPunct("=", `${n.text}=value`);
          return { name: n.text, value: parseExpr(p) };
        });
        p.expectPunct("}", "the end of a {struct}");
        return { kind: "struct", fields };
      }
    }
    throw new LineError(`Unexpected ${p.describe()} in the arguments`);
  }
  if (t.kind === "num") {
    p.next();
    return { kind: "int", value: t.value };
  }
  if (t.kind === "str") {
    p.next();
    return { kind: "string", value: t.text };
  }
  // An identifier: a symbol, symbols joined by |, or a call like htons(8080).
  p.next();
  if (p.isPunct("(") && !p.peek()!.space) {
    p.next();
    const args = commaList(p, ")", parseExpr);
    p.expectPunct(")", `the end of ${t.text}(...)`);
    return { kind: "call", name: t.text, args };
  }
  const names = [t.text];
  while (p.isPunct("|")) {
    p.next();
    const n = p.next();
    if (!n || n.kind !== "ident") throw new LineError('Expected a name after "|"');
    names.push(n.text);
  }
  return { kind: "symbol", names };
}

// --------------------------------------------------------------- token cursor

function describe(t: Token | undefined): string {
  if (!t) return "the end of the line";
  return t.kind === "str" ? `"${t.text}" (a string)` : `"${t.text}"`;
}

class Cursor {
  #tokens: Token[];
  #i = 0;
  constructor(tokens: Token[]) {
    this.#tokens = tokens;
  }
  peek(): Token | undefined {
    return this.#tokens[this.#i];
  }
  next(): Token | undefined {
    return this.#tokens[this.#i++];
  }
  done(): boolean {
    return this.#i >= this.#tokens.length;
  }
  describe(): string {
    return describe(this.peek());
  }
  isPunct(text: string): boolean {
    const t = this.peek();
    return t !== undefined && t.kind === "punct" && t.text === text;
  }
  expectPunct(text: string, context: string): void {
    if (!this.isPunct(text)) {
      throw new LineError(`Expected "${text}" in ${context}, found ${this.describe()}`);
    }
    this.#i++;
  }
  expectInt(what: string, max: number): number {
    const t = this.peek();
    if (!t || t.kind !== "num" || !Number.isInteger(t.value)) {
      throw new LineError(`Expected ${what}, found ${this.describe()}`);
    }
    if (t.value < 0 || t.value > max) {
      throw new LineError(`${capitalize(what)} ${t.text} is out of range (0 to ${max})`);
    }
    this.#i++;
    return t.value;
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
