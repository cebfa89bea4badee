// tsk check-config: reports the kernel features tsk needs, like `k3s check-config`, read
// from /proc and /sys (never by running other programs), then tests the executable's own
// parts: LevelDB through the bundled `level`, the native addon and the monitor helper.
// Exit 0 when every required feature is present; optional ones only warn.
import { accessSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  DEFAULT_DATA_DIR,
  embeddedFileNames,
  getDataDir,
  helperPath,
  isSingleExecutable,
  loadEmbeddedModule,
  loadNativeAddon,
  setDataDir,
} from "../embed";
import { type FlagSpec, parseFlags, UsageError, usage } from "./flags";

export const checkConfigFlags: FlagSpec[] = [
  {
    name: "data-dir",
    short: "d",
    type: "string",
    default: DEFAULT_DATA_DIR,
    help: "data directory (the executable unpacks its native files under DIR/data)",
  },
  { name: "help", short: "h", type: "bool", help: "show this help" },
];

type Status = "ok" | "missing" | "warning";

export interface Check {
  name: string;
  status: Status;
  detail: string;
}

export interface Section {
  title: string;
  checks: Check[];
}

/** What tsk needs a check for: a missing required feature fails, an optional one warns. */
function verdict(name: string, present: boolean, required: boolean, detail: string, why = ""): Check {
  if (present) return { name, status: "ok", detail };
  return { name, status: required ? "missing" : "warning", detail: why ? `${detail}: ${why}` : detail };
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

// ---- kernel configuration and modules -------------------------------------------------

/** CONFIG_* values from /proc/config.gz or /boot/config-<release>, if the kernel exposes them. */
export function readKernelConfig(): { source: string; values: Map<string, string> } | undefined {
  const sources: [string, () => string | undefined][] = [
    [
      "/proc/config.gz",
      () =>
        existsSync("/proc/config.gz")
          ? gunzipSync(readFileSync("/proc/config.gz")).toString("utf8")
          : undefined,
    ],
    [`/boot/config-${release()}`, () => read(`/boot/config-${release()}`)],
    [`/lib/modules/${release()}/build/.config`, () => read(`/lib/modules/${release()}/build/.config`)],
  ];
  for (const [source, load] of sources) {
    let text: string | undefined;
    try {
      text = load();
    } catch {
      text = undefined;
    }
    if (text !== undefined) return { source, values: parseKernelConfig(text) };
  }
  return undefined;
}

export function parseKernelConfig(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(CONFIG_[A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) values.set(m[1], m[2].replace(/^"|"$/g, ""));
  }
  return values;
}

interface KernelInfo {
  config?: Map<string, string>;
  builtin: Set<string>;
  modules: Set<string>;
}

function moduleList(file: string, re: RegExp): Set<string> {
  const out = new Set<string>();
  for (const line of (read(file) ?? "").split("\n")) {
    const m = re.exec(line);
    if (m) out.add(m[1].replace(/-/g, "_"));
  }
  return out;
}

function kernelInfo(config: Map<string, string> | undefined): KernelInfo {
  const dir = `/lib/modules/${release()}`;
  return {
    config,
    builtin: moduleList(join(dir, "modules.builtin"), /\/([^/]+)\.ko$/),
    modules: moduleList(join(dir, "modules.dep"), /\/([^/:]+)\.ko(?:\.[a-z]+)?:/),
  };
}

/**
 * Whether a kernel feature is there: built in, a loaded module, or a module the kernel
 * can load on demand. Uses the kernel configuration when there is one, else /sys/module
 * and /lib/modules.
 */
export function kernelFeature(
  k: KernelInfo,
  configKey: string,
  module: string,
): { present: boolean | undefined; how: string } {
  const loaded = existsSync(`/sys/module/${module}`);
  const value = k.config?.get(configKey);
  if (k.config) {
    if (value === "y") return { present: true, how: `built in (${configKey}=y)` };
    if (value === "m") {
      if (loaded) return { present: true, how: "module, loaded" };
      return {
        present: true,
        how: `module${k.modules.has(module) ? "" : `, not found under /lib/modules/${release()}`} (loaded on demand)`,
      };
    }
    if (loaded) return { present: true, how: "loaded" };
    return { present: false, how: `${configKey} is not set` };
  }
  if (loaded) return { present: true, how: "loaded" };
  if (k.builtin.has(module)) return { present: true, how: "built in" };
  if (k.modules.has(module)) return { present: true, how: "module (loaded on demand)" };
  return { present: undefined, how: "unknown (no kernel config, not loaded, not in /lib/modules)" };
}

function feature(
  k: KernelInfo,
  name: string,
  configKey: string,
  module: string,
  required: boolean,
  why: string,
): Check {
  const f = kernelFeature(k, configKey, module);
  if (f.present === undefined) return { name, status: "warning", detail: f.how };
  return verdict(name, f.present, required, f.how, why);
}

// ---- sections -------------------------------------------------------------------------

const NAMESPACES: [string, string, boolean, string][] = [
  ["mnt", "mount", true, ""],
  ["uts", "uts", true, ""],
  ["ipc", "ipc", true, ""],
  ["pid", "pid", true, ""],
  ["net", "network", true, ""],
  ["cgroup", "cgroup", false, "containers see the host's cgroup paths"],
  ["user", "user", false, "no user namespaces for containers"],
];

export function namespaceChecks(nsDir = "/proc/self/ns"): Section {
  const present = new Set<string>();
  try {
    for (const n of readdirSync(nsDir)) present.add(n);
  } catch {
    // reported below as missing
  }
  return {
    title: `Namespaces (${nsDir})`,
    checks: NAMESPACES.map(([file, name, required, why]) =>
      verdict(
        name,
        present.has(file),
        required,
        present.has(file) ? "" : "not supported by this kernel",
        why,
      ),
    ),
  };
}

export interface CgroupLayout {
  /** v1 controller -> its mount point. */
  v1: Map<string, string>;
  /** The cgroup2 mount, if any, and the controllers its root offers. */
  v2?: { mount: string; controllers: string[] };
  /** Controllers the kernel has enabled (/proc/cgroups, fourth column). */
  enabled: Set<string>;
}

// Controller names a v1 mount can carry in its options (besides name=... hierarchies),
// for kernels whose /proc/cgroups is gone.
const V1_CONTROLLERS = new Set([
  "cpu",
  "cpuacct",
  "cpuset",
  "memory",
  "devices",
  "freezer",
  "net_cls",
  "blkio",
  "perf_event",
  "net_prio",
  "hugetlb",
  "pids",
  "rdma",
  "misc",
]);

/** Parses /proc/self/mountinfo, /proc/cgroups and the cgroup2 root's cgroup.controllers. */
export function parseCgroupLayout(
  mountinfo: string,
  procCgroups: string,
  readControllers: (mount: string) => string | undefined,
): CgroupLayout {
  const enabled = new Set<string>();
  for (const line of procCgroups.split("\n")) {
    if (line.startsWith("#") || !line.trim()) continue;
    const [name, , , on] = line.split(/\s+/);
    if (on === "1") enabled.add(name);
  }
  const v1 = new Map<string, string>();
  let v2: CgroupLayout["v2"];
  for (const line of mountinfo.split("\n")) {
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const mountPoint = line.slice(0, sep).split(" ")[4]?.replace(/\\040/g, " ");
    const [fstype, , superOpts = ""] = line.slice(sep + 3).split(" ");
    if (fstype === "cgroup") {
      for (const opt of superOpts.split(","))
        if ((enabled.has(opt) || V1_CONTROLLERS.has(opt)) && !v1.has(opt)) v1.set(opt, mountPoint);
    } else if (fstype === "cgroup2" && !v2) {
      const controllers = (readControllers(mountPoint) ?? "").split(/\s+/).filter(Boolean);
      v2 = { mount: mountPoint, controllers };
    }
  }
  return { v1, v2, enabled };
}

const CONTROLLERS: [string, boolean, string][] = [
  ["cpu", true, ""],
  ["memory", true, ""],
  ["pids", true, ""],
  ["cpuacct", false, "no CPU usage statistics on cgroup v1"],
  ["cpuset", false, "no CPU pinning"],
  ["io", false, "no disk I/O limits"],
  ["freezer", false, "pods cannot be frozen on cgroup v1"],
  ["devices", false, "no device access control on cgroup v1"],
  ["hugetlb", false, "no huge page limits"],
];

export function cgroupChecks(layout: CgroupLayout): Section {
  const { v1, v2 } = layout;
  let mode: string;
  if (v1.size > 0 && v2) {
    mode = `hybrid: v1 controllers, cgroup2 at ${v2.mount} (offers ${v2.controllers.length ? v2.controllers.join(", ") : "no controllers"})`;
  } else if (v2) mode = `v2 (unified) at ${v2.mount}`;
  else if (v1.size > 0) mode = "v1";
  else mode = "not mounted";
  const checks: Check[] = [];
  if (v1.size === 0 && !v2) {
    checks.push({
      name: "cgroup file system",
      status: "missing",
      detail: "no cgroup or cgroup2 mount in /proc/self/mountinfo",
    });
  }
  for (const [name, required, why] of CONTROLLERS) {
    // cpuacct exists on v1 only (v2's cpu.stat covers it); blkio is v1's name for io.
    if (name === "cpuacct" && v1.size === 0) continue;
    const v1Name = name === "io" ? "blkio" : name;
    const where: string[] = [];
    if (v1.has(v1Name)) where.push(`v1 ${v1.get(v1Name)}`);
    if (v2?.controllers.includes(name)) where.push(`v2 ${v2.mount}`);
    const detail = where.length
      ? where.join(", ")
      : layout.enabled.has(v1Name)
        ? "enabled in the kernel but not mounted"
        : "not enabled";
    checks.push(verdict(name === "io" ? "io (blkio)" : name, where.length > 0, required, detail, why));
  }
  return { title: `Cgroups: ${mode}`, checks };
}

export function filesystemChecks(k: KernelInfo, procFilesystems: string): Section {
  const fs = new Set(procFilesystems.split("\n").map((l) => l.split("\t").pop()?.trim() ?? ""));
  const check = (name: string, configKey: string, module: string, required: boolean, why: string): Check => {
    if (fs.has(name)) return { name, status: "ok", detail: "in /proc/filesystems" };
    return feature(k, name, configKey, module, required, why);
  };
  return {
    title: "File systems",
    checks: [
      check("overlay", "CONFIG_OVERLAY_FS", "overlay", true, "image layers cannot be stacked"),
      check("tmpfs", "CONFIG_TMPFS", "tmpfs", true, "secrets and emptyDir in memory need it"),
      check("proc", "CONFIG_PROC_FS", "proc", true, ""),
    ],
  };
}

export function networkChecks(k: KernelInfo, ipForward: string | undefined): Section {
  const forward = ipForward?.trim();
  return {
    title: "Networking",
    checks: [
      feature(k, "veth", "CONFIG_VETH", "veth", true, "pods cannot be connected"),
      feature(k, "bridge", "CONFIG_BRIDGE", "bridge", true, "pods cannot be connected"),
      feature(k, "vxlan", "CONFIG_VXLAN", "vxlan", false, "pods on different nodes cannot reach each other"),
      feature(k, "nftables", "CONFIG_NF_TABLES", "nf_tables", true, "Services cannot be load-balanced"),
      feature(k, "nftables NAT", "CONFIG_NFT_NAT", "nft_nat", true, "Services cannot be load-balanced"),
      feature(k, "nftables conntrack", "CONFIG_NFT_CT", "nft_ct", false, "Service session state unavailable"),
      feature(
        k,
        "nftables masquerade",
        "CONFIG_NFT_MASQ",
        "nft_masq",
        false,
        "pods cannot reach outside the node",
      ),
      forward === undefined
        ? {
            name: "ip forwarding",
            status: "warning",
            detail: "/proc/sys/net/ipv4/ip_forward is not readable",
          }
        : verdict(
            "ip forwarding",
            forward === "1",
            false,
            `net.ipv4.ip_forward=${forward}`,
            "pods cannot reach other hosts until it is 1",
          ),
    ],
  };
}

// ---- the executable's own parts -------------------------------------------------------

async function levelSelfTest(): Promise<Check> {
  // Load the binding first: a Level whose binding fails in its constructor still runs its
  // deferred open, which would create the database directory after we cleaned up.
  try {
    if (isSingleExecutable()) loadEmbeddedModule("classic-level.node");
  } catch (err) {
    return { name: "LevelDB", status: "missing", detail: (err as Error).message };
  }
  const dir = mkdtempSync(join(tmpdir(), "tsk-check-config-"));
  try {
    const { Level } = await import("level");
    const db = new Level<string, string>(join(dir, "db"));
    await db.open();
    try {
      await db.batch([
        { type: "put", key: "a", value: "1" },
        { type: "put", key: "b", value: "2" },
      ]);
      const got = await db.get("b");
      if (got !== "2") throw new Error(`read back ${JSON.stringify(got)} instead of "2"`);
    } finally {
      await db.close();
    }
    return { name: "LevelDB", status: "ok", detail: "opened, wrote and read a database in a temp dir" };
  } catch (err) {
    return { name: "LevelDB", status: "missing", detail: (err as Error).message };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A CBOR round trip through cbor-x, with its native string decoder when this build carries it. */
async function cborSelfTest(): Promise<Check> {
  try {
    const { encode, decode, isNativeAccelerationEnabled } = await import("cbor-x");
    const value = { kind: "ConfigMap", data: { greeting: "grüß dich ✓", long: "x".repeat(200) }, n: 42 };
    const back = decode(encode(value));
    if (JSON.stringify(back) !== JSON.stringify(value)) throw new Error(`decoded ${JSON.stringify(back)}`);
    let how = isNativeAccelerationEnabled ? "native string decoder" : "JavaScript decoder";
    if (embeddedFileNames().includes("cbor-extract.node")) {
      try {
        loadEmbeddedModule("cbor-extract.node");
        how = "native string decoder";
      } catch (err) {
        return {
          name: "CBOR",
          status: "warning",
          detail: `round trip ok in JavaScript; native decoder: ${(err as Error).message}`,
        };
      }
    }
    return { name: "CBOR", status: "ok", detail: `round trip ok (${how})` };
  } catch (err) {
    return { name: "CBOR", status: "missing", detail: (err as Error).message };
  }
}

function nativeSelfTest(): Check[] {
  const inside = isSingleExecutable();
  const carried = new Set(embeddedFileNames());
  const absent = (name: string): Check => ({
    name,
    status: "warning",
    detail: inside ? "not included in this build" : "not built (npm run build:native)",
  });
  const checks: Check[] = [];
  if (inside && !carried.has("tsk_native.node")) checks.push(absent("native addon"));
  else {
    try {
      const addon = loadNativeAddon<Record<string, unknown>>();
      const fns = Object.values(addon).filter((v) => typeof v === "function").length;
      checks.push({ name: "native addon", status: "ok", detail: `loaded (${fns} functions)` });
    } catch (err) {
      const msg = (err as Error).message;
      checks.push(
        !inside && msg.includes("not built")
          ? absent("native addon")
          : { name: "native addon", status: "missing", detail: msg },
      );
    }
  }
  if (inside && !carried.has("tsk-monitor")) checks.push(absent("monitor helper"));
  else {
    try {
      const path = helperPath("tsk-monitor");
      accessSync(path, constants.X_OK);
      checks.push({ name: "monitor helper", status: "ok", detail: path });
    } catch (err) {
      const msg = (err as Error).message;
      checks.push(
        !inside && msg.includes("not built")
          ? absent("monitor helper")
          : { name: "monitor helper", status: "missing", detail: msg },
      );
    }
  }
  return checks;
}

// ---- output ---------------------------------------------------------------------------

export function formatSections(sections: Section[]): string {
  const lines: string[] = [];
  for (const s of sections) {
    lines.push(s.title);
    for (const c of s.checks) {
      const status = c.status === "ok" ? "ok" : c.status === "missing" ? "MISSING" : "warning";
      lines.push(`  ${c.name.padEnd(22)} ${status}${c.detail ? `  ${c.detail}` : ""}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(checkConfigFlags, argv);
  if (values.help) {
    process.stdout.write(
      `${usage("tsk check-config [FLAGS]", "Check the kernel features tsk needs and test the executable's own parts.", checkConfigFlags)}\n`,
    );
    return 0;
  }
  const dataDir = values["data-dir"] as string;
  if (!dataDir) throw new UsageError("--data-dir must not be empty");
  setDataDir(dataDir);

  const config = readKernelConfig();
  const k = kernelInfo(config?.values);
  const sections: Section[] = [
    namespaceChecks(),
    cgroupChecks(
      parseCgroupLayout(read("/proc/self/mountinfo") ?? "", read("/proc/cgroups") ?? "", (m) =>
        read(join(m, "cgroup.controllers")),
      ),
    ),
    filesystemChecks(k, read("/proc/filesystems") ?? ""),
    networkChecks(k, read("/proc/sys/net/ipv4/ip_forward")),
    {
      title: isSingleExecutable()
        ? `tsk executable (native files under ${join(getDataDir(), "data")})`
        : "tsk (running from source)",
      checks: [await levelSelfTest(), await cborSelfTest(), ...nativeSelfTest()],
    },
  ];
  process.stdout.write(
    `Kernel ${release()}, configuration ${config ? `from ${config.source}` : "not available"}\n\n`,
  );
  process.stdout.write(formatSections(sections));
  const all = sections.flatMap((s) => s.checks);
  const missing = all.filter((c) => c.status === "missing").length;
  const warnings = all.filter((c) => c.status === "warning").length;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? "" : "s"}`;
  if (missing > 0) {
    process.stdout.write(
      `\nSTATUS: fail (${plural(missing, "required feature")} missing, ${plural(warnings, "warning")})\n`,
    );
    return 1;
  }
  process.stdout.write(`\nSTATUS: pass (${plural(warnings, "warning")})\n`);
  return 0;
}
