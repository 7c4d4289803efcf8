/**
 * The FFI UDP transport beyond the shared conformance suite: bad input (oversize,
 * garbage from a raw socket, unusable addresses), bind errors as one-line
 * {@linkcode TransportError}s, the address text, and a close that returns while a
 * poll is pending. Skipped where FFI is not available (not Linux, no --allow-ffi).
 * No timing assertions: every wait is bounded.
 */
import assert from "node:assert/strict";
import { Driver } from "../../transports/driver.ts";
import { TransportError } from "../../transports/udp.ts";
import { sockaddr, UdpFfiTransport } from "../../transports/udp_ffi.ts";
import { formatIp, parseIp } from "../../src/wire/checksum.ts";

const ignore = !UdpFfiTransport.available();
const WAIT = 10_000;

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

async function until(pred: () => boolean): Promise<boolean> {
  const deadline = Date.now() + WAIT;
  while (!pred() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return pred();
}

/** A test that needs the FFI transport (ignored where it is not available). */
function ffiTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore, fn });
}

/** Sends `bytes` from a fresh `Deno.listenDatagram` socket to 127.0.0.1:`port`. */
async function rawSend(port: number, ...datagrams: Uint8Array[]): Promise<string> {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  for (const d of datagrams) await s.send(d, { transport: "udp", hostname: "127.0.0.1", port });
  const from = `127.0.0.1:${(s.addr as Deno.NetAddr).port}`;
  s.close();
  return from;
}

Deno.test("IPv4 and IPv6 literals parse and print as the rest of the code writes them", () => {
  // The transport reads and writes addresses with the wire layer's parseIp/formatIp.
  assert.deepEqual([...parseIp("10.0.0.255")!], [10, 0, 0, 255]);
  for (const bad of ["10.0.0", "10.0.0.256", "a.b.c.d", "1.2.3.4.5", ""]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
  for (
    const [text, canon] of [
      ["::", "::"],
      ["::1", "::1"],
      ["2001:DB8:0:0:0:0:0:1", "2001:db8::1"],
      ["1:0:0:2:0:0:0:3", "1:0:0:2::3"],
      ["1:0:2:3:4:5:6:7", "1:0:2:3:4:5:6:7"],
      ["fe80::1:2", "fe80::1:2"],
      ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ]
  ) {
    assert.equal(formatIp(parseIp(text)!), canon, text);
  }
  for (
    const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "g::1", "fe80::1%eth0", "1.2.3.4"]
  ) {
    assert.notEqual(parseIp(bad)?.length, 16, bad);
  }
  // On a dual-stack socket an IPv4 peer is reached at its IPv4-mapped address.
  assert.equal(sockaddr("127.0.0.1", 80, false)!.length, 16);
  assert.equal(sockaddr("127.0.0.1", 80, true)!.length, 28);
  assert.equal(sockaddr("example.com", 80, false), undefined);
  // The mapped address sits in sin6_addr: ::ffff:127.0.0.1.
  assert.deepEqual([...sockaddr("127.0.0.1", 80, true)!.subarray(8, 24)], [
    ...new Array(10).fill(0),
    0xff,
    0xff,
    127,
    0,
    0,
    1,
  ]);
  assert.deepEqual([...sockaddr("::1", 0x1234, false)!.subarray(0, 4)], [10, 0, 0x12, 0x34]);
});

ffiTest("bind errors are one-line TransportErrors of the existing kinds", async () => {
  const a = UdpFfiTransport.bind({ hostname: "127.0.0.1", port: 0 });
  const cases: [string, number, string][] = [
    ["127.0.0.1", portOf(a.localAddress), "address-in-use"],
    ["192.0.2.77", 0, "address-not-available"],
    ["not an address", 0, "bad-address"],
    ["127.0.0.1", 70000, "bad-address"],
  ];
  for (const [hostname, port, kind] of cases) {
    assert.throws(
      () => UdpFfiTransport.bind({ hostname, port }),
      (e: unknown) => e instanceof TransportError && e.kind === kind && !e.message.includes("\n"),
    );
  }
  await a.close();
});

ffiTest(
  "oversize datagrams and garbage from a raw socket are dropped or counted, never fatal",
  async () => {
    const t = UdpFfiTransport.bind({ hostname: "127.0.0.1", port: 0 });
    const server = new Driver({ transport: t });
    server.listen(portOf(t.localAddress));
    const garbage: Uint8Array[] = [new Uint8Array(0), new Uint8Array(3).fill(0xff)];
    for (let i = 0; i < 20; i++) {
      garbage.push(crypto.getRandomValues(new Uint8Array(20 + i * 37)));
    }
    garbage.push(new Uint8Array(1233), new Uint8Array(60_000));
    await rawSend(portOf(t.localAddress), ...garbage);
    assert.ok(await until(() => t.stats.oversize === 2 && t.stats.datagramsIn === 22));
    assert.equal(server.stats.datagramsIn, 22);
    assert.equal(server.stats.tooShort, 2);
    // Still serving: a real connection goes through afterwards.
    const client = new Driver({ transport: UdpFfiTransport.bind({ port: 0 }) });
    const conn = client.connect(t.localAddress, portOf(t.localAddress));
    assert.ok(await client.until(() => client.endpoint.state(conn) === "ESTABLISHED", WAIT));
    client.abort(conn);
    await client.stop();
    await server.stop();
  },
);

ffiTest("sends to unusable addresses or over maxDatagram are refused and counted", async () => {
  const t = UdpFfiTransport.bind({ hostname: "127.0.0.1", port: 0 });
  t.start({ datagram: () => {} });
  assert.equal(t.send("example.com:80", new Uint8Array(20), 0), false);
  assert.equal(t.send("[::1]:80", new Uint8Array(20), 0), false); // IPv4 socket
  assert.equal(t.send("nonsense", new Uint8Array(20), 0), false);
  assert.equal(t.send(t.localAddress, new Uint8Array(1233), 0), false);
  assert.equal(t.stats.errors, 4);
  assert.equal(t.stats.datagramsOut, 0);
  await t.close();
  assert.equal(t.send(t.localAddress, new Uint8Array(20), 0), false);
});

ffiTest("pacing queues beyond the burst and sends at the next poll", async () => {
  const a = UdpFfiTransport.bind({ port: 0, burst: 2, ratePerMs: 1, queue: 3 });
  const b = UdpFfiTransport.bind({ port: 0 });
  let got = 0;
  b.start({ datagram: () => got++ });
  a.start({ datagram: () => {} });
  const d = new Uint8Array(40);
  for (let i = 0; i < 6; i++) a.send(b.localAddress, d, 0);
  assert.equal(a.stats.datagramsOut, 2); // the burst
  assert.equal(a.stats.sendQueueFull, 1); // 3 queued, the sixth dropped
  assert.equal(a.nextDeadline(), 1);
  a.poll(10); // at most `burst` banked
  assert.equal(a.stats.datagramsOut, 4);
  a.poll(20);
  assert.equal(a.stats.datagramsOut, 5);
  assert.equal(a.nextDeadline(), Infinity);
  assert.ok(await until(() => got === 5));
  await a.close();
  await b.close();
});

ffiTest(
  "close returns while a poll is pending, and a closed transport delivers nothing",
  async () => {
    const ts = Array.from({ length: 4 }, () => UdpFfiTransport.bind({ port: 0 }));
    let n = 0;
    for (const t of ts) t.start({ datagram: () => n++ });
    await new Promise((r) => setTimeout(r, 20)); // every one waits in poll() now
    await Promise.all(ts.map((t) => t.close()));
    await rawSend(portOf(ts[0].localAddress), new Uint8Array(40)).catch(() => "");
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(n, 0);
    await ts[0].close(); // idempotent
  },
);
