import { equal } from "node:assert/strict";
import { Endpoint } from "../../src/endpoint/endpoint.ts";

Deno.test("localPortOf: the live connection's local port; -1 in compact TIME-WAIT or unknown", () => {
  const secret = new Uint8Array(16).fill(5);
  const a = new Endpoint({ address: "10.0.0.1", secret });
  const b = new Endpoint({ address: "10.0.0.2", secret });
  b.listen(80);
  const conn = a.connect("10.0.0.2", 80, 1);
  equal(a.localPortOf(conn), a.info(conn)!.localPort);
  equal(a.localPortOf(conn) >= 49152, true);
  equal(a.localPortOf(conn + 1000), -1);
  equal(a.localPortOf(1.5), -1);
  // Run the handshake and an active close into the compact TIME-WAIT table.
  const pump = () => {
    for (let moved = true; moved;) {
      moved = false;
      for (const [from, to, src] of [[a, b, "10.0.0.1"], [b, a, "10.0.0.2"]] as const) {
        for (let e = from.pollEvent(); e; e = from.pollEvent()) {
          moved = true;
          if (e.type === "peer-closed") from.close(e.conn, 1);
        }
        const out: Uint8Array[] = [];
        for (let t = from.pollTransmit(); t; t = from.pollTransmit()) out.push(t.bytes.slice());
        for (const bytes of out) to.handleDatagram(bytes, src, 1);
        if (out.length > 0) moved = true;
      }
    }
  };
  pump();
  a.close(conn, 1);
  pump();
  equal(a.state(conn), "TIME-WAIT");
  equal(a.timeWaitCount, 1);
  equal(a.localPortOf(conn), -1);
});
