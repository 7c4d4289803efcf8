/**
 * The drill runner detects what goes wrong and says it in plain words: a wrong
 * segment, a missing one, one too early, an unexpected one, a wrong system call
 * result, a call that blocks; each failure names the line and what the engine did.
 */
import assert from "node:assert/strict";
import { type DrillResult, runDrill } from "../../src/drill/runner.ts";

/** A passive open up to an accepted, ESTABLISHED fd 4 at 0.1 s (lines 1-7). */
const OPEN = [
  "0     socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
  "+0    bind(3, ..., ...) = 0",
  "+0    listen(3, 1) = 0",
  "+0    < S 0:0(0) win 65535 <mss 1460>",
  "+0    > S. 0:0(0) ack 1 win 65535 <mss 1460>",
  "+.1   < . 1:1(0) ack 1 win 65535",
  "+0    accept(3, ..., ...) = 4",
];

function run(lines: string[], opts = {}): DrillResult {
  return runDrill([...OPEN, ...lines].join("\n"), "t.pkt", opts);
}

function fails(r: DrillResult, line: number, ...phrases: RegExp[]): void {
  assert.equal(r.passed, false, "the script passed");
  assert.ok(r.failure, JSON.stringify(r.errors));
  assert.equal(r.failure.line, line, r.failure.actual);
  for (const p of phrases) assert.match(r.failure.actual, p);
}

function passes(r: DrillResult): void {
  assert.ok(r.passed, r.failure ? `line ${r.failure.line}: ${r.failure.actual}` : "malformed");
}

Deno.test("runner: the preamble alone passes", () => {
  passes(run([]));
});

Deno.test("runner: a script expecting a wrong segment fails with what was sent instead", () => {
  const r = run(["+.1 close(4) = 0", "+0 > R 1:1(0)"]);
  fails(
    r,
    9,
    /the engine sent `F\. 1:1\(0\) ack 1 win 65535` at 0\.200 s/,
    /flags F\. \(FIN, ACK\) where the script expects R \(RST\)/,
    /the connection is in FIN-WAIT-1/,
  );
  assert.equal(r.failure!.expected, "+0 > R 1:1(0)");
});

Deno.test("runner: wrong sequence number, length, ack, window are each named", () => {
  fails(
    run(["+.1 close(4) = 0", "+0 > F. 2:2(0) ack 1"]),
    9,
    /sequence number 1 where the script expects 2/,
  );
  fails(run(["+.1 close(4) = 0", "+0 > F. 1:1(0) ack 5"]), 9, /ack 1 where the script expects 5/);
  fails(
    run(["+.1 close(4) = 0", "+0 > F. 1:1(0) ack 1 win 100"]),
    9,
    /window 65535 where the script expects 100/,
  );
  fails(
    run(["+0 write(4, ..., 10) = 10", "+0 > P. 1:21(20) ack 1"]),
    9,
    /sequence number 1 where|10 octets of data where the script expects 20/,
  );
});

Deno.test("runner: options are compared by meaning; absent means none", () => {
  const syn = (opts: string) =>
    runDrill(
      [
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
        "+0 bind(3, ..., ...) = 0",
        "+0 listen(3, 1) = 0",
        "+0 < S 0:0(0) win 65535 <mss 1460,nop,wscale 2>",
        `+0 > S. 0:0(0) ack 1 ${opts}`,
      ].join("\n"),
      "t.pkt",
    );
  passes(syn("<mss 1460,nop,wscale 7>"));
  passes(syn("<nop,wscale 7,mss 1460,eol>"));
  passes(syn("<...>"));
  fails(syn("<mss 1000,nop,wscale 7>"), 5, /mss 1460 where the script expects 1000/);
  fails(syn("<mss 1460>"), 5, /a window scale option \(wscale 7\) the script does not expect/);
  fails(syn(""), 5, /an MSS option \(mss 1460\) the script does not expect/);
  fails(syn("<mss 1460,nop,wscale 7,sackOK>"), 5, /no SACK-permitted option \(expected sackOK\)/);
  fails(syn("<mss 1460,nop,wscale 7,TS val 1 ecr 0>"), 5, /no timestamps option \(expected TS\)/);
});

Deno.test("runner: TS ecr is checked and inbound ecr maps onto the engine's clock", () => {
  const r = runDrill(
    [
      "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
      "+0 bind(3, ..., ...) = 0",
      "+0 listen(3, 1) = 0",
      "+0 < S 0:0(0) win 65535 <mss 1460,TS val 500 ecr 0>",
      "+0 > S. 0:0(0) ack 1 <mss 1460,TS val 10 ecr 501>",
    ].join("\n"),
    "t.pkt",
  );
  fails(r, 5, /TS ecr 500 where the script expects 501/);
});

Deno.test("runner: nothing sent by the scripted time names the next timer", () => {
  fails(
    run(["+.1 write(4, ..., 10) = 10", "+0 > P. 1:11(10) ack 1", "+.1 > P. 1:11(10) ack 1"]),
    10,
    /the engine sent nothing by 0\.304 s; the connection is in ESTABLISHED; its next timer: retransmission at 0\.500 s/,
  );
  fails(run(["+0 > . 1:1(0) ack 1"]), 8, /the engine sent nothing by 0\.104 s.*no timer is armed/);
});

Deno.test("runner: a segment before its time fails; inside the tolerance it passes", () => {
  const data = ["+.1 < P. 1:11(10) ack 1 win 65535"];
  // The delayed ACK goes 40 ms later.
  passes(run([...data, "+.04 > . 1:1(0) ack 11"]));
  passes(run([...data, "+.037 > . 1:1(0) ack 11"]));
  fails(
    run([...data, "+.037 > . 1:1(0) ack 11"], { toleranceMs: 2 }),
    9,
    /sent nothing by 0\.239 s/,
  );
  fails(
    run([...data, "+.05 > . 1:1(0) ack 11"]),
    9,
    /at 0\.240 s, before the scripted time 0\.250 s \(tolerance 4 ms\)/,
  );
  passes(run([...data, "+.03~+.05 > . 1:1(0) ack 11"]));
  passes(run([...data, "* > . 1:1(0) ack 11"]));
});

Deno.test("runner: a segment the script does not expect fails, before a line or at the end", () => {
  fails(
    run(["+.1 close(4) = 0", "+.1 < . 1:1(0) ack 2 win 65535"]),
    9,
    /before this line the engine sent `F\. 1:1\(0\) ack 1 win 65535` at 0\.200 s, which the script does not expect/,
  );
  fails(
    run(["+.1 close(4) = 0"]),
    8,
    /after the last line, the engine sent `F\. 1:1\(0\) ack 1 win 65535` at 0\.200 s, which the script does not expect/,
  );
});

Deno.test("runner: system call results and errno are checked", () => {
  fails(
    run(["+0 close(4) = -1 EBADF"]),
    8,
    /close\(4\) returned 0 where the script expects -1 EBADF/,
  );
  fails(
    run(["+0 close(9) = 0"]),
    8,
    /close\(9\) returned -1 EBADF where the script expects 0 \(fd 9 is not open\)/,
  );
  fails(
    run(["+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0", "+0 read(4, ..., 5) = 5"]),
    9,
    /read\(4, \.\.\., 5\) returned -1 EAGAIN where the script expects 5 \(no data has arrived\)/,
  );
  passes(
    run(["+0 fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0", "+0 read(4, ..., 5) = -1 EWOULDBLOCK"]),
  );
  passes(
    run([
      "+0 fcntl(4, F_GETFL) = 0x2",
      "+0 fcntl(4, F_SETFL, O_NONBLOCK) = 0",
      "+0 fcntl(4, F_GETFL) = 0x802",
    ]),
  );
  fails(
    run(["+0 getsockopt(4, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0"]),
    8,
    /SO_ERROR is 0 where the script expects ECONNREFUSED \(111\)/,
  );
  fails(
    run(["+0 setsockopt(4, SOL_SOCKET, SO_BOGUS, [1], 4) = 0"]),
    8,
    /returned -1 ENOPROTOOPT where the script expects 0 \(finwait drill does not know the option SO_BOGUS\)/,
  );
});

Deno.test("runner: blocking calls block; without start...end that is a failure", () => {
  fails(
    run(["+0 read(4, ..., 10) = 10"]),
    8,
    /read\(4, \.\.\., 10\) would block at 0\.100 s \(no data has arrived\); make the socket non-blocking/,
  );
  passes(
    run([
      "+0...0.3 read(4, ..., 10) = 10",
      "0.3 < P. 1:11(10) ack 1 win 65535",
      "0.34 > . 1:1(0) ack 11",
    ]),
  );
  fails(
    run(["+0...0.3 read(4, ..., 10) = 10", "0.2 < P. 1:11(10) ack 1 win 65535"]),
    8,
    /returned at 0\.200 s, the script expects it to return at 0\.300 s/,
  );
  fails(
    run(["+0...0.3 read(4, ..., 10) = 10", "0.5 < . 1:1(0) ack 1 win 65535"]),
    8,
    /was still blocked at 0\.300 s \(no data has arrived\)/,
  );
  fails(run(["+0...0.3 read(4, ..., 10) = 10"]), 8, /was still blocked when the script ended/);
  fails(
    run(["+0 < P. 1:11(10) ack 1 win 65535", "+0...0.5 read(4, ..., 10) = 10"]),
    9,
    /returned at once \(0\.100 s\), not at 0\.500 s/,
  );
});

Deno.test("runner: script mistakes found while running name the line", () => {
  fails(
    run(["0.05 close(4) = 0"]),
    8,
    /The time 0\.050 s is before the previous event \(0\.100 s\)/,
  );
  fails(
    run(["+0 poll(4, 1, 0) = 1"]),
    8,
    /the system call poll\(\) is not supported by finwait drill/,
  );
  fails(run(["+0 shutdown(4, SHUT_SIDEWAYS) = 0"]), 8, /unknown name "SHUT_SIDEWAYS"/);
  fails(
    run(["+0 close(x) = 0"]),
    8,
    /the first argument of close\(\) must be a file descriptor number/,
  );
  fails(
    run(["+0 setsockopt(4, SOL_TCP, TCP_USER_TIMEOUT, [1000], 4) = 0"]),
    8,
    /TCP_USER_TIMEOUT can only be set before connect\(\) or listen\(\)/,
  );
});

Deno.test("runner: a malformed script is not run and reports its lines", () => {
  const r = runDrill("0 close(3) = 0\n+0 < Q 0:0(0) win 1\n", "bad.pkt");
  assert.equal(r.passed, false);
  assert.equal(r.failure, undefined);
  assert.equal(r.eventsRun, 0);
  assert.deepEqual(r.errors, [{
    line: 2,
    reason: 'Unknown TCP flag "Q" in "Q": use S, F, R, P, ., U, E or W',
  }]);
});

Deno.test("runner: sockets, fds and errno follow the Linux conventions scripts expect", () => {
  passes(runDrill(
    [
      "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
      "+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4",
      "+0 close(3) = 0",
      "+0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
      "+0 socket(..., SOCK_DGRAM, 0) = -1 EPROTONOSUPPORT",
      "+0 read(3, ..., 1) = -1 ENOTCONN",
      "+0 write(3, ..., 1) = -1 EPIPE",
      "+0 accept(3, ..., ...) = -1 EINVAL",
      "+0 shutdown(3, SHUT_WR) = -1 ENOTCONN",
      "+0 bind(3, ..., ...) = 0",
      "+0 listen(3, 1) = 0",
      "+0 bind(4, ..., ...) = 0",
      "+0 listen(4, 1) = -1 EADDRINUSE",
      "+0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0",
      "+0 accept(3, ..., ...) = -1 EAGAIN",
      "+0 close(3) = 0",
      "+0 close(3) = -1 EBADF",
    ].join("\n"),
    "fds.pkt",
  ));
});

Deno.test("runner: the verbose log tells the story", () => {
  const r = run(["+.1 close(4) = 0", "+0 > F. 1:1(0) ack 1"]);
  passes(r);
  const log = r.log.join("\n");
  assert.match(log, /line 4 {2}< S 0:0\(0\) win 65535 <mss 1460> {3}\(injected\)/);
  assert.match(log, /connection 1: SYN-RECEIVED → ESTABLISHED \(rcv-ack\)/);
  assert.match(log, /line 9 {2}> F\. 1:1\(0\) ack 1 win 65535 {3}\(engine, as expected\)/);
});

Deno.test("runner: profiles change the engine (RTO floor)", () => {
  const script = (rto: string) =>
    [
      "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3",
      "+0 bind(3, ..., ...) = 0",
      "+0 listen(3, 1) = 0",
      "+0 < S 0:0(0) win 65535 <mss 1460>",
      "+0 > S. 0:0(0) ack 1 <mss 1460>",
      "+.01 < . 1:1(0) ack 1 win 65535",
      "+0 accept(3, ..., ...) = 4",
      "+0 close(4) = 0",
      "+0 > F. 1:1(0) ack 1",
      `+${rto} > F. 1:1(0) ack 1`,
    ].join("\n");
  passes(runDrill(script(".2"), "t", { profile: "linux" }));
  passes(runDrill(script(".03"), "t", { profile: "freebsd" }));
  passes(runDrill(script(".2"), "t", { profile: "finwait" }));
  fails(runDrill(script(".03"), "t", { profile: "linux" }), 10, /sent nothing by 0\.044 s/);
});
