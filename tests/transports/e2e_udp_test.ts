/**
 * End to end over UDP loopback with two OS processes: `finwait listen --json` and
 * `finwait connect --send 1MiB --json`. The listener must receive every byte (same
 * SHA-256 as the sender's), close passively (LAST-ACK, then CLOSED at once on the ACK
 * of its FIN, never TIME-WAIT); the connector closes actively and stays in TIME-WAIT
 * for 2·MSL (a short `--msl`) before CLOSED, and exits 0.
 */
import assert from "node:assert/strict";
import { CliProcess, closedLine, enteredAt, expectReceived, transitions } from "./_cli_procs.ts";

const MSL = 0.3; // seconds: TIME-WAIT lasts 0.6 s
const BYTES = 1024 * 1024;

Deno.test("e2e over UDP loopback: 1 MiB arrives intact; passive side CLOSED at once, active after 2·MSL", async () => {
  const listener = new CliProcess([
    "listen",
    "--bind",
    "127.0.0.1:0",
    "--msl",
    String(MSL),
    "--json",
  ]);
  try {
    const ready = await listener.waitFor((l) => l.type === "listening", 20_000, "listening");
    assert.ok(ready.type === "listening");
    const connector = new CliProcess([
      "connect",
      ready.address,
      "--send",
      "1MiB",
      "--msl",
      String(MSL),
      "--timeout",
      "60",
      "--json",
    ]);
    const status = await connector.exit(90_000);
    assert.equal(status.code, 0, `connect failed: ${await connector.stderr}\n${connector.dump()}`);

    // The connector: sent and acknowledged every byte, then TIME-WAIT for 2·MSL.
    const sent = closedLine(connector.lines)!;
    assert.ok(sent, connector.dump());
    assert.equal(sent.reason, "normal");
    assert.equal(sent.bytesOut, BYTES);
    assert.equal(sent.bytesAcked, BYTES);
    const cs = transitions(connector.lines, sent.conn);
    assert.deepEqual(cs.slice(0, 2), [
      "CLOSED → SYN-SENT (open)",
      "SYN-SENT → ESTABLISHED (rcv-syn-ack)",
    ]);
    assert.equal(cs.at(-1), "TIME-WAIT → CLOSED (time-wait-expired)");
    const tw = enteredAt(connector.lines, sent.conn, "TIME-WAIT")!;
    const closedAt = enteredAt(connector.lines, sent.conn, "CLOSED")!;
    assert.ok(closedAt - tw >= 2 * MSL - 0.005, `TIME-WAIT lasted ${closedAt - tw} s`);

    // The listener: every byte, the same digest, a passive close with no TIME-WAIT.
    const got = await expectReceived(listener, sent, BYTES);
    const ls = transitions(listener.lines, got.conn);
    assert.deepEqual(ls, [
      "LISTEN → SYN-RECEIVED (rcv-syn)",
      "SYN-RECEIVED → ESTABLISHED (rcv-ack)",
      "ESTABLISHED → CLOSE-WAIT (rcv-fin)",
      "CLOSE-WAIT → LAST-ACK (close)",
      "LAST-ACK → CLOSED (rcv-ack)",
    ]);
    // CLOSED as soon as its FIN was acknowledged: long before the peer's TIME-WAIT ends.
    const lastAck = enteredAt(listener.lines, got.conn, "LAST-ACK")!;
    const lClosed = enteredAt(listener.lines, got.conn, "CLOSED")!;
    assert.ok(lClosed - lastAck < 2 * MSL, `LAST-ACK lasted ${lClosed - lastAck} s`);
  } finally {
    const st = await listener.interrupt();
    assert.equal(st.code, 0, await listener.stderr);
  }
  const summary = listener.lines.at(-1);
  assert.equal(summary?.type, "summary", listener.dump());
});

Deno.test("e2e: connect to a port nobody listens on fails in one line with a non-zero exit", async () => {
  // Bind a socket to learn a free port, then close it: nothing listens there.
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (s.addr as Deno.NetAddr).port;
  s.close();
  const c = new CliProcess(["connect", `127.0.0.1:${port}`, "--timeout", "2", "--json"]);
  const status = await c.exit(40_000);
  assert.notEqual(status.code, 0);
  const err = (await c.stderr).trim();
  assert.equal(err.split("\n").length, 1, err);
  assert.match(err, /^finwait: Cannot connect: no answer from 127\.0\.0\.1:\d+ within 2 s/);
});

Deno.test("e2e: listen on a port in use fails in one line with a non-zero exit", async () => {
  const s = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  const port = (s.addr as Deno.NetAddr).port;
  try {
    const c = new CliProcess(["listen", "--bind", `127.0.0.1:${port}`]);
    const status = await c.exit(20_000);
    assert.equal(status.code, 1);
    assert.equal(
      (await c.stderr).trim(),
      `finwait: Cannot listen: UDP 127.0.0.1:${port} is already in use`,
    );
  } finally {
    s.close();
  }
});

Deno.test("e2e: a bad address is one line and exit code 1", async () => {
  const c = new CliProcess(["listen", "--bind", "300.1.2.3:9811"]);
  const status = await c.exit(20_000);
  assert.equal(status.code, 1);
  const err = (await c.stderr).trim();
  assert.match(err.split("\n")[0], /Invalid address "300\.1\.2\.3:9811"/);
});
