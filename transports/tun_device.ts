/**
 * A Linux TUN device through libc, with Deno FFI (`--allow-ffi`): open
 * `/dev/net/tun`, attach or create the interface with `TUNSETIFF` (`IFF_TUN |
 * IFF_NO_PI`: whole IP packets, no packet-information prefix), configure it with the
 * classic `SIOCSIF*` ioctls, and read and write packets on a non-blocking descriptor.
 *
 * Waiting for packets: {@linkcode TunDevice.waitReadable} calls `poll(2)` on the TUN
 * descriptor and an `eventfd` as an FFI symbol marked `nonblocking`, so the call runs
 * on a thread of Deno's blocking pool and the event loop stays free. When it resolves
 * the caller reads until `EAGAIN` (one wake-up, many packets), then waits again.
 * {@linkcode TunDevice.close} writes the eventfd, so a pending poll returns at once.
 *
 * Only this file (with `libc.ts`, which loads it) touches libc; `tun.ts` builds the
 * transport on it.
 *
 * @module
 */
import { errno, type Libc, loadLibc, ReadableWaiter } from "./libc.ts";

/** Why the device could not be opened or configured; `message` is one line for the user. */
export type TunErrorKind =
  | "no-ffi"
  | "no-libc"
  | "permission"
  | "no-tun"
  | "busy"
  | "bad-name"
  | "failed";

/** The device could not be opened or configured. */
export class TunError extends Error {
  readonly kind: TunErrorKind;
  readonly errno: number;
  constructor(kind: TunErrorKind, message: string, errno = 0) {
    super(message);
    this.name = "TunError";
    this.kind = kind;
    this.errno = errno;
  }
}

// <linux/if_tun.h>, <linux/sockios.h>, <linux/if.h>, <fcntl.h>, <poll.h>, <errno.h>
const TUNSETIFF = 0x400454ca;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const SIOCSIFADDR = 0x8916;
const SIOCSIFNETMASK = 0x891c;
const SIOCGIFMTU = 0x8921;
const SIOCSIFMTU = 0x8922;
const IFF_UP = 0x1;
const IFF_RUNNING = 0x40;
const O_RDWR = 0o2;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const IFREQ_BYTES = 40;
/** IFNAMSIZ less the terminating NUL. */
export const MAX_DEVICE_NAME = 15;

/** errno values the messages name. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  EAGAIN: 11,
  EACCES: 13,
  EBUSY: 16,
  ENODEV: 19,
  EINVAL: 22,
} as const;

function load(): Libc {
  try {
    return loadLibc();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      throw new TunError(
        "no-ffi",
        "Cannot open a TUN device: FFI access is not granted (run deno with --allow-ffi; " +
          "`deno task finwait` does)",
      );
    }
    const msg = e instanceof Error ? e.message : String(e);
    throw new TunError("no-libc", `Cannot open a TUN device: cannot load libc.so.6 (${msg})`);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Why a device name is refused, or undefined when it is fine. */
export function badDeviceName(name: string): string | undefined {
  const bytes = encoder.encode(name);
  if (bytes.length === 0 || bytes.length > MAX_DEVICE_NAME) {
    return `Invalid device name "${name}": use 1 to ${MAX_DEVICE_NAME} bytes`;
  }
  if (name === "." || name === ".." || /[/\s:\0]/.test(name)) {
    return `Invalid device name "${name}": no "/", ":", spaces, "." or ".."`;
  }
  return undefined;
}

function ifreq(name: string): Uint8Array {
  const r = new Uint8Array(IFREQ_BYTES);
  r.set(encoder.encode(name));
  return r;
}

function nameOf(r: Uint8Array): string {
  const end = r.indexOf(0);
  return decoder.decode(r.subarray(0, end < 0 || end > 16 ? 16 : end));
}

/** An open TUN interface. */
export class TunDevice {
  /** The interface name the kernel gave (as asked, or filled in for "name%d"). */
  readonly name: string;
  readonly fd: number;
  #c: Libc;
  #waiter: ReadableWaiter;
  #closed = false;

  /**
   * Opens `/dev/net/tun` and attaches to interface `name`, creating it if it does not
   * exist (a new interface lives as long as the descriptor; one made with
   * `ip tuntap add` persists). Throws a {@linkcode TunError} with a one-line message.
   */
  static open(name: string): TunDevice {
    const bad = badDeviceName(name);
    if (bad) throw new TunError("bad-name", bad);
    const c = load();
    const fd = c.open(encoder.encode("/dev/net/tun\0"), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      const e = errno();
      if (e === ERRNO.EACCES || e === ERRNO.EPERM) {
        throw new TunError(
          "permission",
          "Cannot open /dev/net/tun: permission denied (finwait tun needs root or CAP_NET_ADMIN)",
          e,
        );
      }
      if (e === ERRNO.ENOENT || e === ERRNO.ENODEV || e === ERRNO.ENXIO) {
        throw new TunError(
          "no-tun",
          "Cannot open /dev/net/tun: no TUN support (load it with `modprobe tun`; in a " +
            "container, pass --device /dev/net/tun)",
          e,
        );
      }
      throw new TunError("failed", `Cannot open /dev/net/tun: errno ${e}`, e);
    }
    const r = ifreq(name);
    new DataView(r.buffer).setUint16(16, IFF_TUN | IFF_NO_PI, true);
    if (c.ioctl(fd, BigInt(TUNSETIFF), r) < 0) {
      const e = errno();
      c.close(fd);
      if (e === ERRNO.EPERM || e === ERRNO.EACCES) {
        throw new TunError(
          "permission",
          `Cannot create TUN device "${name}": operation not permitted ` +
            "(finwait tun needs root or CAP_NET_ADMIN)",
          e,
        );
      }
      if (e === ERRNO.EBUSY) {
        throw new TunError("busy", `Cannot attach to "${name}": another process holds it`, e);
      }
      if (e === ERRNO.EINVAL) {
        throw new TunError(
          "bad-name",
          `Cannot attach to "${name}": it exists and is not a TUN device (a TAP or another kind?)`,
          e,
        );
      }
      throw new TunError("failed", `Cannot create TUN device "${name}": errno ${e}`, e);
    }
    const waiter = ReadableWaiter.create(c, fd);
    if (typeof waiter === "number") {
      c.close(fd);
      throw new TunError("failed", `Cannot create an eventfd: errno ${waiter}`, waiter);
    }
    return new TunDevice(c, fd, waiter, nameOf(r));
  }

  private constructor(c: Libc, fd: number, waiter: ReadableWaiter, name: string) {
    this.#c = c;
    this.fd = fd;
    this.#waiter = waiter;
    this.name = name;
  }

  /**
   * Reads one packet into `buf`; returns its length, `-EAGAIN` when nothing waits, or
   * another negative errno. Never blocks.
   */
  read(buf: Uint8Array): number {
    for (;;) {
      const n = this.#c.read(this.fd, buf, BigInt(buf.length));
      if (n >= 0) return n;
      const e = errno();
      if (e !== ERRNO.EINTR) return -e;
    }
  }

  /** Writes one whole packet `buf[0..len)`; returns `len` or a negative errno. */
  write(buf: Uint8Array, len: number): number {
    for (;;) {
      const n = this.#c.write(this.fd, buf, BigInt(len));
      if (n >= 0) return n;
      const e = errno();
      if (e !== ERRNO.EINTR) return -e;
    }
  }

  /**
   * Resolves true once a packet can be read, false once the device is closed (or the
   * descriptor failed). One wait at a time.
   */
  waitReadable(): Promise<boolean> {
    return this.#waiter.wait();
  }

  /** The interface MTU. */
  mtu(): number {
    const r = ifreq(this.name);
    this.#sockIoctl(SIOCGIFMTU, r, "read the MTU of");
    return new DataView(r.buffer).getInt32(16, true);
  }

  /** Sets the interface MTU. */
  setMtu(mtu: number): void {
    const r = ifreq(this.name);
    new DataView(r.buffer).setInt32(16, mtu, true);
    this.#sockIoctl(SIOCSIFMTU, r, `set MTU ${mtu} on`);
  }

  /**
   * Gives the interface the IPv4 address `ip` (4 bytes) with a `prefix`-bit netmask:
   * the kernel's side of the link, and the route to the subnet through it.
   */
  setAddress(ip: Uint8Array, prefix: number): void {
    const r = ifreq(this.name);
    const v = new DataView(r.buffer);
    v.setUint16(16, AF_INET, true);
    r.set(ip, 20);
    this.#sockIoctl(SIOCSIFADDR, r, `set address ${ip.join(".")} on`);
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    const m = ifreq(this.name);
    const mv = new DataView(m.buffer);
    mv.setUint16(16, AF_INET, true);
    mv.setUint32(20, mask, false);
    this.#sockIoctl(SIOCSIFNETMASK, m, `set netmask /${prefix} on`);
  }

  /** Brings the interface up. */
  up(): void {
    const r = ifreq(this.name);
    this.#sockIoctl(SIOCGIFFLAGS, r, "read the flags of");
    const v = new DataView(r.buffer);
    v.setUint16(16, v.getUint16(16, true) | IFF_UP | IFF_RUNNING, true);
    this.#sockIoctl(SIOCSIFFLAGS, r, "bring up");
  }

  #sockIoctl(req: number, r: Uint8Array, what: string): void {
    const c = this.#c;
    const s = c.socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0) {
      const e = errno();
      throw new TunError("failed", `Cannot ${what} "${this.name}": socket failed, errno ${e}`, e);
    }
    const rc = c.ioctl(s, BigInt(req), r);
    const e = rc < 0 ? errno() : 0;
    c.close(s);
    if (rc >= 0) return;
    if (e === ERRNO.EPERM || e === ERRNO.EACCES) {
      throw new TunError(
        "permission",
        `Cannot ${what} "${this.name}": operation not permitted (needs CAP_NET_ADMIN)`,
        e,
      );
    }
    throw new TunError("failed", `Cannot ${what} "${this.name}": errno ${e}`, e);
  }

  /** Wakes a pending wait, then closes both descriptors. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#waiter.close();
    this.#c.close(this.fd);
  }
}
