import assert from "node:assert/strict";
import { ByteQueue } from "../../src/tcb/byte_queue.ts";

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

Deno.test("ByteQueue: FIFO order across push, view, drop and takeInto", () => {
  const q = new ByteQueue();
  q.push(bytes(100, 1));
  q.push(bytes(50, 2), 10, 40);
  assert.equal(q.length, 130);
  assert.deepEqual([...q.view(98, 4)], [
    ...bytes(100, 1).subarray(98),
    ...bytes(50, 2).subarray(10, 12),
  ]);
  q.drop(90);
  const out = new Uint8Array(16);
  assert.equal(q.takeInto(out), 16);
  assert.deepEqual([...out], [...bytes(100, 1).subarray(90), ...bytes(50, 2).subarray(10, 16)]);
  assert.equal(q.length, 24);
  assert.throws(() => q.view(20, 5), RangeError);
  assert.throws(() => q.drop(25), RangeError);
});

Deno.test("ByteQueue: a pooled buffer's reused view always shows the current bytes", () => {
  // Queues that empty give their buffer back to the pool; the next queue gets it with
  // the view made last, and must read its own bytes through it.
  for (let round = 0; round < 5; round++) {
    const q = new ByteQueue();
    const data = bytes(64, round);
    q.push(data);
    const v = q.view(0, 64);
    assert.deepEqual([...v], [...data], `round ${round}`);
    assert.equal(q.view(0, 64), v, "the same range gives the same view");
    const out = new Uint8Array(64);
    assert.equal(q.takeInto(out), 64);
    assert.deepEqual([...out], [...data]);
    assert.equal(q.length, 0);
  }
  const q = new ByteQueue();
  q.push(bytes(64, 9));
  q.drop(1);
  assert.deepEqual(
    [...q.view(0, 63)],
    [...bytes(64, 9).subarray(1)],
    "another range, another view",
  );
});
