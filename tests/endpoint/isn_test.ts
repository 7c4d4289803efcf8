import { equal as assertEquals, notEqual as assertNotEquals } from "node:assert/strict";
import { halfSipHash, IsnGenerator } from "../../src/endpoint/isn.ts";

Deno.test("HalfSipHash-2-4: the reference implementation's first test vector", () => {
  // Key 00..07, empty message: the 32-bit output of the reference code is the bytes
  // a9 35 9f 5b, read little-endian.
  const key = Uint8Array.from({ length: 8 }, (_, i) => i);
  assertEquals(halfSipHash(key, new Uint8Array(0)), 0x5b9f35a9);
});

Deno.test("HalfSipHash-2-4: every input byte and the length change the output", () => {
  const key = Uint8Array.from({ length: 8 }, (_, i) => 7 * i + 1);
  const data = Uint8Array.from({ length: 13 }, (_, i) => i * 31);
  const base = halfSipHash(key, data);
  for (let i = 0; i < data.length; i++) {
    const flipped = data.slice();
    flipped[i] ^= 1;
    assertNotEquals(halfSipHash(key, flipped), base, `byte ${i}`);
  }
  assertNotEquals(halfSipHash(key, data, 12), base);
  // The result is an unsigned 32-bit integer.
  assertEquals(base >>> 0, base);
});

Deno.test("ISN: M ticks every 4 µs on top of the keyed hash of the 4-tuple (§3.4.1)", () => {
  const gen = new IsnGenerator(new Uint8Array(16).fill(3));
  const a = new Uint8Array([10, 0, 0, 1]);
  const b = new Uint8Array([10, 0, 0, 2]);
  const t0 = gen.isn(1000, a, 80, b, 40000);
  // One millisecond later the clock part has moved 250 ticks.
  assertEquals((gen.isn(1001, a, 80, b, 40000) - t0) >>> 0, 250);
  // Another 4-tuple gets an unrelated ISN.
  assertNotEquals(gen.isn(1000, a, 80, b, 40001), t0);
});

Deno.test("ISN: isnFrom over a cached address prefix equals isn, IPv4 and IPv6", () => {
  const gen = new IsnGenerator(Uint8Array.from({ length: 16 }, (_, i) => i * 13 + 5));
  let x = 12345;
  const next = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  for (const len of [4, 16]) {
    for (let k = 0; k < 200; k++) {
      const a = Uint8Array.from({ length: len }, () => next() & 0xff);
      const b = Uint8Array.from({ length: len }, () => next() & 0xff);
      const lp = next() & 0xffff, rp = next() & 0xffff, now = (next() % 1e6) / 7;
      const prefix = gen.prefix(a, b);
      assertEquals(gen.isnFrom(now, prefix, lp, rp), gen.isn(now, a, lp, b, rp));
    }
  }
});
