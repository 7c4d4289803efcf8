/**
 * Option parsers shared by the CLI commands: each turns bad input into one clear
 * commander error.
 *
 * @module
 */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";

export function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}`);
    }
    return n;
  };
}

export function numberArg(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a number from ${min} to ${max}`);
    }
    return n;
  };
}

/** Loss as a fraction (0.1) or a percentage ("10%"). */
export function lossArg(v: string): number {
  const pct = v.endsWith("%");
  const n = Number(pct ? v.slice(0, -1) : v);
  const p = pct ? n / 100 : n;
  if (!Number.isFinite(p) || p < 0 || p > 1) {
    throw new InvalidArgumentError("loss must be a fraction from 0 to 1, or a percentage like 10%");
  }
  return p;
}

/** `--msl SECONDS` (a fresh Option per command), defaulting to `seconds`. */
export function mslOption(seconds: number) {
  return new Option("--msl <seconds>", "maximum segment lifetime; TIME-WAIT lasts 2·MSL")
    .argParser(numberArg("msl", 0.001, 3600))
    .default(seconds);
}
