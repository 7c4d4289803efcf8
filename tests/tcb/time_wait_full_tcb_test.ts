/**
 * The TIME-WAIT, reset and abortive-close per-state tests again, with TIME-WAIT kept
 * in the full TCB instead of the endpoint's compact table: both forms must behave
 * the same (they share `timeWaitInput`, and these tests hold either to it).
 */
import { fixtureDefaults } from "../_helpers/fixture.ts";

fixtureDefaults.compactTimeWait = false;
await import("./time_wait_test.ts");
await import("./reset_test.ts");
await import("./abortive_close_test.ts");
await import("./figures_test.ts");

import assert from "node:assert/strict";
import { fixture } from "../_helpers/fixture.ts";

Deno.test("these tests really ran with TIME-WAIT in the full TCB", () => {
  const t = fixture("TIME-WAIT");
  assert.equal(t.ep.timeWaitCount, 0);
  assert.equal(t.ep.state(t.conn), "TIME-WAIT");
});
