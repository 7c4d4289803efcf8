/**
 * Engine group: full lifecycles between two endpoints on an in-memory pipe (zero
 * delay, no loss), one core. A lifecycle is: handshake, 64 bytes each way, the
 * client closes, the server closes, the client sits in TIME-WAIT. Measured on an
 * empty table, then with 1e5 and 1e6 connections already in TIME-WAIT.
 *
 * @module
 */
import type { BenchContext } from "./main.ts";
import { Endpoint } from "../src/endpoint/endpoint.ts";
import type { TcbEvent } from "../src/tcb/events.ts";

const CLIENT = "10.1.0.1";
const SERVER = "10.1.0.2";
/** 127 listener ports: coprime with the 16384 ephemeral ports, so 4-tuples repeat
 * only after 127 × 16384 = 2.08M connections. */
const PORTS = 127;
const BASE_PORT = 1000;
const BATCH = 256;

const MESSAGE = new Uint8Array(64).fill(0x61);
const SCRATCH = new Uint8Array(4096);

/** Two endpoints, a pipe between them and the lifecycle's application logic. */
export class LifecycleRig {
  readonly client: Endpoint;
  readonly server: Endpoint;
  now = 1;
  completed = 0;
  segments = 0;
  #started = 0;
  #queue: Uint8Array[] = [];

  constructor() {
    const secret = new Uint8Array(16).fill(9);
    this.client = new Endpoint({ address: CLIENT, secret, events: "lifecycle" });
    this.server = new Endpoint({ address: SERVER, secret, events: "lifecycle" });
    for (let p = 0; p < PORTS; p++) this.server.listen(BASE_PORT + p, { backlog: 1 << 20 });
  }

  /** Opens `n` connections and runs them to TIME-WAIT. */
  run(n: number): void {
    let left = n;
    while (left > 0) {
      const k = Math.min(BATCH, left);
      for (let i = 0; i < k; i++) {
        const port = BASE_PORT + (this.#started++ % PORTS);
        this.client.connect(SERVER, port, this.now);
      }
      this.#pump();
      left -= k;
      // One millisecond per batch: delayed ACKs fire, TIME-WAIT does not expire.
      this.now += 1;
      this.client.handleTimeout(this.now);
      this.server.handleTimeout(this.now);
      this.#pump();
    }
  }

  /** Applies the drain rule to both endpoints until nothing moves. */
  #pump(): void {
    for (;;) {
      const moved = this.#drain(this.client, this.server, true) +
        this.#drain(this.server, this.client, false);
      if (moved === 0) return;
    }
  }

  #drain(from: Endpoint, to: Endpoint, isClient: boolean): number {
    let moved = 0;
    const q = this.#queue;
    q.length = 0;
    for (let t = from.pollTransmit(); t; t = from.pollTransmit()) {
      // The bytes stay valid until `from` gets its next input; deliver them first.
      q.push(t.bytes);
      moved++;
    }
    // Deliver before the application acts on `from`'s events: a command on `from`
    // may reuse the buffer these bytes live in (the drain rule's contract).
    const src = isClient ? CLIENT : SERVER;
    for (let i = 0; i < q.length; i++) to.handleDatagram(q[i], src, this.now);
    this.segments += q.length;
    for (let ev = from.pollEvent(); ev; ev = from.pollEvent()) {
      moved++;
      this.#app(from, ev, isClient);
    }
    return moved;
  }

  #app(ep: Endpoint, ev: TcbEvent, isClient: boolean): void {
    const now = this.now;
    switch (ev.type) {
      case "state-changed":
        if (isClient && ev.to === "ESTABLISHED") ep.send(ev.conn, MESSAGE, now);
        else if (isClient && ev.to === "TIME-WAIT") this.completed++;
        break;
      case "data":
        ep.readInto(ev.conn, SCRATCH, now);
        if (isClient) ep.close(ev.conn, now);
        else ep.send(ev.conn, MESSAGE, now);
        break;
      case "peer-closed":
        if (!isClient) ep.close(ev.conn, now);
        break;
    }
  }
}

function measure(
  rig: LifecycleRig,
  seconds: number,
): { rate: number; segRate: number; n: number } {
  const c0 = rig.completed;
  const s0 = rig.segments;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < seconds * 1000) {
    rig.run(BATCH * 8);
    elapsed = performance.now() - t0;
  }
  const n = rig.completed - c0;
  return { rate: n / (elapsed / 1000), segRate: (rig.segments - s0) / (elapsed / 1000), n };
}

let engineRate: number | undefined;

/** The empty-table lifecycle rate of the last engine run (for the kernel ratio). */
export function lastEngineRate(): number | undefined {
  return engineRate;
}

/** The engine group. */
export async function engineGroup(ctx: BenchContext): Promise<void> {
  const seconds = ctx.mode === "quick" ? 1.5 : 4;
  // Warm up the JIT on a throwaway rig.
  new LifecycleRig().run(20_000);
  ctx.gc();

  const rig = new LifecycleRig();
  const empty = measure(rig, seconds);
  ctx.record({ name: "lifecycles, empty table", value: empty.rate, unit: "lifecycles/s" });
  ctx.record({ name: "segments, empty table", value: empty.segRate, unit: "segments/s" });
  ctx.progress(`empty table: ${Math.round(empty.rate)} lifecycles/s`);
  engineRate = empty.rate;
  ctx.summary("engineLifecyclesPerSec", empty.rate);
  ctx.summary("engineSegmentsPerSec", empty.segRate);
  ctx.summary("segmentsPerLifecycle", empty.segRate / empty.rate);

  const targets = ctx.mode === "quick" ? [100_000] : [100_000, 1_000_000];
  const rates: Record<number, number> = {};
  for (const target of targets) {
    // Fill the client's TIME-WAIT table by running lifecycles (virtual time stands
    // nearly still, so none expire), then measure on top of it.
    const filled = new LifecycleRig();
    const t0 = performance.now();
    while (filled.completed < target) {
      filled.run(Math.min(50_000, target - filled.completed));
      ctx.progress(`filling TIME-WAIT: ${filled.completed} / ${target}`);
    }
    ctx.progress(`filled ${target} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const inTw = filled.client.size;
    // Collect the filling's garbage first, as before the empty-table measurement.
    ctx.gc();
    const r = measure(filled, seconds);
    rates[target] = r.rate;
    ctx.record({
      name: "lifecycles, TIME-WAIT prefilled",
      n: target,
      value: r.rate,
      unit: "lifecycles/s",
      note: `${inTw} connections held when measuring`,
    });
    ctx.progress(`${target} in TIME-WAIT: ${Math.round(r.rate)} lifecycles/s`);
    ctx.gc();
  }
  const worst = rates[1_000_000] ?? rates[100_000];
  const key = rates[1_000_000] !== undefined ? 1_000_000 : 100_000;
  ctx.record({
    name: `slowdown with ${key} in TIME-WAIT`,
    n: key,
    value: empty.rate / worst,
    unit: "x",
  });
  if (rates[1_000_000] !== undefined) {
    ctx.summary("lifecycleSlowdownAt1e6TimeWait", empty.rate / rates[1_000_000]);
  } else {
    ctx.note("--quick measures 1e5 in TIME-WAIT only; the 1e6 figure needs the default run");
    ctx.summary("lifecycleSlowdownAt1e5TimeWait", empty.rate / rates[100_000]);
  }
  await Promise.resolve();
}
