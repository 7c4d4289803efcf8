/**
 * Deferred ACKs (TcbHost.deferAck): the handshake's last ACK and the ACK of a FIN wait
 * for the application's turn, so a reply in the same drain carries them, as Linux's
 * "save one ACK" after a SYN,ACK with a write pending and its delayed ACK of a FIN
 * (pingpong) do. Hosts that poll transmissions before events see the old traffic.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { Endpoint } from "../../src/endpoint/endpoint.ts";
import type { TcbEvent } from "../../src/tcb/events.ts";
import { formatSegment } from "../../src/wire/rfc_notation.ts";

const CLIENT = "10.0.0.1";
const SERVER = "10.0.0.2";
const MESSAGE = new Uint8Array(64).fill(0x61);

type Order = "events-first" | "transmits-first";

interface Run {
  /** Every segment on the wire, "C" or "S" then its RFC notation, in order. */
  wire: string[];
  /** Final states: client, server. */
  states: string[];
  /** TSvals each side sent, in order. */
  tsVals: { C: number[]; S: number[] };
}

/**
 * One lifecycle (connect, 64 bytes each way, the client closes, the server closes in
 * reply) with the given drain order; `reply: false` makes the applications silent
 * (no data, no close in reply), to see the deferred ACK go out on its own.
 */
function lifecycle(order: Order, connections = 1, reply = true): Run {
  const secret = new Uint8Array(16).fill(7);
  const client = new Endpoint({ address: CLIENT, secret });
  const server = new Endpoint({ address: SERVER, secret });
  server.listen(80);
  const wire: string[] = [];
  const tsVals = { C: [] as number[], S: [] as number[] };
  const buf = new Uint8Array(1024);
  let now = 1;
  const ids: number[] = [];
  for (let i = 0; i < connections; i++) ids.push(client.connect(SERVER, 80, now));
  const app = (ep: Endpoint, ev: TcbEvent, isClient: boolean) => {
    if (!reply) return;
    if (ev.type === "state-changed" && isClient && ev.to === "ESTABLISHED") {
      ep.send(ev.conn, MESSAGE, now);
    } else if (ev.type === "data") {
      ep.readInto(ev.conn, buf, now);
      if (isClient) ep.close(ev.conn, now);
      else ep.send(ev.conn, MESSAGE, now);
    } else if (ev.type === "peer-closed" && !isClient) {
      ep.close(ev.conn, now);
    }
  };
  const drain = (from: Endpoint, to: Endpoint, isClient: boolean): number => {
    let moved = 0;
    const events = () => {
      for (let ev = from.pollEvent(); ev; ev = from.pollEvent()) {
        moved++;
        if (ev.type === "segment-sent") {
          wire.push(`${isClient ? "C" : "S"} ${formatSegment(ev.segment)}`);
          if (ev.segment.tsVal !== undefined) tsVals[isClient ? "C" : "S"].push(ev.segment.tsVal);
        } else app(from, ev, isClient);
      }
    };
    if (order === "events-first") events();
    const out: Uint8Array[] = [];
    for (let t = from.pollTransmit(); t; t = from.pollTransmit()) out.push(t.bytes.slice());
    moved += out.length;
    if (order === "transmits-first") events();
    // Segment-sent events of a flush during pollTransmit come after the app's turn.
    else events();
    for (const b of out) to.handleDatagram(b, isClient ? CLIENT : SERVER, now);
    return moved;
  };
  for (let round = 0; round < 50; round++) {
    if (drain(client, server, true) + drain(server, client, false) === 0) {
      now += 1;
      client.handleTimeout(now);
      server.handleTimeout(now);
    }
  }
  const states = [client.state(ids[0]), server.connections().length === 0 ? "CLOSED" : "open"];
  return { wire, states, tsVals };
}

/** The wire without sequence numbers, for comparing shapes. */
function shape(wire: string[]): string[] {
  return wire.map((w) =>
    w.replace(/<SEQ=\d+>/, "").replace(/<ACK=\d+>/, "<ACK>").replace(/ $/, "")
  );
}

Deno.test("deferred ACK: events first, the data carries the handshake's ACK and the FIN carries the FIN's", () => {
  const run = lifecycle("events-first");
  deepStrictEqual(shape(run.wire), [
    "C <CTL=SYN>",
    "S <ACK><CTL=SYN,ACK>",
    "C <ACK><CTL=PSH,ACK><DATA=64>", // no pure ACK before it
    "S <ACK><CTL=PSH,ACK><DATA=64>",
    "C <ACK><CTL=FIN,ACK>",
    "S <ACK><CTL=FIN,ACK>", // the ACK of the client's FIN rides on the server's FIN
    "C <ACK><CTL=ACK>",
  ]);
  deepStrictEqual(run.states, ["TIME-WAIT", "CLOSED"]);
});

Deno.test("deferred ACK: transmissions polled before events give the classic nine segments", () => {
  const run = lifecycle("transmits-first");
  deepStrictEqual(shape(run.wire), [
    "C <CTL=SYN>",
    "S <ACK><CTL=SYN,ACK>",
    "C <ACK><CTL=ACK>",
    "C <ACK><CTL=PSH,ACK><DATA=64>",
    "S <ACK><CTL=PSH,ACK><DATA=64>",
    "C <ACK><CTL=FIN,ACK>",
    "S <ACK><CTL=ACK>",
    "S <ACK><CTL=FIN,ACK>",
    "C <ACK><CTL=ACK>",
  ]);
  deepStrictEqual(run.states, ["TIME-WAIT", "CLOSED"]);
});

Deno.test("deferred ACK: with no reply the ACK still leaves in the same drain", () => {
  const run = lifecycle("events-first", 1, false);
  // SYN, SYN-ACK, then the pure ACK (flushed when pollTransmit ran out); nothing more.
  deepStrictEqual(shape(run.wire), ["C <CTL=SYN>", "S <ACK><CTL=SYN,ACK>", "C <ACK><CTL=ACK>"]);
});

Deno.test("deferred ACK: a batch of SYN,ACKs delivered together, every reply carries its ACK", () => {
  const run = lifecycle("events-first", 5);
  const client = run.wire.filter((w) => w.startsWith("C "));
  equal(client.filter((w) => w.endsWith("<CTL=ACK>")).length, 5, "only the final ACKs are pure");
  equal(client.filter((w) => w.includes("DATA=64")).length, 5);
  equal(run.wire.length, 5 * 7);
  // Timestamps never go backwards on either side.
  for (const side of ["C", "S"] as const) {
    const ts = run.tsVals[side];
    ok(ts.length > 0);
    for (let i = 1; i < ts.length; i++) ok(ts[i] >= ts[i - 1], `${side} TSval went back`);
  }
});

/** Client and server ESTABLISHED; returns them with the client's connection id. */
function established(now: number) {
  const secret = new Uint8Array(16).fill(7);
  const client = new Endpoint({ address: CLIENT, secret, events: "lifecycle" });
  const server = new Endpoint({ address: SERVER, secret, events: "lifecycle" });
  server.listen(80);
  const id = client.connect(SERVER, 80, now);
  const pump = () => {
    for (let moved = 1; moved > 0;) {
      moved = 0;
      for (const [from, to, src] of [[client, server, CLIENT], [server, client, SERVER]] as const) {
        while (from.pollEvent()) moved++;
        for (let t = from.pollTransmit(); t; t = from.pollTransmit()) {
          to.handleDatagram(t.bytes.slice(), src, now);
          moved++;
        }
      }
    }
  };
  pump();
  equal(client.state(id), "ESTABLISHED");
  return { client, server, id };
}

Deno.test("delayed ACK: its timer waits for the application's turn; pollTimeout reports it meanwhile", () => {
  const now = 10;
  const { client, server, id } = established(now);
  client.send(id, MESSAGE, now);
  const data = client.pollTransmit()!.bytes.slice();
  equal(client.pollTransmit(), undefined);
  server.handleDatagram(data, CLIENT, now);
  // The server owes a delayed ACK (one segment, §3.8.6.3): not sent yet, its timer not
  // yet armed in the wheel, but pollTimeout already names its deadline (40 ms).
  equal(server.pollTimeout(), now + 40);
  const conn = server.connections()[0];
  equal(server.pollEvent()?.type, "data");
  server.readInto(conn, new Uint8Array(64), now);
  // No reply: once transmissions run out the timer is armed; nothing is sent yet.
  equal(server.pollTransmit(), undefined);
  equal(server.pollTimeout(), now + 40);
  server.handleTimeout(now + 39);
  equal(server.pollTransmit(), undefined, "never early");
  server.handleTimeout(now + 40);
  const ack = server.pollTransmit();
  ok(ack, "the delayed ACK leaves at its deadline");
  equal(ack.bytes.length, 32, "a pure ACK with timestamps");
});

Deno.test("delayed ACK: a reply in the application's turn carries it and no timer is left", () => {
  const now = 10;
  const { client, server, id } = established(now);
  client.send(id, MESSAGE, now);
  server.handleDatagram(client.pollTransmit()!.bytes.slice(), CLIENT, now);
  equal(client.pollTransmit(), undefined);
  const conn = server.connections()[0];
  equal(server.pollEvent()?.type, "data");
  server.readInto(conn, new Uint8Array(64), now);
  server.send(conn, MESSAGE, now);
  const reply = server.pollTransmit();
  ok(reply && reply.bytes.length === 32 + 64, "the reply carries the ACK");
  equal(server.pollTransmit(), undefined, "no separate ACK");
  // Only the reply's retransmission timer remains (RTO, 1 s initially): the delayed
  // ACK timer was never armed.
  ok(server.pollTimeout() >= now + 200, `next deadline ${server.pollTimeout()}`);
  server.handleTimeout(now + 40);
  equal(server.pollTransmit(), undefined, "nothing at the old delayed-ACK deadline");
});

Deno.test("lazy RTO re-arm: a later deadline leaves the wheel's earlier one; that wake-up sends nothing and re-arms", () => {
  const { client, server, id } = established(10);
  // Data at 10: the retransmission timer is armed at 10 + RTO.
  client.send(id, MESSAGE, 10);
  const first = client.pollTransmit()!.bytes.slice();
  equal(client.pollTransmit(), undefined);
  const rto = client.info(id)!.rto;
  equal(client.pollTimeout(), 10 + rto);
  // The server's delayed ACK leaves 40 ms after the data (20 + 40); at 60 it arrives
  // and more data goes out: the retransmission deadline moves to 60 + RTO, but the
  // wheel keeps 10 + RTO.
  server.handleDatagram(first, CLIENT, 20);
  while (server.pollEvent()) { /* the data event */ }
  equal(server.pollTransmit(), undefined);
  server.handleTimeout(60);
  const ack = server.pollTransmit()!.bytes.slice();
  client.handleDatagram(ack, SERVER, 60);
  client.send(id, MESSAGE, 60);
  ok(client.pollTransmit(), "the second segment");
  equal(client.pollTransmit(), undefined);
  const deadline = client.info(id)!.timers.retransmit;
  equal(deadline, 60 + client.info(id)!.rto);
  equal(client.pollTimeout(), 10 + rto, "the stale, earlier wake-up");
  // The early wake-up sends nothing and re-arms for the real deadline (the wheel may
  // wake once more at the start of a coarser slot: never after the deadline).
  let wakeUps = 0;
  for (let t = client.pollTimeout(); t < deadline; t = client.pollTimeout()) {
    ok(++wakeUps <= 3, `wake-up ${wakeUps} at ${t}`);
    client.handleTimeout(t);
    equal(client.pollTransmit(), undefined, `nothing at ${t}, before the deadline`);
  }
  equal(client.pollTimeout(), deadline);
  client.handleTimeout(deadline);
  const rtx = client.pollTransmit();
  ok(rtx && rtx.bytes.length === 32 + 64, "the unacknowledged segment goes again at its deadline");
});
