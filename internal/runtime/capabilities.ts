// Linux capabilities by name, and the set a container gets: Docker's (and containerd's)
// default set, plus what is added, minus what is dropped, the way containerd reads a
// Kubernetes securityContext.
import { readFileSync } from "node:fs";

/** Capability numbers from linux/capability.h, without the CAP_ prefix. */
export const CAPABILITIES: readonly string[] = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
];

/** Docker's default set, which containerd's CRI plugin gives Kubernetes containers too. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FSETID",
  "FOWNER",
  "MKNOD",
  "NET_RAW",
  "SETGID",
  "SETUID",
  "SETFCAP",
  "SETPCAP",
  "NET_BIND_SERVICE",
  "SYS_CHROOT",
  "KILL",
  "AUDIT_WRITE",
];

export class CapabilityError extends Error {
  readonly code = "InvalidArgument";
}

/** The number of a capability named "NET_ADMIN", "CAP_NET_ADMIN" or "net_admin". */
export function capabilityNumber(name: string): number {
  const n = name.trim().toUpperCase().replace(/^CAP_/, "");
  const i = CAPABILITIES.indexOf(n);
  if (i < 0)
    throw new CapabilityError(
      `unknown capability "${name}": want a name such as NET_ADMIN (or CAP_NET_ADMIN), or ALL`,
    );
  return i;
}

/** "CAP_NET_ADMIN" for 12; "CAP_41" for numbers newer than this table. */
export function capabilityName(n: number): string {
  return `CAP_${CAPABILITIES[n] ?? n}`;
}

/** Capability names of a set, lowest number first. */
export function capabilityNames(set: bigint): string[] {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if (set & (1n << BigInt(i))) out.push(capabilityName(i));
  return out;
}

export function maskOf(names: readonly string[]): bigint {
  let m = 0n;
  for (const n of names) m |= 1n << BigInt(capabilityNumber(n));
  return m;
}

export interface CapabilityOptions {
  /** every capability the node has (add and drop are then ignored, as containerd does) */
  privileged?: boolean;
  add?: readonly string[];
  drop?: readonly string[];
}

/**
 * The capability set of a container (bit N = capability N). As containerd does: "ALL"
 * in add starts from every capability, "ALL" in drop from none, then single names are
 * added, then single names dropped. `available` is what this node may hand out (its
 * bounding set); "ALL" means all of it, and a named capability outside it is an error.
 */
export function capabilitySet(opts: CapabilityOptions, available: bigint): bigint {
  const add = opts.add ?? [];
  const drop = opts.drop ?? [];
  const isAll = (n: string) => n.trim().toUpperCase() === "ALL";
  // Names are checked even when privileged, so that a typo is not silently accepted.
  const added = maskOf(add.filter((n) => !isAll(n)));
  const dropped = maskOf(drop.filter((n) => !isAll(n)));
  if (opts.privileged) return available;
  let set = maskOf(DEFAULT_CAPABILITIES);
  if (add.some(isAll)) set = available;
  if (drop.some(isAll)) set = 0n;
  const missing = added & ~available;
  if (missing)
    throw new CapabilityError(
      `capability ${capabilityNames(missing).join(", ")} is not available on this node (not in its bounding set)`,
    );
  set |= added;
  set &= ~dropped;
  return set & available;
}

let hostSet: bigint | undefined;

/** This process's bounding set: what the containers it starts can be given. */
export function hostCapabilities(): bigint {
  if (hostSet === undefined) {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    hostSet = m ? BigInt(`0x${m[1]}`) : maskOf(CAPABILITIES);
  }
  return hostSet;
}
