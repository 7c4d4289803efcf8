/**
 * Kernel baseline: the same lifecycle as the engine group (connect, 64 bytes each
 * way, the client closes, the server closes) over loopback with Deno's kernel TCP,
 * `Deno.listen` and `Deno.connect`, in the same process and run, measured in rounds
 * that alternate with the engine's.
 *
 * @module
 */
import type { BenchContext } from "./main.ts";
import { IN_FLIGHT, LifecycleRig, measure, median } from "./engine_bench.ts";

const MESSAGE = new Uint8Array(64).fill(0x61);

async function readExactly(conn: Deno.Conn, buf: Uint8Array): Promise<boolean> {
  let off = 0;
  while (off < buf.length) {
    const n = await conn.read(buf.subarray(off));
    if (n === null) return false;
    off += n;
  }
  return true;
}

/** Runs lifecycles with `parallel` in flight for `seconds`; returns lifecycles/s. */
export async function kernelLifecycles(seconds: number, parallel = 8): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const serve = (async () => {
    for await (const conn of listener) {
      (async () => {
        const buf = new Uint8Array(64);
        try {
          if (await readExactly(conn, buf)) {
            await conn.write(MESSAGE);
            // Wait for the client's FIN, then close: a passive close.
            await conn.read(buf);
          }
        } catch { /* a reset from a closing client is not a failure here */ }
        try {
          conn.close();
        } catch { /* already closed */ }
      })();
    }
  })();
  let done = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const worker = async () => {
    const buf = new Uint8Array(64);
    while (performance.now() < deadline) {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(MESSAGE);
      await readExactly(c, buf);
      c.close();
      done++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  listener.close();
  await serve.catch(() => {});
  return done / elapsed;
}

/**
 * The kernel group: the kernel baseline and the engine's lifecycle (an empty table,
 * as the engine group's first figure; checksums left to the pipe, as Linux leaves them
 * on the loopback the baseline runs over) in alternating slices of one process, round
 * after round, with a third slice of the engine computing every checksum.
 * `engineVsKernel` is the median of the per-round ratios: on a shared machine a slow
 * phase then slows both sides of a ratio rather than one figure measured minutes
 * away from the other.
 */
export async function kernelGroup(ctx: BenchContext): Promise<number> {
  const quick = ctx.mode === "quick";
  // Fifteen rounds: here the per-round ratios of one run scatter with a standard
  // deviation of 1.1 to 2.6, so the median of seven moved by 0.4 to 1.5 (bootstrap),
  // as much as its margin to the 20x target; fifteen cut that by about a third, for
  // 20 s more.
  const rounds = quick ? 3 : 15;
  const slice = quick ? 0.5 : 0.8;
  await kernelLifecycles(0.3); // warm-up
  new LifecycleRig().run(20_000);
  ctx.gc();
  const kernel: number[] = [];
  const engine: number[] = [];
  // The same engine lifecycle with the checksums computed and verified in software:
  // the kernel's loopback leaves them out (see Checksums), a real link would not.
  const software: number[] = [];
  const variants = [
    () => engine.push(measure(new LifecycleRig(), slice).rate),
    async () => kernel.push(await kernelLifecycles(slice)),
    () => software.push(measure(new LifecycleRig({ checksums: "software" }), slice).rate),
  ];
  for (let r = 0; r < rounds; r++) {
    // The order rotates, so no variant always follows the same one.
    for (let v = 0; v < variants.length; v++) await variants[(r + v) % variants.length]();
    ctx.progress(
      `round ${r + 1}/${rounds}: kernel ${Math.round(kernel[r])}, engine ${
        Math.round(engine[r])
      } lifecycles/s (${(engine[r] / kernel[r]).toFixed(1)}x; software checksums ${
        (software[r] / kernel[r]).toFixed(1)
      }x)`,
    );
  }
  const rate = median(kernel);
  const ratio = median(engine.map((e, r) => e / kernel[r]));
  const softwareRatio = median(software.map((e, r) => e / kernel[r]));
  ctx.record({
    name: "Deno over kernel TCP, loopback",
    value: rate,
    min: Math.min(...kernel),
    unit: "lifecycles/s",
    note: `median of ${rounds} rounds, 8 in parallel`,
  });
  ctx.record({
    name: "finwait engine, the same rounds",
    value: median(engine),
    min: Math.min(...engine),
    unit: "lifecycles/s",
    note: `empty table, ${IN_FLIGHT} in flight, checksums left to the pipe as lo does`,
  });
  ctx.record({
    name: "finwait engine, software checksums",
    value: median(software),
    min: Math.min(...software),
    unit: "lifecycles/s",
    note: "every checksum computed and verified",
  });
  ctx.record({ name: "engine / kernel, median of per-round ratios", value: ratio, unit: "x" });
  ctx.record({
    name: "engine with software checksums / kernel",
    value: softwareRatio,
    unit: "x",
  });
  ctx.summary("kernelLifecyclesPerSec", rate);
  ctx.summary("engineVsKernel", ratio);
  ctx.summary("engineVsKernelSoftwareChecksums", softwareRatio);
  return rate;
}
