/**
 * Two hosts in network namespaces joined by a veth pair, with loss and delay on the
 * link: `finwait listen` runs in one, `finwait connect` in the other, over UDP, and
 * the 1 MiB transfer and the close must succeed at 10 % loss and 20 ms each way.
 *
 * Needs root and `ip`. How the link is impaired, best first (the test prints which):
 *
 * 1. `tc qdisc … netem loss 10% delay 20ms` on both ends: all in the kernel.
 * 2. A kernel built without netem (CONFIG_NET_SCH_NETEM; `tc` then says "Specified
 *    qdisc kind is unknown"): the loss from nftables on both ends
 *    (`numgen random mod 100 < 10 drop`, when `nft` is installed), and the delay from
 *    finwait's own seeded impairment, `connect --delay 20`, which holds back every
 *    datagram that end sends or receives (so 20 ms each way). No other kernel
 *    mechanism delays packets without netem: `fq` and `etf` (which honour a departure
 *    time a BPF program could set) are usually built with it, `tbf` and `htb` only
 *    delay what exceeds a rate, and nftables has no delay (its `queue` to user space
 *    is a module of its own). On the kernel this was written on only `pfifo`, `tbf`,
 *    `htb` and `clsact` exist.
 * 3. No `tc` netem and no `nft`: loss and delay both from `connect --loss 10%
 *    --delay 20`.
 *
 * Anything else missing: the test is skipped with the reason printed. The namespaces
 * are always removed.
 */
import assert from "node:assert/strict";
import {
  CliProcess,
  closedLine,
  enteredAt,
  expectReceived,
  have,
  sh,
  transitions,
} from "./_cli_procs.ts";

const TAG = `${Deno.pid % 100000}`;
const NS_A = `fwA${TAG}`;
const NS_B = `fwB${TAG}`;
const DEV_A = `fwa${TAG}`;
const DEV_B = `fwb${TAG}`;
const IP_A = "10.97.0.1";
const IP_B = "10.97.0.2";
/**
 * 2·MSL must outlast the listener's FIN retransmissions when the final ACK is lost (RFC
 * 9293 §3.6: that is what TIME-WAIT is for). At 10 % loss each way a FIN and its ACK get
 * through together 81 % of the time; 4 s covers four retransmissions from a 200 ms RTO,
 * 0.5 s had covered one or two and once left the listener in LAST-ACK.
 */
const MSL = 2;
const BYTES = 1024 * 1024;
const LOSS = "10%";
const DELAY_MS = 20;

/** Why the test cannot run here, or undefined. */
async function skipReason(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "network namespaces need Linux";
  if (Deno.uid() !== 0) return "needs root (network namespaces, tc)";
  if (!(await have("ip"))) return "`ip` (iproute2) is not installed";
  const probe = `fwP${TAG}`;
  const made = await sh(["ip", "netns", "add", probe], false);
  if (!made.ok) return `cannot create a network namespace: ${made.out.trim()}`;
  await sh(["ip", "netns", "del", probe], false);
  return undefined;
}

const reason = await skipReason();
if (reason) console.log(`netns test skipped: ${reason}`);

async function teardown(): Promise<void> {
  await sh(["ip", "netns", "del", NS_A], false);
  await sh(["ip", "netns", "del", NS_B], false);
}

/** How the link is impaired: the text to print, and options for `connect`. */
interface Impairment {
  mechanism: string;
  connectArgs: string[];
}

/** Builds the two hosts; returns what impairs the link. */
async function setup(): Promise<Impairment> {
  await teardown();
  await sh(["ip", "netns", "add", NS_A]);
  await sh(["ip", "netns", "add", NS_B]);
  await sh([
    "ip",
    "link",
    "add",
    DEV_A,
    "netns",
    NS_A,
    "type",
    "veth",
    "peer",
    "name",
    DEV_B,
    "netns",
    NS_B,
  ]);
  for (const [ns, dev, ip] of [[NS_A, DEV_A, IP_A], [NS_B, DEV_B, IP_B]]) {
    await sh(["ip", "-n", ns, "addr", "add", `${ip}/30`, "dev", dev]);
    await sh(["ip", "-n", ns, "link", "set", dev, "up"]);
    await sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
  }
  const netem = (ns: string, dev: string, check: boolean) =>
    sh(
      ["ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root", "netem"]
        .concat(["loss", LOSS, "delay", `${DELAY_MS}ms`]),
      check,
    );
  const tried = (await have("tc"))
    ? await netem(NS_A, DEV_A, false)
    : { ok: false, out: "tc is not installed" };
  if (tried.ok) {
    await netem(NS_B, DEV_B, true);
    return {
      mechanism: `loss and delay: tc netem loss ${LOSS} delay ${DELAY_MS}ms on both ends (kernel)`,
      connectArgs: [],
    };
  }
  const why = tried.out.trim().split("\n")[0];
  // The delay, at least, comes from finwait's user-space impairment on one end.
  const delayArgs = ["--delay", String(DELAY_MS), "--seed", "1"];
  const userDelay =
    `delay: finwait connect --delay ${DELAY_MS}, both directions (user space, seeded)`;
  if (!(await have("nft"))) {
    return {
      mechanism: `loss: finwait connect --loss ${LOSS} (user space, seeded); ${userDelay}; ` +
        `tc netem unavailable (${why}), nft not installed`,
      connectArgs: [...delayArgs, "--loss", LOSS],
    };
  }
  for (const [ns, dev] of [[NS_A, DEV_A], [NS_B, DEV_B]]) {
    const nft = (...a: string[]) => sh(["ip", "netns", "exec", ns, "nft", ...a]);
    await nft("add", "table", "inet", "fwloss");
    await nft("add", "chain", "inet", "fwloss", "out", "{ type filter hook output priority 0 ; }");
    await nft(
      "add",
      "rule",
      "inet",
      "fwloss",
      "out",
      "oifname",
      dev,
      "numgen",
      "random",
      "mod",
      "100",
      "<",
      String(parseInt(LOSS)),
      "drop",
    );
  }
  return {
    mechanism: `loss: nftables ${LOSS} random drop on both ends (kernel); ${userDelay}; ` +
      `tc netem unavailable (${why})`,
    connectArgs: delayArgs,
  };
}

Deno.test({
  name:
    `netns: listen and connect in two namespaces, 1 MiB and the close succeed at 10 % loss, 20 ms${
      reason ? ` (skipped: ${reason})` : ""
    }`,
  ignore: reason !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let listener: CliProcess | undefined;
    try {
      const impairment = await setup();
      console.log(`netns link: ${impairment.mechanism}`);
      listener = new CliProcess(
        ["listen", "--bind", `${IP_B}:9811`, "--msl", String(MSL), "--json"],
        ["ip", "netns", "exec", NS_B],
      );
      await listener.waitFor((l) => l.type === "listening", 20_000, "listening");
      const connector = new CliProcess(
        [
          "connect",
          `${IP_B}:9811`,
          "--send",
          "1MiB",
          "--msl",
          String(MSL),
          "--timeout",
          "60",
          "--json",
          ...impairment.connectArgs,
        ],
        ["ip", "netns", "exec", NS_A],
      );
      const status = await connector.exit(70_000);
      assert.equal(
        status.code,
        0,
        `connect failed: ${await connector.stderr}\n${connector.dump()}`,
      );
      if (impairment.connectArgs.length > 0) {
        // The user-space impairment announced itself: it was really on this path.
        const note = connector.lines.find((l) => l.type === "note");
        assert.match(note?.type === "note" ? note.text : "", new RegExp(`delay ${DELAY_MS} ms`));
      }
      const sent = closedLine(connector.lines)!;
      assert.equal(sent.reason, "normal");
      assert.equal(sent.bytesAcked, BYTES);
      assert.equal(
        transitions(connector.lines, sent.conn).at(-1),
        "TIME-WAIT → CLOSED (time-wait-expired)",
      );
      const tw = enteredAt(connector.lines, sent.conn, "TIME-WAIT")!;
      assert.ok(enteredAt(connector.lines, sent.conn, "CLOSED")! - tw >= 2 * MSL - 0.005);
      const got = await expectReceived(listener, sent, BYTES);
      assert.equal(transitions(listener.lines, got.conn).at(-1), "LAST-ACK → CLOSED (rcv-ack)");
      const summary = connector.lines.at(-1);
      console.log(
        `netns: ${BYTES} B in ${
          (enteredAt(connector.lines, sent.conn, "FIN-WAIT-1")! -
            enteredAt(connector.lines, sent.conn, "ESTABLISHED")!).toFixed(1)
        } s, ` +
          `${summary?.type === "summary" ? summary.retransmissions : "?"} retransmissions`,
      );
    } finally {
      if (listener) await listener.interrupt();
      await teardown();
    }
  },
});
