/**
 * pcap files for the CLI: the file side of the sans-IO {@linkcode PcapWriter}.
 * `finwait trace --pcap` uses it, and so can `listen`/`connect --pcap` and the
 * UI's `p` key: open, hand `writer` to `capturePcap`, `writeLogPcap` or call
 * `writer.writeTcp` per datagram, then `close()`.
 *
 * Errors are one line: `Cannot write pcap "out.pcap": No space left on device (os
 * error 28); the file keeps the first 12 packets`. After a failed write the file
 * is cut back to the last complete packet, so what it holds still opens.
 *
 * @module
 */
import { PcapWriteError, PcapWriter, type PcapWriterOptions } from "../trace/pcap.ts";

/** An open pcap file. */
export interface PcapFile {
  readonly path: string;
  readonly writer: PcapWriter;
  /**
   * Flushes and closes the file. Throws the one-line error when a write failed, now
   * or earlier (after cutting the file back to its complete packets). Idempotent.
   */
  close(): void;
}

/** Creates (or truncates) `path` and returns a writer streaming into it. */
export function openPcapFile(path: string, opts: PcapWriterOptions = {}): PcapFile {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(path, { write: true, create: true, truncate: true });
  } catch (e) {
    throw new Error(`Cannot write pcap "${path}": ${reason(e)}`);
  }
  const writer = new PcapWriter({ write: (bytes) => file.writeSync(bytes) }, opts);
  let closed = false;
  return {
    path,
    writer,
    close() {
      if (closed) return;
      closed = true;
      try {
        writer.close();
      } catch (e) {
        if (!(e instanceof PcapWriteError)) throw e;
        try {
          file.truncateSync(e.bytes); // cut a partly written packet off
        } catch { /* a device such as /dev/full cannot be truncated: keep what is there */ }
        const kept = e.packets === 0
          ? "no packet was written"
          : `the file keeps the first ${e.packets} packets`;
        throw new Error(`Cannot write pcap "${path}": ${reason(e.cause)}; ${kept}`);
      } finally {
        file.close();
      }
    },
  };
}

/** An OS error's message without Deno's `: open '/path'` tail. */
function reason(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/: [a-z]+ '.*'$/, "");
}
