/**
 * The real-time driver: one {@linkcode Endpoint} on one {@linkcode Transport}. This
 * and `sim_driver.ts` are the only files that read the real clock (DESIGN.md §1).
 *
 * - Every received datagram goes to `endpoint.handleDatagram`; the runtime timer calls
 *   `handleTimeout` and the transport's `poll`.
 * - After every input and every command the drain rule runs (README, "The run loop"):
 *   `pollEvent()` until empty, each event to the listeners (whose commands queue
 *   their segments); then `pollTransmit()` until empty, each datagram handed to the
 *   transport at once (its bytes are only valid until the next input); again while
 *   either produced more; then the one runtime timer is armed for the earlier of
 *   `pollTimeout()` and the transport's own deadline. Events first, so the ACK the
 *   endpoint may hold for the application's turn (the handshake's last, the ACK of a
 *   FIN: `TcbHost.deferAck`) rides on the reply: a lifecycle is 7 datagrams, not 9.
 * - Peers are mapped onto the endpoint's address space by a {@linkcode PeerTable}
 *   (see `peers.ts`): the endpoint uses zero-address checksums, so the mapping never
 *   shows on the wire.
 * - Per connection the driver keeps a small record (its peer slot and 4-tuple ports)
 *   in a {@linkcode PairTable}, learned without `info()`: an active open's local port
 *   from `endpoint.localPortOf`, a passive open's ports from the SYN that made it. In
 *   TIME-WAIT only the slot matters (its ACKs must reach that peer, so the slot is not
 *   recycled) until TIME-WAIT → CLOSED.
 * - Bad datagrams are dropped and counted: too short for a TCP header (here), bad
 *   checksum or malformed (the endpoint, `endpoint.stats`), oversize (the transport),
 *   or from a new source while their 4-tuple belongs to a live connection (not yet in
 *   TIME-WAIT) of another peer (a NAT rebinding or a spoof: here, `unexpectedSource`). Segments for no
 *   connection get the RST of RFC 9293 §3.10.7.1, at most `rstPerSource` per second
 *   per source host on top of the endpoint's global `rstLimit`.
 * - With a {@linkcode realClock} of another speed it runs the in-memory network in
 *   real time, slowed down or sped up (virtual ms per real ms).
 *
 * Listeners may issue commands while they handle an event: the command runs at once
 * and its output is drained before the driver returns.
 *
 * @example
 * ```ts
 * import { Driver } from "./driver.ts";
 * import { MemoryNetwork } from "./memory.ts";
 *
 * const net = new MemoryNetwork({ seed: 1 });
 * const server = new Driver({ transport: net.transport("10.0.0.2:9811") });
 * const client = new Driver({ transport: net.transport("10.0.0.1:9811") });
 * server.listen(9811);
 * server.onEvent((ev) => {
 *   if (ev.type === "data") server.read(ev.conn); // read it all (else close sends RST)
 *   if (ev.type === "peer-closed") server.close(ev.conn); // passive close
 * });
 * const conn = client.connect("10.0.0.2:9811", 9811);
 * await client.until(() => client.endpoint.state(conn) === "ESTABLISHED");
 * client.send(conn, new TextEncoder().encode("hello"));
 * client.close(conn);
 * await client.until(() => client.endpoint.state(conn) === "TIME-WAIT");
 * await client.stop();
 * await server.stop();
 * ```
 *
 * @module
 */
import {
  type ConnectionInfo,
  type ConnectOptions,
  Endpoint,
  type EndpointOptions,
  type ListenOptions,
} from "../src/endpoint/endpoint.ts";
import type { ConnId, TcbEvent } from "../src/tcb/events.ts";
import type { TcbOptions } from "../src/tcb/options.ts";
import { idHigh, PairTable, portsKey } from "../src/endpoint/conn_table.ts";
import { ACK, RST, SYN } from "../src/wire/segment.ts";
import { LOCAL_VIRTUAL_ADDRESS, PeerTable, SourceLimiter } from "./peers.ts";
import { hostOf, type Transport } from "./transport.ts";

/** A runtime timer handle. */
export type TimerId = ReturnType<typeof setTimeout>;

/** The clock and the one runtime timer, injectable (tests, a shared simulated clock). */
export interface DriverClock {
  /** Driver time in ms (monotonic). */
  now(): number;
  /** Calls `fn` once, `ms` of driver time from now. */
  setTimer(fn: () => void, ms: number): TimerId;
  clearTimer(id: TimerId): void;
}

/**
 * The process's monotonic clock, from 0 at creation, running `speed` driver ms per
 * real ms (1 for real networks; other speeds replay the in-memory network slowed down
 * or sped up). Drivers that share a {@linkcode MemoryNetwork} must share one clock.
 */
export function realClock(speed = 1): DriverClock {
  if (!(speed > 0 && speed < Infinity)) throw new RangeError(`Invalid speed ${speed}`);
  const t0 = performance.now();
  return {
    now: () => (performance.now() - t0) * speed,
    setTimer: (fn, ms) => setTimeout(fn, Math.ceil(ms / speed)),
    clearTimer: (id) => clearTimeout(id),
  };
}

/** Driver settings. */
export interface DriverOptions {
  transport: Transport;
  /** 16 secret random bytes for ISNs (§3.4.1); fresh from `crypto` by default. */
  secret?: Uint8Array;
  /** Connection defaults. `mss` defaults to what fits the transport's datagram. */
  tcb?: Partial<TcbOptions>;
  /** Queue every segment event (`"all"`) or state changes, data and closes only (default). */
  events?: "all" | "lifecycle";
  /** Further endpoint settings. */
  endpoint?: Omit<EndpointOptions, "address" | "secret" | "tcb" | "pseudoHeader" | "events">;
  /** Default: {@linkcode realClock} at speed 1. */
  clock?: DriverClock;
  /** Most peers (transport addresses) with live connections at once (default 65,536). */
  maxPeers?: number;
  /** RSTs per second per source host for segments to no connection (default 10). */
  rstPerSource?: number;
}

/** What the driver dropped or sent, beyond the endpoint's and the transport's counters. */
export interface DriverStats {
  datagramsIn: number;
  datagramsOut: number;
  /** Shorter than a TCP header: dropped. */
  tooShort: number;
  /** A new source sent a segment of another peer's live 4-tuple: dropped. */
  unexpectedSource: number;
  /** No free peer slot for a new source: dropped. */
  peerTableFull: number;
  /** RSTs to no connection beyond `rstPerSource`: not sent. */
  rstsRateLimited: number;
  /** Datagrams the transport refused (send queue full). */
  sendFailed: number;
}

/** Sees every endpoint event; may issue commands. */
export type DriverListener = (ev: TcbEvent, driver: Driver) => void;

/** TCP header (20) and timestamps (12): what a data segment adds to its payload. */
export const SEGMENT_OVERHEAD = 32;

interface Waiter {
  pred: () => boolean;
  resolve: (ok: boolean) => void;
  timer: TimerId | undefined;
}

/** One endpoint driven in real time over one transport. */
export class Driver {
  readonly endpoint: Endpoint;
  readonly transport: Transport;
  readonly peers: PeerTable;
  readonly stats: DriverStats = {
    datagramsIn: 0,
    datagramsOut: 0,
    tooShort: 0,
    unexpectedSource: 0,
    peerTableFull: 0,
    rstsRateLimited: 0,
    sendFailed: 0,
  };
  #clock: DriverClock;
  #limiter: SourceLimiter;
  #listeners: DriverListener[] = [];
  #afterDrain: ((driver: Driver) => void)[] = [];
  /**
   * Per-connection records, TIME-WAIT included, by connection id (a PairTable, not a
   * `Map`: see conn_table.ts on Maps under insert/delete churn).
   */
  #conns: PairTable<ConnRecord>;
  /**
   * (host key, ports) of connections not yet in TIME-WAIT → their slot: who owns a
   * 4-tuple, for the unexpected-source check. Keyed by a seeded hash of the host
   * (without the UDP port; verified on a hit), so it holds no strings.
   */
  #tuples: PairTable<number>;
  #hostSeed: number;
  #inputSlot = -1;
  /** The ports (remote, local) of the SYN being handled as an input, else 0. */
  #inputSyn = 0;
  /**
   * Slots of connections that closed during this drain: their reference is dropped
   * (and the slot freed if unused) once the drain is done, so segments the closing
   * connection still sends in it (a RST after an abort) go to a peer it still holds.
   */
  #released: number[] = [];
  #draining = false;
  /** The `now` of the input being drained: listeners' commands run at that instant. */
  #drainNow = 0;
  #again = false;
  #timer: TimerId | undefined;
  #armedAt = Infinity;
  #waiters: Waiter[] = [];
  #started = false;
  #stopped = false;

  constructor(opts: DriverOptions) {
    this.transport = opts.transport;
    this.#clock = opts.clock ?? realClock();
    this.peers = new PeerTable(opts.maxPeers);
    this.#limiter = new SourceLimiter(opts.rstPerSource ?? 10);
    const seeds = crypto.getRandomValues(new Int32Array(2));
    this.#hostSeed = seeds[0];
    this.#conns = new PairTable<ConnRecord>(seeds[1]);
    this.#tuples = new PairTable<number>(seeds[0] ^ seeds[1]);
    const mss = opts.transport.maxDatagram - SEGMENT_OVERHEAD;
    this.endpoint = new Endpoint({
      ...opts.endpoint,
      address: LOCAL_VIRTUAL_ADDRESS,
      secret: opts.secret ?? crypto.getRandomValues(new Uint8Array(16)),
      tcb: { mss, ...opts.tcb },
      // The UDP rule: the checksum covers a pseudo header with zero addresses, so a
      // NAT that rewrites addresses does not break it (README, "Two machines").
      pseudoHeader: "zero",
      events: opts.events ?? "lifecycle",
      now: this.#clock.now(),
    });
  }

  /** Driver time, ms. */
  now(): number {
    return this.#clock.now();
  }

  /** Starts receiving (called by the first command or listener if not before). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.transport.start({
      datagram: (bytes, from) => this.#datagram(bytes, from),
      wake: () => {
        if (!this.#draining) this.#arm();
      },
    });
  }

  /** Adds an event listener; returns the function that removes it. */
  onEvent(listener: DriverListener): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /**
   * Adds a hook that runs after every input and command once the drain rule is done:
   * the place to top up a send buffer that ACKs have emptied (events tell of state
   * changes and data, not of send space). Returns the function that removes it.
   */
  afterDrain(hook: (driver: Driver) => void): () => void {
    this.#afterDrain.push(hook);
    return () => {
      this.#afterDrain = this.#afterDrain.filter((h) => h !== hook);
    };
  }

  // --------------------------------------------------------------- commands

  /** Passive OPEN on TCP port `port`. */
  listen(port: number, opts?: ListenOptions): void {
    this.start();
    this.endpoint.listen(port, opts);
  }

  /** Active OPEN to `peer` (a transport address such as `"192.0.2.7:9811"`), TCP port `port`. */
  connect(peer: string, port: number, opts?: ConnectOptions): ConnId {
    this.start();
    const slot = this.peers.slotFor(peer);
    if (slot < 0) throw new Error(`Cannot connect: ${this.peers.capacity} peers already in use`);
    const now = this.#commandNow();
    let conn: ConnId;
    try {
      conn = this.endpoint.connect(this.peers.virtual(slot), port, now, opts);
    } catch (e) {
      this.peers.freeIfUnused(slot);
      throw e;
    }
    if (this.#record(conn) === undefined) {
      this.#add(conn, slot, portsKey(port, this.endpoint.localPortOf(conn)));
    }
    this.#after(now, slot);
    return conn;
  }

  /** SEND; returns how many bytes the send buffer took. */
  send(conn: ConnId, data: Uint8Array): number {
    return this.command((ep, now) => ep.send(conn, data, now));
  }

  /** RECEIVE up to `max` bytes. */
  read(conn: ConnId, max = Infinity): Uint8Array {
    return this.command((ep, now) => ep.read(conn, max, now));
  }

  /** RECEIVE into `dst`; returns the count. */
  readInto(conn: ConnId, dst: Uint8Array): number {
    return this.command((ep, now) => ep.readInto(conn, dst, now));
  }

  /** Half-close (our FIN; reading goes on). */
  shutdown(conn: ConnId): void {
    this.command((ep, now) => ep.shutdown(conn, now));
  }

  /** CLOSE. Idempotent. */
  close(conn: ConnId): void {
    this.command((ep, now) => ep.close(conn, now));
  }

  /** ABORT. Idempotent. */
  abort(conn: ConnId): void {
    this.command((ep, now) => ep.abort(conn, now));
  }

  /** Runs any endpoint command at driver time, then applies the drain rule. */
  command<T>(fn: (ep: Endpoint, now: number) => T): T {
    const now = this.#commandNow();
    const result = fn(this.endpoint, now);
    this.#after(now, -1);
    return result;
  }

  // --------------------------------------------------------------- read-outs

  /** The transport address of connection `conn`'s peer. */
  peerOf(conn: ConnId): string | undefined {
    const r = this.#record(conn);
    return r === undefined ? undefined : this.peers.address(r.slot);
  }

  /** The endpoint's snapshot of `conn` (its `remoteAddress` is the synthetic one). */
  info(conn: ConnId): ConnectionInfo | undefined {
    return this.endpoint.info(conn);
  }

  /**
   * Resolves true once `pred()` holds (checked now and after every input), or false
   * after `timeoutMs` of real time.
   */
  until(pred: () => boolean, timeoutMs = Infinity): Promise<boolean> {
    if (pred()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w: Waiter = { pred, resolve, timer: undefined };
      if (timeoutMs < Infinity) {
        w.timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((x) => x !== w);
          resolve(false);
        }, timeoutMs);
      }
      this.#waiters.push(w);
    });
  }

  /** Stops the timer and closes the transport; connections are left as they are. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiters) {
      if (w.timer !== undefined) clearTimeout(w.timer);
      w.resolve(false);
    }
    this.#waiters = [];
    await this.transport.close();
  }

  // --------------------------------------------------------------- internals

  /**
   * A command from a listener or hook runs within the input being drained, at its
   * `now`: no time passes inside one synchronous call, and a clock read is an op in
   * Deno (a lifecycle issues about ten commands from listeners).
   */
  #commandNow(): number {
    return this.#draining ? this.#drainNow : this.#clock.now();
  }

  #datagram(bytes: Uint8Array, from: string): void {
    if (this.#stopped) return;
    this.stats.datagramsIn++;
    if (bytes.length < 20) {
      this.stats.tooShort++;
      this.#checkWaiters();
      return;
    }
    let slot = this.peers.find(from);
    if (slot < 0 || this.peers.refs(slot) === 0) {
      // A source with no live connection: a segment of someone else's live 4-tuple
      // is a NAT rebinding or a spoof; anything but a SYN is dropped, not reset.
      const syn = (bytes[13] & (SYN | ACK | RST)) === SYN;
      if (!syn && this.#tuples.size > 0) {
        const ports = portsKey((bytes[0] << 8) | bytes[1], (bytes[2] << 8) | bytes[3]);
        const owner = this.#tuples.get(hostKey(from, this.#hostSeed), ports);
        if (
          owner !== undefined && owner !== slot &&
          hostOf(this.peers.address(owner)) === hostOf(from)
        ) {
          this.stats.unexpectedSource++;
          this.#checkWaiters();
          return;
        }
      }
      if (slot < 0) slot = this.peers.slotFor(from);
      if (slot < 0) {
        this.stats.peerTableFull++;
        this.#checkWaiters();
        return;
      }
    }
    const now = this.#clock.now();
    const outerSyn = this.#inputSyn;
    // A SYN may open a passive connection: its first event takes these ports.
    this.#inputSyn = (bytes[13] & (SYN | ACK | RST)) === SYN
      ? portsKey((bytes[0] << 8) | bytes[1], (bytes[2] << 8) | bytes[3])
      : 0;
    this.endpoint.handleDatagram(bytes, this.peers.virtual(slot), now);
    this.#after(now, slot);
    this.#inputSyn = outerSyn;
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    if (this.#stopped) return;
    this.transport.poll(this.#clock.now());
    // Read the clock again: a datagram the poll delivered was an input at its own,
    // later time, and the endpoint must never see time go back.
    const now = this.#clock.now();
    if (this.endpoint.pollTimeout() <= now) this.endpoint.handleTimeout(now);
    this.#after(now, -1);
  };

  /** The drain rule after an input or command, then waiters and the timer. */
  #after(now: number, slot: number): void {
    const outer = this.#inputSlot;
    if (slot >= 0) this.#inputSlot = slot;
    this.#drain(now);
    this.#inputSlot = outer;
    if (this.#draining) return; // the outer drain finishes the job
    if (this.#afterDrain.length > 0) this.#runAfterDrain(now);
    // Only now is every datagram of this input sent: a command in a listener may have
    // queued one (a RST, a FIN) to a peer whose last connection closed meanwhile.
    if (slot >= 0) this.peers.freeIfUnused(slot);
    if (this.#released.length > 0) {
      for (const r of this.#released) {
        this.peers.release(r);
        this.peers.freeIfUnused(r);
      }
      this.#released.length = 0;
    }
    this.#checkWaiters();
    this.#arm();
  }

  #drain(now: number): void {
    if (this.#draining) {
      this.#again = true;
      return;
    }
    this.#draining = true;
    this.#drainNow = now;
    const ep = this.endpoint;
    try {
      do {
        this.#again = false;
        for (let e = ep.pollEvent(); e; e = ep.pollEvent()) this.#event(e);
        for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
          this.#transmit(t.to, t.bytes, now);
        }
        // A command issued outside a listener (or a flush) may have left events.
      } while (this.#again);
    } finally {
      this.#draining = false;
    }
  }

  #transmit(to: string, bytes: Uint8Array, now: number): void {
    const slot = this.peers.slotOfVirtual(to);
    if (slot < 0) throw new Error(`Bug: transmit to unknown peer ${to}`);
    const address = this.peers.address(slot);
    // A RST to a peer with no connection answers a stray segment (§3.10.7.1).
    if ((bytes[13] & RST) && this.peers.refs(slot) === 0 && !this.#limiter.allow(address, now)) {
      this.stats.rstsRateLimited++;
      return;
    }
    this.stats.datagramsOut++;
    if (!this.transport.send(address, bytes, now)) this.stats.sendFailed++;
  }

  #event(ev: TcbEvent): void {
    const conn = ev.conn;
    if (conn !== undefined) {
      if (ev.type === "closed") this.#unregister(conn);
      else {
        const r = this.#record(conn) ?? this.#adopt(conn, ev);
        // In TIME-WAIT a connection keeps only its slot (the peer its ACKs go to, not
        // to be recycled): its 4-tuple is no longer guarded against other sources.
        if (ev.type === "state-changed" && ev.to === "TIME-WAIT") this.#dropTuple(r);
      }
    }
    const ls = this.#listeners;
    for (let i = 0; i < ls.length; i++) ls[i](ev, this);
  }

  /**
   * A connection the driver did not open: normally the passive open of the SYN being
   * handled (its first event: CLOSED → LISTEN), whose ports and slot are the input's.
   * Anything else (a connection opened on the endpoint directly) asks `info()`.
   */
  #adopt(conn: ConnId, ev: TcbEvent): ConnRecord {
    if (
      this.#inputSyn !== 0 && this.#inputSlot >= 0 && ev.type === "state-changed" &&
      (ev.to === "LISTEN" || (ev.to === "SYN-RECEIVED" && ev.from === "LISTEN"))
    ) {
      const ports = this.#inputSyn;
      this.#inputSyn = 0; // one SYN opens one connection
      return this.#add(conn, this.#inputSlot, ports);
    }
    const info = this.endpoint.info(conn);
    let slot = info ? this.peers.slotOfVirtual(info.remoteAddress) : -1;
    if (slot < 0) slot = this.#inputSlot;
    if (slot < 0) throw new Error(`Bug: connection ${conn} has no peer`);
    return this.#add(conn, slot, info ? portsKey(info.remotePort, info.localPort) : 0);
  }

  #record(conn: ConnId): ConnRecord | undefined {
    return this.#conns.get(idHigh(conn), conn | 0);
  }

  /** Records `conn` on `slot`; `ports` (remote, local) is 0 while unknown. */
  #add(conn: ConnId, slot: number, ports: number): ConnRecord {
    const r: ConnRecord = { slot, ports };
    this.#conns.set(idHigh(conn), conn | 0, r);
    if ((ports & 0xffff) !== 0) {
      this.#tuples.set(hostKey(this.peers.address(slot), this.#hostSeed), ports, slot);
    }
    this.peers.retain(slot);
    return r;
  }

  /** Stops claiming `r`'s 4-tuple (it closed or entered TIME-WAIT). */
  #dropTuple(r: ConnRecord): void {
    const ports = r.ports;
    if ((ports & 0xffff) === 0) return;
    const host = hostKey(this.peers.address(r.slot), this.#hostSeed);
    // Another peer on the same host may have claimed the same ports since.
    if (this.#tuples.get(host, ports) === r.slot) this.#tuples.delete(host, ports);
    r.ports = 0;
  }

  #unregister(conn: ConnId): void {
    const r = this.#record(conn);
    if (r === undefined) return;
    this.#dropTuple(r);
    this.#conns.delete(idHigh(conn), conn | 0);
    this.#released.push(r.slot);
  }

  #runAfterDrain(now: number): void {
    this.#draining = true; // commands the hooks issue are drained below, once
    this.#drainNow = now;
    try {
      for (const h of this.#afterDrain) h(this);
    } finally {
      this.#draining = false;
    }
    if (this.#again) this.#drain(now);
  }

  #checkWaiters(): void {
    if (this.#waiters.length === 0) return;
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      if (w.pred()) {
        if (w.timer !== undefined) clearTimeout(w.timer);
        w.resolve(true);
      } else keep.push(w);
    }
    this.#waiters = keep;
  }

  #arm(): void {
    if (this.#stopped) return;
    const at = Math.min(this.endpoint.pollTimeout(), this.transport.nextDeadline());
    // A timer already set for an earlier time fires first and re-arms then: most
    // inputs move the deadline later (a restarted RTO), and that costs nothing.
    if (at >= this.#armedAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#armedAt = at;
    if (at === Infinity) {
      this.#timer = undefined;
      return;
    }
    this.#timer = this.#clock.setTimer(this.#onTimer, Math.max(0, at - this.#clock.now()));
  }
}

/**
 * A seeded FNV-1a hash of the host part of a transport address (what `hostOf`
 * returns), in 31 bits: the first key word of the 4-tuple index, with no substring.
 */
function hostKey(address: string, seed: number): number {
  let start = 0;
  let end = address.length;
  if (address.charCodeAt(0) === 0x5b /* [ */) {
    start = 1;
    const close = address.indexOf("]");
    if (close >= 0) end = close;
  } else {
    const colon = address.lastIndexOf(":");
    if (colon >= 0) end = colon;
  }
  let h = 0x811c9dc5 ^ seed;
  for (let i = start; i < end; i++) {
    h ^= address.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & 0x7fffffff;
}

/** The driver's record of a connection: its peer slot and 4-tuple ports. */
interface ConnRecord {
  slot: number;
  /** Remote and local port (portsKey); 0 in TIME-WAIT, or while unknown. */
  ports: number;
}
