// node:assert ships with Deno, so the tests need no registry (JSR is not reachable here).
import {
  deepStrictEqual as assertEquals,
  notDeepStrictEqual as assertNotEquals,
  ok as assert,
  throws,
} from "node:assert/strict";
import { type LinkConfig, type NetEvent, SimNetwork } from "../../src/sim/netem.ts";

const A = "10.0.0.1";
const B = "10.0.0.2";

/** A delivered copy, with its bytes copied out (pollDeliver's buffer is only lent). */
interface Got {
  id: number;
  copy: 0 | 1;
  from: string;
  to: string;
  at: number;
  bytes: number[];
}

/** Delivers everything due at or before `now`. */
function drain(net: SimNetwork, now: number): Got[] {
  const out: Got[] = [];
  for (let d = net.pollDeliver(now); d !== undefined; d = net.pollDeliver(now)) {
    out.push({ id: d.id, copy: d.copy, from: d.from, to: d.to, at: d.at, bytes: [...d.bytes] });
  }
  return out;
}

/** Runs the network to quiescence, stepping virtual time to each deadline. */
function drainAll(net: SimNetwork): Got[] {
  const out: Got[] = [];
  for (let t = net.nextDeadline(); t !== undefined; t = net.nextDeadline()) {
    out.push(...drain(net, t));
  }
  return out;
}

function events(net: SimNetwork): NetEvent[] {
  const out: NetEvent[] = [];
  for (let e = net.pollEvent(); e !== undefined; e = net.pollEvent()) out.push(e);
  return out;
}

/** Sends `n` datagrams A→B, one per ms, each holding its index, interleaved with delivery. */
function run(seed: number, cfg: Partial<LinkConfig>, n: number) {
  const net = new SimNetwork({ seed, defaults: cfg });
  const buf = new Uint8Array(4);
  const view = new DataView(buf.buffer);
  const got: Got[] = [];
  for (let i = 0; i < n; i++) {
    view.setUint32(0, i);
    net.send(A, B, buf, i);
    got.push(...drain(net, i));
  }
  got.push(...drainAll(net));
  return { net, got, events: events(net) };
}

const LOSSY: Partial<LinkConfig> = {
  loss: 0.1,
  duplicate: 0.05,
  reorder: 0.05,
  reorderDelay: 7,
  delay: 20,
  jitter: 3,
  corrupt: 0.05,
};

Deno.test("SimNetwork: same seed, same calls → identical fates, times and bytes", () => {
  const r1 = run(99, LOSSY, 2000);
  const r2 = run(99, LOSSY, 2000);
  assertEquals(r1.got, r2.got);
  assertEquals(r1.events, r2.events);
  assertEquals(r1.net.stats, r2.net.stats);
  // Every impairment actually fired, so the comparison above covers them all.
  const s = r1.net.stats;
  assert(s.lost > 0 && s.duplicated > 0 && s.corrupted > 0 && s.reordered > 0, JSON.stringify(s));
});

Deno.test("SimNetwork: different seeds give different fates", () => {
  const r1 = run(1, LOSSY, 2000);
  const r2 = run(2, LOSSY, 2000);
  assertNotEquals(r1.events, r2.events);
  assertNotEquals(r1.got, r2.got);
});

Deno.test("SimNetwork: loss rate is within statistical bounds over 100k sends", () => {
  const net = new SimNetwork({ seed: 2024, defaults: { loss: 0.1 }, recordEvents: false });
  const buf = new Uint8Array(40);
  const n = 100_000;
  let delivered = 0;
  for (let i = 0; i < n; i++) {
    net.send(A, B, buf, i);
    while (net.pollDeliver(i) !== undefined) delivered++;
  }
  // Binomial(1e5, 0.1) has sd ≈ 95, so ±1% (1000) is over ten sigma.
  assert(Math.abs(net.stats.lost - 10_000) < 1_000, `lost ${net.stats.lost}`);
  assertEquals(delivered + net.stats.lost, n);
  assertEquals(net.stats.inFlight, 0);
  assertEquals(net.pollEvent(), undefined); // recording was off
});

Deno.test("SimNetwork: for one seed, losses at a lower rate are a subset of those at a higher", () => {
  const lostIds = (loss: number) =>
    new Set(run(8, { loss }, 3000).events.filter((e) => e.type === "lost").map((e) => e.id));
  const low = lostIds(0.05), high = lostIds(0.2);
  assert(low.size > 0 && high.size > low.size);
  for (const id of low) assert(high.has(id), `id ${id} lost at 5% but not at 20%`);
});

Deno.test("SimNetwork: a duplicated datagram is delivered twice, same id and bytes", () => {
  const { got, events: evs, net } = run(4, { duplicate: 1, delay: 5 }, 50);
  assertEquals(got.length, 100);
  assertEquals(net.stats.duplicated, 50);
  assertEquals(net.stats.delivered, 100);
  for (let id = 1; id <= 50; id++) {
    const copies = got.filter((g) => g.id === id);
    assertEquals(copies.map((c) => c.copy).sort(), [0, 1]);
    assertEquals(copies[0].bytes, copies[1].bytes);
  }
  assertEquals(evs.filter((e) => e.type === "duplicated").length, 50);
});

Deno.test("SimNetwork: corruption flips exactly one bit, the one the event names", () => {
  const net = new SimNetwork({ seed: 11, defaults: { corrupt: 1 } });
  const original = new Uint8Array(64);
  for (let i = 0; i < original.length; i++) original[i] = (i * 37) & 0xff;
  for (let i = 0; i < 200; i++) {
    net.send(A, B, original, i);
    const [d] = drain(net, i);
    const [ev] = events(net).filter((e) => e.type === "corrupted");
    assert(ev !== undefined && ev.type === "corrupted");
    let flipped = 0;
    for (let j = 0; j < original.length; j++) {
      const x = original[j] ^ d.bytes[j];
      flipped += x.toString(2).split("1").length - 1;
      if (x !== 0) assertEquals(x, 1 << (ev.bit & 7));
      if (x !== 0) assertEquals(j, ev.bit >>> 3);
    }
    assertEquals(flipped, 1);
  }
  // An empty datagram has nothing to flip and arrives intact.
  net.send(A, B, new Uint8Array(0), 1000);
  assertEquals(drain(net, 1000).map((g) => g.bytes), [[]]);
});

Deno.test("SimNetwork: nothing is delivered before now + delay, and jitter stays in range", () => {
  const net = new SimNetwork({ seed: 5, defaults: { delay: 30, jitter: 10 } });
  const sentAt = new Map<number, number>();
  const buf = new Uint8Array(1);
  for (let i = 0; i < 500; i++) {
    const now = i * 0.5;
    sentAt.set(net.send(A, B, buf, now), now);
    for (const g of drain(net, now)) {
      const t0 = sentAt.get(g.id)!;
      assert(g.at >= t0 + 30 && g.at < t0 + 40, `id ${g.id} at ${g.at} sent ${t0}`);
      assert(g.at <= now);
    }
  }
  // nextDeadline is the earliest pending delivery; an instant before it, nothing comes.
  const next = net.nextDeadline()!;
  assertEquals(net.pollDeliver(next - 1e-9), undefined);
  assert(net.pollDeliver(next) !== undefined);
});

Deno.test("SimNetwork: without jitter or reorder a link is FIFO, ties in send order", () => {
  const { got } = run(6, { delay: 12, loss: 0.2, duplicate: 0.2, corrupt: 0.2 }, 1000);
  // Duplicates travel with the same delay, so ids never go backwards.
  for (let i = 1; i < got.length; i++) assert(got[i].id >= got[i - 1].id);
  // Many datagrams due at the same instant still come out in send order.
  const net = new SimNetwork({ seed: 1 });
  for (let i = 0; i < 100; i++) net.send(A, B, new Uint8Array([i]), 0);
  assertEquals(drain(net, 0).map((g) => g.bytes[0]), [...Array(100).keys()]);
});

Deno.test("SimNetwork: reorder holds copies back by reorderDelay and reports it", () => {
  const { got, events: evs } = run(3, { delay: 1, reorder: 0.3, reorderDelay: 5 }, 300);
  const held = evs.filter((e) => e.type === "reordered");
  assert(held.length > 50 && held.length < 130, `held ${held.length}`);
  const heldIds = new Set(held.map((e) => e.id));
  for (const g of got) {
    const sent = g.id - 1; // run() sends id k at time k - 1
    assertEquals(g.at, sent + 1 + (heldIds.has(g.id) ? 5 : 0));
  }
  // Some datagram overtook a held one.
  assert(got.some((g, i) => i > 0 && g.id < got[i - 1].id));
});

Deno.test("SimNetwork: a partition drops everything while set, in flight too, and heals", () => {
  const net = new SimNetwork({ seed: 1, defaults: { delay: 10 } });
  const buf = new Uint8Array([7]);
  net.send(A, B, buf, 0); // in flight when the partition starts
  net.send(B, A, buf, 0); // other direction: unaffected
  net.setLink(A, B, { partition: true });
  net.send(A, B, buf, 1);
  assertEquals(drain(net, 20).map((g) => `${g.from}>${g.to}`), [`${B}>${A}`]);
  const lost = events(net).filter((e) => e.type === "lost");
  assertEquals(lost.map((e) => e.type === "lost" && [e.id, e.reason]), [
    [3, "partition"], // dropped at send
    [1, "partition"], // dropped on delivery
  ]);
  assertEquals(net.stats.lost, 2);
  assertEquals(net.stats.inFlight, 0);

  net.setLink(A, B, { partition: false });
  assertEquals(net.getLink(A, B).delay, 10); // healing kept the other settings
  net.send(A, B, buf, 30);
  assertEquals(drain(net, 40).map((g) => g.id), [4]);
});

Deno.test("SimNetwork: reusing the caller's buffer after send does not change deliveries", () => {
  const net = new SimNetwork({ seed: 1, defaults: { delay: 5 } });
  const buf = new Uint8Array(100);
  for (let i = 0; i < 50; i++) {
    buf.fill(i);
    net.send(A, B, buf, i);
  }
  buf.fill(255);
  const got = drainAll(net);
  assertEquals(got.length, 50);
  got.forEach((g, i) => assert(g.bytes.every((b) => b === i), `datagram ${i}`));
});

Deno.test("SimNetwork: delivered buffers are recycled without corrupting pending ones", () => {
  // Sizes across several pool classes; buffers are recycled while others are pending.
  const net = new SimNetwork({ seed: 2, defaults: { delay: 3, jitter: 4 } });
  const sizes = [0, 1, 20, 64, 65, 1500, 9000];
  const expect = new Map<number, number[]>();
  for (let i = 0; i < 400; i++) {
    const bytes = new Uint8Array(sizes[i % sizes.length]).map((_, j) => (i + j) & 0xff);
    expect.set(net.send(A, B, bytes, i), [...bytes]);
    for (const g of drain(net, i)) assertEquals(g.bytes, expect.get(g.id));
  }
  for (const g of drainAll(net)) assertEquals(g.bytes, expect.get(g.id));
  assertEquals(net.stats.delivered, 400);
});

Deno.test("SimNetwork: pollEvent reports each fate once, in order", () => {
  const net = new SimNetwork({ seed: 1, defaults: { delay: 1 } });
  net.setLink(A, B, { loss: 1 });
  net.send(A, B, new Uint8Array(3), 0);
  net.setLink(A, B, { loss: 0, duplicate: 1 });
  net.send(A, B, new Uint8Array(5), 0);
  drain(net, 1);
  assertEquals(events(net), [
    { type: "lost", reason: "loss", id: 1, copy: 0, from: A, to: B, length: 3, at: 0 },
    { type: "duplicated", id: 2, copy: 1, from: A, to: B, length: 5, at: 0 },
    { type: "delivered", id: 2, copy: 0, from: A, to: B, length: 5, at: 1 },
    { type: "delivered", id: 2, copy: 1, from: A, to: B, length: 5, at: 1 },
  ]);
  assertEquals(net.pollEvent(), undefined);
  assertEquals(net.stats, {
    sent: 2,
    delivered: 2,
    lost: 1,
    duplicated: 1,
    corrupted: 0,
    reordered: 0,
    inFlight: 0,
  });
});

Deno.test("SimNetwork: links are per direction and default to the defaults", () => {
  const net = new SimNetwork({ seed: 1, defaults: { delay: 4 } });
  net.setLink(A, B, { loss: 0.5 });
  assertEquals(net.getLink(A, B).loss, 0.5);
  assertEquals(net.getLink(A, B).delay, 4);
  assertEquals(net.getLink(B, A).loss, 0);
  assertEquals(net.getLink("x", "y").delay, 4);
  assertEquals(net.nextDeadline(), undefined);
});

Deno.test("SimNetwork: bad configuration throws RangeError naming the field", () => {
  const net = new SimNetwork({ seed: 1 });
  throws(() => net.setLink(A, B, { loss: 1.5 }), { name: "RangeError", message: /loss/ });
  throws(() => net.setLink(A, B, { corrupt: NaN }), { name: "RangeError", message: /corrupt/ });
  throws(() => net.setLink(A, B, { delay: -1 }), { name: "RangeError", message: /delay/ });
  throws(() => new SimNetwork({ seed: 1, defaults: { jitter: Infinity } }), {
    name: "RangeError",
    message: /jitter/,
  });
  throws(() => new SimNetwork({ seed: 0.5 }), { name: "RangeError", message: /seed/ });
  assertEquals(net.getLink(A, B).loss, 0); // a rejected update changes nothing
});
