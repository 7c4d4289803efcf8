/**
 * The libc calls the FFI transports make (`tun_device.ts`, `udp_ffi.ts`), loaded once
 * per process with `Deno.dlopen("libc.so.6")` (Linux, `--allow-ffi`).
 *
 * @module
 */

const SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  // ssize_t results fit an i32: a datagram is at most 64 KiB.
  sendto: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"],
    result: "i32",
  },
  recvfrom: {
    parameters: ["i32", "buffer", "usize", "i32", "buffer", "buffer"],
    result: "i32",
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  // Runs on a blocking-pool thread: the event loop goes on while it waits.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The loaded symbols. */
export type Libc = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

let libc: Libc | undefined;
let errnoView: Deno.UnsafePointerView | undefined;

/**
 * libc's symbols, loaded on the first call. Throws what `Deno.dlopen` throws
 * (`Deno.errors.NotCapable` without `--allow-ffi`; an Error when libc.so.6 is missing):
 * each caller words it for its users.
 */
export function loadLibc(): Libc {
  if (libc) return libc;
  const symbols = Deno.dlopen("libc.so.6", SYMBOLS).symbols;
  errnoView = new Deno.UnsafePointerView(symbols.__errno_location()!);
  libc = symbols;
  return libc;
}

/**
 * errno of the last failed libc call (glibc's thread-local `__errno_location`, cached:
 * synchronous FFI calls run on the JS thread). Only after {@linkcode loadLibc}.
 */
export function errno(): number {
  return errnoView!.getInt32();
}
