/**
 * The packetdrill lexer: splits a script into statements (dropping `//` and
 * `/* *\/` comments, joining lines while a bracket is open, setting aside `--`
 * option lines, backtick shell lines and `%{ }%` Python blocks) and turns one
 * statement into tokens. Never throws on bad input: it returns a reason.
 *
 * @module
 */
import type { IgnoredLine, ParseError } from "./script.ts";

/** One statement with the line it starts on. */
export interface Statement {
  line: number;
  text: string;
}

/** The statements of a script and the lines set aside. */
export interface SplitResult {
  statements: Statement[];
  ignored: IgnoredLine[];
  errors: ParseError[];
}

/** A token of a statement. */
export type Token =
  | { kind: "num"; value: number; text: string; col: number; space: boolean }
  | { kind: "ident"; text: string; col: number; space: boolean }
  | { kind: "str"; text: string; col: number; space: boolean }
  | { kind: "punct"; text: string; col: number; space: boolean };

const OPENERS: Record<string, string> = { "(": ")", "[": "]", "{": "}" };
const CLOSERS = new Set([")", "]", "}"]);

/** Splits a script into statements; see the module doc. */
export function splitStatements(source: string): SplitResult {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const statements: Statement[] = [];
  const ignored: IgnoredLine[] = [];
  const errors: ParseError[] = [];
  let inBlockComment = false;
  let blockCommentLine = 0;
  let python: { line: number; text: string[] } | undefined;
  let shell: { line: number; text: string[] } | undefined;
  let pending: { line: number; text: string; depth: number } | undefined;

  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i];
    if (python) {
      const end = raw.indexOf("}%");
      if (end < 0) {
        python.text.push(raw.trim());
        continue;
      }
      python.text.push(raw.slice(0, end).trim());
      ignored.push({
        line: python.line,
        text: `%{ ${python.text.filter((s) => s).join(" ")} }%`,
        kind: "python",
      });
      python = undefined;
      raw = raw.slice(end + 2);
    }
    if (shell) {
      const end = raw.indexOf("`");
      if (end < 0) {
        shell.text.push(raw.trim());
        continue;
      }
      shell.text.push(raw.slice(0, end).trim());
      ignored.push({ line: shell.line, text: `\`${shell.text.join(" ")}\``, kind: "shell" });
      shell = undefined;
      raw = raw.slice(end + 1);
    }
    if (pending === undefined && !inBlockComment) {
      // Shell, Python and option lines are set aside before comments are removed:
      // their text is not packetdrill syntax.
      const head = raw.trim();
      if (head.startsWith("--")) {
        ignored.push({ line: lineNo, text: head, kind: "option" });
        continue;
      }
      if (head.startsWith("`")) {
        const end = head.indexOf("`", 1);
        if (end < 0) {
          shell = { line: lineNo, text: [head.slice(1).trim()] };
          continue;
        }
        ignored.push({ line: lineNo, text: head.slice(0, end + 1), kind: "shell" });
        if (head.slice(end + 1).trim() !== "") {
          errors.push({ line: lineNo, reason: "Unexpected text after the shell command" });
        }
        continue;
      }
      if (head.startsWith("%{")) {
        const end = head.indexOf("}%");
        if (end < 0) {
          python = { line: lineNo, text: [head.slice(2).trim()] };
          continue;
        }
        ignored.push({ line: lineNo, text: head.slice(0, end + 2), kind: "python" });
        continue;
      }
    }
    // Remove comments, keeping string literals intact.
    let code = "";
    for (let k = 0; k < raw.length; k++) {
      const c = raw[k];
      if (inBlockComment) {
        if (c === "*" && raw[k + 1] === "/") {
          inBlockComment = false;
          k++;
        }
        continue;
      }
      if (c === "/" && raw[k + 1] === "/") break;
      if (c === "/" && raw[k + 1] === "*") {
        inBlockComment = true;
        blockCommentLine = lineNo;
        k++;
        code += " ";
        continue;
      }
      if (c === '"') {
        const end = raw.indexOf('"', k + 1);
        const stop = end < 0 ? raw.length : end + 1;
        code += raw.slice(k, stop);
        k = stop - 1;
        continue;
      }
      code += c;
    }
    const trimmed = code.trim();
    if (pending === undefined) {
      if (trimmed === "") continue;
      pending = { line: lineNo, text: trimmed, depth: 0 };
    } else {
      pending.text += " " + trimmed;
    }
    const scan = bracketDepth(pending.text);
    if (scan.openString) {
      // Strings never span lines.
      errors.push({ line: lineNo, reason: "Unterminated string: missing closing quote" });
      pending = undefined;
      continue;
    }
    pending.depth = scan.depth;
    if (pending.depth <= 0) {
      statements.push({ line: pending.line, text: pending.text.replace(/\s+/g, " ") });
      pending = undefined;
    }
  }
  if (pending) {
    errors.push({
      line: pending.line,
      reason: "Unclosed bracket: the statement never ends",
    });
  }
  if (inBlockComment) {
    errors.push({ line: blockCommentLine, reason: "Unclosed comment: /* has no */" });
  }
  if (python) errors.push({ line: python.line, reason: "Unclosed Python block: %{ has no }%" });
  if (shell) errors.push({ line: shell.line, reason: "Unclosed shell command: ` has no `" });
  return { statements, ignored, errors };
}

/** Open ( [ { minus closed ones, outside string literals; and whether a string is open. */
function bracketDepth(text: string): { depth: number; openString: boolean } {
  let depth = 0;
  let inString = false;
  for (const c of text) {
    if (c === '"') inString = !inString;
    if (inString) continue;
    if (c in OPENERS) depth++;
    else if (CLOSERS.has(c)) depth--;
  }
  return { depth, openString: inString };
}

/** Tokenizes one statement. Returns a reason for a character it does not know. */
export function tokenize(text: string): { ok: true; tokens: Token[] } | {
  ok: false;
  reason: string;
} {
  const tokens: Token[] = [];
  let i = 0;
  let space = true;
  while (i < text.length) {
    const c = text[i];
    if (c === " " || c === "\t") {
      space = true;
      i++;
      continue;
    }
    const col = i;
    if (c === "." && text.startsWith("...", i)) {
      tokens.push({ kind: "punct", text: "...", col, space });
      i += 3;
    } else if (isDigit(c) || (c === "." && isDigit(text[i + 1] ?? ""))) {
      let j = i;
      if (c === "0" && (text[i + 1] === "x" || text[i + 1] === "X")) {
        j = i + 2;
        while (j < text.length && /[0-9a-fA-F]/.test(text[j])) j++;
      } else {
        while (j < text.length && isDigit(text[j])) j++;
        if (text[j] === "." && isDigit(text[j + 1] ?? "")) {
          j++;
          while (j < text.length && isDigit(text[j])) j++;
        }
      }
      const lexeme = text.slice(i, j);
      tokens.push({ kind: "num", value: Number(lexeme), text: lexeme, col, space });
      i = j;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < text.length && /[A-Za-z0-9_]/.test(text[j])) j++;
      tokens.push({ kind: "ident", text: text.slice(i, j), col, space });
      i = j;
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end < 0) return { ok: false, reason: "Unterminated string: missing closing quote" };
      tokens.push({ kind: "str", text: text.slice(i + 1, end), col, space });
      i = end + 1;
    } else if ("+-~:()<>[]{},=|.*/!".includes(c)) {
      tokens.push({ kind: "punct", text: c, col, space });
      i++;
    } else {
      return { ok: false, reason: `Unexpected character "${c}"` };
    }
    space = false;
  }
  return { ok: true, tokens };
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}
