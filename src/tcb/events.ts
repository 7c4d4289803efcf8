/**
 * Events: the one way anything outside the core learns what happened. Traces, the
 * UI, pcap export and tests all read these.
 *
 * @module
 */
import type { Segment } from "../wire/segment.ts";
import type { Cause, State } from "./state.ts";

/** Why a connection ended, as the application is told (RFC 9293 §3.10.7). */
export type CloseReason =
  | "normal" // FIN handshake completed
  | "reset" // the peer sent an acceptable RST ("connection reset")
  | "refused" // RST in reply to our SYN ("connection refused")
  | "timeout" // retransmission, user or FIN-WAIT-2 timeout
  | "aborted"; // we aborted (user abort, linger 0, unread data, data after close)

/** Why a segment was dropped without effect on any connection's state. */
export type DropReason =
  | "malformed" // decode failed; `detail` holds the codec's reason
  | "bad-checksum"
  | "no-connection" // answered with RST unless it was a RST (§3.10.7.1)
  | "listen-backlog-full"
  | "not-acceptable" // outside the receive window (§3.10.7.4, first check)
  | "paws" // RFC 7323 §5
  | "rst-out-of-window" // RFC 5961 §3.2
  | "rst-in-time-wait" // RFC 1337
  | "rst-challenged" // in-window RST not at RCV.NXT: challenge ACK sent (RFC 5961 §3.2)
  | "syn-challenged" // SYN in a synchronized state (RFC 5961 §4)
  | "challenge-rate-limited" // the challenge ACK was suppressed by the rate limit
  | "ack-unacceptable" // ACK for data never sent (§3.10.7.4, fifth check)
  | "no-ack" // ACK bit off in a synchronized state
  | "bad-ack-syn-sent" // unacceptable ACK in SYN-SENT
  | "listen-unexpected" // ACK or stray segment to a listener
  | "time-wait" // duplicate or stray segment in TIME-WAIT
  | "data-after-fin" // payload beyond the peer's FIN
  | "out-of-order-full" // reassembly queue full
  | "duplicate"; // old duplicate that only needed an ACK

/** Per-connection counters (see `Tcb.counters`). */
export interface ConnectionCounters {
  segmentsIn: number;
  segmentsOut: number;
  retransmissions: number;
  bytesSent: number;
  bytesAcked: number;
  bytesReceived: number;
  rstsSent: number;
  challengeAcks: number;
}

/**
 * A copy of `c`, as one literal of a fixed shape: ~8 ns here, where an object spread
 * took ~14 ns (it copies key by key).
 */
export function copyCounters(c: ConnectionCounters): ConnectionCounters {
  return {
    segmentsIn: c.segmentsIn,
    segmentsOut: c.segmentsOut,
    retransmissions: c.retransmissions,
    bytesSent: c.bytesSent,
    bytesAcked: c.bytesAcked,
    bytesReceived: c.bytesReceived,
    rstsSent: c.rstsSent,
    challengeAcks: c.challengeAcks,
  };
}

/** Counters at zero: a new connection's (and a compact TIME-WAIT record's, which keeps none). */
export function newCounters(): ConnectionCounters {
  return {
    segmentsIn: 0,
    segmentsOut: 0,
    retransmissions: 0,
    bytesSent: 0,
    bytesAcked: 0,
    bytesReceived: 0,
    rstsSent: 0,
    challengeAcks: 0,
  };
}

/** A connection handle, unique within one endpoint for its lifetime. */
export type ConnId = number;

/** Everything the engine reports, as a discriminated union on `type`. */
export type TcbEvent =
  | {
    type: "state-changed";
    conn: ConnId;
    from: State;
    to: State;
    cause: Cause;
    now: number;
    /**
     * The connection's final counters, on entering TIME-WAIT: the endpoint may then
     * keep only a compact record, whose `info()` no longer has them.
     */
    counters?: ConnectionCounters;
  }
  | {
    type: "segment-sent";
    conn: ConnId | undefined;
    /** The event's own copy, payload bytes included (the send buffer moves on). */
    segment: Segment;
    /** True when this repeats sequence space already sent (RTO, probe, FIN again). */
    retransmission: boolean;
    now: number;
  }
  | {
    type: "segment-received";
    conn: ConnId | undefined;
    /** The event's own copy, payload bytes included (the caller may reuse its buffer). */
    segment: Segment;
    now: number;
  }
  | {
    type: "segment-dropped";
    conn: ConnId | undefined;
    segment: Segment | undefined;
    reason: DropReason;
    detail?: string;
    now: number;
  }
  | { type: "data"; conn: ConnId; length: number; now: number }
  | { type: "peer-closed"; conn: ConnId; now: number }
  | { type: "closed"; conn: ConnId; reason: CloseReason; now: number };

/** The `type` of a {@linkcode TcbEvent}. */
export type TcbEventType = TcbEvent["type"];
