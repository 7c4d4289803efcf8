/**
 * The terminal UI's view model: a store folded from engine events
 * ({@linkcode UiInput}) and `info()` snapshots. It keeps, per peer, every live
 * connection with its state, sequence variables and running timers; pairs the two
 * ends of each connection by 4-tuple; keeps the recent segments as sequence-diagram
 * rows with their fates and the state changes they caused; and counts per state,
 * TIME-WAIT over time and segments per second.
 *
 * Pure and synchronous: time comes in with the inputs and with {@linkcode UiStore.tick}.
 * Each input costs O(1); nothing here grows with time except the live connections.
 *
 * @example
 * ```ts
 * import { UiStore } from "./model.ts";
 * const store = new UiStore({ nodes: [{ address: "10.0.0.1", label: "A" }], msl: 1000 });
 * store.apply({
 *   kind: "event", at: 5, node: "10.0.0.1",
 *   event: { type: "state-changed", conn: 1, from: "CLOSED", to: "SYN-SENT", cause: "open", now: 5 },
 * });
 * if (store.count("SYN-SENT") !== 1) throw new Error("one connection opening");
 * ```
 *
 * @module
 */
import type { Cause, State } from "../tcb/state.ts";
import { STATES } from "../tcb/state.ts";
import type { CloseReason, ConnId } from "../tcb/events.ts";
import { formatSegment } from "../wire/rfc_notation.ts";
import type { Segment } from "../wire/segment.ts";
import { ACK, FIN, RST } from "../wire/segment.ts";
import type { ConnSnapshot, UiInput, UiNode } from "./source.ts";

const STATE_INDEX = new Map<State, number>(STATES.map((s, i) => [s, i]));

/** A running timer: its deadline and when it was armed (for the bar's length). */
export interface TimerView {
  deadline: number;
  armedAt: number;
}

const OFF: TimerView = Object.freeze({ deadline: Infinity, armedAt: 0 });

/** One end of a connection as the UI knows it. */
export interface ConnView {
  readonly node: number;
  readonly id: ConnId;
  state: State;
  /** The state before the last change, and why it changed. */
  from: State | undefined;
  cause: Cause | undefined;
  /** When it entered `state`, ms. */
  since: number;
  localPort: number | undefined;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  sndUna: number | undefined;
  sndNxt: number | undefined;
  rcvNxt: number | undefined;
  inFlight: number;
  rto: number;
  retries: number;
  rtx: TimerView;
  finWait2: TimerView;
  timeWait: TimerView;
  reason: CloseReason | undefined;
  pair: PairView;
}

/** Both ends of one connection (one end for a single-endpoint source). */
export interface PairView {
  /** Creation order; shown as `#n`. */
  readonly seq: number;
  key: string;
  /** One slot per node, in node order. */
  readonly conns: (ConnView | undefined)[];
  /** Set when every end is CLOSED. */
  closedAt: number | undefined;
  dropped: boolean;
}

/** A segment between the peers, with its fate and the state changes beside it. */
export interface SegmentRow {
  readonly type: "segment";
  readonly at: number;
  /** Sending node index; -1 for a peer outside the view. */
  readonly from: number;
  /** Receiving node index; -1 for a peer outside the view. */
  to: number;
  /** RFC 9293 notation, e.g. `<SEQ=100><ACK=300><CTL=FIN,ACK>`. */
  readonly text: string;
  readonly flags: number;
  readonly length: number;
  readonly retransmission: boolean;
  readonly datagram: number | undefined;
  sender: ConnView | undefined;
  receiver: ConnView | undefined;
  /** Sender's state when it sent, and the state it came from when the send went with a change. */
  senderState: State | undefined;
  senderFrom: State | undefined;
  /** Receiver's state after the segment arrived, and before it if the segment changed it. */
  receiverState: State | undefined;
  receiverFrom: State | undefined;
  received: boolean;
  lost: boolean;
  duplicated: boolean;
  reordered: boolean;
  corrupted: boolean;
  /** Why the receiver dropped it, if it did. */
  dropped: string | undefined;
}

/** A user call on one peer, e.g. "(Close)". */
export interface ActionRow {
  readonly type: "action";
  readonly at: number;
  readonly node: number;
  readonly label: string;
  conn: ConnView | undefined;
}

/** A state change no arrow caused (a timer, an abort without a RST, a user call). */
export interface StateRow {
  readonly type: "state";
  readonly at: number;
  readonly node: number;
  readonly conn: ConnView;
  readonly from: State;
  readonly to: State;
  readonly cause: Cause;
  reason: CloseReason | undefined;
  /** Folded into the segment the same call sent; not drawn on its own. */
  merged: boolean;
}

/** A line of the sequence diagram. */
export type DiagramRow = SegmentRow | ActionRow | StateRow;

/** A segment's row, not yet seen by either end nor by the network. */
function segmentRow(
  at: number,
  from: number,
  to: number,
  seg: Segment,
  datagram: number | undefined,
  retransmission: boolean,
): SegmentRow {
  return {
    type: "segment",
    at,
    from,
    to,
    text: formatSegment(seg),
    flags: seg.flags,
    length: seg.payload.length,
    retransmission,
    datagram,
    sender: undefined,
    receiver: undefined,
    senderState: undefined,
    senderFrom: undefined,
    receiverState: undefined,
    receiverFrom: undefined,
    received: false,
    lost: false,
    duplicated: false,
    reordered: false,
    corrupted: false,
    dropped: undefined,
  };
}

/** A peer and its live connections. */
export interface NodeView {
  readonly address: string;
  readonly label: string;
  readonly index: number;
  readonly conns: Map<ConnId, ConnView>;
  /** Live connections per state, indexed like `STATES`. */
  readonly counts: Int32Array;
}

/** Running totals since the start. */
export interface Totals {
  segments: number;
  retransmissions: number;
  lost: number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  opened: number;
  closed: number;
  resets: number;
}

/** Store settings. */
export interface UiStoreOptions {
  nodes: readonly UiNode[];
  /** MSL in ms: a TIME-WAIT entered at `t` ends at `t + 2·MSL` unless a snapshot says otherwise. */
  msl: number;
  /** Diagram rows kept (default 400). */
  rowLimit?: number;
  /** Fully closed connections kept on screen (default 6). */
  closedKeep?: number;
  /** Virtual ms per sparkline sample (default MSL / 4, at least 10). */
  sampleEvery?: number;
  /** Sparkline samples kept (default 240). */
  sampleLimit?: number;
}

/** Changes of state kept for storm mode's sample rows. */
const RECENT = 64;
const SEG_BUCKET_MS = 100;
const SEG_BUCKETS = 10;

/** The view model. Feed it with {@linkcode UiStore.apply}; frames read it. */
export class UiStore {
  readonly nodes: NodeView[] = [];
  readonly totals: Totals = {
    segments: 0,
    retransmissions: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    corrupted: 0,
    opened: 0,
    closed: 0,
    resets: 0,
  };
  /** Latest time seen, ms. */
  now = 0;
  /** Bumped on every change; a frame is rebuilt only when it moved (or time did). */
  version = 0;
  msl: number;

  #byAddress = new Map<string, NodeView>();
  #pairs: PairView[] = [];
  #pairSeq = 0;
  #droppedPairs = 0;
  #openPairs = new Map<string, PairView>();
  #closedPairs: PairView[] = [];
  #closedKeep: number;
  #selected: PairView | undefined;
  #follow = true;

  #rows: (DiagramRow | undefined)[];
  #rowHead = 0;
  #rowCount = 0;
  #byDatagram = new Map<number, SegmentRow>();
  /** Per node: the segment row it received last and when, for the state change it causes. */
  #lastReceived: (SegmentRow | undefined)[] = [];
  #lastReceivedAt: number[] = [];
  /** Per node: the connection that went CLOSED last (its `closed` event follows). */
  #justClosed: (ConnView | undefined)[] = [];
  /** Per node: a state row waiting for the segment the same call sends. */
  #pendingState: (StateRow | undefined)[] = [];
  /** Per node: the last action row, until the call shows which connection it touched. */
  #pendingAction: (ActionRow | undefined)[] = [];

  #recent: (ConnView | undefined)[] = new Array(RECENT);
  #recentHead = 0;

  #sampleEvery: number;
  #samples: number[];
  #sampleHead = 0;
  #sampleCount = 0;
  #sampleBucket = -1;
  #segBucket = new Float64Array(SEG_BUCKETS).fill(-1);
  #segCount = new Int32Array(SEG_BUCKETS);

  constructor(opts: UiStoreOptions) {
    this.msl = opts.msl;
    for (const n of opts.nodes) this.#node(n.address, n.label);
    this.#rows = new Array(opts.rowLimit ?? 400);
    this.#closedKeep = opts.closedKeep ?? 6;
    this.#sampleEvery = opts.sampleEvery ?? Math.max(10, opts.msl / 4);
    this.#samples = new Array(opts.sampleLimit ?? 240).fill(0);
  }

  // ----------------------------------------------------------------- inputs

  /** Folds a batch of inputs. */
  applyAll(inputs: readonly UiInput[]): void {
    for (let i = 0; i < inputs.length; i++) this.apply(inputs[i]);
  }

  /** Folds one input. */
  apply(input: UiInput): void {
    this.version++;
    if (input.at > this.now) this.now = input.at;
    switch (input.kind) {
      case "event":
        this.#event(input);
        break;
      case "net":
        this.#net(input.event);
        break;
      case "action": {
        const node = this.#node(input.node);
        const row: ActionRow = {
          type: "action",
          at: input.at,
          node: node.index,
          label: input.label,
          conn: undefined,
        };
        this.#pendingAction[node.index] = row;
        this.#pushRow(row);
        break;
      }
      case "snapshot":
        this.#snapshot(this.#node(input.node), input.info, input.at);
        break;
    }
  }

  /** Moves time on (for samples and countdowns) without an event. */
  tick(now: number): void {
    if (now > this.now) this.now = now;
    const bucket = Math.floor(this.now / this.#sampleEvery);
    if (this.#sampleBucket < 0) this.#sampleBucket = bucket - 1;
    let missing = bucket - this.#sampleBucket;
    if (missing <= 0) return;
    if (missing > this.#samples.length) missing = this.#samples.length;
    const tw = this.count("TIME-WAIT");
    for (let k = 0; k < missing; k++) {
      this.#samples[this.#sampleHead] = tw;
      this.#sampleHead = (this.#sampleHead + 1) % this.#samples.length;
      if (this.#sampleCount < this.#samples.length) this.#sampleCount++;
    }
    this.#sampleBucket = bucket;
    this.version++;
  }

  // ---------------------------------------------------------------- reading

  /** Live connections in `state`, over every node. */
  count(state: State): number {
    const i = STATE_INDEX.get(state)!;
    let n = 0;
    for (const node of this.nodes) n += node.counts[i];
    return n;
  }

  /** Live connections in `state` on node `index`. */
  countOn(index: number, state: State): number {
    return this.nodes[index].counts[STATE_INDEX.get(state)!];
  }

  /** Live connections, every node. */
  get live(): number {
    let n = 0;
    for (const node of this.nodes) n += node.conns.size;
    return n;
  }

  /** Connections on screen, oldest first (closed ones linger a while). */
  pairs(): readonly PairView[] {
    this.#compact();
    return this.#pairs;
  }

  /** The selected connection, if any. */
  get selected(): PairView | undefined {
    if (this.#selected?.dropped) this.#selected = undefined;
    if (!this.#selected || this.#follow) {
      const pairs = this.pairs();
      this.#selected = pairs.length > 0 ? pairs[pairs.length - 1] : undefined;
    }
    return this.#selected;
  }

  /** Index of the selected connection in {@linkcode UiStore.pairs}, or -1. */
  selectedIndex(): number {
    const sel = this.selected;
    if (!sel) return -1;
    const pairs = this.pairs();
    // Usually at or near the end; search from there.
    for (let i = pairs.length - 1; i >= 0; i--) if (pairs[i] === sel) return i;
    return -1;
  }

  /** Moves the selection by `delta` rows (arrows); sticks there until it closes away. */
  select(delta: number): void {
    const pairs = this.pairs();
    if (pairs.length === 0) return;
    const i = Math.max(0, this.selectedIndex());
    const j = Math.min(pairs.length - 1, Math.max(0, i + delta));
    this.#selected = pairs[j];
    // Back on the newest row: follow new connections again.
    this.#follow = j === pairs.length - 1;
    this.version++;
  }

  /** The selected connection's id on each node that has it (for commands). */
  target(): Record<string, ConnId> {
    const out: Record<string, ConnId> = {};
    const sel = this.selected;
    if (!sel) return out;
    for (const c of sel.conns) {
      if (c && c.state !== "CLOSED") out[this.nodes[c.node].address] = c.id;
    }
    return out;
  }

  /** Diagram rows, newest last, that belong to `pair` (or to no connection), at most `max`. */
  rows(max: number, pair?: PairView): DiagramRow[] {
    const out: DiagramRow[] = [];
    const cap = this.#rows.length;
    for (let k = 0; k < this.#rowCount && out.length < max; k++) {
      const row = this.#rows[(this.#rowHead - 1 - k + cap * 2) % cap]!;
      if (row.type === "state" && row.merged) continue;
      if (pair && !rowIn(row, pair)) continue;
      out.push(row);
    }
    return out.reverse();
  }

  /** TIME-WAIT count samples, oldest first, at most `max`. */
  samples(max: number): number[] {
    const n = Math.min(max, this.#sampleCount);
    const out = new Array<number>(n);
    const cap = this.#samples.length;
    for (let k = 0; k < n; k++) out[k] = this.#samples[(this.#sampleHead - n + k + cap) % cap];
    return out;
  }

  /** Segments sent per second over the last second (virtual time). */
  segmentsPerSecond(now = this.now): number {
    const current = Math.floor(now / SEG_BUCKET_MS);
    let n = 0;
    for (let i = 0; i < SEG_BUCKETS; i++) {
      const b = this.#segBucket[i];
      if (b > current - SEG_BUCKETS && b <= current) n += this.#segCount[i];
    }
    return n * (1000 / (SEG_BUCKET_MS * SEG_BUCKETS));
  }

  /** The connections that changed state last, newest first, distinct, at most `max`. */
  recent(max: number): ConnView[] {
    const out: ConnView[] = [];
    for (let k = 1; k <= RECENT && out.length < max; k++) {
      const c = this.#recent[(this.#recentHead - k + RECENT) % RECENT];
      if (!c) break;
      if (!out.includes(c)) out.push(c);
    }
    return out;
  }

  // -------------------------------------------------------------- internals

  #node(address: string, label?: string): NodeView {
    let n = this.#byAddress.get(address);
    if (!n) {
      n = {
        address,
        label: label ?? address,
        index: this.nodes.length,
        conns: new Map(),
        counts: new Int32Array(STATES.length),
      };
      this.nodes.push(n);
      this.#byAddress.set(address, n);
      for (const p of this.#pairs) p.conns.push(undefined);
    }
    return n;
  }

  #conn(node: NodeView, id: ConnId, at: number): ConnView {
    let c = node.conns.get(id);
    if (c) return c;
    const pair: PairView = {
      seq: ++this.#pairSeq,
      key: `solo:${node.index}#${id}`,
      conns: new Array(this.nodes.length).fill(undefined),
      closedAt: undefined,
      dropped: false,
    };
    c = {
      node: node.index,
      id,
      state: "CLOSED",
      from: undefined,
      cause: undefined,
      since: at,
      localPort: undefined,
      remoteAddress: undefined,
      remotePort: undefined,
      sndUna: undefined,
      sndNxt: undefined,
      rcvNxt: undefined,
      inFlight: 0,
      rto: 0,
      retries: 0,
      rtx: OFF,
      finWait2: OFF,
      timeWait: OFF,
      reason: undefined,
      pair,
    };
    pair.conns[node.index] = c;
    node.conns.set(id, c);
    this.#pairs.push(pair);
    this.totals.opened++;
    return c;
  }

  #event(input: Extract<UiInput, { kind: "event" }>): void {
    const node = this.#node(input.node);
    const ev = input.event;
    const at = input.at;
    switch (ev.type) {
      case "state-changed": {
        const c = this.#conn(node, ev.conn, at);
        this.#setState(node, c, ev.to, at);
        c.from = ev.from;
        c.cause = ev.cause;
        this.#claimAction(node.index, c, at);
        this.#recent[this.#recentHead] = c;
        this.#recentHead = (this.#recentHead + 1) % RECENT;
        // Beside the arrow that caused it: the segment this node just received...
        const got = this.#lastReceived[node.index];
        if (ev.cause.startsWith("rcv-") && got && this.#lastReceivedAt[node.index] === at) {
          if (!got.receiver) got.receiver = c;
          if (got.receiver === c) {
            // A listener's child shows CLOSED → LISTEN first: fold it into the arrow.
            const pending = this.#pendingState[node.index];
            if (pending && pending.conn === c && pending.at === at) {
              pending.merged = true;
              this.#pendingState[node.index] = undefined;
              if (got.receiverFrom === undefined) got.receiverFrom = pending.to;
            }
            if (got.receiverFrom === undefined) got.receiverFrom = ev.from;
            got.receiverState = ev.to;
            break;
          }
        }
        // ...or the segment the same call just sent (abort: the RST goes first)...
        const last = this.#rows[(this.#rowHead - 1 + this.#rows.length) % this.#rows.length];
        if (
          last?.type === "segment" && last.sender === c && last.at === at &&
          last.senderFrom === undefined && !ev.cause.startsWith("rcv-")
        ) {
          last.senderFrom = ev.from;
          last.senderState = ev.to;
          break;
        }
        // ...or the one it is about to send; else a line of its own.
        const row: StateRow = {
          type: "state",
          at,
          node: node.index,
          conn: c,
          from: ev.from,
          to: ev.to,
          cause: ev.cause,
          reason: undefined,
          merged: false,
        };
        this.#pendingState[node.index] = row;
        this.#pushRow(row);
        break;
      }
      case "segment-sent": {
        const seg = ev.segment;
        const c = ev.conn === undefined ? undefined : node.conns.get(ev.conn);
        this.totals.segments++;
        if (ev.retransmission) this.totals.retransmissions++;
        if (seg.flags & RST) this.totals.resets++;
        this.#countSegment(at);
        const to = this.#other(node.index);
        const row = segmentRow(at, node.index, to, seg, input.datagram, ev.retransmission);
        row.sender = c;
        row.senderState = c?.state;
        const pending = this.#pendingState[node.index];
        if (c && pending && pending.conn === c && pending.at === at && !pending.merged) {
          pending.merged = true;
          row.senderFrom = pending.from;
        }
        this.#pendingState[node.index] = undefined;
        if (c) {
          this.#claimAction(node.index, c, at);
          this.#learnTuple(node, c, seg.srcPort, seg.dstPort);
          // A segment's ACK field is RCV.NXT when sent: this keeps RCV.NXT right where
          // no snapshot comes (TIME-WAIT, a compact record).
          if (seg.flags & ACK) c.rcvNxt = seg.ack;
        }
        if (input.datagram !== undefined) this.#byDatagram.set(input.datagram, row);
        this.#pushRow(row);
        break;
      }
      case "segment-received": {
        const c = ev.conn === undefined ? undefined : node.conns.get(ev.conn);
        let row = input.datagram === undefined ? undefined : this.#byDatagram.get(input.datagram);
        if (row && row.received && input.copy) {
          row.duplicated = true;
          this.#lastReceived[node.index] = undefined;
          break;
        }
        if (!row) {
          // A peer outside the view sent it (single-endpoint sources).
          this.#countSegment(at);
          row = segmentRow(at, -1, node.index, ev.segment, input.datagram, false);
          this.#pushRow(row);
        }
        if (c) this.#learnTuple(node, c, ev.segment.dstPort, ev.segment.srcPort);
        row.to = node.index;
        row.received = true;
        row.receiver = c;
        row.receiverState = c?.state;
        this.#lastReceived[node.index] = row;
        this.#lastReceivedAt[node.index] = at;
        // TIME-WAIT: a retransmitted FIN is acknowledged and restarts 2·MSL (§3.10.7.4).
        if (c && c.state === "TIME-WAIT" && ev.segment.flags & FIN) {
          c.timeWait = { deadline: at + 2 * this.msl, armedAt: at };
        }
        break;
      }
      case "segment-dropped": {
        const row = input.datagram === undefined ? undefined : this.#byDatagram.get(input.datagram);
        if (row) {
          row.dropped = ev.reason;
          if (ev.reason === "bad-checksum" || ev.reason === "malformed") row.corrupted = true;
        }
        break;
      }
      case "closed": {
        const just = this.#justClosed[node.index];
        const c = node.conns.get(ev.conn) ??
          (just?.id === ev.conn ? just : this.#lingering(node.index, ev.conn));
        if (!c) break;
        c.reason = ev.reason;
        const pending = this.#pendingState[node.index];
        if (pending && pending.conn === c && pending.to === "CLOSED") pending.reason = ev.reason;
        break;
      }
      case "data":
      case "peer-closed":
        break;
    }
  }

  #net(ev: Extract<UiInput, { kind: "net" }>["event"]): void {
    const row = this.#byDatagram.get(ev.id);
    switch (ev.type) {
      case "lost":
        this.totals.lost++;
        if (row && ev.copy === 0) row.lost = true;
        break;
      case "duplicated":
        this.totals.duplicated++;
        if (row) row.duplicated = true;
        break;
      case "reordered":
        this.totals.reordered++;
        if (row) row.reordered = true;
        break;
      case "corrupted":
        this.totals.corrupted++;
        if (row) row.corrupted = true;
        break;
      case "delivered":
        break;
    }
  }

  #snapshot(node: NodeView, info: ConnSnapshot, at: number): void {
    let c = node.conns.get(info.id);
    if (!c) {
      // Closed already (a late snapshot), or a connection we join midway.
      if (info.state === "CLOSED" || this.#lingering(node.index, info.id)) return;
      c = this.#conn(node, info.id, at);
      this.#setState(node, c, info.state, at);
    }
    c.sndUna = info.sndUna;
    c.sndNxt = info.sndNxt;
    c.rcvNxt = info.rcvNxt;
    c.inFlight = info.bytesInFlight;
    c.rto = info.rto;
    c.retries = info.retries;
    c.rtx = timer(c.rtx, info.timers.retransmit, at);
    c.finWait2 = timer(c.finWait2, info.timers.finWait2, at);
    if (Number.isFinite(info.timers.timeWait)) {
      c.timeWait = timer(c.timeWait, info.timers.timeWait, at);
    }
    if (c.localPort === undefined) {
      c.localPort = info.localPort;
      c.remoteAddress = info.remoteAddress;
      c.remotePort = info.remotePort;
      this.#pairUp(node, c);
    }
  }

  /**
   * Learns a connection's 4-tuple from a segment it sent or received, before any
   * snapshot: with two nodes the remote end is the other one.
   */
  #learnTuple(node: NodeView, c: ConnView, localPort: number, remotePort: number): void {
    if (c.localPort !== undefined || this.nodes.length !== 2) return;
    c.localPort = localPort;
    c.remotePort = remotePort;
    c.remoteAddress = this.nodes[1 - node.index].address;
    this.#pairUp(node, c);
  }

  /** Puts `c` with the other end of its 4-tuple, if that end is already on screen. */
  #pairUp(node: NodeView, c: ConnView): void {
    const a = `${node.address}:${c.localPort}`;
    const b = `${c.remoteAddress}:${c.remotePort}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    const open = this.#openPairs.get(key);
    if (open && open !== c.pair && open.conns[node.index] === undefined && !open.dropped) {
      const solo = c.pair;
      open.conns[node.index] = c;
      c.pair = open;
      solo.dropped = true;
      this.#droppedPairs++;
      if (this.#selected === solo) this.#selected = open;
      return;
    }
    c.pair.key = key;
    this.#openPairs.set(key, c.pair);
  }

  #setState(node: NodeView, c: ConnView, to: State, at: number): void {
    if (c.state !== "CLOSED") node.counts[STATE_INDEX.get(c.state)!]--;
    c.state = to;
    c.since = at;
    if (to === "TIME-WAIT") {
      c.rtx = OFF;
      c.finWait2 = OFF;
      c.inFlight = 0;
      c.timeWait = { deadline: at + 2 * this.msl, armedAt: at };
    } else if (c.timeWait !== OFF) {
      c.timeWait = OFF;
    }
    if (to !== "CLOSED") {
      node.counts[STATE_INDEX.get(to)!]++;
      return;
    }
    c.rtx = OFF;
    c.finWait2 = OFF;
    c.inFlight = 0;
    node.conns.delete(c.id);
    this.#justClosed[node.index] = c;
    this.totals.closed++;
    const pair = c.pair;
    for (const other of pair.conns) if (other && other.state !== "CLOSED") return;
    pair.closedAt = at;
    if (this.#openPairs.get(pair.key) === pair) this.#openPairs.delete(pair.key);
    this.#closedPairs.push(pair);
    // Keep the last few closed connections on screen, so CLOSED can be seen.
    while (this.#closedPairs.length > this.#closedKeep) {
      const old = this.#closedPairs.shift()!;
      if (!old.dropped) {
        old.dropped = true;
        this.#droppedPairs++;
      }
    }
  }

  /** A closed connection still on screen, by node and id. */
  #lingering(node: number, id: ConnId): ConnView | undefined {
    for (let i = this.#closedPairs.length - 1; i >= 0; i--) {
      const c = this.#closedPairs[i].conns[node];
      if (c && c.id === id) return c;
    }
    return undefined;
  }

  #claimAction(node: number, c: ConnView, at: number): void {
    const a = this.#pendingAction[node];
    if (a && a.at === at && !a.conn) a.conn = c;
    if (a && a.at !== at) this.#pendingAction[node] = undefined;
  }

  #other(node: number): number {
    if (this.nodes.length === 2) return 1 - node;
    return -1;
  }

  #countSegment(at: number): void {
    const b = Math.floor(at / SEG_BUCKET_MS);
    const slot = b % SEG_BUCKETS;
    if (this.#segBucket[slot] !== b) {
      this.#segBucket[slot] = b;
      this.#segCount[slot] = 0;
    }
    this.#segCount[slot]++;
  }

  #pushRow(row: DiagramRow): void {
    const cap = this.#rows.length;
    const old = this.#rows[this.#rowHead];
    if (old && old.type === "segment" && old.datagram !== undefined) {
      if (this.#byDatagram.get(old.datagram) === old) this.#byDatagram.delete(old.datagram);
    }
    this.#rows[this.#rowHead] = row;
    this.#rowHead = (this.#rowHead + 1) % cap;
    if (this.#rowCount < cap) this.#rowCount++;
  }

  /** Drops pairs that closed away; O(pairs), only when some did. */
  #compact(): void {
    if (this.#droppedPairs === 0) return;
    let j = 0;
    const pairs = this.#pairs;
    for (let i = 0; i < pairs.length; i++) if (!pairs[i].dropped) pairs[j++] = pairs[i];
    pairs.length = j;
    this.#droppedPairs = 0;
  }
}

function timer(prev: TimerView, deadline: number, at: number): TimerView {
  if (!Number.isFinite(deadline)) return OFF;
  if (prev.deadline === deadline) return prev;
  return { deadline, armedAt: Math.min(at, deadline) };
}

function rowIn(row: DiagramRow, pair: PairView): boolean {
  switch (row.type) {
    case "segment": {
      const s = row.sender ?? row.receiver;
      return s === undefined || s.pair === pair || row.receiver?.pair === pair;
    }
    case "action":
      return row.conn === undefined || row.conn.pair === pair;
    case "state":
      return row.conn.pair === pair;
  }
}
