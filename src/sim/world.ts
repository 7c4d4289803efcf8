/**
 * A virtual-time world: endpoints joined by a seeded {@linkcode SimNetwork}. It
 * applies the drain rule after every input, delivers datagrams and fires timers in
 * time order, runs scripted user actions, and keeps a log that traces, tests and
 * the UI read. Sans-IO: time only moves when `step` or `run` is called.
 *
 * @module
 */
import { Endpoint, type EndpointOptions } from "../endpoint/endpoint.ts";
import type { TcbEvent } from "../tcb/events.ts";
import { type LinkConfig, type NetEvent, SimNetwork } from "./netem.ts";

/** One line of the world's log, in the order things happened. */
export type WorldEntry =
  | {
    kind: "event";
    at: number;
    node: string;
    event: TcbEvent;
    /**
     * For `segment-sent`, the datagram id the network gave it; for
     * `segment-received`, the id of the datagram that carried it.
     */
    datagram?: number;
    /** For `segment-received`: 1 when this is the network's duplicate copy. */
    copy?: number;
  }
  | { kind: "net"; at: number; event: NetEvent }
  | { kind: "action"; at: number; node: string; label: string };

/** A scripted action, run at its time. */
interface Action {
  at: number;
  seq: number;
  node: string;
  label: string;
  run: (ep: Endpoint, now: number) => void;
}

/** World settings. */
export interface WorldOptions {
  seed: number;
  /** Impairments for every link unless `setLink` overrides one direction. */
  link?: Partial<LinkConfig>;
  /** Keep a log (default true); long benchmarks turn it off. */
  log?: boolean;
  /**
   * The order of the drain rule (README, "The run loop"): `"transmits-first"` (the
   * default; traces show every ACK as RFC 9293's figures do) or `"events-first"`, as
   * the real-time driver does, where hooks answer before transmissions are polled
   * and the two deferrable ACKs ride on their replies (TcbHost.deferAck). Then a
   * segment-sent entry of the log carries no datagram id: it is logged before its
   * datagram is sent.
   */
  drain?: "transmits-first" | "events-first";
}

/** Called for every endpoint event; may issue commands on the endpoint. */
export type EventHook = (node: string, ev: TcbEvent, ep: Endpoint, world: World) => void;

/** Endpoints on a simulated network, driven in virtual time. */
export class World {
  readonly net: SimNetwork;
  readonly endpoints = new Map<string, Endpoint>();
  readonly log: WorldEntry[] = [];
  now = 0;
  #logOn: boolean;
  #actions: Action[] = [];
  #actionSeq = 0;
  #hooks: EventHook[] = [];
  /** Datagram ids of the transmissions just polled, for their segment-sent events. */
  #sentIds: number[] = [];
  #eventsFirst: boolean;
  #delivering: { id: number; copy: number; to: string } | undefined;

  constructor(opts: WorldOptions) {
    this.net = new SimNetwork({ seed: opts.seed, defaults: opts.link, recordEvents: true });
    this.#logOn = opts.log ?? true;
    this.#eventsFirst = opts.drain === "events-first";
  }

  /** Adds an endpoint. */
  add(opts: EndpointOptions): Endpoint {
    if (this.endpoints.has(opts.address)) {
      throw new Error(`Cannot add endpoint: address "${opts.address}" already taken`);
    }
    const ep = new Endpoint(opts);
    this.endpoints.set(opts.address, ep);
    return ep;
  }

  /** Registers a hook that sees every event (after it is logged). */
  onEvent(hook: EventHook): void {
    this.#hooks.push(hook);
  }

  /** Runs `fn` on endpoint `node` at virtual time `at`, with `label` in the log. */
  at(at: number, node: string, label: string, fn: (ep: Endpoint, now: number) => void): void {
    this.#actions.push({ at, seq: this.#actionSeq++, node, label, run: fn });
    this.#actions.sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  /** Runs `fn` on endpoint `node` now and drains. */
  act(node: string, label: string, fn: (ep: Endpoint, now: number) => void): void {
    const ep = this.#endpoint(node);
    if (this.#logOn && label) this.log.push({ kind: "action", at: this.now, node, label });
    fn(ep, this.now);
    this.drain();
  }

  /** The earliest time anything is due (Infinity when the world is idle). */
  nextDeadline(): number {
    let t = this.net.nextDeadline() ?? Infinity;
    for (const ep of this.endpoints.values()) t = Math.min(t, ep.pollTimeout());
    if (this.#actions.length > 0) t = Math.min(t, this.#actions[0].at);
    return t;
  }

  /**
   * Moves time to the next deadline (never beyond `limit`) and processes everything
   * due then. Returns false when nothing was due before `limit`.
   */
  step(limit = Infinity): boolean {
    const t = this.nextDeadline();
    if (t === Infinity || t > limit) return false;
    if (t > this.now) this.now = t;
    const now = this.now;
    // Scripted actions first, then the network, then timers: deterministic order.
    while (this.#actions.length > 0 && this.#actions[0].at <= now) {
      const a = this.#actions.shift()!;
      this.act(a.node, a.label, a.run);
    }
    for (;;) {
      const d = this.net.pollDeliver(now);
      if (!d) break;
      const ep = this.endpoints.get(d.to);
      if (ep) {
        this.#delivering = { id: d.id, copy: d.copy, to: d.to };
        ep.handleDatagram(d.bytes, d.from, now);
        this.drain();
        this.#delivering = undefined;
      }
    }
    this.#drainNet();
    for (const ep of this.endpoints.values()) {
      if (ep.pollTimeout() <= now) {
        ep.handleTimeout(now);
        this.drain();
      }
    }
    return true;
  }

  /** Steps until `done()` holds or virtual time passes `until`. Returns `done()`. */
  run(until: number, done: () => boolean = () => false): boolean {
    while (!done()) {
      if (!this.step(until)) {
        if (this.now < until && until !== Infinity) this.now = until;
        return done();
      }
    }
    return true;
  }

  /** Applies the drain rule to every endpoint until nothing more comes out. */
  drain(): void {
    let busy = true;
    while (busy) {
      busy = false;
      for (const [addr, ep] of this.endpoints) {
        if (this.#eventsFirst) {
          // Hooks answer first; their segments go out with this round's transmissions
          // (and their segment-sent events are logged next round).
          if (this.#events(addr, ep)) busy = true;
          if (this.#transmits(addr, ep)) busy = true;
        } else {
          // Commands the hooks issue come out on the next round.
          if (this.#transmits(addr, ep)) busy = true;
          if (this.#events(addr, ep)) busy = true;
        }
      }
      this.#drainNet();
    }
  }

  /** Sends what `ep` has queued; returns whether there was any. */
  #transmits(addr: string, ep: Endpoint): boolean {
    const ids = this.#sentIds;
    ids.length = 0;
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
      ids.push(this.net.send(addr, t.to, t.bytes, this.now));
    }
    return ids.length > 0;
  }

  /** Logs `ep`'s events, then runs the hooks on them; returns whether there were any. */
  #events(addr: string, ep: Endpoint): boolean {
    const evs: TcbEvent[] = [];
    for (let ev = ep.pollEvent(); ev; ev = ep.pollEvent()) evs.push(ev);
    if (evs.length === 0) return false;
    if (this.#logOn) {
      // Transmissions first: the segment-sent events match the datagrams just sent,
      // in order.
      const ids = this.#eventsFirst ? [] : this.#sentIds;
      let k = 0;
      for (const ev of evs) {
        const entry: WorldEntry = { kind: "event", at: this.now, node: addr, event: ev };
        if (ev.type === "segment-sent" && k < ids.length) entry.datagram = ids[k++];
        // Tie the arrival (or the codec's refusal of it) to the datagram it came in.
        const dv = this.#delivering;
        const arrival = ev.type === "segment-received" ||
          (ev.type === "segment-dropped" && ev.segment === undefined);
        if (dv && dv.to === addr && arrival) {
          entry.datagram = dv.id;
          entry.copy = dv.copy;
        }
        this.log.push(entry);
      }
    }
    for (const ev of evs) for (const h of this.#hooks) h(addr, ev, ep, this);
    return true;
  }

  #drainNet(): void {
    for (let e = this.net.pollEvent(); e; e = this.net.pollEvent()) {
      if (this.#logOn) this.log.push({ kind: "net", at: this.now, event: e });
    }
  }

  #endpoint(node: string): Endpoint {
    const ep = this.endpoints.get(node);
    if (!ep) throw new Error(`No endpoint at "${node}"`);
    return ep;
  }
}
