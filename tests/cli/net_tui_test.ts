/**
 * `finwait listen` / `connect` in the terminal UI: the Driver → UiSource adapter fed
 * with a stand-in driver (events, snapshots, commands), both commands run behind it
 * over UDP loopback (the UI replaced by a script that presses keys and quits), and the
 * line output that `--no-tui` and a non-terminal keep.
 */
import assert from "node:assert/strict";
import type { ConnectionInfo } from "../../src/endpoint/endpoint.ts";
import type { ConnId, TcbEvent } from "../../src/tcb/events.ts";
import type { State } from "../../src/tcb/state.ts";
import { ACK, newSegment, SYN } from "../../src/wire/segment.ts";
import type { UiInput } from "../../src/ui/source.ts";
import type { NetControl, NetLine } from "../../src/cli/net_args.ts";
import {
  netKeys,
  type NetTuiDriver,
  NetTuiSource,
  runNetTui,
  wantTui,
} from "../../src/cli/net_tui.ts";
import { runListen } from "../../src/cli/listen_cmd.ts";
import { runConnect } from "../../src/cli/connect_cmd.ts";
import type { Driver } from "../../transports/driver.ts";

const LOCAL = "127.0.0.1:9811";

/** Just what the adapter uses of a Driver; commands are recorded and answered with events. */
class FakeDriver implements NetTuiDriver {
  readonly transport = { localAddress: LOCAL };
  t = 0;
  readonly calls: string[] = [];
  readonly states = new Map<ConnId, State>();
  readonly peers = new Map<ConnId, string>();
  #listeners: ((ev: TcbEvent, d: Driver) => void)[] = [];

  onEvent(l: (ev: TcbEvent, d: Driver) => void): () => void {
    this.#listeners.push(l);
    return () => {
      this.#listeners = this.#listeners.filter((x) => x !== l);
    };
  }
  now(): number {
    return this.t;
  }
  info(id: ConnId): ConnectionInfo | undefined {
    this.calls.push(`info ${id}`);
    const state = this.states.get(id);
    if (state === undefined) return undefined;
    return {
      id,
      state,
      localPort: 9811,
      remoteAddress: "fd66:696e:7761:6974:1::1",
      remotePort: 49152,
      sndUna: 300,
      sndNxt: 301,
      rcvNxt: 101,
      bytesInFlight: 1,
      rto: 1000,
      retries: 0,
      timers: { retransmit: this.t + 1000, finWait2: Infinity, timeWait: Infinity },
    } as unknown as ConnectionInfo;
  }
  peerOf(id: ConnId): string | undefined {
    return this.peers.get(id);
  }
  close(id: ConnId): void {
    this.calls.push(`close ${id}`);
    this.change(id, "FIN-WAIT-1", "close");
  }
  shutdown(id: ConnId): void {
    this.calls.push(`shutdown ${id}`);
    this.change(id, "FIN-WAIT-1", "shutdown");
  }
  abort(id: ConnId): void {
    this.calls.push(`abort ${id}`);
    this.change(id, "CLOSED", "abort");
    this.emit({ type: "closed", conn: id, reason: "aborted", now: this.t });
  }

  emit(ev: TcbEvent): void {
    for (const l of this.#listeners) l(ev, this as unknown as Driver);
  }
  change(
    conn: ConnId,
    to: State,
    cause: "close" | "shutdown" | "abort" | "rcv-ack" | "open",
  ): void {
    const from = this.states.get(conn) ?? "CLOSED";
    if (to === "CLOSED") this.states.delete(conn);
    else this.states.set(conn, to);
    this.emit({ type: "state-changed", conn, from, to, cause, now: this.t } as TcbEvent);
  }
}

function setup(role: "listen" | "connect") {
  const driver = new FakeDriver();
  const writes: [ConnId, number][] = [];
  let opened = 0;
  const control: NetControl = {
    write: (id, data) => {
      writes.push([id, data.length]);
      return data.length;
    },
    open: role === "connect"
      ? () => {
        opened++;
        driver.peers.set(10 + opened, "192.0.2.20:9811");
        driver.change(10 + opened, "SYN-SENT", "open");
        return 10 + opened;
      }
      : undefined,
  };
  let stops = 0;
  const source = new NetTuiSource({ role, driver, control, msl: 1000, onStop: () => stops++ });
  const batches: UiInput[][] = [];
  source.subscribe((inputs) => batches.push([...inputs]));
  return { driver, source, batches, writes, opened: () => opened, stops: () => stops };
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));
const kinds = (b: readonly UiInput[]) =>
  b.map((i) =>
    i.kind === "event"
      ? i.event.type === "state-changed" ? `${i.event.from}→${i.event.to}` : i.event.type
      : i.kind === "action"
      ? `(${i.label})`
      : i.kind === "snapshot"
      ? `snapshot #${i.info.id} ${i.info.state}`
      : i.kind
  );

Deno.test("net_tui: events reach the UI from start on, each run of them with snapshots of what it touched", async () => {
  const { driver, source, batches } = setup("listen");
  assert.deepEqual(source.nodes, [{ address: LOCAL, label: "listen" }]);
  driver.peers.set(1, "192.0.2.10:56164");
  driver.t = 5;
  driver.change(1, "LISTEN", "open");
  driver.emit({
    type: "segment-received",
    conn: 1,
    segment: newSegment({ srcPort: 49152, dstPort: 9811, seq: 100, flags: SYN }),
    now: 5,
  });
  driver.change(1, "SYN-RECEIVED", "rcv-ack");
  await tick();
  assert.equal(batches.length, 0, "nothing before start");

  source.start();
  assert.equal(batches.length, 1);
  assert.deepEqual(kinds(batches[0]), [
    "CLOSED→LISTEN",
    "segment-received",
    "LISTEN→SYN-RECEIVED",
    "snapshot #1 SYN-RECEIVED",
  ]);
  for (const i of batches[0]) {
    assert.equal((i as { node: string }).node, LOCAL);
    assert.equal(i.at, 5);
  }
  // The remote end is the peer's UDP address, not the endpoint's synthetic one.
  const snap = batches[0][3];
  assert.ok(snap.kind === "snapshot");
  assert.equal(snap.info.remoteAddress, "192.0.2.10");
  assert.equal(snap.info.remotePort, 56164);
  assert.equal(snap.info.sndNxt, 301);

  // Events in one synchronous run arrive as one batch, a microtask later.
  driver.t = 7;
  driver.change(1, "ESTABLISHED", "rcv-ack");
  driver.emit({
    type: "segment-sent",
    conn: 1,
    segment: newSegment({ srcPort: 9811, dstPort: 49152, seq: 301, ack: 101, flags: ACK }),
    retransmission: false,
    now: 7,
  });
  assert.equal(batches.length, 1);
  await tick();
  assert.equal(batches.length, 2);
  assert.deepEqual(kinds(batches[1]), [
    "SYN-RECEIVED→ESTABLISHED",
    "segment-sent",
    "snapshot #1 ESTABLISHED",
  ]);

  // An IPv6 peer keeps its brackets.
  driver.peers.set(2, "[2001:db8::7]:40000");
  driver.change(2, "LISTEN", "open");
  await tick();
  const s2 = batches[2].find((i) => i.kind === "snapshot");
  assert.ok(s2?.kind === "snapshot");
  assert.equal(`${s2.info.remoteAddress}:${s2.info.remotePort}`, "[2001:db8::7]:40000");

  // TIME-WAIT and CLOSED connections are never read (a compact record's info is a scan).
  driver.calls.length = 0;
  driver.change(2, "TIME-WAIT", "rcv-ack");
  await tick();
  driver.change(2, "CLOSED", "rcv-ack");
  driver.emit({ type: "closed", conn: 2, reason: "normal", now: 7 });
  await tick();
  assert.deepEqual(driver.calls, []);
  assert.deepEqual(kinds(batches[3]), ["LISTEN→TIME-WAIT"]);
  assert.deepEqual(kinds(batches[4]), ["TIME-WAIT→CLOSED", "closed"]);
});

Deno.test("net_tui: keys become engine calls on the selected connection; the demo's others are refused", async () => {
  const { driver, source, batches, writes, stops } = setup("listen");
  source.start();
  driver.peers.set(1, "192.0.2.10:56164");
  driver.peers.set(3, "192.0.2.11:5000");
  driver.change(1, "ESTABLISHED", "rcv-ack");
  driver.change(3, "ESTABLISHED", "rcv-ack");
  await tick();
  batches.length = 0;
  const t1 = { [LOCAL]: 1 };
  const t3 = { [LOCAL]: 3 };

  driver.t = 20;
  assert.equal(source.command({ type: "close", node: LOCAL, target: t1 }), undefined);
  assert.deepEqual(driver.calls.filter((c) => !c.startsWith("info")), ["close 1"]);
  await tick();
  // The call shows in the diagram at the time of the first event it caused.
  assert.deepEqual(kinds(batches[0]), [
    "(Close)",
    "ESTABLISHED→FIN-WAIT-1",
    "snapshot #1 FIN-WAIT-1",
  ]);
  assert.equal(batches[0][0].at, 20);
  assert.match(
    String(source.command({ type: "close", node: LOCAL, target: t1 })),
    /^#1 is FIN-WAIT-1: nothing to close/,
  );
  assert.match(
    String(source.command({ type: "half-close", node: LOCAL, target: t1 })),
    /^#1 is FIN-WAIT-1/,
  );

  // w writes through the command (so its byte counts and digest include it).
  assert.equal(source.command({ type: "write", target: t3 }), undefined);
  assert.deepEqual(writes, [[3, 200]]);
  await tick();
  assert.deepEqual(kinds(batches[1]), ["(Send 200)"]);
  assert.match(String(source.command({ type: "half-close", node: LOCAL, target: t3 })), /Half/);
  assert.ok(driver.calls.includes("shutdown 3"));
  assert.equal(source.command({ type: "abort", node: LOCAL, target: t3 }), undefined);
  assert.ok(driver.calls.includes("abort 3"));
  assert.match(String(source.command({ type: "write", target: t3 })), /No open connection/);
  assert.match(String(source.command({ type: "close", node: LOCAL, target: {} })), /No open/);

  assert.match(String(source.command({ type: "new" })), /^Not available here: listen accepts/);
  for (
    const cmd of [
      { type: "simultaneous-close", target: t1 },
      { type: "pause" },
      { type: "step" },
      { type: "speed", factor: 2 },
      { type: "loss" },
      { type: "storm" },
      { type: "pcap" },
    ] as const
  ) {
    assert.match(String(source.command(cmd)), /^Not available here: /, cmd.type);
  }
  assert.equal(source.command({ type: "quit" }), undefined);

  // Stopping ends the command once; nothing flows afterwards.
  source.stop();
  source.stop();
  assert.equal(stops(), 1);
  const before = batches.length;
  driver.change(1, "FIN-WAIT-2", "rcv-ack");
  await tick();
  assert.equal(batches.length, before);
  assert.match(String(source.command({ type: "close", node: LOCAL, target: t1 })), /ended/);
});

Deno.test("net_tui: connect opens more with n, is idle once all CLOSED, and has its own keys", async () => {
  const { driver, source, opened } = setup("connect");
  assert.ok(netKeys("connect").some((k) => k.key === "n"));
  assert.ok(!netKeys("listen").some((k) => k.key === "n"));
  assert.deepEqual(source.keys.map((k) => k.key), ["c", "h", "a", "w", "n", "↑/↓", "?", "q"]);
  source.start();
  source.line({
    type: "connecting",
    t: 0,
    from: "127.0.0.1:5000",
    to: "192.0.2.20:9811",
    connections: 1,
  });
  assert.equal(source.status().transport, "udp 127.0.0.1:5000 → 192.0.2.20:9811");
  assert.equal(source.status().idle, false);
  assert.equal(source.command({ type: "new" }), undefined);
  assert.equal(opened(), 1);
  assert.equal(source.status().idle, false);
  driver.change(11, "TIME-WAIT", "rcv-ack");
  assert.match(source.status().note!, /^TIME-WAIT: 2·MSL \(2 s\) before CLOSED/);
  driver.change(11, "CLOSED", "rcv-ack");
  driver.emit({ type: "closed", conn: 11, reason: "normal", now: 0 });
  await tick();
  assert.equal(source.status().idle, true);
  assert.match(source.status().note!, /^Every connection CLOSED \(1 normal\) · n opens another/);
  source.finished("stopped: open connections aborted");
  assert.match(source.status().note!, /^Finished: stopped: open connections aborted/);
  assert.match(String(source.command({ type: "new" })), /ended/);
});

Deno.test("net_tui: the UI only on a terminal, and never with --no-tui or --json", () => {
  assert.equal(wantTui({ tui: true, json: false }, true), true);
  assert.equal(wantTui({ tui: false, json: false }, true), false);
  assert.equal(wantTui({ tui: true, json: true }, true), false);
  assert.equal(wantTui({ tui: true, json: false }, false), false);
});

// ------------------------------------------------ the commands behind the UI (UDP)

async function until(what: string, pred: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));

Deno.test("net_tui: listen behind the UI sees every segment; quitting prints the closed line and the summary", async () => {
  const out: string[] = [];
  const seen: UiInput[] = [];
  await runNetTui({
    role: "listen",
    msl: 50,
    out: (l) => out.push(l),
    run: (hooks) =>
      runListen({ bind: { ip: "127.0.0.1", port: 0 }, mode: "sink", msl: 0.05 }, hooks),
    show: async (source) => {
      source.subscribe((inputs) => seen.push(...inputs));
      source.start();
      const lines: NetLine[] = [];
      const r = await runConnect({
        target: { host: "127.0.0.1", port: portOf(source.nodes[0].address) },
        send: 10_000,
        connections: 1,
        close: "full",
        msl: 0.05,
        timeout: 20,
      }, { onLine: (l) => lines.push(l) });
      assert.equal(r.error, undefined);
      await until("the listener's close", () => source.status().note!.startsWith("#1 closed"));
      await until(
        "the closed event",
        () => seen.some((i) => i.kind === "event" && i.event.type === "closed"),
      );
      source.stop(); // what the UI does on q
    },
  });
  const events = seen.flatMap((i) => i.kind === "event" ? [i.event.type] : []);
  assert.ok(events.includes("segment-sent") && events.includes("segment-received"));
  const snap = seen.find((i) => i.kind === "snapshot" && i.info.state === "ESTABLISHED");
  assert.ok(snap?.kind === "snapshot");
  assert.equal(snap.info.remoteAddress, "127.0.0.1");
  assert.equal(out.length, 3, out.join("\n"));
  assert.match(out[0], /listening on udp 127\.0\.0\.1:\d+ \(TCP port \d+\), sink mode/);
  assert.match(out[1], /#1 127\.0\.0\.1:\d+ {2}closed \(normal\): received 10000 B sha256 /);
  assert.match(out[2], /summary: 1 connection\(s\), closed 1 normal; received 10000 B/);
});

Deno.test("net_tui: connect behind the UI stays after CLOSED, n opens another, q ends it as SIGINT would", async () => {
  const ac = new AbortController();
  let address = "";
  const listening = runListen(
    { bind: { ip: "127.0.0.1", port: 0 }, mode: "sink", msl: 0.05 },
    { onLine: () => {}, onDriver: (d) => address = d.transport.localAddress, signal: ac.signal },
  );
  try {
    const settings = {
      target: { host: "127.0.0.1", port: portOf(address) },
      send: 5000,
      connections: 1,
      close: "full" as const,
      msl: 0.05,
    };
    const out: string[] = [];
    const r = await runNetTui({
      role: "connect",
      msl: 50,
      out: (l) => out.push(l),
      run: (hooks) => runConnect(settings, hooks),
      show: async (source) => {
        source.start();
        await until("CLOSED after TIME-WAIT", () => source.status().idle === true);
        assert.match(source.status().note!, /Every connection CLOSED \(1 normal\)/);
        assert.equal(source.command({ type: "new" }), undefined);
        assert.equal(source.status().idle, false);
        await until("the second CLOSED", () => source.status().idle === true);
        assert.match(source.status().note!, /CLOSED \(2 normal\)/);
        source.stop();
      },
    });
    assert.equal(r.error, undefined);
    assert.deepEqual(r.reasons, ["normal", "normal"]);
    assert.match(out[0], /connecting from udp 127\.0\.0\.1:\d+ to 127\.0\.0\.1:\d+/);
    assert.equal(
      out.filter((l) => /closed \(normal\): .*sent 5000 B \(5000 ack/.test(l)).length,
      2,
    );
    assert.match(out.at(-1)!, /summary: 2 connection\(s\), closed 2 normal/);

    // Quit while in TIME-WAIT (a long MSL): aborted, as on Ctrl-C without the UI.
    const out2: string[] = [];
    const r2 = await runNetTui({
      role: "connect",
      msl: 30_000,
      out: (l) => out2.push(l),
      run: (hooks) => runConnect({ ...settings, msl: 30 }, hooks),
      show: async (source) => {
        source.start();
        await until("TIME-WAIT", () => /^TIME-WAIT/.test(source.status().note!));
        source.stop();
      },
    });
    assert.deepEqual(r2.reasons, ["aborted"]);
    assert.match(r2.error!, /Stopped with 1 connection\(s\) still open \(aborted\)/);
    assert.ok(out2.some((l) => l.endsWith("stopped: open connections aborted")), out2.join("\n"));
  } finally {
    ac.abort();
    await listening;
  }
});

Deno.test("net_tui: an error before the socket opens is thrown before any UI", async () => {
  let shown = false;
  await assert.rejects(
    runNetTui({
      role: "listen",
      msl: 50,
      out: () => {},
      run: (hooks) =>
        runListen({ bind: { ip: "192.0.2.1", port: 9 }, mode: "sink", msl: 0.05 }, hooks),
      show: () => {
        shown = true;
        return Promise.resolve();
      },
    }),
  );
  assert.equal(shown, false);
});

// ------------------------------------------------------ line output, as processes

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

/** Runs `finwait listen …` with stdout piped (not a terminal) until it listens, then SIGINT. */
async function listenLines(args: string[]): Promise<{ code: number; text: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "listen", "--bind", "127.0.0.1:0", "--msl", "0.05", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stderr = new Response(child.stderr).text();
  const deadline = Date.now() + 20_000;
  while (!text.includes("listening on udp")) {
    const { value, done } = await reader.read();
    if (done || Date.now() > deadline) break;
    text += value;
  }
  child.kill("SIGINT");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const status = await child.status;
  return { code: status.code, text: text + (await stderr) };
}

for (const args of [["--no-tui"], []]) {
  Deno.test(`net_tui: listen ${args.join(" ") || "piped"} prints lines, no escapes, a summary on SIGINT`, async () => {
    const { code, text } = await listenLines(args);
    assert.equal(code, 0, text);
    assert.match(
      text,
      /^ +\d+\.\d{3} listening on udp 127\.0\.0\.1:\d+ \(TCP port \d+\), sink mode/m,
    );
    assert.match(text, /summary: 0 connection\(s\), closed none/);
    assert.ok(!text.includes("\x1b"), "no terminal escapes");
  });
}
