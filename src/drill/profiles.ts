/**
 * Profiles: the defaults a script assumes of the kernel under test. A script
 * written for Linux expects Linux's RTO floor, window scale and TIME-WAIT rules;
 * `--profile linux` sets them on the engine before the script runs.
 *
 * @module
 */
import type { TcbOptions } from "../tcb/options.ts";

/** The names accepted by `--profile`. */
export const PROFILE_NAMES = ["finwait", "linux", "freebsd"] as const;
/** One of {@linkcode PROFILE_NAMES}. */
export type ProfileName = typeof PROFILE_NAMES[number];

/** What a profile sets. */
export interface Profile {
  name: ProfileName;
  /** One line for `--help` and the README. */
  description: string;
  /** Connection settings applied to every socket the script opens. */
  tcb: Partial<TcbOptions>;
  /**
   * Initial congestion window in segments (RFC 5681 §3.1, RFC 6928). All three
   * kernels start at 10 segments, as finwait's congestion control does, so there is
   * nothing to set; scripts must not depend on cwnd growth beyond it.
   */
  initialWindow: number;
}

/** The profiles, by name. */
export const PROFILES: Readonly<Record<ProfileName, Profile>> = Object.freeze({
  finwait: {
    name: "finwait",
    description: 'finwait\'s own defaults (README "Behaviour"): RFC 1337 on, both reopen rules',
    tcb: {},
    initialWindow: 10,
  },
  linux: {
    name: "linux",
    description:
      "Linux 6.x: wscale 7, timestamps, RTO min 200 ms, RFC 1337 off, SYN reopen by SEQ or TS",
    tcb: {
      mss: 1460,
      rcvBuffer: 64_240, // 44 · 1460: the window of a Linux SYN
      windowScale: 7,
      timestamps: true,
      rtoInitial: 1000,
      rtoMin: 200,
      rtoMax: 120_000,
      maxRetries: 15,
      orphanRetries: 8,
      synRetries: 6,
      msl: 30_000, // TIME-WAIT is a fixed 60 s
      rfc1337: false, // net.ipv4.tcp_rfc1337 = 0
      timeWaitReopen: "seq-and-timestamp",
      finWait2Timeout: 60_000,
      delayedAck: 40,
      challengeAckInterval: 500,
    },
    initialWindow: 10,
  },
  freebsd: {
    name: "freebsd",
    description:
      "FreeBSD 14: wscale 6, timestamps, RTO min 30 ms, RFC 1337 always, SYN reopen by SEQ only",
    tcb: {
      mss: 1460,
      rcvBuffer: 65_536,
      windowScale: 6,
      timestamps: true,
      rtoInitial: 1000,
      rtoMin: 30,
      rtoMax: 64_000,
      maxRetries: 12,
      orphanRetries: 12,
      synRetries: 6,
      msl: 30_000,
      rfc1337: true,
      timeWaitReopen: "seq",
      paws: false, // no PAWS in TIME-WAIT
      finWait2Timeout: 60_000,
      delayedAck: 100,
    },
    initialWindow: 10,
  },
});

/** The profile called `name`, or `undefined`. */
export function findProfile(name: string): Profile | undefined {
  return (PROFILES as Record<string, Profile>)[name];
}

/** The connection settings a profile gives the engine (a copy). */
export function profileTcbOptions(p: Profile): Partial<TcbOptions> {
  return { ...p.tcb };
}
