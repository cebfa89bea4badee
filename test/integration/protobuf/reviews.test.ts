// `kubectl auth can-i` and `kubectl auth whoami` against an in-process API server (real
// LevelDB in a temp dir, real HTTPS) wired with reviewHandlers and the protobuf bodies,
// with two users: an admin and "bob", who belongs to no group with rights.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type ApiServer, startApiServer } from "../../../internal/apiserver";
import { DefaultAuthorizer } from "../../../internal/apiserver/authz";
import type { UserInfo } from "../../../internal/apiserver/context";
import {
  REVIEW_RESOURCES,
  registerProtobufBodies,
  reviewHandlers,
} from "../../../internal/apiserver/reviews";
import { ensureServerPKI } from "../../../internal/pki/certs";
import { openStore } from "../../../internal/store";
import type { Store } from "../../../internal/store/types";

const USERS: Record<string, UserInfo> = {
  "admin-token": { username: "system:admin", groups: ["system:masters", "system:authenticated"] },
  "bob-token": { username: "bob", uid: "u-123", groups: ["devs", "system:authenticated"] },
};

let dir: string;
let store: Store | undefined;
let api: ApiServer | undefined;
let caPem: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsk-reviews-"));
  const pki = await ensureServerPKI({ tlsDir: join(dir, "tls"), sans: ["127.0.0.1"] });
  caPem = pki.caCertPem;
  store = await openStore({ backend: "leveldb", path: join(dir, "db") });
  registerProtobufBodies();
  api = await startApiServer(
    { bindAddress: "127.0.0.1", port: 0, tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem } },
    {
      store,
      authenticate: (token) => USERS[token],
      virtualResources: REVIEW_RESOURCES,
      extra: reviewHandlers(new DefaultAuthorizer()),
    },
  );
});

test.after(async () => {
  await api?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function kubectl(token: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const kubeconfig = join(dir, `${token}.kubeconfig`);
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: "c",
          cluster: { server: api!.url, "certificate-authority-data": Buffer.from(caPem).toString("base64") },
        },
      ],
      users: [{ name: "u", user: { token } }],
      contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
      "current-context": "c",
    }),
  );
  return new Promise((resolve, reject) => {
    const child = spawn("/usr/bin/kubectl", args, {
      env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, `cache-${token}`), HOME: dir },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

test("the admin can create pods: kubectl prints yes, exit 0", async () => {
  const r = await kubectl("admin-token", ["auth", "can-i", "create", "pods"]);
  assert.is(r.stdout, "yes\n", r.stderr);
  assert.is(r.code, 0);
});

test("bob cannot create pods: kubectl prints no, exit 1", async () => {
  const r = await kubectl("bob-token", ["auth", "can-i", "create", "pods", "-n", "kube-system"]);
  assert.is(r.stdout, "no\n", r.stderr);
  assert.is(r.code, 1);
});

test("bob cannot read /metrics; the admin can", async () => {
  assert.is((await kubectl("bob-token", ["auth", "can-i", "get", "/metrics"])).stdout, "no\n");
  assert.is((await kubectl("admin-token", ["auth", "can-i", "get", "/metrics"])).stdout, "yes\n");
});

test("whoami shows bob's name, uid and groups", async () => {
  const r = await kubectl("bob-token", ["auth", "whoami"]);
  assert.is(r.code, 0, r.stderr);
  assert.is(
    r.stdout,
    "ATTRIBUTE   VALUE\nUsername    bob\nUID         u-123\nGroups      [devs system:authenticated]\n",
  );
});

test("whoami -o json prints the SelfSubjectReview", async () => {
  const r = await kubectl("admin-token", ["auth", "whoami", "-o", "json"]);
  assert.is(r.code, 0, r.stderr);
  const ssr = JSON.parse(r.stdout);
  assert.is(ssr.kind, "SelfSubjectReview");
  assert.equal(ssr.status.userInfo, {
    username: "system:admin",
    groups: ["system:masters", "system:authenticated"],
  });
});

test("can-i --list: the admin has the wildcard rules, bob only what every user has", async () => {
  const admin = await kubectl("admin-token", ["auth", "can-i", "--list"]);
  assert.is(admin.code, 0, admin.stderr);
  assert.match(admin.stdout, /^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]$/m);
  const bob = await kubectl("bob-token", ["auth", "can-i", "--list"]);
  assert.not.match(bob.stdout, /^\*\.\*/m);
  assert.match(bob.stdout, /selfsubjectaccessreviews\.authorization\.k8s\.io\s+\[\]\s+\[\]\s+\[create\]/);
});

test("a review with neither resource nor non-resource attributes is 422 Invalid", async () => {
  const r = await fetchJson("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec: {},
  });
  assert.is(r.status, 422);
  assert.is(r.json.reason, "Invalid");
  assert.match(
    r.json.message,
    /exactly one of nonResourceAttributes or resourceAttributes must be specified/,
  );
});

test("a review of the wrong kind is 400; GET on a review is 405", async () => {
  const r = await fetchJson("/apis/authentication.k8s.io/v1/selfsubjectreviews", {
    apiVersion: "v1",
    kind: "ConfigMap",
  });
  assert.is(r.status, 400);
  assert.match(r.json.message, /does not match the expected API version \(authentication\.k8s\.io\/v1\)/);
  const g = await fetchJson("/apis/authentication.k8s.io/v1/selfsubjectreviews");
  assert.is(g.status, 405);
});

test("the review resources are in discovery", async () => {
  const r = await kubectl("admin-token", ["api-resources", "-o", "name"]);
  assert.is(r.code, 0, r.stderr);
  for (const n of [
    "selfsubjectaccessreviews.authorization.k8s.io",
    "selfsubjectrulesreviews.authorization.k8s.io",
    "selfsubjectreviews.authentication.k8s.io",
  ])
    assert.ok(r.stdout.split("\n").includes(n), `${n} missing from:\n${r.stdout}`);
});

async function fetchJson(path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const { request } = await import("node:https");
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${api!.url}${path}`,
      {
        method: body === undefined ? "GET" : "POST",
        ca: caPem,
        headers: {
          Authorization: "Bearer admin-token",
          ...(payload ? { "Content-Type": "application/json" } : {}),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

test.run();
