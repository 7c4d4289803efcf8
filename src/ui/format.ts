/**
 * Text helpers for the terminal UI: state colours, countdown bars, sparklines,
 * times. Pure; the components and the line output share them.
 *
 * @module
 */
import type { Cause, State } from "../tcb/state.ts";
import type { UiStatus } from "./source.ts";

/** Badge colours per state: one hue per stage of the close. */
export const STATE_STYLE: Readonly<Record<State, { bg: string; fg: string }>> = {
  "CLOSED": { bg: "gray", fg: "black" },
  "LISTEN": { bg: "gray", fg: "black" },
  "SYN-SENT": { bg: "cyan", fg: "black" },
  "SYN-RECEIVED": { bg: "cyan", fg: "black" },
  "ESTABLISHED": { bg: "green", fg: "black" },
  "FIN-WAIT-1": { bg: "yellow", fg: "black" },
  "FIN-WAIT-2": { bg: "orange", fg: "black" },
  "CLOSE-WAIT": { bg: "magenta", fg: "white" },
  "CLOSING": { bg: "red", fg: "white" },
  "LAST-ACK": { bg: "purple", fg: "white" },
  "TIME-WAIT": { bg: "blue", fg: "white" },
};

/** What each state means, for the help overlay's legend. */
export const STATE_MEANING: Readonly<Record<State, string>> = {
  "CLOSED": "no connection",
  "LISTEN": "waiting for a SYN",
  "SYN-SENT": "our SYN sent, waiting for SYN,ACK",
  "SYN-RECEIVED": "SYN received, our SYN,ACK sent",
  "ESTABLISHED": "open: data flows both ways",
  "FIN-WAIT-1": "we closed; our FIN not yet acknowledged",
  "FIN-WAIT-2": "our FIN acknowledged; waiting for the peer's FIN",
  "CLOSE-WAIT": "the peer closed; waiting for our application to close",
  "CLOSING": "both sent FIN at once; waiting for the ACK of ours",
  "LAST-ACK": "closed after the peer; waiting for the ACK of our FIN",
  "TIME-WAIT": "both FINs done; 2·MSL so old duplicates die out",
};

/** A state change's cause in words, for the diagram. */
export const CAUSE_TEXT: Readonly<Record<Cause, string>> = {
  "open": "open",
  "listen": "listen",
  "rcv-syn": "SYN",
  "rcv-syn-ack": "SYN,ACK",
  "rcv-ack": "ACK",
  "rcv-fin": "FIN",
  "close": "close",
  "rcv-rst": "RST",
  "abort": "abort",
  "data-after-close": "data after close",
  "retransmit-timeout": "retransmission timeout",
  "user-timeout": "user timeout",
  "fin-wait-2-timeout": "FIN-WAIT-2 timeout",
  "time-wait-expired": "2·MSL",
  "reopened": "reopened by a new SYN",
  "recycled": "TIME-WAIT table full",
};

/** `n` cells of a countdown bar, full at 1. */
export function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return "█".repeat(full) + "░".repeat(Math.max(0, width - full));
}

const SPARK = "▁▂▃▄▅▆▇█";

/** A sparkline of `values`, scaled to their maximum (all-zero draws the floor). */
export function sparkline(values: readonly number[]): string {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  let out = "";
  for (const v of values) {
    out += max === 0 ? SPARK[0] : SPARK[Math.min(7, Math.round((v / max) * 7))];
  }
  return out;
}

/** A duration in seconds for countdowns: "0.35s", "4.2s", "59s". */
export function seconds(ms: number): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 1) return `${s.toFixed(2)}s`;
  if (s < 10) return `${s.toFixed(1)}s`;
  return `${Math.round(s)}s`;
}

/** A time stamp in seconds with ms: "  0.130". */
export function stamp(ms: number, width = 7): string {
  return (ms / 1000).toFixed(3).padStart(width);
}

/** A loss rate as a percentage: "0%", "12.5%". */
export function percent(p: number): string {
  const v = Math.round(p * 1000) / 10;
  return `${v}%`;
}

/** A clock speed: "0.2×", "1×", "16×". */
export function speedText(speed: number): string {
  if (!Number.isFinite(speed)) return "max";
  if (speed >= 10) return `${Math.round(speed)}×`;
  return `${Number(speed.toPrecision(2))}×`;
}

/** Cuts `text` to `width` columns (with "…") or pads it. */
export function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  if (width <= 0) return "";
  if (text.length > width) return width === 1 ? "…" : text.slice(0, width - 1) + "…";
  return align === "left" ? text.padEnd(width) : text.padStart(width);
}

/** Counts with thousands separators: "100,000". */
export function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** The header's text, for the line output too. */
export function headerText(status: UiStatus, now: number): string {
  const parts = [`t=${(now / 1000).toFixed(3)}s`, status.title, status.transport];
  if (status.seed !== undefined) parts.push(`seed ${status.seed}`);
  if (status.loss !== undefined) parts.push(`loss ${percent(status.loss)}`);
  if (status.speed !== undefined) parts.push(`speed ${speedText(status.speed)}`);
  parts.push(`MSL ${Number((status.msl / 1000).toPrecision(3))}s`);
  return parts.join(" · ");
}
