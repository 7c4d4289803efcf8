import { deepStrictEqual, equal, throws } from "node:assert/strict";
import { idHigh, IdTable, PairTable, portsKey } from "../../src/endpoint/conn_table.ts";
import { Rng } from "../../src/sim/rng.ts";

Deno.test("PairTable: random inserts, replaces and deletes agree with a Map", () => {
  for (const seed of [1, 2, 3]) {
    const rng = new Rng(seed);
    // A small key space forces long probe runs, wrap-around and backward shifts.
    const t = new PairTable<number>(seed * 7919, 4);
    const ref = new Map<string, number>();
    for (let step = 0; step < 20_000; step++) {
      const a = rng.int(4);
      const b = portsKey(rng.int(41), rng.int(41) + 65_000);
      const k = `${a}/${b}`;
      const op = rng.int(10);
      if (op < 5) {
        t.set(a, b, step);
        ref.set(k, step);
      } else if (op < 9) {
        equal(t.delete(a, b), ref.delete(k), `delete ${k} at step ${step}`);
      } else {
        equal(t.get(a, b), ref.get(k), `get ${k} at step ${step}`);
        equal(t.has(a, b), ref.has(k));
      }
      equal(t.size, ref.size);
    }
    // Every key the Map holds is found, and nothing else is held.
    for (const [k, v] of ref) {
      const [a, b] = k.split("/").map(Number);
      equal(t.get(a, b), v, k);
    }
    const values: number[] = [];
    t.forEach((v) => values.push(v));
    deepStrictEqual(values.sort((x, y) => x - y), [...ref.values()].sort((x, y) => x - y));
  }
});

Deno.test("PairTable: ports pack into one signed word without collisions", () => {
  const t = new PairTable<string>(1);
  // Remote ports above 32767 make the packed word negative: still a distinct key.
  t.set(0, portsKey(65535, 1), "high");
  t.set(0, portsKey(1, 65535), "low");
  equal(t.get(0, portsKey(65535, 1)), "high");
  equal(t.get(0, portsKey(1, 65535)), "low");
  equal(t.get(1, portsKey(65535, 1)), undefined);
});

Deno.test("PairTable: -1 is never a key (it marks empty slots)", () => {
  const t = new PairTable<string>(1);
  throws(() => t.set(-1, 0, "x"), RangeError);
  equal(t.get(-1, 0), undefined);
  equal(t.has(-1, 0), false);
  equal(t.delete(-1, 0), false);
});

Deno.test("idHigh: splits connection ids, refuses what is not an id", () => {
  equal(idHigh(7), 0);
  equal(idHigh(2 ** 32 - 1), 0);
  equal(idHigh(2 ** 32 + 5), 1);
  equal((2 ** 32 + 5) | 0, 5);
  for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53]) equal(idHigh(bad), -1, String(bad));
});

Deno.test("IdTable: random sets, replaces and deletes agree with a Map, colliding ids included", () => {
  for (const seed of [1, 2, 3]) {
    const rng = new Rng(seed);
    const t = new IdTable<number>(seed);
    const ref = new Map<number, number>();
    // Ids that share a front slot (multiples of 4096 apart), neighbours, and ids
    // beyond 2^32 whose low bits collide with small ones.
    const ids = [1, 2, 3, 4097, 8193, 4098, 2 ** 32 + 1, 2 ** 40 + 4097, 4095, 8191, 0];
    for (let step = 0; step < 20_000; step++) {
      const id = ids[rng.int(ids.length)];
      const op = rng.int(10);
      if (op < 5) {
        t.set(id, step);
        ref.set(id, step);
      } else if (op < 9) {
        equal(t.delete(id), ref.delete(id), `delete ${id} at step ${step}`);
      } else {
        equal(t.get(id), ref.get(id), `get ${id} at step ${step}`);
      }
      equal(t.size, ref.size);
    }
    for (const id of ids) equal(t.get(id), ref.get(id), `${id}`);
    const seen: number[] = [];
    t.forEach((v) => seen.push(v));
    deepStrictEqual(seen.sort((x, y) => x - y), [...ref.values()].sort((x, y) => x - y));
  }
});

Deno.test("IdTable: a sliding window of 64 live ids over 100,000, as an endpoint keeps them", () => {
  const t = new IdTable<number>(5);
  for (let id = 1; id <= 100_000; id++) {
    t.set(id, id);
    if (id > 64) equal(t.delete(id - 64), true);
    equal(t.get(id - 10 > 0 ? id - 10 : id), id - 10 > 0 ? id - 10 : id);
  }
  equal(t.size, 64);
  // Not ids: never found.
  for (const bad of [-1, 0.5, NaN, 2 ** 53, -4096]) equal(t.get(bad), undefined);
});
