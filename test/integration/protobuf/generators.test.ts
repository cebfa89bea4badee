// kubectl 1.32's generator commands end to end against a real `tsk server`: they send
// protobuf bodies, and what gets stored must be what the JSON form of the same object
// would have stored. Each command runs twice, in two namespaces: as itself (protobuf),
// and as its own --dry-run=client -o json piped to `kubectl create -f -` (JSON). The two
// stored objects must match, apart from what the server makes per object.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startServer, type TestServer } from "../../support/cluster";

let s: TestServer;

test.before(async () => {
  s = await startServer();
  for (const ns of ["pb", "js"]) {
    const r = await s.api("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: ns },
    });
    assert.is(r.status, 201, r.text);
  }
});

test.after(async () => {
  await s?.stop();
});

/** Drops what the server sets per object (identity, times, versions, allocated IPs). */
function comparable(obj: any): any {
  // The object's own uid also shows up in labels the server adds (a Job's controller-uid).
  const o = JSON.parse(JSON.stringify(obj).split(obj.metadata.uid).join("<uid>"));
  for (const k of ["uid", "resourceVersion", "creationTimestamp", "namespace", "managedFields", "generation"])
    delete o.metadata?.[k];
  delete o.status;
  if (o.kind === "Service") {
    delete o.spec.clusterIP;
    delete o.spec.clusterIPs;
    if (o.spec.type === "LoadBalancer" || o.spec.type === "NodePort") {
      for (const p of o.spec.ports ?? []) if (p.name !== "fixed") delete p.nodePort;
    }
  }
  return o;
}

function kubectl(args: string[], input?: string): string {
  const r = s.kubectl(args, { input });
  assert.is(r.code, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Runs a generator command (protobuf) in "pb" and its JSON form in "js"; returns both stored objects. */
async function both(resource: string, name: string, args: string[]): Promise<[any, any]> {
  const dash = args.includes("--") ? args.indexOf("--") : args.length;
  const out = kubectl([...args.slice(0, dash), "-n", "pb", ...args.slice(dash)]);
  assert.match(out, new RegExp(`/${name} (created|autoscaled)`));
  const json = kubectl([
    ...args.slice(0, dash),
    "-n",
    "js",
    "--dry-run=client",
    "-o",
    "json",
    ...args.slice(dash),
  ]);
  kubectl(["create", "-n", "js", "-f", "-"], json);
  const pb = JSON.parse(kubectl(["get", resource, name, "-n", "pb", "-o", "json"]));
  const js = JSON.parse(kubectl(["get", resource, name, "-n", "js", "-o", "json"]));
  return [pb, js];
}

function generator(
  title: string,
  resource: string,
  name: string,
  args: string[],
  check: (obj: any) => void,
): void {
  test(title, async () => {
    const [pb, js] = await both(resource, name, args);
    assert.equal(comparable(pb), comparable(js));
    check(pb);
  });
}

generator(
  "create configmap stores the same ConfigMap as its JSON",
  "configmap",
  "cm",
  ["create", "configmap", "cm", "--from-literal=a=b", "--from-literal=c=d"],
  (o) => assert.equal(o.data, { a: "b", c: "d" }),
);

generator(
  "create secret generic stores base64 data",
  "secret",
  "sec",
  ["create", "secret", "generic", "sec", "--from-literal=user=admin"],
  (o) => {
    assert.equal(o.data, { user: Buffer.from("admin").toString("base64") });
    assert.is(o.type, "Opaque");
  },
);

generator("create serviceaccount", "serviceaccount", "robot", ["create", "serviceaccount", "robot"], (o) =>
  assert.is(o.metadata.name, "robot"),
);

generator(
  "create service clusterip",
  "service",
  "web",
  ["create", "service", "clusterip", "web", "--tcp=80:8080"],
  (o) => {
    assert.equal(o.spec.ports[0].port, 80);
    assert.equal(o.spec.ports[0].targetPort, 8080);
    assert.match(o.spec.clusterIP, /^10\.43\./);
  },
);

generator(
  "create service nodeport with a named target port",
  "service",
  "np",
  ["create", "service", "nodeport", "np", "--tcp=80:http"],
  (o) => {
    assert.is(o.spec.type, "NodePort");
    assert.is(o.spec.ports[0].targetPort, "http");
  },
);

generator(
  "create deployment with image, port and replicas",
  "deployment",
  "web",
  ["create", "deployment", "web", "--image=nginx", "--port=80", "--replicas=2"],
  (o) => {
    assert.is(o.spec.replicas, 2);
    assert.is(o.spec.template.spec.containers[0].ports[0].containerPort, 80);
  },
);

generator(
  "create deployment --replicas=0 stores zero replicas",
  "deployment",
  "idle",
  ["create", "deployment", "idle", "--image=nginx", "--replicas=0"],
  (o) => assert.is(o.spec.replicas, 0),
);

generator(
  "create deployment with a command",
  "deployment",
  "sleeper",
  ["create", "deployment", "sleeper", "--image=busybox", "--", "sleep", "3600"],
  (o) => assert.equal(o.spec.template.spec.containers[0].command, ["sleep", "3600"]),
);

generator(
  "create job with a command",
  "job",
  "once",
  ["create", "job", "once", "--image=busybox", "--", "echo", "hi"],
  (o) => assert.equal(o.spec.template.spec.containers[0].command, ["echo", "hi"]),
);

generator(
  "create cronjob with schedule and restart policy",
  "cronjob",
  "tick",
  ["create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *", "--restart=Never", "--", "date"],
  (o) => {
    assert.is(o.spec.schedule, "*/5 * * * *");
    assert.is(o.spec.jobTemplate.spec.template.spec.restartPolicy, "Never");
  },
);

test("create namespace (protobuf) stores the namespace", () => {
  assert.match(kubectl(["create", "namespace", "from-proto"]), /namespace\/from-proto created/);
  const ns = JSON.parse(kubectl(["get", "namespace", "from-proto", "-o", "json"]));
  assert.is(ns.status.phase, "Active");
});

test("autoscale creates a HorizontalPodAutoscaler for the deployment", async () => {
  kubectl(["create", "deployment", "scaled", "--image=nginx"]);
  assert.match(
    kubectl(["autoscale", "deployment", "scaled", "--min=2", "--max=5", "--cpu-percent=80"]),
    /scaled autoscaled/,
  );
  const hpa = JSON.parse(kubectl(["get", "hpa", "scaled", "-o", "json"]));
  assert.is(hpa.spec.maxReplicas, 5);
  assert.is(hpa.spec.minReplicas, 2);
  assert.equal(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "scaled" });
});

test("a malformed protobuf body gets 400 BadRequest, and the server keeps serving", async () => {
  // k8s\0, then field 1 claiming 5 bytes with 1 left.
  const r = await s.api("POST", "/api/v1/namespaces/default/configmaps", "k8s\u0000\u000a\u0005a", {
    headers: { "Content-Type": "application/vnd.kubernetes.protobuf" },
  });
  assert.is(r.status, 400);
  assert.is(r.json.reason, "BadRequest");
  assert.match(r.json.message, /length 5 past the end of the data/);
  assert.is((await s.api("GET", "/api/v1/namespaces/default/configmaps")).status, 200);
});

test("auth can-i: the admin may create pods", () => {
  const r = s.kubectl(["auth", "can-i", "create", "pods"]);
  assert.is(r.stdout, "yes\n", r.stderr);
  assert.is(r.code, 0);
  assert.is(kubectl(["auth", "can-i", "get", "/healthz"]), "yes\n");
  assert.is(kubectl(["auth", "can-i", "*", "*", "--all-namespaces"]), "yes\n");
});

test("selfsubjectaccessreviews over JSON: allowed for the admin, 422 without attributes", async () => {
  const r = await s.api("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec: { resourceAttributes: { verb: "create", resource: "pods", namespace: "default" } },
  });
  assert.is(r.status, 201);
  assert.is(r.json.status.allowed, true);
  const bad = await s.api("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
    apiVersion: "authorization.k8s.io/v1",
    kind: "SelfSubjectAccessReview",
    spec: {},
  });
  assert.is(bad.status, 422);
  assert.match(
    bad.json.message,
    /exactly one of nonResourceAttributes or resourceAttributes must be specified/,
  );
});

test("auth whoami prints the admin's username and groups", () => {
  const out = kubectl(["auth", "whoami"]);
  assert.match(
    out,
    /^ATTRIBUTE\s+VALUE\nUsername\s+system:admin\n(UID\s+\S+\n)?Groups\s+\[system:masters system:authenticated\]\n$/,
  );
});

test("the review resources are in discovery", () => {
  const out = kubectl(["api-resources", "--api-group=authorization.k8s.io", "-o", "name"]);
  assert.match(out, /selfsubjectaccessreviews\.authorization\.k8s\.io/);
  const out2 = kubectl(["api-resources", "--api-group=authentication.k8s.io", "-o", "name"]);
  assert.match(out2, /selfsubjectreviews\.authentication\.k8s\.io/);
});

test.run();
