/**
 * The real terminal, under tmux: `deno task demo`, press `c`, watch A's badge go
 * FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED, resize, quit with `q` (and Ctrl-C),
 * and find the terminal restored. Skipped, with the reason printed, where tmux is
 * missing. The screen is polled (no fixed sleeps); a private tmux socket keeps the
 * user's own tmux server out of it.
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
    // CI may run without TERM; tmux wants one to describe the pane's terminal.
    env: { TERM: Deno.env.get("TERM") || "xterm-256color" },
    stdout: "piped",
    stderr: "piped",
  })
    .output();
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
if (!available) console.log("tmux_test: skipped: tmux is not installed (apt-get install tmux)");

/** Polls the pane until `test` holds; returns the screen. */
async function waitFor(
  session: string,
  what: string,
  test: (screen: string) => boolean,
  timeout = 20_000,
): Promise<string> {
  const end = Date.now() + timeout;
  let screen = "";
  while (Date.now() < end) {
    screen = await tmux("capture-pane", "-p", "-t", session);
    if (test(screen)) return screen;
    await new Promise((r) => setTimeout(r, 40));
  }
  throw new Error(`Timed out waiting for ${what}; the screen:\n${screen}`);
}

/** A's badge on the row of connection #1 (the left pane comes first on the line). */
function stateOfA(screen: string): string | undefined {
  for (const line of screen.split("\n")) {
    const m = /^│[▶ ]#1 {2}([A-Z][A-Z0-9-]+) /.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

async function startDemo(session: string, args: string): Promise<void> {
  socket = `finwait-test-${Deno.pid}-${session}`;
  const cmd = `${NOT_CI}${Deno.execPath()} task demo ${args}; echo "finwait-exit=$?"; sleep 60`;
  await tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", "-c", ROOT, cmd);
}

Deno.test({
  name:
    "tmux: deno task demo, press c: FIN-WAIT-1, FIN-WAIT-2, TIME-WAIT, CLOSED in order; q exits clean",
  ignore: !available,
  sanitizeResources: false,
  async fn() {
    const s = "demo";
    try {
      await startDemo(s, "--speed 0.1 --msl 0.1 --hold 30");
      let screen = await waitFor(s, "the demo's first frame", (x) => stateOfA(x) === "ESTABLISHED");
      assert.match(screen, /▶ RUNNING .*normal-close · simulated network · seed 1/);
      assert.match(screen, /\? help {2}q quit/);

      // Resize: the next frame fits the new width.
      await tmux("resize-window", "-t", s, "-x", "100", "-y", "32");
      screen = await waitFor(s, "a redraw at 100 columns", (x) => {
        const border = x.split("\n").find((l) => l.startsWith("┌─ A"));
        return border !== undefined && border.length === 100;
      });

      await tmux("send-keys", "-t", s, "c");
      const seen: string[] = [];
      screen = await waitFor(s, "A to reach CLOSED", (x) => {
        const st = stateOfA(x);
        if (st && st !== seen.at(-1)) seen.push(st);
        return st === "CLOSED";
      });
      assert.deepEqual(
        seen,
        ["ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSED"],
        `A's badge went ${seen.join(", ")}; the screen:\n${screen}`,
      );
      // The diagram kept the whole story, in RFC notation.
      assert.match(screen, /ESTABLISHED → FIN-WAIT-1 --> <SEQ=100><ACK=300><CTL=FIN,ACK>/);
      assert.match(screen, /FIN-WAIT-2 → TIME-WAIT <-- <SEQ=300><ACK=101><CTL=FIN,ACK>/);
      assert.match(screen, /TIME-WAIT → CLOSED/);

      await tmux("send-keys", "-t", s, "q");
      screen = await waitFor(s, "the exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /finwait-exit=0/);
      assert.match(screen, /demo normal-close: A CLOSED \(normal\), B CLOSED \(normal\)/);
      // Restored: main screen, cursor visible.
      assert.equal(
        (await tmux("display-message", "-p", "-t", s, "#{alternate_on} #{cursor_flag}")).trim(),
        "0 1",
      );
    } finally {
      await tmux("kill-server").catch(() => {});
    }
  },
});

Deno.test({
  name: "tmux: Ctrl-C leaves the demo and restores the terminal",
  ignore: !available,
  sanitizeResources: false,
  async fn() {
    const s = "ctrlc";
    try {
      await startDemo(s, "lossy-close --hold 0");
      await waitFor(s, "the demo's first frame", (x) => stateOfA(x) !== undefined);
      await tmux("send-keys", "-t", s, "C-c");
      const screen = await waitFor(s, "the exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /finwait-exit=0/);
      assert.match(screen, /demo lossy-close: /);
      assert.equal(
        (await tmux("display-message", "-p", "-t", s, "#{alternate_on} #{cursor_flag}")).trim(),
        "0 1",
      );
    } finally {
      await tmux("kill-server").catch(() => {});
    }
  },
});
