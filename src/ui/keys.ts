/**
 * The keys of the terminal UI: one table that the footer, the help overlay and the
 * key handler all read, and the pure mapping from a key press to what it does.
 *
 * @module
 */
import type { Target, UiCommand } from "./source.ts";

/** A key as the footer and the help overlay show it. */
export interface KeyBinding {
  /** As shown: "c", "space", "↑/↓". */
  key: string;
  /** Footer word. */
  short: string;
  /** Help overlay text. */
  help: string;
}

/** Every key, in the order of the issue (and of the footer). */
export const KEYS: readonly KeyBinding[] = [
  { key: "c", short: "close A", help: "close the selected connection from A (B closes back)" },
  { key: "C", short: "close B", help: "close it from B (A closes back)" },
  { key: "s", short: "simultaneous", help: "simultaneous close: both send FIN at once (CLOSING)" },
  {
    key: "h",
    short: "half-close",
    help: "half-close: A shuts down its send side; B may still send",
  },
  { key: "a", short: "abort", help: "abort from A: one RST, no FIN, no TIME-WAIT" },
  { key: "n", short: "new", help: "open a new connection A → B" },
  { key: "w", short: "write", help: "write 200 bytes (from A, or from B once A has closed)" },
  { key: "↑/↓", short: "select", help: "select a connection; ←/→ a page at a time" },
  { key: "space", short: "pause", help: "pause or resume the clock" },
  { key: ".", short: "step", help: "step to the next event (pauses first)" },
  { key: "+/-", short: "speed", help: "clock twice as fast / half as fast" },
  { key: "l", short: "loss", help: "cycle the loss rate: 0, 5 %, 10 %, 25 %, 50 %" },
  { key: "t", short: "storm", help: "storm: open and close many connections per second; counts" },
  { key: "p", short: "pcap", help: "save every segment so far as a pcap file" },
  { key: "?", short: "help", help: "this help (any key closes it)" },
  { key: "q", short: "quit", help: "quit (Ctrl-C too); the terminal is restored" },
];

/** The key fields the handler reads (a subset of Ink's `Key`). */
export interface KeyPress {
  upArrow?: boolean;
  downArrow?: boolean;
  leftArrow?: boolean;
  rightArrow?: boolean;
  pageUp?: boolean;
  pageDown?: boolean;
  ctrl?: boolean;
  escape?: boolean;
}

/** What a key press does. */
export type KeyAction =
  | { type: "command"; command: UiCommand }
  | { type: "select"; delta: number }
  | { type: "help" }
  | { type: "quit" };

/** What the mapping needs to know. */
export interface KeyContext {
  /** Node addresses, left pane first. */
  nodes: readonly string[];
  /** The selected connection. */
  target: Target;
  /** Connections a page holds (for ←/→). */
  page: number;
}

/**
 * Maps one key press to its action, or `undefined` for a key that does nothing.
 * `input` is one character (the caller splits pasted runs).
 *
 * @example
 * ```ts
 * import { keyAction } from "./keys.ts";
 * const ctx = { nodes: ["10.0.0.1", "10.0.0.2"], target: { "10.0.0.1": 1 }, page: 4 };
 * const a = keyAction("c", {}, ctx);
 * if (a?.type !== "command" || a.command.type !== "close") throw new Error("c closes");
 * ```
 */
export function keyAction(input: string, key: KeyPress, ctx: KeyContext): KeyAction | undefined {
  if (key.ctrl && input === "c") return { type: "quit" };
  if (key.upArrow) return { type: "select", delta: -1 };
  if (key.downArrow) return { type: "select", delta: 1 };
  if (key.leftArrow || key.pageUp) return { type: "select", delta: -Math.max(1, ctx.page) };
  if (key.rightArrow || key.pageDown) return { type: "select", delta: Math.max(1, ctx.page) };
  const [a, b] = ctx.nodes;
  const target = ctx.target;
  const cmd = (command: UiCommand): KeyAction => ({ type: "command", command });
  switch (input) {
    case "c":
      return cmd({ type: "close", node: a, target });
    case "C":
      return cmd({ type: "close", node: b ?? a, target });
    case "s":
      return cmd({ type: "simultaneous-close", target });
    case "h":
      return cmd({ type: "half-close", node: a, target });
    case "a":
      return cmd({ type: "abort", node: a, target });
    case "n":
      return cmd({ type: "new" });
    case "w":
      return cmd({ type: "write", target });
    case " ":
      return cmd({ type: "pause" });
    case ".":
      return cmd({ type: "step" });
    case "+":
    case "=":
      return cmd({ type: "speed", factor: 2 });
    case "-":
    case "_":
      return cmd({ type: "speed", factor: 0.5 });
    case "l":
      return cmd({ type: "loss" });
    case "t":
      return cmd({ type: "storm" });
    case "p":
      return cmd({ type: "pcap" });
    case "?":
      return { type: "help" };
    case "q":
      return { type: "quit" };
  }
  return undefined;
}
