// Sandboxes: a pod's shared network, IPC and UTS namespaces without a pause process.
import { existsSync, statSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { collectLogs, type Env, makeEnv, mountsContaining, rejects } from "./support";

let env: Env;
test.before(() => {
  env = makeEnv("sb");
});
test.after(async () => {
  await env.cleanup();
});

test("containers in one sandbox share its network and hostname but not their PIDs", async () => {
  const sb = await env.rt.createSandbox({ hostname: "pod-a" });
  assert.is(mountsContaining(sb.netns).length, 1);
  assert.is.not(statSync(sb.netns).ino, statSync("/proc/self/ns/net").ino);
  const server = await env.rt.create({
    layers: [env.layer],
    sandboxId: sb.id,
    command: ["sh", "-c", "echo hi-from-server | nc -l -p 8080"],
  });
  await env.rt.start(server);
  await new Promise((r) => setTimeout(r, 200));
  const client = await env.rt.create({
    layers: [env.layer],
    sandboxId: sb.id,
    command: ["sh", "-c", "hostname; nc 127.0.0.1 8080 </dev/null; echo $$"],
  });
  await env.rt.start(client);
  await env.rt.wait(client);
  assert.is(await collectLogs(env.rt, client), "stdout: pod-a\nstdout: hi-from-server\nstdout: 1\n");
  await env.rt.stop(server, 0);
  await rejects(env.rt.removeSandbox(sb.id), /still has containers/);
  await env.rt.remove(server);
  await env.rt.remove(client);
  await env.rt.removeSandbox(sb.id);
  assert.equal(mountsContaining(sb.id), []);
  assert.not.ok(existsSync(`/sys/fs/cgroup/memory/tsk/${env.nodeName}/pod-${sb.id}`));
});

test("the sandbox's namespaces outlive its containers", async () => {
  const sb = await env.rt.createSandbox({ hostname: "pod-b" });
  const a = await env.rt.create({
    layers: [env.layer],
    sandboxId: sb.id,
    command: ["sh", "-c", "echo x > /dev/shm/kept; ipcs -m | wc -l"],
  });
  await env.rt.start(a);
  await env.rt.wait(a);
  const b = await env.rt.create({ layers: [env.layer], sandboxId: sb.id, command: ["hostname"] });
  await env.rt.start(b);
  await env.rt.wait(b);
  assert.is(await collectLogs(env.rt, b), "stdout: pod-b\n");
});

test("a bad sandbox hostname is refused", async () => {
  await rejects(env.rt.createSandbox({ hostname: "bad host" }), /invalid hostname/);
});

test.run();
