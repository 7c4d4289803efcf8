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
  decodeInto,
  encode,
  FIN,
  newSegment,
  RST,
  type Segment,
  SYN,
} from "../wire/segment.ts";
import { seqAdd, seqGe } from "../wire/seq.ts";
import { type ConnId, type DropReason, newCounters, type TcbEvent } from "../tcb/events.ts";
import { type TcbOptions, tcbOptions } from "../tcb/options.ts";
import type { State } from "../tcb/state.ts";
import { ConnectionStateError, SegmentVerdict, Tcb, type TcbHost } from "../tcb/tcb.ts";
import { IdTable, PairTable, portsKey } from "./conn_table.ts";
import { IsnGenerator } from "./isn.ts";
import { type EndpointStats, newStats } from "./stats.ts";
import { TimerWheel } from "../time/timer_wheel.ts";
import { Fifo } from "./fifo.ts";
import { type TimeWaitFacts, timeWaitInput } from "../tcb/time_wait_rules.ts";
import { type TimeWaitInit, type TimeWaitOverflow, TimeWaitTable } from "./time_wait.ts";

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
  /**
   * Verify checksums of received segments. Default true; false trusts the link, as a
   * stack does when the NIC verified them (or Linux for what its loopback carries).
   */
  verifyChecksum?: boolean;
  /**
   * Compute checksums of sent segments. Default true; false offloads them to the link
   * (`encode`'s `partial`, Linux's CHECKSUM_PARTIAL): segments leave with the
   * pseudo-header sum in the field, for the link to finish with `completeChecksum` or
   * for a peer that trusts the link (`verifyChecksum: false`). A pcap of them shows
   * the checksums as wrong, as tcpdump does on Linux's loopback.
   */
  computeChecksum?: boolean;
  /**
   * Released TCBs kept for new connections, at most (default 1024, ~1.4 KiB each; 0
   * keeps none). Reusing one spares a short connection ~30 allocations.
   */
  spareTcbs?: number;
  /**
   * Ephemeral port range for `connect`, inclusive (RFC 6335 dynamic ports, 49152 to
   * 65535, by default). Ports are chosen per destination as RFC 6056 §3.3.4
   * (Algorithm 4) does: from a secret starting point per remote address and port,
   * consecutive connections to one destination take consecutive ports.
   */
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
  /** The compact TIME-WAIT table (README "Millions of TIME-WAIT connections"). */
  timeWait?: {
    /**
     * Move connections that enter TIME-WAIT into the compact table (default true). A
     * connection whose MSL differs from the endpoint's keeps its full TCB instead.
     */
    compact?: boolean;
    /** Most records held (default 1,048,576). */
    capacity?: number;
    /** When full: evict the oldest record (default) or skip TIME-WAIT. */
    overflow?: TimeWaitOverflow;
  };
  /** The current time, ms: where the timer wheel starts. Default 0. */
  now?: number;
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

/** What the endpoint keeps beside each live TCB; the TCB points back here (`owner`). */
interface Conn {
  tcb: Tcb;
  addrId: number;
  /** Released or adopted into the compact table: the TCB no longer acts. */
  gone: boolean;
  listener: Listener | undefined;
  /** Still counted in its listener's backlog. */
  inBacklog: boolean;
  /** The connection's entry on the timer wheel, or -1. */
  timer: number;
}

const ARENA_BYTES = 256 * 1024;
const MAX_SEGMENT_BYTES = 65_535;
/** The largest TCP header: data offset 15 words (§3.1). */
const MAX_HEADER_BYTES = 60;

/** Many connections behind one local address. */
export class Endpoint {
  readonly address: string;
  readonly stats: EndpointStats = newStats();
  #local: Uint8Array;
  #opts: TcbOptions;
  #pseudo: PseudoHeader;
  #verify: boolean;
  /** Checksums left to the link (computeChecksum: false). */
  #partial: boolean;
  #isn: IsnGenerator;
  #eventsAll: boolean;
  #ephemeral: [number, number];
  /** Algorithm 4's table of counters, each below the ephemeral span. */
  #portTable = new Uint16Array(1 << PORT_TABLE_BITS);
  /** The destinations `#portSlot` remembers (address id -1: none). */
  #portCacheAddr = new Int32Array(PORT_CACHE_MASK + 1).fill(-1);
  #portCachePort = new Uint16Array(PORT_CACHE_MASK + 1);
  #portCacheSlot = new Int32Array(PORT_CACHE_MASK + 1);

  #addrIds = new Map<string, number>();
  /** The address `#intern` resolved last, and its id. */
  #lastAddr = "";
  #lastAddrId = -1;
  #addrs: string[] = [];
  #addrBytes: Uint8Array[] = [];
  #addrSums: number[] = [];
  /** Timestamp offset per remote address (RFC 7323 §5.4), computed once. */
  #tsOffsets: number[] = [];
  /** The ISN function's state after the address pair, per remote address (isn.ts). */
  #isnPrefix: Uint32Array[] = [];

  /** Live connections by (address id, ports) and by id: see conn_table.ts. */
  #byKey: PairTable<Conn>;
  #byId = new IdTable<Conn>(0x1d5eed);
  #listeners = new Map<number, Listener>();
  #nextId: ConnId = 1;

  #wheel: TimerWheel;
  #tw: TimeWaitTable;
  #compact: boolean;
  #twInit: TimeWaitInit = {
    connId: 0,
    addrId: 0,
    localPort: 0,
    remotePort: 0,
    sndNxt: 0,
    rcvNxt: 0,
    window: 0,
    windowShift: 0,
    timestamps: false,
    tsRecent: 0,
    tsRecentAge: 0,
  };
  /** The reused receive segment (see `handleDatagram`). */
  #rx: Segment = newSegment();
  #twFacts: TimeWaitFacts = { sndNxt: 0, rcvNxt: 0, rcvWnd: 0, tsOk: false, tsRecent: 0 };
  #fireNow = 0;
  #evictNow = 0;

  #txQueue = new Fifo<Transmit>();
  #arena = new Uint8Array(ARENA_BYTES);
  #arenaUsed = 0;
  /**
   * Transmit records by (start offset in the arena) / 4, two per offset (the most
   * recent lengths there), reused while the arena is:
   * the arena restarts at offset 0 after every drain, and segments of a lifecycle come
   * in a few lengths, so most transmissions find a record whose view already spans
   * their bytes (a typed-array view costs ~85 bytes and ~45 ns to make). A record
   * handed out stays untouched until the next input or command, as `Transmit` says.
   */
  #txCache: (Transmit | undefined)[] = [];
  /**
   * TCBs whose ACK waits for the application's turn (TcbHost.deferAck): flushed when
   * pollTransmit runs out (or at the next timeout). A host that polls transmissions
   * before events sends them exactly as without deferral; one that lets the
   * application act on events first gets them carried on its replies. More datagrams
   * may arrive in between (a batch): a later input for the same connection either
   * carries the ACK or re-defers it at its own time, so its segments stay in order.
   */
  #owedAcks = new Fifo<Tcb>();
  /**
   * Released TCBs (CLOSED, or adopted into the compact table), kept for new
   * connections (Tcb.reuse): a fresh one costs ~1.4 KiB in ~30 objects. A TCB retires
   * when the endpoint forgets it, often from inside one of its own methods (the
   * adopting TCB still sends its ACK of the FIN afterwards, maybe deferred). Retired
   * TCBs become spares in `#newConn` only, which no TCB method reaches, and only while
   * no deferred ACK is owed: a spare has no frame on the stack and no queue names it.
   */
  #retired: Tcb[] = [];
  #spare: Tcb[] = [];
  #spareTcbs: number;

  #events = new Fifo<TcbEvent>();

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
    this.#partial = !(opts.computeChecksum ?? true);
    this.#spareTcbs = opts.spareTcbs ?? 1024;
    if (!(Number.isInteger(this.#spareTcbs) && this.#spareTcbs >= 0)) {
      throw new RangeError(`spareTcbs must be a whole number, 0 or more, not ${opts.spareTcbs}`);
    }
    this.#isn = new IsnGenerator(opts.secret);
    this.#eventsAll = (opts.events ?? "all") === "all";
    this.#ephemeral = opts.ephemeralPorts ?? [49152, 65535];
    const [lo, hi] = this.#ephemeral;
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && lo <= hi && hi <= 65535)) {
      throw new RangeError(
        `Invalid ephemeral port range [${lo}, ${hi}]: expected whole ports, 1 <= low <= high <= 65535`,
      );
    }
    this.#byKey = new PairTable(this.#isn.tsOffset(new Uint8Array(local.length), local));
    this.#challengeLimit = opts.challengeAckLimit ?? 1000;
    this.#rstLimit = opts.rstLimit ?? 1000;
    this.#wheel = new TimerWheel({ now: opts.now ?? 0 });
    this.#compact = opts.timeWait?.compact ?? true;
    this.#tw = new TimeWaitTable({
      duration: 2 * this.#opts.msl,
      capacity: opts.timeWait?.capacity,
      overflow: opts.timeWait?.overflow,
      initialSize: 64,
      hashSeed: this.#isn.tsOffset(local, new Uint8Array(local.length).fill(0xa5)),
      onEvict: (i) => this.#timeWaitClosed(i, "recycled", this.#evictNow),
    });
    this.#host = {
      transmit: (tcb, seg, rtx, now) => this.#transmitFor(tcb, seg, rtx, now),
      event: (ev, tcb) => this.#onTcbEvent(ev, tcb),
      schedule: (tcb, deadline) => this.#schedule(tcb, deadline),
      allowChallengeAck: (now) => this.#allowChallenge(now),
      released: (tcb) => this.#release(tcb),
      adoptTimeWait: (tcb, now) => this.#adoptTimeWait(tcb, now),
      deferAck: (tcb) => {
        this.#owedAcks.push(tcb);
        return true;
      },
      // Only segment-sent events keep a transmitted segment.
      keepsSegments: this.#eventsAll,
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
      const c = this.#conn(id);
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
      if (
        this.#byKey.has(addrId, portsKey(port, localPort)) ||
        (this.#tw.size > 0 && this.#tw.lookup(addrId, localPort, port) >= 0)
      ) {
        throw new AddressInUseError(
          `Cannot connect: ${remote}:${port} from port ${localPort} is already in use`,
        );
      }
    } else {
      localPort = this.#pickEphemeral(addrId, port);
    }
    const options = opts.tcb ? { ...this.#opts, ...opts.tcb } : this.#opts;
    const iss = opts.iss ?? this.#isn.isnFrom(now, this.#isnPrefix[addrId], localPort, port);
    const c = this.#newConn(addrId, localPort, port, iss, options, undefined);
    c.tcb.connect(now);
    return c.tcb.id;
  }

  /** SEND: queues data; returns how many bytes the send buffer took. */
  send(id: ConnId, data: Uint8Array, now: number): number {
    const c = this.#conn(id);
    if (c) return c.tcb.send(data, now);
    this.#timeWaitRecord(id);
    throw new ConnectionStateError("Cannot send: connection closing", "TIME-WAIT");
  }

  /** RECEIVE: takes up to `max` bytes of in-order data. */
  read(id: ConnId, max = Infinity, now = 0): Uint8Array {
    const c = this.#conn(id);
    if (c) return c.tcb.read(max, now);
    this.#timeWaitRecord(id); // nothing left to read in TIME-WAIT
    return EMPTY;
  }

  /**
   * RECEIVE into `dst`: copies up to `dst.length` bytes of in-order data and returns
   * the count. Allocates nothing.
   */
  readInto(id: ConnId, dst: Uint8Array, now = 0): number {
    const c = this.#conn(id);
    if (c) return c.tcb.readInto(dst, now);
    this.#timeWaitRecord(id);
    return 0;
  }

  /** Half-close: our FIN after queued data; reading continues (§3.6.1). */
  shutdown(id: ConnId, now: number): void {
    const c = this.#conn(id);
    if (c) c.tcb.shutdown(now);
    else this.#timeWaitRecord(id); // our FIN is long sent: nothing to do
  }

  /** CLOSE (§3.10.4). Idempotent; a closed or unknown id is ignored. */
  close(id: ConnId, now: number): void {
    this.#conn(id)?.tcb.close(now);
  }

  /** ABORT (§3.10.5). Idempotent; a closed or unknown id is ignored. */
  abort(id: ConnId, now: number): void {
    const c = this.#conn(id);
    if (c) return c.tcb.abort(now);
    // §3.10.5 in TIME-WAIT: delete the TCB, send nothing.
    const i = this.#tw.size > 0 ? this.#tw.findConn(id) : -1;
    if (i < 0) return;
    this.#timeWaitClosed(i, "abort", now);
    this.#tw.remove(i);
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
    // Without per-segment events nothing keeps the decoded segment past this call,
    // so one object serves every datagram (drop events get a copy).
    const seg = this.#eventsAll ? newSegment() : this.#rx;
    const failure = decodeInto(bytes, seg, sum);
    if (failure !== undefined) {
      this.stats.malformed[failure]++;
      const reason: DropReason = failure === "bad-checksum" ? "bad-checksum" : "malformed";
      this.#countDrop(reason, undefined, undefined, now, failure);
      return;
    }
    // The segment-received event keeps the segment: its payload must not be a view of
    // a buffer the caller may reuse.
    if (this.#eventsAll && seg.payload.length > 0) seg.payload = seg.payload.slice();
    this.#segmentFrom(seg, addrId, now);
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
    if (this.#owedAcks.length > 0) this.#flushAcks();
    this.#fireNow = now;
    this.#wheel.advance(now, this.#fire);
    if (this.#tw.size > 0) {
      this.#tw.expire(now, (i) => this.#timeWaitClosed(i, "time-wait-expired", now));
    }
  }

  readonly #fire = (id: number): void => {
    const c = this.#conn(id);
    if (!c) return;
    c.timer = -1;
    c.tcb.handleTimeout(this.#fireNow);
  };

  // --------------------------------------------------------------- outputs

  /** The next datagram to send, or `undefined` when none is queued. */
  pollTransmit(): Transmit | undefined {
    if (this.#txQueue.length === 0 && this.#owedAcks.length > 0) this.#flushAcks();
    const t = this.#txQueue.shift();
    if (t === undefined) this.#arenaUsed = 0;
    return t;
  }

  /** The next event, or `undefined`. */
  pollEvent(): TcbEvent | undefined {
    return this.#events.shift();
  }

  /**
   * The earliest time `handleTimeout` must be called (Infinity when idle). It may be
   * early: timers are re-armed lazily (a deadline that moved later stays where it was
   * until it fires), so a wake-up can find nothing due and re-arm; never late.
   */
  pollTimeout(): number {
    let t = Math.min(this.#wheel.nextDeadline(), this.#tw.nextDeadline());
    // Deferred ACKs and the timers that wait with them (flushed by pollTransmit or
    // handleTimeout, whichever comes first).
    const owed = this.#owedAcks;
    for (let i = 0; i < owed.length; i++) t = Math.min(t, owed.at(i)!.owedDeadline);
    return t;
  }

  // ------------------------------------------------------------- read-outs

  /** A snapshot of connection `id`, or `undefined` once it is gone. */
  info(id: ConnId): ConnectionInfo | undefined {
    const c = this.#conn(id);
    if (!c) return this.#timeWaitInfo(id);
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

  /**
   * The state of connection `id`, `"CLOSED"` once it is gone. A connection in the
   * compact TIME-WAIT table is found by a scan of the table: fine for tests and UIs,
   * not for a hot path.
   */
  state(id: ConnId): State {
    const c = this.#conn(id);
    if (c) return c.tcb.state;
    return this.#tw.size > 0 && this.#tw.findConn(id) >= 0 ? "TIME-WAIT" : "CLOSED";
  }

  /**
   * The local port of connection `id` while it has a full TCB (not in compact
   * TIME-WAIT), else -1. One lookup, no allocation: for drivers that index their
   * own per-connection state by 4-tuple (`info()` builds a whole snapshot).
   */
  localPortOf(id: ConnId): number {
    const c = this.#conn(id);
    return c ? c.tcb.localPort : -1;
  }

  /** Ids of every live connection (any state but CLOSED), compact TIME-WAIT included. */
  connections(): ConnId[] {
    const ids: ConnId[] = [];
    this.#byId.forEach((c) => ids.push(c.tcb.id));
    // Ids grow with each connection: ascending order is the order they were opened.
    ids.sort((a, b) => a - b);
    this.#tw.forEach((i) => ids.push(this.#tw.connId(i)));
    return ids;
  }

  /** Number of live connections, compact TIME-WAIT included. */
  get size(): number {
    return this.#byId.size + this.#tw.size;
  }

  /** Connections held as compact TIME-WAIT records. */
  get timeWaitCount(): number {
    return this.#tw.size;
  }

  /** The compact TIME-WAIT table's counters and memory. */
  timeWaitStats(): { stats: TimeWaitTable["stats"]; memory: ReturnType<TimeWaitTable["memory"]> } {
    return { stats: this.#tw.stats, memory: this.#tw.memory() };
  }

  /** Live timer entries (including stale ones not yet skipped). */
  get timerEntries(): number {
    return this.#wheel.size;
  }

  #timeWaitInfo(id: ConnId): ConnectionInfo | undefined {
    const tw = this.#tw;
    const i = tw.size > 0 ? tw.findConn(id) : -1;
    if (i < 0) return undefined;
    const sndNxt = tw.sndNxt(i);
    return {
      id,
      state: "TIME-WAIT",
      localPort: tw.localPort(i),
      remoteAddress: this.#addrs[tw.addrId(i)],
      remotePort: tw.remotePort(i),
      passive: false,
      orphaned: true,
      iss: 0,
      irs: 0,
      sndUna: sndNxt,
      sndNxt,
      sndWnd: 0,
      rcvNxt: tw.rcvNxt(i),
      rcvWnd: tw.window(i) << tw.windowShift(i),
      bytesInFlight: 0,
      unread: 0,
      rto: 0,
      retries: 0,
      timers: {
        retransmit: Infinity,
        persist: false,
        delayedAck: Infinity,
        finWait2: Infinity,
        timeWait: tw.deadline(i),
        user: Infinity,
      },
      counters: newCounters(),
    };
  }

  // ------------------------------------------------------------- internals

  #segmentFrom(seg: Segment, addrId: number, now: number): void {
    this.stats.segmentsIn++;
    if (seg.flags & RST) this.stats.rstsIn++;
    const c = this.#byKey.get(addrId, portsKey(seg.srcPort, seg.dstPort));
    if (this.#eventsAll) {
      this.#events.push({ type: "segment-received", conn: c?.tcb.id, segment: seg, now });
    }
    if (c) {
      // Only TIME-WAIT asks whether a listener could take a reopening SYN.
      const tcb = c.tcb;
      const canReopen = tcb.state === "TIME-WAIT" && this.#listeners.has(seg.dstPort);
      const verdict = tcb.handleSegment(seg, now, canReopen);
      if (verdict !== SegmentVerdict.Reopen) return;
      // §3.10.7.4 / RFC 6191: the SYN reopens the 4-tuple. The new ISS must lie beyond
      // everything the old incarnation used (as Linux: SND.NXT + 2^16 + 1).
      const iss = seqAdd(c.tcb.sndNxt, 65537);
      c.tcb.closeForReopen(now);
      this.#toListener(seg, addrId, now, iss);
      return;
    }
    if (this.#tw.size > 0) {
      const i = this.#tw.lookup(addrId, seg.dstPort, seg.srcPort);
      if (i >= 0) return this.#timeWaitSegment(i, seg, addrId, now);
    }
    this.#toListener(seg, addrId, now, undefined);
  }

  // ------------------------------------------------------ compact TIME-WAIT

  /** Takes a TCB that entered TIME-WAIT into the compact table (host hook). */
  #adoptTimeWait(tcb: Tcb, now: number): boolean {
    // Keep the full TCB when the record could not say the same: another MSL, unread
    // data the application may still read, or an abortive close (rstSenderTimeWait)
    // whose "aborted" reason the final event must carry.
    if (!this.#compact || tcb.options.msl !== this.#opts.msl) return false;
    if (tcb.unread > 0 || tcb.closedReason !== undefined) return false;
    const c = tcb.owner as Conn;
    if (c.gone) return false;
    const r = this.#twInit;
    r.connId = tcb.id;
    r.addrId = c.addrId;
    r.localPort = tcb.localPort;
    r.remotePort = tcb.remotePort;
    r.sndNxt = tcb.sndNxt;
    r.rcvNxt = tcb.rcvNxt;
    r.window = tcb.windowField;
    r.windowShift = tcb.rcvShift;
    r.timestamps = tcb.tsOk;
    r.tsRecent = tcb.tsRecent;
    r.tsRecentAge = tcb.tsRecentAge >>> 0;
    this.#evictNow = now;
    // The TCB entered TIME-WAIT at `now`: the record's 2·MSL starts now too.
    const i = this.#tw.insert(r, now);
    if (i < 0) return false; // full with the "skip" policy: the TCB keeps TIME-WAIT
    if (c.timer >= 0) this.#wheel.cancel(c.timer);
    c.timer = -1;
    this.#forget(c);
    this.stats.timeWaitAdopted++;
    return true;
  }

  /** A segment for a compact TIME-WAIT record: the same rules as the full TCB. */
  #timeWaitSegment(i: number, seg: Segment, addrId: number, now: number): void {
    const tw = this.#tw;
    const f = this.#twFacts;
    f.sndNxt = tw.sndNxt(i);
    f.rcvNxt = tw.rcvNxt(i);
    f.rcvWnd = tw.window(i) << tw.windowShift(i);
    f.tsOk = tw.hasTimestamps(i);
    f.tsRecent = tw.tsRecent(i);
    const conn = tw.connId(i);
    const action = timeWaitInput(f, seg, this.#opts, this.#listeners.has(seg.dstPort));
    switch (action.kind) {
      case "drop":
        this.#countDrop(action.reason, seg, conn, now);
        return;
      case "close":
        this.#timeWaitClosed(i, "rcv-rst", now);
        tw.remove(i);
        return;
      case "reopen": {
        const iss = seqAdd(f.sndNxt, 65537);
        this.#timeWaitClosed(i, "reopened", now);
        tw.remove(i);
        this.#toListener(seg, addrId, now, iss);
        return;
      }
      case "ack": {
        if (action.reason) this.#countDrop(action.reason, seg, conn, now);
        if (action.rateLimited && !this.#allowTimeWaitChallenge(conn, now)) {
          this.#countDrop("challenge-rate-limited", undefined, conn, now);
          return;
        }
        if (action.restart) {
          i = tw.restart(i, now);
          this.stats.timeWaitRestarts++;
          // RFC 7323 §4.3, as in the TCB: the accepted FIN's timestamp is TS.Recent.
          if (f.tsOk && seg.tsVal !== undefined && seqGe(seg.tsVal, f.tsRecent)) {
            tw.setTsRecent(i, seg.tsVal, now);
            f.tsRecent = seg.tsVal;
          }
        }
        const ack = newSegment({
          srcPort: seg.dstPort,
          dstPort: seg.srcPort,
          seq: f.sndNxt,
          ack: f.rcvNxt,
          flags: ACK,
          window: tw.window(i),
          tsVal: f.tsOk ? (Math.floor(now) + this.#tsOffsets[addrId]) >>> 0 : undefined,
          tsEcr: f.tsOk ? f.tsRecent : undefined,
        });
        this.#queueSegment(ack, addrId, conn, false, now);
        return;
      }
    }
  }

  /**
   * Reports a compact record's end (the caller removes it, or the table does): the
   * same two events as a full TCB leaving TIME-WAIT.
   */
  #timeWaitClosed(
    i: number,
    cause: "time-wait-expired" | "rcv-rst" | "reopened" | "recycled" | "abort",
    now: number,
  ): void {
    const conn = this.#tw.connId(i);
    this.#events.push({
      type: "state-changed",
      conn,
      from: "TIME-WAIT",
      to: "CLOSED",
      cause,
      now,
      counters: undefined,
    });
    // §3.10.5: ABORT is the one way out of TIME-WAIT the user is told was abortive.
    const reason = cause === "abort" ? "aborted" : "normal";
    this.#events.push({ type: "closed", conn, reason, now });
    this.stats.transitions++;
    this.stats.closed[reason]++;
    if (cause === "recycled") this.stats.timeWaitRecycled++;
  }

  /**
   * RFC 5961 §7 for compact records: 1 challenge per interval per connection, plus
   * the global budget. The per-connection clocks live in a side map that holds only
   * connections challenged within the last interval, so it stays small (at most the
   * global budget per interval) and costs the table nothing.
   */
  #allowTimeWaitChallenge(conn: ConnId, now: number): boolean {
    const interval = this.#opts.challengeAckInterval;
    const last = this.#twChallenged.get(conn);
    if (last !== undefined && now - last < interval) return false;
    if (!this.#allowChallenge(now)) return false;
    if (this.#twChallenged.size >= 4096) {
      for (const [k, t] of this.#twChallenged) {
        if (now - t >= interval) this.#twChallenged.delete(k);
      }
    }
    this.#twChallenged.set(conn, now);
    return true;
  }
  #twChallenged = new Map<ConnId, number>();

  #schedule(tcb: Tcb, deadline: number): void {
    const c = tcb.owner as Conn;
    if (c.gone) return;
    if (c.timer >= 0 && this.#wheel.isActive(c.timer)) {
      c.timer = this.#wheel.reschedule(c.timer, deadline);
    } else {
      c.timer = this.#wheel.insert(tcb.id, deadline);
    }
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
    const theIss = iss ?? l.iss ??
      this.#isn.isnFrom(now, this.#isnPrefix[addrId], seg.dstPort, seg.srcPort);
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
    const seg = newSegment({ srcPort: localPort, dstPort: remotePort, seq, ack, flags });
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
    const init = {
      id,
      localPort,
      remotePort,
      iss,
      tsOffset: this.#tsOffsets[addrId],
      options,
      host: this.#host,
    };
    if (this.#spare.length === 0 && this.#owedAcks.length === 0) {
      // Nothing can reach the retired TCBs any more: they become spares.
      const r = this.#retired;
      this.#retired = this.#spare;
      this.#spare = r;
    }
    const spare = this.#spare.pop();
    let tcb: Tcb;
    if (spare) {
      spare.reuse(init);
      tcb = spare;
    } else {
      tcb = new Tcb(init);
    }
    const c: Conn = { tcb, addrId, gone: false, listener, inBacklog: false, timer: -1 };
    tcb.owner = c;
    this.#byKey.set(addrId, portsKey(remotePort, localPort), c);
    this.#byId.set(id, c);
    this.stats.opened++;
    return c;
  }

  #release(tcb: Tcb): void {
    const c = tcb.owner as Conn;
    if (c.gone) return;
    if (c.timer >= 0) this.#wheel.cancel(c.timer);
    c.timer = -1;
    this.#forget(c);
    if (c.inBacklog && c.listener) {
      c.inBacklog = false;
      c.listener.pending--;
    }
    this.stats.closed[tcb.closedReason ?? "normal"]++;
  }

  /** Sends every deferred ACK that no reply has carried (they queue in order). */
  #flushAcks(): void {
    const owed = this.#owedAcks;
    for (let t = owed.shift(); t !== undefined; t = owed.shift()) t.flushAck();
  }

  /** Drops a connection from both indexes; its TCB never acts again. */
  #forget(c: Conn): void {
    c.gone = true;
    if (this.#lastConn === c) this.#lastConn = undefined;
    const t = c.tcb;
    // One that still holds data it received (an abort, a RST) goes to the GC with its
    // buffer: spares keep no storage.
    if (t.unread === 0 && this.#retired.length < this.#spareTcbs) this.#retired.push(t);
    this.#byId.delete(t.id);
    // A reopened 4-tuple may already belong to the successor connection.
    const ports = portsKey(t.remotePort, t.localPort);
    if (this.#byKey.get(c.addrId, ports) === c) this.#byKey.delete(c.addrId, ports);
  }

  #onTcbEvent(ev: TcbEvent, tcb: Tcb): void {
    if (ev.type === "state-changed") {
      if (ev.to === "ESTABLISHED") {
        const c = tcb.owner as Conn;
        if (!c.gone && c.inBacklog && c.listener) {
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
      if (ev.segment === this.#rx) ev.segment = copySegment(this.#rx);
      if (!this.#eventsAll && ev.reason === "challenge-rate-limited") return;
    }
    this.#events.push(ev);
  }

  #transmitFor(tcb: Tcb, seg: Segment, rtx: boolean, now: number): void {
    const c = tcb.owner as Conn;
    if (c.gone) throw new Error(`Bug: transmit for unknown connection ${tcb.id}`);
    this.#queueSegment(seg, c.addrId, tcb.id, rtx, now);
  }

  #queueSegment(
    seg: Segment,
    addrId: number,
    conn: ConnId | undefined,
    rtx: boolean,
    now: number,
  ): void {
    // An upper bound (the header is at most 60 bytes, §3.1) spares computing the exact
    // length twice: `encode` returns it.
    const bound = seg.payload.length + MAX_HEADER_BYTES;
    if (this.#arenaUsed + bound > this.#arena.length) {
      // The old arena stays alive through the views already queued.
      this.#arena = new Uint8Array(Math.max(ARENA_BYTES, bound));
      this.#arenaUsed = 0;
      this.#txCache = [];
    }
    const start = this.#arenaUsed;
    const sum = this.#addrSums[addrId];
    const n = encode(seg, this.#arena, start, sum, this.#partial);
    if (n > MAX_SEGMENT_BYTES) throw new Error(`Bug: segment of ${n} bytes`);
    // Records start on 4-byte boundaries so the cache index is dense.
    this.#arenaUsed = (start + n + 3) & ~3;
    // Two ways per slot: segments of different lengths take turns at an offset.
    const way = (start >>> 2) << 1;
    const cache = this.#txCache;
    let t = cache[way];
    if (t === undefined || t.bytes.length !== n) {
      const other = cache[way + 1];
      if (other !== undefined && other.bytes.length === n) {
        cache[way + 1] = t;
        t = other;
      } else {
        t = { to: "", bytes: this.#arena.subarray(start, start + n) };
        cache[way + 1] = cache[way];
      }
      cache[way] = t;
    }
    t.to = this.#addrs[addrId];
    this.#txQueue.push(t);
    this.stats.segmentsOut++;
    if (rtx) this.stats.retransmissions++;
    if (seg.flags & RST) this.stats.rstsOut++;
    if (this.#eventsAll) {
      // The TCB handed us a fresh segment (keepsSegments) whose payload is a view of
      // its send buffer: the event keeps bytes of its own.
      if (seg.payload.length > 0) seg.payload = seg.payload.slice();
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
    const segment = seg === this.#rx ? copySegment(seg) : seg;
    const ev: TcbEvent = { type: "segment-dropped", conn, segment, reason, now };
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
    // Datagrams come in runs from one peer: the last answer first, before the Map.
    if (addr === this.#lastAddr) return this.#lastAddrId;
    const known = this.#addrIds.get(addr);
    if (known !== undefined) {
      this.#lastAddr = addr;
      this.#lastAddrId = known;
      return known;
    }
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
    this.#isnPrefix.push(this.#isn.prefix(this.#local, bytes));
    return id;
  }

  /**
   * RFC 6056 §3.3.4 (Algorithm 4, double-hash port selection): each destination
   * (remote address and port) starts at its own secret offset and walks the ephemeral
   * range from a counter it shares with the destinations that hash to the same table
   * entry. Ports stay unpredictable across destinations, while consecutive connections
   * to one destination take consecutive ports, whose TIME-WAIT records then share
   * index lines (`TimeWaitTable`): a client opening many connections to one server
   * touches one line of that index per four of them instead of one each.
   */
  #pickEphemeral(addrId: number, remotePort: number): number {
    const [lo, hi] = this.#ephemeral;
    const span = hi - lo + 1;
    const v = this.#portSlot(addrId, remotePort, span);
    const t = v >>> 16;
    const base = v & 0xffff;
    const table = this.#portTable;
    for (let i = 0; i < span; i++) {
      const c = table[t];
      table[t] = c + 1 === span ? 0 : c + 1;
      const q = base + c;
      const p = lo + (q >= span ? q - span : q);
      if (this.#listeners.has(p)) continue;
      if (this.#byKey.has(addrId, portsKey(remotePort, p))) continue;
      if (this.#tw.size > 0 && this.#tw.lookup(addrId, p, remotePort) >= 0) continue;
      return p;
    }
    throw new AddressInUseError(`Cannot connect: no free local port for port ${remotePort}`);
  }

  /**
   * Algorithm 4's F and G for a destination, as `G << 16 | F mod span`: one keyed hash
   * (`IsnGenerator.portHash`), remembered in a small direct-mapped cache so a client
   * cycling through a few destinations hashes each once.
   */
  #portSlot(addrId: number, remotePort: number, span: number): number {
    const c = (Math.imul(addrId, 0x9e3779b1) ^ remotePort) & PORT_CACHE_MASK;
    if (this.#portCacheAddr[c] === addrId && this.#portCachePort[c] === remotePort) {
      return this.#portCacheSlot[c];
    }
    const h = this.#isn.portHash(this.#isnPrefix[addrId], remotePort);
    const v = ((h >>> (32 - PORT_TABLE_BITS)) << 16) | ((h & 0xffff) % span);
    this.#portCacheAddr[c] = addrId;
    this.#portCachePort[c] = remotePort;
    this.#portCacheSlot[c] = v;
    return v;
  }

  /** The compact record of `id`; throws like `#get` when there is none. */
  #timeWaitRecord(id: ConnId): number {
    const i = this.#tw.size > 0 ? this.#tw.findConn(id) : -1;
    if (i < 0) throw new ConnectionNotFoundError(id);
    return i;
  }

  /** The live connection `id` (not in compact TIME-WAIT), or `undefined`. */
  #conn(id: ConnId): Conn | undefined {
    // Applications act on the connection an event just named, often twice in a row
    // (read, then reply or close): the last answer first.
    const last = this.#lastConn;
    if (last !== undefined && last.tcb.id === id) return last;
    const c = this.#byId.get(id);
    if (c !== undefined) this.#lastConn = c;
    return c;
  }
  /** The connection `#conn` found last (cleared when it is forgotten). */
  #lastConn: Conn | undefined = undefined;

  #get(id: ConnId): Conn {
    const c = this.#conn(id);
    if (!c) throw new ConnectionNotFoundError(id);
    return c;
  }
}

/** A copy that owns its payload and SACK blocks. */
function copySegment(seg: Segment): Segment {
  return { ...seg, sack: seg.sack?.slice(), payload: seg.payload.slice() };
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`Invalid port ${port}: expected 1 to 65535`);
  }
}

const EMPTY = new Uint8Array(0);
/** Algorithm 4's table: 1024 counters (RFC 6056 leaves the size open). */
const PORT_TABLE_BITS = 10;
/** Destinations whose port hash `#portSlot` remembers, minus one. */
const PORT_CACHE_MASK = 255;

export { ConnectionStateError };
