/**
 * The endpoint: many connections behind one address. It demultiplexes segments by
 * 4-tuple, runs listeners with a backlog cap, picks ISNs (§3.4.1), answers
 * segments for no connection with RST (§3.10.7.1), finishes orphaned connections
 * after `close()`, owns every timer, and counts everything it drops.
 *
 * Sans-IO. The drain rule: after every input (`handleDatagram`, `handleSegment`,
 * `handleTimeout`) and every command (`connect`, `send`, `close`, ...), call
 * `pollTransmit()` until it returns `undefined`, then `pollEvent()` until it returns
 * `undefined`, then read `pollTimeout()` and call `handleTimeout` no later than it.
 *
 * @module
 */
import { addrSum, parseIp } from "../wire/checksum.ts";
import {
  ACK,
  decode,
  encode,
  encodedLength,
  FIN,
  RST,
  type Segment,
  SYN,
} from "../wire/segment.ts";
import { seqAdd } from "../wire/seq.ts";
import type { ConnId, DropReason, TcbEvent } from "../tcb/events.ts";
import { type TcbOptions, tcbOptions } from "../tcb/options.ts";
import type { State } from "../tcb/state.ts";
import { ConnectionStateError, SegmentVerdict, Tcb, type TcbHost } from "../tcb/tcb.ts";
import { IsnGenerator } from "./isn.ts";
import { type EndpointStats, newStats } from "./stats.ts";
import { TimerHeap } from "./timer_heap.ts";

/** How the checksum's pseudo header is formed. */
export type PseudoHeader =
  /** The real IP addresses (RFC 9293 §3.1): for simulated IP, pcap and TUN. */
  | "addresses"
  /** Zero addresses, so a NAT that rewrites them does not break the checksum (UDP). */
  | "zero";

/** Endpoint settings. */
export interface EndpointOptions {
  /** Our IP address as text (IPv4 or IPv6). */
  address: string;
  /** 16 bytes of secret randomness for ISNs and timestamp offsets (§3.4.1). */
  secret: Uint8Array;
  /** Defaults for every connection. */
  tcb?: Partial<TcbOptions>;
  pseudoHeader?: PseudoHeader;
  /** Verify checksums of received segments. Default true. */
  verifyChecksum?: boolean;
  /** Ephemeral port range for `connect` (RFC 6335 dynamic ports by default). */
  ephemeralPorts?: [number, number];
  /** Global cap on challenge ACKs per second (RFC 5961 §7). Default 1000. */
  challengeAckLimit?: number;
  /** Global cap on RSTs for segments to no connection, per second. Default 1000. */
  rstLimit?: number;
  /**
   * Which events to queue. `"all"` (default) includes one event per segment sent and
   * received; `"lifecycle"` keeps state changes, data, closes and drops only.
   */
  events?: "all" | "lifecycle";
}

/** Listener settings. */
export interface ListenOptions {
  /** Most connections a listener holds that the application has not accepted. */
  backlog?: number;
  /**
   * Hand connections to the application without `accept()` (they still count
   * against the backlog while in SYN-RECEIVED). Default true.
   */
  autoAccept?: boolean;
  /** Connection settings for accepted connections. */
  tcb?: Partial<TcbOptions>;
  /** Fixed ISS for accepted connections (traces and tests only). */
  iss?: number;
}

/** `connect` settings. */
export interface ConnectOptions {
  localPort?: number;
  tcb?: Partial<TcbOptions>;
  /** Fixed ISS (traces and tests only); normally §3.4.1 picks it. */
  iss?: number;
}

/** A datagram to send. `bytes` stays valid until the next input or command. */
export interface Transmit {
  to: string;
  bytes: Uint8Array;
}

/** A snapshot of one connection for UIs and tests. */
export interface ConnectionInfo {
  id: ConnId;
  state: State;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  passive: boolean;
  orphaned: boolean;
  iss: number;
  irs: number;
  sndUna: number;
  sndNxt: number;
  sndWnd: number;
  rcvNxt: number;
  rcvWnd: number;
  bytesInFlight: number;
  unread: number;
  rto: number;
  retries: number;
  timers: Tcb["timers"];
  counters: Tcb["counters"];
}

/** Thrown by commands that name a connection the endpoint does not have. */
export class ConnectionNotFoundError extends Error {
  constructor(id: ConnId) {
    super(`Connection ${id} does not exist`);
    this.name = "ConnectionNotFoundError";
  }
}

/** Thrown when `connect` or `listen` cannot get the port asked for. */
export class AddressInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AddressInUseError";
  }
}

interface Listener {
  port: number;
  backlog: number;
  autoAccept: boolean;
  options: TcbOptions;
  iss: number | undefined;
  /** Connections counted against the backlog. */
  pending: number;
  acceptQueue: ConnId[];
}

/** Extra per-connection bookkeeping the endpoint keeps beside each TCB. */
interface Conn {
  tcb: Tcb;
  addrId: number;
  key: number;
  listener: Listener | undefined;
  /** Still counted in its listener's backlog. */
  inBacklog: boolean;
}

const ARENA_BYTES = 256 * 1024;
const MAX_SEGMENT_BYTES = 65_535;

/** Many connections behind one local address. */
export class Endpoint {
  readonly address: string;
  readonly stats: EndpointStats = newStats();
  #local: Uint8Array;
  #opts: TcbOptions;
  #pseudo: PseudoHeader;
  #verify: boolean;
  #isn: IsnGenerator;
  #eventsAll: boolean;
  #ephemeral: [number, number];
  #nextEphemeral: number;

  #addrIds = new Map<string, number>();
  #addrs: string[] = [];
  #addrBytes: Uint8Array[] = [];
  #addrSums: number[] = [];
  /** Timestamp offset per remote address (RFC 7323 §5.4), computed once. */
  #tsOffsets: number[] = [];

  #byKey = new Map<number, Conn>();
  #byId = new Map<ConnId, Conn>();
  #listeners = new Map<number, Listener>();
  #nextId: ConnId = 1;

  #timers = new TimerHeap();

  #txQueue: Transmit[] = [];
  #txHead = 0;
  #arena = new Uint8Array(ARENA_BYTES);
  #arenaUsed = 0;

  #events: TcbEvent[] = [];
  #evHead = 0;

  #challengeLimit: number;
  #challengeWindow = -Infinity;
  #challengeCount = 0;
  #rstLimit: number;
  #rstWindow = -Infinity;
  #rstCount = 0;

  #host: TcbHost;

  constructor(opts: EndpointOptions) {
    const local = parseIp(opts.address);
    if (!local) throw new TypeError(`Invalid address "${opts.address}"`);
    this.address = opts.address;
    this.#local = local;
    this.#opts = tcbOptions(opts.tcb);
    this.#pseudo = opts.pseudoHeader ?? "addresses";
    this.#verify = opts.verifyChecksum ?? true;
    this.#isn = new IsnGenerator(opts.secret);
    this.#eventsAll = (opts.events ?? "all") === "all";
    this.#ephemeral = opts.ephemeralPorts ?? [49152, 65535];
    this.#nextEphemeral = this.#ephemeral[0] +
      (this.#isn.tsOffset(local, local) % (this.#ephemeral[1] - this.#ephemeral[0] + 1));
    this.#challengeLimit = opts.challengeAckLimit ?? 1000;
    this.#rstLimit = opts.rstLimit ?? 1000;
    this.#host = {
      transmit: (tcb, seg, rtx, now) => this.#transmitFor(tcb, seg, rtx, now),
      event: (ev) => this.#onTcbEvent(ev),
      schedule: (tcb, deadline) => this.#timers.push(deadline, tcb.id),
      allowChallengeAck: (now) => this.#allowChallenge(now),
      released: (tcb) => this.#release(tcb),
    };
  }

  // ------------------------------------------------------------- commands

  /** Passive OPEN on `port` (§3.10.1). */
  listen(port: number, opts: ListenOptions = {}): void {
    checkPort(port);
    if (this.#listeners.has(port)) {
      throw new AddressInUseError(`Cannot listen: port ${port} is already in use`);
    }
    this.#listeners.set(port, {
      port,
      backlog: opts.backlog ?? 128,
      autoAccept: opts.autoAccept ?? true,
      options: opts.tcb ? { ...this.#opts, ...opts.tcb } : this.#opts,
      iss: opts.iss,
      pending: 0,
      acceptQueue: [],
    });
  }

  /** Stops listening on `port`; established connections live on. */
  unlisten(port: number): void {
    this.#listeners.delete(port);
  }

  /** The next established connection on a listener without `autoAccept`. */
  accept(port: number): ConnId | undefined {
    const l = this.#listeners.get(port);
    if (!l) return undefined;
    while (l.acceptQueue.length > 0) {
      const id = l.acceptQueue.shift()!;
      const c = this.#byId.get(id);
      if (c && c.inBacklog) {
        c.inBacklog = false;
        l.pending--;
        return id;
      }
    }
    return undefined;
  }

  /** Active OPEN (§3.10.1): sends SYN and returns the new connection's id. */
  connect(remote: string, port: number, now: number, opts: ConnectOptions = {}): ConnId {
    checkPort(port);
    const addrId = this.#intern(remote);
    if (addrId < 0) throw new TypeError(`Invalid address "${remote}"`);
    let localPort = opts.localPort;
    if (localPort !== undefined) {
      checkPort(localPort);
      if (this.#byKey.has(tupleKey(addrId, port, localPort))) {
        throw new AddressInUseError(
          `Cannot connect: ${remote}:${port} from port ${localPort} is already in use`,
        );
      }
    } else {
      localPort = this.#pickEphemeral(addrId, port);
    }
    const options = opts.tcb ? { ...this.#opts, ...opts.tcb } : this.#opts;
    const remoteBytes = this.#addrBytes[addrId];
    const iss = opts.iss ?? this.#isn.isn(now, this.#local, localPort, remoteBytes, port);
    const c = this.#newConn(addrId, localPort, port, iss, options, undefined);
    c.tcb.connect(now);
    return c.tcb.id;
  }

  /** SEND: queues data; returns how many bytes the send buffer took. */
  send(id: ConnId, data: Uint8Array, now: number): number {
    return this.#get(id).tcb.send(data, now);
  }

  /** RECEIVE: takes up to `max` bytes of in-order data. */
  read(id: ConnId, max = Infinity, now = 0): Uint8Array {
    return this.#get(id).tcb.read(max, now);
  }

  /**
   * RECEIVE into `dst`: copies up to `dst.length` bytes of in-order data and returns
   * the count. Allocates nothing.
   */
  readInto(id: ConnId, dst: Uint8Array, now = 0): number {
    return this.#get(id).tcb.readInto(dst, now);
  }

  /** Half-close: our FIN after queued data; reading continues (§3.6.1). */
  shutdown(id: ConnId, now: number): void {
    this.#get(id).tcb.shutdown(now);
  }

  /** CLOSE (§3.10.4). Idempotent; a closed or unknown id is ignored. */
  close(id: ConnId, now: number): void {
    this.#byId.get(id)?.tcb.close(now);
  }

  /** ABORT (§3.10.5). Idempotent; a closed or unknown id is ignored. */
  abort(id: ConnId, now: number): void {
    this.#byId.get(id)?.tcb.abort(now);
  }

  // ---------------------------------------------------------------- inputs

  /** A datagram holding one TCP segment arrived from `from`. */
  handleDatagram(bytes: Uint8Array, from: string, now: number): void {
    const addrId = this.#intern(from);
    if (addrId < 0) {
      this.#countDrop("malformed", undefined, undefined, now, `bad source address "${from}"`);
      return;
    }
    const sum = this.#verify ? this.#addrSums[addrId] : undefined;
    const r = decode(bytes, sum);
    if (!r.ok) {
      this.stats.malformed[r.reason]++;
      const reason: DropReason = r.reason === "bad-checksum" ? "bad-checksum" : "malformed";
      this.#countDrop(reason, undefined, undefined, now, r.reason);
      return;
    }
    this.#segmentFrom(r.segment, addrId, now);
  }

  /** A decoded segment arrived from `from` (checksum already dealt with). */
  handleSegment(seg: Segment, from: string, now: number): void {
    const addrId = this.#intern(from);
    if (addrId < 0) {
      this.#countDrop("malformed", seg, undefined, now, `bad source address "${from}"`);
      return;
    }
    this.#segmentFrom(seg, addrId, now);
  }

  /** Fires every timer due at `now`. */
  handleTimeout(now: number): void {
    const t = this.#timers;
    while (t.size > 0 && t.peekDeadline() <= now) {
      const id = t.pop();
      const c = this.#byId.get(id);
      // Stale entries (the TCB moved its deadline or closed) are skipped or re-checked.
      if (c) c.tcb.handleTimeout(now);
    }
  }

  // --------------------------------------------------------------- outputs

  /** The next datagram to send, or `undefined` when none is queued. */
  pollTransmit(): Transmit | undefined {
    if (this.#txHead < this.#txQueue.length) {
      const t = this.#txQueue[this.#txHead];
      this.#txQueue[this.#txHead++] = undefined as unknown as Transmit;
      return t;
    }
    if (this.#txHead > 0) {
      this.#txQueue.length = 0;
      this.#txHead = 0;
    }
    this.#arenaUsed = 0;
    return undefined;
  }

  /** The next event, or `undefined`. */
  pollEvent(): TcbEvent | undefined {
    if (this.#evHead < this.#events.length) {
      const e = this.#events[this.#evHead];
      this.#events[this.#evHead++] = undefined as unknown as TcbEvent;
      return e;
    }
    if (this.#evHead > 0) {
      this.#events.length = 0;
      this.#evHead = 0;
    }
    return undefined;
  }

  /** The earliest time `handleTimeout` must be called (Infinity when idle). */
  pollTimeout(): number {
    return this.#timers.size > 0 ? this.#timers.peekDeadline() : Infinity;
  }

  // ------------------------------------------------------------- read-outs

  /** A snapshot of connection `id`, or `undefined` once it is gone. */
  info(id: ConnId): ConnectionInfo | undefined {
    const c = this.#byId.get(id);
    if (!c) return undefined;
    const t = c.tcb;
    return {
      id,
      state: t.state,
      localPort: t.localPort,
      remoteAddress: this.#addrs[c.addrId],
      remotePort: t.remotePort,
      passive: t.passive,
      orphaned: t.orphaned,
      iss: t.iss,
      irs: t.irs,
      sndUna: t.sndUna,
      sndNxt: t.sndNxt,
      sndWnd: t.sndWnd,
      rcvNxt: t.rcvNxt,
      rcvWnd: t.rcvWnd,
      bytesInFlight: t.bytesInFlight,
      unread: t.unread,
      rto: t.rto.current,
      retries: t.retries,
      timers: t.timers,
      counters: t.counters,
    };
  }

  /** The state of connection `id`, `"CLOSED"` once it is gone. */
  state(id: ConnId): State {
    return this.#byId.get(id)?.tcb.state ?? "CLOSED";
  }

  /** Ids of every live connection (any state but CLOSED). */
  connections(): ConnId[] {
    return [...this.#byId.keys()];
  }

  /** Number of live connections. */
  get size(): number {
    return this.#byId.size;
  }

  /** Live timer entries (including stale ones not yet skipped). */
  get timerEntries(): number {
    return this.#timers.size;
  }

  // ------------------------------------------------------------- internals

  #segmentFrom(seg: Segment, addrId: number, now: number): void {
    this.stats.segmentsIn++;
    if (seg.flags & RST) this.stats.rstsIn++;
    const key = tupleKey(addrId, seg.srcPort, seg.dstPort);
    const c = this.#byKey.get(key);
    if (this.#eventsAll) {
      this.#events.push({ type: "segment-received", conn: c?.tcb.id, segment: seg, now });
    }
    if (c) {
      const verdict = c.tcb.handleSegment(seg, now, this.#listeners.has(seg.dstPort));
      if (verdict !== SegmentVerdict.Reopen) return;
      // §3.10.7.4 / RFC 6191: the SYN reopens the 4-tuple. The new ISS must lie beyond
      // everything the old incarnation used (as Linux: SND.NXT + 2^16 + 1).
      const iss = seqAdd(c.tcb.sndNxt, 65537);
      c.tcb.closeForReopen(now);
      this.#toListener(seg, addrId, now, iss);
      return;
    }
    this.#toListener(seg, addrId, now, undefined);
  }

  /** LISTEN state (§3.10.7.2), or no connection at all (§3.10.7.1). */
  #toListener(seg: Segment, addrId: number, now: number, iss: number | undefined): void {
    const f = seg.flags;
    const l = this.#listeners.get(seg.dstPort);
    if (!l) return this.#noConnection(seg, addrId, now);
    if (f & RST) {
      // First check: an incoming RST to a listener is ignored.
      this.#countDrop("listen-unexpected", seg, undefined, now);
      return;
    }
    if (f & ACK) {
      // Second check: any ACK is bad here: <SEQ=SEG.ACK><CTL=RST>.
      this.#countDrop("listen-unexpected", seg, undefined, now);
      this.#sendRstTo(addrId, seg.dstPort, seg.srcPort, seg.ack, 0, RST, now);
      return;
    }
    if (!(f & SYN)) {
      this.#countDrop("listen-unexpected", seg, undefined, now);
      return;
    }
    if (l.pending >= l.backlog) {
      // Like Linux with a full queue: drop the SYN; the client will retry.
      this.#countDrop("listen-backlog-full", seg, undefined, now);
      return;
    }
    const remoteBytes = this.#addrBytes[addrId];
    const theIss = iss ?? l.iss ??
      this.#isn.isn(now, this.#local, seg.dstPort, remoteBytes, seg.srcPort);
    const c = this.#newConn(addrId, seg.dstPort, seg.srcPort, theIss, l.options, l);
    l.pending++;
    c.inBacklog = true;
    this.stats.accepted++;
    c.tcb.acceptSyn(seg, now);
  }

  /** §3.10.7.1: CLOSED. Everything but a RST gets a RST. */
  #noConnection(seg: Segment, addrId: number, now: number): void {
    this.#countDrop("no-connection", seg, undefined, now);
    if (seg.flags & RST) return; // never a RST for a RST
    if (now - this.#rstWindow >= 1000) {
      this.#rstWindow = now;
      this.#rstCount = 0;
    }
    if (this.#rstCount >= this.#rstLimit) {
      this.stats.rstsRateLimited++;
      return;
    }
    this.#rstCount++;
    if (seg.flags & ACK) {
      this.#sendRstTo(addrId, seg.dstPort, seg.srcPort, seg.ack, 0, RST, now);
    } else {
      const len = seg.payload.length + ((seg.flags & SYN) ? 1 : 0) + ((seg.flags & FIN) ? 1 : 0);
      this.#sendRstTo(addrId, seg.dstPort, seg.srcPort, 0, seqAdd(seg.seq, len), RST | ACK, now);
    }
  }

  #sendRstTo(
    addrId: number,
    localPort: number,
    remotePort: number,
    seq: number,
    ack: number,
    flags: number,
    now: number,
  ): void {
    const seg: Segment = {
      srcPort: localPort,
      dstPort: remotePort,
      seq,
      ack,
      flags,
      window: 0,
      checksum: 0,
      urgent: 0,
      mss: undefined,
      windowScale: undefined,
      sackPermitted: false,
      sack: undefined,
      tsVal: undefined,
      tsEcr: undefined,
      payload: EMPTY,
    };
    this.#queueSegment(seg, addrId, undefined, false, now);
  }

  #newConn(
    addrId: number,
    localPort: number,
    remotePort: number,
    iss: number,
    options: TcbOptions,
    listener: Listener | undefined,
  ): Conn {
    const id = this.#nextId++;
    const tcb = new Tcb({
      id,
      localPort,
      remotePort,
      iss,
      tsOffset: this.#tsOffsets[addrId],
      options,
      host: this.#host,
    });
    const key = tupleKey(addrId, remotePort, localPort);
    const c: Conn = { tcb, addrId, key, listener, inBacklog: false };
    this.#byKey.set(key, c);
    this.#byId.set(id, c);
    this.stats.opened++;
    return c;
  }

  #release(tcb: Tcb): void {
    const c = this.#byId.get(tcb.id);
    if (!c) return;
    this.#byId.delete(tcb.id);
    if (this.#byKey.get(c.key) === c) this.#byKey.delete(c.key);
    if (c.inBacklog && c.listener) {
      c.inBacklog = false;
      c.listener.pending--;
    }
    this.stats.closed[tcb.closedReason ?? "normal"]++;
  }

  #onTcbEvent(ev: TcbEvent): void {
    if (ev.type === "state-changed") {
      if (ev.to === "ESTABLISHED") {
        const c = this.#byId.get(ev.conn);
        if (c && c.inBacklog && c.listener) {
          if (c.listener.autoAccept) {
            c.inBacklog = false;
            c.listener.pending--;
          } else {
            c.listener.acceptQueue.push(ev.conn);
          }
        }
      }
      this.stats.transitions++;
    } else if (ev.type === "segment-dropped") {
      this.stats.dropped[ev.reason]++;
      if (!this.#eventsAll && ev.reason === "challenge-rate-limited") return;
    }
    this.#events.push(ev);
  }

  #transmitFor(tcb: Tcb, seg: Segment, rtx: boolean, now: number): void {
    const c = this.#byId.get(tcb.id);
    if (!c) throw new Error(`Bug: transmit for unknown connection ${tcb.id}`);
    this.#queueSegment(seg, c.addrId, tcb.id, rtx, now);
  }

  #queueSegment(
    seg: Segment,
    addrId: number,
    conn: ConnId | undefined,
    rtx: boolean,
    now: number,
  ): void {
    const len = encodedLength(seg);
    if (len > MAX_SEGMENT_BYTES) throw new Error(`Bug: segment of ${len} bytes`);
    if (this.#arenaUsed + len > this.#arena.length) {
      // The old arena stays alive through the views already queued.
      this.#arena = new Uint8Array(Math.max(ARENA_BYTES, len));
      this.#arenaUsed = 0;
    }
    const start = this.#arenaUsed;
    const sum = this.#addrSums[addrId];
    const n = encode(seg, this.#arena, start, sum);
    this.#arenaUsed += n;
    this.#txQueue.push({ to: this.#addrs[addrId], bytes: this.#arena.subarray(start, start + n) });
    this.stats.segmentsOut++;
    if (rtx) this.stats.retransmissions++;
    if (seg.flags & RST) this.stats.rstsOut++;
    if (this.#eventsAll) {
      this.#events.push({ type: "segment-sent", conn, segment: seg, retransmission: rtx, now });
    }
  }

  #countDrop(
    reason: DropReason,
    seg: Segment | undefined,
    conn: ConnId | undefined,
    now: number,
    detail?: string,
  ): void {
    this.stats.dropped[reason]++;
    const ev: TcbEvent = { type: "segment-dropped", conn, segment: seg, reason, now };
    if (detail !== undefined) ev.detail = detail;
    this.#events.push(ev);
  }

  #allowChallenge(now: number): boolean {
    if (now - this.#challengeWindow >= 1000) {
      this.#challengeWindow = now;
      this.#challengeCount = 0;
    }
    if (this.#challengeCount >= this.#challengeLimit) return false;
    this.#challengeCount++;
    return true;
  }

  /** Address text → small integer id; -1 when the text is not an IP address. */
  #intern(addr: string): number {
    const known = this.#addrIds.get(addr);
    if (known !== undefined) return known;
    const bytes = parseIp(addr);
    if (!bytes || bytes.length !== this.#local.length) return -1;
    const id = this.#addrs.length;
    this.#addrIds.set(addr, id);
    this.#addrs.push(addr);
    this.#addrBytes.push(bytes);
    const zero = new Uint8Array(bytes.length);
    this.#addrSums.push(
      this.#pseudo === "addresses" ? addrSum(this.#local, bytes) : addrSum(zero, zero),
    );
    this.#tsOffsets.push(this.#isn.tsOffset(this.#local, bytes));
    return id;
  }

  #pickEphemeral(addrId: number, remotePort: number): number {
    const [lo, hi] = this.#ephemeral;
    const span = hi - lo + 1;
    for (let i = 0; i < span; i++) {
      const p = this.#nextEphemeral;
      this.#nextEphemeral = p >= hi ? lo : p + 1;
      if (this.#listeners.has(p)) continue;
      if (!this.#byKey.has(tupleKey(addrId, remotePort, p))) return p;
    }
    throw new AddressInUseError(`Cannot connect: no free local port for port ${remotePort}`);
  }

  #get(id: ConnId): Conn {
    const c = this.#byId.get(id);
    if (!c) throw new ConnectionNotFoundError(id);
    return c;
  }
}

/** The demultiplexing key of (remote address id, remote port, local port). */
function tupleKey(addrId: number, remotePort: number, localPort: number): number {
  return (addrId * 65536 + remotePort) * 65536 + localPort;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid port ${port}: expected 1 to 65535`);
  }
}

const EMPTY = new Uint8Array(0);

export { ConnectionStateError };
