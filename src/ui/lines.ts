/**
 * Line output for when there is no terminal (piped, CI): one line per state change,
 * segment, network fate and user call, in RFC notation. No raw mode, no cursor
 * movement, nothing but text.
 *
 * @module
 */
import { formatSegment } from "../wire/rfc_notation.ts";
import { CAUSE_TEXT, headerText, stamp } from "./format.ts";
import type { UiInput, UiNode, UiSource } from "./source.ts";

/** Turns inputs into lines; keeps what it needs to name datagrams the network touched. */
export class LineFormatter {
  #names = new Map<string, string>();
  #sent = new Map<number, { text: string; from: string; to: string }>();

  constructor(nodes: readonly UiNode[]) {
    for (const n of nodes) this.#names.set(n.address, n.label);
  }

  #name(address: string): string {
    return this.#names.get(address) ?? address;
  }

  /** The line for `input`, or `undefined` for inputs the line output leaves out. */
  line(input: UiInput): string | undefined {
    const t = stamp(input.at, 8);
    switch (input.kind) {
      case "action":
        return `${t}  ${this.#name(input.node)}  (${input.label})`;
      case "snapshot":
        return undefined;
      case "net": {
        const e = input.event;
        const d = this.#sent.get(e.id);
        if (e.type === "delivered") {
          if (d && e.copy === 0) this.#sent.delete(e.id);
          return undefined;
        }
        const what = d ? `${d.text} ` : `datagram ${e.id} `;
        const route = `${this.#name(e.from)} --> ${this.#name(e.to)}`;
        if (e.type === "lost") this.#sent.delete(e.id);
        return `${t}  ${route}  ${what}${e.type}`;
      }
      case "event": {
        const node = this.#name(input.node);
        const ev = input.event;
        switch (ev.type) {
          case "state-changed":
            return `${t}  ${node} #${ev.conn}  ${ev.from} → ${ev.to}  (${CAUSE_TEXT[ev.cause]})`;
          case "segment-sent": {
            const text = formatSegment(ev.segment);
            let to = "peer";
            for (const [addr, label] of this.#names) if (addr !== input.node) to = label;
            if (input.datagram !== undefined) {
              this.#sent.set(input.datagram, { text, from: input.node, to });
              // Bounded: a datagram never delivered nor lost (still in flight at exit).
              if (this.#sent.size > 10_000) this.#sent.delete(this.#sent.keys().next().value!);
            }
            return `${t}  ${node} --> ${to}  ${text}${
              ev.retransmission ? "  (retransmission)" : ""
            }`;
          }
          case "segment-dropped":
            return `${t}  ${node} dropped ${
              ev.segment ? formatSegment(ev.segment) : "a datagram"
            }: ${ev.reason}`;
          case "closed":
            return `${t}  ${node} #${ev.conn}  closed (${ev.reason})`;
          case "segment-received":
          case "data":
          case "peer-closed":
            return undefined;
        }
      }
    }
  }
}

/** Settings of {@linkcode runLines}. */
export interface RunLinesOptions {
  source: UiSource;
  write: (line: string) => void;
}

/**
 * Prints the source's activity as lines until the source reports itself idle
 * (everything closed, nothing scheduled), then its summary line.
 */
export function runLines({ source, write }: RunLinesOptions): Promise<void> {
  const fmt = new LineFormatter(source.nodes);
  write(headerText(source.status(), source.now()));
  const note = source.status().note;
  if (note) write(note);
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      unsubscribe();
      source.stop();
      const s = source.summary?.();
      if (s) write(s);
      resolve();
    };
    source.onError?.((e) => {
      if (done) return;
      done = true;
      unsubscribe();
      reject(e);
    });
    const unsubscribe = source.subscribe((inputs) => {
      try {
        for (const input of inputs) {
          const l = fmt.line(input);
          if (l !== undefined) write(l);
        }
        if (source.status().idle) finish();
      } catch (e) {
        done = true;
        unsubscribe();
        source.stop();
        reject(e);
      }
    });
    source.start();
    if (source.status().idle) finish();
  });
}
