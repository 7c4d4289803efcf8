/**
 * A seeded user-space impairment in front of one transport end (`--loss`, `--delay`
 * on `listen`/`connect`, `tun`'s impairment options): both directions pass one
 * {@linkcode SimNetwork}, as `tc netem` on both directions would, for kernels built
 * without `sch_netem`. A test and teaching aid, not a model of a real path.
 *
 * The transport has no clock, so a received datagram (copied) waits for the driver's
 * next poll to enter the network at the driver's `now`. The queue is bounded: beyond
 * `queue` datagrams held (both directions) a datagram is dropped and counted, so a
 * flood cannot grow memory.
 *
 * @module
 */
import { type LinkConfig, SimNetwork } from "../src/sim/netem.ts";

/** Datagrams the impairment holds back at most by default (both directions). */
export const IMPAIR_QUEUE = 8192;

/** What the impairment did so far. */
export interface ImpairmentStats {
  /** Datagrams through the impairment, both directions. */
  passed: number;
  /** Dropped by the simulated loss. */
  lost: number;
  /** Dropped because the queue was full. */
  queueFull: number;
}

/** One end's impairment: see the module doc. */
export class Impairment {
  readonly net: SimNetwork;
  readonly #local: string;
  readonly #queue: number;
  #arrivals: Uint8Array[] = [];
  #arrivalFrom: string[] = [];
  #queueFull = 0;

  /** `local` is the end's own address text (what arrivals are addressed to). */
  constructor(local: string, seed: number, link: Partial<LinkConfig>, queue = IMPAIR_QUEUE) {
    this.#local = local;
    this.#queue = queue;
    this.net = new SimNetwork({ seed, defaults: link, recordEvents: false });
  }

  /** Counters so far. */
  get stats(): ImpairmentStats {
    const s = this.net.stats;
    return { passed: s.sent, lost: s.lost, queueFull: this.#queueFull };
  }

  #room(): boolean {
    if (this.net.stats.inFlight + this.#arrivals.length < this.#queue) return true;
    this.#queueFull++;
    return false;
  }

  /**
   * A datagram received from `from`: copied, it enters at the next poll. Returns true
   * when it is the first one waiting (the owner should wake its driver).
   */
  arrive(bytes: Uint8Array, from: string): boolean {
    if (!this.#room()) return false;
    this.#arrivals.push(bytes.slice());
    this.#arrivalFrom.push(from);
    return this.#arrivals.length === 1;
  }

  /** A datagram to send to `to` (copied); false when the queue is full (counted). */
  send(to: string, bytes: Uint8Array, now: number): boolean {
    if (!this.#room()) return false;
    this.net.send(this.#local, to, bytes, now);
    return true;
  }

  /** When `poll` has work: now while arrivals wait, else the network's next delivery. */
  nextDeadline(): number {
    if (this.#arrivals.length > 0) return 0;
    return this.net.nextDeadline() ?? Infinity;
  }

  /**
   * Lets the waiting arrivals in at `now`, then hands every datagram due to `deliver`
   * (`to` is the local address for inbound ones); `deliver` returns false to stop (the
   * owner closed).
   */
  poll(now: number, deliver: (bytes: Uint8Array, from: string, to: string) => boolean): void {
    const a = this.#arrivals;
    if (a.length > 0) {
      for (let i = 0; i < a.length; i++) {
        this.net.send(this.#arrivalFrom[i], this.#local, a[i], now);
      }
      a.length = 0;
      this.#arrivalFrom.length = 0;
    }
    for (let d = this.net.pollDeliver(now); d; d = this.net.pollDeliver(now)) {
      if (!deliver(d.bytes, d.from, d.to)) return;
    }
  }
}
