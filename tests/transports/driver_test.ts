/**
 * The driver's per-connection bookkeeping: slots and 4-tuples learned without
 * `info()` (an active open's local port from endpoint.localPortOf, a passive open's ports from the
 * SYN that made it), the fallback for connections opened on the endpoint directly,
 * and TIME-WAIT holding its peer slot (not its 4-tuple) until TIME-WAIT → CLOSED.
 */
import assert from "node:assert/strict";
import { Driver, realClock } from "../../transports/driver.ts";
import { MemoryNetwork } from "../../transports/memory.ts";
import { ACK, encode, newSegment } from "../../src/wire/segment.ts";
import { addrSum } from "../../src/wire/checksum.ts";
import type { ConnId } from "../../src/tcb/events.ts";

const WAIT = 10_000;
const ZERO16 = new Uint8Array(16);
const ZERO_SUM = addrSum(ZERO16, ZERO16);
const SERVER = "10.0.0.2:9811";

function segmentBytes(init: Parameters<typeof newSegment>[0]): Uint8Array {
  const seg = newSegment(init);
  const out = new Uint8Array(60 + seg.payload.length);
  return out.slice(0, encode(seg, out, 0, ZERO_SUM));
}

function pair(msl = 60_000) {
  const net = new MemoryNetwork({ seed: 3, link: { delay: 1 } });
  const clock = realClock();
  const server = new Driver({ transport: net.transport(SERVER), clock, tcb: { msl } });
  const client = new Driver({ transport: net.transport("10.0.0.1:9811"), clock, tcb: { msl } });
  server.listen(80);
  server.onEvent((ev, d) => {
    if (ev.type === "peer-closed") d.close(ev.conn);
  });
  let port = 30000;
  /** A segment of `conn`'s 4-tuple (as the server sends it) from another port of the server's host. */
  const intrude = (conn: ConnId) => {
    const info = client.info(conn)!;
    const from = `10.0.0.2:${port++}`;
    const bytes = segmentBytes({
      srcPort: 80,
      dstPort: info.localPort,
      seq: info.rcvNxt,
      ack: info.sndNxt,
      flags: ACK,
      window: 100,
    });
    net.net.send(from, "10.0.0.1:9811", bytes, clock.now());
    for (const ms of [2, 5, 20]) setTimeout(() => net.poll(clock.now()), ms);
  };
  const stop = async () => {
    await client.stop();
    await server.stop();
  };
  return { net, clock, server, client, intrude, stop };
}

Deno.test("driver: an active open's 4-tuple is guarded against other sources", async () => {
  const { client, intrude, stop } = pair();
  const conn = client.connect(SERVER, 80);
  assert.ok(await client.until(() => client.endpoint.state(conn) === "ESTABLISHED", WAIT));
  // The local port was never given: it came from the SYN as it left.
  intrude(conn);
  assert.ok(await client.until(() => client.stats.unexpectedSource === 1, WAIT));
  assert.equal(client.endpoint.stats.rstsOut, 0);
  assert.equal(client.endpoint.state(conn), "ESTABLISHED");
  client.abort(conn);
  await stop();
});

Deno.test("driver: connections opened inside listeners each get their own 4-tuple", async () => {
  const { client, intrude, stop } = pair();
  const conns: ConnId[] = [];
  const first = client.connect(SERVER, 80);
  conns.push(first);
  client.onEvent((ev, d) => {
    // Three opens in one drain, beside the first connection's handshake ACK.
    if (ev.type === "state-changed" && ev.to === "ESTABLISHED" && ev.conn === first) {
      for (let i = 0; i < 3; i++) conns.push(d.connect(SERVER, 80));
    }
  });
  assert.ok(
    await client.until(
      () => conns.length === 4 && conns.every((c) => client.endpoint.state(c) === "ESTABLISHED"),
      WAIT,
    ),
  );
  for (let i = 0; i < conns.length; i++) {
    intrude(conns[i]);
    assert.ok(await client.until(() => client.stats.unexpectedSource === i + 1, WAIT));
  }
  assert.equal(client.endpoint.stats.rstsOut, 0);
  for (const c of conns) client.abort(c);
  assert.equal(client.peers.size, 0);
  await stop();
});

Deno.test("driver: a connection opened on the endpoint directly is adopted with its peer and 4-tuple", async () => {
  const { client, intrude, stop } = pair();
  client.start();
  const slot = client.peers.slotFor(SERVER);
  const conn = client.command((ep, now) => ep.connect(client.peers.virtual(slot), 80, now));
  assert.equal(client.peerOf(conn), SERVER);
  assert.ok(await client.until(() => client.endpoint.state(conn) === "ESTABLISHED", WAIT));
  intrude(conn);
  assert.ok(await client.until(() => client.stats.unexpectedSource === 1, WAIT));
  client.abort(conn);
  assert.equal(client.peers.size, 0);
  await stop();
});

Deno.test("driver: TIME-WAIT holds the peer slot, not the 4-tuple, until TIME-WAIT → CLOSED", async () => {
  const { client, server, intrude, stop } = pair(150);
  const conn = client.connect(SERVER, 80);
  client.onEvent((ev, d) => {
    if (ev.type === "state-changed" && ev.to === "ESTABLISHED") d.close(ev.conn);
  });
  assert.ok(await client.until(() => client.endpoint.state(conn) === "TIME-WAIT", WAIT));
  assert.equal(client.endpoint.timeWaitCount, 1);
  assert.equal(client.peerOf(conn), SERVER);
  assert.equal(client.peers.size, 1);
  // The 4-tuple is no longer guarded: the stray segment is answered (by the endpoint's
  // RST for no connection), the TIME-WAIT record is untouched.
  const rsts = client.endpoint.stats.rstsOut;
  intrude(conn);
  assert.ok(await client.until(() => client.endpoint.stats.rstsOut === rsts + 1, WAIT));
  assert.equal(client.stats.unexpectedSource, 0);
  assert.equal(client.endpoint.state(conn), "TIME-WAIT");
  assert.equal(client.peers.size, 1);
  assert.ok(await client.until(() => client.endpoint.state(conn) === "CLOSED", WAIT));
  assert.equal(client.peerOf(conn), undefined);
  assert.equal(client.peers.size, 0);
  assert.ok(await server.until(() => server.endpoint.size === 0, WAIT));
  assert.equal(server.peers.size, 0);
  await stop();
});

Deno.test("driver: churn through TIME-WAIT leaves no peer behind", async () => {
  const { client, server, stop } = pair(20);
  const N = 300;
  let started = 0;
  let done = 0;
  client.onEvent((ev, d) => {
    if (ev.type !== "state-changed") return;
    if (ev.to === "ESTABLISHED") d.close(ev.conn);
    else if (ev.to === "TIME-WAIT" && ++done && started < N) {
      started++;
      d.connect(SERVER, 80);
    }
  });
  for (; started < 8; started++) client.connect(SERVER, 80);
  assert.ok(await client.until(() => done === N, WAIT));
  assert.ok(await client.until(() => client.endpoint.size === 0, WAIT));
  assert.equal(client.peers.size, 0);
  assert.ok(await server.until(() => server.endpoint.size === 0, WAIT));
  assert.equal(server.peers.size, 0);
  await stop();
});
