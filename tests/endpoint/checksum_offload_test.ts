/**
 * Checksum offload (EndpointOptions.computeChecksum / verifyChecksum): an endpoint that
 * leaves its checksums to the link sends the pseudo-header sum in the field (Linux's
 * CHECKSUM_PARTIAL). A link that completes them, or a peer that trusts the link, runs
 * the lifecycle exactly as with software checksums; a verifying peer on a link that
 * does not complete them drops every segment as corrupted.
 */
import { deepStrictEqual, equal, notEqual } from "node:assert/strict";
import { Endpoint, type EndpointOptions } from "../../src/endpoint/endpoint.ts";
import { addrSum, parseIp } from "../../src/wire/checksum.ts";
import { completeChecksum, decode } from "../../src/wire/segment.ts";

const CLIENT = "10.0.0.1";
const SERVER = "10.0.0.2";
const MESSAGE = new Uint8Array(64).map((_, i) => i * 7);

type Checksums = Pick<EndpointOptions, "computeChecksum" | "verifyChecksum">;

interface Run {
  states: string[];
  received: { client: number[]; server: number[] };
  /** Every segment as it left its sender (copies), client's then server's. */
  sent: { fromClient: boolean; bytes: Uint8Array }[];
  badChecksums: number;
}

/** One lifecycle; `link` may rewrite each datagram in flight (returns what arrives). */
function lifecycle(
  client: Checksums,
  server: Checksums,
  link: (bytes: Uint8Array, fromClient: boolean) => Uint8Array = (b) => b,
): Run {
  const secret = new Uint8Array(16).fill(3);
  const c = new Endpoint({ address: CLIENT, secret, ...client });
  const s = new Endpoint({ address: SERVER, secret, ...server });
  s.listen(80);
  const now = 1;
  const id = c.connect(SERVER, 80, now);
  const received = { client: [] as number[], server: [] as number[] };
  const sent: Run["sent"] = [];
  const buf = new Uint8Array(1024);
  const drain = (from: Endpoint, to: Endpoint, isClient: boolean): number => {
    let moved = 0;
    for (let ev = from.pollEvent(); ev; ev = from.pollEvent()) {
      moved++;
      if (ev.type === "state-changed" && isClient && ev.to === "ESTABLISHED") {
        from.send(ev.conn, MESSAGE, now);
      } else if (ev.type === "data") {
        const n = from.readInto(ev.conn, buf, now);
        (isClient ? received.client : received.server).push(...buf.subarray(0, n));
        if (isClient) from.close(ev.conn, now);
        else from.send(ev.conn, MESSAGE, now);
      } else if (ev.type === "peer-closed" && !isClient) {
        from.close(ev.conn, now);
      }
    }
    const out: Uint8Array[] = [];
    for (let t = from.pollTransmit(); t; t = from.pollTransmit()) out.push(t.bytes.slice());
    for (const bytes of out) {
      sent.push({ fromClient: isClient, bytes: bytes.slice() });
      to.handleDatagram(link(bytes, isClient), isClient ? CLIENT : SERVER, now);
    }
    return moved + out.length;
  };
  for (let round = 0; round < 50; round++) {
    if (drain(c, s, true) + drain(s, c, false) === 0) break;
  }
  // The server's connection is the only one it ever had.
  const serverConn = s.connections()[0];
  return {
    states: [c.state(id), serverConn === undefined ? "CLOSED" : s.state(serverConn)],
    received,
    sent,
    badChecksums: c.stats.malformed["bad-checksum"] + s.stats.malformed["bad-checksum"],
  };
}

const SOFTWARE: Checksums = {};
const OFFLOAD: Checksums = { computeChecksum: false, verifyChecksum: false };

Deno.test("checksum offload: both ends offloading run the lifecycle as software checksums do", () => {
  const soft = lifecycle(SOFTWARE, SOFTWARE);
  const off = lifecycle(OFFLOAD, OFFLOAD);
  deepStrictEqual(soft.states, ["TIME-WAIT", "CLOSED"]);
  deepStrictEqual(off.states, soft.states);
  deepStrictEqual(off.received, { client: [...MESSAGE], server: [...MESSAGE] });
  equal(off.sent.length, soft.sent.length);
  const sums = {
    fromClient: addrSum(parseIp(CLIENT)!, parseIp(SERVER)!),
    fromServer: addrSum(parseIp(SERVER)!, parseIp(CLIENT)!),
  };
  for (let i = 0; i < off.sent.length; i++) {
    const { fromClient, bytes } = off.sent[i];
    const sum = fromClient ? sums.fromClient : sums.fromServer;
    // Left to the link: a verifying receiver would refuse it as sent...
    const raw = decode(bytes, sum);
    equal(!raw.ok && raw.reason, "bad-checksum", `segment ${i}`);
    // ...and completing it gives exactly the software-checksummed segment.
    completeChecksum(bytes);
    deepStrictEqual(bytes, soft.sent[i].bytes, `segment ${i}`);
  }
});

Deno.test("checksum offload: a verifying peer accepts what the link completes", () => {
  // Only the client offloads: the link completes what it sends.
  const run = lifecycle({ computeChecksum: false }, SOFTWARE, (bytes, fromClient) => {
    if (fromClient) completeChecksum(bytes);
    return bytes;
  });
  deepStrictEqual(run.states, ["TIME-WAIT", "CLOSED"]);
  deepStrictEqual(run.received, { client: [...MESSAGE], server: [...MESSAGE] });
  equal(run.badChecksums, 0);
});

Deno.test("checksum offload: a verifying peer drops uncompleted segments as corrupted", () => {
  const run = lifecycle({ computeChecksum: false }, SOFTWARE);
  // The SYN never gets through: the client retransmits later, nothing is established.
  notEqual(run.states[0], "ESTABLISHED");
  equal(run.states[1], "CLOSED");
  equal(run.badChecksums, 1);
  deepStrictEqual(run.received, { client: [], server: [] });
});
