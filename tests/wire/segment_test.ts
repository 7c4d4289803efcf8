import { deepStrictEqual, equal, notEqual, ok, throws } from "node:assert/strict";
import {
  ACK,
  addrSum,
  completeChecksum,
  CWR,
  decode,
  DECODE_FAILURES,
  type DecodeFailure,
  decodeInto,
  ECE,
  EMPTY,
  encode,
  encodedLength,
  EncodeError,
  FIN,
  foldChecksum,
  newSegment,
  parseIp,
  PSH,
  RST,
  type Segment,
  sum16,
  SYN,
  URG,
} from "../../src/wire/mod.ts";
import { prng } from "../_helpers/prng.ts";

const SUM_V4 = addrSum(parseIp("192.0.2.1")!, parseIp("198.51.100.7")!);
const SUM_V6 = addrSum(parseIp("2001:db8::1")!, parseIp("2001:db8:ffff::2")!);

function bytesOf(n: number, start = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let k = 0; k < n; k++) b[k] = (start + k * 7) & 0xff;
  return b;
}

function encodeToBytes(seg: Segment, sum?: number): Uint8Array {
  const out = new Uint8Array(encodedLength(seg));
  equal(encode(seg, out, 0, sum), out.length);
  return out;
}

function decodeOk(bytes: Uint8Array, sum?: number): Segment {
  const r = decode(bytes, sum);
  if (!r.ok) throw new Error(`Expected a segment, got "${r.reason}"`);
  return r.segment;
}

function reasonOf(bytes: Uint8Array, sum?: number): DecodeFailure | "ok" {
  const r = decode(bytes, sum);
  return r.ok ? "ok" : r.reason;
}

/** Round trip: decode(encode(s)) equals s, and re-encoding gives the same bytes. */
function assertRoundTrip(s: Segment, sum?: number): void {
  const bytes = encodeToBytes(s, sum);
  const back = decodeOk(bytes, sum);
  deepStrictEqual(back, s);
  deepStrictEqual(encodeToBytes(back), bytes);
}

const LEGAL_FLAGS: number[] = [];
for (let f = 0; f < 256; f++) {
  if ((f & SYN) && (f & (FIN | RST))) continue;
  LEGAL_FLAGS.push(f);
}

Deno.test("newSegment: every field present in one order, defaults", () => {
  const s = newSegment();
  deepStrictEqual(Object.keys(s), [
    "srcPort",
    "dstPort",
    "seq",
    "ack",
    "flags",
    "window",
    "checksum",
    "urgent",
    "mss",
    "windowScale",
    "sackPermitted",
    "sack",
    "tsVal",
    "tsEcr",
    "payload",
  ]);
  equal(s.seq, 0);
  equal(s.mss, undefined);
  equal(s.sackPermitted, false);
  equal(s.payload, EMPTY);
  equal(newSegment({ seq: 5 }).seq, 5);
  // Decoded segments share the key order (and so the hidden class).
  deepStrictEqual(Object.keys(decodeOk(encodeToBytes(s))), Object.keys(s));
});

Deno.test("round trip: every legal control-bit combination", () => {
  // 128 combinations without SYN and 32 with SYN but neither FIN nor RST.
  equal(LEGAL_FLAGS.length, 128 + 32);
  for (const flags of LEGAL_FLAGS) {
    assertRoundTrip(newSegment({ srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags, window: 5 }));
    assertRoundTrip(newSegment({ seq: 3, ack: 4, flags, window: 5 }), SUM_V4);
  }
});

Deno.test("round trip: every option alone and combined, payloads of 0, 1 and 1460 bytes", () => {
  for (let mask = 0; mask < 16; mask++) {
    for (const size of [0, 1, 1460]) {
      const s = newSegment({
        srcPort: 49152,
        dstPort: 80,
        seq: 1000,
        ack: 2000,
        flags: mask === 0 ? ACK | PSH : SYN | ACK,
        window: 65535,
        mss: mask & 1 ? 1460 : undefined,
        windowScale: mask & 2 ? 7 : undefined,
        sackPermitted: (mask & 4) !== 0,
        tsVal: mask & 8 ? 0x01020304 : undefined,
        tsEcr: mask & 8 ? 0xfffefdfc : undefined,
        payload: size === 0 ? EMPTY : bytesOf(size),
      });
      const options = (mask & 1 ? 4 : 0) + (mask & 2 ? 4 : 0) + (mask & 8 ? 12 : mask & 4 ? 4 : 0);
      equal(encodedLength(s), 20 + options + size);
      assertRoundTrip(s);
      assertRoundTrip(s, SUM_V4);
      assertRoundTrip(s, SUM_V6);
    }
  }
});

Deno.test("round trip: extremes of ports, SEQ, ACK, window, urgent, MSS, WS and timestamps", () => {
  for (const v16 of [0, 0xffff]) {
    for (const v32 of [0, 0xffffffff]) {
      assertRoundTrip(
        newSegment({
          srcPort: v16,
          dstPort: v16,
          seq: v32,
          ack: v32,
          flags: URG | ACK | ECE | CWR,
          window: v16,
          checksum: v16,
          urgent: v16,
          mss: v16,
          windowScale: v16 === 0 ? 0 : 14,
          tsVal: v32,
          tsEcr: v32,
        }),
      );
    }
  }
});

Deno.test("encode: option layout is 4-byte aligned as documented", () => {
  const all = encodeToBytes(
    newSegment({ flags: SYN, mss: 1460, windowScale: 7, sackPermitted: true, tsVal: 1, tsEcr: 2 }),
  );
  equal(all[12] >>> 4, 10); // 20 + 20 bytes of options
  deepStrictEqual(
    [...all.subarray(20)],
    [2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2],
  );
  const ts = encodeToBytes(newSegment({ flags: ACK, tsVal: 1, tsEcr: 2 }));
  deepStrictEqual([...ts.subarray(20)], [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
  const sackOk = encodeToBytes(newSegment({ flags: SYN, sackPermitted: true }));
  deepStrictEqual([...sackOk.subarray(20)], [1, 1, 4, 2]);
  const bare = encodeToBytes(newSegment({ flags: ACK, sack: [1, 2] }));
  equal(bare.length, 20); // SACK blocks are decode-only
});

Deno.test("encode: at a non-zero offset, touching nothing outside its bytes", () => {
  const s = newSegment({ seq: 7, flags: ACK | PSH, mss: 536, payload: bytesOf(33) });
  const expected = encodeToBytes(s, SUM_V4);
  const out = new Uint8Array(200).fill(0xee);
  const n = encode(s, out, 61, SUM_V4);
  equal(n, encodedLength(s));
  deepStrictEqual(out.subarray(61, 61 + n), expected);
  ok(out.subarray(0, 61).every((b) => b === 0xee));
  ok(out.subarray(61 + n).every((b) => b === 0xee));
  deepStrictEqual(decodeOk(out.subarray(61, 61 + n), SUM_V4), s);
});

Deno.test("encode: stores the checksum in seg.checksum; without addrSum writes it as is", () => {
  const s = newSegment({ srcPort: 1234, dstPort: 80, seq: 1, flags: SYN, window: 1024 });
  const withSum = encodeToBytes(s, SUM_V4);
  equal(s.checksum, (withSum[16] << 8) | withSum[17]);
  notEqual(s.checksum, 0);
  deepStrictEqual(encodeToBytes(s), withSum);
  s.checksum = 0xbeef;
  const raw = encodeToBytes(s);
  equal((raw[16] << 8) | raw[17], 0xbeef);
});

Deno.test("checksum: verifies after encode (IPv4, IPv6) and fails after any single bit flip", () => {
  const segs = [
    newSegment({ srcPort: 80, dstPort: 5, seq: 9, ack: 10, flags: FIN | ACK, window: 1 }),
    newSegment({
      srcPort: 443,
      dstPort: 65535,
      seq: 0xfffffff0,
      ack: 77,
      flags: ACK | PSH,
      window: 501,
      tsVal: 123456,
      tsEcr: 654321,
      payload: bytesOf(1461, 3), // odd length: the last byte is padded
    }),
  ];
  for (const sum of [SUM_V4, SUM_V6]) {
    for (const s of segs) {
      const bytes = encodeToBytes(s, sum);
      equal(foldChecksum(sum16(bytes, 0, bytes.length, sum + bytes.length)), 0);
      decodeOk(bytes, sum);
      equal(reasonOf(bytes, sum === SUM_V4 ? SUM_V6 : SUM_V4), "bad-checksum");
      for (let bit = 0; bit < bytes.length * 8; bit++) {
        bytes[bit >>> 3] ^= 1 << (bit & 7);
        const reason = reasonOf(bytes, sum);
        bytes[bit >>> 3] ^= 1 << (bit & 7);
        if (reason !== "bad-checksum") throw new Error(`Bit ${bit} flipped gave "${reason}"`);
      }
    }
  }
});

Deno.test("encode: caller bugs throw EncodeError", () => {
  const good = { flags: ACK, payload: bytesOf(10) };
  const cases: Array<[Partial<Segment>, RegExp]> = [
    [{ srcPort: 65536 }, /srcPort "65536" is outside 0\.\.65535/],
    [{ dstPort: -1 }, /dstPort "-1"/],
    [{ seq: 2 ** 32 }, /seq "4294967296" is outside 0\.\.4294967295/],
    [{ ack: 1.5 }, /ack "1.5"/],
    [{ seq: NaN }, /seq "NaN"/],
    [{ flags: 256 }, /flags "256" is outside 0\.\.255/],
    [{ window: 70000 }, /window "70000"/],
    [{ urgent: -3 }, /urgent "-3"/],
    [{ checksum: 0x10000 }, /checksum "65536"/],
    [{ mss: 65536 }, /mss "65536"/],
    [{ windowScale: 15 }, /windowScale "15" is outside 0\.\.14/],
    [{ windowScale: -1 }, /windowScale "-1"/],
    [{ tsVal: 1 }, /tsVal "1" and tsEcr "undefined" must be set together/],
    [{ tsEcr: 1, windowScale: 3 }, /must be set together/],
    [{ tsVal: 2 ** 32, tsEcr: 0 }, /tsVal "4294967296"/],
  ];
  for (const [init, message] of cases) {
    throws(() => encode(newSegment({ ...good, ...init }), new Uint8Array(100)), (e) => {
      ok(e instanceof EncodeError && e instanceof RangeError, String(e));
      equal(e.name, "EncodeError");
      ok(message.test(e.message), e.message);
      return true;
    });
  }
  const s = newSegment(good);
  throws(() => encode(s, new Uint8Array(29)), /needs 30 bytes at offset 0 but the buffer has 29/);
  throws(() => encode(s, new Uint8Array(40), 11), /needs 30 bytes at offset 11/);
  throws(() => encode(s, new Uint8Array(40), -1), EncodeError);
  throws(() => encode(s, new Uint8Array(40), 0.5), EncodeError);
  equal(encode(s, new Uint8Array(40), 10), 30);
});

// A header with `options` (padded by the caller to a multiple of 4) and flags.
function rawHeader(options: number[], flags = ACK, extra = 0): Uint8Array {
  const b = new Uint8Array(20 + options.length + extra);
  b[1] = 80;
  b[3] = 81;
  b[12] = ((20 + options.length) / 4) << 4;
  b[13] = flags;
  b.set(options, 20);
  return b;
}

/** Writes a correct checksum into any buffer, however malformed its header. */
function withChecksum(b: Uint8Array, sum: number): Uint8Array {
  b[16] = b[17] = 0;
  const c = foldChecksum(sum16(b, 0, b.length, sum + b.length));
  b[16] = c >>> 8;
  b[17] = c & 0xff;
  return b;
}

Deno.test("decode: malformed inputs, each with its exact reason", () => {
  const withOffset = (b: Uint8Array, words: number) => {
    b[12] = words << 4;
    return b;
  };
  const table: Array<[string, Uint8Array, DecodeFailure | "ok", number?]> = [
    ["empty buffer", new Uint8Array(0), "short-buffer"],
    ["19 bytes", new Uint8Array(19), "short-buffer"],
    ["19 bytes with a checksum to check", new Uint8Array(19), "short-buffer", SUM_V4],
    ["data offset 0", withOffset(rawHeader([]), 0), "bad-data-offset"],
    ["data offset 4", withOffset(rawHeader([]), 4), "bad-data-offset"],
    ["data offset 6 in 20 bytes", withOffset(rawHeader([]), 6), "bad-data-offset"],
    ["data offset 15 in 59 bytes", withOffset(new Uint8Array(59), 15), "bad-data-offset"],
    ["data offset 15 in 60 bytes of NOPs", withOffset(new Uint8Array(60).fill(1, 20), 15), "ok"],
    ["kind without a length byte", rawHeader([1, 1, 1, 2]), "option-overrun"],
    ["unknown kind without a length byte", rawHeader([1, 1, 1, 99]), "option-overrun"],
    ["option length 0", rawHeader([99, 0, 0, 0]), "bad-option-length"],
    ["option length 1", rawHeader([99, 1, 0, 0]), "bad-option-length"],
    ["MSS length 0", rawHeader([2, 0, 0, 0]), "bad-option-length"],
    ["MSS length 3", rawHeader([2, 3, 0, 0]), "bad-option-length"],
    ["MSS length 5", rawHeader([2, 5, 0, 0, 0, 1, 1, 1]), "bad-option-length"],
    ["MSS past the header", rawHeader([1, 2, 4, 5]), "option-overrun"],
    ["WS length 4", rawHeader([3, 4, 7, 0]), "bad-option-length"],
    ["WS past the header", rawHeader([1, 1, 3, 3]), "option-overrun"],
    ["SACK-permitted length 3", rawHeader([4, 3, 0, 0]), "bad-option-length"],
    ["TS length 8", rawHeader([8, 8, 0, 0, 0, 0, 0, 0]), "bad-option-length"],
    ["TS length 12", rawHeader([8, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "bad-option-length"],
    ["TS past the header", rawHeader([1, 1, 8, 10, 0, 0, 0, 0]), "option-overrun"],
    ["SACK with no block", rawHeader([5, 2, 1, 1]), "bad-option-length"],
    ["SACK length 9", rawHeader([5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "bad-option-length"],
    ["SACK length 11", rawHeader([5, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "bad-option-length"],
    [
      "SACK of two blocks past the header",
      rawHeader([5, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
      "option-overrun",
    ],
    ["SACK past the header", rawHeader([5, 10, 0, 0, 0, 0, 0, 0]), "option-overrun"],
    ["unknown kind past the header", rawHeader([99, 6, 0, 0]), "option-overrun"],
    ["unknown kind skipped", rawHeader([99, 4, 0xff, 0xff]), "ok"],
    ["EOL ends the list before garbage", rawHeader([0, 2, 1, 0]), "ok"],
    ["SYN+FIN", rawHeader([], SYN | FIN), "syn-fin"],
    ["SYN+FIN+ACK", rawHeader([], SYN | FIN | ACK), "syn-fin"],
    ["SYN+FIN+RST", rawHeader([], SYN | FIN | RST), "syn-fin"],
    ["SYN+RST", rawHeader([], SYN | RST), "syn-rst"],
    ["SYN+RST+ACK", rawHeader([], SYN | RST | ACK), "syn-rst"],
    [
      "options are checked before control bits",
      rawHeader([2, 0, 0, 0], SYN | FIN),
      "bad-option-length",
    ],
    ["FIN+RST is not refused by the codec", rawHeader([], FIN | RST | ACK), "ok"],
    ["wrong checksum", rawHeader([], ACK), "bad-checksum", SUM_V4],
    ["checksum before data offset", withOffset(rawHeader([]), 3), "bad-checksum", SUM_V4],
    [
      "good checksum, bad data offset",
      withChecksum(withOffset(rawHeader([]), 3), SUM_V4),
      "bad-data-offset",
      SUM_V4,
    ],
    ["good checksum, SYN+RST", withChecksum(rawHeader([], SYN | RST), SUM_V6), "syn-rst", SUM_V6],
    ["good checksum, odd length", withChecksum(rawHeader([], ACK, 3), SUM_V4), "ok", SUM_V4],
  ];
  for (const [name, bytes, expected, sum] of table) {
    equal(reasonOf(bytes, sum), expected, name);
  }
});

Deno.test("decode: a Linux SYN (MSS, SACK-permitted, TS, NOP, WS) and a window scale above 14", () => {
  const syn = rawHeader(
    [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0x12, 0xd6, 0x87, 0, 0, 0, 0, 1, 3, 3, 7],
    SYN,
  );
  const s = decodeOk(syn);
  equal(s.mss, 1460);
  equal(s.sackPermitted, true);
  equal(s.tsVal, 0x12d687);
  equal(s.tsEcr, 0);
  equal(s.windowScale, 7);
  equal(decodeOk(rawHeader([1, 3, 3, 15], SYN)).windowScale, 14);
  equal(decodeOk(rawHeader([1, 3, 3, 255], SYN)).windowScale, 14);
  // Reserved bits (the low nibble of byte 12) are ignored (RFC 9293 §3.1).
  const reserved = rawHeader([]);
  reserved[12] |= 0x0f;
  equal(decodeOk(reserved).flags, ACK);
});

Deno.test("decode: SACK blocks as flat edges, one to four blocks; a later option wins", () => {
  const one = decodeOk(rawHeader([1, 1, 5, 10, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]));
  deepStrictEqual(one.sack, [1, 0xffffffff]);
  const four = [1, 1, 5, 34];
  for (let k = 0; k < 8; k++) four.push(0, 0, 0, k);
  deepStrictEqual(decodeOk(rawHeader(four)).sack, [0, 1, 2, 3, 4, 5, 6, 7]);
  equal(decodeOk(rawHeader([2, 4, 0, 1, 2, 4, 0, 2])).mss, 2);
});

Deno.test("decode: the payload is a view of the input, EMPTY when there is none", () => {
  const bytes = encodeToBytes(newSegment({ flags: ACK, payload: bytesOf(5) }));
  const s = decodeOk(bytes);
  equal(s.payload.buffer, bytes.buffer);
  equal(s.payload.byteOffset, 20);
  bytes[20] = 0x99;
  equal(s.payload[0], 0x99);
  equal(decodeOk(encodeToBytes(newSegment({ flags: ACK }))).payload, EMPTY);
});

Deno.test("decode: equal failures reuse one frozen result", () => {
  const a = decode(new Uint8Array(3));
  equal(a, decode(new Uint8Array(5)));
  ok(Object.isFrozen(a));
});

/** Re-encodes a decoded segment and checks it decodes equal (SACK blocks are decode-only). */
function assertReencodes(first: Segment): void {
  const expected = newSegment({ ...first, sack: undefined });
  const again = decodeOk(encodeToBytes(first));
  deepStrictEqual(again, expected);
}

function randomSegment(rand: () => number): Segment {
  const u32 = () => Math.floor(rand() * 2 ** 32);
  const u16 = () => Math.floor(rand() * 65536);
  const hasTs = rand() < 0.5;
  return newSegment({
    srcPort: u16(),
    dstPort: u16(),
    seq: u32(),
    ack: u32(),
    flags: LEGAL_FLAGS[Math.floor(rand() * LEGAL_FLAGS.length)],
    window: u16(),
    urgent: rand() < 0.1 ? u16() : 0,
    mss: rand() < 0.3 ? u16() : undefined,
    windowScale: rand() < 0.3 ? Math.floor(rand() * 15) : undefined,
    sackPermitted: rand() < 0.3,
    tsVal: hasTs ? u32() : undefined,
    tsEcr: hasTs ? u32() : undefined,
    payload: rand() < 0.5 ? EMPTY : bytesOf(Math.floor(rand() * 80), u16()),
  });
}

Deno.test("fuzz: 20,000 random buffers never throw; ok results re-encode equal", () => {
  const seed = 0x5eed1;
  const rand = prng(seed);
  let accepted = 0;
  for (let n = 0; n < 20000; n++) {
    const bytes = new Uint8Array(Math.floor(rand() * 100));
    for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(rand() * 256);
    // Make plausible headers common enough to reach the option parser.
    if (bytes.length >= 20 && rand() < 0.7) bytes[12] = (5 + Math.floor(rand() * 3)) << 4;
    try {
      const r = decode(bytes, rand() < 0.1 ? SUM_V4 : undefined);
      if (r.ok) {
        accepted++;
        assertReencodes(r.segment);
      }
    } catch (e) {
      throw new Error(`Seed ${seed}, case ${n}: ${e}`);
    }
  }
  ok(accepted > 1000, `only ${accepted} accepted`);
});

Deno.test("fuzz: 20,000 mutated valid segments never throw; ok results re-encode equal", () => {
  const seed = 0xf1a7;
  const rand = prng(seed);
  const reasons = new Map<string, number>();
  for (let n = 0; n < 20000; n++) {
    const original = randomSegment(rand);
    const sum = rand() < 0.5 ? SUM_V4 : undefined;
    let bytes = encodeToBytes(original, sum);
    const mutation = Math.floor(rand() * 5);
    if (mutation === 0) {
      const flips = 1 + Math.floor(rand() * 4);
      for (let k = 0; k < flips; k++) {
        bytes[Math.floor(rand() * bytes.length)] ^= 1 << Math.floor(rand() * 8);
      }
    } else if (mutation === 1) {
      bytes = bytes.subarray(0, Math.floor(rand() * bytes.length));
    } else if (mutation === 2) {
      // Scribble over the options area, where the parser has the most to get wrong.
      const end = Math.min(bytes.length, 60);
      for (let k = 20; k < end; k++) if (rand() < 0.3) bytes[k] = Math.floor(rand() * 12);
    } else if (mutation === 3) {
      bytes[12] = Math.floor(rand() * 16) << 4;
    } else {
      const longer = new Uint8Array(bytes.length + 1 + Math.floor(rand() * 8));
      longer.set(bytes);
      bytes = longer;
    }
    try {
      const r = decode(bytes, rand() < 0.8 ? undefined : sum);
      reasons.set(r.ok ? "ok" : r.reason, (reasons.get(r.ok ? "ok" : r.reason) ?? 0) + 1);
      if (r.ok) assertReencodes(r.segment);
    } catch (e) {
      throw new Error(`Seed ${seed}, case ${n}: ${e}`);
    }
  }
  // The mutations must reach every rejection path, or the fuzz proves little.
  for (
    const reason of [
      "ok",
      "short-buffer",
      "bad-data-offset",
      "option-overrun",
      "bad-option-length",
      "bad-checksum",
    ]
  ) {
    ok((reasons.get(reason) ?? 0) > 0, `no case gave "${reason}"`);
  }
});

// ---------------------------------------------------------------- reference codec
// The codec written the slow, obvious way, independent of src/wire: the fast paths of
// encode and decodeInto (header summed from field values, NOP NOP TS read without the
// option walk, 32-bit checksum loads) must agree with it byte for byte and reason for
// reason.

/** The IPv4 pseudo header of SUM_V4 (RFC 9293 §3.1) followed by `segment`. */
function withPseudoHeader(segment: Uint8Array): Uint8Array {
  const all = new Uint8Array(12 + segment.length);
  all.set([192, 0, 2, 1, 198, 51, 100, 7, 0, 6, segment.length >>> 8, segment.length & 0xff]);
  all.set(segment, 12);
  return all;
}

/** RFC 1071: the ones' complement sum of 16-bit words, odd byte padded, folded. */
function referenceSum(bytes: Uint8Array): number {
  let sum = 0;
  for (let k = 0; k < bytes.length; k += 2) {
    sum += bytes[k] * 256 + (k + 1 < bytes.length ? bytes[k + 1] : 0);
  }
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

const be16 = (b: Uint8Array, k: number) => b[k] * 256 + b[k + 1];
const be32 = (b: Uint8Array, k: number) => be16(b, k) * 65536 + be16(b, k + 2);

/** decode as its documentation states it, step by step. */
function referenceDecode(b: Uint8Array, checksum: boolean): Segment | DecodeFailure {
  if (b.length < 20) return "short-buffer";
  if (checksum && referenceSum(withPseudoHeader(b)) !== 0xffff) return "bad-checksum";
  const headerLength = (b[12] >> 4) * 4;
  if (headerLength < 20 || headerLength > b.length) return "bad-data-offset";
  const s = newSegment();
  const exact: Record<number, (len: number) => boolean> = {
    2: (len) => len === 4,
    3: (len) => len === 3,
    4: (len) => len === 2,
    5: (len) => len >= 10 && (len - 2) % 8 === 0,
    8: (len) => len === 10,
  };
  for (let i = 20; i < headerLength;) {
    const kind = b[i];
    if (kind === 0) break;
    if (kind === 1) {
      i++;
      continue;
    }
    if (i + 1 >= headerLength) return "option-overrun";
    const len = b[i + 1];
    if (len < 2 || (exact[kind] && !exact[kind](len))) return "bad-option-length";
    if (i + len > headerLength) return "option-overrun";
    if (kind === 2) s.mss = be16(b, i + 2);
    if (kind === 3) s.windowScale = Math.min(b[i + 2], 14);
    if (kind === 4) s.sackPermitted = true;
    if (kind === 5) {
      s.sack = [];
      for (let k = i + 2; k < i + len; k += 4) s.sack.push(be32(b, k));
    }
    if (kind === 8) {
      s.tsVal = be32(b, i + 2);
      s.tsEcr = be32(b, i + 6);
    }
    i += len;
  }
  if ((b[13] & (SYN | FIN)) === (SYN | FIN)) return "syn-fin";
  if ((b[13] & (SYN | RST)) === (SYN | RST)) return "syn-rst";
  s.srcPort = be16(b, 0);
  s.dstPort = be16(b, 2);
  s.seq = be32(b, 4);
  s.ack = be32(b, 8);
  s.flags = b[13];
  s.window = be16(b, 14);
  s.checksum = be16(b, 16);
  s.urgent = be16(b, 18);
  s.payload = headerLength === b.length ? EMPTY : b.subarray(headerLength);
  return s;
}

/** Option areas near and on the fast path, and random ones. */
function randomOptions(rand: () => number): number[] {
  const byte = () => Math.floor(rand() * 256);
  const ts = () => [8, 10, byte(), byte(), byte(), byte(), byte(), byte(), byte(), byte()];
  const pick = Math.floor(rand() * 8);
  let options: number[];
  if (pick === 0) options = [];
  else if (pick <= 2) options = [1, 1, ...ts()];
  else if (pick === 3) options = [...ts(), 1, 1];
  else if (pick === 4) options = [2, 4, byte(), byte(), 1, 3, 3, byte(), 4, 2, ...ts()];
  else if (pick === 5) options = [1, 1, ...ts(), 1, 1, 5, 10, ...ts().slice(2)];
  else {
    options = [];
    const n = Math.floor(rand() * 41);
    for (let k = 0; k < n; k++) options.push(rand() < 0.7 ? Math.floor(rand() * 12) : byte());
  }
  // Near misses of NOP NOP TS: one of its four leading bytes changed.
  if (options.length >= 4 && rand() < 0.3) {
    options[Math.floor(rand() * 4)] = Math.floor(rand() * 12);
  }
  return options;
}

Deno.test("decodeInto: fast paths agree with a reference decoder on 30,000 random layouts", () => {
  const seed = 0xdec0de;
  const rand = prng(seed);
  let fastPath = 0;
  const reasons = new Map<string, number>();
  const out = newSegment();
  for (let n = 0; n < 30000; n++) {
    const options = randomOptions(rand);
    const padded = Math.ceil(options.length / 4) * 4;
    const payload = rand() < 0.5 ? 0 : Math.floor(rand() * 200);
    // The segment sits at a random byte offset of a larger buffer, as in an arena.
    const shift = Math.floor(rand() * 8);
    const backing = new Uint8Array(shift + 20 + padded + payload + Math.floor(rand() * 3));
    const b = backing.subarray(shift, shift + 20 + padded + payload);
    for (let k = 0; k < b.length; k++) b[k] = Math.floor(rand() * 256);
    b.fill(0, 20, 20 + padded);
    b.set(options, 20);
    const offsetWords = (20 + padded) / 4 + (rand() < 0.1 ? Math.floor(rand() * 5) - 2 : 0);
    b[12] = ((offsetWords & 15) << 4) | (b[12] & 15);
    b[13] = rand() < 0.5 ? ACK | (b[13] & (PSH | FIN)) : b[13];
    const sum = rand() < 0.6 ? SUM_V4 : undefined;
    if (sum !== undefined && rand() < 0.8) withChecksum(b, SUM_V4);
    const view = rand() < 0.1 ? b.subarray(0, Math.floor(rand() * b.length)) : b;
    if (view.length >= 32 && view[12] >> 4 === 8 && be32(view, 20) === 0x0101080a) fastPath++;

    const expected = referenceDecode(view, sum !== undefined);
    const before = { ...out };
    const reason = decodeInto(view, out, sum);
    try {
      if (typeof expected === "string") {
        equal(reason, expected);
        deepStrictEqual(out, before); // a failure leaves `out` unchanged
      } else {
        equal(reason, undefined);
        deepStrictEqual(out, expected);
      }
    } catch (e) {
      throw new Error(`Seed ${seed}, case ${n}: ${e}`);
    }
    const key = reason ?? "ok";
    reasons.set(key, (reasons.get(key) ?? 0) + 1);
  }
  ok(fastPath > 3000, `only ${fastPath} cases on the NOP NOP TS path`);
  for (const reason of ["ok", ...DECODE_FAILURES]) {
    ok((reasons.get(reason) ?? 0) > 0, `no case gave "${reason}"`);
  }
});

Deno.test("encode: the checksum summed from field values matches the bytes, at any offset", () => {
  const seed = 0xe1c0de;
  const rand = prng(seed);
  for (let n = 0; n < 5000; n++) {
    const s = randomSegment(rand);
    if (rand() < 0.3) s.payload = bytesOf(Math.floor(rand() * 300), n);
    const len = encodedLength(s);
    const offset = Math.floor(rand() * 9);
    const out = new Uint8Array(offset + len + 3).fill(0xa5);
    try {
      equal(encode(s, out, offset, SUM_V4), len);
      const bytes = out.subarray(offset, offset + len);
      equal(referenceSum(withPseudoHeader(bytes)), 0xffff);
      equal(s.checksum, be16(bytes, 16));
      // Without addrSum the same bytes come out, the checksum field as given.
      deepStrictEqual(encodeToBytes(s), new Uint8Array(bytes));
      ok(out.subarray(0, offset).every((x) => x === 0xa5));
      ok(out.subarray(offset + len).every((x) => x === 0xa5));
    } catch (e) {
      throw new Error(`Seed ${seed}, case ${n}: ${e}`);
    }
  }
});

Deno.test("encode partial: the field holds the pseudo-header sum; completing it gives the full encoding", () => {
  const seed = 0x0ff10ad;
  const rand = prng(seed);
  const pseudoOnly = new Uint8Array(12);
  for (let n = 0; n < 3000; n++) {
    const s = randomSegment(rand);
    if (rand() < 0.3) s.payload = bytesOf(Math.floor(rand() * 300), n);
    const sum = rand() < 0.5 ? SUM_V4 : SUM_V6;
    const len = encodedLength(s);
    const full = new Uint8Array(len);
    const offset = Math.floor(rand() * 9);
    const out = new Uint8Array(offset + len).fill(0xa5);
    try {
      encode(s, full, 0, sum);
      const checksum = s.checksum;
      equal(encode(s, out, offset, sum, true), len);
      const partial = out.subarray(offset);
      // Everything but the checksum field is as encoded in full.
      deepStrictEqual(partial.subarray(0, 16), full.subarray(0, 16));
      deepStrictEqual(partial.subarray(18), full.subarray(18));
      // The field: the pseudo header's folded sum (addresses, protocol, TCP length).
      pseudoOnly[10] = len >>> 8;
      pseudoOnly[11] = len & 0xff;
      equal(be16(partial, 16), ~foldChecksum(sum16(pseudoOnly, 0, 12, sum)) & 0xffff);
      equal(s.checksum, be16(partial, 16));
      equal(completeChecksum(partial), checksum);
      deepStrictEqual(partial, full);
    } catch (e) {
      throw new Error(`Seed ${seed}, case ${n}: ${e}`);
    }
  }
});

Deno.test("encode partial: a receiver that verifies refuses the segment until the link completes it", () => {
  const s = newSegment({
    srcPort: 49152,
    dstPort: 80,
    seq: 1000,
    ack: 2000,
    flags: ACK | PSH,
    window: 512,
    tsVal: 7,
    tsEcr: 9,
    payload: bytesOf(64, 3),
  });
  const out = new Uint8Array(encodedLength(s));
  encode(s, out, 0, SUM_V4, true);
  const refused = decode(out, SUM_V4);
  equal(refused.ok, false);
  equal(!refused.ok && refused.reason, "bad-checksum");
  // A receiver that trusts the link (offloaded verification) reads it as is.
  ok(decode(out).ok);
  completeChecksum(out);
  const r = decode(out, SUM_V4);
  ok(r.ok && r.segment.payload.length === 64 && r.segment.seq === 1000);
});

Deno.test("completeChecksum: refuses fewer bytes than a TCP header", () => {
  throws(() => completeChecksum(new Uint8Array(19)), RangeError);
});

Deno.test("encode partial: the field Linux leaves on its loopback (tshark on lo: SYN 0xfe30, ACK 0xfe28)", () => {
  // A capture of a Linux connection over 127.0.0.1 shows these "incorrect" checksums:
  // the kernel writes the pseudo-header sum and the loopback device never completes it.
  const lo = addrSum(parseIp("127.0.0.1")!, parseIp("127.0.0.1")!);
  const syn = newSegment({
    srcPort: 40000,
    dstPort: 47011,
    seq: 12345,
    flags: SYN,
    window: 65495,
    mss: 65495,
    windowScale: 7,
    sackPermitted: true,
    tsVal: 1,
    tsEcr: 0,
  });
  const out = new Uint8Array(60);
  equal(encode(syn, out, 0, lo, true), 40);
  equal(be16(out, 16), 0xfe30);
  const ack = newSegment({ srcPort: 40000, dstPort: 47011, flags: ACK, tsVal: 2, tsEcr: 1 });
  equal(encode(ack, out, 0, lo, true), 32);
  equal(be16(out, 16), 0xfe28);
});
