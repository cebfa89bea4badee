import { execFile } from "node:child_process";
import { promises as fs, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { load } from "js-yaml";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ensureServerCredentials, ensureServerPKI, writeKubeconfig } from "../../../internal/pki";

const run = promisify(execFile);
const KUBECTL = "/usr/bin/kubectl";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tsk-kubeconfig-"));
  dirs.push(d);
  return d;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function kubectlEnv(): NodeJS.ProcessEnv {
  const home = tempDir();
  return { PATH: process.env.PATH, HOME: home, KUBECACHEDIR: join(home, "cache") };
}

test("the kubeconfig names cluster, context and user 'default' and embeds the CA and token", async () => {
  const dir = tempDir();
  const pki = await ensureServerPKI({ tlsDir: join(dir, "tls"), sans: ["localhost"] });
  const path = join(dir, "etc", "tsk", "tsk.yaml");
  await writeKubeconfig(path, { server: "https://127.0.0.1:6443", caPem: pki.caCertPem, token: "tok-123" });
  const doc = load(await fs.readFile(path, "utf8")) as Record<string, unknown>;
  assert.equal(doc, {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "default",
        cluster: {
          "certificate-authority-data": Buffer.from(pki.caCertPem).toString("base64"),
          server: "https://127.0.0.1:6443",
        },
      },
    ],
    contexts: [{ name: "default", context: { cluster: "default", user: "default" } }],
    "current-context": "default",
    preferences: {},
    users: [{ name: "default", user: { token: "tok-123" } }],
  });
});

test("the kubeconfig is mode 0600, its parent dirs are created, and no temp file is left", async () => {
  const dir = tempDir();
  const path = join(dir, "a", "b", "tsk.yaml");
  await writeKubeconfig(path, { server: "https://127.0.0.1:6443", caPem: "x", token: "t" });
  assert.is(statSync(path).mode & 0o777, 0o600);
  await writeKubeconfig(path, { server: "https://127.0.0.1:6443", caPem: "x", token: "t2" });
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.equal(await fs.readdir(join(dir, "a", "b")), ["tsk.yaml"]);
  assert.match(await fs.readFile(path, "utf8"), /token: t2/);
});

test("a kubeconfig that was world-readable becomes 0600 when rewritten", async () => {
  const dir = tempDir();
  const path = join(dir, "tsk.yaml");
  await fs.writeFile(path, "old", { mode: 0o644 });
  await writeKubeconfig(path, { server: "https://127.0.0.1:6443", caPem: "x", token: "t" });
  assert.is(statSync(path).mode & 0o777, 0o600);
});

test("the real kubectl reads the kubeconfig (config view --raw)", async () => {
  const dir = tempDir();
  const pki = await ensureServerPKI({ tlsDir: join(dir, "tls"), sans: ["localhost"] });
  const path = join(dir, "tsk.yaml");
  await writeKubeconfig(path, {
    server: "https://127.0.0.1:6443",
    caPem: pki.caCertPem,
    token: "secret-token",
  });
  const { stdout } = await run(KUBECTL, ["config", "view", "--kubeconfig", path, "--raw", "-o", "json"], {
    env: kubectlEnv(),
  });
  const cfg = JSON.parse(stdout);
  assert.is(cfg["current-context"], "default");
  assert.is(cfg.clusters[0].cluster.server, "https://127.0.0.1:6443");
  assert.is(
    Buffer.from(cfg.clusters[0].cluster["certificate-authority-data"], "base64").toString(),
    pki.caCertPem,
  );
  assert.is(cfg.users[0].user.token, "secret-token");
  const minified = await run(
    KUBECTL,
    ["config", "view", "--kubeconfig", path, "--minify", "-o", "jsonpath={.contexts[0].context.user}"],
    {
      env: kubectlEnv(),
    },
  );
  assert.is(minified.stdout, "default");
});

test("the real kubectl trusts the serving certificate through the kubeconfig and sends the admin token", async () => {
  const dataDir = tempDir();
  const kubeconfig = join(dataDir, "kubeconfig.yaml");
  const creds = await ensureServerCredentials({
    dataDir,
    sans: ["localhost", "127.0.0.1"],
    kubeconfigPath: kubeconfig,
    kubeconfigServer: "https://127.0.0.1:1", // port fixed below once known
  });
  const seen: string[] = [];
  const server = createServer({ cert: creds.pki.serverCertPem, key: creds.pki.serverKeyPem }, (req, res) => {
    const auth = req.headers.authorization ?? "";
    const user = auth.startsWith("Bearer ") ? creds.authenticator.authenticate(auth.slice(7)) : undefined;
    seen.push(`${req.url} ${user?.username ?? "anonymous"}`);
    if (!user) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: "Unauthorized",
          reason: "Unauthorized",
          code: 401,
        }),
      );
      return;
    }
    if (req.url === "/version") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ major: "1", minor: "32", gitVersion: "v1.32.4", platform: "linux/amd64" }));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const { port } = server.address() as AddressInfo;
    await writeKubeconfig(kubeconfig, {
      server: `https://127.0.0.1:${port}`,
      caPem: creds.pki.caCertPem,
      token: creds.adminToken,
    });
    const { stdout } = await run(KUBECTL, ["--kubeconfig", kubeconfig, "get", "--raw", "/healthz"], {
      env: kubectlEnv(),
      timeout: 30_000,
    });
    assert.is(stdout.trim(), "ok");
    assert.ok(seen.includes("/healthz system:admin"), seen.join("; "));

    // A wrong token gets the 401 back as kubectl's usual error.
    await writeKubeconfig(kubeconfig, {
      server: `https://127.0.0.1:${port}`,
      caPem: creds.pki.caCertPem,
      token: "wrong",
    });
    try {
      await run(KUBECTL, ["--kubeconfig", kubeconfig, "get", "--raw", "/healthz"], {
        env: kubectlEnv(),
        timeout: 30_000,
      });
      assert.unreachable("kubectl should fail with a wrong token");
    } catch (err) {
      assert.match(String((err as { stderr?: string }).stderr), /Unauthorized|must be logged in/);
    }
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test.run();
