/**
 * One conformance suite, run against every transport: the in-memory simulated
 * network and UDP on 127.0.0.1 (port 0), over Deno's sockets and (with FFI, on
 * Linux) over libc's. Each transport must move datagrams whole
 * with the sender's address, copy what it keeps, drop and count oversize datagrams,
 * and, under the driver, carry a transfer and the full close, treat bad datagrams
 * as README "Two machines" says, and keep its memory bounded under a flood.
 *
 * These tests run in real time (a transport has to): every wait is bounded, none
 * asserts a duration beyond what the protocol guarantees (TIME-WAIT ≥ 2·MSL).
 */
import assert from "node:assert/strict";
import { Driver, type DriverClock, realClock } from "../../transports/driver.ts";
import { MemoryNetwork } from "../../transports/memory.ts";
import { type UdpImpairment, type UdpOptions, UdpTransport } from "../../transports/udp.ts";
import { UdpFfiTransport } from "../../transports/udp_ffi.ts";
import type { Transport } from "../../transports/transport.ts";
import { ACK, encode, newSegment, SYN } from "../../src/wire/segment.ts";
import { addrSum } from "../../src/wire/checksum.ts";
import type { State } from "../../src/tcb/state.ts";

/** What a test needs from a backend. */
interface Backend {
  /** Two transports that can reach each other. */
  a: Transport;
  b: Transport;
  /** Another transport on the same host as `a`, at another port. */
  sameHostAsA(): Transport;
  /** Sends raw bytes from a fresh source on a's host (bypassing any size check). */
  raw(to: string, bytes: Uint8Array): Promise<void>;
  /** Makes sure datagrams sent by transports without a driver get delivered. */
  kick(): void;
  clock: DriverClock;
  close(): Promise<void>;
}

interface Harness {
  name: string;
  make(): Backend;
}

const HARNESSES: Harness[] = [
  {
    name: "memory",
    make() {
      const net = new MemoryNetwork({ seed: 7, link: { delay: 1 } });
      const clock = realClock();
      const extra: Transport[] = [];
      let port = 20000;
      const b: Backend = {
        a: net.transport("10.0.0.1:9811"),
        b: net.transport("10.0.0.2:9811"),
        sameHostAsA() {
          const t = net.transport(`10.0.0.1:${port++}`);
          extra.push(t);
          return t;
        },
        raw(to, bytes) {
          net.net.send(`10.0.0.1:${port++}`, to, bytes, clock.now());
          // Deliver it: a driver's timer would, but the sender here has none.
          setTimeout(() => net.poll(clock.now()), 5);
          return new Promise((r) => setTimeout(r, 10));
        },
        clock,
        kick() {
          for (const ms of [2, 5, 20]) setTimeout(() => net.poll(clock.now()), ms);
        },
        async close() {
          for (const t of extra) await t.close();
        },
      };
      return b;
    },
  },
  udpHarness("udp"),
  // The same sockets behind the user-space impairment (`--delay`): every datagram
  // waits in the seeded network for the driver's next poll, both directions.
  udpHarness("udp, impaired (delay 2 ms)", { seed: 1, delay: 2 }),
  // libc's socket through FFI (`UdpFfiTransport`), when this run may use it.
  ...(UdpFfiTransport.available() ? [udpHarness("udp ffi", undefined, UdpFfiTransport.bind)] : []),
];

function udpHarness(
  name: string,
  impair?: UdpImpairment,
  bind: (opts: UdpOptions) => Transport = UdpTransport.bind,
): Harness {
  return {
    name,
    make() {
      const extra: Transport[] = [];
      const clock = realClock();
      const a = bind({ hostname: "127.0.0.1", port: 0, impair });
      return {
        a,
        b: bind({ hostname: "127.0.0.1", port: 0, impair }),
        sameHostAsA() {
          const t = bind({ hostname: "127.0.0.1", port: 0, impair });
          extra.push(t);
          return t;
        },
        async raw(to, bytes) {
          const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
          const [hostname, port] = [to.slice(0, to.lastIndexOf(":")), Number(to.split(":")[1])];
          await s.send(bytes, { transport: "udp", hostname, port });
          s.close();
          await new Promise((r) => setTimeout(r, 20));
        },
        clock,
        kick() {
          // Impaired datagrams leave at a poll; a transport without a driver has none.
          if (!impair) return;
          for (const ms of [5, 10, 30]) {
            setTimeout(() => {
              for (const t of [a, ...extra]) t.poll(clock.now());
            }, ms);
          }
        },
        async close() {
          for (const t of extra) await t.close();
        },
      };
    },
  };
}

const WAIT = 10_000;
const ZERO16 = new Uint8Array(16);
/** The UDP checksum rule: a pseudo header with zero addresses. */
const ZERO_SUM = addrSum(ZERO16, ZERO16);

/** A TCP segment as the README's framing rule encodes it. */
function segmentBytes(init: Parameters<typeof newSegment>[0]): Uint8Array {
  const seg = newSegment(init);
  const out = new Uint8Array(60 + seg.payload.length);
  return out.slice(0, encode(seg, out, 0, ZERO_SUM));
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

for (const h of HARNESSES) {
  Deno.test(`${h.name}: datagrams arrive whole, from the sender's address; the sender may reuse its buffer`, async () => {
    const be = h.make();
    const got: { bytes: Uint8Array; from: string }[] = [];
    let wake: () => void = () => {};
    be.b.start({
      datagram: (bytes, from) => {
        got.push({ bytes: bytes.slice(), from });
        wake();
      },
    });
    be.a.start({ datagram: () => {} });
    const buf = new Uint8Array(be.a.maxDatagram);
    for (let i = 0; i < 3; i++) {
      buf.fill(i + 1);
      assert.ok(be.a.send(be.b.localAddress, buf.subarray(0, 100 * (i + 1)), be.clock.now()));
      buf.fill(0xee); // reused at once: the transport must have copied
    }
    const deadline = Date.now() + WAIT;
    while (got.length < 3 && Date.now() < deadline) {
      be.a.poll(be.clock.now());
      be.b.poll(be.clock.now());
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 5);
      });
    }
    assert.equal(got.length, 3);
    got.sort((x, y) => x.bytes.length - y.bytes.length);
    for (let i = 0; i < 3; i++) {
      assert.equal(got[i].from, be.a.localAddress);
      assert.equal(got[i].bytes.length, 100 * (i + 1));
      assert.ok(got[i].bytes.every((x) => x === i + 1));
    }
    assert.equal(be.a.stats.datagramsOut, 3);
    assert.equal(be.b.stats.datagramsIn, 3);
    await be.a.close();
    await be.b.close();
    await be.close();
  });

  Deno.test(`${h.name}: a datagram over maxDatagram (1232) is dropped and counted`, async () => {
    const be = h.make();
    assert.equal(be.b.maxDatagram, 1232);
    const server = new Driver({ transport: be.b, clock: be.clock });
    server.start();
    await be.raw(be.b.localAddress, new Uint8Array(1233));
    await server.until(() => be.b.stats.oversize === 1, WAIT);
    assert.equal(be.b.stats.oversize, 1);
    assert.equal(server.stats.datagramsIn, 0);
    await server.stop();
    await be.a.close();
    await be.close();
  });

  Deno.test(`${h.name}: two drivers carry 256 KiB and close; the passive side is CLOSED at once, the active after 2·MSL`, async () => {
    const be = h.make();
    const msl = 100;
    const server = new Driver({ transport: be.b, clock: be.clock, tcb: { msl } });
    const client = new Driver({ transport: be.a, clock: be.clock, tcb: { msl } });
    const port = portOf(be.b.localAddress);
    server.listen(port);
    const states: Record<string, { to: State; at: number }[]> = { server: [], client: [] };
    let received = 0;
    const seen = new Uint8Array(256 * 1024);
    const buf = new Uint8Array(64 * 1024);
    server.onEvent((ev, d) => {
      if (ev.type === "state-changed") states.server.push({ to: ev.to, at: ev.now });
      if (ev.type === "data") {
        for (let n = d.readInto(ev.conn, buf); n > 0; n = d.readInto(ev.conn, buf)) {
          seen.set(buf.subarray(0, n), received);
          received += n;
        }
      }
      if (ev.type === "peer-closed") d.close(ev.conn);
    });
    client.onEvent((ev) => {
      if (ev.type === "state-changed") states.client.push({ to: ev.to, at: ev.now });
    });
    const data = new Uint8Array(256 * 1024).map((_, i) => (i * 13) ^ (i >>> 8));
    const conn = client.connect(be.b.localAddress, port);
    assert.equal(client.peerOf(conn), be.b.localAddress);
    let off = 0;
    client.afterDrain((d) => {
      if (d.endpoint.state(conn) !== "ESTABLISHED" || off === data.length) return;
      off += d.send(conn, data.subarray(off));
      if (off === data.length) d.close(conn);
    });
    assert.ok(await server.until(() => server.endpoint.size === 0, WAIT), "server closed");
    assert.ok(await client.until(() => client.endpoint.size === 0, WAIT), "client closed");
    assert.equal(received, data.length);
    assert.deepEqual(seen, data);
    // Passive close: LAST-ACK → CLOSED, never TIME-WAIT.
    assert.deepEqual(states.server.map((s) => s.to).slice(-3), [
      "CLOSE-WAIT",
      "LAST-ACK",
      "CLOSED",
    ]);
    // Active close: TIME-WAIT for at least 2·MSL.
    const tw = states.client.find((s) => s.to === "TIME-WAIT");
    const closed = states.client.at(-1)!;
    assert.ok(tw, JSON.stringify(states.client));
    assert.equal(closed.to, "CLOSED");
    assert.ok(closed.at - tw.at >= 2 * msl, `TIME-WAIT lasted ${closed.at - tw.at} ms`);
    // Peers are released with their last connection.
    assert.equal(client.peers.size, 0);
    assert.equal(server.peers.size, 0);
    await client.stop();
    await server.stop();
    await be.close();
  });

  Deno.test(`${h.name}: bad datagrams are dropped and counted; a stray segment gets one RST`, async () => {
    const be = h.make();
    const server = new Driver({ transport: be.b, clock: be.clock });
    const port = portOf(be.b.localAddress);
    server.listen(port);
    const probe = be.sameHostAsA();
    const replies: Uint8Array[] = [];
    probe.start({ datagram: (bytes) => replies.push(bytes.slice()) });
    const send = (bytes: Uint8Array) => probe.send(be.b.localAddress, bytes, be.clock.now());
    const pollProbe = () => probe.poll(be.clock.now());
    // Too short for a TCP header.
    send(new Uint8Array(12));
    // A bad checksum: one payload byte changed on the way.
    const payload = new TextEncoder().encode("hello");
    const bad = segmentBytes({ srcPort: 4000, dstPort: port, seq: 1, flags: SYN, payload });
    bad[bad.length - 1] ^= 0xff;
    send(bad);
    // An ACK to a port nobody listens on: RST (RFC 9293 §3.10.7.1).
    send(segmentBytes({ srcPort: 4000, dstPort: port + 1, seq: 5, ack: 77, flags: ACK }));
    be.kick();
    const ok = await server.until(
      () =>
        server.stats.tooShort === 1 && server.endpoint.stats.dropped["bad-checksum"] === 1 &&
        server.endpoint.stats.dropped["no-connection"] === 1,
      WAIT,
    );
    assert.ok(
      ok,
      JSON.stringify([
        server.stats,
        server.endpoint.stats.dropped,
        server.endpoint.stats.malformed,
      ]),
    );
    const deadline = Date.now() + WAIT;
    while (replies.length === 0 && Date.now() < deadline) {
      pollProbe();
      be.kick();
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(replies.length, 1);
    assert.equal(replies[0][13] & 0x04, 0x04); // RST
    assert.equal(server.peers.size, 0); // the stray's peer slot was not kept
    await server.stop();
    await be.a.close();
    await be.close();
  });

  Deno.test(`${h.name}: a flood of strays from one host gets at most rstPerSource RSTs and leaves no state`, async () => {
    const be = h.make();
    const server = new Driver({ transport: be.b, clock: be.clock, rstPerSource: 5 });
    server.start();
    const port = portOf(be.b.localAddress);
    const sources = Array.from({ length: 10 }, () => be.sameHostAsA());
    for (const s of sources) s.start({ datagram: () => {} });
    let k = 0;
    for (let round = 0; round < 10; round++) {
      for (const s of sources) {
        const bytes = segmentBytes({
          srcPort: 1000 + k,
          dstPort: port,
          seq: k,
          ack: k,
          flags: ACK,
        });
        s.send(be.b.localAddress, bytes, be.clock.now());
        s.poll(be.clock.now());
        k++;
      }
    }
    be.kick();
    const ok = await server.until(
      () => server.endpoint.stats.dropped["no-connection"] === 100,
      WAIT,
    );
    assert.ok(ok, `${server.endpoint.stats.dropped["no-connection"]} of 100 arrived`);
    // Ten sources, one host: one budget of 5 (plus what refilled during the run).
    assert.ok(server.stats.datagramsOut <= 8, `${server.stats.datagramsOut} RSTs sent`);
    assert.ok(server.stats.rstsRateLimited >= 92);
    // No peer slot or endpoint address is kept for them.
    assert.equal(server.peers.size, 0);
    assert.ok(server.peers.created <= 2, `${server.peers.created} slots created`);
    assert.equal(server.endpoint.size, 0);
    await server.stop();
    await be.a.close();
    await be.close();
  });

  Deno.test(`${h.name}: a segment of a live connection from a new source port is dropped as unexpected`, async () => {
    const be = h.make();
    const server = new Driver({ transport: be.b, clock: be.clock });
    const client = new Driver({ transport: be.a, clock: be.clock });
    const port = portOf(be.b.localAddress);
    server.listen(port);
    const conn = client.connect(be.b.localAddress, port);
    assert.ok(await client.until(() => client.endpoint.state(conn) === "ESTABLISHED", WAIT));
    assert.ok(await server.until(() => server.endpoint.size === 1, WAIT));
    const info = client.info(conn)!;
    // Same host as the client, another UDP port, the client's TCP 4-tuple: a NAT
    // rebinding or a spoof. Dropped and counted, not answered with RST.
    const intruder = be.sameHostAsA();
    intruder.start({ datagram: () => {} });
    intruder.send(
      be.b.localAddress,
      segmentBytes({
        srcPort: info.localPort,
        dstPort: port,
        seq: info.sndNxt,
        ack: info.rcvNxt,
        flags: ACK,
        window: 100,
      }),
      be.clock.now(),
    );
    intruder.poll(be.clock.now());
    be.kick();
    assert.ok(await server.until(() => server.stats.unexpectedSource === 1, WAIT));
    assert.equal(server.endpoint.stats.rstsOut, 0);
    assert.equal(server.endpoint.state(server.endpoint.connections()[0]), "ESTABLISHED");
    client.abort(conn);
    await client.stop();
    await server.stop();
    await be.close();
  });

  Deno.test(`${h.name}: a RST sent by a command inside a listener still leaves after the close`, async () => {
    // The abort closes the connection (its peer slot is released) before the drain
    // has sent the RST the abort queued: the slot must outlive the drain.
    const be = h.make();
    const server = new Driver({ transport: be.b, clock: be.clock });
    const client = new Driver({ transport: be.a, clock: be.clock });
    const port = portOf(be.b.localAddress);
    server.listen(port);
    server.onEvent((ev, d) => {
      if (ev.type === "data") d.abort(ev.conn);
    });
    const conn = client.connect(be.b.localAddress, port);
    client.afterDrain((d) => {
      if (d.endpoint.state(conn) === "ESTABLISHED" && d.info(conn)!.counters.bytesSent === 0) {
        d.send(conn, new Uint8Array([1, 2, 3]));
      }
    });
    let reason = "";
    client.onEvent((ev) => {
      if (ev.type === "closed") reason = ev.reason;
    });
    assert.ok(await client.until(() => reason !== "", WAIT));
    assert.equal(reason, "reset");
    assert.equal(server.endpoint.stats.rstsOut, 1);
    assert.equal(server.peers.size, 0);
    await client.stop();
    await server.stop();
    await be.close();
  });

  Deno.test(`${h.name}: close stops delivery and is idempotent`, async () => {
    const be = h.make();
    let n = 0;
    be.b.start({ datagram: () => n++ });
    be.a.start({ datagram: () => {} });
    await be.b.close();
    await be.b.close();
    be.a.send(be.b.localAddress, new Uint8Array(40), be.clock.now());
    be.a.poll(be.clock.now());
    await new Promise((r) => setTimeout(r, 30));
    be.a.poll(be.clock.now());
    assert.equal(n, 0);
    await be.a.close();
    await be.close();
  });
}

for (
  const [name, bind] of [
    ["udp", UdpTransport.bind],
    ...(UdpFfiTransport.available() ? [["udp ffi", UdpFfiTransport.bind] as const] : []),
  ] as const
) {
  Deno.test(`${name}: IPv6 peers and IPv4 peers meet on one dual-stack [::] socket`, async () => {
    const server = new Driver({ transport: bind({ hostname: "::", port: 0 }) });
    const port = portOf(server.transport.localAddress);
    assert.equal(server.transport.localAddress, `[::]:${port}`);
    server.listen(port);
    server.onEvent((ev, d) => {
      if (ev.type === "peer-closed") d.close(ev.conn);
    });
    const peers: string[] = [];
    for (const [host, target] of [["::1", `[::1]:${port}`], ["127.0.0.1", `127.0.0.1:${port}`]]) {
      const client = new Driver({ transport: bind({ hostname: host, port: 0 }) });
      const conn = client.connect(target, port);
      assert.ok(await client.until(() => client.endpoint.state(conn) === "ESTABLISHED", WAIT));
      assert.ok(await server.until(() => server.endpoint.size === 1, WAIT));
      peers.push(server.peerOf(server.endpoint.connections()[0])!);
      client.close(conn);
      assert.ok(await server.until(() => server.endpoint.size === 0, WAIT));
      client.abort(conn);
      await client.stop();
    }
    // IPv4 peers show as plain IPv4, not ::ffff:127.0.0.1.
    assert.match(peers[0], /^\[::1\]:\d+$/);
    assert.match(peers[1], /^127\.0\.0\.1:\d+$/);
    await server.stop();
  });
}
