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
  type JsonProcess,
  KERNEL_IP,
  Lab,
  labSkipReason,
  nftAvailable,
  patternSha256,
  pythonAvailable,
  type SsSocket,
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

type Peer = "kernel" | "python";

/** Starts `finwait tun … listen PORT` and waits for its listening line. */
async function finwaitListen(lab: Lab, tun: string[], args: string[]): Promise<CliProcess> {
  const f = lab.finwait(tun, ["listen", String(PORT), "--exit-after", "1", "--msl", MSL, ...args]);
  await f.waitFor((l) => l.type === "listening", 20_000, "finwait listening");
  return f;
}

/** Starts the kernel side (Deno or Python) connecting to finwait; waits until connected. */
async function peerConnect(lab: Lab, peer: Peer = "kernel"): Promise<JsonProcess> {
  const k = lab[peer]("connect", FINWAIT_IP, PORT);
  await k.expect("connected");
  return k;
}

/**
 * Starts the kernel side (Deno or Python) listening on PORT, then `finwait tun <tun>
 * connect KERNEL:PORT <args> --msl MSL`; waits until the kernel side is connected.
 */
async function finwaitConnect(
  lab: Lab,
  tun: string[],
  args: string[],
  peer: Peer = "kernel",
): Promise<{ f: CliProcess; k: JsonProcess }> {
  const k = lab[peer]("listen", "0.0.0.0", PORT);
  await k.expect("listening");
  const f = lab.finwait(tun, ["connect", `${KERNEL_IP}:${PORT}`, ...args, "--msl", MSL]);
  await k.expect("connected");
  return { f, k };
}

/** Waits for finwait to exit; returns its exit code. */
async function finwaitExit(f: CliProcess): Promise<number> {
  const st = await f.exit(30_000);
  return st.code;
}

const PASSIVE_OPEN = ["LISTEN → SYN-RECEIVED (rcv-syn)", "SYN-RECEIVED → ESTABLISHED (rcv-ack)"];
const ACTIVE_OPEN = ["CLOSED → SYN-SENT (open)", "SYN-SENT → ESTABLISHED (rcv-syn-ack)"];
const PASSIVE_CLOSE = [
  "ESTABLISHED → CLOSE-WAIT (rcv-fin)",
  "CLOSE-WAIT → LAST-ACK (close)",
  "LAST-ACK → CLOSED (rcv-ack)",
];
const ACTIVE_CLOSE = [
  "ESTABLISHED → FIN-WAIT-1 (close)",
  "FIN-WAIT-1 → FIN-WAIT-2 (rcv-ack)",
  "FIN-WAIT-2 → TIME-WAIT (rcv-fin)",
  "TIME-WAIT → CLOSED (time-wait-expired)",
];

/** finwait exits 0, and its state lines are exactly `open` then `close`. */
async function expectExitAndTransitions(
  f: CliProcess,
  open: string[],
  close: string[],
): Promise<void> {
  assert.equal(await finwaitExit(f), 0, f.dump());
  assert.deepEqual(finwaitTransitions(f.lines), [...open, ...close]);
}

/** The kernel side's line `l` carries `n` bytes of the connect pattern (and EOF, if `eof`). */
async function expectPattern(l: Record<string, unknown>, n: number, eof = false): Promise<void> {
  assert.equal(l.bytes, n);
  if (eof) assert.equal(l.eof, true);
  assert.equal(l.sha256, await patternSha256(n));
}

type Closed = Extract<NetLine, { type: "closed" }>;

/** finwait's closed line, which must exist. */
function closed(f: CliProcess): Closed {
  const c = closedLine(f.lines);
  assert.ok(c, `finwait printed no closed line:\n${f.dump()}`);
  return c;
}

/** finwait's closed line, which must be a normal close with the given fields. */
function closedNormally(
  f: CliProcess,
  want: { bytesIn?: number; sha256In?: unknown; bytesAcked?: number } = {},
): Closed {
  const c = closed(f);
  assert.equal(c.reason, "normal");
  if (want.bytesIn !== undefined) assert.equal(c.bytesIn, want.bytesIn);
  if (want.sha256In !== undefined) assert.equal(c.sha256In, want.sha256In);
  if (want.bytesAcked !== undefined) assert.equal(c.bytesAcked, want.bytesAcked);
  return c;
}

/** finwait's state lines. */
function stateLines(f: CliProcess): Extract<NetLine, { type: "state" }>[] {
  return f.lines.filter((l) => l.type === "state") as Extract<NetLine, { type: "state" }>[];
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

/** No RST on either side, and no checksum error. */
const expectNoRsts = (lab: Lab, f: CliProcess) => expectRsts(lab, f, { kernel: 0, finwait: 0 });

const isKernelTo = (port: number) => (s: { local: string; peer: string }) =>
  s.peer === `${FINWAIT_IP}:${port}` || s.local === `${KERNEL_IP}:${port}`;

/** Waits (up to 5 s) for a kernel socket matching `mine` in TIME-WAIT. */
function kernelTimeWait(
  lab: Lab,
  mine: (s: SsSocket) => boolean = () => true,
): Promise<SsSocket> {
  return lab.waitSocket(
    (s) => s.state === "TIME-WAIT" && mine(s),
    5_000,
    "the kernel socket in TIME-WAIT",
  );
}

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
    const k = await peerConnect(lab);
    await k.send("write 100000", "close");
    const wrote = await k.expect("wrote");
    await k.expect("closed");
    await expectExitAndTransitions(f, PASSIVE_OPEN, PASSIVE_CLOSE);
    closedNormally(f, { bytesIn: 100000, sha256In: wrote.sha256 });
    const tw = await kernelTimeWait(lab, (s) => s.peer === `${FINWAIT_IP}:${PORT}`);
    assert.equal(tw.local.startsWith(`${KERNEL_IP}:`), true);
    await expectNoRsts(lab, f);
  },
);

interop(
  "kernel server closes first: finwait client CLOSE-WAIT → LAST-ACK → CLOSED, kernel in TIME-WAIT",
  async (lab) => {
    const { f, k } = await finwaitConnect(lab, [], ["--send", "50000", "--close", "passive"]);
    await k.send("read 50000", "write 70000", "close");
    await expectPattern(await k.expect("read"), 50000);
    const wrote = await k.expect("wrote");
    await k.expect("closed");
    await expectExitAndTransitions(f, ACTIVE_OPEN, PASSIVE_CLOSE);
    closedNormally(f, { bytesIn: 70000, sha256In: wrote.sha256, bytesAcked: 50000 });
    await kernelTimeWait(lab, (s) => s.local === `${KERNEL_IP}:${PORT}`);
    await expectNoRsts(lab, f);
  },
);

// ----------------------------------------------------------- finwait closes first

/**
 * After finwait's FIN the kernel socket must sit in CLOSE-WAIT (ss), and after its
 * close() in LAST-ACK until finwait's ACK (held 150 ms each way by `--delay`).
 */
async function kernelPassiveClose(
  lab: Lab,
  k: JsonProcess,
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
    const k = await peerConnect(lab);
    await k.send("write 20000", "readall");
    await k.expect("wrote");
    const eof = await k.expect("read");
    assert.equal(eof.eof, true);
    await kernelPassiveClose(lab, k, isKernelTo(PORT));
    await expectExitAndTransitions(f, PASSIVE_OPEN, ACTIVE_CLOSE);
    expectTimeWait(f.lines);
    closedNormally(f);
    await expectNoRsts(lab, f);
  },
);

interop(
  "finwait client closes first: finwait TIME-WAIT; kernel CLOSE-WAIT → LAST-ACK",
  async (lab) => {
    const { f, k } = await finwaitConnect(lab, ["--delay", "150"], ["--send", "20000"]);
    await k.send("readall");
    await expectPattern(await k.expect("read"), 20000, true);
    await kernelPassiveClose(lab, k, isKernelTo(PORT));
    await expectExitAndTransitions(f, ACTIVE_OPEN, ACTIVE_CLOSE);
    expectTimeWait(f.lines);
    await expectNoRsts(lab, f);
  },
);

// ------------------------------------------------------------ both close at once

/**
 * The FINs cross: with 250 ms each way, the kernel closes 125 ms after its data went
 * out, finwait as soon as the data arrived, so each FIN is in flight while the other
 * side is already in FIN-WAIT-1 and both go through CLOSING into TIME-WAIT.
 */
async function simultaneous(lab: Lab, f: CliProcess, k: JsonProcess) {
  const mine = isKernelTo(PORT);
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
  closedNormally(f);
  assert.ok(seen.includes("CLOSING"), `kernel states: ${seen.join(", ")}`);
  assert.equal(seen.at(-1), "TIME-WAIT", `kernel states: ${seen.join(", ")}`);
  await expectNoRsts(lab, f);
}

interop("both close at once (finwait server): both sides CLOSING → TIME-WAIT", async (lab) => {
  const f = await finwaitListen(lab, ["--delay", "250"], ["--close-after-bytes", "1000"]);
  await simultaneous(lab, f, await peerConnect(lab));
});

interop("both close at once (finwait client): both sides CLOSING → TIME-WAIT", async (lab) => {
  const { f, k } = await finwaitConnect(lab, ["--delay", "250"], [
    "--send",
    "0",
    "--close-after-bytes",
    "1000",
  ]);
  await simultaneous(lab, f, k);
});

// ------------------------------------------------------------------- half-close

interop(
  "half-close: finwait shuts down first, then reads 40000 B the kernel sends after the FIN",
  async (lab) => {
    const { f, k } = await finwaitConnect(lab, [], ["--send", "30000", "--close", "half"]);
    await k.send("readall", "write 40000", "close");
    await expectPattern(await k.expect("read"), 30000, true);
    const wrote = await k.expect("wrote");
    await k.expect("closed");
    assert.equal(await finwaitExit(f), 0, f.dump());
    const states = stateLines(f);
    const fw1 = states.find((l) => l.to === "FIN-WAIT-1")!;
    const tw = states.find((l) => l.to === "TIME-WAIT")!;
    assert.equal(fw1.bytesIn, 0, "nothing came in before our FIN");
    assert.equal(tw.from, "FIN-WAIT-2");
    assert.equal(tw.bytesIn, 40000, "the kernel's data came in after our FIN");
    closedNormally(f, { sha256In: wrote.sha256 });
    expectTimeWait(f.lines);
    await expectNoRsts(lab, f);
  },
);

interop(
  "half-close: the kernel shuts down first, finwait sends 40000 B in CLOSE-WAIT",
  async (lab) => {
    const f = await finwaitListen(lab, [], ["--send", "40000", "--send-after-fin"]);
    const k = await peerConnect(lab);
    await k.send("write 30000", "shutdown", "readall", "close");
    const wrote = await k.expect("wrote");
    await k.expect("shutdown");
    const read = await k.expect("read");
    await k.expect("closed");
    await expectPattern(read, 40000, true);
    assert.equal(await finwaitExit(f), 0, f.dump());
    assert.deepEqual(stateLines(f).slice(-3).map((l) => [l.from, l.to, l.bytesOut]), [
      ["ESTABLISHED", "CLOSE-WAIT", 0],
      ["CLOSE-WAIT", "LAST-ACK", 40000],
      ["LAST-ACK", "CLOSED", 40000],
    ]);
    closedNormally(f, { bytesIn: 30000, sha256In: wrote.sha256 });
    await kernelTimeWait(lab);
    await expectNoRsts(lab, f);
  },
);

// ------------------------------------------------------------------- resets

/** The kernel side reads until the connection is reset. */
async function expectConnectionReset(k: JsonProcess): Promise<Record<string, unknown>> {
  const err = await k.expect("error");
  assert.equal(err.error, "ConnectionReset", JSON.stringify(err));
  return err;
}

/** finwait's abort: it exits 0 having sent one RST, and the kernel socket is gone. */
async function expectAborted(lab: Lab, f: CliProcess): Promise<Closed> {
  assert.equal(await finwaitExit(f), 0, f.dump());
  const c = closed(f);
  assert.equal(c.reason, "aborted");
  assert.equal((await lab.ss()).filter(isKernelTo(PORT)).length, 0);
  await expectRsts(lab, f, { kernel: 0, finwait: 1 });
  return c;
}

interop("finwait client aborts: the kernel reads ECONNRESET", async (lab) => {
  const { f, k } = await finwaitConnect(lab, [], ["--send", "30000", "--close", "abort"]);
  await k.send("readall");
  const err = await expectConnectionReset(k);
  assert.equal(err.bytes, 30000, "everything sent was read before the RST");
  await expectAborted(lab, f);
  assert.equal(finwaitTransitions(f.lines).at(-1), "ESTABLISHED → CLOSED (abort)");
  assert.equal((await lab.snmp()).EstabResets, 1);
});

interop("finwait server aborts: the kernel reads ECONNRESET", async (lab) => {
  const f = await finwaitListen(lab, [], ["--close", "abort", "--close-after-bytes", "30000"]);
  const k = await peerConnect(lab);
  await k.send("write 30000", "readall");
  await k.expect("wrote");
  await expectConnectionReset(k);
  assert.equal((await expectAborted(lab, f)).bytesIn, 30000);
});

/**
 * The kernel reads 1 byte, waits until the rest is queued unread, then closes: RST
 * (RFC 2525 §2.17). From Python: Deno's `close()` shuts the write side down first (a
 * FIN, then the RST), so it cannot show this close cleanly.
 */
async function unreadClose(lab: Lab, k: JsonProcess, n: number): Promise<void> {
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

/** The Python side reads all `n` bytes, sets SO_LINGER 0 and closes: RST. */
async function linger0Close(_lab: Lab, p: JsonProcess, n: number): Promise<void> {
  await p.send(`read ${n}`, "linger0", "close");
  assert.equal((await p.expect("read")).bytes, n);
  await p.expect("linger0");
  await p.expect("closed");
}

/** finwait exits with `code` and reports a reset; only the kernel sent an RST. */
async function expectReset(lab: Lab, f: CliProcess, code: number, msg?: string): Promise<void> {
  assert.equal(await finwaitExit(f), code, msg);
  assert.equal(closed(f).reason, "reset");
  await expectRsts(lab, f, { kernel: 1, finwait: 0 });
}

const pythonResets: [string, number, typeof unreadClose][] = [
  ["unread data", 10000, unreadClose],
  ["SO_LINGER 0", 5000, linger0Close],
];
for (const [how, n, close] of pythonResets) {
  interop(
    `kernel client closes with ${how} (Python): RST, finwait reports reset`,
    async (lab) => {
      const f = await finwaitListen(lab, [], ["--send", String(n)]);
      await close(lab, await peerConnect(lab, "python"), n);
      await expectReset(lab, f, 0, f.dump());
      assert.equal(finwaitTransitions(f.lines).at(-1), "ESTABLISHED → CLOSED (rcv-rst)");
    },
    needPython,
  );

  interop(
    `kernel server closes with ${how} (Python): RST, finwait client reports reset`,
    async (lab) => {
      const { f, k } = await finwaitConnect(
        lab,
        [],
        ["--send", String(n), "--close", "passive"],
        "python",
      );
      await close(lab, k, n);
      await expectReset(lab, f, 1, "a reset is not the normal close connect waits for");
      assert.match(await f.stderr, /ended with "reset", not "normal"/);
    },
    needPython,
  );
}

// ------------------------------------------------------------------- 1 MiB each way

interop("1 MiB each way intact, then the kernel closes first", async (lab) => {
  const f = await finwaitListen(lab, [], ["--send", "1MiB"]);
  const k = await peerConnect(lab);
  await k.send(`xfer ${MIB} ${MIB}`, "close");
  const x = await k.expect("xfer", 30_000);
  await k.expect("closed");
  await expectPattern(x, MIB);
  assert.equal(await finwaitExit(f), 0, f.dump());
  closedNormally(f, { bytesIn: MIB, sha256In: x.sha256Out, bytesAcked: MIB });
  assert.equal(finwaitTransitions(f.lines).at(-1), "LAST-ACK → CLOSED (rcv-ack)");
  await kernelTimeWait(lab);
  await expectNoRsts(lab, f);
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
    const { f, k } = await finwaitConnect(lab, tun, [
      "--send",
      "1MiB",
      "--close-after-bytes",
      "1MiB",
      "--timeout",
      "50",
    ]);
    await k.send(`xfer ${MIB} ${MIB}`, "readall", "close");
    const x = await k.expect("xfer", 50_000);
    await expectPattern(x, MIB);
    const eof = await k.expect("read", 20_000);
    assert.equal(eof.eof, true);
    await k.expect("closed");
    assert.equal(await finwaitExit(f), 0, f.dump());
    const c = closedNormally(f, { bytesIn: MIB, sha256In: x.sha256Out });
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
    await expectNoRsts(lab, f);
    const sum = summaryLine(f.lines)!;
    console.log(
      `lossy 1 MiB each way: finwait ${sum.retransmissions} retransmissions, ` +
        `kernel ${snmp.RetransSegs}; ${tr.join(", ")}`,
    );
  },
  async () => (await nftAvailable()) ? undefined : "nft (nftables) is not installed",
);
