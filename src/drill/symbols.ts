/**
 * The names a packetdrill script may use: errno values (Linux numbering, as
 * packetdrill prints them) and socket constants.
 *
 * @module
 */

/** errno names and their Linux numbers. */
export const ERRNO: Readonly<Record<string, number>> = Object.freeze({
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EAGAIN: 11,
  EWOULDBLOCK: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EINVAL: 22,
  EMFILE: 24,
  EPIPE: 32,
  ENOTSOCK: 88,
  EDESTADDRREQ: 89,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  ENOPROTOOPT: 92,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ECONNABORTED: 103,
  ECONNRESET: 104,
  ENOBUFS: 105,
  EISCONN: 106,
  ENOTCONN: 107,
  ESHUTDOWN: 108,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
  EHOSTUNREACH: 113,
  EALREADY: 114,
  EINPROGRESS: 115,
});

/** The errno name for a number (EAGAIN rather than EWOULDBLOCK). */
export function errnoName(n: number): string {
  for (const [name, v] of Object.entries(ERRNO)) if (v === n) return name;
  return String(n);
}

/** Socket constants a script may name (Linux values). */
export const CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  AF_INET: 2,
  AF_INET6: 10,
  PF_INET: 2,
  PF_INET6: 10,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  IPPROTO_TCP: 6,
  IPPROTO_UDP: 17,
  SOL_SOCKET: 1,
  SOL_TCP: 6,
  SO_REUSEADDR: 2,
  SO_ERROR: 4,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_KEEPALIVE: 9,
  SO_LINGER: 13,
  SO_REUSEPORT: 15,
  TCP_NODELAY: 1,
  TCP_MAXSEG: 2,
  TCP_QUICKACK: 12,
  TCP_USER_TIMEOUT: 18,
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_NONBLOCK: 0x800,
  F_GETFL: 3,
  F_SETFL: 4,
  SHUT_RD: 0,
  SHUT_WR: 1,
  SHUT_RDWR: 2,
  MSG_DONTWAIT: 0x40,
  MSG_PEEK: 0x2,
});
