import assert from "node:assert/strict";
import {
  checksumAdd,
  checksumSub,
  decodeIpv4,
  encodeIpv4Header,
  IPV4_DECODE_FAILURES,
  ipv4AddressSum,
  type Ipv4DecodeFailure,
  ipv4ToNumber,
  ipv4ToText,
  newIpv4Header,
  readIpv4,
} from "../../src/wire/ipv4.ts";
import { ACK, addrSum, decode, encode, FIN, newSegment, parseIp } from "../../src/wire/mod.ts";

const hex = (s: string) =>
  new Uint8Array(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));

// A UDP packet header as Wireshark shows it (the classic worked example of the IPv4
// header checksum): 192.168.0.1 → 192.168.0.199, checksum b861.
const KNOWN = hex("4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7");

Deno.test("ipv4: a known header decodes, and encoding its fields gives the same bytes", () => {
  const packet = new Uint8Array(0x73);
  packet.set(KNOWN);
  const r = decodeIpv4(packet);
  assert.ok(r.ok);
  assert.deepEqual(r.header, {
    headerLength: 20,
    tos: 0,
    totalLength: 0x73,
    id: 0,
    dontFragment: true,
    moreFragments: false,
    fragmentOffset: 0,
    ttl: 64,
    protocol: 17,
    checksum: 0xb861,
    src: 0xc0a80001,
    dst: 0xc0a800c7,
  });
  assert.equal(r.payload.length, 0x73 - 20);
  const out = new Uint8Array(20);
  encodeIpv4Header(
    { src: r.header.src, dst: r.header.dst, protocol: 17, payloadLength: 0x73 - 20 },
    out,
  );
  assert.deepEqual(out, KNOWN);
});

Deno.test("ipv4: round trip of every field; the payload is a view, not a copy", () => {
  const buf = new Uint8Array(200);
  for (
    const f of [
      { src: 0x0a4d0002, dst: 0x0a4d0001, protocol: 6, payloadLength: 0 },
      { src: 0, dst: 0xffffffff, protocol: 255, payloadLength: 180, id: 0xffff, ttl: 1, tos: 0xb8 },
      { src: 1, dst: 2, protocol: 6, payloadLength: 33, dontFragment: false, ttl: 255 },
    ]
  ) {
    const n = encodeIpv4Header(f, buf, 0);
    assert.equal(n, 20);
    const h = newIpv4Header();
    assert.equal(readIpv4(buf, 20 + f.payloadLength, h), undefined);
    assert.equal(h.src, f.src);
    assert.equal(h.dst, f.dst);
    assert.equal(h.protocol, f.protocol);
    assert.equal(h.totalLength, 20 + f.payloadLength);
    assert.equal(h.id, f.id ?? 0);
    assert.equal(h.ttl, f.ttl ?? 64);
    assert.equal(h.tos, f.tos ?? 0);
    assert.equal(h.dontFragment, f.dontFragment ?? true);
  }
  const r = decodeIpv4(buf.subarray(0, 20 + 33));
  assert.ok(r.ok);
  buf[20] = 0xab;
  assert.equal(r.payload[0], 0xab);
});

Deno.test("ipv4: encoding at an offset, options and link padding on decode", () => {
  const buf = new Uint8Array(64);
  encodeIpv4Header({ src: 1, dst: 2, protocol: 6, payloadLength: 10 }, buf, 4);
  assert.equal(decodeIpv4(buf.subarray(4, 34)).ok, true);
  // IHL 6: one option word (NOP NOP NOP EOL); the checksum covers it.
  const opt = new Uint8Array(24 + 4);
  opt.set(hex("4600 001c 1234 0000 4006 0000 0a00 0001 0a00 0002 0101 0100 dead beef"));
  let sum = 0;
  for (let i = 0; i < 24; i += 2) sum += (opt[i] << 8) | opt[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  opt[10] = (~sum >>> 8) & 0xff;
  opt[11] = ~sum & 0xff;
  const r = decodeIpv4(opt);
  assert.ok(r.ok);
  assert.equal(r.header.headerLength, 24);
  assert.deepEqual(r.payload, hex("dead beef"));
  // Ethernet-style padding after the total length is not payload.
  const padded = new Uint8Array(60);
  encodeIpv4Header({ src: 1, dst: 2, protocol: 6, payloadLength: 20 }, padded);
  const p = decodeIpv4(padded);
  assert.ok(p.ok);
  assert.equal(p.payload.length, 20);
});

Deno.test("ipv4: fragments decode with their flags; the caller decides", () => {
  const b = new Uint8Array(28);
  b.set(hex("4500 001c 0001 2003 4006 0000 0a00 0001 0a00 0002"));
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  b[10] = (~sum >>> 8) & 0xff;
  b[11] = ~sum & 0xff;
  const r = decodeIpv4(b);
  assert.ok(r.ok);
  assert.equal(r.header.moreFragments, true);
  assert.equal(r.header.dontFragment, false);
  assert.equal(r.header.fragmentOffset, 24);
});

Deno.test("ipv4: malformed packets give their reason and never throw", () => {
  const good = () => {
    const b = new Uint8Array(40);
    encodeIpv4Header({ src: 1, dst: 2, protocol: 6, payloadLength: 20 }, b);
    return b;
  };
  const cases: [string, Uint8Array, Ipv4DecodeFailure][] = [
    ["empty", new Uint8Array(0), "short-buffer"],
    ["19 bytes", good().subarray(0, 19), "short-buffer"],
    [
      "IPv6",
      (() => {
        const b = new Uint8Array(40);
        b[0] = 0x60;
        return b;
      })(),
      "not-ipv4",
    ],
    [
      "IHL 4",
      (() => {
        const b = good();
        b[0] = 0x44;
        return b;
      })(),
      "bad-header-length",
    ],
    [
      "IHL 15 beyond a 40-byte buffer",
      (() => {
        const b = good();
        b[0] = 0x4f;
        return b;
      })(),
      "bad-header-length",
    ],
    [
      "total length 19",
      (() => {
        const b = good();
        b[2] = 0;
        b[3] = 19;
        return b;
      })(),
      "bad-total-length",
    ],
    ["total length beyond the buffer", good().subarray(0, 39), "bad-total-length"],
    [
      "a flipped bit in the header",
      (() => {
        const b = good();
        b[15] ^= 0x10;
        return b;
      })(),
      "bad-checksum",
    ],
  ];
  const seen = new Set<Ipv4DecodeFailure>();
  for (const [name, bytes, reason] of cases) {
    const r = decodeIpv4(bytes);
    assert.deepEqual(r, { ok: false, reason }, name);
    seen.add(reason);
  }
  assert.deepEqual([...seen].sort(), [...IPV4_DECODE_FAILURES].sort());
  // A length argument longer than the buffer is clamped, not read past.
  assert.equal(readIpv4(new Uint8Array(10), 100, newIpv4Header()), "short-buffer");
});

Deno.test("ipv4: encode refuses fields that do not fit", () => {
  const out = new Uint8Array(20);
  const base = { src: 1, dst: 2, protocol: 6, payloadLength: 0 };
  assert.throws(() => encodeIpv4Header({ ...base, payloadLength: 65_516 }, out), RangeError);
  assert.throws(() => encodeIpv4Header({ ...base, payloadLength: -1 }, out), RangeError);
  assert.throws(() => encodeIpv4Header({ ...base, ttl: 256 }, out), RangeError);
  assert.throws(() => encodeIpv4Header({ ...base, id: 65_536 }, out), RangeError);
  assert.throws(() => encodeIpv4Header({ ...base, src: 2 ** 32 }, out), RangeError);
  assert.throws(() => encodeIpv4Header(base, new Uint8Array(19)), RangeError);
  assert.throws(() => encodeIpv4Header(base, out, 1), RangeError);
  assert.equal(encodeIpv4Header({ ...base, payloadLength: 65_515 }, out), 20);
});

Deno.test("ipv4: address text and numbers", () => {
  assert.equal(ipv4ToNumber("10.77.0.2"), 0x0a4d0002);
  assert.equal(ipv4ToNumber("255.255.255.255"), 0xffffffff);
  assert.equal(ipv4ToText(0xffffffff), "255.255.255.255");
  assert.equal(ipv4ToText(0x0a4d0001), "10.77.0.1");
  for (const bad of ["::1", "10.77.0", "010.0.0.1", "10.77.0.256", "", "host"]) {
    assert.equal(ipv4ToNumber(bad), undefined, bad);
  }
});

Deno.test("ipv4: a TCP checksum moves between zero and real pseudo-header addresses (RFC 1624)", () => {
  const zero = addrSum(new Uint8Array(4), new Uint8Array(4));
  const buf = new Uint8Array(1600);
  let x = 12345;
  const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
  for (let k = 0; k < 2000; k++) {
    const src = k === 0 ? 0 : k === 1 ? 0xffffffff : rnd();
    const dst = k === 2 ? 0xffffffff : rnd();
    const real = addrSum(parseIp(ipv4ToText(src))!, parseIp(ipv4ToText(dst))!);
    const payload = new Uint8Array(rnd() % 1400);
    for (let i = 0; i < payload.length; i++) payload[i] = rnd() & 0xff;
    const seg = newSegment({
      srcPort: rnd() & 0xffff,
      dstPort: rnd() & 0xffff,
      seq: rnd(),
      ack: rnd(),
      flags: FIN | ACK,
      window: rnd() & 0xffff,
      payload,
    });
    const n = encode(seg, buf, 0, zero);
    const bytes = buf.subarray(0, n);
    const zeroField = (bytes[16] << 8) | bytes[17];
    const delta = ipv4AddressSum(src, dst);
    // zero → real: what the TUN transport does before a write.
    const realField = checksumAdd(zeroField, delta);
    bytes[16] = realField >>> 8;
    bytes[17] = realField & 0xff;
    assert.ok(decode(bytes, real).ok, `real checksum, case ${k}`);
    // real → zero: what it does after a read; the driver's endpoint verifies.
    const back = checksumSub(realField, delta);
    bytes[16] = back >>> 8;
    bytes[17] = back & 0xff;
    assert.ok(decode(bytes, zero).ok, `back to zero, case ${k}`);
    // A corrupted segment stays corrupted through the translation.
    bytes[16] = realField >>> 8;
    bytes[17] = realField & 0xff;
    const at = n - 1 - (k % 8);
    bytes[at === 16 || at === 17 ? 0 : at] ^= 1 << (k % 8);
    const moved = checksumSub(realField, delta);
    bytes[16] = moved >>> 8;
    bytes[17] = moved & 0xff;
    assert.equal(decode(bytes, zero).ok, false, `corruption kept, case ${k}`);
  }
});
