/**
 * A seeded, sans-IO simulated network: datagrams between string-addressed nodes,
 * with per-direction loss, duplication, reordering, delay, jitter, corruption and
 * partitions, in the spirit of Linux `netem`.
 *
 * Nothing here reads a clock or arms a timer: the caller passes `now` (ms) to
 * {@linkcode SimNetwork.send} and {@linkcode SimNetwork.pollDeliver}, and asks
 * {@linkcode SimNetwork.nextDeadline} when to come back. The same seed and the same
 * calls give the same fates, delivery times and bytes on every platform.
 *
 * @example
 * ```ts
 * import { SimNetwork } from "./netem.ts";
 *
 * const net = new SimNetwork({ seed: 7, defaults: { delay: 10 } });
 * net.setLink("10.0.0.2", "10.0.0.1", { loss: 0.5 }); // only this direction is lossy
 * const id = net.send("10.0.0.1", "10.0.0.2", new Uint8Array([1, 2, 3]), 0);
 * console.assert(net.nextDeadline() === 10);
 * console.assert(net.pollDeliver(9) === undefined); // not due yet
 * const d = net.pollDeliver(10)!;
 * console.assert(d.id === id && d.bytes.length === 3);
 * ```
 *
 * @module
 */
import { Rng } from "./rng.ts";

/** Impairments of one direction of one link (`from` → `to`). */
export interface LinkConfig {
  /** Probability in [0, 1] that a datagram is dropped. */
  readonly loss: number;
  /** Probability in [0, 1] that a datagram is delivered twice (two independent copies). */
  readonly duplicate: number;
  /** Probability in [0, 1] that a copy is held back an extra `reorderDelay` ms. */
  readonly reorder: number;
  /** Extra hold, in ms, for a copy picked by `reorder`. */
  readonly reorderDelay: number;
  /** Base one-way delay in ms. */
  readonly delay: number;
  /**
   * Extra delay in ms, uniform in [0, jitter), drawn per copy. Like netem, jitter
   * alone may reorder datagrams sent less than `jitter` ms apart.
   */
  readonly jitter: number;
  /** Probability in [0, 1] that a copy has exactly one random bit flipped. */
  readonly corrupt: number;
  /**
   * While true, every datagram on this direction is dropped: at send, and at delivery
   * for datagrams already in flight when the partition was set.
   */
  readonly partition: boolean;
}

/** A perfect link: no loss, no delay. Partial configs are completed from this. */
export const PERFECT_LINK: Readonly<LinkConfig> = Object.freeze({
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelay: 10,
  delay: 0,
  jitter: 0,
  corrupt: 0,
  partition: false,
});

/** Options for {@linkcode SimNetwork}. */
export interface SimNetworkOptions {
  /** Seed of every random decision (a safe integer). */
  seed: number;
  /** Impairments of every direction that has no {@linkcode SimNetwork.setLink} entry. */
  defaults?: Partial<LinkConfig>;
  /**
   * Record {@linkcode NetEvent}s for {@linkcode SimNetwork.pollEvent} (default true).
   * Turn off for long runs that never poll events, so the queue cannot grow unbounded.
   */
  recordEvents?: boolean;
}

/** Fields every {@linkcode NetEvent} carries. */
export interface NetEventBase {
  /** The id {@linkcode SimNetwork.send} returned; a duplicate shares its original's id. */
  readonly id: number;
  /** 0 for the original, 1 for the duplicate copy. */
  readonly copy: 0 | 1;
  readonly from: string;
  readonly to: string;
  /** Datagram length in bytes. */
  readonly length: number;
  /**
   * Simulated time (ms) of the fate: the send time for fates decided at send, the
   * scheduled delivery time for "delivered" and for partition losses in flight.
   */
  readonly at: number;
}

/**
 * What happened to a datagram. Fates decided at send time ("lost" by `loss`,
 * "duplicated", "corrupted", "reordered") are reported in send order with `at` = send
 * time; "delivered" and partition losses of in-flight copies are reported when
 * {@linkcode SimNetwork.pollDeliver} reaches them.
 */
export type NetEvent =
  | (NetEventBase & { readonly type: "lost"; readonly reason: "loss" | "partition" })
  | (NetEventBase & { readonly type: "duplicated" })
  | (NetEventBase & { readonly type: "corrupted"; readonly bit: number })
  | (NetEventBase & { readonly type: "reordered"; readonly hold: number })
  | (NetEventBase & { readonly type: "delivered" });

/** A datagram handed out by {@linkcode SimNetwork.pollDeliver}. */
export interface Delivery {
  readonly id: number;
  /** 0 for the original, 1 for the duplicate copy. */
  readonly copy: 0 | 1;
  readonly from: string;
  readonly to: string;
  /** The payload. Valid only until the next `pollDeliver` call, which may recycle it. */
  readonly bytes: Uint8Array;
  /** The scheduled delivery time in ms (≤ the `now` passed to `pollDeliver`). */
  readonly at: number;
}

/** Counters of a {@linkcode SimNetwork}; copies count separately (a duplicate is 2 delivered). */
export interface NetStats {
  /** Calls to `send`. */
  sent: number;
  /** Copies handed out by `pollDeliver`. */
  delivered: number;
  /** Datagrams dropped by `loss` plus copies dropped by a partition. */
  lost: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  /** Copies scheduled and not yet delivered or dropped. */
  inFlight: number;
}

/** Smallest pooled buffer; tiny datagrams (bare ACKs) share one size class. */
const MIN_BUFFER_SHIFT = 6;

/** Pool size class of a datagram: the smallest power of two ≥ len (and ≥ 64). */
function sizeClass(len: number): number {
  return len <= 1 << MIN_BUFFER_SHIFT ? 0 : 32 - Math.clz32(len - 1) - MIN_BUFFER_SHIFT;
}

function checkProbability(name: string, p: number | undefined): void {
  if (p !== undefined && !(p >= 0 && p <= 1)) {
    throw new RangeError(`Cannot configure link: ${name} must be in [0, 1], got "${p}"`);
  }
}

function checkDuration(name: string, ms: number | undefined): void {
  if (ms !== undefined && !(ms >= 0 && ms < Infinity)) {
    throw new RangeError(`Cannot configure link: ${name} must be a finite ms >= 0, got "${ms}"`);
  }
}

/** Completes a partial config over `base` and validates it; throws RangeError on bad values. */
function makeLink(base: Readonly<LinkConfig>, cfg: Partial<LinkConfig>): Readonly<LinkConfig> {
  checkProbability("loss", cfg.loss);
  checkProbability("duplicate", cfg.duplicate);
  checkProbability("reorder", cfg.reorder);
  checkProbability("corrupt", cfg.corrupt);
  checkDuration("delay", cfg.delay);
  checkDuration("jitter", cfg.jitter);
  checkDuration("reorderDelay", cfg.reorderDelay);
  // Copy field by field: spreading `cfg` would also copy unknown keys and explicit
  // `undefined`s over the base values.
  return Object.freeze({
    loss: cfg.loss ?? base.loss,
    duplicate: cfg.duplicate ?? base.duplicate,
    reorder: cfg.reorder ?? base.reorder,
    reorderDelay: cfg.reorderDelay ?? base.reorderDelay,
    delay: cfg.delay ?? base.delay,
    jitter: cfg.jitter ?? base.jitter,
    corrupt: cfg.corrupt ?? base.corrupt,
    partition: cfg.partition ?? base.partition,
  });
}

/**
 * A simulated network carrying opaque datagrams between string-addressed nodes.
 *
 * Randomness: each impairment draws from its own stream forked from the seed, so
 * enabling one impairment never changes the decisions of another, and `loss` draws
 * exactly one value per `send` (partitioned or not). Hence, for one seed, the
 * datagrams lost at a lower loss rate are a subset of those lost at a higher one.
 *
 * Ordering: copies leave in delivery-time order, ties in send order, so a link
 * without jitter or reorder is FIFO (unless its delay is lowered mid-flight).
 *
 * Memory: payloads are copied into pooled buffers (power-of-two size classes) that
 * are recycled once delivered or dropped; pending copies sit in a binary heap of
 * slot indices over struct-of-arrays storage.
 */
export class SimNetwork {
  #defaults: Readonly<LinkConfig>;
  #links = new Map<string, Map<string, Readonly<LinkConfig>>>();
  #recordEvents: boolean;

  // One stream per impairment (see the class doc for why).
  #lossRng: Rng;
  #duplicateRng: Rng;
  #corruptRng: Rng;
  #reorderRng: Rng;
  #jitterRng: Rng;

  #nextId = 1;
  // Send-order sequence of copies: the tie-breaker that keeps the heap stable.
  #nextSeq = 0;

  // Slot storage for pending copies (struct of arrays, slots reused via #freeSlots).
  #deadline: number[] = [];
  #seq: number[] = [];
  #id: number[] = [];
  #copy: (0 | 1)[] = [];
  #from: string[] = [];
  #to: string[] = [];
  #view: Uint8Array[] = []; // exact-length view handed to the receiver
  #buffer: Uint8Array[] = []; // the pooled backing buffer, returned to the pool
  #freeSlots: number[] = [];

  // Min-heap of slot indices ordered by (deadline, seq).
  #heap: number[] = [];

  // Free buffers per size class.
  #pool: Uint8Array[][] = [];

  // Buffer lent out by the last pollDeliver, recycled on the next call.
  #lent: Uint8Array | undefined;

  #events: NetEvent[] = [];
  #eventHead = 0;

  #stats: NetStats = {
    sent: 0,
    delivered: 0,
    lost: 0,
    duplicated: 0,
    corrupted: 0,
    reordered: 0,
    inFlight: 0,
  };

  /**
   * @throws {RangeError} on a bad seed or bad default impairments
   */
  constructor(options: SimNetworkOptions) {
    const root = new Rng(options.seed);
    this.#lossRng = root.fork("netem/loss");
    this.#duplicateRng = root.fork("netem/duplicate");
    this.#corruptRng = root.fork("netem/corrupt");
    this.#reorderRng = root.fork("netem/reorder");
    this.#jitterRng = root.fork("netem/jitter");
    this.#defaults = makeLink(PERFECT_LINK, options.defaults ?? {});
    this.#recordEvents = options.recordEvents ?? true;
  }

  /**
   * Updates the impairments of direction `from` → `to`; fields left out keep their
   * current value (the defaults, for a direction never set). Takes effect for later
   * sends, and for partitions also for copies in flight.
   *
   * @throws {RangeError} if a probability is outside [0, 1] or a duration is negative
   */
  setLink(from: string, to: string, cfg: Partial<LinkConfig>): void {
    let byTo = this.#links.get(from);
    if (byTo === undefined) {
      byTo = new Map();
      this.#links.set(from, byTo);
    }
    byTo.set(to, makeLink(byTo.get(to) ?? this.#defaults, cfg));
  }

  /** The impairments in force for direction `from` → `to`. */
  getLink(from: string, to: string): Readonly<LinkConfig> {
    return this.#links.get(from)?.get(to) ?? this.#defaults;
  }

  /** Counters so far; a live read-only view, not a snapshot. */
  get stats(): Readonly<NetStats> {
    return this.#stats;
  }

  /**
   * Sends a datagram. The bytes are copied, so the caller may reuse its buffer at
   * once. Decides the fate now and schedules delivery of each surviving copy at
   * `now + delay + U[0, jitter) (+ reorderDelay if held back)`.
   *
   * @returns the datagram id (also on its events and deliveries), counting from 1
   */
  send(from: string, to: string, bytes: Uint8Array, now: number): number {
    const id = this.#nextId++;
    const link = this.getLink(from, to);
    const len = bytes.length;
    this.#stats.sent++;

    // Always one loss draw per send (see class doc: keeps loss decisions coupled
    // across loss rates and independent of partitions).
    const lostByChance = this.#lossRng.chance(link.loss);
    if (link.partition || lostByChance) {
      this.#stats.lost++;
      if (this.#recordEvents) {
        this.#events.push({
          type: "lost",
          reason: link.partition ? "partition" : "loss",
          id,
          copy: 0,
          from,
          to,
          length: len,
          at: now,
        });
      }
      return id;
    }

    const duplicated = this.#duplicateRng.chance(link.duplicate);
    this.#schedule(link, id, 0, from, to, bytes, now);
    if (duplicated) {
      this.#stats.duplicated++;
      if (this.#recordEvents) {
        this.#events.push({ type: "duplicated", id, copy: 1, from, to, length: len, at: now });
      }
      // The duplicate is a second, independent trip over the link (own corruption,
      // jitter and reorder draws), as in netem.
      this.#schedule(link, id, 1, from, to, bytes, now);
    }
    return id;
  }

  /** Copies one copy into a pooled buffer, applies corruption and timing, enqueues it. */
  #schedule(
    link: Readonly<LinkConfig>,
    id: number,
    copy: 0 | 1,
    from: string,
    to: string,
    bytes: Uint8Array,
    now: number,
  ): void {
    const len = bytes.length;
    const buffer = this.#takeBuffer(len);
    const view = buffer.length === len ? buffer : buffer.subarray(0, len);
    view.set(bytes);

    // An empty datagram has no bit to flip, so it is never corrupted; it still draws,
    // like every copy, so emptiness does not shift later corruption decisions.
    if (this.#corruptRng.chance(link.corrupt) && len > 0) {
      const bit = this.#corruptRng.int(len * 8);
      view[bit >>> 3] ^= 1 << (bit & 7);
      this.#stats.corrupted++;
      if (this.#recordEvents) {
        this.#events.push({ type: "corrupted", bit, id, copy, from, to, length: len, at: now });
      }
    }

    let deadline = now + link.delay;
    if (link.jitter > 0) deadline += this.#jitterRng.float() * link.jitter;
    if (link.reorder > 0 && this.#reorderRng.chance(link.reorder)) {
      deadline += link.reorderDelay;
      this.#stats.reordered++;
      if (this.#recordEvents) {
        const hold = link.reorderDelay;
        this.#events.push({ type: "reordered", hold, id, copy, from, to, length: len, at: now });
      }
    }

    let slot = this.#freeSlots.pop();
    if (slot === undefined) {
      slot = this.#deadline.length;
      this.#deadline.push(0);
      this.#seq.push(0);
      this.#id.push(0);
      this.#copy.push(0);
      this.#from.push("");
      this.#to.push("");
      this.#view.push(view);
      this.#buffer.push(buffer);
    }
    this.#deadline[slot] = deadline;
    this.#seq[slot] = this.#nextSeq++;
    this.#id[slot] = id;
    this.#copy[slot] = copy;
    this.#from[slot] = from;
    this.#to[slot] = to;
    this.#view[slot] = view;
    this.#buffer[slot] = buffer;
    this.#heapPush(slot);
    this.#stats.inFlight++;
  }

  /** Delivery time (ms) of the earliest pending copy, or undefined when none is in flight. */
  nextDeadline(): number | undefined {
    return this.#heap.length === 0 ? undefined : this.#deadline[this.#heap[0]];
  }

  /**
   * Hands out the next copy due at or before `now`, in delivery-time order, ties in
   * send order. Copies whose direction is partitioned at this moment are dropped on
   * the way (reported as "lost" with reason "partition"). Call until it returns
   * undefined.
   *
   * The returned `bytes` stay valid only until the next `pollDeliver` call.
   */
  pollDeliver(now: number): Delivery | undefined {
    if (this.#lent !== undefined) {
      this.#giveBuffer(this.#lent);
      this.#lent = undefined;
    }
    const heap = this.#heap;
    while (heap.length > 0 && this.#deadline[heap[0]] <= now) {
      const slot = this.#heapPop();
      const from = this.#from[slot], to = this.#to[slot];
      const id = this.#id[slot], copy = this.#copy[slot], at = this.#deadline[slot];
      const view = this.#view[slot], buffer = this.#buffer[slot];
      // Drop references so a recycled slot does not pin strings or buffers.
      this.#from[slot] = this.#to[slot] = "";
      this.#freeSlots.push(slot);
      this.#stats.inFlight--;

      if (this.getLink(from, to).partition) {
        this.#giveBuffer(buffer);
        this.#stats.lost++;
        if (this.#recordEvents) {
          const length = view.length;
          this.#events.push({ type: "lost", reason: "partition", id, copy, from, to, length, at });
        }
        continue;
      }

      this.#lent = buffer;
      this.#stats.delivered++;
      if (this.#recordEvents) {
        this.#events.push({ type: "delivered", id, copy, from, to, length: view.length, at });
      }
      return { id, copy, from, to, bytes: view, at };
    }
    return undefined;
  }

  /** The next recorded fate, oldest first, or undefined when none is left. */
  pollEvent(): NetEvent | undefined {
    if (this.#eventHead === this.#events.length) return undefined;
    const ev = this.#events[this.#eventHead++];
    // Reset instead of shifting: O(1) per poll, and the array is reused once drained.
    if (this.#eventHead === this.#events.length) {
      this.#events.length = 0;
      this.#eventHead = 0;
    }
    return ev;
  }

  #takeBuffer(len: number): Uint8Array {
    const cls = sizeClass(len);
    const free = this.#pool[cls];
    return free?.pop() ?? new Uint8Array(1 << (cls + MIN_BUFFER_SHIFT));
  }

  #giveBuffer(buffer: Uint8Array): void {
    const cls = sizeClass(buffer.length);
    (this.#pool[cls] ??= []).push(buffer);
  }

  #less(i: number, j: number): boolean {
    const di = this.#deadline[i], dj = this.#deadline[j];
    return di < dj || (di === dj && this.#seq[i] < this.#seq[j]);
  }

  #heapPush(slot: number): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(slot);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(slot, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = slot;
  }

  #heapPop(): number {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop()!;
    const n = heap.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.#less(heap[r], heap[l]) ? r : l;
        if (!this.#less(heap[c], last)) break;
        heap[i] = heap[c];
        i = c;
      }
      heap[i] = last;
    }
    return top;
  }
}
