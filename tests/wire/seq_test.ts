import { equal } from "node:assert/strict";
import {
  seqAdd,
  seqDiff,
  seqGe,
  seqGt,
  seqInWindow,
  seqLe,
  seqLt,
  seqMax,
  seqMin,
} from "../../src/wire/mod.ts";

const MAX = 0xffffffff;
const HALF = 0x80000000; // 2^31

Deno.test("seqAdd wraps at 2^32 both ways", () => {
  equal(seqAdd(MAX, 1), 0);
  equal(seqAdd(MAX, 2), 1);
  equal(seqAdd(0, -1), MAX);
  equal(seqAdd(5, -10), MAX - 4);
  equal(seqAdd(100, 0), 100);
  equal(seqAdd(HALF, HALF), 0);
  equal(seqAdd(MAX, MAX), MAX - 1);
});

Deno.test("seqDiff is the signed distance across the wrap", () => {
  equal(seqDiff(0, MAX), 1);
  equal(seqDiff(MAX, 0), -1);
  equal(seqDiff(10, MAX - 9), 20);
  equal(seqDiff(MAX - 9, 10), -20);
  equal(seqDiff(HALF - 1, 0), HALF - 1);
  equal(seqDiff(HALF + 1, 0), -(HALF - 1));
  // Exactly half the space apart is ambiguous (RFC 1982 §3.2); it reads as -2^31.
  equal(seqDiff(HALF, 0), -HALF);
  equal(seqDiff(0, HALF), -HALF);
});

Deno.test("seqLt, seqLe, seqGt, seqGe across the wrap", () => {
  const pairs: Array<[number, number]> = [[MAX, 0], [MAX - 5, 3], [HALF - 1, HALF], [0, HALF - 1]];
  for (const [a, b] of pairs) {
    // a is before b in sequence space, although a > b or not as plain numbers.
    equal(seqLt(a, b), true, `${a} < ${b}`);
    equal(seqLe(a, b), true);
    equal(seqGt(a, b), false);
    equal(seqGe(a, b), false);
    equal(seqLt(b, a), false);
    equal(seqLe(b, a), false);
    equal(seqGt(b, a), true);
    equal(seqGe(b, a), true);
  }
  for (const x of [0, 1, HALF, MAX]) {
    equal(seqLt(x, x), false);
    equal(seqLe(x, x), true);
    equal(seqGt(x, x), false);
    equal(seqGe(x, x), true);
  }
  // The far side of the circle: 2^31 + 1 ahead means behind.
  equal(seqLt(0, HALF + 1), false);
  equal(seqGt(0, HALF + 1), true);
});

Deno.test("seqInWindow: lo <= x < hi, with the window across the wrap", () => {
  const lo = MAX - 9;
  const hi = seqAdd(lo, 20); // 10
  equal(seqInWindow(lo, lo, hi), true);
  equal(seqInWindow(MAX, lo, hi), true);
  equal(seqInWindow(0, lo, hi), true);
  equal(seqInWindow(9, lo, hi), true);
  equal(seqInWindow(10, lo, hi), false); // hi is outside
  equal(seqInWindow(lo - 1, lo, hi), false);
  equal(seqInWindow(HALF, lo, hi), false);
  equal(seqInWindow(5, 5, 5), false); // an empty window holds nothing
});

Deno.test("seqMax and seqMin pick by sequence order across the wrap", () => {
  equal(seqMax(MAX, 0), 0);
  equal(seqMax(0, MAX), 0);
  equal(seqMin(MAX, 0), MAX);
  equal(seqMin(0, MAX), MAX);
  equal(seqMax(MAX - 100, 50), 50);
  equal(seqMin(MAX - 100, 50), MAX - 100);
  equal(seqMax(7, 7), 7);
  equal(seqMax(3, 9), 9);
  equal(seqMin(3, 9), 3);
});
