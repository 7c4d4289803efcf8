/**
 * Endpoint counters: everything received, sent and dropped, by reason.
 *
 * @module
 */
import type { CloseReason, DropReason } from "../tcb/events.ts";
import type { DecodeFailure } from "../wire/segment.ts";

/** Counters kept by an {@linkcode Endpoint}. */
export interface EndpointStats {
  segmentsIn: number;
  segmentsOut: number;
  retransmissions: number;
  rstsIn: number;
  rstsOut: number;
  /** RSTs to no connection suppressed by the rate limit. */
  rstsRateLimited: number;
  /** Connections created (active and passive). */
  opened: number;
  /** Passive connections created by listeners. */
  accepted: number;
  transitions: number;
  /** Connections moved into the compact TIME-WAIT table. */
  timeWaitAdopted: number;
  /** Retransmitted FINs that restarted a compact record's 2·MSL. */
  timeWaitRestarts: number;
  /** Compact records evicted because the table was full. */
  timeWaitRecycled: number;
  closed: Record<CloseReason, number>;
  dropped: Record<DropReason, number>;
  malformed: Record<DecodeFailure, number>;
}

const DROP_REASONS: readonly DropReason[] = [
  "malformed",
  "bad-checksum",
  "no-connection",
  "listen-backlog-full",
  "not-acceptable",
  "paws",
  "rst-out-of-window",
  "rst-in-time-wait",
  "rst-challenged",
  "syn-challenged",
  "challenge-rate-limited",
  "ack-unacceptable",
  "no-ack",
  "bad-ack-syn-sent",
  "listen-unexpected",
  "time-wait",
  "data-after-fin",
  "out-of-order-full",
  "duplicate",
];

/** Fresh zeroed counters. */
export function newStats(): EndpointStats {
  return {
    segmentsIn: 0,
    segmentsOut: 0,
    retransmissions: 0,
    rstsIn: 0,
    rstsOut: 0,
    rstsRateLimited: 0,
    opened: 0,
    accepted: 0,
    transitions: 0,
    timeWaitAdopted: 0,
    timeWaitRestarts: 0,
    timeWaitRecycled: 0,
    closed: { normal: 0, reset: 0, refused: 0, timeout: 0, aborted: 0 },
    dropped: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
    malformed: {
      "short-buffer": 0,
      "bad-data-offset": 0,
      "option-overrun": 0,
      "bad-option-length": 0,
      "syn-fin": 0,
      "syn-rst": 0,
      "bad-checksum": 0,
    },
  };
}
