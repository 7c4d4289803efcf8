/**
 * Initial sequence numbers (RFC 9293 §3.4.1, from RFC 6528):
 * `ISN = M + F(localip, localport, remoteip, remoteport, secretkey)`, where M is a
 * clock ticking every 4 µs and F a keyed pseudorandom function. F here is
 * HalfSipHash-2-4 (64-bit key, 32-bit output). The key comes from outside the core.
 *
 * @module
 */

/** HalfSipHash-2-4 of `data[0..len)` under an 8-byte key. Returns a uint32. */
export function halfSipHash(key: Uint8Array, data: Uint8Array, len = data.length): number {
  const s = STATE;
  sipInit(key, s);
  const full = len & ~3;
  for (let i = 0; i < full; i += 4) absorb(s, wordAt(data, i));
  let b = len << 24;
  for (let i = len - 1; i >= full; i--) b |= data[i] << (8 * (i - full));
  return finish(s, b);
}

/** The little-endian word at `data[i..i+4)`. */
function wordAt(data: Uint8Array, i: number): number {
  return data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24);
}

/** One compression step: message word `m` into state `s`. */
function absorb(s: Uint32Array, m: number): void {
  s[3] ^= m;
  sipRounds(s, 2);
  s[0] ^= m;
}

/** Absorbs the last block `b` (length byte on top) and returns the 32-bit output. */
function finish(s: Uint32Array, b: number): number {
  absorb(s, b);
  s[2] ^= 0xff;
  sipRounds(s, 4);
  return (s[1] ^ s[3]) >>> 0;
}

/** The initial state under an 8-byte key (the key's two little-endian words). */
function sipInit(key: Uint8Array, s: Uint32Array): void {
  const k0 = (key[0] | (key[1] << 8) | (key[2] << 16) | (key[3] << 24)) >>> 0;
  const k1 = (key[4] | (key[5] << 8) | (key[6] << 16) | (key[7] << 24)) >>> 0;
  s[0] = k0;
  s[1] = k1;
  s[2] = 0x6c796765 ^ k0;
  s[3] = 0x74656462 ^ k1;
}

// The four state words live in a typed array rather than in variables captured by a
// closure: V8 keeps captured, reassigned variables in a heap context, which made the
// hash cost ~300 ns per ISN; Uint32Array stores wrap to 32 bits for free.
const STATE = new Uint32Array(4);

function sipRounds(s: Uint32Array, n: number): void {
  let v0 = s[0], v1 = s[1], v2 = s[2], v3 = s[3];
  for (let r = 0; r < n; r++) {
    v0 = (v0 + v1) | 0;
    v1 = ((v1 << 5) | (v1 >>> 27)) ^ v0;
    v0 = (v0 << 16) | (v0 >>> 16);
    v2 = (v2 + v3) | 0;
    v3 = ((v3 << 8) | (v3 >>> 24)) ^ v2;
    v0 = (v0 + v3) | 0;
    v3 = ((v3 << 7) | (v3 >>> 25)) ^ v0;
    v2 = (v2 + v1) | 0;
    v1 = ((v1 << 13) | (v1 >>> 19)) ^ v2;
    v2 = (v2 << 16) | (v2 >>> 16);
  }
  s[0] = v0;
  s[1] = v1;
  s[2] = v2;
  s[3] = v3;
}

/**
 * F over the address pair whose state is `prefix` (see `IsnGenerator.prefix`), then
 * the ports: the message ends with them, so the last block holds only its length.
 */
function fromPrefix(prefix: Uint32Array, localPort: number, remotePort: number): number {
  const s = STATE;
  s[0] = prefix[0];
  s[1] = prefix[1];
  s[2] = prefix[2];
  s[3] = prefix[3];
  // The ports' four bytes in message order (big-endian ports), read little-endian.
  absorb(
    s,
    (localPort >>> 8) | ((localPort & 0xff) << 8) | ((remotePort >>> 8) << 16) |
      ((remotePort & 0xff) << 24),
  );
  return finish(s, (prefix[4] + 4) << 24);
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
   * F's state after the address pair, for {@linkcode IsnGenerator.isnFrom}: the
   * addresses lead F's message and fill whole 4-byte blocks (IPv4 and IPv6 alike), so
   * an endpoint hashes them once per remote address instead of once per connection.
   */
  prefix(local: Uint8Array, remote: Uint8Array): Uint32Array {
    const s = this.#scratch;
    s.set(local, 0);
    s.set(remote, local.length);
    const n = local.length + remote.length;
    if (n % 4 !== 0) throw new RangeError(`Addresses of ${n} bytes do not fill whole blocks`);
    const st = new Uint32Array(5);
    sipInit(this.#key, st);
    for (let i = 0; i < n; i += 4) absorb(st, wordAt(s, i));
    st[4] = n;
    return st;
  }

  /**
   * The same ISN as {@linkcode IsnGenerator.isn} for the address pair whose
   * {@linkcode IsnGenerator.prefix} is `prefix`: only the ports and the final block
   * are hashed here.
   */
  isnFrom(now: number, prefix: Uint32Array, localPort: number, remotePort: number): number {
    return (Math.floor(now * 250) + fromPrefix(prefix, localPort, remotePort)) >>> 0;
  }

  /**
   * The keyed hash behind ephemeral port selection (RFC 6056 §3.3.4, Algorithm 4) for
   * the address pair whose {@linkcode IsnGenerator.prefix} is `prefix` and a remote
   * port: F's message with local port 0, which no connection uses, so no ISN is ever
   * computed from the same input. The caller splits the 32 bits into the offset (F)
   * and the table index (G), as two outputs of one keyed function.
   */
  portHash(prefix: Uint32Array, remotePort: number): number {
    return fromPrefix(prefix, 0, remotePort);
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
