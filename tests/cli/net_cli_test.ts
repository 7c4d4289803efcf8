/**
 * The pieces of `listen` / `connect` that need no socket: argument parsing, the
 * streaming SHA-256 (against `crypto.subtle`), the line format and completions.
 */
import assert from "node:assert/strict";
import { program } from "../../src/cli/main.ts";
import { Sha256 } from "../../src/cli/digest.ts";
import {
  bindArg,
  formatLine,
  impairmentNote,
  impairmentOf,
  ioOf,
  sizeArg,
  targetArg,
} from "../../src/cli/net_args.ts";
import { completionScript } from "../../src/cli/net_cmd.ts";
import { patternByte } from "../../src/cli/connect_cmd.ts";

Deno.test("digest: streaming SHA-256 equals crypto.subtle for any split", async () => {
  for (const size of [0, 1, 55, 56, 63, 64, 65, 1000, 100_000]) {
    const data = new Uint8Array(size).map((_, i) => patternByte(i));
    const want = [...new Uint8Array(await crypto.subtle.digest("SHA-256", data))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    for (const step of [1, 7, 64, 1000, size || 1]) {
      const h = new Sha256();
      for (let i = 0; i < size; i += step) h.update(data.subarray(i, i + step));
      assert.equal(h.hex(), want, `size ${size} step ${step}`);
      assert.equal(h.length, size);
    }
  }
});

Deno.test("args: --bind takes IP:PORT, [v6]:PORT, a bare IP and localhost", () => {
  assert.deepEqual(bindArg("127.0.0.1:9811"), { ip: "127.0.0.1", port: 9811 });
  assert.deepEqual(bindArg("[::]:0"), { ip: "::", port: 0 });
  assert.deepEqual(bindArg("0.0.0.0"), { ip: "0.0.0.0", port: 9811 });
  assert.deepEqual(bindArg("localhost:5"), { ip: "127.0.0.1", port: 5 });
  for (const bad of ["300.1.2.3:1", "example.com:80", "1.2.3.4:99999", "[::1", "1.2.3.4:x"]) {
    assert.throws(() => bindArg(bad), /Invalid address/, bad);
  }
});

Deno.test("args: HOST:PORT targets, byte counts with units", () => {
  assert.deepEqual(targetArg("example.com:80"), { host: "example.com", port: 80 });
  assert.deepEqual(targetArg("[2001:db8::7]:9811"), { host: "2001:db8::7", port: 9811 });
  assert.deepEqual(targetArg("192.0.2.7"), { host: "192.0.2.7", port: 9811 });
  assert.throws(() => targetArg("1.2.3.4:0"), /Invalid address/);
  const size = sizeArg("--send");
  assert.equal(size("65536"), 65536);
  assert.equal(size("64KiB"), 65536);
  assert.equal(size("1MiB"), 1048576);
  assert.equal(size("1.5MB"), 1_500_000);
  assert.throws(() => size("lots"), /byte count/);
});

/** The program with `name` set to parse only: no action, no output, errors thrown. */
function parseOnly(name: string) {
  const prog = program(() => {}).exitOverride();
  const cmd = prog.commands.find((c) => c.name() === name)!;
  cmd.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  cmd.action(() => {}); // parse only
  return { prog, cmd };
}

Deno.test("args: --loss, --delay and --seed parse on listen and connect; bad values are errors", () => {
  for (const name of ["listen", "connect"]) {
    const { prog, cmd } = parseOnly(name);
    const target = name === "connect" ? ["127.0.0.1:9811"] : [];
    prog.parse([name, ...target, "--loss", "10%", "--delay", "20", "--seed", "9"], {
      from: "user",
    });
    const o = cmd.opts() as { loss?: number; delay?: number; seed: number };
    assert.deepEqual(impairmentOf(o), { seed: 9, loss: 0.1, delay: 20 });
    for (
      const bad of [["--loss", "150%"], ["--delay", "-5"], ["--delay", "soon"], ["--seed", "x"]]
    ) {
      const { prog: p } = parseOnly(name);
      assert.throws(
        () => p.parse([name, ...target, ...bad], { from: "user" }),
        /must be|loss must/,
        bad.join(" "),
      );
    }
  }
  assert.equal(impairmentOf({ seed: 1 }), undefined); // neither: no impairment at all
  assert.match(
    impairmentNote({ seed: 3, loss: 0.1, delay: 20 }),
    /loss 10%, delay 20 ms, seed 3/,
  );
});

Deno.test("args: --io picks the UDP sockets; ffi with a user-space impairment is a usage error", async () => {
  for (const name of ["listen", "connect"]) {
    const { prog, cmd } = parseOnly(name);
    const target = name === "connect" ? ["127.0.0.1:9811"] : [];
    prog.parse([name, ...target], { from: "user" });
    assert.equal((cmd.opts() as { io: string }).io, "auto");
    prog.parse([name, ...target, "--io", "deno"], { from: "user" });
    assert.equal((cmd.opts() as { io: string }).io, "deno");
    assert.throws(() => prog.parse([name, ...target, "--io", "kernel"], { from: "user" }));
  }
  assert.equal(ioOf("ffi", false), "ffi");
  assert.equal(ioOf("auto", true), "auto");
  assert.throws(() => ioOf("ffi", true), /--io ffi cannot be combined with --loss/);
  // bindUdp: deno always gives the Deno sockets; ffi the libc ones (FFI is granted here).
  const { bindUdp, UdpFfiTransport } = await import("../../transports/udp_ffi.ts");
  const { UdpTransport } = await import("../../transports/udp.ts");
  const d = bindUdp({ port: 0 }, "deno");
  assert.ok(d instanceof UdpTransport);
  await d.close();
  if (UdpFfiTransport.available()) {
    const f = bindUdp({ port: 0 }, "ffi");
    assert.ok(f instanceof UdpFfiTransport);
    await f.close();
  }
});

Deno.test("lines: a state change reads FROM → TO (cause) with byte counts", () => {
  const line = formatLine({
    type: "state",
    t: 1.5,
    conn: 3,
    peer: "192.0.2.7:9811",
    from: "FIN-WAIT-2",
    to: "TIME-WAIT",
    cause: "rcv-fin",
    bytesIn: 10,
    bytesOut: 20,
  });
  assert.match(
    line,
    /^ +1\.500 #3 192\.0\.2\.7:9811 +FIN-WAIT-2 → TIME-WAIT \(rcv-fin\) +in 10 B, out 20 B$/,
  );
});

Deno.test("completions: bash, zsh and fish know listen, connect and their options", () => {
  const prog = program(() => {});
  for (const shell of ["bash", "zsh", "fish"] as const) {
    const s = completionScript(prog, shell);
    for (
      const word of ["listen", "connect", "trace", "send", "close-after-bytes", "full half abort"]
    ) {
      assert.ok(s.includes(word), `${shell} lacks ${word}`);
    }
  }
});

Deno.test("help: listen and connect show examples", () => {
  const prog = program(() => {});
  for (const name of ["listen", "connect"]) {
    const cmd = prog.commands.find((c) => c.name() === name)!;
    let text = "";
    cmd.configureOutput({ writeOut: (s) => text += s });
    cmd.outputHelp();
    assert.match(text, /Examples:\n {2}finwait /);
  }
});
