/**
 * Terminal tests under tmux: a private tmux server per test (a dying one is never
 * reused, and the user's own server stays out of it), polling the pane instead of
 * sleeping.
 */

/**
 * Ink renders only the last frame when it thinks it runs under CI (the `is-in-ci`
 * package reads `CI`), and `.ci/run` sets CI=true: run the program under test as a
 * person would, in a terminal with no CI variables.
 */
export const NOT_CI = "env -u CI -u CONTINUOUS_INTEGRATION ";

/** Whether a tmux binary answers `tmux -V`. */
export async function hasTmux(): Promise<boolean> {
  try {
    return (await new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

/** One private tmux server. */
export class Tmux {
  constructor(
    readonly socket: string,
    readonly defaults: { timeout?: number; joinLines?: boolean } = {},
  ) {}

  /** Runs a tmux command on this server; returns its stdout. */
  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command("tmux", {
      args: ["-L", this.socket, ...args],
      // CI may run without TERM; tmux wants one to describe the pane's terminal.
      env: { TERM: Deno.env.get("TERM") || "xterm-256color" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  }

  /** Polls `session`'s pane until `test` holds; returns the screen. */
  async waitFor(
    session: string,
    what: string,
    test: (screen: string) => boolean,
    opts: { timeout?: number; joinLines?: boolean } = {},
  ): Promise<string> {
    const end = Date.now() + (opts.timeout ?? this.defaults.timeout ?? 20_000);
    const capture = opts.joinLines ?? this.defaults.joinLines
      ? ["capture-pane", "-p", "-J"]
      : ["capture-pane", "-p"];
    let screen = "";
    while (Date.now() < end) {
      screen = await this.run(...capture, "-t", session);
      if (test(screen)) return screen;
      await new Promise((r) => setTimeout(r, 40));
    }
    throw new Error(`Timed out waiting for ${what}; the screen:\n${screen}`);
  }

  /** Stops the server; never throws. */
  async kill(): Promise<void> {
    await this.run("kill-server").catch(() => {});
  }
}
