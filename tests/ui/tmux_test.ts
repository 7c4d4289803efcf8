/**
 * The real terminal, under tmux: `deno task demo`, press `c`, watch A's badge go
 * FIN-WAIT-1 → FIN-WAIT-2 → TIME-WAIT → CLOSED, resize, quit with `q` (and Ctrl-C),
 * and find the terminal restored. Skipped, with the reason printed, where tmux is
 * missing. The screen is polled (no fixed sleeps); a private tmux socket keeps the
 * user's own tmux server out of it.
 */
import assert from "node:assert/strict";
import { hasTmux, NOT_CI, Tmux } from "../_helpers/tmux.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The test's private tmux server (a new one per test). */
let t = new Tmux("");

const available = await hasTmux();
if (!available) console.log("tmux_test: skipped: tmux is not installed (apt-get install tmux)");

/** A's badge on the row of connection #1 (the left pane comes first on the line). */
function stateOfA(screen: string): string | undefined {
  for (const line of screen.split("\n")) {
    const m = /^│[▶ ]#1 {2}([A-Z][A-Z0-9-]+) /.exec(line);
    if (m) return m[1];
  }
  return undefined;
}

async function startDemo(session: string, args: string): Promise<void> {
  t = new Tmux(`finwait-test-${Deno.pid}-${session}`);
  const cmd = `${NOT_CI}${Deno.execPath()} task demo ${args}; echo "finwait-exit=$?"; sleep 60`;
  await t.run("new-session", "-d", "-s", session, "-x", "120", "-y", "36", "-c", ROOT, cmd);
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
      let screen = await t.waitFor(
        s,
        "the demo's first frame",
        (x) => stateOfA(x) === "ESTABLISHED",
      );
      assert.match(screen, /▶ RUNNING .*normal-close · simulated network · seed 1/);
      assert.match(screen, /\? help {2}q quit/);

      // Resize: the next frame fits the new width.
      await t.run("resize-window", "-t", s, "-x", "100", "-y", "32");
      screen = await t.waitFor(s, "a redraw at 100 columns", (x) => {
        const border = x.split("\n").find((l) => l.startsWith("┌─ A"));
        return border !== undefined && border.length === 100;
      });

      await t.run("send-keys", "-t", s, "c");
      const seen: string[] = [];
      screen = await t.waitFor(s, "A to reach CLOSED", (x) => {
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

      await t.run("send-keys", "-t", s, "q");
      screen = await t.waitFor(s, "the exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /finwait-exit=0/);
      assert.match(screen, /demo normal-close: A CLOSED \(normal\), B CLOSED \(normal\)/);
      // Restored: main screen, cursor visible.
      assert.equal(
        (await t.run("display-message", "-p", "-t", s, "#{alternate_on} #{cursor_flag}")).trim(),
        "0 1",
      );
    } finally {
      await t.kill();
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
      await t.waitFor(s, "the demo's first frame", (x) => stateOfA(x) !== undefined);
      await t.run("send-keys", "-t", s, "C-c");
      const screen = await t.waitFor(s, "the exit", (x) => x.includes("finwait-exit="));
      assert.match(screen, /finwait-exit=0/);
      assert.match(screen, /demo lossy-close: /);
      assert.equal(
        (await t.run("display-message", "-p", "-t", s, "#{alternate_on} #{cursor_flag}")).trim(),
        "0 1",
      );
    } finally {
      await t.kill();
    }
  },
});
