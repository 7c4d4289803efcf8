import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import {
  timeWaitHome,
  type TimeWaitInit,
  TimeWaitLog,
  TimeWaitTable,
} from "../../src/endpoint/time_wait.ts";
import { prng as rng } from "../_helpers/prng.ts";

const MSL2 = 60_000;

function init(over: Partial<TimeWaitInit> = {}): TimeWaitInit {
  return {
    connId: 1,
    addrId: 7,
    localPort: 80,
    remotePort: 40_000,
    sndNxt: 1001,
    rcvNxt: 3001,
    window: 0xfffe,
    windowShift: 7,
    timestamps: true,
    tsRecent: 0xdeadbeef,
    tsRecentAge: 12_345,
    ...over,
  };
}

function expireAll(tw: TimeWaitTable, now: number): number[] {
  const out: number[] = [];
  tw.expire(now, (i) => out.push(tw.connId(i)));
  return out;
}

/** Connection ids oldest first. */
function order(tw: TimeWaitTable): number[] {
  const out: number[] = [];
  tw.forEach((i) => out.push(tw.connId(i)));
  return out;
}

// ---- the table -------------------------------------------------------------------

Deno.test("time-wait: insert stores every field and lookup finds it", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  const top = 2 ** 27 - 1; // the largest address id a record holds
  const i = tw.insert(init({ sndNxt: -1, rcvNxt: 2 ** 32 + 5, addrId: top }), 1000);
  equal(tw.lookup(top, 80, 40_000), i);
  equal(tw.lookup(top, 80, 40_001), -1);
  equal(tw.lookup(top, 81, 40_000), -1);
  equal(tw.lookup(6, 80, 40_000), -1);
  equal(tw.lookup(top + 1, 80, 40_000), -1); // the flag bits above the id are not the id
  equal(tw.addrId(i), top);
  equal(tw.localPort(i), 80);
  equal(tw.remotePort(i), 40_000);
  equal(tw.connId(i), 1);
  equal(tw.sndNxt(i), 0xffffffff); // sequence numbers are stored modulo 2^32
  equal(tw.rcvNxt(i), 5);
  equal(tw.window(i), 0xfffe);
  equal(tw.windowShift(i), 7);
  ok(tw.hasTimestamps(i));
  equal(tw.tsRecent(i), 0xdeadbeef);
  equal(tw.tsRecentAge(i), 1000, "the record's insert time stands in for TS.Recent's age");
  equal(tw.deadline(i), 61_000);
  equal(tw.nextDeadline(), 61_000);
  equal(tw.size, 1);
  ok(tw.has(i));

  const j = tw.insert(init({ remotePort: 1, timestamps: false, connId: 2, windowShift: 14 }), 1000);
  ok(!tw.hasTimestamps(j));
  equal(tw.tsRecent(j), 0);
  equal(tw.tsRecentAge(j), 0);
  equal(tw.windowShift(j), 14);
  equal(tw.addrId(j), 7);
  tw.setTsRecent(j, 99, 5000);
  ok(tw.hasTimestamps(j));
  equal(tw.tsRecent(j), 99);
  equal(tw.tsRecentAge(j), 1000);
  tw.setSndNxt(j, 5);
  tw.setRcvNxt(j, 6);
  equal(tw.sndNxt(j), 5);
  equal(tw.rcvNxt(j), 6);
  equal(tw.windowShift(j), 14);
  ok(!tw.has(-1) && !tw.has(1.5) && !tw.has(1e9));
  tw.audit();
});

Deno.test("time-wait: an address id past 27 bits is not stored (skipped)", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  equal(tw.insert(init({ addrId: 2 ** 27 }), 0), -1);
  equal(tw.insert(init({ addrId: 0xffffffff }), 0), -1);
  equal(tw.stats.skipped, 2);
  equal(tw.size, 0);
  tw.audit();
});

Deno.test("time-wait: records expire in arrival order after exactly 2·MSL", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  for (let c = 1; c <= 5; c++) tw.insert(init({ connId: c, remotePort: c }), c * 10);
  deepStrictEqual(expireAll(tw, MSL2 + 9), []);
  equal(tw.expire(MSL2 + 9, () => {}), 0);
  deepStrictEqual(expireAll(tw, MSL2 + 20), [1, 2]);
  equal(tw.lookup(7, 80, 1), -1);
  equal(tw.nextDeadline(), MSL2 + 30);
  deepStrictEqual(expireAll(tw, 1e9), [3, 4, 5]);
  equal(tw.size, 0);
  equal(tw.nextDeadline(), Infinity);
  equal(tw.stats.expired, 5);
  tw.audit();
});

Deno.test("time-wait: a fractional clock rounds up, so nothing expires early", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  const i = tw.insert(init(), 10.25);
  equal(tw.deadline(i), MSL2 + 11);
  deepStrictEqual(expireAll(tw, MSL2 + 10.99), []);
  deepStrictEqual(expireAll(tw, MSL2 + 11), [1]);
});

Deno.test("time-wait: restart moves a record to the tail with a fresh 2·MSL", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  const a = tw.insert(init({ connId: 1, remotePort: 1 }), 0);
  const b = tw.insert(init({ connId: 2, remotePort: 2 }), 100);
  tw.insert(init({ connId: 3, remotePort: 3 }), 200);
  const a2 = tw.restart(a, 30_000); // a retransmitted FIN re-ACKed
  ok(a2 !== a, "the record moved to a new slot");
  ok(!tw.has(a) && tw.has(a2));
  equal(tw.lookup(7, 80, 1), a2);
  equal(tw.deadline(a2), 90_000);
  equal(tw.stats.restarted, 1);
  equal(tw.oldest(), b);
  equal(tw.nextDeadline(), MSL2 + 100);
  deepStrictEqual(order(tw), [2, 3, 1]);
  equal(tw.memory().dead, 0, "the old head slot is reclaimed at once");
  // From the middle: the old slot stays dead until the head passes it.
  const c2 = tw.restart(tw.lookup(7, 80, 3), 30_000);
  equal(tw.memory().dead, 1);
  equal(tw.deadline(c2), 90_000);
  deepStrictEqual(order(tw), [2, 1, 3]);
  deepStrictEqual(expireAll(tw, 89_999), [2]);
  equal(tw.nextDeadline(), 90_000);
  equal(tw.memory().dead, 0);
  deepStrictEqual(expireAll(tw, 90_000), [1, 3], "exactly 2·MSL after the restart");
  throws(() => tw.restart(a2, 0), /not live/);
  deepStrictEqual(tw.audit(), { live: 0, dead: 0, free: 1024, indexed: 0, linked: 0 });
});

Deno.test("time-wait: restarting the newest record retimes it in place", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  tw.insert(init({ connId: 1, remotePort: 1 }), 0);
  const b = tw.insert(init({ connId: 2, remotePort: 2 }), 10);
  equal(tw.restart(b, 500), b);
  equal(tw.deadline(b), MSL2 + 500);
  equal(tw.restart(b, 400), b, "a clock that went back never shortens the wait");
  equal(tw.deadline(b), MSL2 + 500);
  equal(tw.memory().dead, 0);
  // The only record is both head and tail: the cached head deadline follows it.
  deepStrictEqual(expireAll(tw, MSL2), [1]);
  equal(tw.restart(b, 1000), b);
  equal(tw.nextDeadline(), MSL2 + 1000);
  deepStrictEqual(expireAll(tw, MSL2 + 999), []);
  deepStrictEqual(expireAll(tw, MSL2 + 1000), [2]);
  tw.audit();
});

Deno.test("time-wait: the old index reads the record and setters follow it until the next change", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  const a = tw.insert(init({ connId: 1, remotePort: 1, tsRecent: 5 }), 0);
  tw.insert(init({ connId: 2, remotePort: 2 }), 0);
  // The endpoint's sequence for a retransmitted FIN: restart, new TS.Recent, ACK.
  const a2 = tw.restart(a, 1000);
  tw.setTsRecent(a, 77, 1000);
  tw.setSndNxt(a, 1234);
  equal(tw.window(a), 0xfffe);
  equal(tw.connId(a), 1);
  equal(tw.tsRecent(a), 77);
  equal(tw.deadline(a), MSL2 + 1000);
  equal(tw.tsRecentAge(a), 1000);
  equal(tw.tsRecent(a2), 77);
  equal(tw.sndNxt(a2), 1234);
  equal(tw.rcvNxt(a2), 3001);
  tw.audit();
  // A removed record's slot follows nothing.
  tw.remove(a2);
  ok(Number.isNaN(tw.deadline(a2)));
  ok(Number.isNaN(tw.deadline(a)));
  tw.setSndNxt(a, 1); // harmless
  equal(tw.size, 1);
  tw.audit();
});

Deno.test("time-wait: the head is restarted in place when the log is full", () => {
  const tw = new TimeWaitTable({ duration: MSL2, capacity: 4, initialSize: 4 });
  const idx = [1, 2, 3, 4].map((c) => tw.insert(init({ connId: c, remotePort: c }), c));
  equal(tw.memory().allocated, 4);
  equal(tw.restart(idx[0], 100), idx[0], "the freed head slot is the new tail");
  equal(tw.memory().allocated, 4);
  deepStrictEqual(order(tw), [2, 3, 4, 1]);
  equal(tw.oldest(), idx[1]);
  deepStrictEqual(expireAll(tw, MSL2 + 4), [2, 3, 4]);
  deepStrictEqual(expireAll(tw, MSL2 + 100), [1]);
  tw.audit();
});

Deno.test("time-wait: remove marks the slot dead; dead slots are skipped", () => {
  const tw = new TimeWaitTable({ duration: MSL2, initialSize: 8 });
  const idx = [1, 2, 3, 4, 5].map((c) => tw.insert(init({ remotePort: c, connId: c }), c));
  tw.remove(idx[1]);
  tw.remove(idx[2]);
  equal(tw.lookup(7, 80, 2), -1);
  equal(tw.lookup(7, 80, 4), idx[3]);
  equal(tw.size, 3);
  equal(tw.memory().dead, 2);
  equal(tw.stats.removed, 2);
  throws(() => tw.remove(idx[1]), /not live/);
  throws(() => tw.restart(idx[2], 0), /not live/);
  // Removing the head skips the dead slots behind it: the idle tick stays exact.
  tw.remove(idx[0]);
  equal(tw.oldest(), idx[3]);
  equal(tw.memory().dead, 0);
  equal(tw.nextDeadline(), MSL2 + 4);
  // The 4-tuple can enter TIME-WAIT again (SYN reopen); it goes to the tail.
  tw.insert(init({ remotePort: 2, connId: 9 }), 10);
  deepStrictEqual(order(tw), [4, 5, 9]);
  deepStrictEqual(expireAll(tw, 1e9), [4, 5, 9]);
  tw.audit();
});

Deno.test("time-wait: expiry skips dead slots between due records", () => {
  const tw = new TimeWaitTable({ duration: 100, initialSize: 16 });
  const idx: number[] = [];
  for (let c = 0; c < 10; c++) idx.push(tw.insert(init({ connId: c, remotePort: c }), c));
  for (const c of [1, 2, 5, 8, 9]) tw.remove(idx[c]);
  const seen: number[] = [];
  equal(tw.expire(105, (i) => seen.push(tw.connId(i))), 3);
  deepStrictEqual(seen, [0, 3, 4]);
  equal(tw.oldest(), idx[6]);
  equal(tw.nextDeadline(), 106);
  deepStrictEqual(expireAll(tw, 1e9), [6, 7]);
  equal(tw.size, 0);
  deepStrictEqual(tw.audit(), { live: 0, dead: 0, free: 16, indexed: 0, linked: 0 });
});

Deno.test("time-wait: a duplicate 4-tuple is a bug and leaves the table intact", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  tw.insert(init(), 0);
  throws(() => tw.insert(init({ connId: 2 }), 5), /already present/);
  equal(tw.size, 1);
  deepStrictEqual(tw.audit(), { live: 1, dead: 0, free: 1023, indexed: 1, linked: 1 });
});

Deno.test("time-wait: full table recycles the oldest and reports it", () => {
  const evicted: Array<[number, number]> = [];
  const tw: TimeWaitTable = new TimeWaitTable({
    duration: MSL2,
    capacity: 3,
    onEvict: (i) => evicted.push([tw.connId(i), tw.remotePort(i)]),
  });
  for (let c = 1; c <= 5; c++) ok(tw.insert(init({ connId: c, remotePort: 100 + c }), c) >= 0);
  equal(tw.size, 3);
  deepStrictEqual(evicted, [[1, 101], [2, 102]]);
  equal(tw.stats.recycled, 2);
  equal(tw.stats.inserted, 5);
  equal(tw.stats.peak, 3);
  equal(tw.lookup(7, 80, 101), -1);
  deepStrictEqual(expireAll(tw, 1e9), [3, 4, 5]);
  tw.audit();
});

Deno.test("time-wait: a large table recycling, restarting and expiring keeps every lookup exact", () => {
  // Cap 140k: an index of 2^19 slots, past the size from which departures pull the
  // index lines of the next ones into cache; 300k inserts wrap the log twice.
  const cap = 140_000;
  const evicted: number[] = [];
  const tw: TimeWaitTable = new TimeWaitTable({
    duration: MSL2,
    capacity: cap,
    initialSize: cap,
    hashSeed: 0x5eed,
    onEvict: (i) => evicted.push(tw.connId(i)),
  });
  equal(tw.memory().indexSlots, 1 << 19);
  const rec = init();
  const key = (c: number) => [c >>> 14, 1000 + (c & 15), c & 0x3fff] as const;
  const live = new Set<number>();
  const random = rng(7);
  for (let c = 0; c < 300_000; c++) {
    const [addr, lp, rp] = key(c);
    rec.connId = c;
    rec.addrId = addr;
    rec.localPort = lp;
    rec.remotePort = rp;
    tw.insert(rec, c / 10);
    live.add(c);
    for (const e of evicted.splice(0)) ok(live.delete(e));
    if (c % 97 === 0) {
      // A retransmitted FIN of a random live record, or its removal.
      const d = c - Math.floor(random() * Math.min(c + 1, cap));
      if (live.has(d)) {
        const i = tw.lookup(...key(d));
        if (d & 1) tw.restart(i, c / 10);
        else {
          tw.remove(i);
          live.delete(d);
        }
      }
    }
  }
  equal(tw.size, live.size);
  equal(tw.stats.recycled + tw.stats.removed + tw.size, 300_000);
  for (let c = 0; c < 300_000; c++) {
    const i = tw.lookup(...key(c));
    if (live.has(c)) equal(tw.connId(i), c);
    else equal(i, -1);
  }
  tw.audit();
  // Expire part, then the rest: oldest first (restarted records moved to the tail), each
  // once.
  const oldestFirst = order(tw);
  const expired: number[] = [];
  tw.expire(25_000 + MSL2, (i) => expired.push(tw.connId(i)));
  ok(expired.length > 0 && expired.length < live.size);
  tw.audit();
  tw.expire(1e9, (i) => expired.push(tw.connId(i)));
  deepStrictEqual(new Set(expired), live);
  deepStrictEqual(expired, oldestFirst);
  equal(tw.size, 0);
  tw.audit();
});

Deno.test("time-wait: full table with overflow skip refuses new records", () => {
  const tw = new TimeWaitTable({ duration: MSL2, capacity: 2, overflow: "skip" });
  equal(tw.insert(init({ remotePort: 1 }), 0) >= 0, true);
  equal(tw.insert(init({ remotePort: 2 }), 0) >= 0, true);
  equal(tw.insert(init({ remotePort: 3 }), 0), -1);
  equal(tw.insert(init({ remotePort: 4 }), 0), -1);
  equal(tw.stats.skipped, 2);
  equal(tw.size, 2);
  equal(tw.lookup(7, 80, 3), -1);
  tw.expire(MSL2, () => {});
  ok(tw.insert(init({ remotePort: 3 }), MSL2) >= 0);
  tw.audit();
});

Deno.test("time-wait: a table full at its cap restarts any record (skip: one spare slot)", () => {
  const cap = 8;
  const tw = new TimeWaitTable({
    duration: MSL2,
    capacity: cap,
    initialSize: cap,
    overflow: "skip",
  });
  for (let c = 0; c < cap; c++) tw.insert(init({ connId: c, remotePort: c }), c);
  equal(tw.memory().allocated, cap);
  const r = rng(3);
  const want = [0, 1, 2, 3, 4, 5, 6, 7];
  for (let k = 0; k < 200; k++) {
    const c = want[Math.floor(r() * cap)];
    const i = tw.restart(tw.lookup(7, 80, c), 100 + k);
    equal(tw.connId(i), c);
    want.splice(want.indexOf(c), 1);
    want.push(c);
    deepStrictEqual(order(tw), want, `step ${k}`);
    tw.audit();
  }
  // One spare slot (cap + cap/256, at least 1) is all a full table ever needs.
  equal(tw.memory().allocated, cap + 1);
  equal(tw.size, cap);
  equal(tw.stats.recycled + tw.stats.skipped, 0);
  deepStrictEqual(expireAll(tw, 1e9), want);
});

Deno.test("time-wait: a restart in a table full at its cap recycles the oldest (recycle-oldest)", () => {
  const evicted: number[] = [];
  const tw: TimeWaitTable = new TimeWaitTable({
    duration: MSL2,
    capacity: 4,
    initialSize: 4,
    onEvict: (i) => evicted.push(tw.connId(i)),
  });
  for (let c = 0; c < 4; c++) tw.insert(init({ connId: c, remotePort: c }), c);
  // The head restarts in place, and so does the newest record: nothing recycled.
  tw.restart(tw.lookup(7, 80, 0), 10);
  tw.restart(tw.lookup(7, 80, 0), 11);
  deepStrictEqual(evicted, []);
  // A record in the middle needs a slot: the table is full, so the oldest goes.
  const i = tw.restart(tw.lookup(7, 80, 2), 20);
  deepStrictEqual(evicted, [1]);
  equal(tw.stats.recycled, 1);
  equal(tw.connId(i), 2);
  deepStrictEqual(order(tw), [3, 0, 2]);
  equal(tw.memory().allocated, 4, "no growth at the cap");
  tw.audit();
});

Deno.test("time-wait: a log full of dead slots is compacted, keeping order and indices", () => {
  // 16 slots: 4 live records and 12 dead ones (restarted or removed) fill the log.
  const tw = new TimeWaitTable({ duration: MSL2, capacity: 1000, initialSize: 16 });
  const idx: number[] = [];
  for (let c = 0; c < 16; c++) idx.push(tw.insert(init({ connId: c, remotePort: c }), c));
  for (let c = 4; c < 16; c++) if (c % 3 !== 0) tw.remove(idx[c]);
  equal(tw.size, 8);
  equal(tw.memory().dead, 8);
  // Make the log wrap: expire the first four (the head skips dead 4 and 5), then fill
  // the log with new records.
  deepStrictEqual(expireAll(tw, MSL2 + 3), [0, 1, 2, 3]);
  equal(tw.memory().dead, 6);
  for (let c = 16; c < 22; c++) tw.insert(init({ connId: c, remotePort: c }), c);
  equal(tw.memory().allocated, 16);
  const live = order(tw);
  deepStrictEqual(live, [6, 9, 12, 15, 16, 17, 18, 19, 20, 21]);
  // The log is full (16 slots: 10 live, 6 dead): the next insert compacts instead of growing.
  tw.insert(init({ connId: 22, remotePort: 22 }), 22);
  let m = tw.memory();
  equal(m.allocated, 16);
  equal(m.dead, 0);
  deepStrictEqual(order(tw), [...live, 22]);
  for (const c of [...live, 22]) equal(tw.connId(tw.lookup(7, 80, c)), c);
  tw.audit();
  // Fill with live records and restart one in the middle of a full log without enough
  // dead slots: the log grows and the restarted slot keeps its copy for the old index.
  for (let c = 23; c < 28; c++) tw.insert(init({ connId: c, remotePort: c }), c);
  equal(tw.memory().allocated, 16);
  equal(tw.memory().dead, 0);
  const mid = tw.lookup(7, 80, 17);
  const moved = tw.restart(mid, 100);
  m = tw.memory();
  equal(m.allocated, 32);
  equal(tw.connId(mid), 17);
  equal(tw.deadline(mid), MSL2 + 100);
  equal(tw.connId(moved), 17);
  const want = [6, 9, 12, 15, 16, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 17];
  deepStrictEqual(order(tw), want);
  tw.audit();
  deepStrictEqual(expireAll(tw, 1e9), want);
  tw.audit();
});

Deno.test("time-wait: compaction around a restarted record keeps it in place", () => {
  // A log of 9 slots (cap 8 + 1 spare), full, with dead slots on both sides of the
  // record to restart: it is compacted around that record, whose old slot stays
  // readable through the old index.
  const tw = new TimeWaitTable({ duration: MSL2, capacity: 8, initialSize: 9 });
  for (let c = 0; c < 8; c++) tw.insert(init({ connId: c, remotePort: c }), c);
  tw.restart(tw.lookup(7, 80, 2), 10); // dead slot 2, the spare slot 8 used: full
  tw.remove(tw.lookup(7, 80, 7)); // dead slot 7
  equal(tw.memory().dead, 2);
  const six = tw.lookup(7, 80, 6);
  equal(six, 6);
  const moved = tw.restart(six, 20);
  const m = tw.memory();
  equal(m.allocated, 9, "compacted, not grown: the log is at its largest");
  equal(m.dead, 1, "only the restarted record's old slot");
  equal(tw.connId(six), 6);
  equal(tw.remotePort(six), 6);
  equal(tw.deadline(six), MSL2 + 20);
  equal(tw.lookup(7, 80, 6), moved);
  equal(tw.deadline(moved), MSL2 + 20);
  deepStrictEqual(order(tw), [0, 1, 3, 4, 5, 2, 6]);
  for (let c = 0; c < 7; c++) equal(tw.connId(tw.lookup(7, 80, c)), c);
  tw.audit();
  deepStrictEqual(expireAll(tw, 1e9), [0, 1, 3, 4, 5, 2, 6]);
});

Deno.test("time-wait: storage grows lazily up to the cap and its spare slot", () => {
  const tw = new TimeWaitTable({ duration: MSL2, capacity: 1000, initialSize: 8 });
  equal(tw.memory().allocated, 8);
  for (let p = 0; p < 100; p++) tw.insert(init({ remotePort: p }), 0);
  equal(tw.memory().allocated, 128);
  for (let p = 100; p < 1000; p++) tw.insert(init({ remotePort: p }), 0);
  const m = tw.memory();
  equal(m.allocated, 1003); // cap + cap/256 (restart room), not the next power of two
  equal(m.indexSlots, 2048); // load <= 0.5
  for (let p = 0; p < 1000; p++) ok(tw.lookup(7, 80, p) >= 0);
  equal(m.recordBytes, 1003 * 26);
  equal(m.fifoBytes, 1003 * 4);
  equal(m.totalBytes, 1003 * 30 + 2048 * 4);
  equal(tw.bytesPerEntry(), m.totalBytes / 1000);
  tw.audit();
  // A default table does not allocate the 1M cap up front.
  ok(new TimeWaitTable({ duration: MSL2 }).memory().totalBytes < 64 * 1024);
});

/** A reference TIME-WAIT table: records in log order, as plain objects. */
class Model {
  recs: Array<{ key: string; conn: number; at: number }> = [];
  find(key: string) {
    return this.recs.findIndex((r) => r.key === key);
  }
  insert(key: string, conn: number, at: number) {
    this.recs.push({ key, conn, at });
  }
  restart(key: string, at: number) {
    const [r] = this.recs.splice(this.find(key), 1);
    r.at = at;
    this.recs.push(r);
  }
  remove(key: string) {
    this.recs.splice(this.find(key), 1);
  }
  expire(now: number, duration: number): number[] {
    const out: number[] = [];
    while (this.recs.length > 0 && this.recs[0].at + duration <= now) {
      out.push(this.recs.shift()!.conn);
    }
    return out;
  }
}

Deno.test("time-wait: churn of inserts, restarts, removes and expiries matches a reference", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const r = rng(seed);
    // Small caps and initial sizes: growth, compaction and recycling all happen.
    const cap = seed <= 10 ? 600 : 40;
    const duration = 1000;
    const evicted: number[] = [];
    const tw: TimeWaitTable = new TimeWaitTable({
      duration,
      initialSize: 2,
      capacity: cap,
      onEvict: (i) => evicted.push(tw.connId(i)),
    });
    const model = new Model();
    let now = 0;
    let conn = 0;
    const scratch = init();
    for (let step = 0; step < 6000; step++) {
      // A small key space: heavy clustering, many deletes inside clusters.
      const addr = Math.floor(r() * 8);
      const lp = r() < 0.5 ? 80 : 443;
      const rp = Math.floor(r() * 128);
      const key = `${addr}:${lp}:${rp}`;
      const x = r();
      const found = tw.lookup(addr, lp, rp);
      const at = model.find(key);
      equal(found >= 0, at >= 0, `seed ${seed} step ${step}: lookup ${key}`);
      if (found >= 0) equal(tw.connId(found), model.recs[at].conn);
      if (x < 0.4) {
        if (found >= 0) continue;
        scratch.addrId = addr;
        scratch.localPort = lp;
        scratch.remotePort = rp;
        scratch.connId = ++conn;
        const before = evicted.length;
        const i = tw.insert(scratch, now);
        for (const c of evicted.slice(before)) {
          equal(model.recs[0].conn, c, `seed ${seed}: recycled the oldest`);
          model.recs.shift();
        }
        model.insert(key, conn, now);
        equal(tw.lookup(addr, lp, rp), i);
      } else if (x < 0.55) {
        if (found < 0) continue;
        tw.remove(found);
        model.remove(key);
      } else if (x < 0.8) {
        if (found < 0) continue;
        const before = evicted.length;
        const i = tw.restart(found, now);
        for (const c of evicted.slice(before)) {
          equal(model.recs[0].conn, c, `seed ${seed}: a restart recycled the oldest`);
          model.recs.shift();
        }
        model.restart(key, now);
        equal(tw.lookup(addr, lp, rp), i);
        equal(tw.deadline(i), now + duration);
      } else {
        now += Math.floor(r() * 50);
        const got: number[] = [];
        tw.expire(now, (i) => {
          ok(tw.deadline(i) <= now, "expired early");
          got.push(tw.connId(i));
        });
        deepStrictEqual(got, model.expire(now, duration), `seed ${seed} step ${step}: expiry`);
      }
      equal(tw.size, model.recs.length);
      if (step % 500 === 0) {
        tw.audit();
        deepStrictEqual(order(tw), model.recs.map((m) => m.conn), `seed ${seed}: log order`);
      }
    }
    deepStrictEqual(order(tw), model.recs.map((m) => m.conn));
    ok(tw.memory().allocated <= cap + Math.max(1, cap >>> 8));
    tw.audit();
  }
});

Deno.test("time-wait: times past 2^32 ms and a wall-clock epoch stay exact", () => {
  // A busy table is never empty, so its epoch must move while records live.
  const tw = new TimeWaitTable({ duration: MSL2, initialSize: 4096 });
  let now = 1.7e12; // Date.now()-like clock
  let conn = 0;
  let expired = 0;
  let step = 0;
  const end = now + 2 ** 33;
  while (now < end) {
    tw.insert(init({ connId: ++conn, remotePort: conn & 0xffff, addrId: conn >>> 16 }), now);
    const i = tw.lookup(conn >>> 16, 80, conn & 0xffff);
    equal(tw.deadline(i), Math.ceil(now) + MSL2);
    tw.expire(now, (j) => {
      expired++;
      ok(tw.deadline(j) <= now);
    });
    now += 1000 + (step++ % 7) * 977_777.5; // ~0.5 h average steps: 2^33 ms in ~17 000
  }
  equal(expired + tw.size, conn);
  tw.audit();
});

Deno.test("time-wait: a record left 50 days past due still expires, after the epoch moves", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  tw.insert(init({ connId: 1, remotePort: 1 }), 0);
  const later = 50 * 86_400_000; // > 2^32 ms without a single expire()
  const i = tw.insert(init({ connId: 2, remotePort: 2 }), later);
  equal(tw.deadline(i), later + MSL2);
  ok(tw.nextDeadline() <= later, "the overdue record is still due");
  deepStrictEqual(expireAll(tw, later), [1]);
  deepStrictEqual(expireAll(tw, later + MSL2), [2]);
  // A 2·MSL close to the limit (2^31 ms) works the same way.
  const long = new TimeWaitTable({ duration: 2 ** 31 - 1 });
  long.insert(init({ connId: 1, remotePort: 1 }), 0);
  const j = long.insert(init({ connId: 2, remotePort: 2 }), 3e9);
  const k = long.insert(init({ connId: 3, remotePort: 3 }), 4.2e9);
  equal(long.deadline(j), 3e9 + 2 ** 31 - 1);
  equal(long.deadline(k), 4.2e9 + 2 ** 31 - 1);
  deepStrictEqual(expireAll(long, 4.2e9), [1]);
  deepStrictEqual(expireAll(long, 3e9 + 2 ** 31 - 1), [2]);
  long.audit();
});

Deno.test("time-wait: callbacks cannot change the table; a throwing one leaves it whole", () => {
  const tw: TimeWaitTable = new TimeWaitTable({
    duration: MSL2,
    capacity: 1,
    onEvict: () => tw.insert(init({ remotePort: 9 }), 0),
  });
  tw.insert(init({ remotePort: 1 }), 0);
  throws(() => tw.insert(init({ remotePort: 2 }), 0), /own callback/);
  tw.audit();
  const t2 = new TimeWaitTable({ duration: MSL2 });
  for (let c = 1; c <= 3; c++) t2.insert(init({ connId: c, remotePort: c }), 0);
  throws(() => t2.expire(MSL2, (i) => t2.remove(i)), /own callback/);
  throws(() => t2.forEach(() => t2.clear()), /own callback/);
  let calls = 0;
  throws(() =>
    t2.expire(MSL2, () => {
      if (++calls === 2) throw new Error("boom");
    }), /boom/);
  equal(t2.size, 2, "the record whose callback threw is still there");
  equal(t2.stats.expired, 1);
  t2.audit();
  deepStrictEqual(expireAll(t2, MSL2), [2, 3]);
});

Deno.test("time-wait: 1e6 inserts and expiries leak nothing", () => {
  const N = 1_000_000;
  const tw = new TimeWaitTable({ duration: MSL2, initialSize: 1024 });
  const rec = init();
  let now = 0;
  let expired = 0;
  const onExpire = () => expired++;
  for (let n = 0; n < N; n++) {
    now = n * 0.25; // 4 connections per ms: about 240k live at the peak
    rec.addrId = n >>> 16;
    rec.remotePort = n & 0xffff;
    rec.connId = n;
    tw.insert(rec, now);
    if ((n & 1023) === 0) tw.expire(now, onExpire);
  }
  ok(tw.stats.peak >= 200_000);
  // Deadlines are whole ms rounded up: the last one is ceil(now) + 2·MSL.
  tw.expire(now + MSL2 + 1, onExpire);
  equal(expired, N);
  equal(tw.size, 0);
  equal(tw.nextDeadline(), Infinity);
  const allocated = tw.memory().allocated;
  equal(allocated, 262_144); // doubled to the peak, no further
  deepStrictEqual(tw.audit(), { live: 0, dead: 0, free: allocated, indexed: 0, linked: 0 });
  equal(tw.stats.inserted, N);
  equal(tw.stats.expired, N);
  // Everything is reusable: a new full wave fits without growing further.
  for (let n = 0; n < allocated; n++) {
    rec.addrId = 999;
    rec.remotePort = n & 0xffff;
    rec.localPort = n >>> 16;
    tw.insert(rec, now);
  }
  equal(tw.memory().allocated, allocated);
  tw.audit();
});

Deno.test("time-wait: at most 40 bytes per entry at 1e6, also after restart and remove churn", () => {
  const N = 1_000_000;
  const tw = new TimeWaitTable({ duration: MSL2 }); // default cap 1 048 576
  const rec = init();
  for (let n = 0; n < N; n++) {
    rec.addrId = n >>> 12;
    rec.remotePort = 1024 + (n & 4095);
    rec.connId = n;
    tw.insert(rec, n * 0.06);
  }
  const m = tw.memory();
  equal(m.allocated, 1 << 20);
  equal(m.indexSlots, 1 << 21);
  equal(m.totalBytes, (1 << 20) * 30 + (1 << 21) * 4);
  const bpe = tw.bytesPerEntry();
  equal(bpe, m.totalBytes / N);
  ok(bpe <= 40, `${bpe} B/entry`);
  // Retransmitted FINs and reopens leave dead slots: the log grows to its largest
  // (2^20 + 4096 slots) and compacts, and stays within budget.
  const r = rng(9);
  const now = N * 0.06;
  for (let k = 0; k < 100_000; k++) {
    const n = Math.floor(r() * N);
    const i = tw.lookup(n >>> 12, 80, 1024 + (n & 4095));
    if (k % 4 === 0) {
      tw.remove(i);
      rec.addrId = n >>> 12;
      rec.remotePort = 1024 + (n & 4095);
      rec.connId = n;
      tw.insert(rec, now);
    } else tw.restart(i, now);
  }
  equal(tw.size, N);
  equal(tw.memory().allocated, (1 << 20) + 4096);
  ok(tw.bytesPerEntry() <= 40, `${tw.bytesPerEntry()} B/entry after churn`);
  equal(tw.audit().live, N);
});

Deno.test("time-wait: bytes per entry at a full 2^16 table", () => {
  const N = 1 << 16;
  const tw = new TimeWaitTable({ duration: MSL2, capacity: N });
  const rec = init();
  for (let n = 0; n < N; n++) {
    rec.remotePort = n;
    tw.insert(rec, 0);
  }
  // 30 B of record and log plus 2 index slots of 4 B.
  equal(tw.bytesPerEntry(), 38);
});

/**
 * 400 keys whose home is one of 8 index slots, in a table of 2048 index slots: probe
 * distances reach past 255. `capacity` sets how the index entry's bits divide: at 1024
 * the probe distance has 13 bits; at the largest cap it has 5, so most entries of the
 * cluster store "31 or more" and every probe and shift reads their records.
 */
function hugeCluster(capacity: number): void {
  const seed = 0x1234567;
  const keys: number[] = [];
  for (let p = 0; keys.length < 400 && p < 0x10000 * 16; p++) {
    const lp = p >>> 16;
    const rp = p & 0xffff;
    const home = timeWaitHome(3, lp, rp, 2048, seed);
    if (home >= 2040) keys.push(p); // the cluster wraps around the end of the index
  }
  equal(keys.length, 400);
  const tw = new TimeWaitTable({
    duration: MSL2,
    capacity,
    initialSize: 1024,
    hashSeed: seed,
  });
  equal(tw.memory().indexSlots, 2048);
  const rec = init({ addrId: 3 });
  const at = new Map<number, number>();
  for (const p of keys) {
    rec.localPort = p >>> 16;
    rec.remotePort = p & 0xffff;
    rec.connId = p;
    at.set(p, tw.insert(rec, 0));
  }
  tw.audit();
  for (const p of keys) equal(tw.lookup(3, p >>> 16, p & 0xffff), at.get(p));
  equal(tw.lookup(3, 9, 9), -1);
  // Remove from the front of the cluster: every later entry shifts back.
  const r = rng(5);
  for (let k = 0; k < 300; k++) {
    const p = keys.splice(Math.floor(r() * (k < 50 ? 1 : keys.length)), 1)[0];
    tw.remove(at.get(p)!);
    at.delete(p);
    if (k % 25 === 0) tw.audit();
  }
  for (const p of keys) equal(tw.lookup(3, p >>> 16, p & 0xffff), at.get(p));
  // Restarts inside the cluster re-point entries without moving them.
  for (const p of keys.slice(0, 50)) {
    at.set(p, tw.restart(at.get(p)!, 10));
  }
  for (const p of keys) equal(tw.lookup(3, p >>> 16, p & 0xffff), at.get(p));
  tw.audit();
}

Deno.test("time-wait: one huge cluster (probe distances past 255) stays correct", () => {
  hugeCluster(1024);
});

Deno.test("time-wait: one huge cluster stays correct when distances saturate (largest cap)", () => {
  hugeCluster(0xff0000);
});

Deno.test("time-wait: recycling at the cap inside clusters keeps every key reachable", () => {
  // A table of 64 at its cap, keys aimed at 4 home slots of 128: each insert evicts
  // the oldest, whose backward shift often runs through the new key's probe run.
  const seed = 77;
  const keys: number[] = [];
  for (let p = 0; keys.length < 3000; p++) {
    if (timeWaitHome(5, p >>> 16, p & 0xffff, 128, seed) >>> 2 === 9) keys.push(p);
  }
  const evicted: number[] = [];
  const tw = new TimeWaitTable({
    duration: MSL2,
    capacity: 64,
    initialSize: 64,
    hashSeed: seed,
    onEvict: (i) => evicted.push(tw.connId(i)),
  });
  equal(tw.memory().indexSlots, 128);
  const rec = init({ addrId: 5 });
  const r = rng(3);
  const live: number[] = [];
  for (let k = 0; k < keys.length; k++) {
    // Mostly new keys; now and then one that was evicted long ago comes back.
    const p = k > 200 && r() < 0.2 ? keys[Math.floor(r() * (k - 100))] : keys[k];
    if (live.includes(p)) continue;
    rec.localPort = p >>> 16;
    rec.remotePort = p & 0xffff;
    rec.connId = p;
    tw.insert(rec, k);
    live.push(p);
    if (live.length > 64) equal(evicted.at(-1), live.shift());
    for (const q of live) equal(tw.connId(tw.lookup(5, q >>> 16, q & 0xffff)), q);
    if (k % 50 === 0) tw.audit();
  }
  equal(tw.size, 64);
  equal(tw.stats.recycled, evicted.length);
  tw.audit();
});

Deno.test("time-wait: the hash seed changes which keys collide", () => {
  let same = 0;
  for (let p = 0; p < 1000; p++) {
    if (timeWaitHome(1, 80, p, 1 << 16, 1) === timeWaitHome(1, 80, p, 1 << 16, 2)) same++;
  }
  ok(same < 10);
  const tw = new TimeWaitTable({ duration: MSL2, hashSeed: 0xdeadbeef });
  const i = tw.insert(init(), 0);
  equal(tw.lookup(7, 80, 40_000), i);
});

Deno.test("time-wait: findConn and forEach walk the records oldest first", () => {
  const tw = new TimeWaitTable({ duration: MSL2 });
  for (let c = 1; c <= 4; c++) tw.insert(init({ connId: 100 + c, remotePort: c }), c);
  deepStrictEqual(order(tw), [101, 102, 103, 104]);
  equal(tw.findConn(103), tw.lookup(7, 80, 3));
  equal(tw.findConn(999), -1);
  tw.restart(tw.findConn(102), 10);
  deepStrictEqual(order(tw), [101, 103, 104, 102]);
  equal(tw.findConn(102), tw.lookup(7, 80, 2));
  tw.remove(tw.findConn(103));
  equal(tw.findConn(103), -1);
  deepStrictEqual(order(tw), [101, 104, 102]);
});

Deno.test("time-wait: clear empties everything and the table is reusable", () => {
  const tw = new TimeWaitTable({ duration: MSL2, initialSize: 4 });
  for (let p = 0; p < 100; p++) tw.insert(init({ remotePort: p }), p);
  tw.restart(tw.lookup(7, 80, 5), 200);
  tw.clear();
  equal(tw.size, 0);
  equal(tw.stats.removed, 100);
  equal(tw.lookup(7, 80, 5), -1);
  equal(tw.nextDeadline(), Infinity);
  deepStrictEqual(tw.audit(), { live: 0, dead: 0, free: 128, indexed: 0, linked: 0 });
  const i = tw.insert(init({ remotePort: 5 }), 0);
  equal(tw.lookup(7, 80, 5), i);
  tw.audit();
});

Deno.test("time-wait: invalid options are rejected", () => {
  throws(() => new TimeWaitTable({ duration: -1 }), /duration/);
  throws(() => new TimeWaitTable({ duration: 2 ** 31 }), /duration/);
  throws(() => new TimeWaitTable({ duration: 1, capacity: 0 }), /capacity/);
  throws(() => new TimeWaitTable({ duration: 1, capacity: 2 ** 24 }), /capacity/);
  ok(new TimeWaitTable({ duration: 1, capacity: 0xff0000, initialSize: 1 }));
});

// ---- the log on its own ------------------------------------------------------------

function pop(log: TimeWaitLog, now: number): number[] {
  const out: number[] = [];
  log.popExpired(now, (p) => out.push(p));
  return out;
}

function slots(log: TimeWaitLog): number[] {
  const out: number[] = [];
  for (let p = log.head(); p !== -1; p = log.next(p)) out.push(p);
  return out;
}

Deno.test("time-wait log: append, kill, pop and the idle tick", () => {
  const log = new TimeWaitLog(100, 4);
  equal(log.head(), -1);
  equal(log.nextDeadline(), Infinity);
  ok(!log.due(1e12));
  const a = log.append(0);
  const b = log.append(10);
  const c = log.append(5); // an earlier clock is raised to the tail's time
  deepStrictEqual([a, b, c], [0, 1, 2]);
  equal(log.deadline(c), 110);
  log.kill(b);
  equal(log.size, 2);
  equal(log.dead, 1);
  ok(!log.due(99.9) && log.due(100));
  deepStrictEqual(pop(log, 109), [a]);
  equal(log.dead, 0, "the dead slot behind the head was skipped");
  equal(log.head(), c);
  deepStrictEqual(pop(log, 110), [c]);
  deepStrictEqual(log.audit(), { live: 0, dead: 0, free: 4 });
  // Wraps around the end of the array.
  for (let k = 0; k < 4; k++) log.append(200 + k);
  ok(log.full);
  throws(() => log.append(300), /full/);
  deepStrictEqual(slots(log), [3, 0, 1, 2]);
  log.retime(2, 250);
  equal(log.deadline(2), 350);
  deepStrictEqual(pop(log, 1e9), [3, 0, 1, 2]);
  log.audit();
});

Deno.test("time-wait log: one pop skips dead slots among due ones; a throwing callback keeps its slot", () => {
  const log = new TimeWaitLog(100, 8);
  for (let k = 0; k < 8; k++) log.append(k);
  for (const p of [1, 2, 5]) log.kill(p);
  deepStrictEqual(pop(log, 104), [0, 3, 4], "dead 1, 2 skipped; 5 is dead and 6 not due");
  equal(log.dead, 0, "the dead slot 5 behind the last popped was reclaimed");
  equal(log.head(), 6);
  equal(log.nextDeadline(), 106);
  const seen: number[] = [];
  throws(() =>
    log.popExpired(1e9, (p) => {
      seen.push(p);
      if (p === 7) throw new Error("boom");
    }), /boom/);
  deepStrictEqual(seen, [6, 7]);
  equal(log.head(), 7, "the slot whose callback threw is still the head");
  ok(log.has(7) && !log.has(6));
  equal(log.size, 1);
  equal(log.nextDeadline(), 107);
  deepStrictEqual(pop(log, 1e9), [7]);
  deepStrictEqual(log.audit(), { live: 0, dead: 0, free: 8 });
});

/** Collects the runs a compaction or growth reports. */
function runs(): {
  list: Array<[number, number, number]>;
  cb: (s: number, d: number, l: number) => void;
} {
  const list: Array<[number, number, number]> = [];
  return { list, cb: (s, d, l) => list.push([s, d, l]) };
}

Deno.test("time-wait log: compact keeps one slot in place and moves the rest in runs", () => {
  const log = new TimeWaitLog(100, 10);
  for (let k = 0; k < 10; k++) log.append(k);
  for (const p of [1, 3, 4, 7, 9]) log.kill(p);
  const r = runs();
  const map = log.compact(5, r.cb);
  // After 5: 6 stays, 8 moves to 7; before 5: 2 moves to 4, then 0 to 3.
  deepStrictEqual(r.list, [[8, 7, 1], [2, 4, 1], [0, 3, 1]]);
  deepStrictEqual([0, 2, 5, 6, 8].map(map), [3, 4, 5, 6, 7]);
  deepStrictEqual(slots(log), [3, 4, 5, 6, 7]);
  deepStrictEqual([3, 4, 5, 6, 7].map((p) => log.deadline(p)), [100, 102, 105, 106, 108]);
  deepStrictEqual(log.audit(), { live: 5, dead: 0, free: 5 });
  // Without a slot to keep, everything moves towards the head, a run at a time.
  log.kill(4);
  const r2 = runs();
  const map2 = log.compact(-1, r2.cb);
  deepStrictEqual(r2.list, [[5, 4, 3]]);
  deepStrictEqual([3, 5, 6, 7].map(map2), [3, 4, 5, 6]);
  log.audit();
  equal(log.compact(-1, r2.cb)(6), 6, "nothing dead: nothing moves");
});

Deno.test("time-wait log: compaction runs never wrap, and overlap like copyWithin", () => {
  // A wrapped log of 8 slots with dead slots on both sides of the kept one.
  for (const keep of [-1, 0, 1, 5]) {
    const log = new TimeWaitLog(1000, 8);
    for (let k = 0; k < 6; k++) log.append(k);
    pop(log, 1000 + 2); // slots 0..2 expire: head 3
    for (let k = 6; k < 11; k++) log.append(k); // slots 6, 7, 0, 1, 2
    ok(log.full);
    log.kill(4);
    log.kill(7);
    if (keep !== 1) log.kill(1);
    const before = slots(log);
    const deadlines = before.map((p) => log.deadline(p));
    // Mirror the moves in a parallel array, as an owner would.
    const data = new Int32Array(8).map((_, i) => i * 10);
    // References to slots with tag bits above them, as the table's index holds them.
    const refs = Int32Array.from([-1, ...before.map((p) => p | (p << 24)), -1]);
    const map = log.compact(
      keep,
      (s, d, l) => {
        ok(s + l <= 8 && d + l <= 8, "a run wraps");
        data.copyWithin(d, s, s + l);
      },
      refs,
      0xffffff,
    );
    const after = slots(log);
    deepStrictEqual(before.map(map), after, `keep ${keep}`);
    deepStrictEqual([...refs], [-1, ...before.map((p, k) => after[k] | (p << 24)), -1]);
    deepStrictEqual(after.map((p) => log.deadline(p)), deadlines);
    deepStrictEqual(after.map((p) => data[p]), before.map((p) => p * 10));
    if (keep >= 0) equal(map(keep), keep);
    equal(log.dead, 0);
    log.audit();
  }
});

Deno.test("time-wait log: grow keeps the chosen slot whichever side of the wrap it is on", () => {
  for (const [keep, slotsAfter] of [[-1, 12], [1, 12], [6, 12], [-1, 10], [1, 10]] as const) {
    const log = new TimeWaitLog(100, 8);
    for (let k = 0; k < 5; k++) log.append(k);
    pop(log, 104 - 2); // slots 0..2 expire: head 3
    for (let k = 5; k < 11; k++) log.append(k); // wraps into 0..2
    ok(log.full);
    deepStrictEqual(slots(log), [3, 4, 5, 6, 7, 0, 1, 2]);
    log.kill(5);
    const r = runs();
    const map = log.grow(slotsAfter, keep, r.cb);
    if (keep >= 0) equal(map(keep), keep);
    const after = slots(log);
    deepStrictEqual(after.map((p) => log.deadline(p)), [103, 104, 106, 107, 108, 109, 110]);
    deepStrictEqual([3, 4, 6, 7, 0, 1, 2].map(map), after);
    // Every slot in use is copied exactly once, by runs that fit both arrays.
    const copied = r.list.flatMap(([s, d, l]) => {
      ok(s + l <= 8 && d + l <= slotsAfter);
      return Array.from({ length: l }, (_, k) => [s + k, d + k]);
    });
    deepStrictEqual(copied.map(([s]) => s).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
    for (const [s, d] of copied) if (s !== 5) equal(map(s), d);
    deepStrictEqual(log.audit(), { live: 7, dead: 1, free: slotsAfter - 8 });
  }
});
