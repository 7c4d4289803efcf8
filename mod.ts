/**
 * finwait: a user-space TCP engine that makes connection termination visible,
 * correct (RFC 9293) and fast.
 *
 * This module is the sans-IO core: the wire codec, the connection state machine,
 * the endpoint that demultiplexes many connections, and the seeded virtual-time
 * network. Nothing here reads a clock, sleeps or does I/O: time (`now`, in ms) and
 * randomness (a seed, a secret) are passed in.
 *
 * The drain rule: after every input (`handleDatagram`, `handleTimeout`) and every
 * command (`connect`, `send`, `close`, ...), call `pollTransmit()` until it returns
 * `undefined`, then `pollEvent()` until it returns `undefined`, then call
 * `handleTimeout` no later than `pollTimeout()`.
 *
 * @example RFC 9293 Figure 12 between two endpoints on a simulated network
 * ```ts
 * import { World } from "./mod.ts";
 *
 * const secret = new Uint8Array(16);
 * const world = new World({ seed: 1, link: { delay: 10 } });
 * const a = world.add({ address: "10.0.0.1", secret, tcb: { msl: 1000 } });
 * const b = world.add({ address: "10.0.0.2", secret, tcb: { msl: 1000 } });
 * b.listen(80);
 * let conn = 0;
 * world.act("10.0.0.1", "connect", (ep, now) => conn = ep.connect("10.0.0.2", 80, now));
 * world.run(1000);
 * // B closes its side when it sees A's FIN.
 * world.onEvent((node, ev, ep, w) => {
 *   if (node === "10.0.0.2" && ev.type === "peer-closed") ep.close(ev.conn, w.now);
 * });
 * world.act("10.0.0.1", "close", (ep, now) => ep.close(conn, now));
 * world.run(10_000, () => a.size === 0 && b.size === 0);
 * const states = world.log.flatMap((e) =>
 *   e.kind === "event" && e.node === "10.0.0.1" && e.event.type === "state-changed"
 *     ? [e.event.to]
 *     : []
 * );
 * if (states.join(" ") !== "SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT CLOSED") {
 *   throw new Error(states.join(" "));
 * }
 * ```
 *
 * @module
 */
export * from "./src/wire/mod.ts";
export * from "./src/tcb/state.ts";
export * from "./src/tcb/events.ts";
export * from "./src/tcb/options.ts";
export {
  ConnectionStateError,
  SegmentVerdict,
  Tcb,
  type TcbHost,
  type TcbInit,
} from "./src/tcb/tcb.ts";
export {
  type TimeWaitAction,
  type TimeWaitFacts,
  timeWaitInput,
} from "./src/tcb/time_wait_rules.ts";
export {
  AddressInUseError,
  type ConnectionInfo,
  ConnectionNotFoundError,
  type ConnectOptions,
  Endpoint,
  type EndpointOptions,
  type ListenOptions,
  type PseudoHeader,
  type Transmit,
} from "./src/endpoint/endpoint.ts";
export type { EndpointStats } from "./src/endpoint/stats.ts";
export { IsnGenerator } from "./src/endpoint/isn.ts";
export * from "./src/sim/rng.ts";
export * from "./src/sim/netem.ts";
export * from "./src/sim/world.ts";
export * from "./src/trace/scenarios.ts";
export { renderFigure } from "./src/trace/figure.ts";
