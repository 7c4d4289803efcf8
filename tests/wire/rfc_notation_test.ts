import { deepStrictEqual, equal, ok, throws } from "node:assert/strict";
import {
  ACK,
  CWR,
  ECE,
  EMPTY,
  FIN,
  formatSegment,
  newSegment,
  NotationError,
  parseSegment,
  PSH,
  RST,
  seg,
  type Segment,
  SYN,
  URG,
} from "../../src/wire/mod.ts";

function reason(text: string): string {
  const r = parseSegment(text);
  if (r.ok) throw new Error(`Expected "${text}" to be refused`);
  return r.reason;
}

// RFC 9293 §3.6, Figure 12 (normal close) and Figure 13 (simultaneous close), with
// peer A at SEQ 100 and peer B at SEQ 300, exactly as printed.
const FIGURE_12 = [
  "<SEQ=100><ACK=300><CTL=FIN,ACK>",
  "<SEQ=300><ACK=101><CTL=ACK>",
  "<SEQ=300><ACK=101><CTL=FIN,ACK>",
  "<SEQ=101><ACK=301><CTL=ACK>",
];
const FIGURE_13 = [
  "<SEQ=100><ACK=300><CTL=FIN,ACK>",
  "<SEQ=300><ACK=100><CTL=FIN,ACK>",
  "<SEQ=101><ACK=301><CTL=ACK>",
  "<SEQ=301><ACK=101><CTL=ACK>",
];

Deno.test("RFC 9293 Figures 12 and 13 parse and format back to the exact strings", () => {
  for (const text of [...FIGURE_12, ...FIGURE_13]) equal(formatSegment(seg(text)), text);
  deepStrictEqual(
    seg(FIGURE_12[0]),
    newSegment({ seq: 100, ack: 300, flags: FIN | ACK }),
  );
  deepStrictEqual(seg(FIGURE_12[1]), newSegment({ seq: 300, ack: 101, flags: ACK }));
});

Deno.test("formatSegment: ACK field only with the ACK bit, CTL order, DATA count", () => {
  equal(formatSegment(newSegment({ seq: 100, flags: SYN })), "<SEQ=100><CTL=SYN>");
  equal(formatSegment(newSegment({ seq: 5, ack: 99 })), "<SEQ=5>"); // no bits, no ACK field
  equal(
    formatSegment(newSegment({ seq: 0xffffffff, ack: 0, flags: 0xff & ~(FIN | RST) })),
    "<SEQ=4294967295><ACK=0><CTL=SYN,PSH,URG,ECE,CWR,ACK>",
  );
  equal(
    formatSegment(newSegment({ flags: ACK | CWR | ECE | URG | PSH | RST | FIN })),
    "<SEQ=0><ACK=0><CTL=FIN,RST,PSH,URG,ECE,CWR,ACK>",
  );
  equal(
    formatSegment(newSegment({ seq: 101, ack: 301, flags: ACK, payload: new Uint8Array(3) })),
    "<SEQ=101><ACK=301><CTL=ACK><DATA=3>",
  );
});

Deno.test("formatSegment verbose: window and each option present", () => {
  const s = newSegment({
    seq: 100,
    flags: SYN,
    window: 65535,
    mss: 1460,
    windowScale: 7,
    sackPermitted: true,
    tsVal: 12,
    tsEcr: 0,
  });
  equal(
    formatSegment(s, { verbose: true }),
    "<SEQ=100><CTL=SYN><WND=65535><MSS=1460><WS=7><SACKOK><TS=12,0>",
  );
  equal(formatSegment(s, { verbose: false }), "<SEQ=100><CTL=SYN>");
  equal(
    formatSegment(newSegment({ seq: 1, ack: 2, flags: ACK, window: 9, sack: [5, 10, 20, 30] }), {
      verbose: true,
    }),
    "<SEQ=1><ACK=2><CTL=ACK><WND=9><SACK=5:10,20:30>",
  );
});

Deno.test("parseSegment: every field, whitespace between fields, init fills the rest", () => {
  const s = seg(
    ` <SEQ=7>  <ACK=9>\n\t<CTL=ACK,PSH> <DATA="hi"> <WND=512> <MSS=536> <WS=14> <SACKOK>
      <TS=4294967295,1> <SACK=1:2,3:4> `,
    { srcPort: 80, dstPort: 4000, window: 1, flags: RST },
  );
  deepStrictEqual(
    s,
    newSegment({
      srcPort: 80,
      dstPort: 4000,
      seq: 7,
      ack: 9,
      flags: ACK | PSH,
      window: 512,
      mss: 536,
      windowScale: 14,
      sackPermitted: true,
      sack: [1, 2, 3, 4],
      tsVal: 0xffffffff,
      tsEcr: 1,
      payload: new TextEncoder().encode("hi"),
    }),
  );
  // ACK sets only the number; the bit comes from CTL alone (and init flags stay).
  const noBit = seg("<SEQ=1><ACK=2>", { flags: FIN });
  equal(noBit.flags, FIN);
  equal(noBit.ack, 2);
  equal(seg("<SEQ=1><CTL=SYN>", { flags: RST }).flags, SYN);
  equal(seg("<CTL= FIN , ACK >").flags, FIN | ACK);
});

Deno.test("parseSegment: DATA forms", () => {
  deepStrictEqual(seg("<SEQ=1><DATA>").payload, new Uint8Array([0x78]));
  equal(new TextDecoder().decode(seg("<DATA=30>").payload), "abcdefghijklmnopqrstuvwxyzabcd");
  equal(seg("<DATA=0>").payload.length, 0);
  equal(seg("<DATA=65535>").payload.length, 65535);
  equal(new TextDecoder().decode(seg('<DATA="a<b>c">').payload), "a<b>c");
  equal(new TextDecoder().decode(seg('<DATA="q\\"\\\\\\n\\r\\t">').payload), 'q"\\\n\r\t');
  equal(new TextDecoder().decode(seg('<DATA="é">').payload), "é");
  equal(seg('<DATA="">').payload.length, 0);
  equal(seg("<SEQ=1>").payload, EMPTY);
});

Deno.test("format/parse round trip over many segments", () => {
  let n = 0;
  for (const flags of [0, SYN, SYN | ACK, ACK, FIN | ACK, RST, RST | ACK, PSH | ACK | URG]) {
    for (const seq of [0, 1, 0x7fffffff, 0xffffffff]) {
      for (const size of [0, 1, 27]) {
        const text = formatSegment(
          newSegment({ seq, ack: (seq ^ 0x5555) >>> 0, flags, payload: new Uint8Array(size) }),
        );
        const back = seg(text);
        equal(formatSegment(back), text);
        equal(back.payload.length, size);
        const verbose = newSegment({
          seq,
          ack: flags & ACK ? 17 : 0,
          flags,
          window: seq & 0xffff,
          mss: size === 1 ? 1460 : undefined,
          windowScale: size === 27 ? 3 : undefined,
          sackPermitted: size !== 0,
          tsVal: size === 0 ? undefined : seq,
          tsEcr: size === 0 ? undefined : 5,
          sack: size === 27 ? [1, 2] : undefined,
          payload: seg(`<DATA=${size}>`).payload,
        });
        const vText = formatSegment(verbose, { verbose: true });
        deepStrictEqual(seg(vText), verbose, vText);
        n++;
      }
    }
  }
  equal(n, 96);
});

Deno.test("parseSegment: error reasons", () => {
  const table: Array<[string, string]> = [
    ["<FOO=1>", 'Unknown field "<FOO=1>"'],
    ["<SEQ=1><BAR>", 'Unknown field "<BAR>"'],
    ["<seq=1>", 'Unknown field "<seq=1>"'],
    ["<>", 'Unknown field "<>"'],
    ["", "Empty segment notation"],
    ["   ", "Empty segment notation"],
    ["SEQ=1", 'Expected "<" but found "S" at offset 0 of "SEQ=1"'],
    ["<SEQ=1> x", 'Expected "<" but found "x" at offset 8 of "<SEQ=1> x"'],
    ["<SEQ=1", 'Unterminated field "<SEQ=1"'],
    ["<SEQ=1<ACK=2>", 'Unterminated field "<SEQ=1"'],
    ['<DATA="abc>', 'Unterminated field "<DATA="abc>"'],
    ["<SEQ 1>", 'Malformed field "<SEQ 1>"'],
    ['<DATA="a"b>', 'Malformed field "<DATA="a"b>"'],
    ["<SEQ=1><SEQ=2>", 'Duplicate field "<SEQ=2>"'],
    ["<SEQ>", 'Malformed field "<SEQ>": expected <SEQ=n> with n in 0..4294967295'],
    ["<SEQ=-1>", 'Malformed field "<SEQ=-1>": expected <SEQ=n> with n in 0..4294967295'],
    [
      "<SEQ=4294967296>",
      'Malformed field "<SEQ=4294967296>": expected <SEQ=n> with n in 0..4294967295',
    ],
    ["<ACK=0x10>", 'Malformed field "<ACK=0x10>": expected <ACK=n> with n in 0..4294967295'],
    ["<SEQ=1.5>", 'Malformed field "<SEQ=1.5>": expected <SEQ=n> with n in 0..4294967295'],
    ['<SEQ="1">', 'Malformed field "<SEQ="1">": expected <SEQ=...> without quotes'],
    ["<CTL=FIN,FOO>", 'Unknown control bit "FOO" in "<CTL=FIN,FOO>"'],
    ["<CTL=fin>", 'Unknown control bit "fin" in "<CTL=fin>"'],
    ["<CTL=>", 'Malformed field "<CTL=>": expected <CTL=a,b> with control bits'],
    ["<CTL>", 'Malformed field "<CTL>": expected <CTL=a,b> with control bits'],
    ["<CTL=FIN,>", 'Unknown control bit "" in "<CTL=FIN,>"'],
    [
      "<DATA=65536>",
      'Malformed field "<DATA=65536>": expected <DATA>, <DATA=n> with n in 0..65535 or <DATA="text">',
    ],
    ['<DATA="\\x">', 'Bad escape "\\x" in "<DATA="\\x">"'],
    ["<WND=65536>", 'Malformed field "<WND=65536>": expected <WND=n> with n in 0..65535'],
    ["<MSS=>", 'Malformed field "<MSS=>": expected <MSS=n> with n in 0..65535'],
    ["<WS=15>", 'Malformed field "<WS=15>": expected <WS=n> with n in 0..14'],
    ["<SACKOK=1>", 'Malformed field "<SACKOK=1>": expected <SACKOK> without a value'],
    ["<TS=1>", 'Malformed field "<TS=1>": expected <TS=val,ecr> with both in 0..4294967295'],
    [
      "<TS=1,2,3>",
      'Malformed field "<TS=1,2,3>": expected <TS=val,ecr> with both in 0..4294967295',
    ],
    ["<TS>", 'Malformed field "<TS>": expected <TS=val,ecr> with both in 0..4294967295'],
    [
      "<SACK=1>",
      'Malformed field "<SACK=1>": expected <SACK=left:right,...> with edges in 0..4294967295',
    ],
    [
      "<SACK>",
      'Malformed field "<SACK>": expected <SACK=left:right,...> with edges in 0..4294967295',
    ],
    [
      "<SACK=1:2:3>",
      'Malformed field "<SACK=1:2:3>": expected <SACK=left:right,...> with edges in 0..4294967295',
    ],
  ];
  for (const [text, expected] of table) equal(reason(text), expected, text);
});

Deno.test("seg: throws NotationError with the reason; parseSegment never throws", () => {
  throws(() => seg("<FOO=1>"), (e) => {
    ok(e instanceof NotationError && e instanceof SyntaxError);
    equal(e.name, "NotationError");
    equal(e.message, 'Unknown field "<FOO=1>"');
    return true;
  });
  const garbage = ["<", ">", "<<>>", '<DATA="', "<=>", "<SEQ==1>", "\u0000", "<CTL=,>"];
  for (const text of garbage) equal(parseSegment(text).ok, false, text);
  const s: Segment = seg("<SEQ=1>");
  equal(s.seq, 1);
});
