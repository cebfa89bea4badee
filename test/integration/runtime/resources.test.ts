// Resource limits through the host's cgroups (v1 here, v2 where the host has it).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { collectLogs, type Env, makeEnv } from "./support";

let env: Env;
test.before(() => {
  env = makeEnv("res");
});
test.after(async () => {
  await env.cleanup();
});

test("a memory hog beyond its limit is OOM-killed and reported as OOMKilled", async () => {
  const id = await env.rt.create({
    layers: [env.layer],
    // Grows a shell variable past 32 MiB.
    command: ["sh", "-c", "x=0123456789abcdef; while true; do x=$x$x; done"],
    resources: { memoryBytes: 32 * 1024 * 1024 },
  });
  await env.rt.start(id);
  const st = await env.rt.wait(id);
  assert.is(st.oomKilled, true, JSON.stringify(st));
  assert.is(st.reason, "OOMKilled");
  assert.is(st.exitCode, 137);
});

test("a fork bomb stops at the pids limit", async () => {
  const id = await env.rt.create({
    layers: [env.layer],
    // The subshell dies at the first failed fork; counting uses builtins only.
    command: [
      "sh",
      "-c",
      "(n=0; while [ $n -lt 60 ]; do sleep 5 & n=$((n+1)); done) 2>/dev/null; c=0; for p in /proc/[0-9]*; do c=$((c+1)); done; echo $c",
    ],
    resources: { pidsLimit: 20 },
  });
  await env.rt.start(id);
  await env.rt.wait(id);
  const logs = await collectLogs(env.rt, id);
  const count = Number(/stdout: (\d+)/.exec(logs)?.[1]);
  assert.ok(count > 5 && count <= 20, `saw ${count} processes: ${logs}`);
});

test("CPU quota and shares are set on the container's cgroup and stats report usage", async () => {
  const id = await env.rt.create({
    layers: [env.layer],
    command: ["sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 100"],
    resources: { cpuMillis: 500, cpuShares: 512, memoryBytes: 64 << 20 },
  });
  await env.rt.start(id);
  const cg = env.rt.cgroups;
  if (cg.version === 1) {
    const dir = join("/sys/fs/cgroup/cpu", `tsk/${env.nodeName}/ctr-${id}`);
    assert.is(readFileSync(join(dir, "cpu.cfs_quota_us"), "utf8").trim(), "50000");
    assert.is(readFileSync(join(dir, "cpu.shares"), "utf8").trim(), "512");
  } else {
    const dir = join("/sys/fs/cgroup", `tsk/${env.nodeName}/ctr-${id}`);
    assert.is(readFileSync(join(dir, "cpu.max"), "utf8").trim(), "50000 100000");
  }
  await new Promise((r) => setTimeout(r, 500));
  const s = env.rt.stats(id);
  assert.ok(s.cpuUsageNanos > 0, JSON.stringify(s));
  assert.ok(s.memoryWorkingSetBytes > 0 && s.memoryWorkingSetBytes < 64 << 20, JSON.stringify(s));
  assert.ok(s.pids >= 1, JSON.stringify(s));
  await env.rt.remove(id, { force: true });
  assert.not.ok(existsSync(join("/sys/fs/cgroup/pids", `tsk/${env.nodeName}/ctr-${id}`)));
});

test.run();
