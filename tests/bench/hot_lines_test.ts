/** The benchmark's developer tools: hot_lines.ts reads a CPU profile right. */
import assert from "node:assert/strict";

Deno.test("hot_lines: lines ranked by ticks, as percentages of all samples", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const seq = new URL("../../src/wire/seq.ts", import.meta.url).href;
    const profile = {
      nodes: [
        { callFrame: { url: seq }, positionTicks: [{ line: 9, ticks: 3 }, { line: 15, ticks: 5 }] },
        { callFrame: { url: "" }, positionTicks: [{ line: 1, ticks: 1 }] },
        { callFrame: { url: seq }, positionTicks: [{ line: 9, ticks: 3 }] },
      ],
      samples: Array.from({ length: 20 }, (_, i) => i),
    };
    const file = `${dir}/p.cpuprofile`;
    await Deno.writeTextFile(file, JSON.stringify(profile));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../bench/tools/hot_lines.ts", import.meta.url).pathname,
        file,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const rows = new TextDecoder().decode(out.stdout).trim().split("\n");
    // Line 9 gathers the ticks of both nodes: 6 of 20 samples.
    assert.equal(rows.length, 3);
    assert.match(rows[0], /^\s*30\.00% .*src\/wire\/seq\.ts:9\b/);
    assert.match(rows[1], /^\s*25\.00% .*src\/wire\/seq\.ts:15\b/);
    assert.match(rows[2], /^\s*5\.00% :1\b/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
