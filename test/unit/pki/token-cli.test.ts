import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ensureServerCredentials, parseJoinToken } from "../../../internal/pki";

const root = join(__dirname, "..", "..", "..");
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tsk-token-cli-"));
  dirs.push(d);
  return d;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tsk(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", join(root, "cmd", "tsk", "main.ts"), ...args],
      { cwd: root, env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

test("tsk token prints the join token the server wrote", async () => {
  const dataDir = tempDir();
  const creds = await ensureServerCredentials({
    dataDir,
    sans: ["localhost"],
    token: "clustersecret",
    kubeconfigServer: "https://127.0.0.1:6443",
  });
  const r = await tsk(["token", "--data-dir", dataDir]);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `${creds.joinToken}\n`);
  assert.is(parseJoinToken(r.stdout).secret, "clustersecret");
  assert.not.match(r.stderr, /clustersecret/);
});

test("tsk token reads the data dir from TSK_DATA_DIR too", async () => {
  const dataDir = tempDir();
  const creds = await ensureServerCredentials({
    dataDir,
    sans: ["localhost"],
    kubeconfigServer: "https://127.0.0.1:6443",
  });
  const r = await tsk(["token"], { TSK_DATA_DIR: dataDir });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.trim(), creds.joinToken);
});

test("tsk token where no server ran says so and exits 1", async () => {
  const dataDir = tempDir();
  const r = await tsk(["token", "--data-dir", dataDir]);
  assert.is(r.code, 1);
  assert.is(r.stdout, "");
  assert.match(r.stderr, /no join token at .*server\/token/);
  assert.match(r.stderr, /tsk server/);
});

test("tsk token with an unknown flag is a usage error", async () => {
  const r = await tsk(["token", "--bogus"]);
  assert.is(r.code, 2);
  assert.match(r.stderr, /bogus/);
});

test.run();
