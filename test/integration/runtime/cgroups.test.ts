// One conformance suite for every CgroupManager the host can run: v1 (here the
// controllers at /sys/fs/cgroup/<controller>) and v2 (the host's cgroup2 mount; on
// this hybrid machine /sys/fs/cgroup/unified, which carries no resource controllers).
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statfsSync, writeFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type CgroupManager, CgroupV1, CgroupV2 } from "../../../internal/runtime";

const CGROUP2 = 0x63677270;
const managers: [string, CgroupManager, string][] = [];
if (statfsSync("/sys/fs/cgroup").type === CGROUP2)
  managers.push(["v2", new CgroupV2("/sys/fs/cgroup"), "/sys/fs/cgroup"]);
else {
  managers.push(["v1", new CgroupV1("/sys/fs/cgroup"), "/sys/fs/cgroup/pids"]);
  if (existsSync("/sys/fs/cgroup/unified/cgroup.procs"))
    managers.push(["v2 (unified mount)", new CgroupV2("/sys/fs/cgroup/unified"), "/sys/fs/cgroup/unified"]);
}
const base = `tsk/conformance-${process.pid}`;
const children: number[] = [];

test.after(() => {
  for (const pid of children) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  for (const [, m] of managers) m.remove(base);
});

for (const [name, m, root] of managers) {
  test(`${name}: a process joins a nested cgroup, is listed, and removal kills it and leaves nothing`, async () => {
    const path = `${base}/${name.replace(/\W/g, "")}/pod/ctr`;
    const dirs = await m.create(path, {});
    assert.ok(dirs.length >= 1);
    const child = spawn("sleep", ["100"], { stdio: "ignore" });
    children.push(child.pid as number);
    for (const d of m.dirs(path)) writeFileSync(`${d}/cgroup.procs`, String(child.pid));
    assert.equal(m.pids(`${base}/${name.replace(/\W/g, "")}`), [child.pid]);
    assert.ok(m.exists(path));
    const exited = new Promise((r) => child.on("exit", r));
    m.remove(`${base}/${name.replace(/\W/g, "")}`);
    await exited;
    assert.not.ok(m.exists(path));
    assert.not.ok(existsSync(`${root}/${path}`));
  });
}

test("v1 applies memory, CPU and pids limits to the controllers' files", async () => {
  const v1 = managers.find(([n]) => n === "v1")?.[1];
  if (!v1) return; // a v2-only host: the v2 entry above runs instead
  const path = `${base}/limits`;
  await v1.create(path, { memoryBytes: 64 << 20, cpuMillis: 250, cpuShares: 256, pidsLimit: 42 });
  assert.is(
    readFileSync(`/sys/fs/cgroup/memory/${path}/memory.limit_in_bytes`, "utf8").trim(),
    String(64 << 20),
  );
  assert.is(readFileSync(`/sys/fs/cgroup/cpu/${path}/cpu.cfs_quota_us`, "utf8").trim(), "25000");
  assert.is(readFileSync(`/sys/fs/cgroup/cpu/${path}/cpu.shares`, "utf8").trim(), "256");
  assert.is(readFileSync(`/sys/fs/cgroup/pids/${path}/pids.max`, "utf8").trim(), "42");
  v1.update(path, { pidsLimit: 7 });
  assert.is(readFileSync(`/sys/fs/cgroup/pids/${path}/pids.max`, "utf8").trim(), "7");
});

test("v1 narrows a container's devices to Docker's list unless every device is asked for", async () => {
  const v1 = managers.find(([n]) => n === "v1")?.[1];
  if (!v1) return;
  const pod = `${base}/devpod`;
  await v1.create(pod, {}, { allDevices: true });
  const list = (p: string) => readFileSync(`/sys/fs/cgroup/devices/${p}/devices.list`, "utf8");
  assert.is(list(pod).trim(), "a *:* rwm");
  await v1.create(`${pod}/plain`, {});
  const plain = list(`${pod}/plain`);
  assert.not.ok(plain.startsWith("a "));
  assert.ok(plain.includes("c 1:3 rwm"), plain); // /dev/null
  assert.not.ok(plain.includes("b 8:"), plain); // no disks
  await v1.create(`${pod}/privileged`, {}, { allDevices: true });
  assert.is(list(`${pod}/privileged`).trim(), "a *:* rwm");
});

test.run();
