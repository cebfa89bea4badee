// The real kubectl (/usr/bin/kubectl, which runs the kubectl matching our minor) against a
// real `tsk server`: the commands people type every day, and what they print.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startServer, type TestServer } from "../support/cluster";

let s: TestServer;

test.before(async () => {
  s = await startServer();
});
test.after(async () => {
  await s?.stop();
});

function ok(args: string[], input?: string): string {
  const r = s.kubectl(args, { input });
  if (r.code !== 0)
    throw new Error(`kubectl ${args.join(" ")} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const MANIFEST = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: { app: web }
data:
  color: blue
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
      - name: web
        image: busybox:1.36
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports:
  - port: 80
    targetPort: 80
`;

test("kubectl version reports a v1.32 server", () => {
  const out = ok(["version"]);
  assert.match(out, /Server Version: v1\.32\./);
});

test("kubectl create -f of a multi-document manifest, then get shows the familiar tables", () => {
  const out = ok(["create", "-f", "-"], MANIFEST);
  assert.match(out, /configmap\/settings created/);
  assert.match(out, /deployment.apps\/web created/);
  assert.match(out, /service\/web created/);
  const cms = ok(["get", "configmaps"]);
  assert.match(cms, /^NAME\s+DATA\s+AGE/m);
  assert.match(cms, /^settings\s+1\s+\d+s/m);
  const deploy = ok(["get", "deploy", "-o", "wide"]);
  assert.match(deploy, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/m);
  assert.match(deploy, /^web\s+0\/2\s+0\s+0\s+\S+\s+web\s+busybox:1\.36\s+app=web/m);
  const ns = ok(["get", "ns"]);
  for (const n of ["default", "kube-system", "kube-public", "kube-node-lease"])
    assert.match(ns, new RegExp(`^${n}\\s+Active`, "m"));
});

test("--show-labels and -L print labels from the rows' metadata", () => {
  assert.match(ok(["get", "cm", "settings", "--show-labels"]), /settings\s+1\s+\S+\s+app=web/);
  assert.match(
    ok(["get", "cm", "-L", "app"]),
    /^NAME\s+DATA\s+AGE\s+APP\s*$[\s\S]*settings\s+1\s+\S+\s+web/m,
  );
});

test("-o yaml, -o json and -o jsonpath give the stored object", () => {
  const y = ok(["get", "cm", "settings", "-o", "yaml"]);
  assert.match(y, /color: blue/);
  assert.match(y, /resourceVersion: "\d+"/);
  const j = JSON.parse(ok(["get", "deploy", "web", "-o", "json"]));
  assert.is(j.spec.replicas, 2);
  assert.is(ok(["get", "cm", "settings", "-o", "jsonpath={.data.color}"]), "blue");
  const list = JSON.parse(ok(["get", "cm", "-o", "json"]));
  assert.is(list.kind, "List");
});

test("label and annotate change metadata; scale changes replicas and bumps generation", () => {
  assert.match(ok(["label", "cm", "settings", "tier=front"]), /configmap\/settings labeled/);
  assert.match(ok(["annotate", "cm", "settings", "note=hello"]), /configmap\/settings annotated/);
  const cm = JSON.parse(ok(["get", "cm", "settings", "-o", "json"]));
  assert.is(cm.metadata.labels.tier, "front");
  assert.is(cm.metadata.annotations.note, "hello");
  assert.match(ok(["scale", "deploy/web", "--replicas=5"]), /deployment.apps\/web scaled/);
  const d = JSON.parse(ok(["get", "deploy", "web", "-o", "json"]));
  assert.is(d.spec.replicas, 5);
  assert.is(d.metadata.generation, 2);
  const pre = s.kubectl(["scale", "deploy/web", "--current-replicas=9", "--replicas=1"]);
  assert.is.not(pre.code, 0);
  assert.match(pre.stderr, /Expected replicas to be 9, was 5/);
});

test("describe shows a deployment and a configmap", () => {
  const d = ok(["describe", "deploy", "web"]);
  assert.match(d, /^Name:\s+web$/m);
  assert.match(d, /^Namespace:\s+default$/m);
  assert.match(d, /^Selector:\s+app=web$/m);
  assert.match(d, /Image:\s+busybox:1\.36/);
  const c = ok(["describe", "cm", "settings"]);
  assert.match(c, /^color:$/m);
});

test("errors print as on a real cluster", () => {
  const nf = s.kubectl(["get", "cm", "nope"]);
  assert.is(nf.code, 1);
  assert.match(nf.stderr, /Error from server \(NotFound\): configmaps "nope" not found/);
  const dup = s.kubectl(["create", "-f", "-"], { input: MANIFEST.split("---")[0] });
  assert.match(dup.stderr, /Error from server \(AlreadyExists\).*configmaps "settings" already exists/);
  assert.is(s.kubectl(["get", "cm", "nope", "--ignore-not-found"]).code, 0);
});

test("api-resources lists short names, kinds and groups", () => {
  const out = ok(["api-resources"]);
  assert.match(out, /^pods\s+po\s+v1\s+true\s+Pod$/m);
  assert.match(out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
  assert.match(out, /^nodes\s+no\s+v1\s+false\s+Node$/m);
  assert.match(out, /^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m);
});

test("get all shows the workloads and services of a namespace", () => {
  const out = ok(["get", "all"]);
  assert.match(out, /deployment\.apps\/web/);
  assert.match(out, /service\/web\s+ClusterIP/);
});

test("get -w prints changes as they happen", async () => {
  const child = spawn("/usr/bin/kubectl", ["get", "cm", "-w", "--request-timeout=0"], {
    env: {
      ...process.env,
      KUBECONFIG: s.kubeconfig,
      KUBECACHEDIR: `${s.dataDir}/../kube-cache`,
      HOME: `${s.dataDir}/..`,
    },
  });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  child.stderr.on("data", (c) => (out += c));
  try {
    const until = async (re: RegExp) => {
      const end = Date.now() + 15_000;
      while (!re.test(out)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${re}; got:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(/^settings\s+1/m);
    ok(["create", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: watched}\ndata: {k: v}\n");
    await until(/^watched\s+1/m);
    ok(["delete", "configmap", "watched"]);
    await new Promise((r) => setTimeout(r, 300));
    const rows = out.split("\n").filter((l) => l.startsWith("watched"));
    assert.ok(rows.length >= 2, `expected ADDED and DELETED rows for watched:\n${out}`);
  } finally {
    child.kill();
  }
});

test("wait --for=jsonpath sees a later change; wait --for=delete sees the deletion", async () => {
  ok(
    ["create", "-f", "-"],
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: waiter}\ndata: {state: old}\n",
  );
  const waiter = new Promise<{ code: number; out: string }>((resolve) => {
    const c = spawn(
      "/usr/bin/kubectl",
      ["wait", "cm/waiter", "--for=jsonpath={.data.state}=new", "--timeout=20s"],
      {
        env: {
          ...process.env,
          KUBECONFIG: s.kubeconfig,
          KUBECACHEDIR: `${s.dataDir}/../kube-cache`,
          HOME: `${s.dataDir}/..`,
        },
      },
    );
    let out = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (out += d));
    c.on("exit", (code) => resolve({ code: code ?? -1, out }));
  });
  await new Promise((r) => setTimeout(r, 1500));
  ok(["patch", "cm", "waiter", "--type=merge", "-p", '{"data":{"state":"new"}}']);
  const w = await waiter;
  assert.is(w.code, 0, w.out);
  assert.match(w.out, /configmap\/waiter condition met/);
  const started = Date.now();
  const del = s.kubectl(["delete", "cm", "waiter"]);
  assert.is(del.code, 0);
  assert.match(del.stdout, /configmap "waiter" deleted/);
  assert.ok(Date.now() - started < 10_000);
});

test("delete of a deployment and a service; they are gone", () => {
  assert.match(ok(["delete", "deploy", "web"]), /deployment.apps "web" deleted/);
  assert.match(ok(["delete", "svc", "web"]), /service "web" deleted/);
  assert.is(s.kubectl(["get", "deploy", "web"]).code, 1);
});

test.run();
