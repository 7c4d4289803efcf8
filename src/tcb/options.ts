/**
 * Every setting of a connection in one typed object, with finwait's defaults from
 * the behaviour table (REFERENCE.md, README "Behaviour").
 *
 * @module
 */

import type { CongestionControlKind } from "./congestion.ts";

/** How a SYN may reopen a 4-tuple in TIME-WAIT (RFC 9293 §3.10.7.4, RFC 6191). */
export type TimeWaitReopen = "seq-and-timestamp" | "seq" | "never";

/** Connection settings. All durations in milliseconds. */
export interface TcbOptions {
  /** MSS we announce and cap our segments at (§3.7.1). */
  mss: number;
  /** Receive buffer in bytes; the advertised window is what is free of it. */
  rcvBuffer: number;
  /** Send buffer in bytes; `send` accepts at most what is free of it. */
  sndBuffer: number;
  /** Window scale shift we offer (RFC 7323 §2), or `undefined` to not offer. */
  windowScale: number | undefined;
  /** Offer timestamps (RFC 7323 §3). */
  timestamps: boolean;
  /** Initial RTO before any RTT sample (RFC 6298 §2.1). */
  rtoInitial: number;
  /** RTO floor (RFC 6298 §2.4; Linux uses 200 ms). */
  rtoMin: number;
  /** RTO ceiling (RFC 6298 §2.5). */
  rtoMax: number;
  /** Retransmissions of one segment before giving up (R2, §3.8.3). */
  maxRetries: number;
  /** Retransmissions before giving up once the application has closed (orphan). */
  orphanRetries: number;
  /** SYN retransmissions before giving up (R2 for SYN, §3.8.3). */
  synRetries: number;
  /** Maximum segment lifetime; TIME-WAIT lasts 2·MSL (§3.4.2). */
  msl: number;
  /** Ignore RST in TIME-WAIT (RFC 1337). */
  rfc1337: boolean;
  /** Which SYNs may reopen a TIME-WAIT 4-tuple. */
  timeWaitReopen: TimeWaitReopen;
  /** Protect against wrapped sequences with timestamps when negotiated (RFC 7323 §5). */
  paws: boolean;
  /** Minimum spacing of challenge ACKs per connection (RFC 5961 §7). */
  challengeAckInterval: number;
  /** Close with unread received data sends RST (§3.10.4, RFC 2525 §2.17). */
  rstOnUnreadClose: boolean;
  /** How long an orphan may sit in FIN-WAIT-2 (Linux tcp_fin_timeout). */
  finWait2Timeout: number;
  /** User timeout (§3.8.4, RFC 5482): abort when data stays unacknowledged this long; 0 = off. */
  userTimeout: number;
  /** Delayed ACK (§3.8.6.3); 0 sends every ACK at once. */
  delayedAck: number;
  /** Hold the 4-tuple in TIME-WAIT after sending a RST (§3.5.2 SHOULD). */
  rstSenderTimeWait: boolean;
  /** Close sends RST and no FIN (SO_LINGER with a zero timeout). */
  lingerZero: boolean;
  /**
   * Congestion control (RFC 5681 with NewReno recovery, RFC 6582), or `"none"`: the
   * sender is then limited by the peer's window alone and recovers by RTO only.
   */
  congestionControl: CongestionControlKind;
}

/** finwait's defaults: one column of the behaviour table. */
export const DEFAULT_TCB_OPTIONS: Readonly<TcbOptions> = Object.freeze({
  mss: 1460,
  rcvBuffer: 256 * 1024,
  sndBuffer: 256 * 1024,
  windowScale: 7,
  timestamps: true,
  rtoInitial: 1000,
  rtoMin: 200,
  rtoMax: 60_000,
  maxRetries: 15,
  orphanRetries: 8,
  synRetries: 6,
  msl: 30_000,
  rfc1337: true,
  timeWaitReopen: "seq-and-timestamp",
  paws: true,
  challengeAckInterval: 500,
  rstOnUnreadClose: true,
  finWait2Timeout: 60_000,
  userTimeout: 0,
  delayedAck: 40,
  rstSenderTimeWait: false,
  lingerZero: false,
  congestionControl: "newreno",
});

/** Merges a partial set of options over the defaults. */
export function tcbOptions(partial: Partial<TcbOptions> = {}): TcbOptions {
  return { ...DEFAULT_TCB_OPTIONS, ...partial };
}
