/**
 * The seeded simulated network (`src/sim/netem.ts`) as a {@linkcode Transport}: any
 * number of transports on one {@linkcode MemoryNetwork}, each with an address such as
 * `"10.0.0.1:9811"`, with the network's loss, delay, duplication, reordering and
 * corruption in between. Time is the drivers' (pass the same clock to every driver on
 * one network); nothing here reads a clock.
 *
 * @example
 * ```ts
 * import { MemoryNetwork } from "./memory.ts";
 *
 * const net = new MemoryNetwork({ seed: 1, link: { delay: 5 } });
 * const a = net.transport("10.0.0.1:9811");
 * const b = net.transport("10.0.0.2:9811");
 * const got: string[] = [];
 * b.start({ datagram: (bytes, from) => got.push(`${from} ${bytes.length}`) });
 * a.send("10.0.0.2:9811", new Uint8Array(40), 0);
 * console.assert(b.nextDeadline() === 5);
 * b.poll(5);
 * console.assert(got[0] === "10.0.0.1:9811 40");
 * ```
 *
 * @module
 */
import { type LinkConfig, SimNetwork } from "../src/sim/netem.ts";
import {
  DEFAULT_MAX_DATAGRAM,
  newTransportStats,
  type Transport,
  type TransportSink,
  type TransportStats,
} from "./transport.ts";

/** Settings of a {@linkcode MemoryNetwork}. */
export interface MemoryNetworkOptions {
  seed: number;
  /** Impairments of every direction (per direction with `setLink`). */
  link?: Partial<LinkConfig>;
  /** Largest datagram each transport sends or accepts (default 1232). */
  maxDatagram?: number;
}

/** Transports joined by one seeded simulated network. */
export class MemoryNetwork {
  readonly net: SimNetwork;
  readonly maxDatagram: number;
  #nodes = new Map<string, MemoryTransport>();
  #polling = false;

  constructor(opts: MemoryNetworkOptions) {
    this.net = new SimNetwork({ seed: opts.seed, defaults: opts.link, recordEvents: false });
    this.maxDatagram = opts.maxDatagram ?? DEFAULT_MAX_DATAGRAM;
  }

  /** A transport at `address` (must be unique on this network). */
  transport(address: string): MemoryTransport {
    if (this.#nodes.has(address)) {
      throw new Error(`Cannot attach: address "${address}" already in use`);
    }
    const t = new MemoryTransport(this, address);
    this.#nodes.set(address, t);
    return t;
  }

  /** Impairments of the direction `from` → `to` (transport addresses). */
  setLink(from: string, to: string, cfg: Partial<LinkConfig>): void {
    this.net.setLink(from, to, cfg);
  }

  /** @internal */
  detach(address: string): void {
    this.#nodes.delete(address);
  }

  /** Delivers every datagram due at `now` to its transport's sink. */
  poll(now: number): void {
    if (this.#polling) return; // a sink that sends does not re-enter delivery
    this.#polling = true;
    try {
      for (let d = this.net.pollDeliver(now); d; d = this.net.pollDeliver(now)) {
        this.#nodes.get(d.to)?.deliver(d.bytes, d.from);
      }
    } finally {
      this.#polling = false;
    }
  }

  /** When the next datagram is due (Infinity when none is in flight). */
  nextDeadline(): number {
    return this.net.nextDeadline() ?? Infinity;
  }
}

/** One node's view of a {@linkcode MemoryNetwork}. */
export class MemoryTransport implements Transport {
  readonly localAddress: string;
  readonly maxDatagram: number;
  readonly stats: TransportStats = newTransportStats();
  #network: MemoryNetwork;
  #sink: TransportSink | undefined;
  #closed = false;

  constructor(network: MemoryNetwork, address: string) {
    this.#network = network;
    this.localAddress = address;
    this.maxDatagram = network.maxDatagram;
  }

  send(to: string, bytes: Uint8Array, now: number): boolean {
    if (this.#closed) return false;
    this.stats.datagramsOut++;
    this.stats.bytesOut += bytes.length;
    this.#network.net.send(this.localAddress, to, bytes, now); // copies
    return true;
  }

  start(sink: TransportSink): void {
    this.#sink = sink;
  }

  nextDeadline(): number {
    return this.#closed ? Infinity : this.#network.nextDeadline();
  }

  poll(now: number): void {
    if (!this.#closed) this.#network.poll(now);
  }

  /** @internal Called by the network for a datagram addressed here. */
  deliver(bytes: Uint8Array, from: string): void {
    if (this.#closed || !this.#sink) return;
    if (bytes.length > this.maxDatagram) {
      this.stats.oversize++;
      return;
    }
    this.stats.datagramsIn++;
    this.stats.bytesIn += bytes.length;
    this.#sink.datagram(bytes, from);
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#network.detach(this.localAddress);
    }
    return Promise.resolve();
  }
}
