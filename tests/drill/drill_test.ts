/**
 * The packetdrill corpus: every script under tests/drill/ runs against the engine
 * as one test step. Scripts directly in tests/drill/ assume the finwait profile;
 * those in tests/drill/linux/ and tests/drill/freebsd/ assume those kernels.
 *
 * Also checks that the corpus covers every row of the behaviour table it should
 * (REFERENCE.md rows 1-22 and 26-29), from the "Row N" notes the scripts start with,
 * and that every outbound line of every script is really checked: changing it
 * makes the script fail at that line.
 */
import assert from "node:assert/strict";
import { runDrill } from "../../src/drill/runner.ts";
import type { ProfileName } from "../../src/drill/profiles.ts";

const DIR = new URL("./", import.meta.url);

interface Corpus {
  file: string;
  text: string;
  profile: ProfileName;
}

function corpus(): Corpus[] {
  const out: Corpus[] = [];
  const add = (sub: string, profile: ProfileName) => {
    const dir = new URL(sub, DIR);
    const names = [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && e.name.endsWith(".pkt"))
      .map((e) => e.name)
      .sort();
    for (const name of names) {
      out.push({
        file: `${sub}${name}`,
        text: Deno.readTextFileSync(new URL(name, dir)),
        profile,
      });
    }
  };
  add("", "finwait");
  add("linux/", "linux");
  add("freebsd/", "freebsd");
  return out;
}

const SCRIPTS = corpus();

Deno.test("drill corpus: at least 40 scripts of the finwait profile, plus linux and freebsd ones", () => {
  assert.ok(SCRIPTS.filter((s) => s.profile === "finwait").length >= 40);
  assert.ok(SCRIPTS.some((s) => s.profile === "linux"));
  assert.ok(SCRIPTS.some((s) => s.profile === "freebsd"));
});

Deno.test("drill corpus: every script passes under its profile", async (t) => {
  for (const s of SCRIPTS) {
    await t.step(`${s.file} (${s.profile})`, () => {
      const r = runDrill(s.text, s.file, { profile: s.profile });
      assert.deepEqual(r.errors, [], `malformed: ${JSON.stringify(r.errors)}`);
      assert.ok(
        r.passed,
        `line ${r.failure?.line}: expected ${r.failure?.expected}\n  instead, ${r.failure?.actual}\n` +
          r.log.join("\n"),
      );
    });
  }
});

Deno.test("drill corpus: covers behaviour table rows 1-22 and 26-29", () => {
  const covered = new Set<number>();
  for (const s of SCRIPTS) {
    const header = s.text.split("\n").filter((l) => l.startsWith("//")).join(" ");
    for (const m of header.matchAll(/Rows? ([\d, and]+)/g)) {
      for (const n of m[1].matchAll(/\d+/g)) covered.add(Number(n[0]));
    }
  }
  const wanted = [...Array.from({ length: 22 }, (_, i) => i + 1), 26, 27, 28, 29];
  const missing = wanted.filter((r) => !covered.has(r));
  assert.deepEqual(missing, [], `rows without a script: ${missing.join(", ")}`);
});

Deno.test("drill corpus: every outbound line is checked (changing it fails the script there)", async (t) => {
  for (const s of SCRIPTS) {
    await t.step(s.file, () => {
      const lines = s.text.split("\n");
      let mutated = 0;
      for (let i = 0; i < lines.length; i++) {
        const m = /^(\S+\s+>\s+)(\S+)(\s+)(\d+):(\d+)\((\d+)\)(.*)$/.exec(lines[i]);
        if (!m) continue;
        const [, head, flags, sp, a, b, len, rest] = m;
        const copy = [...lines];
        // A SYN fixes the engine's ISN (as in packetdrill), so its range always
        // matches: toggle its ACK flag instead. Elsewhere shift the range by one.
        copy[i] = flags.includes("S")
          ? `${head}${
            flags.endsWith(".") ? flags.slice(0, -1) : `${flags}.`
          }${sp}${a}:${b}(${len})${rest}`
          : `${head}${flags}${sp}${Number(a) + 1}:${Number(b) + 1}(${len})${rest}`;
        const r = runDrill(copy.join("\n"), s.file, { profile: s.profile });
        assert.equal(r.passed, false, `line ${i + 1} changed, yet the script passed`);
        assert.equal(
          r.failure?.line,
          i + 1,
          `failed at line ${r.failure?.line}: ${r.failure?.actual}`,
        );
        mutated++;
      }
      assert.ok(mutated > 0 || !s.text.includes(">"), "no outbound line found");
    });
  }
});

Deno.test("drill corpus: lines not applied are reported, not skipped", () => {
  const s = SCRIPTS.find((x) => x.file === "linux/time-wait-rst-closes.pkt")!;
  const r = runDrill(s.text, s.file, { profile: "linux" });
  assert.ok(r.passed);
  assert.deepEqual(
    r.ignored.map((i) => [i.line, i.kind, i.text]),
    [
      [4, "option", "--tolerance_usecs=10000"],
      [5, "shell", "`../common/defaults.sh`"],
    ],
  );
});

Deno.test("drill corpus: profiles matter (the linux RFC 1337 script fails under finwait)", () => {
  const s = SCRIPTS.find((x) => x.file === "linux/time-wait-rst-closes.pkt")!;
  const r = runDrill(s.text, s.file, { profile: "finwait" });
  assert.equal(r.passed, false);
  // finwait keeps the 64 KiB-capped window and RFC 1337: the SYN,ACK already differs.
  assert.match(r.failure!.actual, /window 65535 where the script expects 64240/);
});
