import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { FifoTimer } from "../../src/time/fifo_timer.ts";

function order(q: FifoTimer): number[] {
  const out: number[] = [];
  for (let i = q.head(); i !== -1; i = q.next(i)) out.push(i);
  return out;
}

function pop(q: FifoTimer, now: number): number[] {
  const out: number[] = [];
  q.popExpired(now, (i) => out.push(i));
  return out;
}

Deno.test("fifo: expires in arrival order, never early", () => {
  const q = new FifoTimer(8);
  q.append(5, 100);
  q.append(2, 100);
  q.append(7, 150.5);
  q.append(0, 200);
  equal(q.size, 4);
  equal(q.headDeadline(), 100);
  deepStrictEqual(pop(q, 99.9), []);
  deepStrictEqual(pop(q, 100), [5, 2]);
  deepStrictEqual(pop(q, 150.6), []); // 150.5 rounds up to 151: late by < 1 ms, never early
  equal(q.headDeadline(), 151);
  deepStrictEqual(pop(q, 1000), [7, 0]);
  equal(q.size, 0);
  equal(q.headDeadline(), Infinity);
  equal(q.head(), -1);
});

Deno.test("fifo: unlink head, middle and tail", () => {
  const q = new FifoTimer(8);
  for (let i = 0; i < 5; i++) q.append(i, 10 * (i + 1));
  q.unlink(2); // middle
  deepStrictEqual(order(q), [0, 1, 3, 4]);
  q.unlink(0); // head
  equal(q.head(), 1);
  equal(q.headDeadline(), 20);
  q.unlink(4); // tail
  equal(q.tail(), 3);
  equal(q.deadline(3), 40);
  deepStrictEqual(order(q), [1, 3]);
  q.unlink(4); // not linked: no-op
  equal(q.size, 2);
  ok(!q.has(4) && q.has(3));
  q.unlink(1);
  q.unlink(3);
  equal(q.size, 0);
  equal(q.head(), -1);
  equal(q.tail(), -1);
  equal(q.headDeadline(), Infinity);
  q.append(4, 5); // the queue is reusable after emptying
  deepStrictEqual(pop(q, 5), [4]);
});

Deno.test("fifo: restart is unlink + append and moves to the tail", () => {
  const q = new FifoTimer(4);
  q.append(0, 100);
  q.append(1, 110);
  q.append(2, 120);
  q.unlink(0);
  q.append(0, 150); // restarted at t = 90 with a 60 ms duration
  deepStrictEqual(order(q), [1, 2, 0]);
  equal(q.headDeadline(), 110);
  equal(q.deadline(0), 150);
  deepStrictEqual(pop(q, 149), [1, 2]);
  deepStrictEqual(pop(q, 150), [0]);
});

Deno.test("fifo: an earlier deadline is raised to the tail's, keeping order", () => {
  const q = new FifoTimer(4);
  q.append(0, 500);
  q.append(1, 400);
  equal(q.deadline(1), 500);
  deepStrictEqual(pop(q, 499), []);
  deepStrictEqual(pop(q, 500), [0, 1]);
  throws(() => {
    q.append(2, 1);
    q.append(2, 2);
  });
});

Deno.test("fifo: callbacks may re-append without spinning", () => {
  const q = new FifoTimer(4);
  q.append(0, 10);
  q.append(1, 10);
  let calls = 0;
  const n = q.popExpired(10, (i) => {
    calls++;
    q.append(i, 10); // re-armed already due: waits for the next call
  });
  equal(n, 2);
  equal(calls, 2);
  equal(q.size, 2);
  deepStrictEqual(order(q), [0, 1]);
});

Deno.test("fifo: deadlines beyond 2^32 ms survive the 32-bit storage", () => {
  const q = new FifoTimer(4);
  const base = 1.7e12; // a Date.now()-sized clock
  q.append(0, base + 60_000);
  q.append(1, base + 2 ** 32 - 5); // spans almost the whole 32-bit range
  equal(q.deadline(0), base + 60_000);
  equal(q.deadline(1), base + 2 ** 32 - 5);
  deepStrictEqual(pop(q, base + 60_000), [0]);
  equal(q.headDeadline(), base + 2 ** 32 - 5);
  deepStrictEqual(pop(q, base + 2 ** 32), [1]);
});

Deno.test("fifo: grow keeps links; clear empties", () => {
  const q = new FifoTimer(2);
  q.append(0, 1);
  q.append(1, 2);
  q.grow(8);
  equal(q.capacity, 8);
  q.append(7, 3);
  deepStrictEqual(order(q), [0, 1, 7]);
  equal(q.byteLength, 8 * 12);
  q.clear();
  equal(q.size, 0);
  ok(!q.has(0) && !q.has(7));
  deepStrictEqual(pop(q, 100), []);
  q.append(0, 4);
  deepStrictEqual(pop(q, 100), [0]);
});

Deno.test("fifo: random churn matches a reference list", () => {
  let seed = 12345;
  const r = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const N = 256;
  const q = new FifoTimer(N);
  const ref: Array<{ i: number; d: number }> = [];
  let now = 0;
  for (let step = 0; step < 20_000; step++) {
    const x = r();
    const i = Math.floor(r() * N);
    const pos = ref.findIndex((e) => e.i === i);
    if (x < 0.5) {
      if (pos >= 0) ref.splice(pos, 1); // restart
      q.unlink(i);
      q.append(i, now + 100);
      ref.push({ i, d: now + 100 });
    } else if (x < 0.7) {
      if (pos >= 0) ref.splice(pos, 1);
      q.unlink(i);
    } else {
      now += Math.floor(r() * 30);
      const expected = ref.filter((e) => e.d <= now).map((e) => e.i);
      ref.splice(0, expected.length);
      deepStrictEqual(pop(q, now), expected, `step ${step}`);
    }
    equal(q.size, ref.length);
    deepStrictEqual(order(q), ref.map((e) => e.i));
  }
});

Deno.test("fifo: state is exact inside expiry callbacks", () => {
  const q = new FifoTimer(8);
  for (let i = 0; i < 6; i++) q.append(i, 100 + i);
  const seen: Array<[number, number, number]> = [];
  const n = q.popExpired(103, (idx) => {
    seen.push([idx, q.head(), q.headDeadline()]);
    ok(!q.has(idx));
    if (idx === 1) q.unlink(2); // cancel the next one: it must not fire
    if (idx === 3) q.append(idx, 200); // restart during expiry
  });
  equal(n, 3);
  deepStrictEqual(seen, [[0, 1, 101], [1, 2, 102], [3, 4, 104]]);
  deepStrictEqual(order(q), [4, 5, 3]);
  equal(q.headDeadline(), 104);
  ok(!q.due(103.9) && q.due(104));
  deepStrictEqual(pop(q, 104), [4]);
});
