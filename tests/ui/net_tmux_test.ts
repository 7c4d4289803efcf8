/**
 * `finwait listen` and `finwait connect` in a real terminal, under tmux: both show
 * the terminal UI; the connect side steps through TIME-WAIT to CLOSED, `q` leaves each
 * with the summary printed and the terminal restored; `--no-tui` keeps line output.
 * Skipped, with the reason printed, where tmux is missing. The screens are polled
 * (no fixed sleeps); a private tmux socket keeps the user's own tmux server out of it.
 */
import assert from "node:assert/strict";
import { hasTmux, NOT_CI, Tmux } from "../_helpers/tmux.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The test's private tmux server (a new one per test). */
let t = new Tmux("");

const available = await hasTmux();
if (!available) console.log("net_tmux_test: skipped: tmux is not installed (apt-get install tmux)");

/** The badge on the row of connection #1. */
function stateOf(screen: string): string | undefined {
  for (const line of screen.split("\n")) {
    const m = /^│[▶ ]#1 {2}([A-Z][A-Z0-9-]+) /.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

async function start(session: string, args: string): Promise<void> {
  const cmd =
    `${NOT_CI}${Deno.execPath()} run -A src/cli/main.ts ${args}; echo "finwait-exit=$?"; sleep 60`;
  await t.run("new-session", "-d", "-s", session, "-x", "120", "-y", "36", "-c", ROOT, cmd);
}

async function restored(session: string): Promise<string> {
  return (await t.run("display-message", "-p", "-t", session, "#{alternate_on} #{cursor_flag}"))
    .trim();
}

Deno.test({
  name:
    "tmux: listen and connect show the UI; connect goes TIME-WAIT then CLOSED; q prints the summary",
  ignore: !available,
  sanitizeResources: false,
  async fn() {
    t = new Tmux(`finwait-net-test-${Deno.pid}-ui`, { timeout: 15_000, joinLines: true });
    try {
      await start("listen", "listen --bind 127.0.0.1:0 --msl 0.5");
      let screen = await t.waitFor(
        "listen",
        "the listener's UI",
        (x) => /udp 127\.0\.0\.1:\d+ /.test(x),
      );
      assert.match(screen, /▶ RUNNING .*listen · udp 127\.0\.0\.1:\d+ \(TCP port \d+\) · sink/);
      assert.match(screen, /c close {2}h half-close {2}a abort {2}w write/);
      const port = /udp 127\.0\.0\.1:(\d+) /.exec(screen)![1];

      await start("connect", `connect 127.0.0.1:${port} --send 1000 --msl 0.5`);
      const seen: string[] = [];
      screen = await t.waitFor("connect", "the connection CLOSED", (x) => {
        const st = stateOf(x);
        if (st && st !== seen.at(-1)) seen.push(st);
        return st === "CLOSED";
      });
      assert.ok(seen.includes("TIME-WAIT"), `connect's badge went ${seen.join(", ")}`);
      assert.equal(seen.at(-1), "CLOSED");
      assert.ok(seen.indexOf("TIME-WAIT") < seen.indexOf("CLOSED"));
      assert.match(screen, /TIME-WAIT → CLOSED/);
      assert.match(screen, /Every connection CLOSED \(1 normal\)/);

      screen = await t.waitFor("listen", "the listener's close", (x) => stateOf(x) === "CLOSED");
      assert.match(screen, /LAST-ACK → CLOSED/);

      for (const s of ["connect", "listen"]) await t.run("send-keys", "-t", s, "q");
      screen = await t.waitFor("connect", "connect's exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /finwait-exit=0/);
      assert.match(screen, /closed \(normal\): .*sent 1000 B \(1000 acknowledged\)/);
      assert.match(screen, /summary: 1 connection\(s\), closed 1 normal/);
      assert.equal(await restored("connect"), "0 1");
      screen = await t.waitFor("listen", "listen's exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /finwait-exit=0/);
      assert.match(screen, /closed \(normal\): received 1000 B/);
      assert.match(screen, /summary: 1 connection\(s\), closed 1 normal; received 1000 B/);
      assert.equal(await restored("listen"), "0 1");
    } finally {
      await t.kill();
    }
  },
});

Deno.test({
  name: "tmux: listen --no-tui prints lines on a terminal; Ctrl-C prints the summary",
  ignore: !available,
  sanitizeResources: false,
  async fn() {
    t = new Tmux(`finwait-net-test-${Deno.pid}-lines`, { timeout: 15_000, joinLines: true });
    try {
      await start("lines", "listen --bind 127.0.0.1:0 --no-tui");
      await t.waitFor(
        "lines",
        "the listening line",
        (x) => /listening on udp 127\.0\.0\.1:\d+/.test(x),
      );
      assert.equal(await restored("lines"), "0 1");
      await t.run("send-keys", "-t", "lines", "C-c");
      const screen = await t.waitFor("lines", "the exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /summary: 0 connection\(s\)/);
      assert.match(screen, /finwait-exit=0/);
    } finally {
      await t.kill();
    }
  },
});
