// The same everyday scenario with every kubectl the Cloud SDK ships beside the dispatcher
// (1.28 to 1.33): older ones send JSON where 1.32 sends protobuf, and 1.27/1.28 validate
// against the protobuf OpenAPI v2 instead of v3.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startServer, type TestServer } from "../support/cluster";

const BIN = "/usr/lib/google-cloud-sdk/bin";
const VERSIONS = ["1.28", "1.29", "1.30", "1.31", "1.32", "1.33"];
let s: TestServer;

test.before(async () => {
  s = await startServer();
});
test.after(async () => {
  await s?.stop();
});

function run(bin: string, args: string[], input?: string) {
  const r = spawnSync(bin, args, {
    input,
    encoding: "utf8",
    timeout: 60_000,
    env: {
      ...process.env,
      KUBECONFIG: s.kubeconfig,
      KUBECACHEDIR: join(s.dataDir, "..", `cache-${bin.split(".").slice(-1)[0]}`),
    },
  });
  return { code: r.status ?? -1, out: r.stdout ?? "", err: r.stderr ?? "" };
}

for (const v of VERSIONS) {
  test(`kubectl ${v}: apply, re-apply, get, patch, diff, scale, delete`, () => {
    const bin = join(BIN, `kubectl.${v}`);
    assert.ok(existsSync(bin), `${bin} is missing`);
    const ns = `v${v.replace(".", "-")}`;
    const manifest = (replicas: number) => `apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf, namespace: ${ns}}
data: {k: v}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${ns}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: busybox:1.36}]
`;
    let r = run(bin, ["apply", "-f", "-"], manifest(1));
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /deployment.apps\/web created/);
    r = run(bin, ["apply", "-f", "-"], manifest(1));
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /deployment.apps\/web unchanged/);
    r = run(bin, ["apply", "-f", "-"], manifest(2));
    assert.match(r.out, /deployment.apps\/web configured/);
    r = run(bin, ["get", "deploy", "-n", ns]);
    assert.match(r.out, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE/m);
    assert.match(r.out, /^web\s+0\/2/m);
    r = run(bin, ["patch", "cm", "conf", "-n", ns, "-p", '{"data":{"k":"w"}}']);
    assert.is(r.code, 0, r.err);
    r = run(bin, ["diff", "-f", "-"], manifest(3));
    assert.is(r.code, 1, r.err);
    assert.match(r.out, /replicas: 3/);
    r = run(bin, ["scale", "deploy/web", "-n", ns, "--replicas=4"]);
    assert.is(r.code, 0, r.err);
    r = run(bin, ["create", "configmap", "gen", "-n", ns, "--from-literal=a=b"]);
    assert.is(r.code, 0, r.err);
    r = run(bin, ["get", "cm", "gen", "-n", ns, "-o", "jsonpath={.data.a}"]);
    assert.is(r.out, "b");
    r = run(bin, ["delete", "ns", ns, "--wait=true", "--timeout=30s"]);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`namespace "${ns}" deleted`));
  });
}

test.run();
