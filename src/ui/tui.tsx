/**
 * The terminal UI loop: {@linkcode runTui} shows any {@linkcode UiSource} full
 * screen with Ink, or prints line output when stdin or stdout is not a terminal.
 *
 * The {@linkcode TuiController} folds the source's inputs into a {@linkcode UiStore},
 * builds at most `fps` (≤ 30) frames a second and only when something changed or
 * the clock runs, and turns key presses into commands for the source.
 *
 * @module
 */
import process from "node:process";
import { render, useApp, useInput } from "ink";
import { type ReactNode, useEffect, useState } from "react";
import { ColorContext, Screen } from "./components.tsx";
import { buildFrame, CELL_LINES, CHROME_LINES, type Frame } from "./frame.ts";
import { keyAction, type KeyPress } from "./keys.ts";
import { runLines } from "./lines.ts";
import { UiStore } from "./model.ts";
import type { UiCommand, UiInput, UiSource } from "./source.ts";

/** Frames a message stays on the note line (about 3 s at 30 fps). */
const MESSAGE_FRAMES = 90;
/** Renders per second at most. */
export const MAX_FPS = 30;

/** Milliseconds between render-loop ticks for `fps` (capped at {@linkcode MAX_FPS}). */
export function renderInterval(fps: number = MAX_FPS): number {
  return Math.ceil(1000 / Math.max(1, Math.min(MAX_FPS, fps)));
}

/** Owns the store and the frame loop for one source; independent of Ink. */
export class TuiController {
  readonly store: UiStore;
  readonly source: UiSource;
  width: number;
  height: number;
  help = false;
  message: string | undefined;
  #messageFrames = 0;
  #listeners: ((f: Frame) => void)[] = [];
  #exit: (() => void) | undefined;
  #exited = false;
  #lastVersion = -1;
  #lastNow = -1;
  #dirty = true;
  #ticks = 0;
  #frame: Frame | undefined;

  #unsubscribe: () => void;

  /** Subscribes to `source` at once; {@linkcode TuiController.dispose} lets go. */
  constructor(source: UiSource, size: { width: number; height: number }) {
    this.source = source;
    this.width = size.width;
    this.height = size.height;
    this.store = new UiStore({ nodes: source.nodes, msl: source.status().msl });
    this.#unsubscribe = source.subscribe((inputs) => this.apply(inputs));
  }

  /** Stops listening to the source. */
  dispose(): void {
    this.#unsubscribe();
  }

  /** Folds a batch from the source. */
  apply(inputs: readonly UiInput[]): void {
    this.store.applyAll(inputs);
  }

  /** The current frame (builds one if anything moved since the last). */
  frame(): Frame {
    const now = this.source.now();
    this.store.tick(now);
    if (
      this.#frame && !this.#dirty && this.store.version === this.#lastVersion &&
      now === this.#lastNow
    ) return this.#frame;
    const status = this.source.status();
    this.store.msl = status.msl;
    this.#frame = buildFrame(this.store, {
      width: this.width,
      height: this.height,
      now,
      status,
      help: this.help,
      message: this.message,
      keys: this.source.keys,
    });
    this.#lastVersion = this.store.version;
    this.#lastNow = now;
    this.#dirty = false;
    return this.#frame;
  }

  /** One tick of the render loop: pushes a new frame to the listeners if one is due. */
  tick(): void {
    if (this.message !== undefined && --this.#messageFrames <= 0) {
      this.message = undefined;
      this.#dirty = true;
    }
    // Only the clock moved: every third tick is enough for the countdowns (10 a second).
    this.#ticks++;
    if (!this.#dirty && this.store.version === this.#lastVersion && this.#ticks % 3 !== 0) return;
    const before = this.#frame;
    const f = this.frame();
    if (f !== before) { for (const l of this.#listeners) l(f); }
  }

  /** Registers a frame listener; returns its remover. */
  onFrame(listener: (f: Frame) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Sets the function that leaves the UI (Ink's `exit`). */
  setExit(exit: () => void): void {
    this.#exit = exit;
  }

  /** Leaves the UI. */
  exit(): void {
    if (this.#exited) return;
    this.#exited = true;
    this.source.command({ type: "quit" });
    this.#exit?.();
  }

  /** The terminal changed size. */
  resize(width: number, height: number): void {
    if (width === this.width && height === this.height) return;
    this.width = width;
    this.height = height;
    this.#dirty = true;
    this.tick();
  }

  /** Shows `text` on the note line for a few seconds. */
  say(text: string | undefined): void {
    if (!text) return;
    this.message = text;
    this.#messageFrames = MESSAGE_FRAMES;
    this.#dirty = true;
  }

  /** Handles a key press as Ink reports it (`input` may hold several pasted keys). */
  key(input: string, key: KeyPress): void {
    const special = key.upArrow || key.downArrow || key.leftArrow || key.rightArrow ||
      key.pageUp || key.pageDown || key.ctrl || key.escape;
    const keys = special || input.length <= 1 ? [input] : [...input];
    for (const ch of keys) this.#one(ch, key);
    this.tick();
  }

  #one(input: string, key: KeyPress): void {
    if (key.ctrl && input === "c") return this.exit();
    if (this.help) {
      // Any key closes the help; q still quits.
      this.help = false;
      this.#dirty = true;
      if (input === "q") this.exit();
      return;
    }
    const page = Math.max(1, Math.floor(((this.height - CHROME_LINES) * 0.45 - 2) / CELL_LINES));
    const action = keyAction(input, key, {
      nodes: this.source.nodes.map((n) => n.address),
      target: this.store.target(),
      page,
    });
    if (!action) return;
    switch (action.type) {
      case "quit":
        return this.exit();
      case "help":
        this.help = true;
        this.#dirty = true;
        return;
      case "select":
        this.store.select(action.delta);
        return;
      case "command":
        this.#command(action.command);
        return;
    }
  }

  #command(cmd: UiCommand): void {
    try {
      const reply = this.source.command(cmd);
      if (reply instanceof Promise) {
        reply.then((r) => this.say(r), (e) => this.say(errorText(e)));
      } else this.say(reply);
    } catch (e) {
      this.say(errorText(e));
    }
    this.#dirty = true;
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The Ink root: the current frame, and key presses to the controller. */
export function App({ controller }: { controller: TuiController }): ReactNode {
  const [frame, setFrame] = useState(() => controller.frame());
  const { exit } = useApp();
  useEffect(() => {
    controller.setExit(exit);
    return controller.onFrame(setFrame);
  }, [controller]);
  useInput((input, key) => controller.key(input, key));
  return <Screen frame={frame} />;
}

/** Colour unless NO_COLOR is set (https://no-color.org). */
function colorWanted(): boolean {
  try {
    return !Deno.env.get("NO_COLOR");
  } catch {
    return true; // no --allow-env: keep colour
  }
}

/** Streams `runTui` talks to; default: the process's own. */
export interface TuiStreams {
  stdin: typeof process.stdin;
  stdout: typeof process.stdout;
}

/** Settings of {@linkcode runTui}. */
export interface RunTuiOptions {
  source: UiSource;
  /** Frames per second at most (capped at 30). */
  fps?: number;
  /** Default: the process's stdin and stdout. */
  streams?: TuiStreams;
  /** Use the terminal's alternate screen (default true), so quitting restores it. */
  alternateScreen?: boolean;
  /** Leave on SIGTERM, SIGHUP, SIGINT and redraw on SIGWINCH (default true). */
  signals?: boolean;
  /** Where the line output goes when there is no terminal (default: stdout). */
  write?: (line: string) => void;
}

/**
 * Shows `source` full screen until the user quits (`q`, Ctrl-C), a signal arrives,
 * or an error is thrown; the terminal is restored in every case. Without a terminal
 * on stdin and stdout it prints line output instead (see {@linkcode runLines}) and
 * returns once the source is idle.
 *
 * This is the hook for every command that shows engine activity: `finwait demo`
 * passes the simulated network in real time; `finwait listen`/`connect` pass their
 * one endpoint (a source whose `nodes` holds just the local address).
 */
export async function runTui(opts: RunTuiOptions): Promise<void> {
  const { source } = opts;
  const stdin = opts.streams?.stdin ?? process.stdin;
  const stdout = opts.streams?.stdout ?? process.stdout;
  if (!stdin.isTTY || !stdout.isTTY || typeof stdin.setRawMode !== "function") {
    await runLines({ source, write: opts.write ?? ((l) => stdout.write(l + "\n")) });
    return;
  }
  const interval = renderInterval(opts.fps);
  const size = () => ({
    width: stdout.columns || 80,
    height: Math.max(10, (stdout.rows || 24) - 1),
  });
  const controller = new TuiController(source, size());
  const alt = opts.alternateScreen ?? true;
  if (alt) stdout.write("\x1b[?1049h\x1b[H\x1b[2J");
  const onResize = () => {
    const s = size();
    controller.resize(s.width, s.height);
  };
  stdout.on("resize", onResize);
  const posix = Deno.build.os !== "windows" && (opts.signals ?? true);
  const signals: Deno.Signal[] = posix ? ["SIGTERM", "SIGHUP", "SIGINT"] : [];
  const onSignal = () => controller.exit();
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const winch = () => onResize();
  if (posix) Deno.addSignalListener("SIGWINCH", winch);
  // An error anywhere (the engine's timer, a promise) leaves the screen first, then
  // goes on to the caller: the terminal is never left in raw mode.
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure ??= { error };
    controller.exit();
  };
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    fail(e.error);
  };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    fail(e.reason);
  };
  source.onError?.(fail);
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);
  let timer: ReturnType<typeof setInterval> | undefined;
  let instance: ReturnType<typeof render> | undefined;
  try {
    instance = render(
      <ColorContext.Provider value={colorWanted()}>
        <App controller={controller} />
      </ColorContext.Provider>,
      {
        stdin,
        stdout,
        exitOnCtrlC: false,
        patchConsole: false,
        maxFps: Math.round(1000 / interval),
      },
    );
    source.start();
    timer = setInterval(() => controller.tick(), interval);
    await instance.waitUntilExit();
  } finally {
    if (timer !== undefined) clearInterval(timer);
    controller.dispose();
    source.stop();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    if (posix) Deno.removeSignalListener("SIGWINCH", winch);
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
    stdout.off("resize", onResize);
    try {
      instance?.unmount();
    } finally {
      if (stdin.isTTY) stdin.setRawMode?.(false);
      if (alt) stdout.write("\x1b[?1049l");
      stdout.write("\x1b[?25h");
    }
  }
  if (failure) throw failure.error;
  const line = source.summary?.();
  if (line) stdout.write(line + "\n");
}
