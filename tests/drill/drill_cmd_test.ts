/**
 * `finwait drill`: one verdict per script, failures with the line, the expected
 * line and what the engine did, malformed scripts with line and reason, the
 * summary `N passed, N failed`, and a non-zero exit on any failure.
 */
import assert from "node:assert/strict";
import { drillFiles } from "../../src/cli/drill_cmd.ts";

const GOOD = [
  "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
  "+0 bind(3, ..., ...) = 0",
  "+0 listen(3, 1) = 0",
  "+0 < S 0:0(0) win 65535 <mss 1460>",
  "+0 > S. 0:0(0) ack 1 win 65535 <mss 1460>",
].join("\n");
const WRONG = GOOD.replace("> S.", "> R.");
const MALFORMED = "--tolerance_usecs=1000\n0 close(3) = 0\n+0 < Z 0:0(0) win 1\n";
const FILES: Record<string, string> = {
  "good.pkt": GOOD,
  "wrong.pkt": WRONG,
  "malformed.pkt": MALFORMED,
};

function cli(files: string[], verbose = false) {
  const out: string[] = [];
  const totals = drillFiles(
    files,
    { profile: "finwait", verbose, tolerance: 4 },
    (l) => out.push(l),
    (p) => {
      if (!(p in FILES)) throw new Error(`No such file "${p}"`);
      return FILES[p];
    },
  );
  return { out, totals };
}

Deno.test("drill cli: a passing script is one line and the summary follows", () => {
  const { out, totals } = cli(["good.pkt"]);
  assert.deepEqual(out, ["PASS good.pkt (5 lines, 0.000 s virtual)", "1 passed, 0 failed"]);
  assert.deepEqual([totals.passed, totals.failed], [1, 0]);
});

Deno.test("drill cli: a failure names the line, the expected line and what the engine did", () => {
  const { out, totals } = cli(["good.pkt", "wrong.pkt"]);
  assert.deepEqual(out, [
    "PASS good.pkt (5 lines, 0.000 s virtual)",
    "FAIL wrong.pkt",
    "  line 5: expected  +0 > R. 0:0(0) ack 1 win 65535 <mss 1460>",
    "  instead,  the engine sent `S. 0:0(0) ack 1 win 65535 <mss 1460>` at 0.000 s: " +
    "flags S. (SYN, ACK) where the script expects R. (RST, ACK)",
    "1 passed, 1 failed",
  ]);
  assert.equal(totals.failed, 1);
});

Deno.test("drill cli: a malformed script fails with line number and reason; ignored lines listed", () => {
  const { out } = cli(["malformed.pkt"]);
  assert.deepEqual(out, [
    "FAIL malformed.pkt: malformed script",
    '  line 3: Unknown TCP flag "Z" in "Z": use S, F, R, P, ., U, E or W',
    "  ignored line 1: --tolerance_usecs=1000 (option line, not applied)",
    "0 passed, 1 failed",
  ]);
});

Deno.test("drill cli: an unreadable file is a failure, not a crash", () => {
  const { out, totals } = cli(["missing.pkt", "good.pkt"]);
  assert.deepEqual(out.slice(0, 2), [
    "FAIL missing.pkt",
    '  cannot read the file: No such file "missing.pkt"',
  ]);
  assert.equal(out.at(-1), "1 passed, 1 failed");
  assert.equal(totals.failed, 1);
});

Deno.test("drill cli: --verbose prints the timeline", () => {
  const { out } = cli(["good.pkt"], true);
  assert.ok(
    out.some((l) => /^ {4}0\.000 s {2}line 5 {2}> S\. 0:0\(0\) ack 1/.test(l)),
    out.join("\n"),
  );
});

Deno.test("drill cli: the real command exits non-zero on any failure, without a stack trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/good.pkt`, GOOD);
    await Deno.writeTextFile(`${dir}/malformed.pkt`, MALFORMED);
    const main = new URL("../../src/cli/main.ts", import.meta.url).pathname;
    const runCli = async (...args: string[]) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-env", main, "drill", ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
      return { code: r.code, text };
    };
    const ok = await runCli(`${dir}/good.pkt`);
    assert.equal(ok.code, 0, ok.text);
    assert.match(ok.text, /^1 passed, 0 failed$/m);
    const bad = await runCli(`${dir}/good.pkt`, `${dir}/malformed.pkt`);
    assert.equal(bad.code, 1, bad.text);
    assert.match(bad.text, /line 3: Unknown TCP flag "Z"/);
    assert.match(bad.text, /^1 passed, 1 failed$/m);
    assert.doesNotMatch(bad.text, /\n\s+at /, "a stack trace was printed");
    const usage = await runCli("--profile", "solaris", `${dir}/good.pkt`);
    assert.notEqual(usage.code, 0);
    assert.match(usage.text, /profile must be one of finwait, linux, freebsd/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
