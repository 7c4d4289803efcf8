/**
 * The kernel's side of a TUN interop test: one TCP connection through the Linux
 * stack with `Deno.listen` / `Deno.connect`, run inside the test's network namespace
 * (`ip netns exec NS deno run -A _kernel_peer.ts listen 10.77.0.1 8080`, or
 * `connect 10.77.0.2 8080`).
 *
 * It prints one JSON object per line (`{"ev":"listening"}`, `{"ev":"connected"}`,
 * then one per command) and runs commands read from stdin, one per line, in order:
 *
 * - `write N`: writes N bytes of the `finwait connect` pattern → `{"ev":"wrote"}`
 * - `read N`: reads until N bytes or EOF → `{"ev":"read","bytes","sha256","eof"}`
 * - `readall`: reads until EOF → the same
 * - `xfer W R [fast]`: writes W bytes while reading R bytes → `{"ev":"xfer",...,"ms"}`
 *   (`fast`: zeros, no digests, for benchmarks)
 * - `pingpong N`: N times: write 1 byte, read 1 byte → `{"ev":"pingpong","rttUs":[...]}`
 * - `shutdown`: `closeWrite()` (our FIN; reading goes on) → `{"ev":"shutdown"}`
 * - `close` → `{"ev":"closed"}`
 * - `sleep MS` → `{"ev":"slept"}`
 *
 * A failed command prints `{"ev":"error","op","error"}` with the Deno error class
 * name (`ConnectionReset`, `BrokenPipe`, ...) and the next command runs.
 */
import { Sha256 } from "../../src/cli/digest.ts";
import { patternByte } from "../../src/cli/connect_cmd.ts";

const [mode, host, portText] = Deno.args;
const port = Number(portText);
const print = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

let conn: Deno.TcpConn;
try {
  if (mode === "listen") {
    const l = Deno.listen({ hostname: host, port });
    print({ ev: "listening" });
    conn = await l.accept();
    l.close();
  } else {
    conn = await Deno.connect({ hostname: host, port });
  }
} catch (e) {
  print({ ev: "error", op: mode, error: (e as Error).name, message: (e as Error).message });
  Deno.exit(1);
}
const la = conn.localAddr as Deno.NetAddr;
const ra = conn.remoteAddr as Deno.NetAddr;
print({ ev: "connected", local: `${la.hostname}:${la.port}`, remote: `${ra.hostname}:${ra.port}` });

let written = 0;
const digestOut = new Sha256();
const digestIn = new Sha256();
let readTotal = 0;

async function write(n: number, fast = false): Promise<void> {
  const chunk = new Uint8Array(64 * 1024);
  let left = n;
  while (left > 0) {
    const k = Math.min(chunk.length, left);
    if (!fast) { for (let i = 0; i < k; i++) chunk[i] = patternByte(written + i); }
    let off = 0;
    while (off < k) off += await conn.write(chunk.subarray(off, k));
    if (!fast) digestOut.update(chunk.subarray(0, k));
    written += k;
    left -= k;
  }
}

async function read(n: number, fast = false): Promise<boolean> {
  const buf = new Uint8Array(64 * 1024);
  let got = 0;
  while (got < n) {
    const r = await conn.read(buf.subarray(0, Math.min(buf.length, n - got)));
    if (r === null) return true;
    if (!fast) digestIn.update(buf.subarray(0, r));
    got += r;
    readTotal += r;
  }
  return false;
}

async function run(line: string): Promise<void> {
  const [cmd, a, b, c] = line.trim().split(/\s+/);
  const op = cmd;
  try {
    if (cmd === "write") {
      await write(Number(a));
      print({ ev: "wrote", bytes: written, sha256: digestOut.hex() });
    } else if (cmd === "read" || cmd === "readall") {
      const eof = await read(cmd === "readall" ? Infinity : Number(a));
      print({ ev: "read", bytes: readTotal, sha256: digestIn.hex(), eof });
    } else if (cmd === "xfer") {
      const t0 = performance.now();
      const fast = c === "fast";
      const [, eof] = await Promise.all([write(Number(a), fast), read(Number(b), fast)]);
      const ms = performance.now() - t0;
      print({
        ev: "xfer",
        wrote: written,
        sha256Out: digestOut.hex(),
        bytes: readTotal,
        sha256: digestIn.hex(),
        eof,
        ms,
      });
    } else if (cmd === "pingpong") {
      const one = new Uint8Array(1);
      const rttUs: number[] = [];
      for (let i = 0; i < Number(a); i++) {
        const t0 = performance.now();
        await conn.write(one);
        if ((await conn.read(one)) === null) throw new Error("EOF during pingpong");
        rttUs.push(Math.round((performance.now() - t0) * 1000));
      }
      print({ ev: "pingpong", rttUs });
    } else if (cmd === "shutdown") {
      await conn.closeWrite();
      print({ ev: "shutdown" });
    } else if (cmd === "close") {
      conn.close();
      print({ ev: "closed" });
    } else if (cmd === "sleep") {
      await new Promise((r) => setTimeout(r, Number(a)));
      print({ ev: "slept" });
    } else if (cmd !== "") {
      print({ ev: "error", op, error: "UnknownCommand" });
    }
  } catch (e) {
    print({
      ev: "error",
      op,
      error: (e as Error).name,
      message: (e as Error).message,
      bytes: readTotal,
    });
  }
}

let rest = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  rest += chunk;
  let i;
  while ((i = rest.indexOf("\n")) >= 0) {
    const line = rest.slice(0, i);
    rest = rest.slice(i + 1);
    await run(line);
  }
}
if (rest.trim()) await run(rest);
