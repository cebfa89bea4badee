// cgroup managers: one interface, a v1 and a v2 implementation, picked once from
// what the host mounts at /sys/fs/cgroup. Paths given to a manager are relative
// ("tsk/<node>/<pod>/<container>"); the manager maps them onto its hierarchies.
// On a hybrid host (v1 controllers plus a v2 mount at /sys/fs/cgroup/unified that
// holds no useful controllers) the v1 manager is used.
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  statfsSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { type FsOp, native } from "./native";

export interface CgroupLimits {
  /** memory limit in bytes (memory.limit_in_bytes / memory.max) */
  memoryBytes?: number;
  /** CPU limit in millicores: quota = millis * period / 1000 */
  cpuMillis?: number;
  /** relative CPU weight in Docker/Kubernetes "shares" (2..262144, default 1024) */
  cpuShares?: number;
  /** maximum number of tasks */
  pidsLimit?: number;
}

export interface CgroupStats {
  /** total CPU time used, in nanoseconds */
  cpuUsageNanos: number;
  memoryUsageBytes: number;
  /** usage minus inactive file cache, what the kubelet evicts on */
  memoryWorkingSetBytes: number;
  pids: number;
  oomKills: number;
}

export interface CreateOptions {
  /**
   * Every device allowed (a pod's cgroup, which a privileged container inside may need,
   * or a privileged container's own) instead of Docker's default list.
   */
  allDevices?: boolean;
}

export interface CgroupManager {
  readonly version: 1 | 2;
  /**
   * Creates the cgroup (and parents) and applies limits. Returns the directories a process joins.
   * The kernel work (a mkdir per hierarchy, a write per limit) runs as one batch on libuv's pool.
   */
  create(path: string, limits: CgroupLimits, opts?: CreateOptions): Promise<string[]>;
  update(path: string, limits: CgroupLimits): void;
  /** Directories a process joins to be in this cgroup (for exec). */
  dirs(path: string): string[];
  /** The file whose "oom_kill N" line counts OOM kills. */
  oomEventsFile(path: string): string;
  stats(path: string): CgroupStats;
  /** PIDs in the cgroup and below. */
  pids(path: string): number[];
  /** Kills what is left inside and removes the cgroup and its children. */
  remove(path: string): void;
  exists(path: string): boolean;
}

const PERIOD_US = 100_000;

/** Docker's default device allow-list (null, zero, full, random, urandom, tty, console, ptmx, pts, tun). */
const DEVICE_RULES = [
  "c *:* m",
  "b *:* m",
  "c 1:3 rwm",
  "c 1:5 rwm",
  "c 1:7 rwm",
  "c 1:8 rwm",
  "c 1:9 rwm",
  "c 5:0 rwm",
  "c 5:1 rwm",
  "c 5:2 rwm",
  "c 136:* rwm",
  "c 10:200 rwm",
];

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const out = new Error(`write ${value} to ${path}: ${e.code ?? e.message}`) as NodeJS.ErrnoException;
    out.code = e.code;
    throw out;
  }
}

/** Files and the values written to them, in order. */
type Writes = [file: string, value: string][];

function readNumber(path: string): number {
  try {
    return Number(readFileSync(path, "utf8").trim()) || 0;
  } catch {
    return 0;
  }
}

function readKeyed(path: string): Record<string, number> {
  const out: Record<string, number> = {};
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return out;
  }
  for (const line of text.split("\n")) {
    const [k, v] = line.split(" ");
    if (k && v !== undefined) out[k] = Number(v);
  }
  return out;
}

function readPids(file: string): number[] {
  try {
    return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Removes dir and its child cgroups depth first, killing what is inside; retries while tasks exit. */
function removeTree(dir: string, procsFile: string): void {
  if (!existsSync(dir)) return;
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    if (ent.isDirectory()) removeTree(join(dir, ent.name), procsFile);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || attempt >= 200) throw new Error(`remove cgroup ${dir}: ${code}`);
      for (const pid of readPids(join(dir, procsFile))) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/** Kubernetes' shares -> cgroup v2 weight conversion (same formula as runc/crun). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

export class CgroupV1 implements CgroupManager {
  readonly version = 1 as const;
  private readonly controllers = ["cpu", "cpuacct", "memory", "pids", "devices"];

  constructor(private readonly root = "/sys/fs/cgroup") {}

  /** The hierarchies' mount points, each once: cpu and cpuacct may be co-mounted ("cpu,cpuacct" with symlinks). */
  private mounts?: string[];
  /** Whether an optional limit file (memory.memsw.limit_in_bytes ...) exists, by its path below the root. */
  private readonly optional = new Map<string, boolean>();

  dirs(path: string): string[] {
    if (!this.mounts) {
      const seen = new Set<string>();
      for (const c of this.controllers) {
        let mount = join(this.root, c);
        try {
          mount = realpathSync(mount);
        } catch {}
        seen.add(mount);
      }
      this.mounts = [...seen];
    }
    return this.mounts.map((m) => join(m, path));
  }

  async create(path: string, limits: CgroupLimits, opts: CreateOptions = {}): Promise<string[]> {
    const dirs = this.dirs(path);
    // One batch on one pool thread: directories, limits, devices.
    const ops: FsOp[] = dirs.map((d) => ["mkdirp", d]);
    for (const [f, v] of this.limitWrites(path, limits)) ops.push(["write", f, v]);
    ops.push(...this.deviceWrites(join(this.root, "devices", path), !!opts.allDevices));
    await native().fsBatch(ops);
    return dirs;
  }

  /** Whether the devices hierarchy exists and its root allows every device (then so does our subtree). */
  private devicesOpen?: boolean;

  /**
   * A new devices cgroup starts with its parent's list, which in our subtree is every device.
   * By default it is narrowed to Docker's rules: nothing but the standard character devices
   * (and mknod of anything, which is harmless without access), so CAP_MKNOD cannot reach host
   * disks. With allDevices it keeps them all. Under a root that is already narrowed (tsk inside
   * a container) the list is inherited as it is.
   */
  private deviceWrites(dir: string, all: boolean): FsOp[] {
    if (this.devicesOpen === undefined) {
      try {
        this.devicesOpen = readFileSync(join(this.root, "devices", "devices.list"), "utf8").startsWith("a ");
      } catch {
        this.devicesOpen = false; // no devices controller
      }
    }
    if (!this.devicesOpen || all) return [];
    return [
      ["write", join(dir, "devices.deny"), "a"],
      ...DEVICE_RULES.map((rule): FsOp => ["write", join(dir, "devices.allow"), rule]),
    ];
  }

  update(path: string, limits: CgroupLimits): void {
    for (const [f, v] of this.limitWrites(path, limits)) write(f, v);
  }

  /** The limit files to write for `limits`, in the order they must be written. */
  private limitWrites(path: string, limits: CgroupLimits): Writes {
    const out: Writes = [];
    const cpu = join(this.root, "cpu", path);
    const mem = join(this.root, "memory", path);
    if (limits.memoryBytes !== undefined) {
      // memory+swap may never be below memory: the memory limit goes first.
      out.push([join(mem, "memory.limit_in_bytes"), String(limits.memoryBytes)]);
      // No swap beyond the limit, so a hog is OOM-killed instead of swapping.
      if (this.has("memory", "memory.memsw.limit_in_bytes"))
        out.push([join(mem, "memory.memsw.limit_in_bytes"), String(limits.memoryBytes)]);
      if (this.has("memory", "memory.swappiness")) out.push([join(mem, "memory.swappiness"), "0"]);
    }
    if (limits.cpuMillis !== undefined) {
      // The period is the kernel's default already; only the quota is written.
      const quota = Math.max(1000, Math.round((limits.cpuMillis * PERIOD_US) / 1000));
      out.push([join(cpu, "cpu.cfs_quota_us"), String(quota)]);
    }
    if (limits.cpuShares !== undefined) out.push([join(cpu, "cpu.shares"), String(limits.cpuShares)]);
    if (limits.pidsLimit !== undefined)
      out.push([join(this.root, "pids", path, "pids.max"), String(limits.pidsLimit)]);
    return out;
  }

  /** Whether the controller's hierarchy offers this file (checked once, at its root). */
  private has(controller: string, file: string): boolean {
    const k = `${controller}/${file}`;
    let v = this.optional.get(k);
    if (v === undefined) {
      v = existsSync(join(this.root, controller, file));
      this.optional.set(k, v);
    }
    return v;
  }

  oomEventsFile(path: string): string {
    return join(this.root, "memory", path, "memory.oom_control");
  }

  stats(path: string): CgroupStats {
    const mem = join(this.root, "memory", path);
    const usage = readNumber(join(mem, "memory.usage_in_bytes"));
    const stat = readKeyed(join(mem, "memory.stat"));
    const inactive = stat.total_inactive_file ?? 0;
    return {
      cpuUsageNanos: readNumber(join(this.root, "cpuacct", path, "cpuacct.usage")),
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - inactive),
      pids: readNumber(join(this.root, "pids", path, "pids.current")),
      oomKills: readKeyed(join(mem, "memory.oom_control")).oom_kill ?? 0,
    };
  }

  pids(path: string): number[] {
    const out = new Set<number>();
    const walk = (dir: string) => {
      for (const p of readPids(join(dir, "cgroup.procs"))) out.add(p);
      try {
        for (const e of readdirSync(dir, { withFileTypes: true }))
          if (e.isDirectory()) walk(join(dir, e.name));
      } catch {}
    };
    walk(join(this.root, "pids", path));
    return [...out];
  }

  remove(path: string): void {
    for (const d of this.dirs(path)) removeTree(d, "cgroup.procs");
  }

  exists(path: string): boolean {
    return this.dirs(path).some((d) => existsSync(d));
  }
}

export class CgroupV2 implements CgroupManager {
  readonly version = 2 as const;

  constructor(private readonly root = "/sys/fs/cgroup") {}

  dirs(path: string): string[] {
    return [join(this.root, path)];
  }

  // v2 device control is an eBPF program (not attached here): allDevices changes nothing.
  async create(path: string, limits: CgroupLimits, _opts?: CreateOptions): Promise<string[]> {
    // Controllers must be enabled in every ancestor's subtree_control.
    const available = new Set(this.read(join(this.root, "cgroup.controllers")).split(/\s+/).filter(Boolean));
    const wanted = ["cpu", "memory", "pids"].filter((c) => available.has(c));
    let dir = this.root;
    for (const part of path.split("/").filter(Boolean)) {
      const enabled = new Set(this.read(join(dir, "cgroup.subtree_control")).split(/\s+/));
      const missing = wanted.filter((c) => !enabled.has(c));
      if (missing.length) write(join(dir, "cgroup.subtree_control"), missing.map((c) => `+${c}`).join(" "));
      dir = join(dir, part);
      mkdirSync(dir, { recursive: true });
    }
    this.update(path, limits);
    return [dir];
  }

  private read(file: string): string {
    try {
      return readFileSync(file, "utf8").trim();
    } catch {
      return "";
    }
  }

  update(path: string, limits: CgroupLimits): void {
    const dir = join(this.root, path);
    if (limits.memoryBytes !== undefined) {
      write(join(dir, "memory.max"), String(limits.memoryBytes));
      if (existsSync(join(dir, "memory.swap.max"))) write(join(dir, "memory.swap.max"), "0");
    }
    if (limits.cpuMillis !== undefined)
      write(
        join(dir, "cpu.max"),
        `${Math.max(1000, Math.round((limits.cpuMillis * PERIOD_US) / 1000))} ${PERIOD_US}`,
      );
    if (limits.cpuShares !== undefined)
      write(join(dir, "cpu.weight"), String(sharesToWeight(limits.cpuShares)));
    if (limits.pidsLimit !== undefined) write(join(dir, "pids.max"), String(limits.pidsLimit));
  }

  oomEventsFile(path: string): string {
    return join(this.root, path, "memory.events");
  }

  stats(path: string): CgroupStats {
    const dir = join(this.root, path);
    const usage = readNumber(join(dir, "memory.current"));
    const stat = readKeyed(join(dir, "memory.stat"));
    return {
      cpuUsageNanos: (readKeyed(join(dir, "cpu.stat")).usage_usec ?? 0) * 1000,
      memoryUsageBytes: usage,
      memoryWorkingSetBytes: Math.max(0, usage - (stat.inactive_file ?? 0)),
      pids: readNumber(join(dir, "pids.current")),
      oomKills: readKeyed(join(dir, "memory.events")).oom_kill ?? 0,
    };
  }

  pids(path: string): number[] {
    const out: number[] = [];
    const walk = (dir: string) => {
      out.push(...readPids(join(dir, "cgroup.procs")));
      try {
        for (const e of readdirSync(dir, { withFileTypes: true }))
          if (e.isDirectory()) walk(join(dir, e.name));
      } catch {}
    };
    walk(join(this.root, path));
    return out;
  }

  remove(path: string): void {
    const dir = join(this.root, path);
    if (existsSync(join(dir, "cgroup.kill"))) {
      try {
        writeFileSync(join(dir, "cgroup.kill"), "1");
      } catch {}
    }
    removeTree(dir, "cgroup.procs");
  }

  exists(path: string): boolean {
    return existsSync(join(this.root, path));
  }
}

const CGROUP2_SUPER_MAGIC = 0x63677270;

/** Picks the manager for this host: "v2" when /sys/fs/cgroup is cgroup2, "v1" otherwise; or the one named. */
export function cgroupManager(kind: "auto" | "v1" | "v2" = "auto", root = "/sys/fs/cgroup"): CgroupManager {
  switch (kind) {
    case "v1":
      return new CgroupV1(root);
    case "v2":
      return new CgroupV2(root);
    case "auto":
      return statfsSync(root).type === CGROUP2_SUPER_MAGIC ? new CgroupV2(root) : new CgroupV1(root);
    default:
      throw new Error(`unknown cgroup manager "${kind as string}" (want auto, v1 or v2)`);
  }
}
