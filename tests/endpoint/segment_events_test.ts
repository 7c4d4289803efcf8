/**
 * Segment events (events: "all") keep their own payload bytes: a segment-sent event's
 * payload is not a view of the send buffer (whose storage the next connection reuses),
 * and a segment-received event's is not a view of the caller's datagram buffer.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { Endpoint } from "../../src/endpoint/endpoint.ts";
import type { Segment } from "../../src/wire/segment.ts";

const CLIENT = "10.0.0.1";
const SERVER = "10.0.0.2";

Deno.test("segment events: payloads stay what went over the wire after buffers are reused", () => {
  const secret = new Uint8Array(16).fill(8);
  const client = new Endpoint({ address: CLIENT, secret });
  const server = new Endpoint({ address: SERVER, secret });
  server.listen(80);
  // Every datagram goes through this one buffer, as a transport's receive buffer.
  const wire = new Uint8Array(2048);
  const sent: Segment[] = [];
  const received: Segment[] = [];
  const onWire: number[][] = [];
  let now = 0;
  const pump = () => {
    for (let moved = 1; moved > 0;) {
      moved = 0;
      for (
        const [from, to, addr] of [[client, server, CLIENT], [server, client, SERVER]] as const
      ) {
        for (let ev = from.pollEvent(); ev; ev = from.pollEvent()) {
          moved++;
          if (ev.type === "segment-sent" && from === client) sent.push(ev.segment);
          if (ev.type === "segment-received" && from === server) received.push(ev.segment);
          if (ev.type === "data") from.read(ev.conn, Infinity, now);
          if (ev.type === "peer-closed") from.close(ev.conn, now);
        }
        for (let t = from.pollTransmit(); t; t = from.pollTransmit()) {
          moved++;
          wire.set(t.bytes);
          // The payload starts after the header's data offset.
          if (from === client) onWire.push([...t.bytes.subarray((t.bytes[12] >> 4) * 4)]);
          to.handleDatagram(wire.subarray(0, t.bytes.length), addr, now);
        }
      }
    }
    now += 100;
    client.handleTimeout(now);
    server.handleTimeout(now);
  };
  // Two connections one after the other, each sending its own bytes: the second
  // reuses the first one's send buffer (and TCB).
  for (const fill of [0x11, 0x22]) {
    const id = client.connect(SERVER, 80, now);
    pump();
    client.send(id, new Uint8Array(300).fill(fill), now);
    pump();
    client.close(id, now);
    pump();
    pump();
  }
  const data = (segs: Segment[]) =>
    segs.filter((s) => s.payload.length > 0).map((s) => [...s.payload]);
  const expected = [new Array(300).fill(0x11), new Array(300).fill(0x22)];
  deepStrictEqual(data(sent), expected);
  deepStrictEqual(data(received), expected);
  deepStrictEqual(onWire.filter((b) => b.length > 0), expected);
  equal(sent.length > 6, true);
});
