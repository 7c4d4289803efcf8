/**
 * The contract between the terminal UI and whatever feeds it: a {@linkcode UiSource}
 * streams engine events ({@linkcode UiInput}) and takes {@linkcode UiCommand}s back.
 * The UI never touches a TCB or a transport: the CLI adapts a driver (the simulated
 * network in real time for `finwait demo`, the UDP driver for `listen`/`connect`) to
 * this interface and turns commands into engine calls.
 *
 * @module
 */
import type { ConnId } from "../tcb/events.ts";
import type { State } from "../tcb/state.ts";
import type { WorldEntry } from "../sim/world.ts";
import type { KeyBinding } from "./keys.ts";

/** What the UI needs of a connection snapshot (a subset of `Endpoint.info`). */
export interface ConnSnapshot {
  id: ConnId;
  state: State;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  sndUna: number;
  sndNxt: number;
  rcvNxt: number;
  bytesInFlight: number;
  /** Current retransmission timeout (after backoff), ms. */
  rto: number;
  /** Retransmissions of the oldest unacknowledged segment (the backoff count). */
  retries: number;
  /** Deadlines in ms, Infinity when not armed. */
  timers: { retransmit: number; finWait2: number; timeWait: number };
}

/**
 * One input to the view model, in the order things happened. The first three are
 * the shapes of the simulated world's log (`WorldEntry`); a driver for a real
 * transport emits the same shapes for its one endpoint.
 */
export type UiInput =
  | WorldEntry
  | { kind: "snapshot"; at: number; node: string; info: ConnSnapshot };

/** A peer shown in its own pane. */
export interface UiNode {
  /** The endpoint's address, as in the events' `node`. */
  address: string;
  /** Short name: "A", "B", "local". */
  label: string;
}

/** What the header shows; read by the UI every frame. */
export interface UiStatus {
  /** Program and scenario, e.g. "normal-close". */
  title: string;
  /** "simulated network", "udp 127.0.0.1:9811". */
  transport: string;
  seed?: number;
  /** Loss probability now in force (0..1). */
  loss?: number;
  /** Clock speed: virtual ms per real ms. */
  speed?: number;
  /** Maximum segment lifetime, ms (TIME-WAIT lasts 2·MSL). */
  msl: number;
  paused: boolean;
  /** Storm mode on: connections opened and closed per (virtual) second. */
  storm?: { rate: number; opened: number };
  /** One line under the header: what is playing, or what to do next. */
  note?: string;
  /** True once nothing is left to happen (every connection closed, nothing scheduled). */
  idle?: boolean;
}

/** The connection a command applies to: its id on each node that has one. */
export type Target = Readonly<Record<string, ConnId>>;

/** What a key press asks the engine to do. The CLI carries it out. */
export type UiCommand =
  | { type: "close"; node: string; target: Target }
  | { type: "simultaneous-close"; target: Target }
  | { type: "half-close"; node: string; target: Target }
  | { type: "abort"; node: string; target: Target }
  | { type: "new" }
  | { type: "write"; target: Target }
  | { type: "pause" }
  | { type: "step" }
  | { type: "speed"; factor: number }
  | { type: "loss" }
  | { type: "storm" }
  | { type: "pcap" }
  | { type: "quit" };

/** A command's reply: a short message for the status line, or nothing. */
export type CommandReply = string | undefined;

/** Feeds the UI and carries out its commands. */
export interface UiSource {
  /** Peers in pane order (left to right). */
  readonly nodes: readonly UiNode[];
  /** The keys the footer and the help list, when not all of `KEYS` apply (one endpoint). */
  readonly keys?: readonly KeyBinding[];
  /** Calls `listener` with every batch of inputs; returns the unsubscribe function. */
  subscribe(listener: (inputs: readonly UiInput[]) => void): () => void;
  /** Header facts, read every frame. */
  status(): UiStatus;
  /** The engine's current time in ms (virtual time for the simulator), for countdowns. */
  now(): number;
  /** Carries out a command. */
  command(cmd: UiCommand): CommandReply | Promise<CommandReply>;
  /** Starts producing inputs (after the UI subscribed). */
  start(): void;
  /** Stops everything the source runs. */
  stop(): void;
  /** One closing line printed after the UI leaves the screen. */
  summary?(): string;
  /** Registers a listener for errors thrown in the source's own loop (timers). */
  onError?(listener: (error: unknown) => void): void;
}
