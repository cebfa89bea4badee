// The real kubectl 1.32's generator commands send protobuf bodies. Each test captures
// the body a command sends to a recording server and checks that decoding it gives the
// very object kubectl itself prints for the same command with --dry-run=client -o json.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE } from "../../../internal/api/protobuf";
import { type Recorded, type Recorder, startRecorder } from "./recorder";

let rec: Recorder;

/** Answers like an API server: the object back, with the status a review or token gets. */
function answer(r: Recorded): { status: number; body: unknown } {
  const obj: Record<string, any> = r.contentType.startsWith(PROTOBUF_MEDIA_TYPE)
    ? decodeKubernetesProtobuf(r.body)
    : JSON.parse(r.body.toString("utf8"));
  if (obj.kind === "TokenRequest")
    obj.status = { token: "token-from-recorder", expirationTimestamp: "2030-01-01T00:00:00Z" };
  if (obj.kind === "SelfSubjectAccessReview") obj.status = { allowed: true };
  if (obj.kind === "SelfSubjectReview")
    obj.status = { userInfo: { username: "alice", groups: ["devs", "system:authenticated"] } };
  return { status: 201, body: obj };
}

test.before(async () => {
  rec = await startRecorder(answer);
});

test.after(async () => {
  await rec?.close();
});

/** Runs a command and returns the one protobuf body it POSTed, decoded, with its path. */
async function sent(args: string[]): Promise<{ path: string; obj: Record<string, unknown>; stdout: string }> {
  const before = rec.requests.length;
  const r = await rec.kubectl(args);
  assert.is(r.code, 0, `kubectl ${args.join(" ")} failed: ${r.stderr}`);
  const posts = rec.requests.slice(before).filter((q) => q.method === "POST");
  assert.is(posts.length, 1, `expected one POST, saw ${posts.map((p) => p.path).join(", ")}`);
  assert.is(posts[0].contentType, PROTOBUF_MEDIA_TYPE, "kubectl 1.32 sends generator objects as protobuf");
  assert.ok(posts[0].body.subarray(0, 4).equals(Buffer.from("k8s\0", "latin1")));
  return { path: posts[0].path, obj: decodeKubernetesProtobuf(posts[0].body), stdout: r.stdout };
}

/** What kubectl prints for the same command as --dry-run=client -o json. */
async function dryRun(args: string[]): Promise<unknown> {
  // Flags go before a "--": what follows it is the container's command.
  const dash = args.includes("--") ? args.indexOf("--") : args.length;
  const r = await rec.kubectl([
    ...args.slice(0, dash),
    "--dry-run=client",
    "-o",
    "json",
    ...args.slice(dash),
  ]);
  assert.is(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function generator(name: string, args: string[], path: string): void {
  test(name, async () => {
    const want = await dryRun(args);
    const got = await sent(args);
    assert.is(got.path, path);
    assert.equal(got.obj, want);
  });
}

generator(
  "create configmap with literals decodes to the same ConfigMap as its JSON",
  ["create", "configmap", "cm1", "--from-literal=a=b", "--from-literal=greeting=hello world"],
  "/api/v1/namespaces/default/configmaps",
);

test("create configmap from a binary file keeps its bytes as base64 binaryData", async () => {
  const bin = join(rec.dir, "blob.bin");
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  writeFileSync(bin, bytes);
  writeFileSync(join(rec.dir, "note.txt"), "text\n");
  const args = [
    "create",
    "configmap",
    "cm2",
    `--from-file=${bin}`,
    `--from-file=${join(rec.dir, "note.txt")}`,
  ];
  const want = await dryRun(args);
  const got = await sent(args);
  assert.equal(got.obj, want);
  assert.is((got.obj.binaryData as Record<string, string>)["blob.bin"], bytes.toString("base64"));
  assert.equal(got.obj.data, { "note.txt": "text\n" });
});

generator(
  "create secret generic: data comes out base64 as in JSON",
  [
    "create",
    "secret",
    "generic",
    "s1",
    "--from-literal=user=admin",
    "--from-literal=password=s3cr3t!",
    "--type=Opaque",
  ],
  "/api/v1/namespaces/default/secrets",
);

generator(
  "create secret docker-registry",
  [
    "create",
    "secret",
    "docker-registry",
    "reg",
    "--docker-server=registry.example.com",
    "--docker-username=u",
    "--docker-password=p",
  ],
  "/api/v1/namespaces/default/secrets",
);

test("create secret tls", async () => {
  const tls = join(rec.dir, "tls");
  const args = [
    "create",
    "secret",
    "tls",
    "tls1",
    `--cert=${join(tls, "serving-kube-apiserver.crt")}`,
    `--key=${join(tls, "serving-kube-apiserver.key")}`,
  ];
  const want = await dryRun(args);
  const got = await sent(args);
  assert.equal(got.obj, want);
  assert.is(got.obj.type, "kubernetes.io/tls");
});

generator("create namespace", ["create", "namespace", "team-a"], "/api/v1/namespaces");

generator(
  "create serviceaccount",
  ["create", "serviceaccount", "robot"],
  "/api/v1/namespaces/default/serviceaccounts",
);

generator(
  "create service clusterip with two ports",
  ["create", "service", "clusterip", "web", "--tcp=80:8080", "--tcp=443:8443"],
  "/api/v1/namespaces/default/services",
);

generator(
  "create service clusterip headless (clusterIP None)",
  ["create", "service", "clusterip", "headless", "--clusterip=None", "--tcp=5432:5432"],
  "/api/v1/namespaces/default/services",
);

generator(
  "create service nodeport with a fixed node port",
  ["create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080"],
  "/api/v1/namespaces/default/services",
);

test("create service loadbalancer with a named target port keeps the int-or-string a string", async () => {
  const args = ["create", "service", "loadbalancer", "lb", "--tcp=443:https", "--tcp=80:8080"];
  const want = await dryRun(args);
  const got = await sent(args);
  assert.equal(got.obj, want);
  const ports = (got.obj.spec as { ports: { targetPort: unknown }[] }).ports;
  assert.is(ports[0].targetPort, "https");
  assert.is(ports[1].targetPort, 8080);
});

generator(
  "create service externalname",
  ["create", "service", "externalname", "ext", "--external-name=db.example.com"],
  "/api/v1/namespaces/default/services",
);

generator(
  "create deployment with image, port and replicas",
  ["create", "deployment", "web", "--image=nginx:1.27", "--port=80", "--replicas=3"],
  "/apis/apps/v1/namespaces/default/deployments",
);

test("create deployment --replicas=0 keeps replicas: 0 (a pointer field set to zero)", async () => {
  const args = ["create", "deployment", "idle", "--image=nginx", "--replicas=0"];
  const want = await dryRun(args);
  const got = await sent(args);
  assert.equal(got.obj, want);
  assert.is((got.obj.spec as { replicas: number }).replicas, 0);
});

generator(
  "create deployment with a command after --",
  ["create", "deployment", "sleeper", "--image=busybox", "--", "sleep", "3600"],
  "/apis/apps/v1/namespaces/default/deployments",
);

generator(
  "create deployment with two images",
  ["create", "deployment", "pair", "--image=nginx", "--image=redis:7"],
  "/apis/apps/v1/namespaces/default/deployments",
);

generator(
  "create job with a command",
  ["create", "job", "once", "--image=busybox", "--", "echo", "hello", "world"],
  "/apis/batch/v1/namespaces/default/jobs",
);

generator(
  "create cronjob with schedule and restart policy",
  ["create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "--restart=Never", "--", "date"],
  "/apis/batch/v1/namespaces/default/cronjobs",
);

test("create job --from=cronjob carries the owner reference and the template", async () => {
  const args = ["create", "job", "manual-1", "--from=cronjob/tick"];
  const want = await dryRun(args);
  const got = await sent(args);
  assert.equal(got.obj, want);
  const owner = (got.obj.metadata as { ownerReferences: Record<string, unknown>[] }).ownerReferences[0];
  assert.equal(owner, {
    apiVersion: "batch/v1",
    kind: "CronJob",
    name: "tick",
    uid: "c0a1b2c3-0000-4000-8000-000000000002",
    controller: true,
  });
});

generator(
  "create quota: quantities come out as their strings",
  ["create", "quota", "q1", "--hard=cpu=1500m,memory=1Gi,pods=10", "--scopes=NotBestEffort"],
  "/api/v1/namespaces/default/resourcequotas",
);

generator(
  "create role with verbs and resources",
  [
    "create",
    "role",
    "reader",
    "--verb=get,list,watch",
    "--resource=pods,deployments.apps",
    "--resource-name=web",
  ],
  "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
);

generator(
  "create rolebinding to a user and a service account",
  ["create", "rolebinding", "rb", "--role=reader", "--user=alice", "--serviceaccount=default:robot"],
  "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
);

generator(
  "create ingress with a rule and TLS",
  ["create", "ingress", "ing", "--class=default", "--rule=foo.com/bar*=svc:8080,tls=my-cert"],
  "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
);

generator(
  "create poddisruptionbudget: min-available as int-or-string",
  ["create", "poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=50%"],
  "/apis/policy/v1/namespaces/default/poddisruptionbudgets",
);

generator(
  "create priorityclass with value, description and preemption policy",
  ["create", "priorityclass", "high", "--value=1000", "--description=important", "--preemption-policy=Never"],
  "/apis/scheduling.k8s.io/v1/priorityclasses",
);

generator(
  "autoscale sends an autoscaling/v1 HorizontalPodAutoscaler",
  ["autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=80"],
  "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers",
);

test("create token with duration and audience sends a TokenRequest and prints the token", async () => {
  const got = await sent(["create", "token", "robot", "--duration=1h", "--audience=https://example.com"]);
  assert.is(got.path, "/api/v1/namespaces/default/serviceaccounts/robot/token");
  assert.equal(got.obj, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    metadata: { creationTimestamp: null },
    spec: { audiences: ["https://example.com"], expirationSeconds: 3600, boundObjectRef: null },
    status: { token: "", expirationTimestamp: null },
  });
  assert.is(got.stdout.trim(), "token-from-recorder");
});

test("create token with no flags sends the unset fields as null, as Go's JSON does", async () => {
  const got = await sent(["create", "token", "robot"]);
  assert.equal(got.obj.spec, { audiences: null, expirationSeconds: null, boundObjectRef: null });
});

test("auth can-i create pods sends a SelfSubjectAccessReview with resourceAttributes", async () => {
  const got = await sent(["auth", "can-i", "create", "pods"]);
  assert.is(got.path, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
  assert.equal(got.obj, {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    metadata: { creationTimestamp: null },
    spec: { resourceAttributes: { namespace: "default", verb: "create", resource: "pods" } },
    status: { allowed: false },
  });
  assert.is(got.stdout, "yes\n");
});

test("auth can-i with group, subresource and name", async () => {
  const got = await sent([
    "auth",
    "can-i",
    "update",
    "deployments.apps/web",
    "-n",
    "kube-system",
    "--subresource=scale",
  ]);
  const spec = got.obj.spec as { resourceAttributes: Record<string, string> };
  assert.equal(spec.resourceAttributes, {
    namespace: "kube-system",
    verb: "update",
    group: "apps",
    resource: "deployments",
    subresource: "scale",
    name: "web",
  });
});

test("auth can-i on a non-resource URL sends nonResourceAttributes", async () => {
  const got = await sent(["auth", "can-i", "get", "/logs"]);
  assert.equal(got.obj.spec, { nonResourceAttributes: { path: "/logs", verb: "get" } });
});

test("auth whoami sends a SelfSubjectReview and prints the user it gets back", async () => {
  const got = await sent(["auth", "whoami"]);
  assert.is(got.path, "/apis/authentication.k8s.io/v1/selfsubjectreviews");
  assert.equal(got.obj, {
    apiVersion: "authentication.k8s.io/v1",
    kind: "SelfSubjectReview",
    metadata: { creationTimestamp: null },
    status: { userInfo: {} },
  });
  assert.match(got.stdout, /^ATTRIBUTE\s+VALUE\nUsername\s+alice\nGroups\s+\[devs system:authenticated\]\n$/);
});

test.run();
