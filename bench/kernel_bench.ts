/**
 * Kernel baseline: the same lifecycle as the engine group (connect, 64 bytes each
 * way, the client closes, the server closes) over loopback with Deno's kernel TCP,
 * `Deno.listen` and `Deno.connect`, in the same process and run.
 *
 * @module
 */
import type { BenchContext } from "./main.ts";

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

/** The kernel group (the runner divides the engine's rate by this one: `engineVsKernel`). */
export async function kernelGroup(ctx: BenchContext): Promise<number> {
  const seconds = ctx.mode === "quick" ? 1.5 : 4;
  await kernelLifecycles(0.3); // warm-up
  const rate = await kernelLifecycles(seconds);
  ctx.record({ name: "Deno over kernel TCP, loopback", value: rate, unit: "lifecycles/s" });
  ctx.summary("kernelLifecyclesPerSec", rate);
  ctx.progress(`${Math.round(rate)} lifecycles/s`);
  return rate;
}
