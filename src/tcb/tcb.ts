/**
 * The Transmission Control Block: one connection's state machine, sans-IO.
 *
 * Inputs are segments ({@linkcode Tcb.handleSegment}), timer wake-ups
 * ({@linkcode Tcb.handleTimeout}) and user calls (`send`, `read`, `shutdown`,
 * `close`, `abort`). Outputs go to the {@linkcode TcbHost}: segments to transmit,
 * events, and the next deadline at which the TCB wants to be woken. Time is the
 * `now` argument (ms); the TCB never reads a clock.
 *
 * Section numbers refer to RFC 9293 unless another RFC is named.
 *
 * @module
 */
import { ACK, FIN, newSegment, PSH, RST, type Segment, SYN } from "../wire/segment.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqInWindow, seqLe, seqLt, seqMax } from "../wire/seq.ts";
import { ByteQueue } from "./byte_queue.ts";
import { CcAction, CongestionControl } from "./congestion.ts";
import {
  type CloseReason,
  type ConnectionCounters,
  type ConnId,
  copyCounters,
  type DropReason,
  newCounters,
  type TcbEvent,
} from "./events.ts";
import type { TcbOptions } from "./options.ts";
import { Reassembly } from "./reassembly.ts";
import { RtoEstimator } from "./rto.ts";
import {
  type Cause,
  isAllowedAt,
  isSynchronized,
  type State,
  StateIndex,
  STATES,
} from "./state.ts";
import { timeWaitInput } from "./time_wait_rules.ts";

/** What the TCB needs from whoever owns it (the endpoint, or a test). */
export interface TcbHost {
  /**
   * Transmits `seg`. The host must encode (copy) it before returning: the payload is
   * a view into the send buffer.
   */
  transmit(tcb: Tcb, seg: Segment, retransmission: boolean, now: number): void;
  /** Reports an event about `tcb` (passed so the host needs no lookup by id). */
  event(ev: TcbEvent, tcb: Tcb): void;
  /**
   * Asks to be woken by {@linkcode Tcb.handleTimeout} at `deadline` or later. The host
   * may also wake the TCB at a deadline that became stale: the TCB checks.
   */
  schedule(tcb: Tcb, deadline: number): void;
  /** A global budget for challenge ACKs (RFC 5961 §7), on top of the per-connection limit. */
  allowChallengeAck(now: number): boolean;
  /** The TCB reached CLOSED and will never act again. */
  released(tcb: Tcb): void;
  /**
   * The TCB is in TIME-WAIT and has sent everything it owes. The host may take the
   * connection over as a compact record and return true: the TCB then never acts
   * again. Optional: without it the TCB runs TIME-WAIT itself.
   */
  adoptTimeWait?(tcb: Tcb, now: number): boolean;
  /**
   * An ACK the TCB owes may wait for the application's reply to the same input: the
   * handshake's last ACK (the application's first data usually follows) and the ACK
   * of the peer's FIN (its close usually follows). Return true to take it: the host
   * then calls {@linkcode Tcb.flushAck} before it hands out its last transmission of
   * this drain; a segment sent meanwhile carries the ACK and the flush sends nothing.
   * The TCB also defers the arming of a delayed ACK's timer this way (the reply
   * usually makes it moot), and of its other timers while an ACK is held, so a host
   * that sleeps must take {@linkcode Tcb.owedDeadline} into account until it flushes.
   * Optional: without it the ACK goes at once.
   */
  deferAck?(tcb: Tcb): boolean;
  /**
   * False when the host never keeps a transmitted segment past `transmit` (it only
   * encodes it): the TCB then reuses one segment object instead of allocating one
   * per transmission. Default true.
   */
  readonly keepsSegments?: boolean;
}

/** How a connection starts. */
export interface TcbInit {
  id: ConnId;
  localPort: number;
  remotePort: number;
  /** Initial send sequence number (§3.4.1). */
  iss: number;
  /** Added to our millisecond clock to form TSval (RFC 7323 §5.4 recommends an offset). */
  tsOffset: number;
  options: TcbOptions;
  host: TcbHost;
}

/** Thrown for a user call that the current state does not allow (§3.10, "error: …"). */
export class ConnectionStateError extends Error {
  /** The state the call was refused in. */
  readonly state: State;
  constructor(message: string, state: State) {
    super(message);
    this.name = "ConnectionStateError";
    this.state = state;
  }
}

/** What `handleSegment` asks of the host beyond the segment's own effects. */
export const SegmentVerdict = {
  /** Handled (accepted, dropped, answered). */
  Done: 0,
  /** A SYN may reopen this TIME-WAIT 4-tuple: close it and hand the SYN to the listener. */
  Reopen: 1,
} as const;
/** One of {@linkcode SegmentVerdict}. */
export type SegmentVerdict = typeof SegmentVerdict[keyof typeof SegmentVerdict];

const MAX_WINDOW = 0xffff;
/** RFC 7323 §5.5: TS.Recent older than 24 days is invalid for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;
/** SYN-ACK retransmissions for a passive open (Linux tcp_synack_retries). */
const SYNACK_RETRIES = 5;

/**
 * One connection.
 *
 * A host may recycle a TCB that is done (CLOSED, or taken into its compact TIME-WAIT
 * table) for a new connection with {@linkcode Tcb.reuse}: a fresh TCB costs ~1.4 KiB
 * in ~30 objects, a sizeable part of a short connection's life. Every per-connection
 * field is therefore (re)set in `#begin`, which the constructor runs too; a field added
 * below must be set there as well (tests/tcb/reuse_test.ts compares a reused TCB with
 * a fresh one).
 */
export class Tcb {
  #id: ConnId = 0;
  #localPort = 0;
  #remotePort = 0;
  #options: TcbOptions;
  #host: TcbHost;
  /** The host's own record of this connection, so its hooks need no lookup. */
  owner: unknown = undefined;

  #state: State = "CLOSED";
  /** `#state`'s position in STATES, for the transition check. */
  #stateIndex = 0;
  /** Opened by a listener (passive OPEN), not by `connect`. */
  passive = false;

  // Send sequence variables (§3.3.1, Figure 3).
  #iss = 0;
  sndUna = 0;
  sndNxt = 0;
  /** The highest SND.NXT ever reached: ACKs up to here are acceptable after a go-back. */
  sndMax = 0;
  /** Send window in bytes (already scaled). */
  sndWnd = 0;
  sndWl1 = 0;
  sndWl2 = 0;
  /** Largest window the peer ever offered (RFC 5961 §5 ACK check). */
  maxSndWnd = 0;
  /** Sequence number of the first byte in the send buffer. */
  #sndBase = 0;
  #sendBuf = new ByteQueue();
  /** Effective MSS for what we send: min(ours, the peer's). */
  sndMss = 0;
  /** Congestion window and NewReno recovery (RFC 5681, RFC 6582): see congestion.ts. */
  readonly cc: CongestionControl;

  // Receive sequence variables (§3.3.1, Figure 4).
  irs = 0;
  rcvNxt = 0;
  /** Right edge of the window we last advertised; never moved left (§3.8.6.2.2). */
  #rcvAdv = 0;
  #recvBuf = new ByteQueue();
  #ooo = new Reassembly();
  /** SEQ of the peer's FIN when it arrived beyond a hole (§3.10.7.4, eighth check). */
  #peerFinSeq: number | undefined;

  // Window scaling and timestamps (RFC 7323).
  #sndShift = 0;
  #rcvShift = 0;
  #peerOfferedWs = false;
  tsOk = false;
  #peerOfferedTs = false;
  tsRecent = 0;
  /** Our clock (ms) when TS.Recent was set, for the 24-day PAWS rule. */
  tsRecentAge = 0;
  #lastAckSent = 0;
  #tsOffset = 0;

  // Close bookkeeping.
  /** The user called CLOSE or SHUTDOWN: our FIN follows the queued data. */
  #finQueued = false;
  /** SEQ of our FIN once fixed (the end of the data when the user closed). */
  #finSeq = 0;
  /** The user called CLOSE (not just SHUTDOWN): nobody reads any more (orphan). */
  orphaned = false;
  /** CLOSE arrived in SYN-SENT/SYN-RECEIVED with data queued: close once established. */
  #closeWhenEstablished = false;
  #closedReason: CloseReason | undefined;

  // Retransmission (RFC 6298) and the other timers; Infinity = not armed.
  readonly rto: RtoEstimator;
  /** Retransmissions of the current oldest segment (R2 counter, §3.8.3). */
  retries = 0;
  #rtxAt = Infinity;
  #persist = false;
  #delAckAt = Infinity;
  #ackPending = 0;
  #ackNow = false;
  /** This input asked for an ACK that must not wait for the application (see deferAck). */
  #ackUrgent = false;
  /** The host took our ACK (deferAck) and will call flushAck; the input's time. */
  #ackOwed = false;
  #ackOwedAt = 0;
  #fw2At = Infinity;
  #twAt = Infinity;
  /** When unacknowledged data last made progress, for the user timeout. */
  #progressAt = Infinity;
  #scheduledAt = Infinity;
  /** Karn's rule without timestamps: time one segment at a time. */
  #rttSeq = 0;
  #rttAt = -1;
  /** Our TSval when we last retransmitted: older echoes give no RTT sample. */
  #rtxTsVal: number | undefined;
  /** Our SYN or SYN,ACK timed out at least once (RFC 6298 §5.7). */
  #synTimedOut = false;
  #lastChallengeAt = -Infinity;

  #counters: ConnectionCounters = newCounters();

  constructor(init: TcbInit) {
    this.#options = init.options;
    this.#host = init.host;
    this.cc = new CongestionControl(init.options.congestionControl);
    this.rto = new RtoEstimator(
      init.options.rtoInitial,
      init.options.rtoMin,
      init.options.rtoMax,
    );
    this.#begin(init);
  }

  /**
   * Starts this TCB over as the new connection `init` describes, exactly as
   * `new Tcb(init)` would: for hosts that pool TCBs. Only a TCB that is done may be
   * reused (CLOSED, or adopted into the host's TIME-WAIT table); the host must drop
   * every reference it keeps to the old connection first (its deferred ACK included:
   * see TcbHost.deferAck).
   *
   * @throws {Error} when the connection is still live.
   */
  reuse(init: TcbInit): void {
    if (this.#state !== "CLOSED" && !this.#adopted) {
      throw new Error(`Bug: reuse of TCB ${this.#id} in ${this.#state}`);
    }
    this.#sendBuf.clear();
    this.#recvBuf.clear();
    this.#ooo.clear();
    this.cc.reset(init.options.congestionControl);
    this.rto.reset(init.options.rtoInitial, init.options.rtoMin, init.options.rtoMax);
    this.#options = init.options;
    this.#host = init.host;
    this.#begin(init);
  }

  /** Every per-connection field to its initial value (see the class doc). */
  #begin(init: TcbInit): void {
    const iss = init.iss >>> 0;
    this.#id = init.id;
    this.#localPort = init.localPort;
    this.#remotePort = init.remotePort;
    this.owner = undefined;
    this.#state = "CLOSED";
    this.#stateIndex = 0;
    this.passive = false;
    this.#iss = iss;
    this.sndUna = iss;
    this.sndNxt = iss;
    this.sndMax = iss;
    this.sndWnd = 0;
    this.sndWl1 = 0;
    this.sndWl2 = 0;
    this.maxSndWnd = 0;
    this.#sndBase = seqAdd(iss, 1);
    this.sndMss = Math.min(init.options.mss, 536);
    this.irs = 0;
    this.rcvNxt = 0;
    this.#rcvAdv = 0;
    this.#peerFinSeq = undefined;
    this.#sndShift = 0;
    this.#rcvShift = 0;
    this.#peerOfferedWs = false;
    this.tsOk = false;
    this.#peerOfferedTs = false;
    this.tsRecent = 0;
    this.tsRecentAge = 0;
    this.#lastAckSent = 0;
    this.#tsOffset = init.tsOffset >>> 0;
    this.#finQueued = false;
    this.#finSeq = this.#sndBase;
    this.orphaned = false;
    this.#closeWhenEstablished = false;
    this.#closedReason = undefined;
    this.retries = 0;
    this.#rtxAt = Infinity;
    this.#persist = false;
    this.#delAckAt = Infinity;
    this.#ackPending = 0;
    this.#ackNow = false;
    this.#ackUrgent = false;
    this.#ackOwed = false;
    this.#ackOwedAt = 0;
    this.#fw2At = Infinity;
    this.#twAt = Infinity;
    this.#progressAt = Infinity;
    this.#scheduledAt = Infinity;
    this.#rttSeq = 0;
    this.#rttAt = -1;
    this.#rtxTsVal = undefined;
    this.#synTimedOut = false;
    this.#lastChallengeAt = -Infinity;
    this.#adopted = false;
    // A new object, not zeroed in place: whoever kept the old connection's counters
    // (info(), the CLIs after a close) keeps its final figures.
    this.#counters = newCounters();
  }

  // ---------------------------------------------------------------- read-outs

  /** The connection's id (unique within its host). */
  get id(): ConnId {
    return this.#id;
  }

  /** Our port. */
  get localPort(): number {
    return this.#localPort;
  }

  /** The peer's port. */
  get remotePort(): number {
    return this.#remotePort;
  }

  /** The options this connection runs with. */
  get options(): TcbOptions {
    return this.#options;
  }

  /** Initial send sequence number (§3.4.1). */
  get iss(): number {
    return this.#iss;
  }

  /** Counters for this connection. */
  get counters(): ConnectionCounters {
    return this.#counters;
  }

  /** Current state. */
  get state(): State {
    return this.#state;
  }

  /** Bytes sent but not yet acknowledged (SYN and FIN count one each). */
  get bytesInFlight(): number {
    return seqDiff(this.sndMax, this.sndUna);
  }

  /** Bytes queued by the user and not yet acknowledged. */
  get sendQueued(): number {
    return this.#sendBuf.length;
  }

  /** Bytes received in order and not yet read. */
  get unread(): number {
    return this.#recvBuf.length;
  }

  /** Free receive buffer (the window we would advertise now), bytes. */
  get rcvWnd(): number {
    return Math.max(0, this.#options.rcvBuffer - this.#recvBuf.length - this.#ooo.bytes);
  }

  /** Free send buffer, bytes. */
  get sendSpace(): number {
    return Math.max(0, this.#options.sndBuffer - this.#sendBuf.length);
  }

  /** Why the connection closed, once it has. */
  get closedReason(): CloseReason | undefined {
    return this.#closedReason;
  }

  /** Armed timers (deadlines in ms, Infinity when off) for the UI and tests. */
  get timers(): {
    retransmit: number;
    persist: boolean;
    delayedAck: number;
    finWait2: number;
    timeWait: number;
    user: number;
  } {
    return {
      retransmit: this.#rtxAt,
      persist: this.#persist,
      delayedAck: this.#delAckAt,
      finWait2: this.#fw2At,
      timeWait: this.#twAt,
      user: this.#userAt(),
    };
  }

  /** The earliest armed deadline. */
  get nextDeadline(): number {
    return Math.min(this.#rtxAt, this.#delAckAt, this.#fw2At, this.#twAt, this.#userAt());
  }

  // --------------------------------------------------------------- user calls

  /** Active OPEN (§3.10.1): send SYN, enter SYN-SENT. */
  connect(now: number): void {
    if (this.#state !== "CLOSED") {
      throw new ConnectionStateError("Cannot connect: connection already exists", this.#state);
    }
    this.#setState(StateIndex["SYN-SENT"], "open", now);
    this.#sendSyn(now, false);
    this.#progressAt = now;
    this.#armRtx(now);
    this.#reschedule();
  }

  /**
   * Passive OPEN completed by a SYN (§3.10.7.2, LISTEN state, third check): the
   * listener hands the SYN to a fresh TCB.
   */
  acceptSyn(seg: Segment, now: number): void {
    if (this.#state !== "CLOSED") {
      throw new ConnectionStateError("Cannot accept a SYN: TCB in use", this.#state);
    }
    this.passive = true;
    this.#setState(StateIndex["LISTEN"], "listen", now);
    this.#counters.segmentsIn++;
    this.#takeSynOptions(seg, now);
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.sndWnd = seg.window; // never scaled in a SYN (RFC 7323 §2.2)
    this.maxSndWnd = this.sndWnd;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
    // Data on a SYN is not acknowledged: the peer sends it again once established
    // (what Linux does without TCP Fast Open).
    this.#setState(StateIndex["SYN-RECEIVED"], "rcv-syn", now);
    this.#sendSyn(now, false);
    this.#progressAt = now;
    this.#armRtx(now);
    this.#reschedule();
  }

  /**
   * SEND (§3.10.2): queues up to `sendSpace` bytes; returns how many were taken.
   * Allowed until our FIN is queued.
   */
  send(data: Uint8Array, now: number): number {
    const s = this.#state;
    if (this.#finQueued || this.#closeWhenEstablished) {
      throw new ConnectionStateError("Cannot send: connection closing", s);
    }
    if (s !== "ESTABLISHED" && s !== "CLOSE-WAIT" && s !== "SYN-SENT" && s !== "SYN-RECEIVED") {
      throw new ConnectionStateError(`Cannot send: connection is ${s}`, s);
    }
    const n = Math.min(data.length, this.sendSpace);
    if (n === 0) return 0;
    this.#sendBuf.push(data, 0, n);
    if (this.#sendBuf.length === n && this.bytesInFlight === 0) this.#progressAt = now;
    this.#output(now);
    this.#reschedule();
    return n;
  }

  /** RECEIVE (§3.10.3): takes up to `max` bytes of in-order data. */
  read(max: number = Infinity, now = 0): Uint8Array {
    const out = this.#recvBuf.take(max);
    if (out.length > 0) this.#afterRead(now);
    return out;
  }

  /** RECEIVE into `dst`; returns the number of bytes copied. */
  readInto(dst: Uint8Array, now = 0): number {
    const n = this.#recvBuf.takeInto(dst);
    if (n > 0) this.#afterRead(now);
    return n;
  }

  #afterRead(now: number): void {
    // A window update of its own only when the sender may be stalled: what is left of
    // the window we offered is under two segments. Otherwise the next ACK carries the
    // new window. Receiver-side SWS avoidance (§3.8.6.2.2): and only when the right
    // edge moves by at least one MSS or half the buffer.
    if (isSynchronized(this.#state) && this.#state !== "TIME-WAIT") {
      const edge = seqAdd(this.rcvNxt, Math.min(this.rcvWnd, MAX_WINDOW << this.#rcvShift));
      const moved = seqDiff(edge, this.#rcvAdv);
      const left = seqDiff(this.#rcvAdv, this.rcvNxt);
      if (left < 2 * this.sndMss && moved >= Math.min(this.sndMss, this.#options.rcvBuffer >>> 1)) {
        this.#sendAck(now);
        this.#reschedule();
      }
    }
  }

  /** Half-close: SHUTDOWN of the sending side (§3.6.1). Reading goes on. */
  shutdown(now: number): void {
    this.#queueFin(now, false);
  }

  /**
   * CLOSE (§3.10.4). Graceful unless the application leaves unread data behind
   * (RST, SHLD-3) or asked for linger 0 (RST). Idempotent.
   */
  close(now: number): void {
    const s = this.#state;
    if (s === "CLOSED") return;
    if (s === "LISTEN" || s === "SYN-SENT") {
      // §3.10.4: delete the TCB; nothing was synchronized, so nothing is sent. A late
      // SYN-ACK finds no connection and is answered with RST (§3.10.7.1).
      this.orphaned = true;
      this.#enterClosed("close", "aborted", now);
      return;
    }
    if (this.#options.lingerZero) return this.abort(now);
    if (this.#options.rstOnUnreadClose && this.#recvBuf.length > 0) {
      // §3.10.4 SHLD-3, RFC 2525 §2.17: a RST tells the peer that data was lost.
      return this.abort(now);
    }
    this.orphaned = true;
    this.#queueFin(now, true);
  }

  /** ABORT (§3.10.5): RST where the peer may hold state, then CLOSED. Idempotent. */
  abort(now: number): void {
    this.#abortWith("abort", now, undefined);
    this.#offerTimeWait(now);
  }

  /** The host accepted a SYN that reopens this TIME-WAIT 4-tuple (RFC 6191). */
  closeForReopen(now: number): void {
    if (this.#state !== "TIME-WAIT") {
      throw new ConnectionStateError("Only TIME-WAIT can be reopened", this.#state);
    }
    this.#enterClosed("reopened", "normal", now);
  }

  // ------------------------------------------------------------------ inputs

  /**
   * SEGMENT ARRIVES (§3.10.7) for this connection. `canReopen` says whether a
   * listener could take a SYN that reopens this 4-tuple from TIME-WAIT.
   */
  handleSegment(seg: Segment, now: number, canReopen = true): SegmentVerdict {
    this.#counters.segmentsIn++;
    this.#ackUrgent = false;
    const verdict = this.#segmentArrives(seg, now, canReopen);
    if (this.#state !== "CLOSED" && !this.#adopted) {
      this.#output(now);
      if (this.#ackNow) {
        // Like Linux, which "saves one ACK" after a SYN,ACK when a write is pending and
        // delays the ACK of a FIN (pingpong mode) so the application's close carries
        // it: the host may hold these two until the application had its turn.
        if (!this.#ackUrgent && (this.#ackOwed || this.#host.deferAck?.(this) === true)) {
          this.#ackOwed = true;
          this.#ackOwedAt = now;
        } else {
          this.#sendAck(now);
        }
      } else if (
        !this.#ackOwed && this.#delAckAt < this.#scheduledAt && this.#host.deferAck?.(this) === true
      ) {
        // A delayed ACK (§3.8.6.3) mostly rides on the application's reply in this same
        // turn: its timer waits for the turn too, and is never armed when a reply came.
        this.#ackOwed = true;
        this.#ackOwedAt = now;
      }
      this.#offerTimeWait(now);
      // With an ACK owed, flushAck sets the timer once the application had its turn.
      if (!this.#ackOwed && !this.#adopted) this.#reschedule();
    }
    return verdict;
  }

  /**
   * While the host holds a deferred ACK of this TCB (see `deferAck`): when it must
   * call {@linkcode flushAck} at the latest. The input's time when an ACK is owed, the
   * TCB's next deadline when only its timer waits; Infinity when nothing is held.
   */
  get owedDeadline(): number {
    if (!this.#ackOwed) return Infinity;
    return this.#ackNow ? this.#ackOwedAt : this.nextDeadline;
  }

  /**
   * Sends the ACK the host took with `deferAck`, unless a segment since carried it
   * (or the connection is gone), and arms what timers remain. At the time of the
   * latest input that owed it, so timestamps never go backwards.
   */
  flushAck(): void {
    if (!this.#ackOwed) return;
    this.#ackOwed = false;
    if (this.#state === "CLOSED" || this.#adopted) return;
    const now = this.#ackOwedAt;
    if (this.#ackNow) this.#sendAck(now);
    this.#offerTimeWait(now);
    if (!this.#adopted) this.#reschedule();
  }

  /** Wakes the TCB at `now`: fires every due timer (§3.10.8). */
  handleTimeout(now: number): void {
    this.#scheduledAt = Infinity;
    if (this.#state === "CLOSED" || this.#adopted) return;
    if (this.#twAt <= now) {
      // §3.10.8 TIME-WAIT TIMEOUT: delete the TCB.
      this.#enterClosed("time-wait-expired", this.#closedReasonOr("normal"), now);
      return;
    }
    if (this.#userAt() <= now) {
      // §3.10.8 USER TIMEOUT (RFC 5482): flush everything, tell the user, delete.
      this.#enterClosed("user-timeout", "timeout", now);
      return;
    }
    if (this.#fw2At <= now) {
      // An orphan that the peer never finished: give up like Linux tcp_fin_timeout,
      // with a RST so a peer stuck in CLOSE-WAIT learns of it.
      this.#sendRst(this.sndNxt, now);
      this.#enterClosed("fin-wait-2-timeout", "timeout", now);
      return;
    }
    if (this.#rtxAt <= now) {
      this.#rtxAt = Infinity;
      if (this.#persist) this.#persistProbe(now);
      else this.#retransmitTimeout(now);
      if ((this.#state as State) === "CLOSED") return;
    }
    if (this.#delAckAt <= now) {
      this.#delAckAt = Infinity;
      if (this.#ackPending > 0) this.#sendAck(now);
    }
    this.#reschedule();
  }

  // --------------------------------------------------------- segment arrives

  #segmentArrives(seg: Segment, now: number, canReopen: boolean): SegmentVerdict {
    switch (this.#state) {
      case "CLOSED":
      case "LISTEN":
        // The endpoint routes these; a TCB in CLOSED no longer exists (§3.10.7.1).
        this.#drop(seg, "no-connection", now);
        return SegmentVerdict.Done;
      case "SYN-SENT":
        this.#synSentArrives(seg, now);
        return SegmentVerdict.Done;
      case "TIME-WAIT":
        return this.#timeWaitArrives(seg, now, canReopen);
      default:
        this.#synchronizedArrives(seg, now);
        return SegmentVerdict.Done;
    }
  }

  /** §3.10.7.3: SYN-SENT. */
  #synSentArrives(seg: Segment, now: number): void {
    const f = seg.flags;
    let ackOk = false;
    if (f & ACK) {
      // First check: an ACK must cover our SYN and nothing beyond SND.NXT.
      if (seqLe(seg.ack, this.#iss) || seqGt(seg.ack, this.sndNxt)) {
        if (!(f & RST)) this.#sendRst(seg.ack, now);
        this.#drop(seg, "bad-ack-syn-sent", now);
        return;
      }
      ackOk = true;
    }
    if (f & RST) {
      // Second check (RFC 5961 §3.2 for SYN-SENT): only a RST that acknowledges our
      // SYN is believed; it means "connection refused".
      if (ackOk) {
        this.#enterClosed("rcv-rst", "refused", now);
      } else {
        this.#drop(seg, "rst-out-of-window", now);
      }
      return;
    }
    if (!(f & SYN)) {
      // Fifth check: neither SYN nor RST.
      this.#drop(seg, "bad-ack-syn-sent", now);
      return;
    }
    // Fourth check: the peer's SYN.
    this.#takeSynOptions(seg, now);
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.#rcvAdv = this.rcvNxt;
    if (ackOk) {
      this.#ackAdvance(seg.ack, now, seg.tsEcr);
      this.#updateWindow(seg, true);
      // §3.10.7.3: our SYN is acknowledged → ESTABLISHED, and ACK the peer's SYN.
      this.#setState(StateIndex["ESTABLISHED"], "rcv-syn-ack", now);
      this.#rtoAfterHandshake();
      this.#ackNow = true; // deferrable: the application's first data may carry it
      if (seg.payload.length > 0 || (f & FIN)) this.#processText(seg, seqAdd(seg.seq, 1), now);
      if (this.#closeWhenEstablished) {
        this.#closeWhenEstablished = false;
        this.#queueFin(now, this.orphaned);
      }
    } else {
      // Simultaneous open (§3.5, Figure 8): SYN-RECEIVED and SYN,ACK with our ISS.
      this.sndWnd = seg.window;
      this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      this.#setState(StateIndex["SYN-RECEIVED"], "rcv-syn", now);
      this.sndNxt = this.#iss;
      this.#sendSyn(now, true);
      this.#armRtx(now);
    }
  }

  /** TIME-WAIT: the shared rules of {@linkcode timeWaitInput}. */
  #timeWaitArrives(seg: Segment, now: number, canReopen: boolean): SegmentVerdict {
    const action = timeWaitInput(this, seg, this.#options, canReopen);
    switch (action.kind) {
      case "drop":
        this.#drop(seg, action.reason, now);
        return SegmentVerdict.Done;
      case "close":
        this.#enterClosed("rcv-rst", "normal", now);
        return SegmentVerdict.Done;
      case "reopen":
        return SegmentVerdict.Reopen;
      case "ack":
        if (action.reason) this.#drop(seg, action.reason, now);
        // RFC 7323 §4.3: the accepted FIN's timestamp becomes TS.Recent (it passed
        // PAWS, and its SEQ is below the last ACK we sent).
        if (action.restart && this.tsOk && seg.tsVal !== undefined) {
          if (seqGe(seg.tsVal, this.tsRecent)) {
            this.tsRecent = seg.tsVal;
            this.tsRecentAge = now;
          }
        }
        if (action.rateLimited) this.#challengeAck(now);
        else this.#sendAck(now);
        if (action.restart) {
          // §3.10.7.4 eighth check, TIME-WAIT: restart the 2·MSL timeout.
          this.#twAt = now + 2 * this.#options.msl;
          this.#scheduledAt = Infinity;
        }
        return SegmentVerdict.Done;
    }
  }

  /** §3.10.7.4: SYN-RECEIVED and every synchronized state but TIME-WAIT. */
  #synchronizedArrives(seg: Segment, now: number): void {
    const f = seg.flags;
    const state = this.#state;

    // A retransmitted SYN in SYN-RECEIVED means our SYN,ACK was lost: send it again.
    if (state === "SYN-RECEIVED" && (f & SYN) && !(f & (ACK | RST)) && seg.seq === this.irs) {
      this.#sendSyn(now, true);
      return;
    }
    // Simultaneous open (§3.5 Figure 7 line 6, MUST-10): the peer's SYN,ACK repeats
    // the SYN we already acknowledged. When it ACKs our SYN, process it as that ACK
    // (the SYN's octet lies before RCV.NXT), as Linux does; otherwise it is challenged.
    if (
      state === "SYN-RECEIVED" && !this.passive && (f & SYN) && (f & ACK) && !(f & RST) &&
      seg.seq === this.irs && seg.ack === this.sndNxt
    ) {
      this.#synchronizedArrives({ ...seg, seq: this.rcvNxt, flags: f & ~SYN }, now);
      return;
    }

    // RFC 7323 §5.3 R1: PAWS, before the sequence check.
    if (this.tsOk && seg.tsVal !== undefined && !(f & RST) && this.#options.paws) {
      if (seqLt(seg.tsVal, this.tsRecent) && now - this.tsRecentAge < PAWS_IDLE_MS) {
        this.#drop(seg, "paws", now);
        this.#dupAck(seg, now);
        return;
      }
    }

    // First check: sequence number acceptability (§3.10.7.4, Table 6).
    const segLen = seg.payload.length + ((f & SYN) ? 1 : 0) + ((f & FIN) ? 1 : 0);
    const rcvWnd = Math.max(0, seqDiff(this.#rcvAdv, this.rcvNxt));
    // Like Linux, a bare FIN at RCV.NXT is taken even when the window is zero.
    const finAtEdge = seg.seq === this.rcvNxt && seg.payload.length === 0;
    if (!this.#acceptable(seg.seq, segLen, rcvWnd) && !finAtEdge) {
      if (f & RST) {
        // RFC 5961 §3.2: a RST outside the window is dropped silently.
        this.#drop(seg, "rst-out-of-window", now);
        return;
      }
      if (f & SYN) {
        // Fourth check applies "irrespective of the sequence number".
        this.#drop(seg, "syn-challenged", now);
        this.#challengeAck(now);
        return;
      }
      this.#drop(seg, segLen > 0 ? "duplicate" : "not-acceptable", now);
      this.#dupAck(seg, now);
      return;
    }

    // Second check: RST (RFC 5961 §3.2 as adopted by §3.10.7.4).
    if (f & RST) {
      if (seg.seq !== this.rcvNxt) {
        this.#drop(seg, "rst-challenged", now);
        this.#challengeAck(now);
        return;
      }
      const reason: CloseReason = state === "SYN-RECEIVED" && !this.passive
        ? "refused" // simultaneous open refused
        : "reset";
      this.#enterClosed("rcv-rst", reason, now);
      return;
    }

    // Fourth check: SYN in a synchronized state → challenge ACK (RFC 5961 §4).
    if (f & SYN) {
      this.#drop(seg, "syn-challenged", now);
      this.#challengeAck(now);
      return;
    }

    // Fifth check: the ACK field.
    if (!(f & ACK)) {
      this.#drop(seg, "no-ack", now);
      return;
    }
    if (state === "SYN-RECEIVED") {
      if (seqLt(this.sndUna, seg.ack) && seqLe(seg.ack, this.sndMax)) {
        this.#ackAdvance(seg.ack, now, seg.tsEcr);
        this.#updateWindow(seg, true);
        this.#setState(StateIndex["ESTABLISHED"], "rcv-ack", now);
        this.#rtoAfterHandshake();
        if (this.#counters.retransmissions > 0) this.cc.synLost(); // RFC 5681 §3.1
        if (this.#closeWhenEstablished) {
          this.#closeWhenEstablished = false;
          this.#queueFin(now, this.orphaned);
        }
      } else {
        // §3.10.7.4 fifth check, SYN-RECEIVED: <SEQ=SEG.ACK><CTL=RST>.
        this.#sendRst(seg.ack, now);
        this.#drop(seg, "ack-unacceptable", now);
        return;
      }
    } else {
      if (seqGt(seg.ack, this.sndMax)) {
        // ACK for something not yet sent: ACK back and drop.
        this.#drop(seg, "ack-unacceptable", now);
        this.#dupAck(seg, now);
        return;
      }
      if (seqLt(seg.ack, seqAdd(this.sndUna, -Math.max(this.maxSndWnd, 1)))) {
        // RFC 5961 §5: an ACK too far behind is dropped (and answered).
        this.#drop(seg, "ack-unacceptable", now);
        this.#dupAck(seg, now);
        return;
      }
      if (seqGt(seg.ack, this.sndUna)) this.#ackAdvance(seg.ack, now, seg.tsEcr);
      else if (this.#isDupAck(seg)) this.#dupAckArrives(now);
      this.#updateWindow(seg, false);
      // §3.8.6.1: a zero-window peer that keeps answering probes is alive; the
      // connection must not time out while it does.
      if (this.sndWnd === 0 && seg.ack === this.sndUna) this.retries = 0;
    }
    if ((this.#state as State) === "CLOSED") return;

    // Fifth check, per-state effects of our FIN being acknowledged.
    const finAcked = this.#finSent() && seqGt(this.sndUna, this.#finSeq);
    switch (this.#state) {
      case "FIN-WAIT-1":
        // Handled after the text: a FIN in this same segment takes FIN-WAIT-1 straight
        // to TIME-WAIT (Figure 5, note 2).
        break;
      case "CLOSING":
        if (finAcked) this.#enterTimeWait("rcv-ack", now);
        return;
      case "LAST-ACK":
        if (finAcked) this.#enterClosed("rcv-ack", "normal", now);
        return;
    }

    // Timestamps: update TS.Recent (RFC 7323 §4.3, §5.3 R3).
    this.#noteTimestamp(seg, now);

    // Sixth check (URG) is not implemented; see README.
    // Seventh and eighth checks: text and FIN.
    if (seg.payload.length > 0 || (f & FIN)) this.#processText(seg, seg.seq, now);

    if (finAcked && this.#state === "FIN-WAIT-1") {
      this.#setState(StateIndex["FIN-WAIT-2"], "rcv-ack", now);
      // Only an orphan is timed out in FIN-WAIT-2; a half-closed socket may wait for
      // the peer as long as it likes (Linux tcp_fin_timeout).
      if (this.orphaned) this.#fw2At = now + this.#options.finWait2Timeout;
    }
  }

  /** Seventh and eighth checks: segment text, then FIN (§3.10.7.4). */
  #processText(seg: Segment, seqStart: number, now: number): void {
    const state = this.#state;
    let fin = (seg.flags & FIN) !== 0;
    let data = seg.payload;
    let seq = seqStart;

    if (data.length > 0) {
      if (state !== "ESTABLISHED" && state !== "FIN-WAIT-1" && state !== "FIN-WAIT-2") {
        // CLOSE-WAIT, CLOSING, LAST-ACK: the peer already sent FIN; text is bogus.
        this.#drop(seg, "data-after-fin", now);
        this.#ackNow = this.#ackUrgent = true;
        return;
      }
      // Trim what we already have (§3.10.7.4: the "idealized segment").
      const skip = seqDiff(this.rcvNxt, seq);
      if (skip > 0) {
        data = data.subarray(Math.min(skip, data.length));
        seq = this.rcvNxt;
      }
      if (data.length > 0 && this.orphaned) {
        // RFC 2525 §2.17, §3.10.4 SHLD-3: new data after the application closed
        // cannot be delivered: tell the peer with a RST.
        const rstSeq = (seg.flags & ACK) ? seg.ack : this.sndNxt;
        this.#abortWith("data-after-close", now, rstSeq);
        return;
      }
      // Trim to the window; a FIN after trimmed-off data is trimmed off too.
      const room = Math.max(0, seqDiff(this.#rcvAdv, seq));
      if (data.length > room) {
        data = data.subarray(0, room);
        fin = false;
        this.#ackNow = this.#ackUrgent = true;
      }
    }
    const finSeq = fin ? seqAdd(seq, data.length) : undefined;

    if (data.length > 0) {
      if (seq === this.rcvNxt) {
        // RFC 5681 §4.2: a segment that fills all or part of a gap is ACKed at once.
        const fillsGap = this.#ooo.count > 0;
        this.#deliver(data);
        this.rcvNxt = seqAdd(seq, data.length);
        if (fillsGap) this.rcvNxt = this.#ooo.pull(this.rcvNxt, (d) => this.#deliver(d));
        this.#ackPending++;
        if (fillsGap || this.#options.delayedAck === 0 || this.#ackPending >= 2) {
          this.#ackNow = this.#ackUrgent = true;
        } else if (this.#delAckAt === Infinity) {
          this.#delAckAt = now + this.#options.delayedAck;
        }
        this.#host.event(
          { type: "data", conn: this.#id, length: seqDiff(this.rcvNxt, seq), now },
          this,
        );
      } else {
        // Out of order: hold it and send a duplicate ACK at once (RFC 5681 §4.2).
        this.#ooo.insert(seq, data);
        this.#ackNow = this.#ackUrgent = true;
      }
    }

    if (finSeq !== undefined) this.#peerFinSeq = finSeq;
    if (this.#peerFinSeq !== undefined) {
      if (this.#peerFinSeq === this.rcvNxt) {
        this.#peerFinSeq = undefined;
        this.#finArrives(now);
      } else if (seqGt(this.#peerFinSeq, this.rcvNxt)) {
        // FIN beyond a hole: hold it until the gap fills; ACK what we have.
        this.#ooo.dropFrom(this.#peerFinSeq);
        this.#ackNow = this.#ackUrgent = true;
      } else {
        this.#peerFinSeq = undefined;
      }
    }
  }

  /** Eighth check: the peer's FIN is next in sequence (§3.10.7.4). */
  #finArrives(now: number): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    // A FIN is acknowledged at once. Into CLOSE-WAIT the application's close may carry
    // the ACK (deferAck); into CLOSING or TIME-WAIT nothing of ours follows.
    this.#ackNow = true;
    switch (this.#state) {
      case "SYN-RECEIVED":
      case "ESTABLISHED":
        this.#setState(StateIndex["CLOSE-WAIT"], "rcv-fin", now);
        break;
      case "FIN-WAIT-1":
        this.#ackUrgent = true;
        // Our FIN acknowledged too (Figure 12 variant, row 2) → TIME-WAIT at once;
        // otherwise both sides closed together → CLOSING (Figure 13).
        if (this.#finSent() && seqGt(this.sndUna, this.#finSeq)) {
          this.#enterTimeWait("rcv-fin", now);
        } else this.#setState(StateIndex["CLOSING"], "rcv-fin", now);
        break;
      case "FIN-WAIT-2":
        this.#ackUrgent = true;
        this.#enterTimeWait("rcv-fin", now);
        break;
      default:
        this.#ackUrgent = true;
    }
    // §3.10.7.4 eighth check: "signal the user 'connection closing'".
    this.#host.event({ type: "peer-closed", conn: this.#id, now }, this);
  }

  // ------------------------------------------------------------- ACK helpers

  /** Table 6 of §3.10.7.4. */
  #acceptable(seq: number, len: number, wnd: number): boolean {
    const rcvNxt = this.rcvNxt;
    if (len === 0) {
      if (wnd === 0) return seq === rcvNxt;
      return seqInWindow(seq, rcvNxt, seqAdd(rcvNxt, wnd));
    }
    if (wnd === 0) return false;
    const end = seqAdd(this.rcvNxt, wnd);
    return seqInWindow(seq, rcvNxt, end) || seqInWindow(seqAdd(seq, len - 1), rcvNxt, end) ||
      // A segment that starts before RCV.NXT and ends beyond it carries new data.
      (seqLt(seq, rcvNxt) && seqGe(seqAdd(seq, len - 1), end));
  }

  /** SND.UNA advances to `ack`: free acknowledged data, take an RTT sample. */
  #ackAdvance(ack: number, now: number, tsEcr: number | undefined): void {
    // Our SYN was acknowledged before: this ACK covers data (or our FIN) and feeds
    // the congestion window (RFC 5681 §3.1).
    const ccAcked = seqGt(this.sndUna, this.#iss) ? seqDiff(ack, this.sndUna) : 0;
    const dataEnd = this.#dataEnd();
    const ackedData = seqDiff(seqLe(ack, dataEnd) ? ack : dataEnd, this.#sndBase);
    if (ackedData > 0) {
      this.#sendBuf.drop(ackedData);
      this.#sndBase = seqAdd(this.#sndBase, ackedData);
      this.#counters.bytesAcked += ackedData;
    }
    // RTT sample: the echoed timestamp (RFC 7323 §4.1), else Karn's rule (RFC 6298 §3).
    if (this.tsOk && tsEcr !== undefined && tsEcr !== 0) {
      // RFC 7323 §4.1 allows (MAY) a sample from TSecr. Not when the echo is older than
      // our last retransmission: the peer then echoed a segment from before it (a
      // duplicate does not update TS.Recent, §5.3 R2/R3), so now - TSecr measures our
      // backoff, not the path, and pins RTO at its ceiling (Karn's rule, RFC 6298 §3).
      const rtt = seqDiff(this.#tsClock(now), tsEcr);
      const stale = this.#rtxTsVal !== undefined && seqLt(tsEcr, this.#rtxTsVal);
      if (rtt >= 0 && !stale) this.rto.sample(rtt);
    } else if (this.#rttAt >= 0 && seqGe(ack, this.#rttSeq)) {
      this.rto.sample(now - this.#rttAt);
      this.#rttAt = -1;
    }
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack;
    this.retries = 0;
    this.rto.backoff = 0;
    this.#progressAt = now;
    this.#persist = false;
    // RFC 6298 §5.2/5.3: stop the timer when all is acknowledged, else restart it.
    // The host's timer stays where it was when the new deadline is later: it wakes us
    // early, handleTimeout finds nothing due and asks again (lazy re-arm, at most one
    // spare wake-up per RTO instead of a timer operation per ACK).
    this.#rtxAt = Infinity;
    if (this.bytesInFlight > 0) this.#armRtx(now);
    if (ccAcked > 0) {
      const action = this.cc.onAck(ack, ccAcked, this.sndMax, this.maxSndWnd);
      // RFC 6582 §3.2 step 4: a partial ACK in recovery resends the next hole.
      if (action === CcAction.RetransmitHead) this.#retransmitHead(now);
    }
  }

  /**
   * RFC 5681 §2 "duplicate acknowledgment": data outstanding, no data, neither SYN
   * nor FIN, ACK = SND.UNA, and the advertised window unchanged.
   */
  #isDupAck(seg: Segment): boolean {
    return seg.ack === this.sndUna && seqLt(this.sndUna, this.sndMax) &&
      seg.payload.length === 0 && (seg.flags & (SYN | FIN)) === 0 &&
      (seg.window << this.#sndShift) === this.sndWnd;
  }

  /** A duplicate ACK: the third starts fast retransmit (RFC 5681 §3.2, RFC 6582). */
  #dupAckArrives(now: number): void {
    const action = this.cc.onDupAck(this.sndUna, this.sndMax, this.bytesInFlight);
    if (action === CcAction.RetransmitHead) this.#retransmitHead(now);
  }

  /**
   * Resends the segment at SND.UNA alone, whatever cwnd says (fast retransmit and
   * NewReno partial ACKs), then carries on from where sending had got to.
   */
  #retransmitHead(now: number): void {
    if (!seqLt(this.sndUna, this.sndMax) || seqLt(this.sndUna, this.#sndBase)) return;
    const nxt = this.sndNxt;
    this.sndNxt = this.sndUna;
    this.#rttAt = -1; // Karn: the ACK of a retransmitted segment gives no RTT sample
    this.#output(now, 1, true);
    if (seqGt(nxt, this.sndNxt)) this.sndNxt = nxt;
  }

  /** §3.10.7.4 fifth check, window update (SND.WL1/SND.WL2 rule). */
  #updateWindow(seg: Segment, force: boolean): void {
    if (
      force || seqLt(this.sndWl1, seg.seq) ||
      (this.sndWl1 === seg.seq && seqLe(this.sndWl2, seg.ack))
    ) {
      const wasZero = this.sndWnd === 0;
      // RFC 7323 §2.2: the window of a segment with SYN set is never scaled.
      this.sndWnd = (seg.flags & SYN) ? seg.window : seg.window << this.#sndShift;
      if (wasZero && this.sndWnd > 0 && seqLt(this.sndUna, this.sndNxt) && !force) {
        // The window reopened: the probe octet beyond the old window was dropped by
        // the peer, so send from SND.UNA again (from the first data octet when our SYN
        // is still unacknowledged after CLOSE in SYN-RECEIVED: the SYN is the RTO's).
        this.sndNxt = seqMax(this.sndUna, this.#sndBase);
      }
      if (this.sndWnd > this.maxSndWnd) this.maxSndWnd = this.sndWnd;
      this.sndWl1 = seg.seq;
      this.sndWl2 = seg.ack;
      if (this.sndWnd > 0 && this.#persist) {
        this.#persist = false;
        this.#rtxAt = Infinity;
      }
    }
  }

  /** RFC 7323 §4.3: remember the peer's newest timestamp. */
  #noteTimestamp(seg: Segment, now: number): void {
    if (!this.tsOk || seg.tsVal === undefined) return;
    if (seqGe(seg.tsVal, this.tsRecent) && seqLe(seg.seq, this.#lastAckSent)) {
      this.tsRecent = seg.tsVal;
      this.tsRecentAge = now;
    }
  }

  /** ACK an unacceptable segment (§3.10.7.4 first check); pure ACKs rate-limited. */
  #dupAck(seg: Segment, now: number): void {
    const carries = seg.payload.length > 0 || (seg.flags & (SYN | FIN)) !== 0;
    if (carries) this.#sendAck(now);
    else this.#challengeAck(now);
  }

  /** A challenge or out-of-window ACK, rate-limited (RFC 5961 §7). */
  #challengeAck(now: number): void {
    if (
      now - this.#lastChallengeAt < this.#options.challengeAckInterval ||
      !this.#host.allowChallengeAck(now)
    ) {
      this.#host.event({
        type: "segment-dropped",
        conn: this.#id,
        segment: undefined,
        reason: "challenge-rate-limited",
        now,
      }, this);
      return;
    }
    this.#lastChallengeAt = now;
    this.#counters.challengeAcks++;
    this.#sendAck(now);
  }

  // ---------------------------------------------------------------- closing

  #queueFin(now: number, orphan: boolean): void {
    const s = this.#state;
    if (orphan) this.orphaned = true;
    switch (s) {
      case "CLOSED":
      case "LISTEN":
        return;
      case "SYN-SENT":
        // Nothing synchronized yet: close once the handshake completes.
        this.#closeWhenEstablished = true;
        return;
      case "SYN-RECEIVED":
        if (this.#sendBuf.length > 0) {
          this.#closeWhenEstablished = true;
          return;
        }
        this.#finQueued = true;
        this.#finSeq = this.#dataEnd();
        this.#setState(StateIndex["FIN-WAIT-1"], "close", now);
        break;
      case "ESTABLISHED":
        this.#finQueued = true;
        this.#finSeq = this.#dataEnd();
        this.#setState(StateIndex["FIN-WAIT-1"], "close", now);
        break;
      case "CLOSE-WAIT":
        this.#finQueued = true;
        this.#finSeq = this.#dataEnd();
        this.#setState(StateIndex["LAST-ACK"], "close", now);
        break;
      case "FIN-WAIT-2":
        // close() after shutdown(): now an orphan, so the FIN-WAIT-2 timer applies.
        if (orphan && this.#fw2At === Infinity) {
          this.#fw2At = now + this.#options.finWait2Timeout;
        }
        this.#reschedule();
        return;
      default:
        return; // FIN already queued: CLOSE is idempotent
    }
    // The FIN is now the oldest unacknowledged octet when nothing else is: the user
    // timeout (§3.8.4, RFC 5482) counts from now, not from the last idle ACK.
    if (this.bytesInFlight === 0 && this.#sendBuf.length === 0) this.#progressAt = now;
    this.#output(now);
    this.#reschedule();
  }

  #abortWith(cause: Cause, now: number, rstSeq: number | undefined): void {
    const s = this.#state;
    if (s === "CLOSED") return;
    this.orphaned = true;
    if (s === "LISTEN" || s === "SYN-SENT") {
      this.#enterClosed("abort", "aborted", now);
      return;
    }
    if (s === "CLOSING" || s === "LAST-ACK" || s === "TIME-WAIT") {
      // §3.10.5: the peer has already closed its side; just delete the TCB.
      this.#enterClosed("abort", "aborted", now);
      return;
    }
    // §3.10.5: <SEQ=SND.NXT><CTL=RST> in SYN-RECEIVED and the synchronized states.
    this.#sendRst(rstSeq ?? this.sndNxt, now);
    this.#closedReason = "aborted";
    if (this.#options.rstSenderTimeWait && s !== "SYN-RECEIVED") {
      // §3.5.2 SHOULD: the RST sender holds the 4-tuple for 2·MSL.
      this.#enterTimeWait(cause, now);
      return;
    }
    this.#enterClosed(cause, "aborted", now);
  }

  /** Whether the host took this connection over in TIME-WAIT. */
  get adopted(): boolean {
    return this.#adopted;
  }
  #adopted = false;

  /** Receive window shift we announced (RFC 7323 §2), for the compact record. */
  get rcvShift(): number {
    return this.#rcvShift;
  }

  /** The raw window field an ACK from TIME-WAIT carries. */
  get windowField(): number {
    return Math.min(this.rcvWnd >>> this.#rcvShift, MAX_WINDOW);
  }

  /** Hands TIME-WAIT to the host once all that is owed has been sent. */
  #offerTimeWait(now: number): void {
    if (this.#state !== "TIME-WAIT" || this.#adopted || !this.#host.adoptTimeWait) return;
    if (this.#host.adoptTimeWait(this, now)) {
      this.#adopted = true;
      this.#twAt = Infinity;
      this.#recvBuf.clear();
    }
  }

  #enterTimeWait(cause: Cause, now: number): void {
    this.#setState(StateIndex["TIME-WAIT"], cause, now);
    // §3.10.7.4: start the time-wait timer, turn off the other timers.
    this.#rtxAt = this.#delAckAt = this.#fw2At = Infinity;
    this.#persist = false;
    this.#progressAt = Infinity;
    this.#twAt = now + 2 * this.#options.msl;
    this.#scheduledAt = Infinity;
    this.#sendBuf.clear();
    this.#ooo.clear();
  }

  #enterClosed(cause: Cause, reason: CloseReason, now: number): void {
    this.#rtxAt =
      this.#delAckAt =
      this.#fw2At =
      this.#twAt =
        Infinity;
    this.#progressAt = Infinity;
    this.#persist = false;
    this.#closedReason = reason;
    this.#setState(StateIndex["CLOSED"], cause, now);
    this.#sendBuf.clear();
    this.#ooo.clear();
    this.#host.event({ type: "closed", conn: this.#id, reason, now }, this);
    this.#host.released(this);
  }

  #closedReasonOr(r: CloseReason): CloseReason {
    return this.#closedReason ?? r;
  }

  /** Moves to `STATES[toIndex]` (a {@linkcode StateIndex} constant) if the table allows. */
  #setState(toIndex: number, cause: Cause, now: number): void {
    const from = this.#state;
    const to = STATES[toIndex];
    if (!isAllowedAt(this.#stateIndex, toIndex, cause)) {
      throw new Error(`Bug: transition ${from} → ${to} (${cause}) is not in the table`);
    }
    this.#state = to;
    this.#stateIndex = toIndex;
    // One shape for every state change (`counters` undefined but on entering
    // TIME-WAIT), so the host's and the application's loads of event fields see few
    // shapes (V8 goes megamorphic beyond four).
    const counters = to === "TIME-WAIT" ? copyCounters(this.#counters) : undefined;
    this.#host.event(
      { type: "state-changed", conn: this.#id, from, to, cause, now, counters },
      this,
    );
  }

  // ------------------------------------------------------------------ output

  #dataEnd(): number {
    return seqAdd(this.#sndBase, this.#sendBuf.length);
  }

  #finSent(): boolean {
    return this.#finQueued && seqGt(this.sndMax, this.#finSeq);
  }

  /**
   * Sends what the windows allow, at most `limit` segments (§3.8.6, §3.10.2): the
   * peer's window and the congestion window (RFC 5681), unless `force`d past cwnd.
   */
  #output(now: number, limit = Infinity, force = false): void {
    const s = this.#state;
    if (!isSynchronized(s) || s === "TIME-WAIT" || s === "FIN-WAIT-2") return;
    // Nothing beyond SND.NXT and no FIN due: the common case after an input.
    if (
      seqDiff(this.#dataEnd(), this.sndNxt) <= 0 &&
      !(this.#finQueued && this.sndNxt === this.#finSeq)
    ) return;
    if (this.sndUna === this.sndMax) this.cc.afterIdle(now, this.rto.current); // §4.1
    let sent = 0;
    while (sent < limit) {
      const dataEnd = this.#dataEnd();
      const pending = seqDiff(dataEnd, this.sndNxt);
      if (pending > 0) {
        const usable = seqDiff(seqAdd(this.sndUna, this.sndWnd), this.sndNxt);
        const len = Math.min(pending, this.sndMss, usable);
        if (len <= 0) {
          // Zero window with data waiting and nothing in flight: persist (§3.8.6.1).
          if (this.sndWnd === 0 && this.bytesInFlight === 0) this.#armPersist(now);
          break;
        }
        // Congestion window (RFC 5681 §3.1): wait for ACKs rather than send a runt.
        if (!force && seqDiff(this.sndNxt, this.sndUna) + len > this.cc.sendWindow) break;
        const last = len === pending;
        const withFin = last && this.#finQueued;
        const offset = seqDiff(this.sndNxt, this.#sndBase);
        const flags = ACK | (last ? PSH : 0) | (withFin ? FIN : 0);
        const rtx = seqLt(this.sndNxt, this.sndMax);
        this.#transmit(flags, this.sndNxt, this.#sendBuf.view(offset, len), rtx, now);
        if (!rtx) this.#counters.bytesSent += len;
        this.#advanceSndNxt(len + (withFin ? 1 : 0), rtx, now);
        sent++;
        continue;
      }
      if (this.#finQueued && this.sndNxt === this.#finSeq) {
        // FIN alone (§3.10.4): it needs no window.
        const rtx = seqLt(this.sndNxt, this.sndMax);
        this.#transmit(FIN | ACK, this.sndNxt, EMPTY, rtx, now);
        this.#advanceSndNxt(1, rtx, now);
        sent++;
      }
      break;
    }
  }

  #advanceSndNxt(n: number, rtx: boolean, now: number): void {
    if (!rtx && this.#rttAt < 0 && !this.tsOk) {
      this.#rttSeq = seqAdd(this.sndNxt, n);
      this.#rttAt = now;
    }
    this.sndNxt = seqAdd(this.sndNxt, n);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
    this.cc.lastSendAt = now;
    if (this.#rtxAt === Infinity || this.#persist) {
      this.#persist = false;
      this.#armRtx(now);
    }
  }

  /** RFC 6298 §5.4-5.6: the retransmission timer expired. */
  #retransmitTimeout(now: number): void {
    if (this.bytesInFlight === 0) return;
    const s = this.#state;
    const limit = s === "SYN-SENT"
      ? this.#options.synRetries
      : s === "SYN-RECEIVED" && this.passive
      ? SYNACK_RETRIES
      : this.orphaned
      ? this.#options.orphanRetries
      : this.#options.maxRetries;
    if (this.retries >= limit) {
      // §3.8.3 R2: give up. Like Linux, no RST: the peer is presumed unreachable.
      this.#enterClosed("retransmit-timeout", "timeout", now);
      return;
    }
    this.retries++;
    if (s === "SYN-SENT" || s === "SYN-RECEIVED") this.#synTimedOut = true;
    this.rto.backoff++;
    this.#rttAt = -1; // Karn: never time a retransmitted segment
    if (s === "SYN-SENT" || s === "SYN-RECEIVED" || seqLe(this.sndUna, this.#iss)) {
      // Also after CLOSE in SYN-RECEIVED (§3.10.4 → FIN-WAIT-1, then maybe CLOSING)
      // before our SYN was acknowledged: the SYN,ACK is still the oldest segment
      // unacknowledged, so it goes again; the ACK of it clocks out the FIN.
      this.sndNxt = this.#iss;
      this.#sendSyn(now, true);
    } else {
      // Go back to the oldest unacknowledged segment and resend it alone; later ACKs
      // clock out the rest (RFC 5681 §3.1 after an RTO): cwnd becomes the loss window.
      this.cc.onTimeout(this.sndMax, this.bytesInFlight, this.retries === 1);
      this.sndNxt = this.sndUna;
      if (
        this.sndWnd === 0 && seqGe(this.sndUna, this.#sndBase) &&
        seqLt(this.sndUna, this.#dataEnd())
      ) {
        // Zero window (§3.8.6.1): the window allows nothing, so send the probe octet
        // at SND.UNA again. A peer that answers resets R2 (fifth check) and so keeps
        // the connection open for as long as it likes (RFC 1122 §4.2.2.17).
        const offset = seqDiff(this.sndNxt, this.#sndBase);
        this.#transmit(ACK, this.sndNxt, this.#sendBuf.view(offset, 1), true, now);
        this.sndNxt = seqAdd(this.sndNxt, 1);
      } else {
        this.#output(now, 1);
      }
    }
    this.#armRtx(now);
  }

  /** Zero-window probe (§3.8.6.1): one octet of new data beyond the window. */
  #persistProbe(now: number): void {
    this.#persist = false;
    const pending = seqDiff(this.#dataEnd(), this.sndNxt);
    if (pending <= 0 || this.sndWnd > 0) {
      this.#output(now);
      return;
    }
    const offset = seqDiff(this.sndNxt, this.#sndBase);
    this.#transmit(ACK, this.sndNxt, this.#sendBuf.view(offset, 1), false, now);
    this.#counters.bytesSent += 1;
    this.sndNxt = seqAdd(this.sndNxt, 1);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
    this.rto.backoff++;
    this.#armRtx(now);
  }

  /**
   * RFC 6298 §5.7: when the SYN (or SYN,ACK) timed out and the handshake gave no RTT
   * sample (SRTT still 0, Karn's rule), data transmission MUST start with an RTO of
   * 3 s, not the initial 1 s (Linux tcp_init_metrics: TCP_TIMEOUT_FALLBACK).
   */
  #rtoAfterHandshake(): void {
    if (this.#synTimedOut && this.rto.srtt === 0) {
      this.rto.rto = Math.max(this.rto.rto, Math.min(3000, this.#options.rtoMax));
    }
  }

  #armRtx(now: number): void {
    this.#rtxAt = now + this.rto.current;
  }

  #armPersist(now: number): void {
    if (this.#persist && this.#rtxAt !== Infinity) return;
    this.#persist = true;
    this.#rtxAt = now + this.rto.current;
  }

  #userAt(): number {
    const ut = this.#options.userTimeout;
    if (ut <= 0 || this.#progressAt === Infinity) return Infinity;
    // Only while something is unacknowledged (§3.8.4: data not delivered in time).
    if (this.bytesInFlight === 0 && this.#sendBuf.length === 0) return Infinity;
    return this.#progressAt + ut;
  }

  #reschedule(): void {
    const d = this.nextDeadline;
    if (d < this.#scheduledAt) {
      this.#scheduledAt = d;
      this.#host.schedule(this, d);
    }
  }

  #sendSyn(now: number, rtx: boolean): void {
    const flags = this.#state === "SYN-SENT" ? SYN : SYN | ACK;
    this.#transmit(flags, this.#iss, EMPTY, rtx, now);
    this.sndNxt = seqAdd(this.#iss, 1);
    this.sndMax = seqMax(this.sndMax, this.sndNxt);
    if (!rtx && !this.tsOk && this.#rttAt < 0) {
      this.#rttSeq = this.sndNxt;
      this.#rttAt = now;
    }
  }

  #sendAck(now: number): void {
    // A pure ACK carries SND.MAX, not SND.NXT: while an RTO's go-back-N resends old
    // data, SND.NXT may lie below the peer's RCV.NXT, and an ACK there would fail the
    // peer's sequence check (§3.10.7.4, first check) and be dropped unread, so both
    // sides could retransmit forever at each other (as BSD tcp_output does).
    this.#transmit(ACK, this.sndMax, EMPTY, false, now);
  }

  #sendRst(seq: number, now: number): void {
    this.#counters.rstsSent++;
    this.#transmit(RST, seq, EMPTY, false, now);
  }

  #transmit(flags: number, seq: number, payload: Uint8Array, rtx: boolean, now: number): void {
    const syn = (flags & SYN) !== 0;
    const withAck = (flags & ACK) !== 0;
    let window = 0;
    if (!(flags & RST)) {
      // Never shrink the window we offered (§3.8.6.2.2): the right edge only moves right.
      const wnd = Math.max(this.rcvWnd, seqDiff(this.#rcvAdv, this.rcvNxt));
      const shift = syn ? 0 : this.#rcvShift;
      window = Math.min(wnd >>> shift, MAX_WINDOW);
      const edge = seqAdd(this.rcvNxt, window << shift);
      if (seqGt(edge, this.#rcvAdv) || !isSynchronized(this.#state)) this.#rcvAdv = edge;
    }
    const o = this.#options;
    const tsActive = syn
      ? o.timestamps && (this.#state === "SYN-SENT" || this.#peerOfferedTs)
      : this.tsOk;
    // A fresh object when the host keeps it (events, traces), else the shared scratch.
    const seg: Segment = this.#host.keepsSegments === false ? SCRATCH : { ...SCRATCH };
    seg.srcPort = this.#localPort;
    seg.dstPort = this.#remotePort;
    seg.seq = seq;
    seg.ack = withAck ? this.rcvNxt : 0;
    seg.flags = flags;
    seg.window = window;
    seg.checksum = 0;
    seg.mss = syn ? o.mss : undefined;
    seg.windowScale = syn && o.windowScale !== undefined &&
        (this.#state === "SYN-SENT" || this.#peerOfferedWs)
      ? o.windowScale
      : undefined;
    seg.tsVal = tsActive && !(flags & RST) ? this.#tsClock(now) : undefined;
    seg.tsEcr = tsActive && !(flags & RST) ? (withAck ? this.tsRecent : 0) : undefined;
    seg.payload = payload;
    if (withAck) {
      this.#lastAckSent = this.rcvNxt;
      this.#ackPending = 0;
      this.#ackNow = false;
      this.#delAckAt = Infinity;
    }
    this.#counters.segmentsOut++;
    if (rtx) {
      this.#counters.retransmissions++;
      this.#rtxTsVal = this.#tsClock(now);
    }
    this.#host.transmit(this, seg, rtx, now);
  }

  #tsClock(now: number): number {
    return (Math.floor(now) + this.#tsOffset) >>> 0;
  }

  /** Options on a SYN we received (§3.7.1 MSS, RFC 7323 window scale and timestamps). */
  #takeSynOptions(seg: Segment, now: number): void {
    const o = this.#options;
    // §3.7.1: without an MSS option assume 536 (IPv4 default, MUST-15).
    this.sndMss = Math.max(1, Math.min(o.mss, seg.mss ?? 536));
    this.cc.init(this.sndMss, this.#iss);
    // RFC 5681 §3.1: a retransmitted SYN means a loss window of one segment to start.
    if (this.#counters.retransmissions > 0) this.cc.synLost();
    this.#peerOfferedWs = seg.windowScale !== undefined;
    const wsOk = this.#peerOfferedWs && o.windowScale !== undefined;
    this.#sndShift = wsOk ? seg.windowScale! : 0;
    this.#rcvShift = wsOk ? o.windowScale! : 0;
    this.#peerOfferedTs = seg.tsVal !== undefined;
    this.tsOk = this.#peerOfferedTs && o.timestamps;
    if (this.tsOk) {
      this.tsRecent = seg.tsVal!;
      this.tsRecentAge = now;
    }
  }

  #deliver(data: Uint8Array): void {
    this.#recvBuf.push(data);
    this.#counters.bytesReceived += data.length;
  }

  #drop(seg: Segment, reason: DropReason, now: number): void {
    this.#host.event({ type: "segment-dropped", conn: this.#id, segment: seg, reason, now }, this);
  }
}

const EMPTY = new Uint8Array(0);

/** The one segment reused for every transmission when the host keeps none. */
const SCRATCH: Segment = newSegment();
