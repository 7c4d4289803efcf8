/**
 * Runs a simulated {@linkcode World} in real time at a chosen speed (virtual ms per
 * real ms), for the terminal UI. Besides `transports/driver.ts` this is the only file
 * that reads the real clock and arms a runtime timer: one timer, set for the world's
 * next deadline.
 *
 * It can pause, resume, step one moment while paused, change speed and loss on the
 * fly, and streams what happened as batches: the world's log entries plus an
 * `info()` snapshot of every connection those entries touched, so a UI can draw
 * sequence variables and timers without ever holding a TCB.
 *
 * @example
 * ```ts
 * import { World } from "../src/sim/world.ts";
 * import { SimDriver } from "./sim_driver.ts";
 * const world = new World({ seed: 1 });
 * const driver = new SimDriver(world, { speed: Infinity });
 * let entries = 0;
 * driver.onBatch((b) => entries += b.entries.length);
 * driver.start();
 * await driver.whenIdle();
 * driver.stop();
 * ```
 *
 * @module
 */
import type { ConnectionInfo, Endpoint } from "../src/endpoint/endpoint.ts";
import type { World, WorldEntry } from "../src/sim/world.ts";
import type { ConnId } from "../src/tcb/events.ts";

/** The real clock and the one runtime timer, injectable for tests. */
export interface RealClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Arms a one-shot timer; returns its handle. */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

/** The process's monotonic clock and `setTimeout`. */
export const SYSTEM_CLOCK: RealClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (handle) => clearTimeout(handle as number),
};

/** A connection as `Endpoint.info` saw it right after a batch. */
export interface DriverSnapshot {
  node: string;
  at: number;
  info: ConnectionInfo;
}

/** What happened since the last batch. */
export interface DriverBatch {
  entries: readonly WorldEntry[];
  snapshots: readonly DriverSnapshot[];
}

/** Settings of {@linkcode SimDriver}. */
export interface SimDriverOptions {
  /** Virtual ms per real ms (0.2: five times slower than real); Infinity: flat out. */
  speed: number;
  clock?: RealClock;
  /** World steps per wake-up before yielding to the event loop (default 5000). */
  maxSteps?: number;
}

/** Slowest and fastest speeds `speed =` accepts (besides Infinity). */
export const MIN_SPEED = 1 / 1024;
export const MAX_SPEED = 4096;

/** A world in real time. */
export class SimDriver {
  readonly world: World;
  #clock: RealClock;
  #speed: number;
  #maxSteps: number;
  #running = false;
  #paused = false;
  #anchorReal = 0;
  #anchorVirtual = 0;
  #timer: unknown;
  #listeners: ((b: DriverBatch) => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  #errorListeners: ((error: unknown) => void)[] = [];
  /** Per node, connections in TIME-WAIT: never snapshotted (a compact record's info is a scan). */
  #timeWait = new Map<string, Set<ConnId>>();

  constructor(world: World, opts: SimDriverOptions) {
    this.world = world;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#speed = clampSpeed(opts.speed);
    this.#maxSteps = opts.maxSteps ?? 5000;
  }

  /** Virtual ms per real ms. */
  get speed(): number {
    return this.#speed;
  }

  set speed(v: number) {
    this.#reanchor();
    this.#speed = clampSpeed(v);
    this.#schedule();
  }

  get paused(): boolean {
    return this.#paused;
  }

  get running(): boolean {
    return this.#running;
  }

  /** The virtual time now (frozen while paused), for countdowns. */
  now(): number {
    const v = this.#virtualNow();
    return Number.isFinite(v) ? Math.max(this.world.now, v) : this.world.now;
  }

  /** Calls `listener` when the clock's own loop throws (the driver has stopped then). */
  onError(listener: (error: unknown) => void): void {
    this.#errorListeners.push(listener);
  }

  /** Calls `listener` with every batch; returns the unsubscribe function. */
  onBatch(listener: (b: DriverBatch) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** Starts the clock (or keeps it paused, if paused before) and emits what is logged. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#anchor();
    this.flush();
    this.#schedule();
  }

  /** Stops for good: clears the timer. */
  stop(): void {
    this.#running = false;
    this.#clearTimer();
    this.#wakeIdle();
  }

  pause(): void {
    if (this.#paused) return;
    this.#catchUp();
    this.#paused = true;
    this.#clearTimer();
    this.flush();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#anchor();
    this.#schedule();
  }

  /**
   * Moves to the next moment anything is due and processes it (a delivery, a timer,
   * a scripted action). Meant for a paused clock. Returns false when nothing is due.
   */
  step(): boolean {
    const done = this.world.step();
    this.flush();
    if (!this.#paused) {
      this.#anchor();
      this.#schedule();
    }
    return done;
  }

  /** Runs `fn` on `node` now (a user command), then emits and re-arms. */
  act(node: string, label: string, fn: (ep: Endpoint, now: number) => void): void {
    this.#catchUp();
    this.world.act(node, label, fn);
    this.flush();
    this.#schedule();
  }

  /** Runs `fn` (which may schedule actions on the world), then emits and re-arms. */
  update(fn: (world: World) => void): void {
    this.#catchUp();
    fn(this.world);
    this.flush();
    this.#schedule();
  }

  /** Schedules `fn` on `node` at virtual time `at`. */
  at(at: number, node: string, label: string, fn: (ep: Endpoint, now: number) => void): void {
    this.world.at(at, node, label, fn);
    this.#schedule();
  }

  /** Loss on every direction between the world's endpoints, from now on. */
  setLoss(p: number): void {
    const nodes = [...this.world.endpoints.keys()];
    for (const a of nodes) {
      for (const b of nodes) if (a !== b) this.world.net.setLink(a, b, { loss: p });
    }
  }

  /** Loss now in force (on the first direction; `setLoss` keeps them equal). */
  get loss(): number {
    const [a, b] = this.world.endpoints.keys();
    return a !== undefined && b !== undefined ? this.world.net.getLink(a, b).loss : 0;
  }

  /** True when nothing is scheduled: only a command can make anything happen. */
  idle(): boolean {
    return this.world.nextDeadline() === Infinity;
  }

  /** Resolves the next time the world is idle (or the driver stops). */
  whenIdle(): Promise<void> {
    if (this.idle() && this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Emits everything logged since the last batch (with snapshots) and empties the log. */
  flush(): void {
    const log = this.world.log;
    if (log.length === 0) return;
    const entries = log.slice();
    log.length = 0;
    const batch: DriverBatch = { entries, snapshots: this.#snapshots(entries) };
    for (const l of this.#listeners) l(batch);
  }

  // -------------------------------------------------------------- internals

  #virtualNow(): number {
    if (!this.#running || this.#paused) return this.world.now;
    if (this.#speed === Infinity) return Infinity;
    return this.#anchorVirtual + (this.#clock.now() - this.#anchorReal) * this.#speed;
  }

  #anchor(): void {
    this.#anchorReal = this.#clock.now();
    this.#anchorVirtual = this.world.now;
  }

  #reanchor(): void {
    const v = this.#virtualNow();
    this.#anchorReal = this.#clock.now();
    this.#anchorVirtual = Number.isFinite(v) ? Math.max(v, this.world.now) : this.world.now;
  }

  /** Brings the world up to the real-time clock (before a command, a pause). */
  #catchUp(): void {
    if (!this.#running || this.#paused) return;
    const target = this.#virtualNow();
    if (!Number.isFinite(target)) return;
    let steps = 0;
    while (steps < this.#maxSteps && this.world.step(target)) steps++;
    if (target > this.world.now && steps < this.#maxSteps) this.world.now = target;
    this.#reanchor();
  }

  readonly #wake = (): void => {
    this.#timer = undefined;
    if (!this.#running || this.#paused) return;
    const target = this.#virtualNow();
    let steps = 0;
    try {
      while (steps < this.#maxSteps && this.world.step(target)) steps++;
    } catch (e) {
      // Thrown from a scheduled action or the engine: stop, and tell whoever listens
      // (the UI leaves the screen first); with nobody listening, let it fly.
      this.stop();
      this.flush();
      if (this.#errorListeners.length === 0) throw e;
      for (const l of this.#errorListeners) l(e);
      return;
    }
    const behind = steps >= this.#maxSteps;
    if (behind) {
      // Too much to do: let virtual time slip rather than stop drawing.
      if (Number.isFinite(target)) this.#anchor();
    } else if (Number.isFinite(target) && target > this.world.now) {
      this.world.now = target;
    }
    this.flush();
    this.#schedule(behind);
  };

  #schedule(soon = false): void {
    this.#clearTimer();
    if (!this.#running || this.#paused) return;
    const next = this.world.nextDeadline();
    if (next === Infinity && !soon) {
      this.#wakeIdle();
      return;
    }
    let delay = 0;
    if (!soon && this.#speed !== Infinity) {
      delay = (next - this.#virtualNow()) / this.#speed;
    }
    delay = Math.max(0, Math.min(Math.ceil(delay), 2 ** 31 - 1));
    this.#timer = this.#clock.setTimer(this.#wake, delay);
  }

  #clearTimer(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #wakeIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  #snapshots(entries: readonly WorldEntry[]): DriverSnapshot[] {
    // Per node: connection → whether to read its info (not once it closed or sits in TIME-WAIT).
    const touched = new Map<string, Map<ConnId, boolean>>();
    for (const e of entries) {
      if (e.kind !== "event") continue;
      const ev = e.event;
      const conn = ev.conn;
      if (conn === undefined) continue;
      let tw = this.#timeWait.get(e.node);
      if (!tw) this.#timeWait.set(e.node, tw = new Set());
      let m = touched.get(e.node);
      if (!m) touched.set(e.node, m = new Map());
      if (ev.type === "state-changed") {
        if (ev.to === "TIME-WAIT") tw.add(conn);
        else if (ev.from === "TIME-WAIT") tw.delete(conn);
        m.set(conn, ev.to !== "CLOSED" && ev.to !== "TIME-WAIT");
      } else if (ev.type === "closed") {
        tw.delete(conn);
        m.set(conn, false);
      } else if (!m.has(conn)) {
        m.set(conn, !tw.has(conn));
      }
    }
    const out: DriverSnapshot[] = [];
    const at = this.world.now;
    for (const [node, m] of touched) {
      const ep = this.world.endpoints.get(node);
      if (!ep) continue;
      for (const [conn, want] of m) {
        if (!want) continue;
        const info = ep.info(conn);
        if (info) out.push({ node, at, info });
      }
    }
    return out;
  }
}

function clampSpeed(v: number): number {
  if (v === Infinity) return Infinity;
  if (!(v > 0)) throw new RangeError(`Speed must be above 0, got ${v}`);
  return Math.max(MIN_SPEED, Math.min(MAX_SPEED, v));
}
