/**
 * TUN group: how finwait notices packets on a TUN interface, measured against the
 * kernel's TCP in a network namespace (root only; skipped otherwise).
 *
 * Two wake-up strategies of `transports/tun.ts`, side by side in one run:
 *
 * - `poll`: `poll(2)` on the TUN descriptor as an FFI call marked `nonblocking`
 *   (it runs on a blocking-pool thread), then non-blocking reads until `EAGAIN`;
 * - `timer`: the same drain, started by a 1 ms `setInterval` instead.
 *
 * For each: the round trip of 1 byte (a kernel socket writes, finwait echoes; median
 * and p99 of 2000), and a bulk transfer of 16 MiB each way at once (MB/s), with the
 * packets read per wake-up. The finwait side is this file run with `--serve` inside
 * the namespace: a driver on the TUN transport that echoes or discards and sends
 * zeros, no digests, so the figures are the transport's and the engine's; the kernel
 * side is `tests/transports/_kernel_peer.ts` (`pingpong`, `xfer … fast`).
 *
 * Run alone: `sudo deno run -A bench/tun_bench.ts [--quick]`.
 *
 * @module
 */
import type { BenchContext } from "./main.ts";
import { FINWAIT_IP, type JsonProcess, Lab, labSkipReason } from "../tests/transports/_tun_lab.ts";
import { Driver } from "../transports/driver.ts";
import { TunTransport } from "../transports/tun.ts";

const SELF = new URL(import.meta.url).pathname;

/** What one wake-up strategy measured. */
export interface WakeResult {
  wake: "poll" | "timer";
  rttMedianUs: number;
  rttP99Us: number;
  /** MB/s of each direction, both at once. */
  mbps: number;
  packetsPerWakeup: number;
  maxBatch: number;
  retransmissions: number;
}

/**
 * The finwait side (`--serve DEV WAKE PORT SEND`): listens on PORT, echoes what it
 * reads when SEND is 0, else discards it and sends SEND zero bytes; closes after the
 * peer's FIN; prints the transport's and the endpoint's counters as one JSON line.
 */
async function serve(dev: string, wake: "poll" | "timer", port: number, send: number) {
  const transport = TunTransport.open({ dev, address: FINWAIT_IP, peer: "10.77.0.1/24", wake });
  const d = new Driver({ transport, tcb: { msl: 100 } });
  const buf = new Uint8Array(64 * 1024);
  const zeros = new Uint8Array(64 * 1024);
  let conn = -1;
  let sent = 0;
  let fin = false;
  const pump = () => {
    if (conn < 0) return;
    const st = d.endpoint.state(conn);
    if (st !== "ESTABLISHED" && st !== "CLOSE-WAIT") return;
    while (sent < send) {
      const n = d.send(conn, zeros.subarray(0, Math.min(zeros.length, send - sent)));
      sent += n;
      if (n === 0) break;
    }
    if (fin && sent >= send) d.close(conn);
  };
  const done = Promise.withResolvers<void>();
  d.onEvent((ev) => {
    if (ev.type === "state-changed" && ev.to === "ESTABLISHED") {
      conn = ev.conn;
      pump();
    } else if (ev.type === "data") {
      for (let n = d.readInto(ev.conn, buf); n > 0; n = d.readInto(ev.conn, buf)) {
        if (send === 0) d.send(ev.conn, buf.subarray(0, n));
      }
    } else if (ev.type === "peer-closed") {
      fin = true;
      pump();
    } else if (ev.type === "closed") {
      done.resolve();
    }
  });
  d.afterDrain(pump);
  d.listen(port);
  console.log(JSON.stringify({ ev: "listening" }));
  await done.promise;
  const s = transport.stats;
  console.log(JSON.stringify({
    ev: "stats",
    packets: s.packetsRead,
    wakeups: s.wakeups,
    maxBatch: s.maxBatch,
    retransmissions: d.endpoint.stats.retransmissions,
  }));
  await d.stop();
}

/** Measures one strategy in a fresh namespace. */
export async function measureWake(
  wake: "poll" | "timer",
  pings: number,
  bulkBytes: number,
): Promise<WakeResult> {
  const lab = await Lab.create();
  const server = (port: number, send: number): Promise<JsonProcess> => {
    const p = lab.spawn([
      Deno.execPath(),
      "run",
      "-A",
      SELF,
      "--serve",
      lab.dev,
      wake,
      String(port),
      String(send),
    ]);
    return p.expect("listening").then(() => p);
  };
  try {
    const echo = await server(8080, 0);
    const k1 = lab.kernel("connect", FINWAIT_IP, 8080);
    await k1.expect("connected");
    await k1.send(`pingpong ${pings}`, "close");
    const pp = await k1.expect("pingpong", 120_000);
    await k1.expect("closed");
    await echo.expect("stats");
    await echo.finish();
    // The first round trips warm up V8 and the caches: leave them out.
    const rtt = (pp.rttUs as number[]).slice(Math.min(100, pings >> 3)).sort((a, b) => a - b);

    const bulk = await server(8081, bulkBytes);
    const k2 = lab.kernel("connect", FINWAIT_IP, 8081);
    await k2.expect("connected");
    await k2.send(`xfer ${bulkBytes} ${bulkBytes} fast`, "close");
    const x = await k2.expect("xfer", 120_000);
    await k2.expect("closed");
    const st = await bulk.expect("stats", 30_000);
    await bulk.finish();
    return {
      wake,
      rttMedianUs: rtt[rtt.length >> 1],
      rttP99Us: rtt[Math.floor(rtt.length * 0.99)],
      mbps: bulkBytes / 1e6 / ((x.ms as number) / 1000),
      packetsPerWakeup: (st.packets as number) / Math.max(1, st.wakeups as number),
      maxBatch: st.maxBatch as number,
      retransmissions: st.retransmissions as number,
    };
  } finally {
    await lab.close();
  }
}

const SIZES = { quick: { pings: 300, bulk: 4 << 20 }, full: { pings: 2000, bulk: 16 << 20 } };

/** The group for `bench/main.ts`. */
export async function tunGroup(ctx: BenchContext): Promise<void> {
  const why = await labSkipReason();
  if (why) {
    ctx.note(`skipped: ${why}`);
    return;
  }
  const size = ctx.mode === "quick" ? SIZES.quick : SIZES.full;
  const results: WakeResult[] = [];
  for (const wake of ["poll", "timer"] as const) {
    ctx.progress(`wake ${wake}`);
    const r = await measureWake(wake, size.pings, size.bulk);
    results.push(r);
    ctx.record({ name: `${wake}: 1-byte round trip, median`, value: r.rttMedianUs, unit: "µs" });
    ctx.record({ name: `${wake}: 1-byte round trip, p99`, value: r.rttP99Us, unit: "µs" });
    ctx.record({ name: `${wake}: bulk, each way at once`, value: r.mbps, unit: "MB/s" });
    ctx.record({ name: `${wake}: packets per wake-up`, value: r.packetsPerWakeup, unit: "pkt" });
  }
  ctx.summary("tunPollRttUs", results[0].rttMedianUs);
  ctx.summary("tunTimerRttUs", results[1].rttMedianUs);
  ctx.summary("tunPollMBps", results[0].mbps);
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--serve");
  if (i >= 0) {
    const [dev, wake, port, send] = Deno.args.slice(i + 1);
    await serve(dev, wake as "poll" | "timer", Number(port), Number(send));
  } else {
    const why = await labSkipReason();
    if (why) {
      console.log(`tun bench skipped: ${why}`);
      Deno.exit(0);
    }
    const size = Deno.args.includes("--quick") ? SIZES.quick : SIZES.full;
    const rows = [];
    for (const wake of ["poll", "timer"] as const) {
      const r = await measureWake(wake, size.pings, size.bulk);
      rows.push({
        wake: r.wake,
        "RTT median µs": r.rttMedianUs,
        "RTT p99 µs": r.rttP99Us,
        "MB/s each way": +r.mbps.toFixed(1),
        "packets per wake-up": +r.packetsPerWakeup.toFixed(1),
        "max batch": r.maxBatch,
        retransmissions: r.retransmissions,
      });
    }
    console.table(rows);
  }
}
