import { deepStrictEqual, equal, throws } from "node:assert/strict";
import {
  addrSum,
  decode,
  encode,
  foldChecksum,
  formatIp,
  newSegment,
  parseIp,
  sum16,
  SYN,
} from "../../src/wire/mod.ts";
import { prng } from "../_helpers/prng.ts";

/** The textbook definition, one word at a time with a full fold at the end. */
function referenceChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let k = 0; k < bytes.length; k += 2) sum += (bytes[k] << 8) | (bytes[k + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

Deno.test("RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2", () => {
  const bytes = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  equal(foldChecksum(sum16(bytes, 0, 8)), ~0xddf2 & 0xffff);
  // Byte order independence (RFC 1071 §2(B)) shows in the swapped sum: f2dd.
  const swapped = new Uint8Array([0x01, 0x00, 0x03, 0xf2, 0xf5, 0xf4, 0xf7, 0xf6]);
  equal(foldChecksum(sum16(swapped, 0, 8)), ~0xf2dd & 0xffff);
});

Deno.test("sum16: odd lengths pad with a zero octet, sub-ranges and chaining agree", () => {
  equal(foldChecksum(sum16(new Uint8Array([0xab]), 0, 1)), ~0xab00 & 0xffff);
  equal(foldChecksum(sum16(new Uint8Array([0x12, 0x34, 0x56]), 0, 3)), ~0x6834 & 0xffff);
  equal(foldChecksum(sum16(new Uint8Array(0), 0, 0)), 0xffff);
  const bytes = new Uint8Array(101);
  for (let k = 0; k < bytes.length; k++) bytes[k] = (k * 37 + 11) & 0xff;
  for (let len = 0; len <= bytes.length; len++) {
    equal(foldChecksum(sum16(bytes, 0, len)), referenceChecksum(bytes.subarray(0, len)), `${len}`);
    equal(
      foldChecksum(sum16(bytes, 3, 3 + Math.min(len, 98))),
      referenceChecksum(bytes.subarray(3, 3 + Math.min(len, 98))),
    );
  }
  // Chaining at an even split point equals one pass.
  equal(
    foldChecksum(sum16(bytes, 40, 101, sum16(bytes, 0, 40))),
    foldChecksum(sum16(bytes, 0, 101)),
  );
  equal(foldChecksum(sum16(bytes, 0, 101, 0x1234)), referenceChecksum(bytes, 0x1234));
  throws(() => sum16(bytes, 0, 102), RangeError);
  throws(() => sum16(bytes, 5, 4), /Cannot checksum bytes 5\.\.4 of a buffer of length 101/);
});

Deno.test("sum16: large all-ones buffers never overflow the accumulator", () => {
  for (const size of [31999, 32000, 32001, 64001, 200003]) {
    const bytes = new Uint8Array(size).fill(0xff);
    const partial = sum16(bytes, 0, size, 0xffffffff);
    equal(partial < 2 ** 31, true);
    equal(foldChecksum(partial), referenceChecksum(bytes, 0xffffffff));
  }
});

Deno.test("foldChecksum: end-around carry, and 0 over data holding its checksum", () => {
  equal(foldChecksum(0), 0xffff);
  equal(foldChecksum(0xffff), 0);
  equal(foldChecksum(0x1fffe), 0); // 0xfffe + 1 = 0xffff
  equal(foldChecksum(0xffffffff), 0);
  equal(foldChecksum(0x4cb8e), 0x346d);
});

// A SYN from 192.168.1.2:49152 to 93.184.216.34:80, SEQ 0x6b8b4567, window 64240,
// MSS 1460 (data offset 6, 24 bytes). Summed by hand, word by word:
//   pseudo header  c0a8 + 0102 + 5db8 + d822 + 0006 + 0018            = 1f7a2
//   TCP header     c000 + 0050 + 6b8b + 4567 + 0000 + 0000 + 6002 + faf0
//                  + 0000 (checksum) + 0000 + 0204 + 05b4              = 2d3ec
//   total 4cb8e, folded cb8e + 4 = cb92, complement 346d.
// Over IPv6 2001:db8::1 -> 2001:db8::2 the pseudo header sums to 5b93 (addresses
// 5b75, length 18, next header 6): total 32f7f, folded 2f82, complement d07d.
const KNOWN_SYN = "c00000506b8b4567000000006002faf000000000020405b4";

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("a known TCP SYN: checksum 346d over IPv4, d07d over IPv6", () => {
  const syn = newSegment({
    srcPort: 49152,
    dstPort: 80,
    seq: 0x6b8b4567,
    flags: SYN,
    window: 64240,
    mss: 1460,
  });
  const v4 = addrSum(parseIp("192.168.1.2")!, parseIp("93.184.216.34")!);
  const v6 = addrSum(parseIp("2001:db8::1")!, parseIp("2001:db8::2")!);
  // A partial sum is defined modulo 0xffff, so compare folded values.
  equal(foldChecksum(v4), foldChecksum(0xc0a8 + 0x0102 + 0x5db8 + 0xd822 + 6));
  const out = new Uint8Array(24);
  encode(syn, out, 0, v4);
  equal(syn.checksum, 0x346d);
  equal(hex(out), KNOWN_SYN.slice(0, 32) + "346d" + KNOWN_SYN.slice(36));
  equal(decode(out, v4).ok, true);
  encode(syn, out, 0, v6);
  equal(syn.checksum, 0xd07d);
  equal(decode(out, v6).ok, true);
});

Deno.test("addrSum: both addresses and protocol 6; families must match", () => {
  equal(addrSum(new Uint8Array(4), new Uint8Array(4)), 6);
  equal(addrSum(new Uint8Array(16), new Uint8Array(16)), 6);
  equal(
    foldChecksum(addrSum(parseIp("255.255.255.255")!, parseIp("0.0.0.1")!)),
    foldChecksum(0xffff * 2 + 1 + 6),
  );
  throws(() => addrSum(new Uint8Array(4), new Uint8Array(16)), /addresses of 4 and 16 bytes/);
  throws(() => addrSum(new Uint8Array(5), new Uint8Array(5)), RangeError);
});

Deno.test("parseIp: IPv4 and IPv6 text", () => {
  const cases: Array<[string, number[]]> = [
    ["0.0.0.0", [0, 0, 0, 0]],
    ["192.0.2.255", [192, 0, 2, 255]],
    ["::", new Array(16).fill(0)],
    ["::1", [...new Array(15).fill(0), 1]],
    ["1::", [0, 1, ...new Array(14).fill(0)]],
    ["2001:DB8::ff00:42:8329", [
      0x20,
      1,
      0x0d,
      0xb8,
      0,
      0,
      0,
      0,
      0,
      0,
      0xff,
      0,
      0,
      0x42,
      0x83,
      0x29,
    ]],
    ["2001:db8:0:0:1:0:0:1", [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]],
    ["1:2:3:4:5:6:7::", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0]],
    ["::2:3:4:5:6:7:8", [0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]],
    ["::ffff:192.0.2.1", [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]],
    ["64:ff9b::198.51.100.7", [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 198, 51, 100, 7]],
    ["1:2:3:4:5:6:1.2.3.4", [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 1, 2, 3, 4]],
  ];
  for (const [text, bytes] of cases) deepStrictEqual(parseIp(text), new Uint8Array(bytes), text);
  const bad = [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "256.0.0.1",
    "01.2.3.4",
    "1.2.3.-4",
    " 1.2.3.4",
    "1.2.3.4 ",
    "a.b.c.d",
    ":::",
    "1::2::3",
    ":1::",
    "1::2:",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7",
    "1:2:3:4:5:6:7:8::",
    "12345::",
    "g::",
    "fe80::1%eth0",
    "[::1]",
    "1.2.3.4::",
    "::1.2.3.4:5",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::256.1.1.1",
  ];
  for (const text of bad) equal(parseIp(text), undefined, text);
});

Deno.test("formatIp: dotted quad and RFC 5952 canonical IPv6; parse round trip", () => {
  const canonical = [
    "0.0.0.0",
    "192.0.2.1",
    "::",
    "::1",
    "1::",
    "2001:db8::ff00:42:8329",
    "2001:db8::1:0:0:1",
    "2001:db8:0:1:1:1:1:1",
    "1:2:3:4:5:6:7:8",
    "::ffff:192.0.2.1",
    "fe80::",
    "1:0:0:2::3",
  ];
  for (const text of canonical) equal(formatIp(parseIp(text)!), text);
  equal(formatIp(parseIp("2001:0DB8:0000:0000:0000:0000:0000:0001")!), "2001:db8::1");
  equal(formatIp(parseIp("2001:db8:0:0:1:0:0:1")!), "2001:db8::1:0:0:1"); // first longest run
  equal(formatIp(parseIp("2001:db8:0:1:1:1:1:1")!), "2001:db8:0:1:1:1:1:1"); // one zero stays
  throws(() => formatIp(new Uint8Array(6)), /Cannot format an address of 6 bytes/);
});

/** Checks sum16 over `bytes[start..end)` against the reference, and the partial-sum contract. */
function assertSum(bytes: Uint8Array, start: number, end: number, initial: number, what: string) {
  const partial = sum16(bytes, start, end, initial);
  if (!(Number.isInteger(partial) && partial >= 0 && partial < 2 ** 31)) {
    throw new Error(`${what}: partial sum ${partial} is not an integer in 0..2^31`);
  }
  const got = foldChecksum(partial);
  const expected = referenceChecksum(bytes.subarray(start, end), initial);
  if (got !== expected) throw new Error(`${what}: ${got.toString(16)} != ${expected.toString(16)}`);
}

Deno.test("sum16: equals the reference at every alignment, start and length, random bytes", () => {
  // Lengths on both sides of the switch to 32-bit loads, at byte offsets 0..7 of the
  // underlying buffer so every address alignment (odd, 2 mod 4, 4 mod 8) is met.
  const rand = prng(0xc5c5);
  const backing = new Uint8Array(1024);
  for (let k = 0; k < backing.length; k++) backing[k] = Math.floor(rand() * 256);
  for (let shift = 0; shift < 8; shift++) {
    const bytes = backing.subarray(shift);
    for (let start = 0; start < 8; start++) {
      for (let len = 0; len <= 300; len++) {
        const initial = [0, 1, 0xffff, 0x1fffe, 0xffffffff][len % 5];
        assertSum(bytes, start, start + len, initial, `shift ${shift} start ${start} len ${len}`);
      }
    }
  }
});

Deno.test("sum16: corrupted buffers sum like the reference, so a flip is always seen", () => {
  const rand = prng(0xbadc0de);
  for (let n = 0; n < 2000; n++) {
    const backing = new Uint8Array(Math.floor(rand() * 1600) + 8);
    for (let k = 0; k < backing.length; k++) backing[k] = rand() < 0.3 ? 0xff : rand() * 256;
    const shift = Math.floor(rand() * 8);
    const bytes = backing.subarray(shift);
    const start = Math.floor(rand() * Math.min(bytes.length, 16));
    const end = start + Math.floor(rand() * (bytes.length - start + 1));
    const flips = Math.floor(rand() * 4);
    for (let k = 0; k < flips && end > start; k++) {
      bytes[start + Math.floor(rand() * (end - start))] ^= 1 << Math.floor(rand() * 8);
    }
    assertSum(bytes, start, end, Math.floor(rand() * 2 ** 32), `case ${n}`);
  }
});

Deno.test("sum16: large buffers at every alignment; many buffers in turn; shared memory", () => {
  const rand = prng(7);
  const big = new Uint8Array(70001);
  for (let k = 0; k < big.length; k++) big[k] = rand() < 0.5 ? 0xff : Math.floor(rand() * 256);
  for (let shift = 0; shift < 4; shift++) {
    assertSum(big, shift, big.length, 0xffffffff, `shift ${shift}`);
    assertSum(big, shift, big.length - 1, 0, `shift ${shift}, one short`);
  }
  // More buffers than the views kept between calls: each still sums right.
  const buffers = [1, 2, 3, 4].map((seed) => {
    const r = prng(seed);
    return new Uint8Array(512).map(() => Math.floor(r() * 256));
  });
  for (let round = 0; round < 3; round++) {
    for (const [k, b] of buffers.entries()) {
      assertSum(b, k, 500, round, `buffer ${k} round ${round}`);
    }
  }
  const shared = new Uint8Array(new SharedArrayBuffer(300));
  shared.set(buffers[0].subarray(0, 300));
  assertSum(shared, 1, 299, 5, "shared memory");
});

Deno.test("sum16: a resizable buffer that grows or shrinks between calls", () => {
  const rab = new ArrayBuffer(256, { maxByteLength: 4096 });
  const bytes = new Uint8Array(rab); // tracks the buffer's length
  const fill = (seed: number) => {
    const r = prng(seed);
    for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(r() * 256);
  };
  fill(1);
  assertSum(bytes, 0, 256, 0, "before growing");
  rab.resize(4096);
  fill(2);
  assertSum(bytes, 4, 4096, 0, "grown");
  rab.resize(130);
  fill(3);
  assertSum(bytes, 2, 130, 0, "shrunk");
  throws(() => sum16(bytes, 0, 256), RangeError);
});
