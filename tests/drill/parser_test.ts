/**
 * The packetdrill parser: what it accepts, and for malformed input the line
 * number and reason it reports (never an exception).
 */
import assert from "node:assert/strict";
import { parseScript } from "../../src/drill/parser.ts";
import type { PacketSpec, ScriptEvent, SyscallSpec } from "../../src/drill/script.ts";
import { ACK, FIN, PSH, RST, SYN } from "../../src/wire/segment.ts";

function ok(text: string): ScriptEvent[] {
  const r = parseScript(text, "t.pkt");
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.script.events;
}

function packet(text: string): PacketSpec {
  const b = ok(text)[0].body;
  assert.equal(b.type, "packet");
  return b as PacketSpec;
}

function syscall(text: string): SyscallSpec {
  const b = ok(text)[0].body;
  assert.equal(b.type, "syscall");
  return b as SyscallSpec;
}

Deno.test("parser: times absolute, relative, ranges, any and blocking", () => {
  const ev = ok(
    [
      "0 close(3) = 0",
      "+0.1 close(3) = 0",
      "+.25 close(3) = 0",
      "1.5~2 > . 1:1(0)",
      "+0~+0.01 > . 1:1(0)",
      "* > . 1:1(0)",
      "0.1...0.3 read(4, ..., 10) = 0",
      "+0...+0.2 accept(3, ..., ...) = 4",
    ].join("\n"),
  );
  assert.deepEqual(ev[0].time, { any: false, start: { ms: 0, relative: false } });
  assert.deepEqual(ev[1].time.start, { ms: 100, relative: true });
  assert.deepEqual(ev[2].time.start, { ms: 250, relative: true });
  assert.deepEqual(ev[3].time.rangeEnd, { ms: 2000, relative: false });
  assert.deepEqual(ev[4].time.rangeEnd, { ms: 10, relative: true });
  assert.equal(ev[5].time.any, true);
  assert.deepEqual(ev[6].time.blockingEnd, { ms: 300, relative: false });
  assert.deepEqual(ev[7].time.blockingEnd, { ms: 200, relative: true });
  assert.deepEqual(ev.map((e) => e.line), [1, 2, 3, 4, 5, 6, 7, 8]);
});

Deno.test("parser: packets with flags, ranges, ack, win, urg, options and /udp", () => {
  const syn = packet("0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>");
  assert.equal(syn.direction, "inbound");
  assert.equal(syn.flags, SYN);
  assert.equal(syn.win, 32792);
  assert.deepEqual(syn.options, [
    { kind: "mss", value: 1000 },
    { kind: "sackOK" },
    { kind: "nop" },
    { kind: "nop" },
    { kind: "nop" },
    { kind: "wscale", value: 7 },
  ]);
  const data = packet("+0 > FP. 1001:2001(1000) ack 1 win 257 <nop,nop,TS val 100 ecr 700>");
  assert.equal(data.direction, "outbound");
  assert.equal(data.flags, FIN | PSH | ACK);
  assert.equal(data.flagText, "FP.");
  assert.deepEqual([data.start, data.len, data.ack, data.win], [1001, 1000, 1, 257]);
  assert.deepEqual(data.options, [{ kind: "nop" }, { kind: "nop" }, {
    kind: "ts",
    val: 100,
    ecr: 700,
  }]);
  assert.equal(packet("0 > S. 0:0(0) ack 1 <...>").options, "any");
  assert.equal(packet("0 > R 1:1(0)").flags, RST);
  assert.equal(packet("0 > . 1:1(0) ack 1").flags, ACK);
  assert.equal(packet("0 > . 1:1(0) ack 1 urg 3").urg, 3);
  assert.deepEqual(packet("0 < . 1:1(0) ack 1 win 9 <sack 1:2 3:4,eol>").options, [
    { kind: "sack", blocks: [[1, 2], [3, 4]] },
    { kind: "eol" },
  ]);
  assert.deepEqual(packet("0 < S 0:0(0) win 1 /udp(1234 > 9811)").udp, { src: 1234, dst: 9811 });
  // The range may wrap around 2^32.
  assert.equal(packet("0 > . 4294967295:9(10) ack 1").len, 10);
});

Deno.test("parser: system calls with ellipses, symbols, lists, structs, calls and errno", () => {
  const s = syscall("0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3");
  assert.deepEqual(s.args, [
    { kind: "ellipsis" },
    { kind: "symbol", names: ["SOCK_STREAM"] },
    { kind: "symbol", names: ["IPPROTO_TCP"] },
  ]);
  assert.equal(s.ret, 3);
  const l = syscall("0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0");
  assert.deepEqual(l.args[3], {
    kind: "struct",
    fields: [
      { name: "onoff", value: { kind: "int", value: 1 } },
      { name: "linger", value: { kind: "int", value: 0 } },
    ],
  });
  assert.deepEqual(syscall("0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0").args[2], {
    kind: "symbol",
    names: ["O_RDWR", "O_NONBLOCK"],
  });
  assert.deepEqual(syscall("0 getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0").args[3], {
    kind: "list",
    items: [{ kind: "int", value: 0 }],
  });
  const c = syscall("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
  assert.deepEqual([c.ret, c.errno], [-1, "EINPROGRESS"]);
  const b = syscall(
    '0 bind(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = 0',
  );
  assert.equal(b.args[1].kind, "struct");
  assert.equal(syscall("0 fcntl(3, F_GETFL) = 0x802").ret, 0x802);
  assert.equal(syscall("0 write(4, ..., 10) = -1 EWOULDBLOCK").errno, "EWOULDBLOCK");
});

Deno.test("parser: comments, blank lines and statements spanning lines", () => {
  const r = parseScript(
    [
      "// a comment",
      "",
      "/* a block",
      "   comment */ 0 close(3) = 0 // trailing",
      "+0 setsockopt(3, SOL_SOCKET, SO_LINGER,",
      "              {onoff=1,",
      "               linger=0}, 8) = 0",
      "+0 write(4, ..., 5) = 5 /* inline */",
    ].join("\n"),
    "t.pkt",
  );
  assert.ok(r.ok);
  assert.deepEqual(r.script.events.map((e) => e.line), [4, 5, 8]);
  assert.equal(
    r.script.events[1].text,
    "+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0",
  );
});

Deno.test("parser: option lines, shell lines and Python blocks are set aside and listed", () => {
  const r = parseScript(
    [
      "--tolerance_usecs=10000",
      "`sysctl -q net.ipv4.tcp_rfc1337=1`",
      "0 close(3) = 0",
      "`echo one",
      " two`",
      "%{ assert tcpi_rto == 200000 }%",
      "%{",
      "print(1)",
      "}%",
      "+0 < . 1:1(0) ack 1 win 1 /udp(1 > 2)",
    ].join("\n"),
    "t.pkt",
  );
  assert.ok(r.ok);
  assert.equal(r.script.events.length, 2);
  assert.deepEqual(r.script.ignored.map((i) => [i.line, i.kind]), [
    [1, "option"],
    [2, "shell"],
    [4, "shell"],
    [6, "python"],
    [7, "python"],
    [10, "udp"],
  ]);
  assert.equal(r.script.ignored[2].text, "`echo one two`");
});

/** [script, line, a phrase the reason must contain] */
const MALFORMED: Array<[string, number, RegExp]> = [
  ["0 close(3) = 0\n+0 < SX 0:0(0) win 1", 2, /Unknown TCP flag "X" in "SX"/],
  ["0 < SS 0:0(0) win 1", 1, /Flag "S" written twice/],
  ["0 < S 0:10(5) win 1", 1, /Sequence range 0:10 covers 10 octets but the length says \(5\)/],
  ["0 < S 0:0(0)", 1, /An inbound packet needs a window: add "win N"/],
  ["0 < . 1:1(0) win 5", 1, /with the ACK flag \("\."\) needs "ack N"/],
  ["0 < S 0:0(0) win 70000", 1, /window after win 70000 is out of range \(0 to 65535\)/],
  ["0 < S 0:0(0) win 1 <...>", 1, /only for outbound packets/],
  ["0 > S 0:0(0) <mss 1460,bogus 3>", 1, /Unknown TCP option "bogus"/],
  ["0 > S 0:0(0) <wscale 15>", 1, /Window scale 15 is above 14/],
  ["0 > S 0:0(0) <TS val 1>", 1, /Expected "ecr" after the TS val/],
  ["0 > S 0:0(0) <FO abcd>", 1, /TCP Fast Open cookies \(FO\) are not supported/],
  ["0 > S 0:0(0) <mss 1460", 1, /Expected "," .*|Expected ">" in the end of the options/],
  ["0 > S 0:0(0) ack", 1, /Expected the acknowledgment number after ack/],
  ["0 > S 0:0 ack 1", 1, /Expected "\(" in start:end\(length\)/],
  ["0 > S 0:0(0) hello", 1, /Unexpected "hello" in a packet/],
  ["0 > [ect0] S 0:0(0)", 1, /Expected TCP flags/],
  ["0 > S 0:0(0) [ect0]", 1, /IP-level details in brackets/],
  ["0 > S 0:0(0) / tcp(1 > 2)", 1, /Expected "udp" after "\/"/],
  ["close(3) = 0", 1, /Expected a time \(like 0, \+0.1 or 1.5\)/],
  ["+x close(3) = 0", 1, /Expected a time/],
  ["0", 1, /Expected a packet \("<" or ">"\) or a system call after the time/],
  ["0 close(3)", 1, /Expected "= result" after close\(\.\.\.\)/],
  ["0 close(3) = -1", 1, /The result -1 needs an errno name/],
  ["0 close(3) = -1 EFOO", 1, /Unknown errno name "EFOO"/],
  ["0 close(3) = 0 EAGAIN", 1, /An errno \(EAGAIN\) goes with the result -1/],
  ["0 close(3) = 0 extra", 1, /Unknown errno name "extra"/],
  ["0 close(3 = 0", 1, /Unclosed bracket: the statement never ends/],
  ['0 write(4, "abc, 3) = 3', 1, /Unterminated string/],
  ["0 close(3) = 0 # hash", 1, /Unexpected character "#"/],
  ["0 close(3) = 0\n/* never closed\n", 2, /Unclosed comment/],
  ["0 close(3) = 0\n`ls\n", 2, /Unclosed shell command/],
  ["%{ x\n", 1, /Unclosed Python block/],
  ["* close(3) = 0", 1, /The time "\*" is only allowed for outbound packets/],
  ["0...1 > . 1:1(0)", 1, /blocking time "start\.\.\.end" is only allowed for system calls/],
];

Deno.test("parser: malformed lines give their line number and a reason", async (t) => {
  for (const [text, line, reason] of MALFORMED) {
    await t.step(text.split("\n").at(-1) || text, () => {
      const r = parseScript(text, "bad.pkt");
      assert.equal(r.ok, false);
      if (r.ok) return;
      assert.equal(r.errors[0].line, line, JSON.stringify(r.errors));
      assert.match(r.errors[0].reason, reason);
    });
  }
});

Deno.test("parser: every malformed line is reported, in line order", () => {
  const r = parseScript("0 close(3) = 0\n+0 < Q 0:0(0) win 1\n+0 ok(\n\n+0 > . 1:1(0) win\n", "x");
  assert.equal(r.ok, false);
  if (r.ok) return;
  assert.deepEqual(r.errors.map((e) => e.line), [2, 3]);
});

Deno.test("parser: never throws, whatever the input", () => {
  // A deterministic stream of fragments glued at random.
  const bits = [
    "0",
    "+",
    ".1",
    "~",
    "...",
    "<",
    ">",
    "S.",
    "F",
    "1:",
    "2(",
    "1)",
    "ack",
    "win",
    "<mss",
    ",",
    "TS val",
    "ecr",
    ">",
    "close(",
    ")",
    "=",
    "-1",
    "EAGAIN",
    "{",
    "}",
    "[",
    "]",
    '"',
    "`",
    "//",
    "/*",
    "*/",
    "%{",
    "}%",
    "--x",
    "\n",
    " ",
    "|",
    "x",
    "/udp(",
  ];
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 3000; i++) {
    let text = "";
    const n = 1 + Math.floor(rnd() * 20);
    for (let k = 0; k < n; k++) text += bits[Math.floor(rnd() * bits.length)] + " ";
    const r = parseScript(text, "fuzz.pkt");
    if (!r.ok) { for (const e of r.errors) assert.ok(e.line >= 1 && e.reason.length > 0); }
  }
});
