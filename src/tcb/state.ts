/**
 * The eleven TCP states (RFC 9293 §3.3.2, Figure 5) and the one transition table
 * that the TCB, the tests, the docs and the UI legend all read.
 *
 * @module
 */

/** Connection states with the RFC's spellings, so traces read like RFC 9293. */
export const STATES = [
  "CLOSED",
  "LISTEN",
  "SYN-SENT",
  "SYN-RECEIVED",
  "ESTABLISHED",
  "FIN-WAIT-1",
  "FIN-WAIT-2",
  "CLOSE-WAIT",
  "CLOSING",
  "LAST-ACK",
  "TIME-WAIT",
] as const;

/** One of the eleven states. */
export type State = typeof STATES[number];

/** Why a state changed. Written beside the arrow in traces and the UI. */
export type Cause =
  | "open" // active OPEN (§3.10.1)
  | "listen" // passive OPEN (§3.10.1)
  | "rcv-syn" // SYN arrived in LISTEN or SYN-SENT (§3.10.7.2, §3.10.7.3)
  | "rcv-syn-ack" // our SYN acknowledged in SYN-SENT (§3.10.7.3)
  | "rcv-ack" // an ACK moved us on (§3.10.7.4, fifth check)
  | "rcv-fin" // the peer's FIN (§3.10.7.4, eighth check)
  | "close" // user CLOSE (§3.10.4)
  | "rcv-rst" // an acceptable RST (§3.10.7.4, second check)
  | "abort" // user ABORT (§3.10.5), linger 0, close with unread data
  | "data-after-close" // data arrived after a full close: RST (RFC 2525)
  | "retransmit-timeout" // R2 reached (§3.8.3)
  | "user-timeout" // USER TIMEOUT (§3.10.8, RFC 5482)
  | "fin-wait-2-timeout" // orphan held too long in FIN-WAIT-2
  | "time-wait-expired" // 2·MSL elapsed (§3.10.8)
  | "reopened" // a new SYN took over the TIME-WAIT 4-tuple (§3.10.7.4, RFC 6191)
  | "recycled"; // TIME-WAIT table full: oldest entry dropped

/** States in which both sides' ISNs are known (RFC 9293 §3.5 "synchronized"). */
export function isSynchronized(s: State): boolean {
  return s !== "CLOSED" && s !== "LISTEN" && s !== "SYN-SENT" && s !== "SYN-RECEIVED";
}

/** A legal transition, with the causes that may drive it. */
export interface Transition {
  from: State;
  to: State;
  causes: readonly Cause[];
}

const RESETS: readonly Cause[] = [
  "rcv-rst",
  "abort",
  "data-after-close",
  "retransmit-timeout",
  "user-timeout",
];

/**
 * Every state change finwait can make (RFC 9293 Figure 5 plus the close paths of
 * §3.6, §3.10 and RFC 1337/5961/6191). `setState` refuses anything else.
 */
export const TRANSITIONS: readonly Transition[] = [
  { from: "CLOSED", to: "LISTEN", causes: ["listen"] },
  { from: "CLOSED", to: "SYN-SENT", causes: ["open"] },
  { from: "LISTEN", to: "SYN-RECEIVED", causes: ["rcv-syn"] },
  { from: "LISTEN", to: "CLOSED", causes: ["close", "abort"] },
  { from: "SYN-SENT", to: "SYN-RECEIVED", causes: ["rcv-syn"] },
  { from: "SYN-SENT", to: "ESTABLISHED", causes: ["rcv-syn-ack"] },
  { from: "SYN-SENT", to: "CLOSED", causes: ["close", ...RESETS] },
  { from: "SYN-RECEIVED", to: "ESTABLISHED", causes: ["rcv-ack"] },
  { from: "SYN-RECEIVED", to: "FIN-WAIT-1", causes: ["close"] },
  { from: "SYN-RECEIVED", to: "CLOSED", causes: RESETS },
  { from: "ESTABLISHED", to: "FIN-WAIT-1", causes: ["close"] },
  { from: "ESTABLISHED", to: "CLOSE-WAIT", causes: ["rcv-fin"] },
  { from: "ESTABLISHED", to: "CLOSED", causes: RESETS },
  { from: "FIN-WAIT-1", to: "FIN-WAIT-2", causes: ["rcv-ack"] },
  { from: "FIN-WAIT-1", to: "CLOSING", causes: ["rcv-fin"] },
  { from: "FIN-WAIT-1", to: "TIME-WAIT", causes: ["rcv-fin"] },
  { from: "FIN-WAIT-1", to: "CLOSED", causes: RESETS },
  { from: "FIN-WAIT-2", to: "TIME-WAIT", causes: ["rcv-fin"] },
  { from: "FIN-WAIT-2", to: "CLOSED", causes: [...RESETS, "fin-wait-2-timeout"] },
  { from: "CLOSE-WAIT", to: "LAST-ACK", causes: ["close"] },
  { from: "CLOSE-WAIT", to: "CLOSED", causes: RESETS },
  { from: "CLOSING", to: "TIME-WAIT", causes: ["rcv-ack"] },
  { from: "CLOSING", to: "CLOSED", causes: RESETS },
  { from: "LAST-ACK", to: "CLOSED", causes: ["rcv-ack", ...RESETS] },
  {
    from: "TIME-WAIT",
    to: "CLOSED",
    causes: ["time-wait-expired", "rcv-rst", "abort", "reopened", "recycled"],
  },
  // RFC 9293 §3.5.2 (SHOULD, off by default): the side that sends a RST may hold
  // the 4-tuple in TIME-WAIT so that old duplicates die out.
  { from: "ESTABLISHED", to: "TIME-WAIT", causes: ["abort", "data-after-close"] },
  { from: "FIN-WAIT-2", to: "TIME-WAIT", causes: ["abort", "data-after-close"] },
  { from: "CLOSE-WAIT", to: "TIME-WAIT", causes: ["abort"] },
  { from: "FIN-WAIT-1", to: "TIME-WAIT", causes: ["abort", "data-after-close"] },
  { from: "CLOSING", to: "TIME-WAIT", causes: ["abort"] },
  { from: "LAST-ACK", to: "TIME-WAIT", causes: ["abort"] },
];

const CAUSES = [
  "open",
  "listen",
  "rcv-syn",
  "rcv-syn-ack",
  "rcv-ack",
  "rcv-fin",
  "close",
  "rcv-rst",
  "abort",
  "data-after-close",
  "retransmit-timeout",
  "user-timeout",
  "fin-wait-2-timeout",
  "time-wait-expired",
  "reopened",
  "recycled",
] as const satisfies readonly Cause[];
// Every cause must be in the list above: this line fails to type-check otherwise.
const _allCauses: Record<Exclude<Cause, typeof CAUSES[number]>, never> = {};

/**
 * Each state's position in {@linkcode STATES} as a constant, for callers that know
 * the state they name: `StateIndex["FIN-WAIT-1"]` folds to 5 where
 * {@linkcode stateIndex} looks the name up at run time.
 */
export const StateIndex = {
  "CLOSED": 0,
  "LISTEN": 1,
  "SYN-SENT": 2,
  "SYN-RECEIVED": 3,
  "ESTABLISHED": 4,
  "FIN-WAIT-1": 5,
  "FIN-WAIT-2": 6,
  "CLOSE-WAIT": 7,
  "CLOSING": 8,
  "LAST-ACK": 9,
  "TIME-WAIT": 10,
} as const satisfies Record<State, number>;

/** The position of `s` in {@linkcode STATES}, -1 for anything else. */
export function stateIndex(s: State): number {
  return Object.hasOwn(StateIndex, s) ? StateIndex[s] : -1;
}

/** The bit of `c` in the transition table: 1 << its position in CAUSES, 0 if unknown. */
export function causeBit(c: Cause): number {
  switch (c) {
    case "open":
      return 1 << 0;
    case "listen":
      return 1 << 1;
    case "rcv-syn":
      return 1 << 2;
    case "rcv-syn-ack":
      return 1 << 3;
    case "rcv-ack":
      return 1 << 4;
    case "rcv-fin":
      return 1 << 5;
    case "close":
      return 1 << 6;
    case "rcv-rst":
      return 1 << 7;
    case "abort":
      return 1 << 8;
    case "data-after-close":
      return 1 << 9;
    case "retransmit-timeout":
      return 1 << 10;
    case "user-timeout":
      return 1 << 11;
    case "fin-wait-2-timeout":
      return 1 << 12;
    case "time-wait-expired":
      return 1 << 13;
    case "reopened":
      return 1 << 14;
    case "recycled":
      return 1 << 15;
    default:
      return 0;
  }
}

/** The causes in bit order (for tests of {@linkcode causeBit}). */
export const CAUSE_ORDER: readonly Cause[] = CAUSES;

/** The number of states. */
export const STATE_COUNT: number = STATES.length;

/** For each (from, to) pair of state indexes, the bit set of the causes the table allows. */
const ALLOWED_CAUSES = new Int32Array(STATE_COUNT * STATE_COUNT);
for (const t of TRANSITIONS) {
  const k = stateIndex(t.from) * STATE_COUNT + stateIndex(t.to);
  for (const c of t.causes) ALLOWED_CAUSES[k] |= causeBit(c);
}

/**
 * Whether the table allows `STATES[from] → STATES[to]` for `cause`, by state index
 * (`from` and `to` must be valid indexes): the TCB's check on every transition.
 */
export function isAllowedAt(from: number, to: number, cause: Cause): boolean {
  return (ALLOWED_CAUSES[from * STATE_COUNT + to] & causeBit(cause)) !== 0;
}

/** Whether the table allows `from → to` for `cause`. */
export function isAllowedTransition(from: State, to: State, cause: Cause): boolean {
  const f = stateIndex(from);
  const t = stateIndex(to);
  return f >= 0 && t >= 0 && isAllowedAt(f, t, cause);
}
