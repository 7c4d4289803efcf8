/**
 * finwait against the Linux kernel's TCP, over a TUN interface (issue 8).
 *
 * Every test builds its own network namespace (`_tun_lab.ts`), runs `finwait tun …
 * --json` in it (finwait creates the interface `fwtN` with the kernel's address
 * 10.77.0.1/24 and is itself 10.77.0.2), runs the kernel's side in it too (Deno
 * `Deno.connect` / `Deno.listen` in `_kernel_peer.ts`, Python for SO_LINGER 0), and
 * removes all of it in `finally`. finwait's states come from its JSON lines, the
 * kernel's from `ss -tan` in the namespace, RSTs from both sides' counters
 * (`/proc/net/snmp` OutRsts for the kernel, the summary line for finwait): each test
 * checks that no RST was sent that the scenario did not ask for, and that the kernel
 * saw no bad checksum.
 *
 * Timing windows that `ss` must see (the kernel in LAST-ACK or CLOSING) are widened
 * with finwait's user-space delay (`tun --delay`), which holds packets both ways as
 * `tc netem delay` would. The lossy test uses `tc netem` on the interface when the
 * kernel has it, finwait's user-space loss and delay otherwise, and nftables to drop
 * the first FIN each way, so both sides must retransmit their FIN.
 *
 * Needs Linux, root, iproute2 and /dev/net/tun; otherwise every test is skipped with
 * the reason printed. The SO_LINGER tests also need python3, the lossy one nft.
 */
import assert from "node:assert/strict";
import type { CliProcess } from "./_cli_procs.ts";
import {
  closedLine,
  FINWAIT_IP,
  finwaitTransitions,
  KERNEL_IP,
  Lab,
  labSkipReason,
  nftAvailable,
  patternSha256,
  pythonAvailable,
  summaryLine,
} from "./_tun_lab.ts";
import type { NetLine } from "../../src/cli/net_args.ts";

const reason = await labSkipReason();
if (reason) console.log(`TUN interop tests skipped: ${reason}`);
const MSL = "0.5";
const PORT = 8080;
const MIB = 1024 * 1024;
const needPython = async () => (await pythonAvailable()) ? undefined : "python3 is not installed";

function interop(
  name: string,
  fn: (lab: Lab) => Promise<void>,
  extra?: () => Promise<string | undefined>,
): void {
  Deno.test({
    name: `tun interop: ${name}${reason ? ` (skipped: ${reason})` : ""}`,
    ignore: reason !== undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const why = await extra?.();
      if (why) {
        console.log(`skipped: ${why}`);
        return;
      }
      const lab = await Lab.create();
      try {
        await fn(lab);
      } finally {
        await lab.close();
      }
    },
  });
}

/** Starts `finwait tun … listen PORT` and waits for its listening line. */
async function finwaitListen(lab: Lab, tun: string[], args: string[]): Promise<CliProcess> {
  const f = lab.finwait(tun, ["listen", String(PORT), "--exit-after", "1", "--msl", MSL, ...args]);
  await f.waitFor((l) => l.type === "listening", 20_000, "finwait listening");
  return f;
}

/** Waits for finwait to exit; returns its exit code. */
async function finwaitExit(f: CliProcess): Promise<number> {
  const st = await f.exit(30_000);
  return st.code;
}

type Closed = Extract<NetLine, { type: "closed" }>;

/** finwait's closed line, which must exist. */
function closed(f: CliProcess): Closed {
  const c = closedLine(f.lines);
  assert.ok(c, `finwait printed no closed line:\n${f.dump()}`);
  return c;
}

/**
 * No RST beyond the expected ones on either side, and no checksum error in the
 * kernel (finwait's checksums, IP and TCP, are right).
 */
async function expectRsts(
  lab: Lab,
  f: CliProcess,
  want: { kernel: number; finwait: number },
): Promise<void> {
  const snmp = await lab.snmp();
  const sum = summaryLine(f.lines);
  assert.ok(sum, `finwait printed no summary:\n${f.dump()}`);
  assert.equal(snmp.OutRsts, want.kernel, `RSTs sent by the kernel\n${f.dump()}`);
  assert.equal(sum.rstsOut, want.finwait, `RSTs sent by finwait\n${f.dump()}`);
  assert.equal(sum.rstsIn, want.kernel, `RSTs finwait received\n${f.dump()}`);
  assert.equal(snmp.InCsumErrors, 0, "TCP checksum errors in the kernel");
  assert.equal(snmp.InErrs, 0, "TCP input errors in the kernel");
  assert.equal(sum.dropped["bad-checksum"] ?? 0, 0, "bad checksums at finwait");
}

const isKernelTo = (port: number) => (s: { local: string; peer: string }) =>
  s.peer === `${FINWAIT_IP}:${port}` || s.local === `${KERNEL_IP}:${port}`;

/** Asserts TIME-WAIT lasted at least 2·MSL on finwait's side. */
function expectTimeWait(lines: NetLine[]): void {
  const at = (to: string) =>
    (lines.find((l) => l.type === "state" && l.to === to) as { t: number } | undefined)?.t;
  const tw = at("TIME-WAIT");
  const end = at("CLOSED");
  assert.ok(tw !== undefined && end !== undefined, "finwait entered TIME-WAIT and left it");
  assert.ok(end - tw >= 2 * Number(MSL) - 0.005, `TIME-WAIT lasted ${end - tw} s`);
}

// ------------------------------------------------------------ the kernel closes first

interop(
  "kernel client closes first: finwait CLOSE-WAIT → LAST-ACK → CLOSED, kernel in TIME-WAIT",
  async (lab) => {
    const f = await finwaitListen(lab, [], []);
    const k = lab.kernel("connect", FINWAIT_IP, PORT);
    await k.expect("connected");
    await k.send("write 100000", "close");
    const wrote = await k.expect("wrote");
    await k.expect("closed");
    assert.equal(await finwaitExit(f), 0, f.dump());
    assert.deepEqual(finwaitTransitions(f.lines), [
      "LISTEN → SYN-RECEIVED (rcv-syn)",
      "SYN-RECEIVED → ESTABLISHED (rcv-ack)",
      "ESTABLISHED → CLOSE-WAIT (rcv-fin)",
      "CLOSE-WAIT → LAST-ACK (close)",
      "LAST-ACK → CLOSED (rcv-ack)",
    ]);
    const c = closed(f);
    assert.equal(c.reason, "normal");
    assert.equal(c.bytesIn, 100000);
    assert.equal(c.sha256In, wrote.sha256);
    const tw = await lab.waitSocket(
      (s) => s.state === "TIME-WAIT" && s.peer === `${FINWAIT_IP}:${PORT}`,
      5_000,
      "the kernel socket in TIME-WAIT",
    );
    assert.equal(tw.local.startsWith(`${KERNEL_IP}:`), true);
    await expectRsts(lab, f, { kernel: 0, finwait: 0 });
  },
);

interop(
  "kernel server closes first: finwait client CLOSE-WAIT → LAST-ACK → CLOSED, kernel in TIME-WAIT",
  async (lab) => {
    const k = lab.kernel("listen", "0.0.0.0", PORT);
    await k.expect("listening");
    const f = lab.finwait([], [
      "connect",
      `${KERNEL_IP}:${PORT}`,
      "--send",
      "50000",
      "--close",
      "passive",
      "--msl",
      MSL,
    ]);
    await k.expect("connected");
    await k.send("read 50000", "write 70000", "close");
    const read = await k.expect("read");
    assert.equal(read.bytes, 50000);
    assert.equal(read.sha256, await patternSha256(50000));
    const wrote = await k.expect("wrote");
    await k.expect("closed");
    assert.equal(await finwaitExit(f), 0, f.dump());
    assert.deepEqual(finwaitTransitions(f.lines), [
      "CLOSED → SYN-SENT (open)",
      "SYN-SENT → ESTABLISHED (rcv-syn-ack)",
      "ESTABLISHED → CLOSE-WAIT (rcv-fin)",
      "CLOSE-WAIT → LAST-ACK (close)",
      "LAST-ACK → CLOSED (rcv-ack)",
    ]);
    const c = closed(f);
    assert.equal(c.reason, "normal");
    assert.equal(c.bytesIn, 70000);
    assert.equal(c.sha256In, wrote.sha256);
    assert.equal(c.bytesAcked, 50000);
    await lab.waitSocket(
      (s) => s.state === "TIME-WAIT" && s.local === `${KERNEL_IP}:${PORT}`,
      5_000,
      "the kernel socket in TIME-WAIT",
    );
    await expectRsts(lab, f, { kernel: 0, finwait: 0 });
  },
);

// ----------------------------------------------------------- finwait closes first

/**
 * After finwait's FIN the kernel socket must sit in CLOSE-WAIT (ss), and after its
 * close() in LAST-ACK until finwait's ACK (held 150 ms each way by `--delay`).
 */
async function kernelPassiveClose(
  lab: Lab,
  k: ReturnType<Lab["kernel"]>,
  mine: (s: { local: string; peer: string }) => boolean,
): Promise<void> {
  await lab.waitSocket((s) => mine(s) && s.state === "CLOSE-WAIT", 5_000, "kernel CLOSE-WAIT");
  // Linux delays the ACK of a FIN (up to 200 ms, hoping to send it with its own FIN):
  // staying in CLOSE-WAIT longer makes finwait see FIN-WAIT-2 every time.
  await new Promise((r) => setTimeout(r, 300));
  const w = lab.watch(mine);
  await k.send("close");
  await k.expect("closed");
  const deadline = Date.now() + 5_000;
  while ((await lab.ss()).some(mine) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const seen = await w.stop();
  assert.ok(seen.includes("LAST-ACK"), `kernel states seen after close(): ${seen.join(", ")}`);
  assert.ok(!seen.includes("TIME-WAIT"), "the kernel closed second: no TIME-WAIT on its side");
  assert.equal((await lab.ss()).filter(mine).length, 0, "the kernel socket is gone");
}

interop(
  "finwait server closes first: finwait TIME-WAIT; kernel CLOSE-WAIT → LAST-ACK",
  async (lab) => {
    const f = await finwaitListen(lab, ["--delay", "150"], ["--close-after-bytes", "20000"]);
    const k = lab.kernel("connect", FINWAIT_IP, PORT);
    await k.expect("connected");
    await k.send("write 20000", "readall");
    await k.expect("wrote");
    const eof = await k.expect("read");
    assert.equal(eof.eof, true);
    await kernelPassiveClose(lab, k, isKernelTo(PORT));
    assert.equal(await finwaitExit(f), 0, f.dump());
    assert.deepEqual(finwaitTransitions(f.lines), [
      "LISTEN → SYN-RECEIVED (rcv-syn)",
      "SYN-RECEIVED → ESTABLISHED (rcv-ack)",
      "ESTABLISHED → FIN-WAIT-1 (close)",
      "FIN-WAIT-1 → FIN-WAIT-2 (rcv-ack)",
      "FIN-WAIT-2 → TIME-WAIT (rcv-fin)",
      "TIME-WAIT → CLOSED (time-wait-expired)",
    ]);
    expectTimeWait(f.lines);
    assert.equal(closed(f).reason, "normal");
    await expectRsts(lab, f, { kernel: 0, finwait: 0 });
  },
);

interop(
  "finwait client closes first: finwait TIME-WAIT; kernel CLOSE-WAIT → LAST-ACK",
  async (lab) => {
    const k = lab.kernel("listen", "0.0.0.0", PORT);
    await k.expect("listening");
    const f = lab.finwait(["--delay", "150"], [
      "connect",
      `${KERNEL_IP}:${PORT}`,
      "--send",
      "20000",
      "--msl",
      MSL,
    ]);
    await k.expect("connected");
    await k.send("readall");
    const read = await k.expect("read");
    assert.equal(read.bytes, 20000);
    assert.equal(read.eof, true);
    assert.equal(read.sha256, await patternSha256(20000));
    await kernelPassiveClose(lab, k, isKernelTo(PORT));
    assert.equal(await finwaitExit(f), 0, f.dump());
    assert.deepEqual(finwaitTransitions(f.lines), [
      "CLOSED → SYN-SENT (open)",
      "SYN-SENT → ESTABLISHED (rcv-syn-ack)",
      "ESTABLISHED → FIN-WAIT-1 (close)",
      "FIN-WAIT-1 → FIN-WAIT-2 (rcv-ack)",
      "FIN-WAIT-2 → TIME-WAIT (rcv-fin)",
      "TIME-WAIT → CLOSED (time-wait-expired)",
    ]);
    expectTimeWait(f.lines);
    await expectRsts(lab, f, { kernel: 0, finwait: 0 });
  },
);

// ------------------------------------------------------------ both close at once

/**
 * The FINs cross: with 250 ms each way, the kernel closes 125 ms after its data went
 * out, finwait as soon as the data arrived, so each FIN is in flight while the other
 * side is already in FIN-WAIT-1 and both go through CLOSING into TIME-WAIT.
 */
async function simultaneous(lab: Lab, f: CliProcess, k: ReturnType<Lab["kernel"]>) {
  const mine = isKernelTo(PORT);
  await k.expect("connected");
  const w = lab.watch(mine);
  await k.send("write 1000", "sleep 125", "close");
  await k.expect("wrote");
  await k.expect("slept");
  await k.expect("closed");
  assert.equal(await finwaitExit(f), 0, f.dump());
  const seen = await w.stop();
  const tr = finwaitTransitions(f.lines);
  assert.deepEqual(tr.slice(-4), [
    "ESTABLISHED → FIN-WAIT-1 (close)",
    "FIN-WAIT-1 → CLOSING (rcv-fin)",
    "CLOSING → TIME-WAIT (rcv-ack)",
    "TIME-WAIT → CLOSED (time-wait-expired)",
  ]);
  expectTimeWait(f.lines);
  assert.equal(closed(f).reason, "normal");
  assert.ok(seen.includes("CLOSING"), `kernel states: ${seen.join(", ")}`);
  assert.equal(seen.at(-1), "TIME-WAIT", `kernel states: ${seen.join(", ")}`);
  await expectRsts(lab, f, { kernel: 0, finwait: 0 });
}

interop("both close at once (finwait server): both sides CLOSING → TIME-WAIT", async (lab) => {
  const f = await finwaitListen(lab, ["--delay", "250"], ["--close-after-bytes", "1000"]);
  await simultaneous(lab, f, lab.kernel("connect", FINWAIT_IP, PORT));
});

interop("both close at once (finwait client): both sides CLOSING → TIME-WAIT", async (lab) => {
  const k = lab.kernel("listen", "0.0.0.0", PORT);
  await k.expect("listening");
  const f = lab.finwait(["--delay", "250"], [
    "connect",
    `${KERNEL_IP}:${PORT}`,
    "--send",
    "0",
    "--close-after-bytes",
    "1000",
    "--msl",
    MSL,
  ]);
  await simultaneous(lab, f, k);
});

// ------------------------------------------------------------------- half-close

interop(
  "half-close: finwait shuts down first, then reads 40000 B the kernel sends after the FIN",
  async (lab) => {
    const k = lab.kernel("listen", "0.0.0.0", PORT);
    await k.expect("listening");
    const f = lab.finwait([], [
      "connect",
      `${KERNEL_IP}:${PORT}`,
      "--send",
      "30000",
      "--close",
      "half",
      "--msl",
      MSL,
    ]);
    await k.expect("connected");
    await k.send("readall", "write 40000", "close");
    const read = await k.expect("read");
    assert.equal(read.bytes, 30000);
    assert.equal(read.eof, true);
    assert.equal(read.sha256, await patternSha256(30000));
    const wrote = await k.expect("wrote");
    await k.expect("closed");
    assert.equal(await finwaitExit(f), 0, f.dump());
    const states = f.lines.filter((l) => l.type === "state") as Extract<
      NetLine,
      { type: "state" }
    >[];
    const fw1 = states.find((l) => l.to === "FIN-WAIT-1")!;
    const tw = states.find((l) => l.to === "TIME-WAIT")!;
    assert.equal(fw1.bytesIn, 0, "nothing came in before our FIN");
    assert.equal(tw.from, "FIN-WAIT-2");
    assert.equal(tw.bytesIn, 40000, "the kernel's data came in after our FIN");
    const c = closed(f);
    assert.equal(c.reason, "normal");
    assert.equal(c.sha256In, wrote.sha256);
    expectTimeWait(f.lines);
    await expectRsts(lab, f, { kernel: 0, finwait: 0 });
  },
);

interop(
  "half-close: the kernel shuts down first, finwait sends 40000 B in CLOSE-WAIT",
  async (lab) => {
    const f = await finwaitListen(lab, [], ["--send", "40000", "--send-after-fin"]);
    const k = lab.kernel("connect", FINWAIT_IP, PORT);
    await k.expect("connected");
    await k.send("write 30000", "shutdown", "readall", "close");
    const wrote = await k.expect("wrote");
    await k.expect("shutdown");
    const read = await k.expect("read");
    await k.expect("closed");
    assert.equal(read.bytes, 40000);
    assert.equal(read.eof, true);
    assert.equal(read.sha256, await patternSha256(40000));
    assert.equal(await finwaitExit(f), 0, f.dump());
    const states = f.lines.filter((l) => l.type === "state") as Extract<
      NetLine,
      { type: "state" }
    >[];
    assert.deepEqual(states.slice(-3).map((l) => [l.from, l.to, l.bytesOut]), [
      ["ESTABLISHED", "CLOSE-WAIT", 0],
      ["CLOSE-WAIT", "LAST-ACK", 40000],
      ["LAST-ACK", "CLOSED", 40000],
    ]);
    const c = closed(f);
    assert.equal(c.reason, "normal");
    assert.equal(c.bytesIn, 30000);
    assert.equal(c.sha256In, wrote.sha256);
    await lab.waitSocket((s) => s.state === "TIME-WAIT", 5_000, "the kernel in TIME-WAIT");
    await expectRsts(lab, f, { kernel: 0, finwait: 0 });
  },
);

// ------------------------------------------------------------------- resets

interop("finwait client aborts: the kernel reads ECONNRESET", async (lab) => {
  const k = lab.kernel("listen", "0.0.0.0", PORT);
  await k.expect("listening");
  const f = lab.finwait([], [
    "connect",
    `${KERNEL_IP}:${PORT}`,
    "--send",
    "30000",
    "--close",
    "abort",
    "--msl",
    MSL,
  ]);
  await k.expect("connected");
  await k.send("readall");
  const err = await k.expect("error");
  assert.equal(err.error, "ConnectionReset", JSON.stringify(err));
  assert.equal(err.bytes, 30000, "everything sent was read before the RST");
  assert.equal(await finwaitExit(f), 0, f.dump());
  assert.equal(closed(f).reason, "aborted");
  assert.equal(finwaitTransitions(f.lines).at(-1), "ESTABLISHED → CLOSED (abort)");
  assert.equal((await lab.snmp()).EstabResets, 1);
  assert.equal((await lab.ss()).filter(isKernelTo(PORT)).length, 0);
  await expectRsts(lab, f, { kernel: 0, finwait: 1 });
});

interop("finwait server aborts: the kernel reads ECONNRESET", async (lab) => {
  const f = await finwaitListen(lab, [], ["--close", "abort", "--close-after-bytes", "30000"]);
  const k = lab.kernel("connect", FINWAIT_IP, PORT);
  await k.expect("connected");
  await k.send("write 30000", "readall");
  await k.expect("wrote");
  const err = await k.expect("error");
  assert.equal(err.error, "ConnectionReset", JSON.stringify(err));
  assert.equal(await finwaitExit(f), 0, f.dump());
  assert.equal(closed(f).reason, "aborted");
  assert.equal(closed(f).bytesIn, 30000);
  assert.equal((await lab.ss()).filter(isKernelTo(PORT)).length, 0);
  await expectRsts(lab, f, { kernel: 0, finwait: 1 });
});

/**
 * The kernel reads 1 byte, waits until the rest is queued unread, then closes: RST
 * (RFC 2525 §2.17). From Python: Deno's `close()` shuts the write side down first (a
 * FIN, then the RST), so it cannot show this close cleanly.
 */
async function unreadClose(lab: Lab, k: ReturnType<Lab["python"]>, n: number): Promise<void> {
  await k.send("read 1");
  await k.expect("read");
  await lab.waitSocket(
    (s) => isKernelTo(PORT)(s) && s.recvQ === n - 1,
    5_000,
    `${n - 1} unread bytes in the kernel's receive queue`,
  );
  await k.send("close");
  await k.expect("closed");
}

interop(
  "kernel client closes with unread data (Python): RST, finwait reports reset",
  async (lab) => {
    const f = await finwaitListen(lab, [], ["--send", "10000"]);
    const k = lab.python("connect", FINWAIT_IP, PORT);
    await k.expect("connected");
    await unreadClose(lab, k, 10000);
    assert.equal(await finwaitExit(f), 0, f.dump());
    assert.equal(closed(f).reason, "reset");
    assert.equal(finwaitTransitions(f.lines).at(-1), "ESTABLISHED → CLOSED (rcv-rst)");
    await expectRsts(lab, f, { kernel: 1, finwait: 0 });
  },
  needPython,
);

interop(
  "kernel server closes with unread data (Python): RST, finwait client reports reset",
  async (lab) => {
    const k = lab.python("listen", "0.0.0.0", PORT);
    await k.expect("listening");
    const f = lab.finwait([], [
      "connect",
      `${KERNEL_IP}:${PORT}`,
      "--send",
      "10000",
      "--close",
      "passive",
      "--msl",
      MSL,
    ]);
    await k.expect("connected");
    await unreadClose(lab, k, 10000);
    assert.equal(await finwaitExit(f), 1, "a reset is not the normal close connect waits for");
    assert.match(await f.stderr, /ended with "reset", not "normal"/);
    assert.equal(closed(f).reason, "reset");
    await expectRsts(lab, f, { kernel: 1, finwait: 0 });
  },
  needPython,
);

interop(
  "kernel client closes with SO_LINGER 0 (Python): RST, finwait reports reset",
  async (lab) => {
    const f = await finwaitListen(lab, [], ["--send", "5000"]);
    const p = lab.python("connect", FINWAIT_IP, PORT);
    await p.expect("connected");
    await p.send("read 5000", "linger0", "close");
    assert.equal((await p.expect("read")).bytes, 5000);
    await p.expect("linger0");
    await p.expect("closed");
    assert.equal(await finwaitExit(f), 0, f.dump());
    assert.equal(closed(f).reason, "reset");
    assert.equal(finwaitTransitions(f.lines).at(-1), "ESTABLISHED → CLOSED (rcv-rst)");
    await expectRsts(lab, f, { kernel: 1, finwait: 0 });
  },
  needPython,
);

interop(
  "kernel server closes with SO_LINGER 0 (Python): RST, finwait client reports reset",
  async (lab) => {
    const p = lab.python("listen", "0.0.0.0", PORT);
    await p.expect("listening");
    const f = lab.finwait([], [
      "connect",
      `${KERNEL_IP}:${PORT}`,
      "--send",
      "5000",
      "--close",
      "passive",
      "--msl",
      MSL,
    ]);
    await p.expect("connected");
    await p.send("read 5000", "linger0", "close");
    assert.equal((await p.expect("read")).bytes, 5000);
    await p.expect("linger0");
    await p.expect("closed");
    assert.equal(await finwaitExit(f), 1);
    assert.equal(closed(f).reason, "reset");
    await expectRsts(lab, f, { kernel: 1, finwait: 0 });
  },
  needPython,
);

// ------------------------------------------------------------------- 1 MiB each way

interop("1 MiB each way intact, then the kernel closes first", async (lab) => {
  const f = await finwaitListen(lab, [], ["--send", "1MiB"]);
  const k = lab.kernel("connect", FINWAIT_IP, PORT);
  await k.expect("connected");
  await k.send(`xfer ${MIB} ${MIB}`, "close");
  const x = await k.expect("xfer", 30_000);
  await k.expect("closed");
  assert.equal(x.bytes, MIB);
  assert.equal(x.sha256, await patternSha256(MIB));
  assert.equal(await finwaitExit(f), 0, f.dump());
  const c = closed(f);
  assert.equal(c.reason, "normal");
  assert.equal(c.bytesIn, MIB);
  assert.equal(c.sha256In, x.sha256Out);
  assert.equal(c.bytesAcked, MIB);
  assert.equal(finwaitTransitions(f.lines).at(-1), "LAST-ACK → CLOSED (rcv-ack)");
  await lab.waitSocket((s) => s.state === "TIME-WAIT", 5_000, "the kernel in TIME-WAIT");
  await expectRsts(lab, f, { kernel: 0, finwait: 0 });
});

interop(
  "1 MiB each way intact under loss and delay, and both FINs retransmitted",
  async (lab) => {
    // tc netem on the interface when the kernel has it (kernel → finwait); else the
    // same impairment in finwait's transport, both ways.
    await lab.precreate();
    const netem = await lab.exec(
      ["tc", "qdisc", "add", "dev", lab.dev, "root", "netem", "loss", "2%", "delay", "10ms"],
      false,
    );
    const tun = netem.ok ? [] : ["--loss", "2%", "--delay", "10", "--seed", "7"];
    console.log(
      netem.ok
        ? "impairment: tc netem loss 2% delay 10ms on the TUN interface"
        : `impairment: finwait user-space loss 2% delay 10 ms both ways (tc netem: ${netem.out.trim()})`,
    );
    await lab.nft(true);
    const k = lab.kernel("listen", "0.0.0.0", PORT);
    await k.expect("listening");
    const f = lab.finwait(tun, [
      "connect",
      `${KERNEL_IP}:${PORT}`,
      "--send",
      "1MiB",
      "--close-after-bytes",
      "1MiB",
      "--msl",
      MSL,
      "--timeout",
      "50",
    ]);
    await k.expect("connected", 20_000);
    await k.send(`xfer ${MIB} ${MIB}`, "readall", "close");
    const x = await k.expect("xfer", 50_000);
    assert.equal(x.bytes, MIB);
    assert.equal(x.sha256, await patternSha256(MIB));
    const eof = await k.expect("read", 20_000);
    assert.equal(eof.eof, true);
    await k.expect("closed");
    assert.equal(await finwaitExit(f), 0, f.dump());
    const c = closed(f);
    assert.equal(c.reason, "normal");
    assert.equal(c.bytesIn, MIB);
    assert.equal(c.sha256In, x.sha256Out);
    const tr = finwaitTransitions(f.lines);
    assert.equal(tr.at(-1), "TIME-WAIT → CLOSED (time-wait-expired)");
    const n = await lab.nftCounters();
    assert.equal(n.fin_drop_finwait, 1, "finwait's first FIN was dropped (so it was sent again)");
    assert.equal(n.fin_drop_kernel, 1, "the kernel's first FIN was dropped (so it was sent again)");
    assert.equal(n.rst_from_finwait, 0);
    assert.equal(n.rst_from_kernel, 0);
    assert.ok(c.retransmissions >= 1, "finwait retransmitted (its FIN at least)");
    const snmp = await lab.snmp();
    assert.ok(snmp.RetransSegs >= 1, "the kernel retransmitted (its FIN at least)");
    await expectRsts(lab, f, { kernel: 0, finwait: 0 });
    const sum = summaryLine(f.lines)!;
    console.log(
      `lossy 1 MiB each way: finwait ${sum.retransmissions} retransmissions, ` +
        `kernel ${snmp.RetransSegs}; ${tr.join(", ")}`,
    );
  },
  async () => (await nftAvailable()) ? undefined : "nft (nftables) is not installed",
);
