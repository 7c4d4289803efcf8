/**
 * `finwait tun` and the TUN transport beyond the close scenarios of
 * `tun_interop_test.ts`: the one-line errors when FFI, CAP_NET_ADMIN or root are
 * missing, argument checks, packets that are not TCP for finwait (ignored and
 * counted), a SYN to a closed port (RST the kernel accepts), and the timer wake-up
 * mode carrying 1 MiB each way.
 *
 * Tests that need root, a namespace, `setpriv` or python3 are skipped with the reason
 * printed; every namespace and interface is removed in `finally`.
 */
import assert from "node:assert/strict";
import { NOT_CI, Tmux } from "../_helpers/tmux.ts";
import {
  closedLine,
  FINWAIT_IP,
  Lab,
  labSkipReason,
  output,
  patternSha256,
  pythonAvailable,
  sh,
  summaryLine,
} from "./_tun_lab.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const OPEN_SCRIPT = new URL("./_tun_open.ts", import.meta.url).pathname;
const INJECT = new URL("./_tun_inject.py", import.meta.url).pathname;
const labReason = await labSkipReason();
const runGranted = (await Deno.permissions.query({ name: "run" })).state === "granted";
const setprivReason = labReason ??
  ((await sh(["sh", "-c", "command -v setpriv"], false)).ok
    ? undefined
    : "setpriv (util-linux) is not installed");

function test(name: string, skip: string | undefined, fn: () => Promise<void>): void {
  if (skip) console.log(`${name}: skipped (${skip})`);
  Deno.test({
    name: `tun: ${name}${skip ? ` (skipped: ${skip})` : ""}`,
    ignore: skip !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

/** Runs `fn` with a fresh namespace, always removed. */
async function inNamespace(fn: (lab: Lab) => Promise<void>): Promise<void> {
  const lab = await Lab.create();
  try {
    await fn(lab);
  } finally {
    await lab.close();
  }
}

test(
  "without --allow-ffi: one line naming the missing permission, exit 1",
  runGranted ? undefined : "needs --allow-run",
  async () => {
    const r = await output([
      Deno.execPath(),
      "run",
      "--allow-read",
      "--allow-env",
      "--allow-net",
      MAIN,
      "tun",
      "--dev",
      "fwnoffi0",
      "listen",
      "8080",
    ]);
    assert.equal(r.code, 1);
    // Only the one line (a first run may add Deno's own "Download" lines before it).
    const ours = r.stderr.split("\n").filter((l) => l.startsWith("finwait"));
    assert.deepEqual(ours, [
      "finwait: Cannot open a TUN device: FFI access is not granted (run deno with " +
      "--allow-ffi; `deno task finwait` does)",
    ]);
    assert.equal(r.stdout, "");
  },
);

test(
  "without CAP_NET_ADMIN: one line, exit 1, no interface left behind",
  setprivReason,
  () =>
    inNamespace(async (lab) => {
      const r = await output([
        "ip",
        "netns",
        "exec",
        lab.ns,
        "setpriv",
        "--bounding-set=-net_admin",
        "--inh-caps=-net_admin",
        "--",
        Deno.execPath(),
        "run",
        "-A",
        MAIN,
        "tun",
        "--dev",
        lab.dev,
        "connect",
        "10.77.0.1:8080",
      ]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `finwait: Cannot create TUN device "${lab.dev}": operation not permitted ` +
          "(finwait tun needs root or CAP_NET_ADMIN)\n",
      );
      assert.equal(r.stdout, "");
      const links = await lab.exec(["ip", "-o", "link"]);
      assert.ok(!links.out.includes(lab.dev), links.out);
    }),
);

test(
  "as an unprivileged user: /dev/net/tun is refused with one line",
  setprivReason,
  async () => {
    // The whole CLI would need the npm cache, which is root's: the device layer alone
    // shows the message the CLI prints after "finwait: ".
    const dir = await Deno.makeTempDir();
    try {
      await Deno.chmod(dir, 0o777);
      const r = await output([
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "env",
        `DENO_DIR=${dir}/cache`,
        `HOME=${dir}`,
        Deno.execPath(),
        "run",
        "--allow-ffi",
        "--no-config",
        OPEN_SCRIPT,
        "fwnobody0",
      ]);
      assert.equal(
        r.stdout,
        "Cannot open /dev/net/tun: permission denied (finwait tun needs root or CAP_NET_ADMIN)\n",
        r.stderr,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

test(
  "bad arguments: one line each, nothing opened",
  runGranted ? undefined : "needs --allow-run",
  async () => {
    const cases: [string[], RegExp][] = [
      [["tun", "--addr", "10.77.0.300", "listen", "8080"], /Invalid --addr "10\.77\.0\.300"/],
      [["tun", "--peer", "10.77.0.1/31", "listen", "8080"], /Invalid --peer "10\.77\.0\.1\/31"/],
      [["tun", "listen", "0"], /Invalid port "0"/],
      [["tun", "--mtu", "100", "listen", "80"], /--mtu must be an integer from 576/],
      [["tun", "--dev", "a/b", "listen", "8080"], /Invalid device name "a\/b"/],
      [["tun", "--dev", "much-too-long-name", "listen", "80"], /Invalid device name/],
      [["tun", "--addr", "10.77.0.1", "listen", "8080"], /needs another address than finwait's/],
    ];
    for (const [args, re] of cases) {
      const r = await output([Deno.execPath(), "run", "-A", MAIN, ...args]);
      assert.notEqual(r.code, 0, args.join(" "));
      assert.match(r.stderr, re, args.join(" "));
      assert.equal(r.stderr.trim().split("\n").filter((l) => !l.startsWith("(")).length, 1);
    }
  },
);

test(
  "packets that are not TCP for finwait are ignored and counted; a closed port answers RST",
  labReason ?? (await pythonAvailable() ? undefined : "python3 is not installed"),
  () =>
    inNamespace(async (lab) => {
      const f = lab.finwait([], ["listen", "8080"]);
      await f.waitFor((l) => l.type === "listening", 20_000, "listening");
      const r = await lab.exec(["python3", INJECT, lab.dev]);
      const sent = JSON.parse(r.out.trim().split("\n").at(-1)!);
      assert.equal(sent.closed_port, "refused", "finwait's RST reached the kernel socket");
      // Give the last packets a moment to be read, then stop finwait for its summary.
      await new Promise((res) => setTimeout(res, 200));
      await f.interrupt();
      const sum = summaryLine(f.lines);
      assert.ok(sum, f.dump());
      const d = sum.dropped;
      assert.ok((d["not-tcp"] ?? 0) >= 2, `UDP and ICMP: ${JSON.stringify(d)}`);
      assert.ok((d["not-for-us"] ?? 0) >= 1, `SYN to 10.77.0.9: ${JSON.stringify(d)}`);
      assert.equal(d["fragment"], 1, JSON.stringify(d));
      assert.equal(d["bad-checksum"], 1, JSON.stringify(d));
      if (sent.ipv6 === 1) assert.ok((d["not-ipv4"] ?? 0) >= 1, JSON.stringify(d));
      assert.equal(d["no-connection"], 1, "the SYN to port 9");
      assert.equal(sum.rstsOut, 1);
      assert.equal(sum.connections, 0);
      const snmp = await lab.snmp();
      assert.equal(snmp.InCsumErrors, 0);
      assert.equal(snmp.AttemptFails, 1, "the refused connect");
    }),
);

test(
  "--wake timer (a 1 ms read timer instead of poll(2)) carries 1 MiB each way",
  labReason,
  () =>
    inNamespace(async (lab) => {
      const f = lab.finwait(["--wake", "timer"], [
        "listen",
        "8080",
        "--send",
        "1MiB",
        "--exit-after",
        "1",
        "--msl",
        "0.5",
      ]);
      await f.waitFor((l) => l.type === "listening", 20_000, "listening");
      const k = lab.kernel("connect", FINWAIT_IP, 8080);
      await k.expect("connected");
      const mib = 1024 * 1024;
      await k.send(`xfer ${mib} ${mib}`, "close");
      const x = await k.expect("xfer", 30_000);
      await k.expect("closed");
      assert.equal(x.sha256, await patternSha256(mib));
      assert.equal((await f.exit(20_000)).code, 0, f.dump());
      const c = closedLine(f.lines)!;
      assert.equal(c.reason, "normal");
      assert.equal(c.sha256In, x.sha256Out);
    }),
);

const tmuxReason = labReason ??
  ((await sh(["tmux", "-V"], false)).ok ? undefined : "tmux is not installed");

test(
  "in a terminal (tmux): the UI shows the passive close; q prints the summary",
  tmuxReason,
  () =>
    inNamespace(async (lab) => {
      const t = new Tmux(`finwait-tun-test-${Deno.pid}`, { joinLines: true });
      const waitScreen = (what: string, ok: (s: string) => boolean) => t.waitFor("tun", what, ok);
      try {
        const cmd =
          `${NOT_CI}ip netns exec ${lab.ns} ${Deno.execPath()} run -A ${MAIN} tun --dev ` +
          `${lab.dev} listen 8080 --msl 0.5; echo "finwait-exit=$?"; sleep 60`;
        await t.run("new-session", "-d", "-s", "tun", "-x", "120", "-y", "36", cmd);
        await waitScreen("the UI", (s) => s.includes("10.77.0.2:8080") && s.includes("RUNNING"));
        const k = lab.kernel("connect", FINWAIT_IP, 8080);
        await k.expect("connected");
        await k.send("write 1000", "close");
        await k.expect("wrote");
        await k.expect("closed");
        const screen = await waitScreen("the close", (s) => s.includes("LAST-ACK → CLOSED"));
        assert.match(screen, /CLOSE-WAIT/);
        await t.run("send-keys", "-t", "tun", "q");
        const end = await waitScreen("the exit", (s) => s.includes("finwait-exit="));
        assert.match(end, /finwait-exit=0/);
        assert.match(end, /closed \(normal\): received 1000 B/);
        assert.match(end, /summary: 1 connection\(s\), closed 1 normal; received 1000 B/);
      } finally {
        await t.kill();
      }
    }),
);

Deno.test("tun: TunTransport.open refuses bad settings before it touches a device", async () => {
  const { TunTransport, parsePeer } = await import("../../transports/tun.ts");
  const cases: [Parameters<typeof TunTransport.open>[0], RegExp][] = [
    [{ address: "10.77.0.256" }, /Invalid address "10\.77\.0\.256"/],
    [{ address: "fd00::2" }, /Invalid address "fd00::2": expected IPv4/],
    [{ peer: "10.77.0.1/31" }, /Invalid peer "10\.77\.0\.1\/31"/],
    [{ peer: "10.77.0.2/24" }, /needs another address than finwait's/],
    [{ mtu: 500 }, /Invalid MTU 500/],
    [{ dev: "" }, /Invalid device name ""/],
    [{ dev: "sixteen-bytes-xx" }, /Invalid device name "sixteen-bytes-xx": use 1 to 15 bytes/],
    [{ dev: "a b" }, /Invalid device name "a b"/],
  ];
  for (const [opts, re] of cases) {
    assert.throws(() => TunTransport.open(opts), re, JSON.stringify(opts));
  }
  assert.deepEqual(parsePeer("10.77.0.1"), { ip: new Uint8Array([10, 77, 0, 1]), prefix: 24 });
  assert.deepEqual(parsePeer("192.0.2.1/30"), { ip: new Uint8Array([192, 0, 2, 1]), prefix: 30 });
  for (const bad of ["10.77.0.1/0", "10.77.0.1/", "::1/64", "10.77.0/24", "10.77.0.1/24/1"]) {
    assert.equal(parsePeer(bad), undefined, bad);
  }
});
