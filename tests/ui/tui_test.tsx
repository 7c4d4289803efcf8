/**
 * `runTui` on fake terminal streams: quitting, an error thrown in the engine's loop
 * and a missing terminal all leave the terminal as it was (raw mode off, main
 * screen, cursor shown).
 */
import assert from "node:assert/strict";
import { PassThrough, Writable } from "node:stream";
import { runTui, type TuiStreams } from "../../src/ui/tui.tsx";
import type { UiCommand, UiInput, UiSource, UiStatus } from "../../src/ui/source.ts";
import { NODES } from "./_helpers.ts";

/** A terminal: stdin in raw mode on request, stdout collecting what is drawn. */
function fakeTerminal(tty = true) {
  const raw: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), {
    isTTY: tty,
    setRawMode(mode: boolean) {
      raw.push(mode);
      return stdin;
    },
    ref() {
      return stdin;
    },
    unref() {
      return stdin;
    },
  });
  let out = "";
  const stdout = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        out += chunk.toString();
        done();
      },
    }),
    { isTTY: tty, columns: 100, rows: 30 },
  );
  const streams = { stdin, stdout } as unknown as TuiStreams;
  return { streams, stdin, raw, output: () => out };
}

class Source implements UiSource {
  readonly nodes = NODES;
  stopped = false;
  commands: UiCommand[] = [];
  #listeners: ((i: readonly UiInput[]) => void)[] = [];
  constructor(readonly onStart: (s: Source) => void = () => {}) {}
  subscribe(l: (i: readonly UiInput[]) => void) {
    this.#listeners.push(l);
    return () => {};
  }
  push(inputs: UiInput[]) {
    for (const l of this.#listeners) l(inputs);
  }
  status(): UiStatus {
    return { title: "t", transport: "fake", msl: 1000, paused: false, idle: true };
  }
  now() {
    return 0;
  }
  command(cmd: UiCommand) {
    this.commands.push(cmd);
    return undefined;
  }
  start() {
    this.onStart(this);
  }
  stop() {
    this.stopped = true;
  }
  summary() {
    return "fake: done";
  }
}

const ENTER_ALT = "\x1b[?1049h";
const LEAVE_ALT = "\x1b[?1049l";
const SHOW_CURSOR = "\x1b[?25h";

Deno.test("runTui: q leaves the alternate screen, turns raw mode off and prints the summary", async () => {
  const term = fakeTerminal();
  const source = new Source((s) => {
    s.push([{ kind: "action", at: 0, node: NODES[0].address, label: "Close" }]);
    setTimeout(() => term.stdin.write("q"), 20);
  });
  await runTui({ source, streams: term.streams, signals: false });
  const out = term.output();
  assert.ok(out.startsWith(ENTER_ALT), "full screen on the alternate screen");
  // deno-lint-ignore no-control-regex
  assert.match(out.replace(/\x1b\[[0-9;]*m/g, ""), /\? help {2}q quit/, "a frame was drawn");
  const leave = out.lastIndexOf(LEAVE_ALT);
  assert.ok(leave > 0 && out.indexOf(SHOW_CURSOR, leave) > 0, "main screen back, cursor shown");
  assert.ok(out.trimEnd().endsWith("fake: done"));
  assert.equal(term.raw[0], true);
  assert.equal(term.raw.at(-1), false);
  assert.ok(source.stopped);
  assert.deepEqual(source.commands, [{ type: "quit" }]);
});

Deno.test("runTui: an error thrown in the engine's loop restores the terminal, then reaches the caller", async () => {
  const term = fakeTerminal();
  const source = new Source(() => {
    setTimeout(() => {
      throw new Error("Bug: the engine broke");
    }, 20);
  });
  await assert.rejects(
    runTui({ source, streams: term.streams, signals: false }),
    /Bug: the engine broke/,
  );
  const out = term.output();
  assert.ok(out.lastIndexOf(LEAVE_ALT) > out.indexOf(ENTER_ALT));
  assert.ok(out.lastIndexOf(SHOW_CURSOR) > out.lastIndexOf(LEAVE_ALT) - 1);
  assert.equal(term.raw.at(-1), false);
  assert.ok(source.stopped);
});

Deno.test("runTui: without a terminal it prints lines and never asks for raw mode", async () => {
  const term = fakeTerminal(false);
  const lines: string[] = [];
  const source = new Source((s) => {
    s.push([{ kind: "action", at: 130, node: NODES[0].address, label: "Close" }]);
  });
  await runTui({ source, streams: term.streams, write: (l) => lines.push(l), signals: false });
  assert.deepEqual(term.raw, []);
  assert.equal(term.output(), "");
  assert.deepEqual(lines, [
    "t=0.000s · t · fake · MSL 1s",
    "   0.130  A  (Close)",
    "fake: done",
  ]);
});
