/**
 * Helpers for the UI tests: a fake real-time clock for the driver and the demo
 * session, and a view model folded from a played scenario.
 *
 * @module
 */
import type { RealClock } from "../../transports/sim_driver.ts";
import { findScenario, PEER_A, PEER_B, runScenario } from "../../src/trace/scenarios.ts";
import type { ScenarioOptions } from "../../src/trace/scenarios.ts";
import { UiStore } from "../../src/ui/model.ts";
import type { UiNode } from "../../src/ui/source.ts";

/** Peers A and B as the demo names them. */
export const NODES: readonly UiNode[] = [
  { address: PEER_A, label: "A" },
  { address: PEER_B, label: "B" },
];

/** A clock that moves only when told; timers fire in deadline order. */
export class FakeClock implements RealClock {
  #now = 0;
  #next = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers armed and not yet fired. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time on by `ms`, firing every timer due on the way, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let first: [number, { at: number; fn: () => void }] | undefined;
      for (const t of this.#timers) {
        if (t[1].at <= end && (!first || t[1].at < first[1].at)) first = t;
      }
      if (!first) break;
      this.#timers.delete(first[0]);
      this.#now = Math.max(this.#now, first[1].at);
      first[1].fn();
    }
    this.#now = end;
  }
}

/** Plays `name` headless and folds its whole log into a store. */
export function foldScenario(
  name: string,
  opts: Partial<ScenarioOptions> = {},
): { store: UiStore; log: ReturnType<typeof runScenario>["world"]["log"] } {
  const run = runScenario(findScenario(name)!, opts);
  const store = new UiStore({ nodes: NODES, msl: opts.msl ?? 1000 });
  store.applyAll(run.world.log);
  return { store, log: run.world.log };
}
