// tsk check-config: how it reads cgroup layouts and kernel configurations it meets in the
// wild, and what it reports when run here from source.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cgroupChecks, parseCgroupLayout, parseKernelConfig } from "../../../internal/cli/check-config";

const ROOT = join(__dirname, "..", "..", "..");

// This development machine: v1 controllers, and a cgroup2 mount that took hugetlb
// (hugetlb has no v1 hierarchy, fourth column of /proc/cgroups says enabled).
const HYBRID_MOUNTINFO = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const HYBRID_CGROUPS = `#subsys_name	hierarchy	num_cgroups	enabled
cpuset	3	1	1
cpu	1	1	1
cpuacct	2	1	1
blkio	7	1	1
memory	4	31	1
devices	5	1	1
freezer	6	1	1
net_cls	0	1	1
perf_event	0	1	1
net_prio	0	1	1
hugetlb	0	1	1
pids	8	1	1
`;

const V2_MOUNTINFO =
  "25 20 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

function statuses(section: ReturnType<typeof cgroupChecks>): Record<string, string> {
  return Object.fromEntries(section.checks.map((c) => [c.name, `${c.status} ${c.detail}`]));
}

test("the hybrid layout shows v1 controllers and the hugetlb that cgroup2 offers", () => {
  const layout = parseCgroupLayout(HYBRID_MOUNTINFO, HYBRID_CGROUPS, (m) =>
    m === "/sys/fs/cgroup/unified" ? "hugetlb\n" : undefined,
  );
  const section = cgroupChecks(layout);
  assert.is(
    section.title,
    "Cgroups: hybrid: v1 controllers, cgroup2 at /sys/fs/cgroup/unified (offers hugetlb)",
  );
  const s = statuses(section);
  assert.is(s.memory, "ok v1 /sys/fs/cgroup/memory");
  assert.is(s.hugetlb, "ok v2 /sys/fs/cgroup/unified");
  assert.is(s["io (blkio)"], "ok v1 /sys/fs/cgroup/blkio");
  assert.not.ok("name=systemd" in s);
});

test("a unified (v2 only) host needs no cpuacct and reads its controllers from the root", () => {
  const layout = parseCgroupLayout(V2_MOUNTINFO, "", () => "cpuset cpu io memory hugetlb pids rdma misc\n");
  const section = cgroupChecks(layout);
  assert.is(section.title, "Cgroups: v2 (unified) at /sys/fs/cgroup");
  const s = statuses(section);
  assert.is(s.cpu, "ok v2 /sys/fs/cgroup");
  assert.is(s.pids, "ok v2 /sys/fs/cgroup");
  assert.not.ok("cpuacct" in s);
  // v2 has no freezer or devices controller; they are optional.
  assert.match(s.freezer, /^warning /);
});

test("a required controller missing from every hierarchy fails the check", () => {
  const mountinfo = HYBRID_MOUNTINFO.split("\n")
    .filter((l) => !l.includes("memory"))
    .join("\n");
  const cgroups = HYBRID_CGROUPS.replace("memory\t4\t31\t1", "memory\t0\t1\t0");
  const s = statuses(cgroupChecks(parseCgroupLayout(mountinfo, cgroups, () => "")));
  assert.is(s.memory, "missing not enabled");
});

test("kernel configurations are read for built-in, module and unset options", () => {
  const c = parseKernelConfig(
    'CONFIG_VETH=y\nCONFIG_VXLAN=m\n# CONFIG_NF_TABLES is not set\nCONFIG_LOCALVERSION="-fc"\n',
  );
  assert.is(c.get("CONFIG_VETH"), "y");
  assert.is(c.get("CONFIG_VXLAN"), "m");
  assert.is(c.get("CONFIG_NF_TABLES"), undefined);
  assert.is(c.get("CONFIG_LOCALVERSION"), "-fc");
});

test("tsk check-config from source passes on this machine with one line per feature", () => {
  const data = mkdtempSync(join(tmpdir(), "tsk-check-config-"));
  try {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", join(ROOT, "cmd/tsk/main.ts"), "check-config", "--data-dir", data],
      {
        cwd: ROOT,
        encoding: "utf8",
        timeout: 60_000,
      },
    );
    assert.is(r.status, 0, r.stdout + r.stderr);
    for (const line of [
      "mount",
      "network",
      "cpu",
      "memory",
      "pids",
      "overlay",
      "veth",
      "bridge",
      "nftables",
      "LevelDB",
      "CBOR",
    ]) {
      assert.match(r.stdout, new RegExp(`^  ${line}\\s+ok`, "m"), `${line} ok`);
    }
    assert.match(r.stdout, /^ {2}ip forwarding\s+(ok|warning) {2}net\.ipv4\.ip_forward=[01]/m);
    assert.match(r.stdout, /^STATUS: pass/m);
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
});

test("tsk check-config rejects an unknown flag with a usage error", () => {
  const r = spawnSync(
    process.execPath,
    ["--import", "tsx", join(ROOT, "cmd/tsk/main.ts"), "check-config", "--bogus"],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.is(r.status, 2);
  assert.match(r.stderr, /tsk check-config: .*--bogus/);
});

test.run();
