// State on disk: a container outlives the process that started it and is found again.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Runtime } from "../../../internal/runtime";
import { collectLogs, type Env, makeEnv } from "./support";

let env: Env;
test.before(() => {
  env = makeEnv("restart");
});
test.after(async () => {
  await env.cleanup();
});

test("a container keeps running after the process that started it exits, and is re-adopted with logs and exit code", async () => {
  const runDir = join(env.dir, "run");
  const dataDir = join(env.dir, "data");
  const out = execFileSync(
    process.execPath,
    [
      "--import",
      "tsx",
      join(__dirname, "fixtures/start-and-exit.ts"),
      dataDir,
      env.nodeName,
      runDir,
      env.layer,
    ],
    { encoding: "utf8", timeout: 30_000 },
  );
  const id = out.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  // A fresh runtime on the same data dir, as after an agent restart.
  const rt = new Runtime({ dataDir, nodeName: env.nodeName, runDir });
  const st = rt.status("survivor");
  assert.is(st.id, id);
  assert.is(st.state, "running");
  const exec = rt.exec(id, ["touch", "/tmp/go"]);
  assert.is(await exec.exited, 0);
  const done = await rt.wait(id);
  assert.is(done.exitCode, 9);
  assert.is(await collectLogs(rt, id), "stdout: before\nstdout: after\n");
});

test("another node name on the same machine does not see the containers", async () => {
  const other = new Runtime({
    dataDir: join(env.dir, "other-data"),
    nodeName: `${env.nodeName}-b`,
    runDir: join(env.dir, "other-run"),
  });
  assert.equal(other.list(), []);
  assert.ok(env.rt.list().length >= 1);
});

test.run();
