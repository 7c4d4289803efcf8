/**
 * The endpoint's TCB pool (EndpointOptions.spareTcbs): recycling released TCBs changes
 * nothing on the wire or in the events. Two endpoints run waves of connections over a
 * seeded lossy link (normal closes from either side, aborts with data in flight,
 * deferred ACKs, timers); the whole trace with the pool equals the trace without it.
 */
import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { Endpoint } from "../../src/endpoint/endpoint.ts";
import { World, type WorldEntry } from "../../src/sim/world.ts";
import { prng } from "../_helpers/prng.ts";

const CLIENT = "10.0.0.1";
const SERVER = "10.0.0.2";

interface Outcome {
  /** The world's log: every event (segments included), datagram and action. */
  log: WorldEntry[];
  /** Bytes each side read, by side and connection id ("10.0.0.1/3"). */
  received: Map<string, number[]>;
}

/**
 * Eight waves of 5 to 24 connections on a seeded World (10 % loss, delay and jitter).
 * Each side writes a random amount in random chunks once established; 15 % of them
 * then abort with their data in flight, otherwise the client shuts down after writing
 * and the server closes when the client's FIN arrives.
 */
function waves(spareTcbs: number, seed: number): Outcome {
  const rand = prng(seed);
  const secret = new Uint8Array(16).fill(5);
  const tcb = { msl: 200, rtoInitial: 30, rtoMin: 10, maxRetries: 5, synRetries: 4 };
  const world = new World({ seed, link: { loss: 0.1, delay: 1, jitter: 8 } });
  world.add({ address: CLIENT, secret, tcb, spareTcbs });
  world.add({ address: SERVER, secret, tcb, spareTcbs }).listen(80);
  const received = new Map<string, number[]>();
  const buf = new Uint8Array(1 << 16);
  world.onEvent((node, ev, ep, w) => {
    const key = `${node}/${ev.conn}`;
    if (ev.type === "state-changed" && ev.to === "ESTABLISHED") {
      const total = Math.floor(rand() * 6000);
      for (let written = 0; written < total;) {
        const n = Math.min(total - written, 1 + Math.floor(rand() * 3000));
        const chunk = new Uint8Array(n).map((_, i) => (written + i + ev.conn) & 0xff);
        written += ep.send(ev.conn, chunk, w.now);
      }
      if (rand() < 0.15) ep.abort(ev.conn, w.now);
      else if (node === CLIENT) ep.shutdown(ev.conn, w.now); // it still reads
    } else if (
      (ev.type === "data" || ev.type === "peer-closed") && ep.state(ev.conn) !== "CLOSED"
    ) {
      const n = ep.readInto(ev.conn, buf, w.now);
      const log = received.get(key) ?? [];
      received.set(key, log);
      for (let i = 0; i < n; i++) log.push(buf[i]);
      if (ev.type === "peer-closed" && node === SERVER) ep.close(ev.conn, w.now);
    }
  });
  for (let wave = 0; wave < 8; wave++) {
    const n = 5 + Math.floor(rand() * 20);
    world.at(wave * 3000, CLIENT, `wave ${wave}`, (ep, now) => {
      for (let i = 0; i < n; i++) ep.connect(SERVER, 80, now);
    });
  }
  world.run(8 * 3000 + 10_000);
  return { log: world.log, received };
}

Deno.test("TCB pool: waves of lossy connections run the same with and without spare TCBs", () => {
  for (const seed of [1, 2, 3]) {
    const without = waves(0, seed);
    const pooled = waves(1024, seed);
    // Something happened: many connections, data, aborts and closes.
    const events = without.log.flatMap((e) => e.kind === "event" ? [e.event] : []);
    ok(events.filter((e) => e.type === "segment-sent").length > 1000, `seed ${seed}`);
    ok(events.some((e) => e.type === "closed" && e.reason === "reset"), "a reset");
    ok(events.some((e) => e.type === "state-changed" && e.to === "TIME-WAIT"), "a TIME-WAIT");
    ok(events.some((e) => e.type === "segment-sent" && e.retransmission), "a retransmission");
    deepStrictEqual(pooled.log, without.log, `seed ${seed}`);
    // What each side read came in order: the writer sends (offset + id) & 0xff.
    for (const [id, got] of pooled.received) {
      for (let i = 1; i < got.length; i++) {
        equal(got[i], (got[i - 1] + 1) & 0xff, `conn ${id} byte ${i}`);
      }
    }
    ok([...pooled.received.values()].some((got) => got.length > 1000), "data arrived");
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
