/**
 * `connect --pcap` over UDP loopback: the file is a pcap written as the run goes,
 * and where tshark is installed it reads a whole conversation (SYN, FIN) with no bad
 * checksum, in both framings (`--pcap-encap ip` and `udp`).
 */
import assert from "node:assert/strict";
import { CliProcess } from "../transports/_cli_procs.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

async function haveTshark(): Promise<boolean> {
  try {
    const r = await new Deno.Command("tshark", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return r.success;
  } catch {
    return false;
  }
}

for (const encap of ["ip", "udp"] as const) {
  Deno.test(`pcap: connect --pcap --pcap-encap ${encap} over UDP loopback`, async () => {
    const dir = await Deno.makeTempDir();
    const file = `${dir}/connect.pcap`;
    const listener = new CliProcess(["listen", "--bind", "127.0.0.1:0", "--msl", "0.2", "--json"]);
    try {
      const ready = await listener.waitFor((l) => l.type === "listening", 20_000, "listening");
      assert.ok(ready.type === "listening");
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "connect", ready.address, "--send", "10000", "--msl", "0.2"]
          .concat(["--no-tui", "--pcap", file, "--pcap-encap", encap]),
        stdin: "null",
      }).output();
      const out = new TextDecoder().decode(r.stdout);
      assert.equal(r.code, 0, `connect failed: ${new TextDecoder().decode(r.stderr)}\n${out}`);
      const m = /pcap: (\d+) packets written to "(.*)"/.exec(out);
      assert.ok(m, `no pcap line in:\n${out}`);
      assert.equal(m[2], file);
      const packets = Number(m[1]);
      // 10000 B in segments of at most ~1200 B, handshake, ACKs, two FINs.
      assert.ok(packets >= 14 && packets < 200, `implausible packet count ${packets}`);

      const bytes = await Deno.readFile(file);
      const view = new DataView(bytes.buffer);
      assert.equal(view.getUint32(0, true), 0xa1b23c4d, "nanosecond pcap magic");
      let n = 0;
      for (let o = 24; o < bytes.length; n++) o += 16 + view.getUint32(o + 8, true);
      assert.equal(n, packets, "records in the file");

      if (!(await haveTshark())) {
        console.log("skipping the tshark checks: tshark is not installed");
        return;
      }
      const port = ready.address.slice(ready.address.lastIndexOf(":") + 1);
      const decode = encap === "udp" ? ["-d", `udp.port==${port},tcp`] : [];
      const t = await new Deno.Command("tshark", {
        args: ["-r", file, "-o", "tcp.check_checksum:TRUE", ...decode, "-T", "fields"]
          .concat(["-e", "tcp.flags.str", "-e", "tcp.checksum.status", "-e", "_ws.malformed"]),
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(t.stdout);
      assert.ok(t.success, new TextDecoder().decode(t.stderr));
      const rows = text.trim().split("\n").map((l) => l.split("\t"));
      assert.equal(rows.length, packets, text);
      assert.ok(rows.some((r) => /S/.test(r[0]) && !/A/.test(r[0])), `no SYN:\n${text}`);
      assert.ok(rows.some((r) => /F/.test(r[0])), `no FIN:\n${text}`);
      for (const r of rows) {
        assert.equal(r[1], "1", `checksum not good (1) in:\n${text}`);
        assert.ok(!r[2], `malformed frame in:\n${text}`);
      }
    } finally {
      await listener.interrupt();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
