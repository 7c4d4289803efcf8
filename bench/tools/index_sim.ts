/**
 * A model of the TIME-WAIT index under a client's load, for choosing its block size:
 * linear probing with backward-shift deletion at the table's load (1e6 records in
 * 2^21 slots), fed as the engine bench's rig feeds it (127 server ports round robin,
 * consecutive local ports per destination as the endpoint's RFC 6056 selection gives,
 * the oldest record evicted per new one), with the local port's low bits XORed into
 * the home slot as `src/endpoint/time_wait.ts` does for blocks of 4. The model has its
 * own hash because it varies the block size (1 to 16 ports), which the table's
 * `timeWaitHome` fixes at 4.
 *
 * For each block size it prints how far entries sit from their home slot (past what
 * the index entry's distance field holds, a probe must read the record, a likely cache
 * miss: 5 bits at the largest cap, 7 at the default one; the model counts 15 and 31) and the
 * index lines per connection that a 1 MiB LRU cache would miss (the connect-time
 * check, and the eviction's delete). A model: the engine's own cost is measured by
 * `bench/tools/slowdown.ts`.
 *
 * ```sh
 * deno run bench/tools/index_sim.ts [connections = 3000000]
 * ```
 *
 * @module
 */

const CAP = 1_000_000;
const SLOTS = 1 << 21;
const MASK = SLOTS - 1;
const DESTINATIONS = 127;
const RANGE = 16384;
const LRU_LINES = (1 << 20) / 64;

function mix(x: number): number {
  let h = Math.imul(x, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

interface Result {
  past15: number;
  past31: number;
  connectMisses: number;
  evictMisses: number;
}

function simulate(blockBits: number, connections: number): Result {
  const low = (1 << blockBits) - 1;
  const home = (lp: number, rp: number) =>
    ((mix(((lp & ~low) << 16) ^ rp ^ 0x5bd1e995) ^ (lp & low)) & MASK) >>> 0;
  const index = new Int32Array(SLOTS).fill(-1);
  const homes = new Int32Array(CAP + 1);
  const keys = new Float64Array(CAP + 1);
  const fifo = new Int32Array(CAP + 1);
  let head = 0, tail = 0, size = 0;
  const present = new Set<number>();
  // An LRU of index lines: a Map keeps insertion order.
  const lru = new Map<number, true>();
  let misses = 0;
  const touch = (slot: number) => {
    const line = slot >> 4;
    if (lru.delete(line)) {
      lru.set(line, true);
      return;
    }
    misses++;
    if (lru.size >= LRU_LINES) lru.delete(lru.keys().next().value!);
    lru.set(line, true);
  };
  const counters = new Int32Array(DESTINATIONS);
  const offsets = Array.from({ length: DESTINATIONS }, (_, d) => mix(d + 1) & (RANGE - 1));
  let connectMisses = 0, evictMisses = 0;
  for (let n = 0; n < connections; n++) {
    const d = n % DESTINATIONS;
    const rp = 1000 + d;
    let lp = 0;
    do lp = 49152 + ((offsets[d] + counters[d]++) & (RANGE - 1)); while (
      present.has(lp * 65536 + rp)
    );
    const h = home(lp, rp);
    // The connect-time check: walk to the first empty slot.
    const m0 = misses;
    for (let s = h;; s = (s + 1) & MASK) {
      touch(s);
      if (index[s] < 0) break;
    }
    if (n >= CAP) connectMisses += misses - m0;
    // The new record takes the evicted one's id (storage) at the cap.
    let id = size;
    if (size === CAP) {
      // Evict the oldest: find it, then shift later cluster members back.
      id = fifo[head];
      head = head === CAP ? 0 : head + 1;
      size--;
      present.delete(keys[id]);
      const m1 = misses;
      let hole = homes[id];
      while (index[hole] !== id) hole = (hole + 1) & MASK;
      touch(hole);
      for (let j = (hole + 1) & MASK;; j = (j + 1) & MASK) {
        touch(j);
        const v = index[j];
        if (v < 0) break;
        if (((j - homes[v]) & MASK) >= ((j - hole) & MASK)) {
          index[hole] = v;
          hole = j;
        }
      }
      index[hole] = -1;
      evictMisses += misses - m1;
    }
    fifo[tail] = id;
    tail = tail === CAP ? 0 : tail + 1;
    size++;
    homes[id] = h;
    keys[id] = lp * 65536 + rp;
    present.add(keys[id]);
    let s = h;
    while (index[s] >= 0) s = (s + 1) & MASK;
    index[s] = id;
  }
  let past15 = 0, past31 = 0;
  for (let s = 0; s < SLOTS; s++) {
    const v = index[s];
    if (v < 0) continue;
    const dist = (s - homes[v]) & MASK;
    if (dist >= 15) past15++;
    if (dist >= 31) past31++;
  }
  const measured = Math.max(1, connections - CAP);
  return {
    past15: past15 / size,
    past31: past31 / size,
    connectMisses: connectMisses / measured,
    evictMisses: evictMisses / measured,
  };
}

if (import.meta.main) {
  const connections = Number(Deno.args[0] ?? 3_000_000);
  if (!(Number.isInteger(connections) && connections > CAP)) {
    console.error(`Invalid connections "${Deno.args[0]}" (a whole number above ${CAP})`);
    Deno.exit(2);
  }
  console.log("ports per block  dist >= 15  dist >= 31  line misses per connect / per eviction");
  for (const bits of [0, 1, 2, 3, 4]) {
    const r = simulate(bits, connections);
    console.log(
      `${String(1 << bits).padStart(15)}  ${(r.past15 * 100).toFixed(1).padStart(9)} %` +
        `  ${(r.past31 * 100).toFixed(1).padStart(9)} %` +
        `  ${r.connectMisses.toFixed(2)} / ${r.evictMisses.toFixed(2)}`,
    );
  }
}
