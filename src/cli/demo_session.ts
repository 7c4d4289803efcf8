/**
 * The `finwait demo` session: a trace scenario on the simulated network, played in
 * real time by the {@linkcode SimDriver}, adapted to the UI's {@linkcode UiSource}.
 * Key presses arrive here as commands and become engine calls; the applications on
 * A and B (read what arrives, close back when the peer closes) live here too. The
 * UI itself never sees the engine.
 *
 * @module
 */
import type { Endpoint } from "../endpoint/endpoint.ts";
import type { World, WorldEntry } from "../sim/world.ts";
import type { ConnId, TcbEvent } from "../tcb/events.ts";
import type { State } from "../tcb/state.ts";
import {
  findScenario,
  PEER_A,
  PEER_B,
  runScenario,
  type Scenario,
  SCENARIO_NAMES,
  SERVICE_PORT,
  type Stage,
} from "../trace/scenarios.ts";
import {
  type DriverBatch,
  type RealClock,
  SimDriver,
  SYSTEM_CLOCK,
} from "../../transports/sim_driver.ts";
import type { CommandReply, Target, UiCommand, UiInput, UiSource, UiStatus } from "../ui/source.ts";
import { percent, speedText } from "../ui/format.ts";
import { UsageError } from "./trace_cmd.ts";
import { openPcapFile } from "./pcap_file.ts";
import { writeLogPcap } from "../trace/pcap.ts";

/** Settings of a demo session. */
export interface DemoOptions {
  scenario: string;
  seed: number;
  /** Loss after the handshake; `undefined` takes the scenario's default. */
  loss?: number;
  /** Virtual ms per real ms; Infinity runs flat out (line output). */
  speed: number;
  /** MSL in ms. */
  msl: number;
  /** One-way delay in ms. */
  delay: number;
  /** Real ms the established connection is shown before the scenario plays. */
  hold: number;
  /** Connections opened per virtual second in storm mode. */
  stormRate: number;
  clock?: RealClock;
  /** Directory for `p` (pcap); default the working directory. */
  pcapDir?: string;
}

/** Defaults for `finwait demo`: slow enough to follow, TIME-WAIT a few seconds long. */
export const DEMO_DEFAULTS = {
  scenario: "normal-close",
  seed: 1,
  // A 50 ms hop takes a second; the scenarios' 20 ms application delays stay visible
  // and their timings (time-wait-reopen's reconnect after 200 ms) still hold.
  speed: 0.05,
  msl: 150,
  delay: 50,
  hold: 2000,
  stormRate: 200,
} as const;

/** Loss rates `l` cycles through. */
export const LOSS_STEPS: readonly number[] = [0, 0.05, 0.1, 0.25, 0.5];
/** What the applications wait before they close back, ms (as the scenarios do). */
const APP_DELAY = 20;
/** How long a storm connection stays open, ms. */
const STORM_HOLD = 50;
/** Bytes `w` writes. */
const WRITE_BYTES = 200;
/** Segment events kept for `p`. */
const PCAP_KEEP = 200_000;

/** What the applications do on one connection (keyed by A's port). */
interface Policy {
  /** Read everything as it arrives. */
  read: boolean;
  /** Close back when the peer's FIN arrives (not after a half-close). */
  closeBack: boolean;
}

const SENDING: ReadonlySet<State> = new Set(["ESTABLISHED", "CLOSE-WAIT"]);

/** A demo: the UI's source. */
export class DemoSession implements UiSource {
  readonly nodes = [{ address: PEER_A, label: "A" }, { address: PEER_B, label: "B" }] as const;
  readonly driver: SimDriver;
  readonly scenario: Scenario;
  readonly options: DemoOptions;
  #clock: RealClock;
  #listeners: ((inputs: readonly UiInput[]) => void)[] = [];
  #holdTimer: unknown;
  #holding = false;
  /** The scenario's stage, until it plays (or the user takes over). */
  #stage: Stage | undefined;
  #tookOver = false;
  #holdEnds = 0;
  #stopped = false;
  #policies = new Map<number, Policy>();
  #ports = new Map<string, number>();
  #storm = false;
  #stormOpened = 0;
  #stormConns = new Set<ConnId>();
  #segments: WorldEntry[] = [];
  #totals = { segments: 0, lost: 0, duplicated: 0, retransmitted: 0 };
  #closed: Record<string, string[]> = { [PEER_A]: [], [PEER_B]: [] };

  constructor(opts: DemoOptions) {
    const scenario = findScenario(opts.scenario);
    if (!scenario) {
      throw new UsageError(
        `Unknown scenario "${opts.scenario}": choose one of ${SCENARIO_NAMES.join(", ")}`,
      );
    }
    this.scenario = scenario;
    this.options = opts;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    // Stage only: the handshake runs now; `play` is kept for when the hold ends, so a
    // user who acts first drives the close alone.
    const staging: Scenario = { ...scenario, play: (stage) => this.#stage = stage };
    const run = runScenario(staging, {
      seed: opts.seed,
      msl: opts.msl,
      delay: opts.delay,
      ...(opts.loss !== undefined ? { loss: opts.loss } : {}),
    }, {
      limit: 0,
      world: (w) => w.onEvent((node, ev, ep, world) => this.#apps(node, ev, ep, world)),
    });
    this.driver = new SimDriver(run.world, { speed: opts.speed, clock: this.#clock });
    this.driver.onBatch((b) => this.#batch(b));
  }

  get world(): World {
    return this.driver.world;
  }

  // ------------------------------------------------------------ UiSource

  subscribe(listener: (inputs: readonly UiInput[]) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  start(): void {
    const hold = this.options.hold;
    if (hold > 0 && Number.isFinite(this.options.speed)) {
      this.#holding = true;
      this.#holdEnds = this.#clock.now() + hold;
      this.driver.pause();
      this.#holdTimer = this.#clock.setTimer(
        () => this.#endHold({ play: true, paused: false }),
        hold,
      );
      this.driver.start();
    } else {
      this.driver.start();
      this.#play();
    }
  }

  /** Plays the scenario from now on. */
  #play(): void {
    const stage = this.#stage;
    this.#stage = undefined;
    if (!stage) return;
    this.driver.update((world) => this.scenario.play({ ...stage, t0: world.now }));
  }

  stop(): void {
    this.#stopped = true;
    this.#storm = false;
    if (this.#holdTimer !== undefined) this.#clock.clearTimer(this.#holdTimer);
    this.#holdTimer = undefined;
    this.driver.stop();
  }

  now(): number {
    return this.driver.now();
  }

  onError(listener: (error: unknown) => void): void {
    this.driver.onError(listener);
  }

  status(): UiStatus {
    const idle = !this.#holding && this.driver.idle();
    const live = this.#endpoint(PEER_A).size + this.#endpoint(PEER_B).size;
    let note = `${this.scenario.name}: ${this.scenario.description}`;
    if (this.#holding) {
      const left = Math.max(0, this.#holdEnds - this.#clock.now());
      note += ` · plays in ${Math.ceil(left / 1000)} s (or press c)`;
    } else if (this.#tookOver && !idle) {
      note = "Your close: watch both ends step through the states (? explains them)";
    } else if (this.#storm) {
      note = "Storm: every connection opens, sends, closes and waits in TIME-WAIT · t stops";
    } else if (idle && live === 0) {
      note =
        "All CLOSED. n opens a new connection; then c, C, s, h or a closes it · ? help · q quit";
    } else if (idle) {
      note = "Waiting for you: nothing is scheduled (C closes B, w writes, ? help)";
    }
    return {
      title: this.scenario.name,
      transport: "simulated network",
      seed: this.options.seed,
      loss: this.driver.loss,
      speed: this.driver.speed,
      msl: this.options.msl,
      paused: this.driver.paused && !this.#holding,
      storm: this.#storm ? { rate: this.options.stormRate, opened: this.#stormOpened } : undefined,
      note,
      idle,
    };
  }

  command(cmd: UiCommand): CommandReply {
    if (this.#stopped) return undefined;
    if (this.#holding) {
      if (cmd.type === "quit") return undefined;
      // A close of the user's own replaces the scenario's; anything else starts it.
      const own = cmd.type === "close" || cmd.type === "simultaneous-close" ||
        cmd.type === "half-close" || cmd.type === "abort";
      this.#tookOver = own;
      this.#endHold({ play: !own, paused: cmd.type === "pause" || cmd.type === "step" });
      if (cmd.type === "pause") return "Paused (space resumes, . steps)";
    }
    switch (cmd.type) {
      case "close":
        return this.#close(cmd.node, cmd.target);
      case "simultaneous-close":
        return this.#simultaneous(cmd.target);
      case "half-close":
        return this.#halfClose(cmd.node, cmd.target);
      case "abort":
        return this.#abort(cmd.node, cmd.target);
      case "new":
        return this.#open();
      case "write":
        return this.#write(cmd.target);
      case "pause":
        if (this.driver.paused) {
          this.driver.resume();
          return "Running";
        }
        this.driver.pause();
        return "Paused (space resumes, . steps)";
      case "step":
        if (!this.driver.paused) this.driver.pause();
        return this.driver.step() ? undefined : "Nothing is scheduled";
      case "speed":
        this.driver.speed = this.driver.speed * cmd.factor;
        return `Speed ${speedText(this.driver.speed)}`;
      case "loss": {
        const now = this.driver.loss;
        const next = LOSS_STEPS.find((p) => p > now + 1e-9) ?? 0;
        this.driver.setLoss(next);
        return `Loss ${percent(next)} both ways`;
      }
      case "storm":
        return this.#toggleStorm();
      case "pcap":
        return this.#pcap();
      case "quit":
        return undefined;
    }
  }

  summary(): string {
    const side = (addr: string, label: string) => {
      const size = this.#endpoint(addr).size;
      const r = this.#closed[addr];
      const end = size === 0 ? "CLOSED" : `${size} open`;
      const reasons = r.length > 3 ? `${r.length} closed` : r.join(", ");
      return `${label} ${end}${reasons ? ` (${reasons})` : ""}`;
    };
    const t = this.#totals;
    return `demo ${this.scenario.name}: ${side(PEER_A, "A")}, ${side(PEER_B, "B")}; ` +
      `${t.segments} segments, ${t.lost} lost, ${t.duplicated} duplicated, ` +
      `${t.retransmitted} retransmitted; virtual time ${(this.world.now / 1000).toFixed(3)} s`;
  }

  // ------------------------------------------------------------ commands

  #endHold(o: { play: boolean; paused: boolean }): void {
    if (!this.#holding) return;
    this.#holding = false;
    if (this.#holdTimer !== undefined) this.#clock.clearTimer(this.#holdTimer);
    this.#holdTimer = undefined;
    if (o.play) this.#play();
    else this.#stage = undefined;
    if (!o.paused) this.driver.resume();
  }

  #conn(node: string, target: Target): { ep: Endpoint; id: ConnId } | string {
    const id = target[node];
    const label = node === PEER_A ? "A" : "B";
    if (id === undefined) return `No open connection on ${label} is selected (n opens one)`;
    return { ep: this.#endpoint(node), id };
  }

  #close(node: string, target: Target): CommandReply {
    const c = this.#conn(node, target);
    if (typeof c === "string") return c;
    const state = c.ep.state(c.id);
    const label = node === PEER_A ? "A" : "B";
    if (state !== "ESTABLISHED" && state !== "CLOSE-WAIT" && !state.startsWith("SYN")) {
      return `${label} #${c.id} is ${state}: nothing to close`;
    }
    const pol = this.#policyOf(node, c.id, c.ep);
    if (pol) pol.closeBack = true;
    this.driver.act(node, "Close", (ep, now) => ep.close(c.id, now));
    return undefined;
  }

  #simultaneous(target: Target): CommandReply {
    const a = this.#conn(PEER_A, target);
    const b = this.#conn(PEER_B, target);
    if (typeof a === "string") return a;
    if (typeof b === "string") return b;
    if (a.ep.state(a.id) !== "ESTABLISHED" || b.ep.state(b.id) !== "ESTABLISHED") {
      return "Simultaneous close needs both ends ESTABLISHED";
    }
    // Both calls at the same virtual instant: the FINs cross on the wire.
    this.driver.act(PEER_A, "Close", (ep, now) => ep.close(a.id, now));
    this.driver.act(PEER_B, "Close", (ep, now) => ep.close(b.id, now));
    return undefined;
  }

  #halfClose(node: string, target: Target): CommandReply {
    const c = this.#conn(node, target);
    if (typeof c === "string") return c;
    const state = c.ep.state(c.id);
    if (!SENDING.has(state)) return `Half-close needs ESTABLISHED or CLOSE-WAIT, not ${state}`;
    const pol = this.#policyOf(node, c.id, c.ep);
    if (pol) {
      pol.read = true;
      pol.closeBack = false;
    }
    this.driver.act(node, "Shutdown", (ep, now) => ep.shutdown(c.id, now));
    return "Half-close: the other side may still send (w); C then closes B";
  }

  #abort(node: string, target: Target): CommandReply {
    const c = this.#conn(node, target);
    if (typeof c === "string") return c;
    this.driver.act(node, "Abort", (ep, now) => ep.abort(c.id, now));
    return undefined;
  }

  #open(): CommandReply {
    let reply: CommandReply;
    this.driver.act(PEER_A, "Connect", (ep, now) => {
      try {
        // ISS 99, as the scenarios (RFC 9293's figures): SEQ=100 reads better than a
        // random ten-digit number, and each connection has its own 4-tuple anyway.
        const id = ep.connect(PEER_B, SERVICE_PORT, now, { iss: 99 });
        const port = ep.info(id)?.localPort;
        if (port !== undefined) this.#policies.set(port, { read: true, closeBack: true });
      } catch (e) {
        reply = e instanceof Error ? e.message : String(e);
      }
    });
    return reply;
  }

  #write(target: Target): CommandReply {
    for (const node of [PEER_A, PEER_B]) {
      const id = target[node];
      if (id === undefined) continue;
      const ep = this.#endpoint(node);
      if (!SENDING.has(ep.state(id))) continue;
      for (const other of [PEER_A, PEER_B]) {
        const oid = target[other];
        if (oid === undefined) continue;
        const pol = this.#policyOf(other, oid, this.#endpoint(other));
        if (pol) pol.read = true;
      }
      this.driver.act(
        node,
        `Send ${WRITE_BYTES}`,
        (e, now) => e.send(id, payload(WRITE_BYTES), now),
      );
      return undefined;
    }
    return "Neither end of the selected connection can send now";
  }

  #toggleStorm(): CommandReply {
    this.#storm = !this.#storm;
    if (!this.#storm) return "Storm stopped: the connections left finish their close";
    if (this.driver.paused) this.driver.resume();
    let reply = `Storm: ${this.options.stormRate} connections per second`;
    if (this.driver.speed < 1) {
      this.driver.speed = 1;
      reply += " (speed 1×)";
    }
    this.driver.at(this.world.now, PEER_A, "", () => this.#stormTick());
    return reply;
  }

  #stormTick(): void {
    if (!this.#storm || this.#stopped) return;
    const a = this.#endpoint(PEER_A);
    const now = this.world.now;
    try {
      const id = a.connect(PEER_B, SERVICE_PORT, now);
      const port = a.info(id)?.localPort;
      if (port !== undefined) this.#policies.set(port, { read: true, closeBack: true });
      this.#stormConns.add(id);
      this.#stormOpened++;
    } catch {
      // Out of ports (every one in TIME-WAIT): skip this tick; the next may find one.
    }
    this.world.at(now + 1000 / this.options.stormRate, PEER_A, "", () => this.#stormTick());
  }

  /** Writes every segment so far (payload bytes as zeros) to a pcap file. */
  #pcap(): CommandReply {
    const dir = this.options.pcapDir ?? ".";
    const path = `${dir}/finwait-demo-${this.scenario.name}-seed${this.options.seed}.pcap`;
    try {
      const file = openPcapFile(path);
      let packets = 0;
      try {
        packets = writeLogPcap(this.#segments, file.writer, { nodes: [PEER_A, PEER_B] });
      } finally {
        file.close();
      }
      return `Saved ${packets} packets to ${path}`;
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }

  // ------------------------------------------------------ the applications

  /** A's port of the connection `id` on `node`: the key of its policy. */
  #portOf(node: string, id: ConnId, ep: Endpoint): number | undefined {
    const key = `${node}#${id}`;
    let port = this.#ports.get(key);
    if (port === undefined) {
      const info = ep.info(id);
      if (!info) return undefined;
      port = node === PEER_A ? info.localPort : info.remotePort;
      this.#ports.set(key, port);
    }
    return port;
  }

  #policyOf(node: string, id: ConnId, ep: Endpoint): Policy | undefined {
    const port = this.#portOf(node, id, ep);
    if (port === undefined) return undefined;
    let pol = this.#policies.get(port);
    if (!pol) this.#policies.set(port, pol = { read: false, closeBack: false });
    return pol;
  }

  /** What the applications on A and B do when their endpoint reports `ev`. */
  #apps(node: string, ev: TcbEvent, ep: Endpoint, world: World): void {
    switch (ev.type) {
      case "data": {
        const port = this.#portOf(node, ev.conn, ep);
        if (port !== undefined && this.#policies.get(port)?.read) {
          ep.read(ev.conn, Infinity, world.now);
        }
        break;
      }
      case "peer-closed": {
        const port = this.#portOf(node, ev.conn, ep);
        const id = ev.conn;
        if (port === undefined || !this.#policies.get(port)?.closeBack) break;
        if (ep.state(id) !== "CLOSE-WAIT") break;
        // After a scenario's own close-back would run, and only if that did not; long
        // enough (two one-way delays) that the other end's FIN-WAIT-2 can be seen.
        const wait = Math.max(APP_DELAY + 1, 2 * this.options.delay);
        world.at(world.now + wait, node, "", (e) => {
          if (e.state(id) === "CLOSE-WAIT") {
            world.act(node, "Close", (ep2, now) => ep2.close(id, now));
          }
        });
        break;
      }
      case "state-changed": {
        const id = ev.conn;
        if (node === PEER_A && ev.to === "ESTABLISHED" && this.#stormConns.has(id)) {
          this.#stormConns.delete(id);
          world.at(world.now + STORM_HOLD, PEER_A, "", (e, now) => {
            if (e.state(id) !== "ESTABLISHED") return;
            e.send(id, payload(100), now);
            e.close(id, now);
          });
        }
        if (ev.to === "CLOSED") this.#forget(node, id);
        break;
      }
      case "closed":
        this.#forget(node, ev.conn);
        break;
    }
  }

  #forget(node: string, id: ConnId): void {
    const key = `${node}#${id}`;
    const port = this.#ports.get(key);
    this.#ports.delete(key);
    this.#stormConns.delete(id);
    // A's end decides: once it is gone the pair needs no policy (B's end closed first or
    // closes on its own).
    if (node === PEER_A && port !== undefined) this.#policies.delete(port);
  }

  // ---------------------------------------------------------------- batches

  #batch(b: DriverBatch): void {
    const inputs: UiInput[] = [];
    for (const e of b.entries) {
      inputs.push(e);
      if (e.kind === "event") {
        const t = e.event.type;
        if (t === "segment-sent") {
          this.#totals.segments++;
          if (e.event.type === "segment-sent" && e.event.retransmission) {
            this.#totals.retransmitted++;
          }
        }
        if (t === "segment-sent" || t === "segment-received") {
          this.#segments.push(e);
          if (this.#segments.length > PCAP_KEEP) this.#segments.splice(0, PCAP_KEEP / 4);
        }
        if (e.event.type === "closed") {
          const list = this.#closed[e.node];
          if (list && list.length < 1000) list.push(e.event.reason);
        }
      } else if (e.kind === "net") {
        if (e.event.type === "lost") this.#totals.lost++;
        if (e.event.type === "duplicated") this.#totals.duplicated++;
      }
    }
    for (const s of b.snapshots) {
      inputs.push({ kind: "snapshot", at: s.at, node: s.node, info: s.info });
    }
    for (const l of this.#listeners) l(inputs);
  }

  #endpoint(addr: string): Endpoint {
    return this.world.endpoints.get(addr)!;
  }
}

function payload(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const text = new TextEncoder().encode("finwait ");
  for (let i = 0; i < n; i++) out[i] = text[i % text.length];
  return out;
}
