// Containers as a user sees them: isolation, rootfs, volumes, exit codes, logs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ContainerSpec } from "../../../internal/runtime";
import { collectLogs, type Env, makeEnv, mountsContaining, rejects } from "./support";

let env: Env;
test.before(() => {
  env = makeEnv("ctr");
});
test.after(async () => {
  await env.cleanup();
});

async function run(cmd: string, extra: Partial<ContainerSpec> = {}) {
  const id = await env.rt.create({ layers: [env.layer], command: ["sh", "-c", cmd], ...extra });
  await env.rt.start(id);
  const status = await env.rt.wait(id);
  const logs = await collectLogs(env.rt, id);
  return { id, status, logs };
}

test("PID 1 inside is the entrypoint and host processes are invisible", async () => {
  const { logs } = await run("echo self=$$; ps -o pid,comm | tail -n +2; ls /proc | grep -c '^[0-9]'");
  assert.match(logs, /stdout: self=1\n/);
  const pids = logs.match(/stdout:\s+(\d+) /g) ?? [];
  assert.ok(pids.length <= 3, `saw ${pids.length} processes: ${logs}`);
  assert.not.match(logs, /node/);
});

test("the container has the hostname it was given", async () => {
  const { logs } = await run("hostname", { hostname: "web-1" });
  assert.is(logs, "stdout: web-1\n");
});

test("the rootfs is the image's and writes do not reach the layer", async () => {
  const { logs } = await run(
    "cat /etc/image-file; echo changed > /etc/image-file; touch /new; cat /etc/image-file",
  );
  assert.is(logs, "stdout: from the image\nstdout: changed\n");
  assert.is(readFileSync(join(env.layer, "etc/image-file"), "utf8"), "from the image\n");
  assert.not.ok(existsSync(join(env.layer, "new")));
});

test("a file deleted in an upper layer (overlay whiteout) is absent", async () => {
  const { native } = await import("../../../internal/runtime");
  const upper = join(env.dir, "upper-layer");
  mkdirSync(join(upper, "etc"), { recursive: true });
  native().mknod(join(upper, "etc/image-file"), 0o020000, 0, 0);
  writeFileSync(join(upper, "etc/added"), "added\n");
  const { logs } = await run("ls /etc/image-file 2>&1 || echo gone; cat /etc/added", {
    layers: [env.layer, upper],
  });
  assert.match(logs, /gone/);
  assert.match(logs, /stdout: added/);
});

test("a volume's writes land on the host and a read-only volume refuses writes", async () => {
  const vol = join(env.dir, "vol");
  const ro = join(env.dir, "ro");
  mkdirSync(vol);
  mkdirSync(ro);
  writeFileSync(join(ro, "keep"), "x");
  const { status, logs } = await run(
    "echo hello > /data/out && (touch /config/nope 2>/dev/null && echo wrote || echo refused)",
    {
      mounts: [
        { hostPath: vol, containerPath: "/data" },
        { hostPath: ro, containerPath: "/config", readOnly: true },
      ],
    },
  );
  assert.is(status.exitCode, 0, logs);
  assert.is(readFileSync(join(vol, "out"), "utf8"), "hello\n");
  assert.match(logs, /refused/);
  assert.not.ok(existsSync(join(ro, "nope")));
});

test("exit codes and killing signals are reported", async () => {
  const a = await run("exit 42");
  assert.is(a.status.exitCode, 42);
  assert.is(a.status.reason, "Error");
  const c = await env.rt.create({ layers: [env.layer], command: ["sleep", "100"] });
  await env.rt.start(c);
  process.kill(env.rt.status(c).pid, "SIGKILL");
  const cs = await env.rt.wait(c);
  assert.is(cs.signal, 9);
  assert.is(cs.exitCode, 137);
  const d = await run("true");
  assert.is(d.status.exitCode, 0);
  assert.is(d.status.reason, "Completed");
});

test("logs keep order and keep stdout and stderr apart", async () => {
  const { logs, id } = await run("for i in 1 2 3; do echo out$i; echo err$i >&2; done; printf 'no newline'");
  const lines = logs.trim().split("\n");
  assert.equal(
    lines.filter((l) => l.startsWith("stdout")),
    ["stdout: out1", "stdout: out2", "stdout: out3", "stdout: no newline"],
  );
  assert.equal(
    lines.filter((l) => l.startsWith("stderr")),
    ["stderr: err1", "stderr: err2", "stderr: err3"],
  );
  const raw = readFileSync(env.rt.logPath(id), "utf8").split("\n")[0];
  assert.match(raw, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F out1$/);
  const tail: string[] = [];
  for await (const e of env.rt.logs(id, { tail: 2 })) tail.push(e.text);
  assert.is(tail.length, 2);
});

test("logs since a time leave out what came before", async () => {
  const id = await env.rt.create({
    layers: [env.layer],
    command: ["sh", "-c", "echo early; sleep 0.4; echo late"],
  });
  await env.rt.start(id);
  await new Promise((r) => setTimeout(r, 200));
  const cut = new Date();
  await env.rt.wait(id);
  const texts: string[] = [];
  for await (const e of env.rt.logs(id, { since: cut })) texts.push(e.text);
  assert.equal(texts, ["late"]);
});

test("a container whose monitor was killed shows as unknown and can still be removed", async () => {
  const id = await env.rt.create({ layers: [env.layer], command: ["sleep", "100"] });
  await env.rt.start(id);
  const status = JSON.parse(readFileSync(join(env.rt.containersDir, id, "status"), "utf8")) as {
    monitorPid: number;
  };
  process.kill(status.monitorPid, "SIGKILL");
  await new Promise((r) => setTimeout(r, 100));
  const st = env.rt.status(id);
  assert.is(st.state, "unknown");
  assert.match(st.message ?? "", /monitor is gone/);
  await env.rt.remove(id, { force: true });
  assert.throws(() => env.rt.status(id), /no such container/);
});

test("following logs streams output until the container exits", async () => {
  const id = await env.rt.create({ layers: [env.layer], command: ["sh", "-c", "echo a; sleep 0.3; echo b"] });
  await env.rt.start(id);
  const seen: string[] = [];
  for await (const e of env.rt.logs(id, { follow: true })) seen.push(e.text);
  assert.equal(seen, ["a", "b"]);
});

test("a command that does not exist fails to start with a clear error", async () => {
  const id = await env.rt.create({ layers: [env.layer], command: ["/no/such/binary"] });
  try {
    await env.rt.start(id);
    assert.unreachable("start should fail");
  } catch (err) {
    assert.instance(err, Error);
    assert.match((err as Error).message, /exec \/no\/such\/binary: ENOENT/);
  }
  assert.is(env.rt.status(id).reason, "StartError");
});

test("stop sends SIGTERM, then SIGKILL after the grace period", async () => {
  const trap = await env.rt.create({
    layers: [env.layer],
    command: ["sh", "-c", "trap 'echo bye; exit 7' TERM; while true; do sleep 0.1; done"],
  });
  await env.rt.start(trap);
  await new Promise((r) => setTimeout(r, 200));
  const s1 = await env.rt.stop(trap, 5);
  assert.is(s1.exitCode, 7);
  const stubborn = await env.rt.create({ layers: [env.layer], command: ["sleep", "100"] });
  await env.rt.start(stubborn);
  const t0 = Date.now();
  const s2 = await env.rt.stop(stubborn, 1);
  assert.is(s2.signal, 9);
  assert.ok(Date.now() - t0 >= 900 && Date.now() - t0 < 5000);
});

test("the container runs as the image's user with the given environment and working directory", async () => {
  const { logs } = await run("id -u; id -g; echo $GREETING; pwd", {
    config: { User: "user", Env: ["GREETING=image"], WorkingDir: "/home/user" },
    env: ["GREETING=caller"],
  });
  assert.is(logs, "stdout: 1000\nstdout: 1000\nstdout: caller\nstdout: /home/user\n");
});

test("the container cannot see the host's sensitive /proc files and has few capabilities", async () => {
  const { logs } = await run(
    "wc -c < /proc/keys; grep CapEff /proc/self/status; grep NoNewPrivs /proc/self/status; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo ro",
  );
  assert.match(logs, /stdout: 0\n/);
  assert.match(logs, /CapEff:\s+00000000a80425fb/);
  assert.match(logs, /NoNewPrivs:\s+1/);
  assert.match(logs, /stdout: ro/);
});

test("a seccomp filter refuses user namespaces and keyrings while ordinary work goes on", async () => {
  const { logs } = await run(
    "grep '^Seccomp:' /proc/self/status; unshare -U true 2>&1 || echo no-userns; (sleep 0 &); wait; echo forks",
  );
  assert.match(logs, /Seccomp:\s+2/);
  assert.match(logs, /no-userns/);
  assert.match(logs, /stdout: forks/);
});

test("device nodes made inside the container cannot be opened unless they are standard ones", async () => {
  // /dev/loop-control (10:237) opens for root on the host; the device cgroup must refuse it.
  const { logs } = await run(
    "mknod /dev/lc c 10 237 && ((: < /dev/lc) 2>/dev/null && echo opened || echo denied); head -c1 /dev/zero | wc -c",
  );
  assert.match(logs, /stdout: denied/);
  assert.match(logs, /stdout: 1\n/);
});

test("removing containers leaves no mounts, cgroups or directories behind", async () => {
  const id = await env.rt.create({ layers: [env.layer], command: ["sleep", "100"] });
  await env.rt.start(id);
  const cg = `/sys/fs/cgroup/memory/tsk/${env.nodeName}/ctr-${id}`;
  assert.ok(existsSync(cg));
  await env.rt.remove(id, { force: true });
  assert.not.ok(existsSync(cg));
  assert.not.ok(existsSync(join(env.rt.containersDir, id)));
  assert.equal(mountsContaining(id), []);
  assert.throws(() => env.rt.status(id), /no such container/);
});

test("container names are unique, also when two creates race", async () => {
  const results = await Promise.allSettled([
    env.rt.create({ layers: [env.layer], command: ["true"], name: "twin" }),
    env.rt.create({ layers: [env.layer], command: ["true"], name: "twin" }),
  ]);
  assert.is(results.filter((r) => r.status === "fulfilled").length, 1);
  const failed = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
  assert.match(failed.reason.message, /a container named "twin" already exists/);
  assert.is(env.rt.status("twin").name, "twin");
  await env.rt.remove("twin", { force: true });
  const again = await env.rt.create({ layers: [env.layer], command: ["true"], name: "twin" });
  assert.is(env.rt.resolve("twin"), again);
});

test("bad input is refused with a clear error", async () => {
  await rejects(env.rt.create({ layers: [] }), /at least one layer/);
  await rejects(
    env.rt.create({ layers: [env.layer], command: ["x"], name: "bad/name" }),
    /invalid container name/,
  );
  await rejects(
    env.rt.create({
      layers: [env.layer],
      command: ["x"],
      mounts: [{ hostPath: "/does/not/exist", containerPath: "/x" }],
    }),
    /does not exist/,
  );
  await rejects(env.rt.create({ layers: [env.layer] }), /no command/);
});

test.run();
