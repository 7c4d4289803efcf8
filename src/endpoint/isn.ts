/**
 * Initial sequence numbers (RFC 9293 §3.4.1, from RFC 6528):
 * `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`, where M is a
 * clock ticking every 4 µs and F a keyed pseudorandom function. F here is
 * HalfSipHash-2-4 (64-bit key, 32-bit output). The key comes from outside the core.
 *
 * @module
 */

function rotl(x: number, b: number): number {
  return ((x << b) | (x >>> (32 - b))) >>> 0;
}

/** HalfSipHash-2-4 of `data[0..len)` under an 8-byte key. Returns a uint32. */
export function halfSipHash(key: Uint8Array, data: Uint8Array, len = data.length): number {
  const k0 = (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0;
  const k1 = (key[4] | (key[5] << 8) | (key[6] << 16) | (key[7] << 24)) >>> 0;
  let v0 = k0;
  let v1 = k1;
  let v2 = (0x6c796765 ^ k0) >>> 0;
  let v3 = (0x74656462 ^ k1) >>> 0;
  const round = () => {
    v0 = (v0 + v1) >>> 0;
    v1 = rotl(v1, 5) ^ v0;
    v0 = rotl(v0, 16);
    v2 = (v2 + v3) >>> 0;
    v3 = rotl(v3, 8) ^ v2;
    v0 = (v0 + v3) >>> 0;
    v3 = rotl(v3, 7) ^ v0;
    v2 = (v2 + v1) >>> 0;
    v1 = rotl(v1, 13) ^ v2;
    v2 = rotl(v2, 16);
  };
  const full = len & ~3;
  for (let i = 0; i < full; i += 4) {
    const m = (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24)) >>> 0;
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
  let b = (len << 24) >>> 0;
  for (let i = len - 1; i >= full; i--) b |= data[i] << (8 * (i - full));
  b >>>= 0;
  v3 ^= b;
  round();
  round();
  v0 ^= b;
  v2 ^= 0xff;
  round();
  round();
  round();
  round();
  return (v1 ^ v3) >>> 0;
}

/** Computes ISNs and timestamp offsets for one endpoint. */
export class IsnGenerator {
  #key: Uint8Array;
  #tsKey: Uint8Array;
  #scratch = new Uint8Array(40);

  /** `key` must hold at least 16 bytes of secret randomness from outside. */
  constructor(key: Uint8Array) {
    if (key.length < 16) throw new RangeError("The ISN key needs 16 bytes");
    this.#key = key.slice(0, 8);
    this.#tsKey = key.slice(8, 16);
  }

  /** §3.4.1: M (4 µs ticks of `now`) plus F of the 4-tuple. */
  isn(now: number, local: Uint8Array, localPort: number, remote: Uint8Array, remotePort: number) {
    const s = this.#scratch;
    let n = 0;
    s.set(local, n);
    n += local.length;
    s.set(remote, n);
    n += remote.length;
    s[n++] = localPort >>> 8;
    s[n++] = localPort & 0xff;
    s[n++] = remotePort >>> 8;
    s[n++] = remotePort & 0xff;
    const m = Math.floor(now * 250);
    return (m + halfSipHash(this.#key, s, n)) >>> 0;
  }

  /**
   * A timestamp offset per address pair (RFC 7323 §5.4, as Linux does): hides the
   * host clock yet stays monotonic for one pair, which TIME-WAIT reopen relies on.
   */
  tsOffset(local: Uint8Array, remote: Uint8Array): number {
    const s = this.#scratch;
    s.set(local, 0);
    s.set(remote, local.length);
    return halfSipHash(this.#tsKey, s, local.length + remote.length);
  }
}
