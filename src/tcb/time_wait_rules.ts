/**
 * What a segment does to a connection in TIME-WAIT. One pure function, shared by
 * the full TCB and the compact TIME-WAIT table, so both behave the same by
 * construction.
 *
 * Sources: RFC 9293 §3.10.7.4 (TIME-WAIT arms of every check), RFC 1337 (ignore
 * RST), RFC 6191 and §3.10.7.4 "SYN reopen" (accept a new SYN when its SEQ or its
 * timestamp is newer), RFC 7323 §5 (PAWS), RFC 5961 (RST and SYN validation).
 *
 * @module
 */
import { ACK, FIN, RST, type Segment, SYN } from "../wire/segment.ts";
import { seqAdd, seqGt, seqInWindow, seqLt } from "../wire/seq.ts";
import type { DropReason } from "./events.ts";
import type { TimeWaitReopen } from "./options.ts";

/** What a TIME-WAIT connection remembers: exactly the compact record's fields. */
export interface TimeWaitFacts {
  sndNxt: number;
  rcvNxt: number;
  /** Receive window in bytes (for the RST window test). */
  rcvWnd: number;
  /** Timestamps were negotiated. */
  tsOk: boolean;
  tsRecent: number;
}

/** Settings that change TIME-WAIT behaviour. */
export interface TimeWaitPolicy {
  rfc1337: boolean;
  timeWaitReopen: TimeWaitReopen;
  paws: boolean;
}

/** The verdict for one segment. */
export type TimeWaitAction =
  /** Drop silently, counted with `reason`. */
  | { kind: "drop"; reason: DropReason }
  /** Send `<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`; restart 2·MSL when `restart`. */
  | { kind: "ack"; restart: boolean; reason: DropReason | undefined; rateLimited: boolean }
  /** Leave TIME-WAIT for CLOSED (acceptable RST with RFC 1337 off). */
  | { kind: "close" }
  /** Close this incarnation and hand the SYN to the listener as a new connection. */
  | { kind: "reopen" };

const DROP_TW: TimeWaitAction = { kind: "drop", reason: "time-wait" };
const DROP_OLD_SYN: TimeWaitAction = { kind: "drop", reason: "time-wait" };
const DROP_1337: TimeWaitAction = { kind: "drop", reason: "rst-in-time-wait" };
const DROP_RST_OOW: TimeWaitAction = { kind: "drop", reason: "rst-out-of-window" };
const RE_ACK: TimeWaitAction = {
  kind: "ack",
  restart: true,
  reason: undefined,
  rateLimited: false,
};
const CLOSE: TimeWaitAction = { kind: "close" };
const REOPEN: TimeWaitAction = { kind: "reopen" };
const CHALLENGE_RST: TimeWaitAction = {
  kind: "ack",
  restart: false,
  reason: "rst-challenged",
  rateLimited: true,
};
const CHALLENGE_SYN: TimeWaitAction = {
  kind: "ack",
  restart: false,
  reason: "syn-challenged",
  rateLimited: true,
};
const PAWS_ACK: TimeWaitAction = { kind: "ack", restart: false, reason: "paws", rateLimited: true };
const DUP_ACK: TimeWaitAction = {
  kind: "ack",
  restart: false,
  reason: "duplicate",
  rateLimited: true,
};
const DUP_ACK_DATA: TimeWaitAction = {
  kind: "ack",
  restart: false,
  reason: "duplicate",
  rateLimited: false,
};

/**
 * Decides what `seg` does to a connection in TIME-WAIT. Pure. `canReopen` says
 * whether a listener on the local port could take a reopening SYN; without one the
 * SYN is challenged like any other and the 4-tuple stays in TIME-WAIT.
 */
export function timeWaitInput(
  tw: TimeWaitFacts,
  seg: Segment,
  policy: TimeWaitPolicy,
  canReopen = true,
): TimeWaitAction {
  const flags = seg.flags;
  // §3.10.7.4 MAY-2 reopens the 4-tuple for a new connection; with nobody listening
  // there is none to open (Linux then sends its TIME-WAIT ACK).
  const reopen = canReopen ? REOPEN : CHALLENGE_SYN;
  const hasTs = tw.tsOk && seg.tsVal !== undefined;

  if (flags & RST) {
    // RFC 1337: a RST must not assassinate TIME-WAIT (hazards H1-H3).
    if (policy.rfc1337) return DROP_1337;
    // RFC 5961 §3.2: exactly RCV.NXT closes, in window challenges, else drop.
    if (seg.seq === tw.rcvNxt) return CLOSE;
    if (seqInWindow(seg.seq, tw.rcvNxt, seqAdd(tw.rcvNxt, Math.max(tw.rcvWnd, 1)))) {
      return CHALLENGE_RST;
    }
    return DROP_RST_OOW;
  }

  if ((flags & SYN) && !(flags & ACK)) {
    // §3.10.7.4 (MAY-2, SHLD-4) and RFC 6191 §2: a new SYN may reopen the
    // 4-tuple when it cannot be an old duplicate: its timestamp is newer than
    // TS.Recent (or equal with a higher SEQ), or, without timestamps, its SEQ is
    // beyond RCV.NXT of the old incarnation.
    if (policy.timeWaitReopen === "seq-and-timestamp" && hasTs) {
      const ts = seg.tsVal!;
      if (seqGt(ts, tw.tsRecent)) return reopen;
      if (ts === tw.tsRecent && seqGt(seg.seq, tw.rcvNxt)) return reopen;
      // RFC 6191: otherwise silently drop, leaving TIME-WAIT as it is.
      return DROP_OLD_SYN;
    }
    if (policy.timeWaitReopen !== "never" && seqGt(seg.seq, tw.rcvNxt)) return reopen;
    // RFC 5961 §4: any other SYN gets a (rate-limited) challenge ACK.
    return CHALLENGE_SYN;
  }

  // RFC 7323 §5.3: PAWS rejects a segment whose timestamp is older than TS.Recent,
  // and acknowledges it so a live peer resynchronizes.
  if (policy.paws && hasTs && seqLt(seg.tsVal!, tw.tsRecent)) return PAWS_ACK;

  const len = seg.payload.length + ((flags & FIN) ? 1 : 0);
  if (flags & FIN) {
    // The only thing that should arrive: a retransmission of the peer's FIN (its
    // ACK was lost). Acknowledge it and restart the 2·MSL timeout.
    if (seqAdd(seg.seq, len) === tw.rcvNxt) return RE_ACK;
  }
  if (len > 0 || seg.seq !== tw.rcvNxt) {
    // §3.10.7.4 first check: an unacceptable segment is answered with an ACK. Pure
    // ACKs are rate limited (RFC 5961 §7) so two stacks cannot ACK-loop.
    return len > 0 ? DUP_ACK_DATA : DUP_ACK;
  }
  // An acceptable pure ACK: nothing to do in TIME-WAIT.
  return DROP_TW;
}
