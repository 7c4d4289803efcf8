/**
 * The endpoint's TCB pool (EndpointOptions.spareTcbs): recycling released TCBs changes
 * nothing on the wire or in the events. Two endpoints run waves of connections over a
 * seeded lossy link (normal closes from either side, aborts with data in flight,
 * deferred ACKs, timers); the whole trace with the pool equals the trace without it.
 */
import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { Endpoint } from "../../src/endpoint/endpoint.ts";
import { prng } from "../_helpers/prng.ts";

const CLIENT = "10.0.0.1";
const SERVER = "10.0.0.2";

interface Outcome {
  trace: string[];
  /** Bytes each side read, by side and connection id ("C3", "S3"). */
  received: Map<string, number[]>;
}

function waves(spareTcbs: number, seed: number): Outcome {
  const rand = prng(seed);
  const secret = new Uint8Array(16).fill(5);
  const tcb = { msl: 200, rtoInitial: 30, rtoMin: 10, maxRetries: 5, synRetries: 4 };
  const client = new Endpoint({ address: CLIENT, secret, tcb, spareTcbs });
  const server = new Endpoint({ address: SERVER, secret, tcb, spareTcbs });
  server.listen(80);
  const trace: string[] = [];
  const received = new Map<string, number[]>();
  // Per side, per connection: bytes written so far (client ids on the client side,
  // server ids on the server side).
  const plan = new Map<string, { total: number; written: number; abort: boolean }>();
  let now = 0;
  const inFlight: { at: number; to: Endpoint; from: string; bytes: Uint8Array }[] = [];
  const buf = new Uint8Array(1 << 16);
  const step = (ep: Endpoint, name: string, peer: Endpoint, from: string) => {
    for (let ev = ep.pollEvent(); ev; ev = ep.pollEvent()) {
      trace.push(`${now} ${name} ${JSON.stringify(ev)}`);
      const key = `${name}${ev.conn}`;
      if (ev.type === "state-changed" && ev.to === "ESTABLISHED") {
        plan.set(key, { total: Math.floor(rand() * 6000), written: 0, abort: rand() < 0.15 });
      } else if (
        (ev.type === "data" || ev.type === "peer-closed") && ep.state(ev.conn) !== "CLOSED"
      ) {
        const n = ep.readInto(ev.conn, buf, now);
        const log = received.get(key) ?? [];
        received.set(key, log);
        for (let i = 0; i < n; i++) log.push(buf[i]);
        if (ev.type === "peer-closed" && !plan.get(key)?.abort) ep.close(ev.conn, now);
      }
    }
    for (const [key, p] of plan) {
      if (!key.startsWith(name)) continue;
      const id = Number(key.slice(1));
      const state = ep.state(id);
      if (state !== "ESTABLISHED" && state !== "CLOSE-WAIT") continue;
      if (p.written < p.total) {
        const chunk = new Uint8Array(Math.min(p.total - p.written, 1 + Math.floor(rand() * 3000)))
          .map((_, i) => (p.written + i + id) & 0xff);
        const n = ep.send(id, chunk, now);
        p.written += n;
      } else if (p.abort) {
        ep.abort(id, now);
        plan.delete(key);
      } else if (name === "C" && state === "ESTABLISHED") {
        ep.close(id, now);
        plan.delete(key);
      }
    }
    for (let t = ep.pollTransmit(); t; t = ep.pollTransmit()) {
      trace.push(`${now} ${name}> ${t.bytes.join()}`);
      if (rand() < 0.1) continue;
      const delay = 1 + Math.floor(rand() * 8);
      inFlight.push({ at: now + delay, to: peer, from, bytes: t.bytes.slice() });
    }
  };
  for (let wave = 0; wave < 8; wave++) {
    const n = 5 + Math.floor(rand() * 20);
    for (let i = 0; i < n; i++) client.connect(SERVER, 80, now);
    for (let t = 0; t < 3000; t++) {
      for (let i = 0; i < inFlight.length;) {
        const d = inFlight[i];
        if (d.at <= now) {
          inFlight.splice(i, 1);
          d.to.handleDatagram(d.bytes, d.from, now);
        } else i++;
      }
      client.handleTimeout(now);
      server.handleTimeout(now);
      step(client, "C", server, CLIENT);
      step(server, "S", client, SERVER);
      now++;
    }
  }
  trace.push(`sizes ${client.size} ${server.size}`);
  return { trace, received };
}

Deno.test("TCB pool: waves of lossy connections run the same with and without spare TCBs", () => {
  for (const seed of [1, 2, 3]) {
    const without = waves(0, seed);
    const pooled = waves(1024, seed);
    // Something happened: many connections, data, aborts and closes.
    ok(without.trace.length > 2000, `seed ${seed}: ${without.trace.length} trace lines`);
    ok(without.trace.some((l) => l.includes('"reason":"reset"')), "a reset");
    ok(without.trace.some((l) => l.includes('"to":"TIME-WAIT"')), "a TIME-WAIT");
    deepStrictEqual(pooled.trace, without.trace, `seed ${seed}`);
    // What each side read came in order: the writer sends (offset + id) & 0xff.
    for (const [id, got] of pooled.received) {
      for (let i = 1; i < got.length; i++) {
        equal(got[i], (got[i - 1] + 1) & 0xff, `conn ${id} byte ${i}`);
      }
    }
  }
});

Deno.test("TCB pool: spareTcbs must be a whole number, 0 or more", () => {
  const secret = new Uint8Array(16);
  for (const bad of [-1, 1.5, Infinity, NaN]) {
    throws(() => new Endpoint({ address: CLIENT, secret, spareTcbs: bad }), /spareTcbs must be/);
  }
  equal(new Endpoint({ address: CLIENT, secret, spareTcbs: 0 }).size, 0);
});

Deno.test("TCB pool: a connection's counters keep their final values when its TCB is reused", () => {
  const secret = new Uint8Array(16).fill(6);
  const client = new Endpoint({ address: CLIENT, secret });
  const server = new Endpoint({ address: SERVER, secret });
  server.listen(80);
  let now = 0;
  const pump = (ms = 0) => {
    // A wait of `ms` first (100 lets the delayed ACKs go out).
    now += ms;
    client.handleTimeout(now);
    server.handleTimeout(now);
    for (let moved = 1; moved > 0;) {
      moved = 0;
      for (
        const [from, to, addr] of [[client, server, CLIENT], [server, client, SERVER]] as const
      ) {
        for (let ev = from.pollEvent(); ev; ev = from.pollEvent()) {
          moved++;
          if (ev.type === "peer-closed") from.close(ev.conn, now);
        }
        for (let t = from.pollTransmit(); t; t = from.pollTransmit()) {
          moved++;
          to.handleDatagram(t.bytes.slice(), addr, now);
        }
      }
    }
  };
  // info() hands out the connection's own counters object, which hosts keep to report
  // the final figures once the connection is gone (the CLIs do).
  const first = client.connect(SERVER, 80, now);
  pump();
  const counters = client.info(first)!.counters;
  client.send(first, new Uint8Array(100), now);
  pump();
  pump(100);
  client.abort(first, now);
  pump();
  const final = { ...counters };
  equal(final.bytesAcked, 100);
  // A second connection takes the first one's TCB from the pool: it counts afresh in
  // a new object, and the first connection's figures stay as they ended.
  const second = client.connect(SERVER, 80, now);
  pump();
  client.send(second, new Uint8Array(50), now);
  pump();
  pump(100);
  deepStrictEqual(counters, final);
  equal(client.info(second)!.counters.bytesAcked, 50);
});
