// Ephemeral port selection (RFC 6056 §3.3.4, Algorithm 4) and the TIME-WAIT index's
// locality for the ports it hands out.
import { equal, notEqual, ok, throws } from "node:assert/strict";
import { AddressInUseError, Endpoint } from "../../src/endpoint/endpoint.ts";
import { timeWaitHome } from "../../src/endpoint/time_wait.ts";

function client(fill = 5, ephemeralPorts?: [number, number]): Endpoint {
  return new Endpoint({
    address: "10.0.0.1",
    secret: new Uint8Array(16).fill(fill),
    ephemeralPorts,
  });
}

/** The local ports of `n` connects to `remote`:`port`. */
function ports(ep: Endpoint, remote: string, port: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(ep.localPortOf(ep.connect(remote, port, 1)));
  return out;
}

Deno.test("ports: consecutive connects to one destination take consecutive ports", () => {
  const ep = client();
  const ps = ports(ep, "10.0.0.2", 80, 40);
  for (const p of ps) ok(p >= 49152 && p <= 65535, `${p} outside the dynamic range`);
  for (let i = 1; i < ps.length; i++) {
    // Sequential, wrapping from the top of the range to its bottom.
    equal(ps[i], ps[i - 1] === 65535 ? 49152 : ps[i - 1] + 1);
  }
});

Deno.test("ports: interleaved destinations each keep their own sequence", () => {
  const ep = client();
  // Round robin over 50 server ports, as a load generator does: each destination's
  // ports stay consecutive unless it shares a counter with another one.
  const by = new Map<number, number[]>();
  for (let i = 0; i < 50 * 8; i++) {
    const port = 1000 + (i % 50);
    const seq = by.get(port) ?? [];
    seq.push(ep.localPortOf(ep.connect("10.0.0.2", port, 1)));
    by.set(port, seq);
  }
  let sequential = 0;
  for (const seq of by.values()) {
    if (seq.every((p, i) => i === 0 || p === seq[i - 1] + 1 || p === 49152)) sequential++;
  }
  // 50 destinations on 1024 counters: a few may share one (birthday), most do not.
  ok(sequential >= 40, `only ${sequential} of 50 destinations kept consecutive ports`);
});

Deno.test("ports: where a destination starts depends on the secret and the destination", () => {
  const first = (fill: number, remote: string, port: number) => {
    const ep = client(fill);
    return ep.localPortOf(ep.connect(remote, port, 1));
  };
  // Deterministic for one secret (reproducible runs)...
  equal(first(5, "10.0.0.2", 80), first(5, "10.0.0.2", 80));
  // ...and unrelated across secrets and destinations: a peer learns nothing about the
  // ports used towards others (RFC 6056 §3.3.4).
  const starts = new Set<number>();
  for (let fill = 1; fill <= 20; fill++) starts.add(first(fill, "10.0.0.2", 80));
  ok(starts.size >= 18, `20 secrets gave only ${starts.size} starting ports`);
  const ep = client();
  const byDest: number[] = [];
  for (let port = 1; port <= 20; port++) {
    byDest.push(ep.localPortOf(ep.connect("10.0.0.3", port, 1)));
  }
  const adjacent = byDest.filter((p, i) => i > 0 && Math.abs(p - byDest[i - 1]) <= 1).length;
  ok(adjacent <= 2, `destinations started next to each other: ${byDest.join(", ")}`);
});

Deno.test("ports: a port in use is skipped, and the range runs out with a clear error", () => {
  const ep = client(5, [50000, 50003]);
  const ps = ports(ep, "10.0.0.2", 80, 4);
  equal(new Set(ps).size, 4);
  for (const p of ps) ok(p >= 50000 && p <= 50003);
  throws(() => ep.connect("10.0.0.2", 80, 1), AddressInUseError);
  // Another destination has the whole range to itself.
  equal(new Set(ports(ep, "10.0.0.2", 81, 4)).size, 4);
  // A port taken explicitly is skipped by the sequence of its destination.
  const next = ports(client(5, [50000, 50003]), "10.0.0.2", 80, 1)[0];
  const ep2 = client(5, [50000, 50003]);
  ep2.connect("10.0.0.2", 80, 1, { localPort: next });
  notEqual(ep2.localPortOf(ep2.connect("10.0.0.2", 80, 1)), next);
});

Deno.test("ports: four consecutive ports of one destination share an index block", () => {
  // The TIME-WAIT index puts a destination's ports p..p+3 (p a multiple of 4) in one
  // aligned block of 4 slots: one cache line serves four connections.
  for (let seed = 0; seed < 8; seed++) {
    for (let base = 49152; base < 49152 + 64 * 4; base += 4) {
      const homes = [0, 1, 2, 3].map((k) => timeWaitHome(7, base + k, 443, 1 << 21, seed));
      equal(new Set(homes).size, 4, "distinct homes");
      equal(new Set(homes.map((h) => h >> 2)).size, 1, `ports ${base}.. in one block`);
    }
  }
  // A server's records (its own port fixed, the peers' ports sequential) still spread:
  // the grouping follows the local port only.
  const blocks = new Set<number>();
  for (let rp = 50000; rp < 50064; rp++) blocks.add(timeWaitHome(7, 443, rp, 1 << 21, 1) >> 2);
  ok(blocks.size >= 60, `64 peer ports fell into ${blocks.size} blocks`);
});

Deno.test("ports: an invalid ephemeral range is refused when the endpoint is made", () => {
  for (const range of [[0, 10], [60000, 50000], [50000, 70000], [1.5, 10]] as [number, number][]) {
    throws(() => client(5, range), /Invalid ephemeral port range/);
  }
  equal(ports(client(5, [65535, 65535]), "10.0.0.2", 80, 1)[0], 65535);
});
