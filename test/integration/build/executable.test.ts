// The built single executable (dist/tsk, made by `npm run build`) copied alone into an
// empty directory, run with no node_modules anywhere above it: what a user gets when they
// copy the one file to a machine.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { request } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { load } from "js-yaml";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { GIT_VERSION, TSK_VERSION } from "../../../internal/version";

const DIST = join(__dirname, "..", "..", "..", "dist", "tsk");
const temps: string[] = [];
let exe: string | undefined;

/** A fresh copy of dist/tsk in an empty temp dir; fails (never skips) when it was not built. */
function executable(): string {
  if (exe) return exe;
  if (!existsSync(DIST))
    throw new Error(`${DIST} does not exist: run "npm run build" before the build tests`);
  const dir = tempDir("tsk-exe-");
  for (let d = dir; d !== dirname(d); d = dirname(d)) {
    assert.not.ok(
      existsSync(join(d, "node_modules")),
      `${d}/node_modules exists: the test would not prove that tsk runs alone`,
    );
  }
  exe = join(dir, "tsk");
  copyFileSync(DIST, exe);
  return exe;
}

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  temps.push(d);
  return d;
}

/** Environment without anything that could lead Node to modules on disk. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (k.startsWith("NODE_") || k.startsWith("npm_") || k.startsWith("TSK_")) delete env[k];
  return env;
}

function runTsk(args: string[], opts: { env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  const bin = executable();
  const r = spawnSync(bin, args, {
    cwd: dirname(bin),
    env: { ...cleanEnv(), ...opts.env },
    encoding: "utf8",
    timeout: opts.timeout ?? 60_000,
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

test.after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

test("tsk --version prints the tsk and Kubernetes versions", () => {
  const started = process.hrtime.bigint();
  const r = runTsk(["--version"]);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout, `tsk version ${TSK_VERSION} (kubernetes ${GIT_VERSION})\n`);
  assert.is(r.stderr, "", "no warnings (such as Node's SEA notice) on stderr");
  console.log(`  tsk --version took ${ms.toFixed(0)} ms`);
});

test("tsk --help lists the commands", () => {
  const r = runTsk(["--help"]);
  assert.is(r.code, 0, r.stderr);
  for (const cmd of ["server", "token", "check-config"])
    assert.match(r.stdout, new RegExp(`^  ${cmd}\\s`, "m"));
});

test("tsk check-config passes here, and its self-test opens LevelDB and loads the native parts", () => {
  const data = tempDir("tsk-exe-data-");
  const r = runTsk(["check-config", "--data-dir", data]);
  assert.is(r.code, 0, `exit ${r.code}\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^Namespaces/m);
  assert.match(r.stdout, /^Cgroups: /m);
  assert.match(r.stdout, /^ {2}overlay\s+ok/m);
  assert.match(r.stdout, /^ {2}LevelDB\s+ok/m);
  assert.match(r.stdout, /^ {2}CBOR\s+ok {2}round trip ok \(native string decoder\)/m);
  assert.match(r.stdout, /^ {2}native addon\s+ok {2}loaded/m);
  assert.match(r.stdout, /^ {2}monitor helper\s+ok/m);
  assert.match(r.stdout, /^STATUS: pass/m);
  // Every native file landed under <data-dir>/data/<sha256 of its bytes>/NAME, the helper runnable.
  const unpacked = new Map<string, string>();
  for (const hash of readdirSync(join(data, "data"))) {
    assert.match(hash, /^[0-9a-f]{64}$/);
    for (const name of readdirSync(join(data, "data", hash)))
      unpacked.set(name, join(data, "data", hash, name));
  }
  assert.equal([...unpacked.keys()].sort(), [
    "cbor-extract.node",
    "classic-level.node",
    "tsk-monitor",
    "tsk_native.node",
  ]);
  assert.ok(statSync(unpacked.get("tsk-monitor")!).mode & 0o100, "tsk-monitor has its run bit");
  assert.not.ok(statSync(unpacked.get("tsk_native.node")!).mode & 0o111, "the addon is not executable");
});

test("a second start reuses the native files it unpacked the first time", () => {
  const data = tempDir("tsk-exe-data-");
  assert.is(runTsk(["check-config", "--data-dir", data]).code, 0);
  const files = () =>
    readdirSync(join(data, "data"), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => {
        const p = join(e.parentPath, e.name);
        return `${p} ${statSync(p).ino} ${statSync(p).mtimeMs}`;
      })
      .sort();
  const before = files();
  assert.is(runTsk(["check-config", "--data-dir", data]).code, 0);
  assert.equal(files(), before);
  assert.not.ok(
    before.some((f) => f.includes(".tmp-")),
    "no temporary files left behind",
  );
});

test("tsk check-config with a data dir it cannot write fails and says where", () => {
  const tmp = tempDir("tsk-exe-tmp-");
  const r = runTsk(["check-config", "--data-dir", "/proc/tsk-no-such-dir"], { env: { TMPDIR: tmp } });
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.equal(readdirSync(tmp), [], "the self-test leaves nothing in the temp dir");
  assert.match(
    r.stdout,
    /^ {2}LevelDB\s+MISSING {2}unpacking classic-level\.node to \/proc\/tsk-no-such-dir\/data\//m,
  );
  assert.match(r.stdout, /^STATUS: fail/m);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function get(url: string, ca: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 5_000 }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

test("tsk server answers /readyz over HTTPS with the kubeconfig's CA and token, and exits cleanly on SIGTERM", async () => {
  const bin = executable();
  const work = tempDir("tsk-exe-server-");
  const data = join(work, "data");
  const kubeconfig = join(work, "kubeconfig.yaml");
  const port = await freePort();
  const child = spawn(
    bin,
    [
      "server",
      "--data-dir",
      data,
      "--https-listen-port",
      String(port),
      "--bind-address",
      "127.0.0.1",
      "--write-kubeconfig",
      kubeconfig,
      "--disable-agent",
    ],
    { cwd: dirname(bin), env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  try {
    const deadline = Date.now() + 30_000;
    let ready: { status: number; body: string } | undefined;
    let lastError = "";
    while (Date.now() < deadline && child.exitCode === null) {
      if (existsSync(kubeconfig)) {
        try {
          const kc = load(readFileSync(kubeconfig, "utf8")) as any;
          const ca = Buffer.from(kc.clusters[0].cluster["certificate-authority-data"], "base64").toString();
          ready = await get(`https://127.0.0.1:${port}/readyz`, ca, kc.users[0].user.token);
          if (ready.status === 200) break;
        } catch (err) {
          lastError = (err as Error).message;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(
      ready?.status === 200,
      `GET /readyz never answered 200 (last: ${ready?.status ?? lastError}); server output:\n${output}`,
    );
    assert.is(ready!.body.trim(), "ok");
    const kc = load(readFileSync(kubeconfig, "utf8")) as any;
    assert.match(kc.clusters[0].cluster.server, new RegExp(`^https://(127\\.0\\.0\\.1|localhost):${port}$`));

    // The store's LevelDB binding was unpacked under the --data-dir, not the default /var/lib/tsk.
    const unpacked = existsSync(join(data, "data"))
      ? readdirSync(join(data, "data"), { recursive: true }).map(String)
      : [];
    assert.ok(
      unpacked.some((p) => p.endsWith("/classic-level.node")),
      `no classic-level.node under ${data}/data (found: ${unpacked.join(", ")})`,
    );

    child.kill("SIGTERM");
    const exit = await Promise.race([
      exited(child),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 15_000)),
    ]);
    assert.ok(exit, `tsk server did not exit within 15 s of SIGTERM; output:\n${output}`);
    assert.equal(exit, { code: 0, signal: null }, output);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited(child);
    }
  }
});

test.run();
