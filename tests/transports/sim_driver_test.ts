/**
 * The simulated network in real time: speed, pause, step, speed and loss changes,
 * batches with snapshots. A fake clock stands in for the real one: no test sleeps.
 */
import assert from "node:assert/strict";
import { SimDriver } from "../../transports/sim_driver.ts";
import type { DriverBatch } from "../../transports/sim_driver.ts";
import { findScenario, PEER_A, PEER_B, runScenario } from "../../src/trace/scenarios.ts";
import { FakeClock } from "../ui/_helpers.ts";

/** normal-close staged (handshake done, the close scheduled at t0), under a driver. */
function staged(speed: number, clock = new FakeClock()) {
  const run = runScenario(findScenario("normal-close")!, { msl: 1000, delay: 10 }, { limit: 0 });
  const driver = new SimDriver(run.world, { speed, clock });
  const batches: DriverBatch[] = [];
  driver.onBatch((b) => batches.push(b));
  const a = run.world.endpoints.get(PEER_A)!;
  const b = run.world.endpoints.get(PEER_B)!;
  return { driver, clock, batches, a, b, t0: run.world.now, world: run.world };
}

Deno.test("sim driver: virtual time runs at the chosen speed against the real clock", () => {
  const { driver, clock, a, b, t0 } = staged(0.1);
  driver.start();
  assert.equal(a.state(1), "ESTABLISHED");
  clock.advance(0); // the close is due now
  assert.equal(a.state(1), "FIN-WAIT-1");
  // The FIN needs 10 virtual ms: 100 real ms at 0.1×.
  clock.advance(99);
  assert.equal(b.state(1), "ESTABLISHED");
  assert.ok(Math.abs(driver.now() - (t0 + 9.9)) < 1e-9);
  clock.advance(1);
  assert.equal(b.state(1), "CLOSE-WAIT");
  clock.advance(100);
  assert.equal(a.state(1), "FIN-WAIT-2");
  driver.stop();
  assert.equal(clock.pending, 0, "stop leaves no timer");
});

Deno.test("sim driver: pause freezes time, step moves one moment, resume carries on from there", () => {
  const { driver, clock, a, b, t0 } = staged(0.1);
  driver.start();
  clock.advance(0);
  driver.pause();
  const frozen = driver.now();
  clock.advance(10_000);
  assert.equal(driver.now(), frozen);
  assert.equal(b.state(1), "ESTABLISHED", "nothing moves while paused");
  assert.equal(driver.step(), true);
  assert.equal(driver.now(), t0 + 10, "one step: to the FIN's arrival");
  assert.equal(b.state(1), "CLOSE-WAIT");
  assert.equal(a.state(1), "FIN-WAIT-1");
  driver.resume();
  clock.advance(100);
  assert.equal(a.state(1), "FIN-WAIT-2");
  assert.ok(Math.abs(driver.now() - (t0 + 20)) < 1e-9, "resumed from the stepped time");
  driver.stop();
});

Deno.test("sim driver: a speed change keeps virtual time continuous", () => {
  const { driver, clock, t0 } = staged(0.1);
  driver.start();
  clock.advance(50);
  assert.ok(Math.abs(driver.now() - (t0 + 5)) < 1e-9);
  driver.speed = 1;
  assert.ok(Math.abs(driver.now() - (t0 + 5)) < 1e-9);
  clock.advance(5);
  assert.ok(Math.abs(driver.now() - (t0 + 10)) < 1e-9);
  driver.speed *= 1e9;
  assert.equal(driver.speed, 4096, "clamped");
  assert.throws(() => driver.speed = 0, RangeError);
  driver.stop();
});

Deno.test("sim driver: loss changes on the fly, both directions", () => {
  const { driver, world } = staged(1);
  assert.equal(driver.loss, 0);
  driver.setLoss(0.25);
  assert.equal(driver.loss, 0.25);
  assert.equal(world.net.getLink(PEER_A, PEER_B).loss, 0.25);
  assert.equal(world.net.getLink(PEER_B, PEER_A).loss, 0.25);
});

Deno.test("sim driver: batches carry the log (then drop it) and snapshots of live connections only", () => {
  const { driver, clock, batches, world } = staged(1);
  driver.start();
  assert.ok(batches[0].entries.length > 0, "the handshake comes out at start");
  assert.equal(world.log.length, 0, "the world keeps no log once emitted");
  clock.advance(5000);
  const all = batches.flatMap((b) => b.entries);
  assert.ok(all.some((e) => e.kind === "event" && e.event.type === "closed"));
  const snaps = batches.flatMap((b) => b.snapshots);
  assert.ok(
    snaps.some((s) =>
      s.node === PEER_A && s.info.state === "FIN-WAIT-1" && s.info.timers.retransmit < Infinity
    ),
  );
  assert.ok(snaps.every((s) => s.info.state !== "TIME-WAIT" && s.info.state !== "CLOSED"));
  assert.ok(driver.idle());
  driver.stop();
});

Deno.test("sim driver: flat out runs to idle in slices, without starving the event loop", async () => {
  const run = runScenario(findScenario("lossy-close")!, {
    msl: 1000,
    delay: 10,
    seed: 7,
    loss: 0.3,
  }, { limit: 0 });
  const driver = new SimDriver(run.world, { speed: Infinity, maxSteps: 5 });
  let batches = 0;
  driver.onBatch(() => batches++);
  driver.start();
  await driver.whenIdle();
  assert.ok(batches > 3, `${batches} batches`);
  assert.equal(run.world.endpoints.get(PEER_A)!.size, 0);
  assert.equal(run.world.endpoints.get(PEER_B)!.size, 0);
  driver.stop();
});

Deno.test("sim driver: act runs a command at the real-time clock's now", () => {
  const { driver, clock, a, t0 } = staged(0.1);
  driver.start();
  clock.advance(0);
  clock.advance(500); // 50 virtual ms on: A has the FIN of B and waits in TIME-WAIT
  let at = -1;
  driver.act(PEER_A, "Probe", (_ep, now) => at = now);
  assert.ok(Math.abs(at - (t0 + 50)) < 1e-9, `acted at ${at - t0}`);
  assert.equal(a.state(1), "TIME-WAIT");
  driver.stop();
});
