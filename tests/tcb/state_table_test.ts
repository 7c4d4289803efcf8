import assert from "node:assert/strict";
import {
  CAUSE_ORDER,
  causeBit,
  isAllowedTransition,
  type State,
  StateIndex,
  stateIndex,
  STATES,
  TRANSITIONS,
} from "../../src/tcb/state.ts";

Deno.test("stateIndex is each state's position in STATES, -1 for anything else", () => {
  STATES.forEach((s, i) => assert.equal(stateIndex(s), i, s));
  STATES.forEach((s, i) => assert.equal(StateIndex[s], i, s));
  assert.equal(Object.keys(StateIndex).length, STATES.length);
  assert.equal(stateIndex("TIME_WAIT" as State), -1);
  assert.equal(stateIndex("" as State), -1);
});

Deno.test("causeBit gives every cause its own bit, 0 for anything else", () => {
  const bits = CAUSE_ORDER.map(causeBit);
  bits.forEach((b, i) => assert.equal(b, 1 << i, CAUSE_ORDER[i]));
  assert.equal(causeBit("closed" as never), 0);
});

Deno.test("isAllowedTransition allows exactly the table's triples", () => {
  const listed = new Set(
    TRANSITIONS.flatMap((t) => t.causes.map((c) => `${t.from}|${t.to}|${c}`)),
  );
  let allowed = 0;
  for (const from of STATES) {
    for (const to of STATES) {
      for (const cause of CAUSE_ORDER) {
        const ok = isAllowedTransition(from, to, cause);
        assert.equal(ok, listed.has(`${from}|${to}|${cause}`), `${from} → ${to} (${cause})`);
        if (ok) allowed++;
      }
    }
  }
  assert.equal(allowed, listed.size);
  assert.equal(isAllowedTransition("CLOSED" as State, "BOGUS" as State, "open"), false);
});
