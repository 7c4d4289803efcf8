/**
 * `finwait listen` and `finwait connect` in a real terminal, under tmux: both show
 * the terminal UI; the connect side steps through TIME-WAIT to CLOSED, `q` leaves each
 * with the summary printed and the terminal restored; `--no-tui` keeps line output.
 * Skipped, with the reason printed, where tmux is missing. The screens are polled
 * (no fixed sleeps); a private tmux socket keeps the user's own tmux server out of it.
 */
import assert from "node:assert/strict";

/**
 * Ink renders only the last frame when it thinks it runs under CI (the `is-in-ci`
 * package reads `CI`), and `.ci/run` sets CI=true: run the program under test as a
 * person would, in a terminal with no CI variables.
 */
const NOT_CI = "env -u CI -u CONTINUOUS_INTEGRATION ";

const ROOT = new URL("../../", import.meta.url).pathname;
/** One private tmux server per test: a dying one is never reused. */
let socket = "";

async function tmux(...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", {
    args: ["-L", socket, ...args],
    env: { TERM: Deno.env.get("TERM") || "xterm-256color" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

async function hasTmux(): Promise<boolean> {
  try {
    return (await new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

const available = await hasTmux();
if (!available) console.log("net_tmux_test: skipped: tmux is not installed (apt-get install tmux)");

async function waitFor(
  session: string,
  what: string,
  test: (screen: string) => boolean,
  timeout = 15_000,
): Promise<string> {
  const end = Date.now() + timeout;
  let screen = "";
  while (Date.now() < end) {
    screen = await tmux("capture-pane", "-p", "-J", "-t", session);
    if (test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new Error(`Timed out waiting for ${what}; the screen:\n${screen}`);
}

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
  await tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", "-c", ROOT, cmd);
}

async function restored(session: string): Promise<string> {
  return (await tmux("display-message", "-p", "-t", session, "#{alternate_on} #{cursor_flag}"))
    .trim();
}

Deno.test({
  name:
    "tmux: listen and connect show the UI; connect goes TIME-WAIT then CLOSED; q prints the summary",
  ignore: !available,
  sanitizeResources: false,
  async fn() {
    socket = `finwait-net-test-${Deno.pid}-ui`;
    try {
      await start("listen", "listen --bind 127.0.0.1:0 --msl 0.5");
      let screen = await waitFor(
        "listen",
        "the listener's UI",
        (x) => /udp 127\.0\.0\.1:\d+ /.test(x),
      );
      assert.match(screen, /▶ RUNNING .*listen · udp 127\.0\.0\.1:\d+ \(TCP port \d+\) · sink/);
      assert.match(screen, /c close {2}h half-close {2}a abort {2}w write/);
      const port = /udp 127\.0\.0\.1:(\d+) /.exec(screen)![1];

      await start("connect", `connect 127.0.0.1:${port} --send 1000 --msl 0.5`);
      const seen: string[] = [];
      screen = await waitFor("connect", "the connection CLOSED", (x) => {
        const st = stateOf(x);
        if (st && st !== seen.at(-1)) seen.push(st);
        return st === "CLOSED";
      });
      assert.ok(seen.includes("TIME-WAIT"), `connect's badge went ${seen.join(", ")}`);
      assert.equal(seen.at(-1), "CLOSED");
      assert.ok(seen.indexOf("TIME-WAIT") < seen.indexOf("CLOSED"));
      assert.match(screen, /TIME-WAIT → CLOSED/);
      assert.match(screen, /Every connection CLOSED \(1 normal\)/);

      screen = await waitFor("listen", "the listener's close", (x) => stateOf(x) === "CLOSED");
      assert.match(screen, /LAST-ACK → CLOSED/);

      for (const s of ["connect", "listen"]) await tmux("send-keys", "-t", s, "q");
      screen = await waitFor("connect", "connect's exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /finwait-exit=0/);
      assert.match(screen, /closed \(normal\): .*sent 1000 B \(1000 acknowledged\)/);
      assert.match(screen, /summary: 1 connection\(s\), closed 1 normal/);
      assert.equal(await restored("connect"), "0 1");
      screen = await waitFor("listen", "listen's exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /finwait-exit=0/);
      assert.match(screen, /closed \(normal\): received 1000 B/);
      assert.match(screen, /summary: 1 connection\(s\), closed 1 normal; received 1000 B/);
      assert.equal(await restored("listen"), "0 1");
    } finally {
      await tmux("kill-server").catch(() => {});
    }
  },
});

Deno.test({
  name: "tmux: listen --no-tui prints lines on a terminal; Ctrl-C prints the summary",
  ignore: !available,
  sanitizeResources: false,
  async fn() {
    socket = `finwait-net-test-${Deno.pid}-lines`;
    try {
      await start("lines", "listen --bind 127.0.0.1:0 --no-tui");
      await waitFor(
        "lines",
        "the listening line",
        (x) => /listening on udp 127\.0\.0\.1:\d+/.test(x),
      );
      assert.equal(await restored("lines"), "0 1");
      await tmux("send-keys", "-t", "lines", "C-c");
      const screen = await waitFor("lines", "the exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /summary: 0 connection\(s\)/);
      assert.match(screen, /finwait-exit=0/);
    } finally {
      await tmux("kill-server").catch(() => {});
    }
  },
});
