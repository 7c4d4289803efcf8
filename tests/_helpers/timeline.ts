/**
 * Small read-outs over a fixture's event log for the per-state tests: when segments
 * went out, which transitions happened, and a fixture with B's window open.
 */
import { FIN, RST, type Segment, SYN } from "../../src/wire/segment.ts";
import { formatSegment } from "../../src/wire/rfc_notation.ts";
import type { State } from "../../src/tcb/state.ts";
import { type Fixture, fixture, type FixtureOptions } from "./fixture.ts";

/** B's usual open window in these tests. */
export const PEER_WINDOW = 65535;

/** `fixture` with B advertising {@linkcode PEER_WINDOW} unless told otherwise. */
export function open(state: State, opts: FixtureOptions = {}): Fixture {
  return fixture(state, { peerWindow: PEER_WINDOW, ...opts });
}

/** One segment A sent, with the time and whether the engine called it a retransmission. */
export interface SentRecord {
  now: number;
  text: string;
  retransmission: boolean;
  segment: Segment;
}

/** Every segment A sent (all connections and connection-less RSTs), in order. */
export function sentLog(t: Fixture): SentRecord[] {
  const out: SentRecord[] = [];
  for (const e of t.events) {
    if (e.type === "segment-sent") {
      out.push({
        now: e.now,
        text: formatSegment(e.segment),
        retransmission: e.retransmission,
        segment: e.segment,
      });
    }
  }
  return out;
}

/** Times at which A sent a segment with any of the control bits in `flags`. */
export function sentTimes(t: Fixture, flags: number, since = -Infinity): number[] {
  return sentLog(t)
    .filter((r) => (r.segment.flags & flags) !== 0 && r.now >= since)
    .map((r) => r.now);
}

/** Differences between consecutive times. */
export function gaps(times: number[]): number[] {
  return times.slice(1).map((x, i) => x - times[i]);
}

/** `from → to (cause)` for every transition of the connection under test. */
export function transitions(t: Fixture): string[] {
  const out: string[] = [];
  for (const e of t.events) {
    if (e.type === "state-changed" && e.conn === t.conn) {
      out.push(`${e.from} → ${e.to} (${e.cause})`);
    }
  }
  return out;
}

/** Transitions after the fixture reached its starting state. */
export function transitionsSince(t: Fixture, mark: number): string[] {
  return transitions(t).slice(mark);
}

/** Events of one type for the connection under test. */
export function eventsOf<T extends Fixture["events"][number]["type"]>(
  t: Fixture,
  type: T,
): Extract<Fixture["events"][number], { type: T }>[] {
  return t.events.filter((e) => e.type === type) as Extract<
    Fixture["events"][number],
    { type: T }
  >[];
}

/** Bytes delivered to the application by `data` events. */
export function dataDelivered(t: Fixture): number {
  return eventsOf(t, "data").reduce((n, e) => n + e.length, 0);
}

/** Control bits, re-exported for readable filters. */
export { FIN, RST, SYN };
