/**
 * The UDP transport's user-space impairment (`listen` / `connect` `--loss`, `--delay`,
 * `--seed`; the options are tested in `tests/cli/net_cli_test.ts`): seeded, on both
 * directions, bounded, and refused when nonsensical. The full conformance suite also
 * runs through it (`conformance_test.ts`, "impaired").
 * No assertion here depends on how long anything took.
 */
import assert from "node:assert/strict";
import { type UdpImpairment, UdpTransport } from "../../transports/udp.ts";

const WAIT_MS = 10_000;

/** Polls `t` (the driver's job) until `pred()` holds; false after WAIT_MS. */
async function pollUntil(ts: UdpTransport[], pred: () => boolean): Promise<boolean> {
  const t0 = performance.now();
  const deadline = Date.now() + WAIT_MS;
  while (!pred()) {
    if (Date.now() > deadline) return false;
    for (const t of ts) t.poll(performance.now() - t0 + 1e9); // far past any delay
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

/** Sends `n` numbered datagrams through an impaired sender; returns the numbers that arrived. */
async function survivors(impair: UdpImpairment, n: number): Promise<Set<number>> {
  const a = UdpTransport.bind({ port: 0, impair });
  const b = UdpTransport.bind({ port: 0 });
  const got = new Set<number>();
  b.start({ datagram: (bytes) => got.add((bytes[0] << 8) | bytes[1]) });
  a.start({ datagram: () => {} });
  const buf = new Uint8Array(20);
  for (let i = 0; i < n; i++) {
    buf[0] = i >> 8;
    buf[1] = i & 255;
    assert.ok(a.send(b.localAddress, buf, 0));
  }
  // Every datagram has met its fate once the impairment holds nothing back and all
  // that it let through has arrived.
  const ok = await pollUntil([a], () => {
    const st = a.impairment!;
    return st.passed === n && got.size === n - st.lost;
  });
  assert.ok(ok, `${got.size} arrived, impairment ${JSON.stringify(a.impairment)}`);
  await a.close();
  await b.close();
  return got;
}

Deno.test("udp impairment: the same seed drops the same datagrams; nothing else is lost", async () => {
  const one = await survivors({ seed: 7, loss: 0.3, delay: 1 }, 200);
  const two = await survivors({ seed: 7, loss: 0.3, delay: 1 }, 200);
  assert.deepEqual([...one].sort((x, y) => x - y), [...two].sort((x, y) => x - y));
  // 30 % of 200: far from none and far from all (the seeded draw, not a timing).
  assert.ok(one.size > 100 && one.size < 180, `${one.size} of 200 survived`);
  const clean = await survivors({ seed: 7, delay: 1 }, 50);
  assert.equal(clean.size, 50);
});

Deno.test("udp impairment: received datagrams wait for the driver's poll, then arrive from their source", async () => {
  const a = UdpTransport.bind({ port: 0 });
  const b = UdpTransport.bind({ port: 0, impair: { seed: 1, delay: 5 } });
  const got: string[] = [];
  let woken = 0;
  b.start({ datagram: (bytes, from) => got.push(`${bytes.length} ${from}`), wake: () => woken++ });
  a.start({ datagram: () => {} });
  a.send(b.localAddress, new Uint8Array(33), 0);
  // Held until someone polls: the transport tells the driver it has work (wake).
  assert.ok(await pollUntil([], () => woken > 0));
  assert.deepEqual(got, []);
  assert.equal(b.nextDeadline(), 0); // due now: enters the impairment at the next poll
  b.poll(10);
  assert.deepEqual(got, []); // 5 ms from 10
  assert.equal(b.nextDeadline(), 15);
  b.poll(15);
  assert.deepEqual(got, [`33 ${a.localAddress}`]);
  assert.equal(b.nextDeadline(), Infinity);
  await a.close();
  await b.close();
});

Deno.test("udp impairment: the queue is bounded; what does not fit is dropped and counted", async () => {
  const a = UdpTransport.bind({ port: 0, impair: { seed: 1, delay: 60_000, queue: 4 } });
  const b = UdpTransport.bind({ port: 0 });
  b.start({ datagram: () => {} });
  a.start({ datagram: () => {} });
  const sent = Array.from({ length: 10 }, () => a.send(b.localAddress, new Uint8Array(20), 0));
  assert.deepEqual(sent, [true, true, true, true, false, false, false, false, false, false]);
  assert.deepEqual(a.impairment, { passed: 4, lost: 0, queueFull: 6 });
  await a.close();
  await b.close();
});

Deno.test("udp impairment: nonsense is refused, not run", () => {
  for (
    const bad of [
      { seed: 1, loss: 2 },
      { seed: 1, loss: -0.1 },
      { seed: 1, loss: NaN },
      { seed: 1, delay: -1 },
      { seed: 1, delay: Infinity },
      { seed: 1, queue: 0 },
      { seed: 1, queue: 1.5 },
      { seed: 0.5 },
    ]
  ) {
    assert.throws(
      () => UdpTransport.bind({ port: 0, impair: bad }),
      RangeError,
      JSON.stringify(bad),
    );
  }
});
