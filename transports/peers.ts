/**
 * Maps transport peers (`"192.0.2.7:9811"`: IP and UDP port) onto the endpoint's
 * address space, and limits RSTs per source. Pure bookkeeping; the driver owns it.
 *
 * Why a mapping: the endpoint has one local address and keys a connection by
 * (remote address, remote port, local port). Over UDP the peer's UDP port is part of
 * its identity (two clients behind one NAT share an IP and may pick the same TCP
 * port), and IPv4 and IPv6 peers meet on one socket. So every distinct transport
 * address gets a *slot*, and the endpoint sees slot `n` as the synthetic IPv6 address
 * `fd66:696e:7761:6974:1::n` ("finwait" in a unique-local prefix), with its own
 * local address `fd66:696e:7761:6974::1`. The TCP ports inside the segment then tell
 * connections to one peer apart, exactly as on IP. The checksum's pseudo header uses
 * zero addresses (`pseudoHeader: "zero"`), so synthetic addresses never reach the wire.
 *
 * Memory stays bounded under a flood from any number of sources: a slot lives only
 * while a connection uses it (including TIME-WAIT) and is recycled right after the
 * datagram that made it is handled, so the endpoint interns at most `capacity`
 * addresses ever; RST budgets live in a fixed array of hashed buckets.
 *
 * @module
 */
import { hostOf } from "./transport.ts";

/** The endpoint's own (synthetic) address when driven over a real transport. */
export const LOCAL_VIRTUAL_ADDRESS = "fd66:696e:7761:6974::1";
const PEER_PREFIX = "fd66:696e:7761:6974:1:0:";

/** The synthetic endpoint address of slot `slot` (0 ≤ slot < 2^32). */
export function virtualAddress(slot: number): string {
  return `${PEER_PREFIX}${(slot >>> 16).toString(16)}:${(slot & 0xffff).toString(16)}`;
}

/** Slots for transport addresses, reference-counted by live connections. */
export class PeerTable {
  readonly capacity: number;
  #byAddress = new Map<string, number>();
  #byVirtual = new Map<string, number>();
  #address: string[] = [];
  #virtual: string[] = [];
  #refs: number[] = [];
  #free: number[] = [];

  constructor(capacity = 65_536) {
    this.capacity = capacity;
  }

  /** Slots in use. */
  get size(): number {
    return this.#byAddress.size;
  }

  /** Slots ever created (the number of addresses the endpoint has interned). */
  get created(): number {
    return this.#address.length;
  }

  /** The slot of `address`, creating one; -1 when the table is full. */
  slotFor(address: string): number {
    const known = this.#byAddress.get(address);
    if (known !== undefined) return known;
    let slot: number;
    if (this.#free.length > 0) {
      slot = this.#free.pop()!;
    } else {
      if (this.#address.length >= this.capacity) return -1;
      slot = this.#address.length;
      const v = virtualAddress(slot);
      this.#address.push("");
      this.#virtual.push(v);
      this.#refs.push(0);
      this.#byVirtual.set(v, slot);
    }
    this.#address[slot] = address;
    this.#refs[slot] = 0;
    this.#byAddress.set(address, slot);
    return slot;
  }

  /** The slot of `address` if it has one, else -1. */
  find(address: string): number {
    return this.#byAddress.get(address) ?? -1;
  }

  /** The slot behind a synthetic endpoint address, or -1. */
  slotOfVirtual(virtual: string): number {
    const slot = this.#byVirtual.get(virtual);
    return slot === undefined || this.#address[slot] === "" ? -1 : slot;
  }

  /** The transport address of `slot`. */
  address(slot: number): string {
    return this.#address[slot];
  }

  /** The synthetic endpoint address of `slot`. */
  virtual(slot: number): string {
    return this.#virtual[slot];
  }

  /** Live connections on `slot`. */
  refs(slot: number): number {
    return this.#refs[slot];
  }

  /** A connection now uses `slot`. */
  retain(slot: number): void {
    this.#refs[slot]++;
  }

  /** A connection on `slot` is gone (the caller frees the slot once nothing is in flight). */
  release(slot: number): void {
    if (this.#refs[slot] > 0) this.#refs[slot]--;
  }

  /** Frees `slot` when no connection uses it (after a datagram that opened nothing). */
  freeIfUnused(slot: number): void {
    if (this.#refs[slot] > 0 || this.#address[slot] === "") return;
    this.#refs[slot] = 0;
    this.#byAddress.delete(this.#address[slot]);
    this.#address[slot] = "";
    this.#free.push(slot);
  }
}

/**
 * Per-source token buckets in a fixed array: a source (host, without the port) hashes
 * to a bucket; sources that collide share one budget. Memory is constant whatever the
 * number of sources.
 */
export class SourceLimiter {
  readonly perSecond: number;
  #tokens: Float64Array;
  #at: Float64Array;
  #mask: number;

  constructor(perSecond: number, buckets = 4096) {
    if ((buckets & (buckets - 1)) !== 0) throw new RangeError("buckets must be a power of 2");
    this.perSecond = perSecond;
    this.#tokens = new Float64Array(buckets).fill(perSecond);
    this.#at = new Float64Array(buckets).fill(-Infinity);
    this.#mask = buckets - 1;
  }

  /** Takes one token for the host of `address` at `now` (ms); false when empty. */
  allow(address: string, now: number): boolean {
    const b = hash(hostOf(address)) & this.#mask;
    const burst = this.perSecond;
    const elapsed = now - this.#at[b];
    let t = elapsed === Infinity ? burst : this.#tokens[b] + (elapsed * burst) / 1000;
    if (t > burst) t = burst;
    this.#at[b] = now;
    if (t < 1) {
      this.#tokens[b] = t;
      return false;
    }
    this.#tokens[b] = t - 1;
    return true;
  }
}

/** FNV-1a over UTF-16 code units. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
