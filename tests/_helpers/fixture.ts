/**
 * Per-state test fixtures: one endpoint under test ("A", 10.0.0.1, SEQ from 100)
 * and a scripted remote ("B", 10.0.0.2, SEQ from 300) written in RFC notation, as
 * in RFC 9293 Figures 12 and 13.
 *
 * ```ts
 * const t = fixture("FIN-WAIT-2");
 * t.deliver("<SEQ=300><ACK=101><CTL=FIN,ACK>");
 * t.expectSent(["<SEQ=101><ACK=301><CTL=ACK>"]);
 * t.expectState("TIME-WAIT");
 * ```
 */
import assert from "node:assert/strict";
import { Endpoint, type EndpointOptions } from "../../src/endpoint/endpoint.ts";
import type { ConnId, TcbEvent } from "../../src/tcb/events.ts";
import type { TcbOptions } from "../../src/tcb/options.ts";
import { isAllowedTransition, type State } from "../../src/tcb/state.ts";
import { decode, type Segment } from "../../src/wire/segment.ts";
import { formatSegment, parseSegment } from "../../src/wire/rfc_notation.ts";

/** A's address and B's address. */
export const A = "10.0.0.1";
export const B = "10.0.0.2";
/** Ports: A's ephemeral port when it connects, the service port. */
export const A_PORT = 49152;
export const SERVICE_PORT = 80;
/** B's port when B connects to A's listener. */
export const B_PORT = 40000;

/** How the connection under test was opened. */
export type Opening = "active" | "passive";

/** Fixture settings. */
export interface FixtureOptions {
  /** A connects (active, default) or A listens and B connects (passive). */
  opening?: Opening;
  /** Connection options for A. Timestamps are off unless asked for. */
  tcb?: Partial<TcbOptions>;
  /**
   * The window B advertises in every segment whose notation has no `<WND=n>`,
   * handshake included. Default 0 (the codec's default), so B's window is closed
   * unless a test opens it.
   */
  peerWindow?: number;
  /** Endpoint settings for A beyond address, secret and connection options. */
  endpoint?: Omit<EndpointOptions, "address" | "secret" | "tcb">;
}

/**
 * Defaults a test module may change before its tests run. `compactTimeWait: false`
 * keeps TIME-WAIT in the full TCB instead of the endpoint's compact table, so the
 * same per-state tests can check both forms.
 */
export const fixtureDefaults = { compactTimeWait: true };

/** The endpoint under test and a scripted peer. */
export class Fixture {
  readonly ep: Endpoint;
  conn: ConnId = 0;
  now = 0;
  readonly opening: Opening;
  readonly localPort: number;
  readonly remotePort: number;
  /** The window B advertises when a segment's notation does not say. */
  peerWindow: number;
  /** Segments A sent and the test has not checked yet. */
  sent: Segment[] = [];
  /** Every event A reported, in order. */
  readonly events: TcbEvent[] = [];
  /** Events not yet taken by `takeEvents`. */
  #unseen: TcbEvent[] = [];

  constructor(opts: FixtureOptions = {}) {
    this.opening = opts.opening ?? "active";
    this.peerWindow = opts.peerWindow ?? 0;
    this.ep = new Endpoint({
      ...(fixtureDefaults.compactTimeWait ? {} : { timeWait: { compact: false } }),
      ...opts.endpoint,
      address: A,
      secret: new Uint8Array(16).fill(1),
      tcb: { timestamps: false, ...opts.tcb },
    });
    this.localPort = this.opening === "active" ? A_PORT : SERVICE_PORT;
    this.remotePort = this.opening === "active" ? SERVICE_PORT : B_PORT;
  }

  /** Delivers a segment from B written in RFC notation (ports filled in). */
  deliver(text: string): void {
    const r = parseSegment(text, {
      srcPort: this.remotePort,
      dstPort: this.localPort,
      window: this.peerWindow,
    });
    if (!r.ok) throw new Error(`Bad notation ${text}: ${r.reason}`);
    this.deliverSegment(r.segment);
  }

  /** Delivers a segment object from B. */
  deliverSegment(seg: Segment): void {
    this.ep.handleSegment(seg, B, this.now);
    this.drain();
  }

  /** Delivers raw bytes from B. */
  deliverBytes(bytes: Uint8Array): void {
    this.ep.handleDatagram(bytes, B, this.now);
    this.drain();
  }

  /** Moves virtual time forward by `ms`, firing every timer on the way in order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const t = this.ep.pollTimeout();
      if (t > end) break;
      this.now = Math.max(this.now, t);
      this.ep.handleTimeout(this.now);
      this.drain();
    }
    this.now = end;
  }

  /** Runs a user call on A and drains. */
  user(fn: (ep: Endpoint, conn: ConnId, now: number) => void): void {
    fn(this.ep, this.conn, this.now);
    this.drain();
  }

  close(): void {
    this.user((ep, c, now) => ep.close(c, now));
  }
  shutdown(): void {
    this.user((ep, c, now) => ep.shutdown(c, now));
  }
  abort(): void {
    this.user((ep, c, now) => ep.abort(c, now));
  }
  send(text: string): number {
    let n = 0;
    this.user((ep, c, now) => n = ep.send(c, new TextEncoder().encode(text), now));
    return n;
  }
  read(): string {
    let s = "";
    this.user((ep, c, now) => s = new TextDecoder().decode(ep.read(c, Infinity, now)));
    return s;
  }

  /** Applies the drain rule and decodes what A sent. */
  drain(): void {
    for (let t = this.ep.pollTransmit(); t; t = this.ep.pollTransmit()) {
      assert.equal(t.to, B);
      const r = decode(t.bytes);
      if (!r.ok) throw new Error(`A sent an undecodable segment: ${r.reason}`);
      // Copy: the payload views the endpoint's reusable arena.
      this.sent.push({ ...r.segment, payload: r.segment.payload.slice() });
    }
    for (let e = this.ep.pollEvent(); e; e = this.ep.pollEvent()) {
      if (e.type === "state-changed") {
        assert.ok(isAllowedTransition(e.from, e.to, e.cause), `${e.from} → ${e.to} (${e.cause})`);
      }
      this.events.push(e);
      this.#unseen.push(e);
    }
  }

  /** Asserts A sent exactly these segments since the last check (and forgets them). */
  expectSent(texts: string[], opts: { verbose?: boolean } = {}): void {
    const got = this.sent.map((s) => formatSegment(s, opts));
    this.sent = [];
    assert.deepEqual(got, texts);
  }

  /** Asserts A sent nothing since the last check. */
  expectSilent(): void {
    this.expectSent([]);
  }

  /** Takes and returns the segments sent since the last check. */
  takeSent(): Segment[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }

  /** Asserts A's connection is in `state` (CLOSED once it is gone). */
  expectState(state: State): void {
    assert.equal(this.ep.state(this.conn), state);
  }

  /** Events since the last call. */
  takeEvents(): TcbEvent[] {
    const e = this.#unseen;
    this.#unseen = [];
    return e;
  }

  /** The `closed` event's reason, if the connection closed. */
  closedReason(): string | undefined {
    for (const e of this.events) if (e.type === "closed" && e.conn === this.conn) return e.reason;
    return undefined;
  }

  /** Drop reasons reported so far. */
  dropReasons(): string[] {
    return this.events.flatMap((e) => e.type === "segment-dropped" ? [e.reason] : []);
  }

  /** States A's connection went through, in order. */
  states(): State[] {
    const out: State[] = [];
    for (const e of this.events) {
      if (e.type === "state-changed" && e.conn === this.conn) out.push(e.to);
    }
    return out;
  }
}

/** Steps from CLOSED to each state, for either opening. */
export function fixture(state: State, opts: FixtureOptions = {}): Fixture {
  const t = new Fixture(opts);
  const ts = opts.tcb?.timestamps === true;
  // With timestamps on, B's segments carry TS so negotiation happens; helpers add
  // them where a path needs them.
  const bTs = (val: number, ecr: number) => ts ? `<TS=${val},${ecr}>` : "";
  if (state === "CLOSED") return t;
  if (t.opening === "active") {
    t.user((ep, _c, now) => {
      t.conn = ep.connect(B, SERVICE_PORT, now, { iss: 99, localPort: A_PORT });
    });
    if (state === "SYN-SENT") return clear(t);
    if (state === "SYN-RECEIVED") {
      // Simultaneous open (Figure 8): B's SYN crosses ours.
      t.deliver(`<SEQ=299><CTL=SYN>${bTs(1000, 0)}`);
      return clear(t);
    }
    t.deliver(`<SEQ=299><ACK=100><CTL=SYN,ACK>${bTs(1000, t.sent[0]?.tsVal ?? 0)}`);
  } else {
    t.ep.listen(SERVICE_PORT, { iss: 99 });
    t.deliver(`<SEQ=299><CTL=SYN>${bTs(1000, 0)}`);
    t.conn = t.ep.connections()[0];
    if (state === "LISTEN") throw new Error("LISTEN has no connection to test");
    if (state === "SYN-RECEIVED") return clear(t);
    t.deliver(`<SEQ=300><ACK=100><CTL=ACK>${bTs(1001, t.sent[0]?.tsVal ?? 0)}`);
  }
  const tsA = () => t.sent.at(-1)?.tsVal ?? 0;
  switch (state) {
    case "ESTABLISHED":
      break;
    case "FIN-WAIT-1":
      t.close();
      break;
    case "FIN-WAIT-2":
      t.close();
      t.deliver(`<SEQ=300><ACK=101><CTL=ACK>${bTs(1002, tsA())}`);
      break;
    case "CLOSING":
      t.close();
      t.deliver(`<SEQ=300><ACK=100><CTL=FIN,ACK>${bTs(1002, tsA())}`);
      break;
    case "TIME-WAIT":
      t.close();
      t.deliver(`<SEQ=300><ACK=101><CTL=ACK>${bTs(1002, tsA())}`);
      t.deliver(`<SEQ=300><ACK=101><CTL=FIN,ACK>${bTs(1003, tsA())}`);
      break;
    case "CLOSE-WAIT":
      t.deliver(`<SEQ=300><ACK=100><CTL=FIN,ACK>${bTs(1002, tsA())}`);
      break;
    case "LAST-ACK":
      t.deliver(`<SEQ=300><ACK=100><CTL=FIN,ACK>${bTs(1002, tsA())}`);
      t.close();
      break;
  }
  t.expectState(state);
  return clear(t);
}

function clear(t: Fixture): Fixture {
  t.sent = [];
  t.takeEvents();
  return t;
}

/** Both ways of opening, for tests that must hold from either side. */
export const OPENINGS: readonly Opening[] = ["active", "passive"];
