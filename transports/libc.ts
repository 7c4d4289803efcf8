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

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;
const POLLIN = 0x1;
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLLNVAL = 0x20;

/**
 * Waits for a non-blocking descriptor to become readable without holding the event
 * loop: one `poll(2)` on the descriptor and an `eventfd`, through the `nonblocking`
 * FFI symbol, so it runs on a thread of Deno's blocking pool. {@linkcode close}
 * writes the eventfd, so a pending wait returns at once. One wait at a time.
 */
export class ReadableWaiter {
  readonly #c: Libc;
  readonly #event: number;
  readonly #fds = new Uint8Array(16);
  readonly #view = new DataView(this.#fds.buffer);
  #pending: Promise<boolean> | undefined;
  #closed = false;

  /** A waiter for `fd`, or the errno of a failed `eventfd()`. */
  static create(c: Libc, fd: number): ReadableWaiter | number {
    const event = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return event < 0 ? errno() : new ReadableWaiter(c, fd, event);
  }

  private constructor(c: Libc, fd: number, event: number) {
    this.#c = c;
    this.#event = event;
    const v = this.#view;
    v.setInt32(0, fd, true); // struct pollfd { int fd; short events, revents; } × 2
    v.setInt16(4, POLLIN, true);
    v.setInt32(8, event, true);
    v.setInt16(12, POLLIN, true);
  }

  /** Whether a wait is outstanding. */
  get waiting(): boolean {
    return this.#pending !== undefined;
  }

  /**
   * Resolves true once the descriptor may be read (or the poll was interrupted: the
   * caller reads nothing and waits again), false once closed or when the descriptor
   * failed.
   */
  wait(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#pending) throw new Error("Bug: ReadableWaiter.wait called while waiting");
    const v = this.#view;
    v.setInt16(6, 0, true);
    v.setInt16(14, 0, true);
    this.#pending = this.#c.poll(this.#fds, 2n, -1).then((r) => {
      this.#pending = undefined;
      if (this.#closed) return false;
      if (r < 0) return true;
      return (v.getInt16(6, true) & (POLLERR | POLLHUP | POLLNVAL)) === 0;
    }, () => {
      this.#pending = undefined;
      return false;
    });
    return this.#pending;
  }

  /** Wakes a pending wait, waits for it, closes the eventfd (not the descriptor). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const one = new Uint8Array(8);
    one[0] = 1;
    this.#c.write(this.#event, one, 8n);
    if (this.#pending) await this.#pending;
    this.#c.close(this.#event);
  }
}
