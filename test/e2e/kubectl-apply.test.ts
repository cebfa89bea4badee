// kubectl fidelity (issue 3): apply, edit, patch, diff, server-side apply, generators,
// explain and validation messages, with the real kubectl against a real tsk server.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startServer, type TestServer } from "../support/cluster";

let s: TestServer;
let dir: string;

test.before(async () => {
  s = await startServer();
  dir = mkdtempSync(join(tmpdir(), "tsk-apply-"));
});
test.after(async () => {
  await s?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function k(args: string[], input?: string, env?: Record<string, string>) {
  return s.kubectl(args, { input, env });
}
function ok(args: string[], input?: string, env?: Record<string, string>): string {
  const r = k(args, input, env);
  if (r.code !== 0)
    throw new Error(`kubectl ${args.join(" ")} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
function json(args: string[]): any {
  return JSON.parse(ok([...args, "-o", "json"]));
}

const app = (opts: { replicas: number; color: string; env: Array<[string, string]> }) => `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  color: ${opts.color}
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  namespace: shop
stringData:
  password: hunter2
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: ${opts.replicas}
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
      - name: web
        image: busybox:1.36
        env:
${opts.env.map(([n, v]) => `        - name: ${n}\n          value: "${v}"`).join("\n")}
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: { app: web }
  ports:
  - port: 80
    targetPort: 8080
`;

test("apply of a multi-document manifest creates everything; re-applying reports unchanged", () => {
  const out = ok(
    ["apply", "-f", "-"],
    app({
      replicas: 2,
      color: "blue",
      env: [
        ["A", "1"],
        ["B", "2"],
      ],
    }),
  );
  assert.match(out, /namespace\/shop created/);
  assert.match(out, /configmap\/settings created/);
  assert.match(out, /secret\/creds created/);
  assert.match(out, /deployment.apps\/web created/);
  assert.match(out, /service\/web created/);
  const secret = json(["get", "secret", "creds", "-n", "shop"]);
  assert.is(Buffer.from(secret.data.password, "base64").toString(), "hunter2");
  assert.is(secret.type, "Opaque");
  const again = ok(
    ["apply", "-f", "-"],
    app({
      replicas: 2,
      color: "blue",
      env: [
        ["A", "1"],
        ["B", "2"],
      ],
    }),
  );
  // A Secret written with stringData always re-applies as "configured" on a real cluster too
  // (stringData is write-only, so kubectl's three-way patch always carries it; kubernetes#87736).
  for (const line of again.trim().split("\n"))
    assert.match(line, line.startsWith("secret/") ? / configured$/ : / unchanged$/, again);
});

test("apply of a changed file changes exactly what changed (a field, a list item added and one removed)", () => {
  const before = json(["get", "deploy", "web", "-n", "shop"]);
  // Someone else scaled the deployment's template labels? No: they added an annotation the file does not mention.
  ok(["annotate", "deploy", "web", "-n", "shop", "team=checkout"]);
  const out = ok(
    ["apply", "-f", "-"],
    app({
      replicas: 3,
      color: "red",
      env: [
        ["A", "1"],
        ["C", "3"],
      ],
    }),
  );
  assert.match(out, /deployment.apps\/web configured/);
  assert.match(out, /configmap\/settings configured/);
  assert.match(out, /service\/web unchanged/);
  const d = json(["get", "deploy", "web", "-n", "shop"]);
  assert.is(d.spec.replicas, 3);
  assert.equal(d.spec.template.spec.containers[0].env, [
    { name: "A", value: "1" },
    { name: "C", value: "3" },
  ]);
  assert.is(d.metadata.annotations.team, "checkout", "fields the file never set are kept");
  assert.is(d.metadata.generation, before.metadata.generation + 1);
  assert.is(json(["get", "cm", "settings", "-n", "shop"]).data.color, "red");
});

test("edit with KUBE_EDITOR changes the object", () => {
  const editor = join(dir, "editor.sh");
  writeFileSync(editor, `#!/bin/sh\nsed -i 's/color: red/color: green/' "$1"\n`);
  chmodSync(editor, 0o755);
  const out = ok(["edit", "cm", "settings", "-n", "shop"], undefined, {
    KUBE_EDITOR: editor,
    EDITOR: editor,
  });
  assert.match(out, /configmap\/settings edited/);
  assert.is(json(["get", "cm", "settings", "-n", "shop"]).data.color, "green");
});

test("patch with each type: strategic, merge and json", () => {
  ok([
    "patch",
    "deploy",
    "web",
    "-n",
    "shop",
    "-p",
    '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"busybox:1.37"}]}}}}',
  ]);
  let d = json(["get", "deploy", "web", "-n", "shop"]);
  assert.is(d.spec.template.spec.containers[0].image, "busybox:1.37");
  assert.is(
    d.spec.template.spec.containers[0].env.length,
    2,
    "strategic merge keeps the container's other fields",
  );
  ok(["patch", "cm", "settings", "-n", "shop", "--type=merge", "-p", '{"data":{"size":"xl"}}']);
  assert.equal(json(["get", "cm", "settings", "-n", "shop"]).data, { color: "green", size: "xl" });
  ok([
    "patch",
    "deploy",
    "web",
    "-n",
    "shop",
    "--type=json",
    "-p",
    '[{"op":"replace","path":"/spec/replicas","value":1}]',
  ]);
  d = json(["get", "deploy", "web", "-n", "shop"]);
  assert.is(d.spec.replicas, 1);
});

test("diff shows a change with exit 1 and stores nothing; --dry-run=server stores nothing", () => {
  const before = json(["get", "cm", "settings", "-n", "shop"]);
  const manifest = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  color: purple\n`;
  const d = k(["diff", "-f", "-"], manifest);
  assert.is(d.code, 1, d.stderr);
  assert.match(d.stdout, /-\s+color: green/);
  assert.match(d.stdout, /\+\s+color: purple/);
  const dry = ok(["apply", "-f", "-", "--dry-run=server"], manifest);
  assert.match(dry, /configmap\/settings configured \(server dry run\)/);
  const after = json(["get", "cm", "settings", "-n", "shop"]);
  assert.is(after.data.color, "green");
  assert.is(after.metadata.resourceVersion, before.metadata.resourceVersion);
  const created = ok(
    ["create", "-f", "-", "--dry-run=server"],
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ghost, namespace: shop}\n`,
  );
  assert.match(created, /configmap\/ghost created \(server dry run\)/);
  assert.is(k(["get", "cm", "ghost", "-n", "shop"]).code, 1);
});

test("server-side apply creates, a second manager conflicts, --force-conflicts takes the field", () => {
  const manifest = (replicas: number) =>
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ssa, namespace: shop}\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: {app: ssa}}\n  template:\n    metadata: {labels: {app: ssa}}\n    spec:\n      containers: [{name: c, image: busybox}]\n`;
  assert.match(
    ok(["apply", "--server-side", "-f", "-"], manifest(2)),
    /deployment.apps\/ssa serverside-applied/,
  );
  const managers = json([
    "get",
    "deploy",
    "ssa",
    "-n",
    "shop",
    "--show-managed-fields",
  ]).metadata.managedFields.map((m: any) => m.manager);
  assert.ok(managers.includes("kubectl"), JSON.stringify(managers));
  const conflict = k(["apply", "--server-side", "--field-manager=other", "-f", "-"], manifest(5));
  assert.is(conflict.code, 1);
  assert.match(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl"/);
  assert.match(conflict.stderr, /\.spec\.replicas/);
  assert.is(json(["get", "deploy", "ssa", "-n", "shop"]).spec.replicas, 2);
  ok(["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-"], manifest(5));
  assert.is(json(["get", "deploy", "ssa", "-n", "shop"]).spec.replicas, 5);
});

test("generator commands create what they say (protobuf bodies)", () => {
  assert.match(
    ok(["create", "configmap", "gen-cm", "-n", "shop", "--from-literal=a=b"]),
    /configmap\/gen-cm created/,
  );
  assert.equal(json(["get", "cm", "gen-cm", "-n", "shop"]).data, { a: "b" });
  ok(["create", "secret", "generic", "gen-secret", "-n", "shop", "--from-literal=p=q"]);
  assert.is(
    Buffer.from(json(["get", "secret", "gen-secret", "-n", "shop"]).data.p, "base64").toString(),
    "q",
  );
  ok(["create", "namespace", "gen-ns"]);
  ok(["create", "serviceaccount", "gen-sa", "-n", "shop"]);
  ok(["create", "service", "clusterip", "gen-svc", "-n", "shop", "--tcp=80:8080"]);
  assert.is(json(["get", "svc", "gen-svc", "-n", "shop"]).spec.ports[0].targetPort, 8080);
  ok(["create", "deployment", "gen-deploy", "-n", "shop", "--image=busybox:1.36", "--replicas=2"]);
  assert.is(json(["get", "deploy", "gen-deploy", "-n", "shop"]).spec.replicas, 2);
  ok(["create", "job", "gen-job", "-n", "shop", "--image=busybox", "--", "echo", "hi"]);
  assert.equal(json(["get", "job", "gen-job", "-n", "shop"]).spec.template.spec.containers[0].command, [
    "echo",
    "hi",
  ]);
  ok(["create", "cronjob", "gen-cron", "-n", "shop", "--image=busybox", "--schedule=*/5 * * * *"]);
  assert.is(json(["get", "cronjob", "gen-cron", "-n", "shop"]).spec.schedule, "*/5 * * * *");
  ok(["autoscale", "deploy", "gen-deploy", "-n", "shop", "--min=1", "--max=4", "--cpu-percent=70"]);
  assert.is(json(["get", "hpa", "gen-deploy", "-n", "shop"]).spec.maxReplicas, 4);
  assert.is(ok(["auth", "can-i", "create", "pods"]).trim(), "yes");
  assert.match(ok(["auth", "whoami"]), /Username\s+system:admin/);
});

test("explain prints a nested field's documentation", () => {
  const out = ok(["explain", "pods.spec.containers.resources"]);
  assert.match(out, /KIND:\s+Pod/);
  assert.match(out, /FIELD:\s+resources/);
  assert.match(out, /limits/);
  assert.match(out, /requests/);
});

const invalid: Array<[string, string, RegExp]> = [
  [
    "a bad name",
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name, namespace: shop}\n`,
    /The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/,
  ],
  [
    "a container without an image",
    `apiVersion: v1\nkind: Pod\nmetadata: {name: noimage, namespace: shop}\nspec:\n  containers: [{name: c}]\n`,
    /The Pod "noimage" is invalid: spec.containers\[0\].image: Required value/,
  ],
  [
    "a selector that does not match the template",
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: mismatch, namespace: shop}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: b}}\n    spec:\n      containers: [{name: c, image: busybox}]\n`,
    /The Deployment "mismatch" is invalid: spec.template.metadata.labels: Invalid value: map\[string\]string\{"app":"b"\}: `selector` does not match template `labels`/,
  ],
  [
    "an unknown field",
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: unknown, namespace: shop}\nspec: {foo: 1}\n`,
    /strict decoding error: unknown field "spec"/,
  ],
  [
    "duplicate container names",
    `apiVersion: v1\nkind: Pod\nmetadata: {name: dupes, namespace: shop}\nspec:\n  containers: [{name: c, image: busybox}, {name: c, image: busybox}]\n`,
    /spec.containers\[1\].name: Duplicate value: "c"/,
  ],
  [
    "a port out of range",
    `apiVersion: v1\nkind: Service\nmetadata: {name: badport, namespace: shop}\nspec:\n  ports: [{port: 70000}]\n`,
    /spec.ports\[0\].port: Invalid value: 70000: must be between 1 and 65535, inclusive/,
  ],
];

for (const [what, manifest, message] of invalid) {
  test(`an invalid manifest (${what}) gets Kubernetes' message and nothing is stored`, () => {
    const name = /name: (\w+)/.exec(manifest)![1];
    const kind = /kind: (\w+)/.exec(manifest)![1].toLowerCase();
    const r = k(["apply", "-f", "-"], manifest);
    assert.is.not(r.code, 0);
    assert.match(r.stderr, message);
    assert.is(k(["get", kind, name, "-n", "shop"]).code, 1, "nothing stored");
  });
}

test("a changed immutable field is refused: a Deployment's selector", () => {
  const r = k([
    "patch",
    "deploy",
    "web",
    "-n",
    "shop",
    "--type=merge",
    "-p",
    '{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}',
  ]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /spec.selector: Invalid value: .*: field is immutable/);
});

test("apply -k on a kustomization directory", () => {
  const kdir = join(dir, "kust");
  require("node:fs").mkdirSync(kdir);
  writeFileSync(
    join(kdir, "kustomization.yaml"),
    "namespace: shop\nnamePrefix: k-\nresources: [cm.yaml]\ncommonLabels: {via: kustomize}\n",
  );
  writeFileSync(
    join(kdir, "cm.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: base}\ndata: {x: y}\n",
  );
  assert.match(ok(["apply", "-k", kdir]), /configmap\/k-base created/);
  assert.is(json(["get", "cm", "k-base", "-n", "shop"]).metadata.labels.via, "kustomize");
});

test.run();
