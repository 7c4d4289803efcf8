import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import { TimerWheel } from "../../src/time/timer_wheel.ts";
import { prng as rng } from "../_helpers/prng.ts";

function collect(wheel: TimerWheel, now: number): number[] {
  const ids: number[] = [];
  wheel.advance(now, (id) => ids.push(id));
  return ids;
}

Deno.test("wheel: fires in deadline order, never early, exactly once", () => {
  const w = new TimerWheel({ now: 0 });
  const deadlines = [5, 1, 300, 70_000, 64, 65, 256, 255, 257, 5_000_000, 1];
  deadlines.forEach((d, id) => w.insert(id, d));
  equal(w.size, deadlines.length);
  const fired: Array<[number, number]> = [];
  for (let now = 0; now <= 5_000_001; now += now < 100_000 ? 1 : 1000) {
    w.advance(now, (id) => {
      ok(deadlines[id] <= now, `timer ${id} fired early at ${now}`);
      fired.push([id, now]);
    });
  }
  const order = fired.map(([id]) => deadlines[id]);
  deepStrictEqual(order, [...deadlines].sort((a, b) => a - b));
  // At 1 ms steps every timer fires in the tick of its deadline.
  for (const [id, at] of fired) if (deadlines[id] < 100_000) equal(at, deadlines[id]);
  equal(w.size, 0);
  equal(w.nextDeadline(), Infinity);
});

Deno.test("wheel: a single big jump fires everything due, in order", () => {
  const w = new TimerWheel({ now: 1000 });
  const ds = [1_000_000_000_000, 1500, 2 ** 33, 1001, 99_999, 2 ** 40];
  ds.forEach((d, id) => w.insert(id, d));
  deepStrictEqual(collect(w, 2 ** 34), [3, 1, 4, 0, 2].filter((id) => ds[id] <= 2 ** 34));
  deepStrictEqual(collect(w, 2 ** 41), [0, 5]);
});

Deno.test("wheel: past and current deadlines fire on the next advance", () => {
  const w = new TimerWheel({ now: 500 });
  w.insert(1, 100);
  w.insert(2, 500);
  w.insert(3, 500.5);
  deepStrictEqual(collect(w, 500), [1, 2]);
  deepStrictEqual(collect(w, 500.7), []); // 500.5 fires with tick 501, not before
  deepStrictEqual(collect(w, 501), [3]);
});

Deno.test("wheel: cancelled timers never fire; stale handles are no-ops", () => {
  const w = new TimerWheel({ now: 0, capacity: 16 });
  const a = w.insert(1, 10);
  const b = w.insert(2, 10);
  ok(w.cancel(a));
  ok(!w.cancel(a), "second cancel is a no-op");
  deepStrictEqual(collect(w, 10), [2]);
  ok(!w.cancel(b), "cancel after firing is a no-op");
  // The freed slot is reused with a new generation: old handles cannot touch it.
  const c = w.insert(3, 20);
  equal(c & 0xffffff, b & 0xffffff);
  ok(c !== b);
  ok(!w.cancel(b));
  ok(w.isActive(c));
  deepStrictEqual(collect(w, 20), [3]);
  ok(!w.isActive(c));
  ok(Number.isNaN(w.deadlineOf(c)));
});

Deno.test("wheel: reschedule keeps the handle and moves the deadline", () => {
  const w = new TimerWheel({ now: 0 });
  const h = w.insert(9, 1000);
  equal(w.reschedule(h, 50), h);
  equal(w.deadlineOf(h), 50);
  deepStrictEqual(collect(w, 49), []);
  equal(w.reschedule(h, 5_000), h); // still armed: move it later
  deepStrictEqual(collect(w, 4_999), []);
  deepStrictEqual(collect(w, 5_000), [9]);
  throws(() => w.reschedule(h, 10), RangeError);
});

Deno.test("wheel: callbacks may insert, cancel and reschedule during advance", () => {
  const w = new TimerWheel({ now: 0 });
  const handles: number[] = [];
  for (let i = 0; i < 6; i++) handles.push(w.insert(i, 100));
  const log: number[] = [];
  w.advance(100, (id) => {
    log.push(id);
    if (id === 0) w.cancel(handles[1]); // cancel a sibling in the same slot
    if (id === 2) w.insert(100, 50); // already past: waits for the next advance
    if (id === 3) w.insert(101, 100.5); // a later tick: also the next advance
    if (id === 4) w.reschedule(handles[5], 100); // same tick, past now: next advance
  });
  deepStrictEqual(log, [0, 2, 3, 4]);
  deepStrictEqual(collect(w, 100), [100, 5]);
  deepStrictEqual(collect(w, 101), [101]);
  // A callback that re-arms itself in the past cannot spin.
  let count = 0;
  w.insert(7, 200);
  const rearm = (id: number) => {
    count++;
    w.insert(id, 0);
  };
  w.advance(300, rearm);
  w.advance(300, rearm);
  equal(count, 2);
  equal(w.size, 1);
});

Deno.test("wheel: nextDeadline is a lower bound that always makes progress", () => {
  const w = new TimerWheel({ now: 0 });
  equal(w.nextDeadline(), Infinity);
  w.insert(1, 70_000.25);
  w.insert(2, 37);
  equal(w.nextDeadline(), 37);
  let now = 0;
  const fired: number[] = [];
  for (let guard = 0; guard < 100 && w.size > 0; guard++) {
    const nd = w.nextDeadline();
    ok(nd > now || fired.length > 0 || nd <= now);
    now = Math.max(now, nd);
    const before = w.nextDeadline();
    const n = w.advance(now, (id) => fired.push(id));
    ok(n > 0 || w.nextDeadline() > before, `stuck at ${now}`);
  }
  deepStrictEqual(fired, [2, 1]);
  ok(now <= 70_001);
  // A cancelled timer leaves at most a stale lower bound, never a later one.
  const h = w.insert(3, 500_000);
  w.insert(4, 900_000);
  w.cancel(h);
  equal(w.nextDeadline() <= 900_000, true);
  w.insert(5, 1e15); // far beyond the top level
  const nd = w.nextDeadline();
  ok(nd <= 900_000);
});

Deno.test("wheel: deadlines beyond the top level go through the overflow list", () => {
  // Tiny geometry: 2 levels x 4 slots, top rotation 16 ticks.
  const w = new TimerWheel({ now: 0, levels: 2, slotBits: 2 });
  const ds = [3, 15, 16, 17, 100, 1000, 1_000_000, 40];
  ds.forEach((d, id) => w.insert(id, d));
  const fired: Array<[number, number]> = [];
  for (let now = 0; now <= 1_000_000; now += now < 2000 ? 1 : 997) {
    w.advance(now, (id) => fired.push([ds[id], now]));
  }
  w.advance(1_000_000, (id) => fired.push([ds[id], 1_000_000]));
  deepStrictEqual(fired.map(([d]) => d), [...ds].sort((a, b) => a - b));
  for (const [d, at] of fired) if (d < 2000) equal(at, d);
});

Deno.test("wheel: tick granularity rounds up, never early", () => {
  const w = new TimerWheel({ now: 0, tickMs: 10 });
  w.insert(1, 11);
  w.insert(2, 20);
  deepStrictEqual(collect(w, 19), []);
  deepStrictEqual(collect(w, 20), [1, 2]);
  w.insert(3, 25);
  equal(w.nextDeadline(), 30);
  deepStrictEqual(collect(w, 29.9), []);
  deepStrictEqual(collect(w, 30), [3]);
});

Deno.test("wheel: grows past its initial capacity and clears", () => {
  const w = new TimerWheel({ now: 0, capacity: 16 });
  const hs: number[] = [];
  for (let i = 0; i < 5000; i++) hs.push(w.insert(i, 1 + (i * 7919) % 100_000));
  ok(w.capacity >= 5000);
  equal(w.size, 5000);
  w.clear();
  equal(w.size, 0);
  equal(w.nextDeadline(), Infinity);
  ok(hs.every((h) => !w.isActive(h) && !w.cancel(h)));
  deepStrictEqual(collect(w, 1e6), []);
  w.insert(1, 1e6 + 1);
  deepStrictEqual(collect(w, 1e6 + 1), [1]);
});

Deno.test("wheel: rejects NaN deadlines and infinite now", () => {
  const w = new TimerWheel({ now: 0 });
  throws(() => w.insert(1, NaN), RangeError);
  throws(() => w.advance(Infinity, () => {}), RangeError);
  w.insert(2, Infinity); // never fires
  deepStrictEqual(collect(w, 1e300), []);
  equal(w.size, 1);
  equal(w.nextDeadline(), Infinity);
});

interface RefTimer {
  id: number;
  deadline: number;
  overdue: boolean;
}

/**
 * Random operation sequences against a reference model (a plain Map, sorted on
 * demand). The model states when the wheel must fire a timer: on the next advance
 * if it was overdue when armed, else once `floor(now / tick) >= ceil(deadline / tick)`.
 */
function propertyRun(seed: number, geometry: { levels: number; slotBits: number; tickMs: number }) {
  const r = rng(seed);
  let now = Math.floor(r() * 1e6);
  const w = new TimerWheel({ now, capacity: 16, ...geometry });
  const T = geometry.tickMs;
  const ref = new Map<number, RefTimer>();
  const dead: number[] = [];
  let nextId = 0;
  const pickDelta = (): number => {
    const x = r();
    const scale = x < 0.1 ? -1000 : x < 0.45 ? 300 : x < 0.7 ? 70_000 : x < 0.85 ? 1e8 : 1e12;
    const d = r() * scale;
    return r() < 0.5 ? Math.floor(d) : d;
  };
  const fireTick = (t: RefTimer) => (t.overdue ? -Infinity : Math.ceil(t.deadline / T));
  const randomLive = (): number => {
    let k = Math.floor(r() * ref.size);
    for (const h of ref.keys()) if (k-- === 0) return h;
    return -1;
  };
  const advanceTo = (to: number): number => {
    now = to;
    const nowTick = Math.floor(now / T);
    const expected = [...ref.entries()]
      .filter(([, t]) => t.overdue || fireTick(t) <= nowTick)
      .map(([h]) => h);
    const got: number[] = [];
    let lastTick = -Infinity;
    const n = w.advance(now, (id, h) => {
      const t = ref.get(h);
      ok(t !== undefined, `seed ${seed}: fired unknown or cancelled handle ${h}`);
      equal(t.id, id);
      ok(t.deadline <= now, `seed ${seed}: timer ${id} fired early`);
      const tick = fireTick(t);
      ok(tick >= lastTick, `seed ${seed}: out of order ${tick} after ${lastTick}`);
      lastTick = tick;
      got.push(h);
      ref.delete(h);
      dead.push(h);
    });
    deepStrictEqual(got.sort((a, b) => a - b), expected.sort((a, b) => a - b), `seed ${seed}`);
    equal(n, got.length);
    equal(w.size, ref.size, `seed ${seed}: size`);
    return n;
  };
  for (let step = 0; step < 1500; step++) {
    const op = r();
    if (op < 0.4) {
      const deadline = now + pickDelta();
      const h = w.insert(nextId, deadline);
      ok(!ref.has(h), `seed ${seed}: handle ${h} reused while live`);
      ref.set(h, { id: nextId++, deadline, overdue: deadline <= w.now });
    } else if (op < 0.55 && ref.size > 0) {
      const h = randomLive();
      ok(w.cancel(h), `seed ${seed}: cancel of live handle failed`);
      ref.delete(h);
      dead.push(h);
    } else if (op < 0.6 && dead.length > 0) {
      const h = dead[Math.floor(r() * dead.length)];
      if (!ref.has(h)) ok(!w.cancel(h), `seed ${seed}: stale cancel succeeded`);
    } else if (op < 0.7 && ref.size > 0) {
      const h = randomLive();
      const t = ref.get(h)!;
      t.deadline = now + pickDelta();
      t.overdue = t.deadline <= w.now;
      equal(w.reschedule(h, t.deadline), h);
    } else if (op < 0.75) {
      // nextDeadline never promises later than the earliest firing time.
      const nd = w.nextDeadline();
      let earliest = Infinity;
      for (const t of ref.values()) {
        const at = t.overdue ? w.now : fireTick(t) * T;
        if (at < earliest) earliest = at;
      }
      ok(nd <= earliest, `seed ${seed}: nextDeadline ${nd} > earliest ${earliest}`);
      if (ref.size === 0) equal(nd, Infinity);
      // A driver that sleeps until nextDeadline always makes progress.
      if (nd < Infinity && r() < 0.7) {
        const fired = advanceTo(Math.max(now, nd));
        ok(fired > 0 || w.nextDeadline() > nd, `seed ${seed}: no progress at ${nd}`);
      }
    } else {
      const x = r();
      const jump = x < 0.2
        ? 0
        : x < 0.5
        ? r() * 10
        : x < 0.8
        ? r() * 20_000
        : x < 0.95
        ? r() * 1e8
        : r() * 1e12;
      advanceTo(now + (r() < 0.5 ? Math.floor(jump) : jump));
    }
  }
  // Drain: everything finite fires exactly once.
  now += 1e13;
  let drained = 0;
  w.advance(now, (_id, h) => {
    ok(ref.delete(h), `seed ${seed}: drained unknown handle`);
    drained++;
  });
  equal(ref.size, 0, `seed ${seed}: leftovers`);
  equal(w.size, 0);
  ok(drained >= 0);
}

Deno.test("wheel: property test against a reference model (default geometry)", () => {
  for (let seed = 1; seed <= 60; seed++) propertyRun(seed, { levels: 4, slotBits: 8, tickMs: 1 });
});

Deno.test("wheel: property test with tiny geometries (heavy cascading and overflow)", () => {
  for (let seed = 100; seed <= 160; seed++) {
    propertyRun(seed, { levels: 2, slotBits: 2, tickMs: 1 });
    propertyRun(seed + 1000, { levels: 3, slotBits: 3, tickMs: 10 });
    propertyRun(seed + 2000, { levels: 5, slotBits: 1, tickMs: 0.5 });
  }
});
