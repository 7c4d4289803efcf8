/**
 * The sans-IO rule (DESIGN.md §1) as a test: the core (`src/wire`, `src/time`,
 * `src/tcb`, `src/endpoint`, `src/sim`) never reads a clock, arms a timer, draws
 * ambient randomness, touches the runtime, logs, goes async, or imports from
 * outside the core. Time and randomness are passed in; everything else belongs to
 * transports and the CLI.
 *
 * A small tokenizer blanks comments, strings, template text and regex literals
 * first, so a rule mentioned in a doc comment or an error message is not a
 * violation, while code inside a template's `${…}` still is.
 */
// node:assert ships with Deno, so the tests need no registry (JSR is not reachable here).
import { deepStrictEqual as assertEquals, fail } from "node:assert/strict";

/** The directories under src/ that must stay sans-IO (DESIGN.md §1). */
const CORE_DIRS = ["wire", "time", "tcb", "endpoint", "sim", "drill"];

const SRC_URL = new URL("../src/", import.meta.url);
const REPO_URL = new URL("../", import.meta.url);

// ---------------------------------------------------------------------------
// Tokenizer: blank everything that is not code, keeping offsets and line breaks.

/** Source with comments, string/template text and regex bodies blanked. */
interface Stripped {
  /** Same length and line breaks as the source; non-code characters are spaces. */
  code: string;
  /** Raw contents of each string literal (and substitution-free template), keyed by the offset of its opening quote. */
  strings: Map<number, string>;
}

// After one of these characters (or at the start), a `/` starts a regex literal;
// after an operand (identifier, number, `)`, `]`) it is a division.
const REGEX_AFTER_CHARS = new Set("(,=:[!&|?{};~+-*%<>^");
const REGEX_AFTER_WORDS = new Set([
  "return",
  "typeof",
  "case",
  "do",
  "else",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "instanceof",
  "yield",
  "await",
]);
const IDENT_START = /[A-Za-z_$]/;
const IDENT_PART = /[\w$]/;

function stripCommentsAndStrings(src: string): Stripped {
  const out = src.split("");
  const strings = new Map<number, string>();
  const blank = (from: number, to: number) => {
    for (let k = from; k < to && k < src.length; k++) {
      if (out[k] !== "\n" && out[k] !== "\r") out[k] = " ";
    }
  };
  // Open `{` of code ("brace") or of a template substitution `${` ("template"), so
  // the `}` that closes a substitution resumes template text.
  const stack: ("brace" | "template")[] = [];
  let lastSig = ""; // last significant code character
  let lastWord = ""; // identifier or keyword just before, if the last token was one

  /** Scans template text from `j`; returns the index after the closing backtick or after `${`. */
  const scanTemplate = (j: number, openQuote: number): number => {
    const start = j;
    while (j < src.length) {
      const ch = src[j];
      if (ch === "\\") {
        j += 2;
      } else if (ch === "`") {
        if (openQuote >= 0) strings.set(openQuote, src.slice(start, j));
        blank(start, j);
        return j + 1;
      } else if (ch === "$" && src[j + 1] === "{") {
        blank(start, j);
        stack.push("template");
        return j + 2;
      } else {
        j++;
      }
    }
    blank(start, j);
    return j;
  };

  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const next = src[i + 1];
    if (c === "/" && next === "/") {
      const j = src.indexOf("\n", i);
      const end = j < 0 ? src.length : j;
      blank(i, end);
      i = end;
    } else if (c === "/" && next === "*") {
      const j = src.indexOf("*/", i + 2);
      const end = j < 0 ? src.length : j + 2;
      blank(i, end);
      i = end;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      strings.set(i, src.slice(i + 1, j));
      blank(i + 1, j);
      i = j + 1;
      lastSig = c;
      lastWord = "";
    } else if (c === "`") {
      i = scanTemplate(i + 1, i);
      lastSig = "`";
      lastWord = "";
    } else if (c === "/") {
      const isRegex = lastSig === "" || REGEX_AFTER_CHARS.has(lastSig) ||
        REGEX_AFTER_WORDS.has(lastWord);
      if (isRegex) {
        let j = i + 1;
        let inClass = false;
        while (j < src.length && src[j] !== "\n") {
          const ch = src[j];
          if (ch === "\\") j++;
          else if (ch === "[") inClass = true;
          else if (ch === "]") inClass = false;
          else if (ch === "/" && !inClass) break;
          j++;
        }
        blank(i + 1, j);
        j++;
        while (j < src.length && /[a-z]/i.test(src[j])) j++;
        i = j;
        lastSig = ")"; // a regex literal is an operand
      } else {
        lastSig = "/";
        i++;
      }
      lastWord = "";
    } else if (c === "}" && stack.pop() === "template") {
      i = scanTemplate(i + 1, -1);
      lastSig = "`";
      lastWord = "";
    } else if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < src.length && IDENT_PART.test(src[j])) j++;
      lastWord = src.slice(i, j);
      lastSig = "a";
      i = j;
    } else {
      if (c === "{") stack.push("brace");
      if (!/\s/.test(c)) {
        lastSig = c;
        lastWord = "";
      }
      i++;
    }
  }
  return { code: out.join(""), strings };
}

// ---------------------------------------------------------------------------
// Rules.

/**
 * Start of a use of a global: not part of a longer identifier and not a
 * member of some other object (`myDate.now`, `x.console`), except of the global
 * object itself (`globalThis.setTimeout`).
 */
const GLOBAL = String.raw`(?:(?<![\w$.])|(?<=(?<![\w$.])(?:globalThis|self|window)\s*\??\.\s*))`;
const globalUse = (pattern: string) => new RegExp(GLOBAL + pattern, "g");

/** A forbidden construct in code. */
const RULES: readonly { name: string; re: RegExp }[] = [
  { name: "Date.now", re: globalUse(String.raw`Date\s*\??\.\s*now\b`) },
  { name: "new Date", re: globalUse(String.raw`new\s+Date\b`) },
  { name: "Date()", re: globalUse(String.raw`(?<!new\s+)Date\s*\(`) },
  { name: "performance.", re: globalUse(String.raw`performance\s*(\??\.|\[)`) },
  { name: "setTimeout", re: globalUse(String.raw`setTimeout(?![\w$])`) },
  { name: "setInterval", re: globalUse(String.raw`setInterval(?![\w$])`) },
  { name: "setImmediate", re: globalUse(String.raw`setImmediate(?![\w$])`) },
  { name: "queueMicrotask", re: globalUse(String.raw`queueMicrotask(?![\w$])`) },
  { name: "Math.random", re: globalUse(String.raw`Math\s*\??\.\s*random\b`) },
  { name: "crypto.", re: globalUse(String.raw`crypto\s*(\??\.|\[)`) },
  { name: "Deno.", re: globalUse(String.raw`Deno\s*(\??\.|\[)`) },
  { name: "console.", re: globalUse(String.raw`console\s*(\??\.|\[)`) },
  { name: "fetch(", re: globalUse(String.raw`fetch\s*\(`) },
  // `async` as a modifier: before `function`, `(`, `*` or a name (`async x =>`,
  // `async method()`), not the identifier in `const async = 1` or a key `async:`.
  { name: "async", re: /(?<![\w$.])async(?![\w$])(?=\s*(function\b|\(|\*|[A-Za-z_$]))/g },
  { name: "await", re: /(?<![\w$.])await(?![\w$])(?!\s*:)/g },
];

// Where an import specifier string starts: `from "x"`, `import "x"`, `import("x")`.
const IMPORT_SPECIFIER = /(?<![\w$.])(?:from|import)\s*(\(\s*)?(?=["'`])/g;
// A dynamic import whose specifier is not a literal cannot be checked.
const COMPUTED_IMPORT = /(?<![\w$.])import\s*\((?!\s*["'`])/g;

interface Violation {
  /** `path:line:col`. */
  where: string;
  rule: string;
  line: string;
}

/** Why `specifier` may not be imported from `fileUrl`, or undefined if it may. */
function importProblem(specifier: string, fileUrl: URL, srcUrl: URL): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(specifier)?.[1];
  if (scheme !== undefined) return `import from "${scheme}:"`;
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
    return `import of bare specifier "${specifier}"`;
  }
  const target = new URL(specifier, fileUrl).href;
  const inCore = CORE_DIRS.some((dir) => target.startsWith(new URL(`${dir}/`, srcUrl).href));
  return inCore ? undefined : `import from outside the sans-IO core ("${specifier}")`;
}

/**
 * Finds sans-IO violations in `src`, the contents of `fileUrl`. `srcUrl` is the
 * `src/` directory that relative imports must stay in (within {@link CORE_DIRS});
 * `label` names the file in messages.
 */
function checkSource(src: string, fileUrl: URL, srcUrl: URL, label: string): Violation[] {
  const { code, strings } = stripCommentsAndStrings(src);
  const lineStarts = [0];
  for (let k = 0; k < src.length; k++) if (src[k] === "\n") lineStarts.push(k + 1);
  const locate = (offset: number, rule: string): Violation => {
    let line = 0;
    while (line + 1 < lineStarts.length && lineStarts[line + 1] <= offset) line++;
    const start = lineStarts[line];
    const end = src.indexOf("\n", start);
    return {
      where: `${label}:${line + 1}:${offset - start + 1}`,
      rule,
      line: src.slice(start, end < 0 ? src.length : end).trim(),
    };
  };

  const found: Violation[] = [];
  for (const { name, re } of RULES) {
    for (const m of code.matchAll(re)) found.push(locate(m.index, name));
  }
  for (const m of code.matchAll(IMPORT_SPECIFIER)) {
    const quote = m.index + m[0].length;
    const specifier = strings.get(quote);
    if (specifier === undefined) continue; // a template with substitutions: caught below
    const problem = importProblem(specifier, fileUrl, srcUrl);
    if (problem !== undefined) found.push(locate(quote, problem));
  }
  for (const m of code.matchAll(COMPUTED_IMPORT)) {
    found.push(locate(m.index, "dynamic import of a computed specifier"));
  }
  return found.sort((a, b) => a.where.localeCompare(b.where, "en", { numeric: true }));
}

function format(violations: Violation[]): string {
  return violations.map((v) => `${v.where}: ${v.rule}: ${v.line}`).join("\n");
}

async function collectTs(dir: URL, into: URL[]): Promise<void> {
  let entries: AsyncIterable<Deno.DirEntry>;
  try {
    entries = Deno.readDir(dir);
    for await (const e of entries) {
      if (e.isDirectory) await collectTs(new URL(`${e.name}/`, dir), into);
      else if (e.isFile && /\.(m?ts|tsx)$/.test(e.name)) into.push(new URL(e.name, dir));
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err; // a core dir not written yet
  }
}

// ---------------------------------------------------------------------------
// The rule applied to the real core.

Deno.test("sans-IO: the core uses no clock, timer, ambient randomness, runtime or outside import", async () => {
  const files: URL[] = [];
  for (const dir of CORE_DIRS) await collectTs(new URL(`${dir}/`, SRC_URL), files);
  if (files.length === 0) fail("No .ts files found under src/{" + CORE_DIRS.join(",") + "}");
  const violations: Violation[] = [];
  for (const file of files) {
    const label = decodeURIComponent(file.href.slice(REPO_URL.href.length));
    violations.push(...checkSource(await Deno.readTextFile(file), file, SRC_URL, label));
  }
  if (violations.length > 0) {
    fail(
      `Sans-IO rule broken (DESIGN.md §1: pass time and randomness in):\n${format(violations)}`,
    );
  }
});

// ---------------------------------------------------------------------------
// Self-test: the checker catches what it should, and only that.

const FAKE_SRC = new URL("file:///repo/src/");
const FAKE_FILE = new URL("file:///repo/src/tcb/tcb.ts");
const rulesHit = (src: string) =>
  checkSource(src, FAKE_FILE, FAKE_SRC, "src/tcb/tcb.ts").map((v) => v.rule);

Deno.test("sans-IO checker: each forbidden construct is caught", async (t) => {
  const cases: [string, string][] = [
    ["const t = Date.now();", "Date.now"],
    ["const t = new Date();", "new Date"],
    ["const s = Date();", "Date()"],
    ["const t = performance.now();", "performance."],
    ["const t = performance?.now();", "performance."],
    ["setTimeout(() => {}, 10);", "setTimeout"],
    ["globalThis.setTimeout(f, 1);", "setTimeout"],
    ["globalThis.console.log(x);", "console."],
    ["setInterval(f, 1);", "setInterval"],
    ["setImmediate(f);", "setImmediate"],
    ["queueMicrotask(f);", "queueMicrotask"],
    ["const r = Math.random();", "Math.random"],
    ["const id = crypto.randomUUID();", "crypto."],
    ["crypto.getRandomValues(buf);", "crypto."],
    ["const f = Deno.readFileSync(p);", "Deno."],
    ["console.log(x);", "console."],
    ["async function f() {}", "async"],
    ["const f = async () => 1;", "async"],
    ["const f = async x => x;", "async"],
    ["class C { async m() {} }", "async"],
    ["class C { async *gen() {} }", "async"],
    ["for (const x of y) await x;", "await"],
    ["const r = fetch(url);", "fetch("],
    ["const s = `${Date.now()} ms`;", "Date.now"],
    ["const s = `a ${`b ${Math.random()}`} c`;", "Math.random"],
  ];
  for (const [src, rule] of cases) {
    await t.step(src, () => assertEquals(rulesHit(src), [rule]));
  }
});

Deno.test("sans-IO checker: forbidden imports are caught, core imports are fine", async (t) => {
  const cases: [string, string[]][] = [
    ['import { readFile } from "node:fs";', ['import from "node:"']],
    ['import x from "npm:chalk@5";', ['import from "npm:"']],
    ['import { assert } from "jsr:@std/assert";', ['import from "jsr:"']],
    ['import x from "https://example.com/x.ts";', ['import from "https:"']],
    ['import { Command } from "commander";', ['import of bare specifier "commander"']],
    ['import "node:process";', ['import from "node:"']],
    ["import type { T } from '../../transports/transport.ts';", [
      'import from outside the sans-IO core ("../../transports/transport.ts")',
    ]],
    ['export * from "../cli/main.ts";', [
      'import from outside the sans-IO core ("../cli/main.ts")',
    ]],
    ['const m = import("node:os");', ['import from "node:"']],
    ['const m = import( "../wire/seq.ts" );', []],
    ["const m = import(name);", ["dynamic import of a computed specifier"]],
    ['import { seqLt } from "../wire/seq.ts";', []],
    ['import type { State } from "./state.ts";', []],
    ['export { Rng } from "../sim/rng.ts";', []],
    ['type S = typeof import("./state.ts");', []],
  ];
  for (const [src, rules] of cases) {
    await t.step(src, () => assertEquals(rulesHit(src), rules));
  }
});

Deno.test("sans-IO checker: mentions in comments, strings and regexes are not code", async (t) => {
  const clean = [
    "// never call Date.now() or setTimeout here",
    "/* console.log(x); await y; */ const a = 1;",
    "/**\n * Like `performance.now()`, but passed in.\n * async fn\n */\nexport const b = 2;",
    'throw new Error("Cannot use Math.random in the core");',
    "const s = 'Deno.exit(1)';",
    "const s = `crypto.randomUUID() and fetch(url)`;",
    "const re = /Date\\.now|setTimeout/g;",
    "if (/await/.test(s)) x = 1;",
    "const half = total / 2 / Date_now_ms; // Date.now",
    "const async = 1; const o = { async: true, await: 2 };",
    "tcb.handleTimeout(now); myDate.now(); x.console.y; x.performance.z;",
    'const s = "a \\" Date.now() \\" b";',
    "const s = `${a} Date.now() ${b}`;",
  ];
  for (const src of clean) {
    await t.step(src.replaceAll("\n", "⏎"), () => assertEquals(rulesHit(src), []));
  }
});

Deno.test("sans-IO checker: reports file:line:col of the offending code", () => {
  const src = "/**\n * Date.now() in a comment\n */\nconst a = 1;\n  const t = Date.now();\n";
  const v = checkSource(src, FAKE_FILE, FAKE_SRC, "src/tcb/tcb.ts");
  assertEquals(v, [{
    where: "src/tcb/tcb.ts:5:13",
    rule: "Date.now",
    line: "const t = Date.now();",
  }]);
  assertEquals(format(v), "src/tcb/tcb.ts:5:13: Date.now: const t = Date.now();");
});
