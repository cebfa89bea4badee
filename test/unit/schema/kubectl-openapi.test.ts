// The real kubectl against the OpenAPI documents, served from a loopback server
// with just enough discovery: explain walks them, and the field-validation probe
// makes every kubectl from 1.27 to 1.33 send fieldValidation=Strict.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { apiGroups, RESOURCES } from "../../../internal/api/resources";
import {
  OPENAPI_V2_CONTENT_TYPE,
  openapiV2Protobuf,
  openapiV3DocumentJson,
  openapiV3Root,
} from "../../../internal/api/schema";

const SDK_BIN = "/usr/lib/google-cloud-sdk/bin";
const dir = mkdtempSync(join(tmpdir(), "tsk-openapi-"));
const requests: string[] = [];
/** Objects the fake server answers GETs with, by path; and the PATCH bodies it received. */
const live = new Map<string, unknown>();
const patches: { path: string; type: string; body: string }[] = [];
let server: Server;
let kubeconfig: string;

function send(
  res: import("node:http").ServerResponse,
  body: unknown,
  code = 200,
  type = "application/json",
): void {
  res.writeHead(code, { "content-type": type });
  res.end(Buffer.isBuffer(body) || typeof body === "string" ? body : JSON.stringify(body));
}

test.before(async () => {
  server = createServer(async (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const p = new URL(req.url ?? "/", "http://x").pathname;
    if (req.method === "GET" && live.has(p)) return send(res, live.get(p));
    if (req.method === "PATCH") {
      let body = "";
      for await (const chunk of req) body += chunk;
      patches.push({ path: p, type: String(req.headers["content-type"]), body });
      return send(res, live.get(p));
    }
    if (p === "/version") return send(res, { major: "1", minor: "32", gitVersion: "v1.32.2" });
    if (p === "/api")
      return send(res, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] });
    if (p === "/apis") {
      const groups = apiGroups()
        .filter((g) => g.group)
        .map((g) => ({
          name: g.group,
          versions: g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v })),
          preferredVersion: { groupVersion: `${g.group}/${g.versions[0]}`, version: g.versions[0] },
        }));
      return send(res, { kind: "APIGroupList", apiVersion: "v1", groups });
    }
    const m = /^\/(?:api|apis\/([^/]+))\/(v[^/]+)$/.exec(p);
    if (m) {
      const group = m[1] ?? "";
      const resources = RESOURCES.filter((r) => r.group === group && r.version === m[2]).map((r) => ({
        name: r.plural,
        singularName: r.singular,
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: r.verbs,
        shortNames: r.shortNames,
      }));
      return send(res, {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: group ? `${group}/${m[2]}` : m[2],
        resources,
      });
    }
    if (p === "/openapi/v2") return send(res, openapiV2Protobuf(), 200, OPENAPI_V2_CONTENT_TYPE);
    if (p === "/openapi/v3") return send(res, openapiV3Root());
    if (p.startsWith("/openapi/v3/")) {
      const doc = openapiV3DocumentJson(p.slice("/openapi/v3/".length));
      if (doc) return send(res, doc.json);
    }
    send(
      res,
      {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "NotFound",
        code: 404,
        message: "not found",
      },
      404,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    `apiVersion: v1\nkind: Config\nclusters: [{name: t, cluster: {server: "http://127.0.0.1:${port}"}}]\ncontexts: [{name: t, context: {cluster: t, namespace: default}}]\ncurrent-context: t\n`,
  );
  writeFileSync(
    join(dir, "deploy.yaml"),
    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: a, image: nginx}]}\n",
  );
});

test.after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function kubectl(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  assert.ok(
    existsSync(bin),
    `${bin} is missing: the development machine and CI have the Cloud SDK's kubectl`,
  );
  return new Promise((resolve) => {
    execFile(
      bin,
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dir, "cache")}`, ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

test("kubectl explain prints a nested field with its type and description", async () => {
  const r = await kubectl(`${SDK_BIN}/kubectl.1.32`, ["explain", "pods.spec.containers.resources"]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /FIELD: resources <ResourceRequirements>/);
  assert.match(r.stdout, /Compute Resources required by this container/);
  assert.match(r.stdout, /limits\t<map\[string\]Quantity>/);
  assert.match(r.stdout, /requests\t<map\[string\]Quantity>/);
});

test("kubectl explain shows int-or-string fields as IntOrString", async () => {
  const r = await kubectl(`${SDK_BIN}/kubectl.1.32`, ["explain", "deployments.spec.strategy.rollingUpdate"]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /maxSurge\t<IntOrString>/);
});

test("kubectl explain lists the values of a closed set", async () => {
  const r = await kubectl(`${SDK_BIN}/kubectl.1.32`, ["explain", "pods.spec.restartPolicy"]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /FIELD: restartPolicy <string>/);
  assert.match(r.stdout, /ENUM:\s+Always\s+Never\s+OnFailure/);
});

for (const v of ["1.28", "1.32", "1.33"]) {
  test(`kubectl ${v} create sends fieldValidation=Strict after its OpenAPI probe`, async () => {
    const before = requests.length;
    await kubectl(`${SDK_BIN}/kubectl.${v}`, ["create", "-f", join(dir, "deploy.yaml")]);
    const post = requests.slice(before).find((r) => r.startsWith("POST "));
    assert.ok(post, `kubectl ${v} sent no POST: ${requests.slice(before).join(", ")}`);
    assert.match(post as string, /fieldValidation=Strict/);
  });
}

test("client-side apply of a changed manifest sends a strategic merge patch keyed as upstream", async () => {
  const container = (env: string[], ports: number[]) => ({
    name: "a",
    image: "nginx",
    env: env.map((name) => ({ name, value: "1" })),
    ports: ports.map((containerPort) => ({ containerPort })),
  });
  const manifest = (containers: unknown[]) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers } },
    },
  });
  const before = manifest([container(["E1", "E2"], [80, 443]), { name: "b", image: "redis" }]);
  const after = manifest([container(["E2"], [80])]);
  const lastApplied = `${JSON.stringify({ ...before, metadata: { ...before.metadata, annotations: {} } })}\n`;
  live.set("/apis/apps/v1/namespaces/default/deployments/web", {
    ...before,
    metadata: {
      ...before.metadata,
      uid: "u1",
      resourceVersion: "5",
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": lastApplied },
    },
  });
  writeFileSync(join(dir, "changed.json"), JSON.stringify(after));
  const n = patches.length;
  const r = await kubectl(`${SDK_BIN}/kubectl.1.32`, ["apply", "-f", join(dir, "changed.json")]);
  assert.is(r.code, 0, r.stderr);
  const patch = patches[n];
  assert.ok(patch, "kubectl sent no PATCH");
  assert.is(patch.type, "application/strategic-merge-patch+json");
  const spec = JSON.parse(patch.body).spec.template.spec;
  assert.equal(spec["$setElementOrder/containers"], [{ name: "a" }]);
  const a = spec.containers.find((c: { name: string }) => c.name === "a");
  assert.equal(a.env, [{ $patch: "delete", name: "E1" }]);
  assert.equal(a.ports, [{ $patch: "delete", containerPort: 443 }]);
  assert.equal(a["$setElementOrder/ports"], [{ containerPort: 80 }]);
  assert.ok(
    spec.containers.some((c: { $patch?: string; name: string }) => c.$patch === "delete" && c.name === "b"),
  );
});

test.run();
