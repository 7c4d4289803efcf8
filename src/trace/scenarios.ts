/**
 * Headless close-path scenarios between peer A (10.0.0.1) and peer B (10.0.0.2) on
 * the simulated network. Each sets up an established connection (A's SND.NXT at
 * 100, B's at 300, as in RFC 9293 Figures 12 and 13), then plays its close. Traces,
 * the CLI, tests and the UI all run these.
 *
 * Sans-IO: virtual time only.
 *
 * @module
 */
import type { Endpoint } from "../endpoint/endpoint.ts";
import type { ConnId } from "../tcb/events.ts";
import type { TcbOptions } from "../tcb/options.ts";
import type { State } from "../tcb/state.ts";
import { World } from "../sim/world.ts";

/** Peer A's and B's addresses and B's service port. */
export const PEER_A = "10.0.0.1";
export const PEER_B = "10.0.0.2";
export const SERVICE_PORT = 80;
/** A's port (fixed, so a reopen can reuse the 4-tuple). */
export const CLIENT_PORT = 49152;

/** Settings shared by every scenario. */
export interface ScenarioOptions {
  /** Seed of the simulated network. */
  seed: number;
  /** Loss probability on both directions once the connection is established. */
  loss: number;
  /** Maximum segment lifetime in ms (TIME-WAIT lasts twice this). */
  msl: number;
  /** One-way delay in ms. */
  delay: number;
  /** Extra connection options for both peers. */
  tcb?: Partial<TcbOptions>;
}

/** Defaults: a 10 ms link, MSL scaled down to 1 s so a trace ends quickly. */
export const DEFAULT_SCENARIO_OPTIONS: Readonly<ScenarioOptions> = Object.freeze({
  seed: 1,
  loss: 0,
  msl: 1000,
  delay: 10,
});

/** A played scenario. */
export interface ScenarioRun {
  name: string;
  world: World;
  /** Index in `world.log` where the close begins (the handshake comes before). */
  start: number;
  /** Both peers' states when the trace starts. */
  initial: { a: State; b: State };
  /** True when both endpoints hold no connection at the end. */
  finished: boolean;
}

/** A scenario: a name, a one-line description and how to play it. */
export interface Scenario {
  name: string;
  description: string;
  /** Default loss when the user gives none. */
  defaultLoss?: number;
  /** Plays the close on an established pair. */
  play(s: Stage): void;
}

/** What a scenario's `play` gets: the world, both endpoints and the connections. */
export interface Stage {
  world: World;
  a: Endpoint;
  b: Endpoint;
  /** A's connection and B's connection. */
  ca: ConnId;
  cb: ConnId;
  opts: ScenarioOptions;
  /** Time of the first close action (after the handshake). */
  t0: number;
}

const text = new TextEncoder();

/** Every scenario, by name. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: "normal-close",
    description: "A closes, B acknowledges, then B closes: RFC 9293 Figure 12",
    play({ world, ca, t0 }) {
      world.at(t0, PEER_A, "Close", (ep, now) => ep.close(ca, now));
      closeWhenPeerCloses(world, PEER_B, 20);
    },
  },
  {
    name: "simultaneous-close",
    description: "A and B close at the same moment; both pass CLOSING: Figure 13",
    play({ world, ca, cb, t0 }) {
      world.at(t0, PEER_A, "Close", (ep, now) => ep.close(ca, now));
      world.at(t0, PEER_B, "Close", (ep, now) => ep.close(cb, now));
    },
  },
  {
    name: "half-close",
    description: "A shuts down its send side; B keeps sending, then closes (§3.6.1)",
    play({ world, ca, cb, t0 }) {
      world.at(t0, PEER_A, "Shutdown", (ep, now) => ep.shutdown(ca, now));
      world.at(t0 + 50, PEER_B, "Send 100", (ep, now) => ep.send(cb, fill(100), now));
      world.at(t0 + 100, PEER_B, "Send 200", (ep, now) => ep.send(cb, fill(200), now));
      world.at(t0 + 150, PEER_B, "Close", (ep, now) => ep.close(cb, now));
      readEverything(world, PEER_A);
    },
  },
  {
    name: "abort",
    description: "A aborts: one RST, no FIN, no TIME-WAIT; B is told 'reset' (§3.10.5)",
    play({ world, ca, t0 }) {
      world.at(t0, PEER_A, "Abort", (ep, now) => ep.abort(ca, now));
    },
  },
  {
    name: "unread-data-rst",
    description: "B sends data A never reads; A's close becomes a RST (§3.10.4, RFC 2525)",
    play({ world, ca, cb, t0 }) {
      world.at(t0, PEER_B, "Send 64", (ep, now) => ep.send(cb, fill(64), now));
      world.at(t0 + 100, PEER_A, "Close", (ep, now) => ep.close(ca, now));
    },
  },
  {
    name: "time-wait-reopen",
    description: "B closes first and sits in TIME-WAIT; A's new SYN reopens it (RFC 6191)",
    play({ world, ca, cb, t0 }) {
      world.at(t0, PEER_B, "Close", (ep, now) => ep.close(cb, now));
      closeWhenPeerCloses(world, PEER_A, 20);
      world.at(t0 + 200, PEER_A, "Connect", (ep, now) => {
        ep.connect(PEER_B, SERVICE_PORT, now, { localPort: CLIENT_PORT });
      });
      // The reopened connection closes normally too, so the trace ends.
      let second = 0;
      world.onEvent((node, ev, _ep, w) => {
        if (node !== PEER_A || ev.type !== "state-changed" || ev.to !== "ESTABLISHED") return;
        if (ev.conn === ca || second !== 0) return;
        second = ev.conn;
        w.at(w.now + 50, PEER_A, "Close", (e, now) => e.close(second, now));
      });
      closeWhenPeerCloses(world, PEER_B, 20);
    },
  },
  {
    name: "lossy-close",
    description: "A sends 3000 bytes and closes on a lossy link: retransmissions, FIN again",
    defaultLoss: 0.25,
    play({ world, ca, t0 }) {
      world.at(t0, PEER_A, "Send 3000", (ep, now) => ep.send(ca, fill(3000), now));
      world.at(t0, PEER_A, "Close", (ep, now) => ep.close(ca, now));
      readEverything(world, PEER_B);
      closeWhenPeerCloses(world, PEER_B, 20);
    },
  },
];

/** Looks a scenario up by name. */
export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}

/** Names of every scenario. */
export const SCENARIO_NAMES: readonly string[] = SCENARIOS.map((s) => s.name);

/**
 * Builds the world, opens the connection (A: ISS 99, B: ISS 299) on a perfect link,
 * then applies the loss and plays the scenario until both sides are CLOSED or the
 * virtual-time limit passes.
 */
export function runScenario(
  scenario: Scenario,
  partial: Partial<ScenarioOptions> = {},
  opts: { limit?: number; world?: (w: World) => void } = {},
): ScenarioRun {
  const o: ScenarioOptions = {
    ...DEFAULT_SCENARIO_OPTIONS,
    loss: scenario.defaultLoss ?? DEFAULT_SCENARIO_OPTIONS.loss,
    ...partial,
  };
  const world = new World({ seed: o.seed, link: { delay: o.delay } });
  opts.world?.(world);
  const secret = new Uint8Array(16);
  for (let i = 0; i < 16; i++) secret[i] = (o.seed * 31 + i * 17) & 0xff;
  const tcb: Partial<TcbOptions> = { msl: o.msl, ...o.tcb };
  const a = world.add({ address: PEER_A, secret, tcb });
  const b = world.add({ address: PEER_B, secret, tcb });
  b.listen(SERVICE_PORT, { iss: 299 });
  let ca = 0;
  world.act(PEER_A, "", (ep, now) => {
    ca = ep.connect(PEER_B, SERVICE_PORT, now, { iss: 99, localPort: CLIENT_PORT });
  });
  world.run(10_000, () =>
    a.state(ca) === "ESTABLISHED" && b.connections().length === 1 &&
    b.state(b.connections()[0]) === "ESTABLISHED");
  const cb = b.connections()[0];
  if (cb === undefined || a.state(ca) !== "ESTABLISHED") {
    throw new Error("Bug: the scenario's handshake did not complete");
  }
  // Let the last handshake segment's events settle, then start the close 100 ms on.
  world.run(world.now + 100);
  const start = world.log.length;
  if (o.loss > 0) {
    world.net.setLink(PEER_A, PEER_B, { loss: o.loss });
    world.net.setLink(PEER_B, PEER_A, { loss: o.loss });
  }
  const t0 = world.now;
  scenario.play({ world, a, b, ca, cb, opts: o, t0 });
  const limit = opts.limit ?? t0 + 20 * o.msl + 600_000;
  const done = () => a.size === 0 && b.size === 0 && world.now > t0;
  world.run(limit, done);
  return {
    name: scenario.name,
    world,
    start,
    initial: { a: "ESTABLISHED", b: "ESTABLISHED" },
    finished: done(),
  };
}

/** When `node`'s peer closes (on `conn`, or any connection), close after `delay` ms. */
function closeWhenPeerCloses(world: World, node: string, delay: number, conn?: ConnId): void {
  world.onEvent((n, ev, ep, w) => {
    if (n !== node || ev.type !== "peer-closed") return;
    if (conn !== undefined && ev.conn !== conn) return;
    const id = ev.conn;
    // Only a connection still waiting for our close (not one we closed already).
    if (ep.state(id) !== "CLOSE-WAIT") return;
    w.at(w.now + delay, node, "Close", (e, now) => e.close(id, now));
  });
}

/** `node`'s application reads every byte as it arrives. */
function readEverything(world: World, node: string): void {
  world.onEvent((n, ev, ep, w) => {
    if (n === node && ev.type === "data") ep.read(ev.conn, Infinity, w.now);
  });
}

function fill(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const pattern = text.encode("finwait ");
  for (let i = 0; i < n; i++) out[i] = pattern[i % pattern.length];
  return out;
}
