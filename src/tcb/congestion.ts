/**
 * Congestion control for one connection: slow start and congestion avoidance
 * (RFC 5681 §3.1), fast retransmit on the third duplicate ACK and NewReno fast
 * recovery with partial acknowledgments (RFC 5681 §3.2, RFC 6582 §3.2), the initial
 * window of RFC 6928, the loss window after a retransmission timeout, and the
 * restart window after an idle period (RFC 5681 §4.1).
 *
 * Sans-IO and allocation-free. The TCB owns one {@linkcode CongestionControl},
 * calls its hooks (`onAck`, `onDupAck`, `onTimeout`, `afterIdle`) and never sends
 * beyond SND.UNA + `sendWindow` (cwnd, plus Limited Transmit, RFC 3042). A hook that returns
 * {@linkcode CcAction.RetransmitHead} asks the TCB to resend the oldest unacknowledged
 * segment at once, whatever `cwnd` says (fast retransmit, and the NewReno partial-ACK
 * retransmission). With `"none"` the window is unlimited and no hook ever acts: the
 * sender is bounded by the peer's window alone and recovers from loss by RTO only.
 *
 * Sequence numbers are compared through `seq.ts` only.
 *
 * @example
 * ```ts
 * import { CcAction, CongestionControl, initialWindow } from "./congestion.ts";
 *
 * const cc = new CongestionControl("newreno");
 * cc.init(1000, 0); // SMSS 1000, ISS 0
 * console.assert(cc.cwnd === initialWindow(1000)); // 10 segments (RFC 6928)
 * cc.onAck(1001, 1000, 10_001, 1 << 20); // slow start: +1 SMSS per ACK
 * console.assert(cc.cwnd === 11_000);
 * cc.onDupAck(1001, 10_001, 9000);
 * cc.onDupAck(1001, 10_001, 9000);
 * console.assert(cc.onDupAck(1001, 10_001, 9000) === CcAction.RetransmitHead);
 * console.assert(cc.ssthresh === 4500 && cc.cwnd === 7500 && cc.inRecovery);
 * ```
 *
 * @module
 */
import { seqDiff, seqGe, seqGt } from "../wire/seq.ts";

/** Which congestion controller a connection runs. */
export type CongestionControlKind = "newreno" | "none";

/** What a hook asks of the TCB. */
export const CcAction = {
  /** Nothing beyond sending what the windows now allow. */
  None: 0,
  /** Resend the segment at SND.UNA now, regardless of `cwnd`. */
  RetransmitHead: 1,
} as const;
/** One of {@linkcode CcAction}. */
export type CcAction = typeof CcAction[keyof typeof CcAction];

/** RFC 6928 §2: IW = min(10·MSS, max(2·MSS, 14600)) bytes. */
export function initialWindow(mss: number): number {
  return Math.min(10 * mss, Math.max(2 * mss, 14_600));
}

/** Duplicate ACKs that trigger fast retransmit (RFC 5681 §3.2: the third). */
export const DUP_ACK_THRESHOLD = 3;

/** cwnd, ssthresh and NewReno recovery state of one connection (RFC 5681, RFC 6582). */
export class CongestionControl {
  #enabled = true;
  /** Congestion window, bytes: how far beyond SND.UNA the sender may go. */
  cwnd = Infinity;
  /** Slow start threshold, bytes; "arbitrarily high" at first (RFC 5681 §3.1). */
  ssthresh = Infinity;
  /** Sender MSS (SMSS) the window is counted in. */
  mss = 536;
  /** Consecutive duplicate ACKs at SND.UNA. */
  dupAcks = 0;
  /** In NewReno fast recovery (between the fast retransmit and the full ACK). */
  inRecovery = false;
  /**
   * RFC 6582 `recover`: SND.MAX when recovery (or the last RTO) began. ACKs at or
   * beyond it are full ACKs; a third duplicate ACK at or below it does not start
   * another fast retransmit.
   */
  recover = 0;
  /** Fast retransmits done (third duplicate ACK). */
  fastRetransmits = 0;
  /** Partial ACKs that each resent one more segment during recovery. */
  partialAcks = 0;
  /** Retransmission timeouts that collapsed cwnd to the loss window. */
  timeouts = 0;
  /** Bytes acknowledged in congestion avoidance since cwnd last grew. */
  #ackedInCa = 0;
  /** When data was last sent, for the restart window (RFC 5681 §4.1). */
  lastSendAt = -Infinity;

  constructor(kind: CongestionControlKind = "newreno") {
    this.#enabled = kind === "newreno";
  }

  /** False for `"none"`: `cwnd` stays Infinity and the hooks do nothing. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Back to the start, as `new CongestionControl(kind)` (a reused TCB). */
  reset(kind: CongestionControlKind = "newreno"): void {
    this.#enabled = kind === "newreno";
    this.cwnd = Infinity;
    this.ssthresh = Infinity;
    this.mss = 536;
    this.dupAcks = 0;
    this.inRecovery = false;
    this.recover = 0;
    this.fastRetransmits = 0;
    this.partialAcks = 0;
    this.timeouts = 0;
    this.#ackedInCa = 0;
    this.lastSendAt = -Infinity;
  }

  /**
   * How far beyond SND.UNA the sender may go: cwnd, plus one SMSS for each of the
   * first two duplicate ACKs outside recovery (Limited Transmit, RFC 3042 §2), so a
   * small window still draws the three duplicate ACKs that fast retransmit needs.
   */
  get sendWindow(): number {
    const d = this.dupAcks;
    return this.inRecovery || d === 0 ? this.cwnd : this.cwnd + (d < 2 ? d : 2) * this.mss;
  }

  /** The handshake fixed SMSS: start with the initial window (RFC 6928). */
  init(mss: number, iss: number): void {
    this.mss = mss;
    this.recover = iss; // RFC 6582 §3.2 step 1: recover = ISS
    if (!this.#enabled) return;
    this.cwnd = initialWindow(mss);
    this.ssthresh = Infinity;
    this.dupAcks = 0;
    this.inRecovery = false;
    this.#ackedInCa = 0;
  }

  /**
   * Our SYN or SYN,ACK had to be retransmitted: "the initial window used by a sender
   * after a correctly transmitted SYN MUST be one segment" (RFC 5681 §3.1).
   */
  synLost(): void {
    if (this.#enabled) this.cwnd = this.mss;
  }

  /**
   * SND.UNA advanced to `ack` by `acked` bytes. `sndMax` is the highest SND.NXT yet;
   * `peerWindow` the largest window the peer offered, beyond which cwnd need not grow.
   */
  onAck(ack: number, acked: number, sndMax: number, peerWindow: number): CcAction {
    this.dupAcks = 0;
    if (!this.#enabled || acked <= 0) return CcAction.None;
    const mss = this.mss;
    if (this.inRecovery) {
      if (seqGe(ack, this.recover)) {
        // RFC 6582 §3.2 step 3, full ACK: deflate to min(ssthresh, max(FlightSize,
        // SMSS) + SMSS), option (1), which avoids a burst, and leave recovery.
        const flight = Math.max(0, seqDiff(sndMax, ack));
        this.cwnd = Math.min(this.ssthresh, Math.max(flight, mss) + mss);
        this.inRecovery = false;
        this.#ackedInCa = 0;
        return CcAction.None;
      }
      // RFC 6582 §3.2 step 4, partial ACK: resend the first unacknowledged segment,
      // deflate cwnd by the amount acknowledged, add back one SMSS if that was at
      // least one SMSS, and stay in recovery.
      this.partialAcks++;
      this.cwnd -= acked;
      if (acked >= mss) this.cwnd += mss;
      if (this.cwnd < mss) this.cwnd = mss;
      return CcAction.RetransmitHead;
    }
    if (this.cwnd >= peerWindow + mss) return CcAction.None; // the peer limits us anyway
    if (this.cwnd < this.ssthresh) {
      // RFC 5681 §3.1 slow start, equation (2): cwnd += min(N, SMSS).
      this.cwnd += Math.min(acked, mss);
    } else {
      // Congestion avoidance: one SMSS per cwnd of acknowledged bytes (the byte
      // counting of RFC 5681 §3.1 and RFC 3465), so delayed ACKs do not slow growth.
      this.#ackedInCa += acked;
      if (this.#ackedInCa >= this.cwnd) {
        this.#ackedInCa -= this.cwnd;
        this.cwnd += mss;
      }
    }
    return CcAction.None;
  }

  /**
   * A duplicate ACK (RFC 5681 §2: data outstanding, no data, no SYN/FIN, ACK equal to
   * SND.UNA, window unchanged). `flight` is FlightSize in bytes.
   */
  onDupAck(ack: number, sndMax: number, flight: number): CcAction {
    if (!this.#enabled) return CcAction.None;
    this.dupAcks++;
    if (this.inRecovery) {
      // RFC 5681 §3.2 step 4: each further duplicate ACK means a segment left the
      // network: inflate cwnd by one SMSS so new data may go out.
      this.cwnd += this.mss;
      return CcAction.None;
    }
    if (this.dupAcks !== DUP_ACK_THRESHOLD) return CcAction.None;
    // RFC 6582 §3.2 step 2: only when the ACK covers more than `recover`, so
    // duplicates caused by a go-back-N after an RTO start no second reduction.
    if (!seqGt(ack, this.recover)) return CcAction.None;
    this.recover = sndMax;
    // RFC 5681 §3.2 steps 2-3: ssthresh = max(FlightSize / 2, 2·SMSS) (equation 4),
    // resend the lost segment, cwnd = ssthresh + 3·SMSS.
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.cwnd = this.ssthresh + DUP_ACK_THRESHOLD * this.mss;
    this.inRecovery = true;
    this.fastRetransmits++;
    return CcAction.RetransmitHead;
  }

  /**
   * The retransmission timer expired (RFC 5681 §3.1): ssthresh from equation (4)
   * unless the segment was already resent by a timeout (`first` false), then cwnd =
   * the loss window, one SMSS. Recovery ends; `recover` = SND.MAX (RFC 6582 §3.2).
   */
  onTimeout(sndMax: number, flight: number, first: boolean): void {
    this.dupAcks = 0;
    if (!this.#enabled) return;
    if (first) this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.mss);
    this.cwnd = this.mss;
    this.inRecovery = false;
    this.recover = sndMax;
    this.#ackedInCa = 0;
    this.timeouts++;
  }

  /**
   * About to send with nothing outstanding: after an idle period longer than one RTO
   * the window restarts from min(IW, cwnd) (RFC 5681 §4.1).
   */
  afterIdle(now: number, rto: number): void {
    if (!this.#enabled || now - this.lastSendAt <= rto) return;
    const rw = initialWindow(this.mss);
    if (this.cwnd > rw) this.cwnd = rw;
  }
}
