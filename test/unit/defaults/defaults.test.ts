// The defaults a real cluster fills in, kind by kind.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { applyDefaults, pullPolicyFor } from "../../../internal/api/defaults";
import { findKind, type ResourceInfo } from "../../../internal/api/resources";

type Obj = Record<string, any>;

function defaulted(obj: Obj): Obj {
  applyDefaults(findKind(obj.apiVersion, obj.kind) as ResourceInfo, obj);
  return obj;
}

const container = (extra: Obj = {}) => ({ name: "app", image: "nginx:1.27", ...extra });

test("a pod gets restartPolicy, dnsPolicy, scheduler, grace period, security context and service links", () => {
  const p = defaulted({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { containers: [container()] },
  });
  assert.is(p.spec.restartPolicy, "Always");
  assert.is(p.spec.dnsPolicy, "ClusterFirst");
  assert.is(p.spec.schedulerName, "default-scheduler");
  assert.is(p.spec.terminationGracePeriodSeconds, 30);
  assert.equal(p.spec.securityContext, {});
  assert.is(p.spec.enableServiceLinks, true);
  assert.is(p.spec.priority, 0);
  assert.is(p.spec.preemptionPolicy, "PreemptLowerPriority");
});

test("containers get termination message path and policy, resources and ports' protocol", () => {
  const p = defaulted({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { containers: [container({ ports: [{ containerPort: 80 }] })] },
  });
  const c = p.spec.containers[0];
  assert.is(c.terminationMessagePath, "/dev/termination-log");
  assert.is(c.terminationMessagePolicy, "File");
  assert.equal(c.resources, {});
  assert.equal(c.ports, [{ containerPort: 80, protocol: "TCP" }]);
});

test("imagePullPolicy follows the tag: latest or none is Always, else IfNotPresent", () => {
  assert.is(pullPolicyFor("nginx"), "Always");
  assert.is(pullPolicyFor("nginx:latest"), "Always");
  assert.is(pullPolicyFor("registry.local:5000/team/app"), "Always");
  assert.is(pullPolicyFor("registry.local:5000/team/app:1.0"), "IfNotPresent");
  assert.is(pullPolicyFor("nginx:1.27"), "IfNotPresent");
  assert.is(
    pullPolicyFor("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
    "IfNotPresent",
  );
  assert.is(pullPolicyFor(""), "IfNotPresent");
  const p = defaulted({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: {
      containers: [
        container({ image: "redis" }),
        container({ name: "b", image: "redis:7", imagePullPolicy: "Never" }),
      ],
    },
  });
  assert.is(p.spec.containers[0].imagePullPolicy, "Always");
  assert.is(p.spec.containers[1].imagePullPolicy, "Never", "a given policy is kept");
});

test("probes get their timing defaults and httpGet its path and scheme", () => {
  const p = defaulted({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: {
      containers: [
        container({
          livenessProbe: { httpGet: { port: 80 } },
          readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 5 },
        }),
      ],
    },
  });
  assert.equal(p.spec.containers[0].livenessProbe, {
    httpGet: { port: 80, path: "/", scheme: "HTTP" },
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.is(p.spec.containers[0].readinessProbe.periodSeconds, 5);
});

test("volumes: configMap and secret modes 0644, a bare volume is an emptyDir", () => {
  const p = defaulted({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: {
      containers: [container()],
      volumes: [
        { name: "c", configMap: { name: "cfg" } },
        { name: "s", secret: { secretName: "sec" } },
        { name: "tmp" },
      ],
    },
  });
  assert.equal(p.spec.volumes, [
    { name: "c", configMap: { name: "cfg", defaultMode: 420 } },
    { name: "s", secret: { secretName: "sec", defaultMode: 420 } },
    { name: "tmp", emptyDir: {} },
  ]);
});

test("a pod's limits become its requests where requests are not given", () => {
  const p = defaulted({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: {
      containers: [
        container({ resources: { limits: { cpu: "1", memory: "1Gi" }, requests: { cpu: "500m" } } }),
      ],
    },
  });
  assert.equal(p.spec.containers[0].resources.requests, { cpu: "500m", memory: "1Gi" });
});

test("a service is ClusterIP with sessionAffinity None, TCP ports targeting themselves, internal traffic Cluster", () => {
  const s = defaulted({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s" },
    spec: { ports: [{ port: 80 }, { port: 443, targetPort: "https" }] },
  });
  assert.is(s.spec.type, "ClusterIP");
  assert.is(s.spec.sessionAffinity, "None");
  assert.is(s.spec.internalTrafficPolicy, "Cluster");
  assert.equal(s.spec.ports, [
    { port: 80, protocol: "TCP", targetPort: 80 },
    { port: 443, targetPort: "https", protocol: "TCP" },
  ]);
  assert.is(s.spec.externalTrafficPolicy, undefined, "only externally reachable services get one");
  const lb = defaulted({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s" },
    spec: { type: "LoadBalancer", ports: [{ port: 80 }] },
  });
  assert.is(lb.spec.externalTrafficPolicy, "Cluster");
  assert.is(lb.spec.allocateLoadBalancerNodePorts, true);
  const sticky = defaulted({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "s" },
    spec: { sessionAffinity: "ClientIP", ports: [{ port: 80 }] },
  });
  assert.equal(sticky.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
});

test("a deployment gets 1 replica, RollingUpdate 25%/25%, 10 revisions, 600s progress deadline, template defaults", () => {
  const d = defaulted({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d" },
    spec: {
      selector: { matchLabels: { app: "d" } },
      template: { metadata: { labels: { app: "d" } }, spec: { containers: [container()] } },
    },
  });
  assert.is(d.spec.replicas, 1);
  assert.equal(d.spec.strategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" },
  });
  assert.is(d.spec.revisionHistoryLimit, 10);
  assert.is(d.spec.progressDeadlineSeconds, 600);
  assert.is(d.spec.template.spec.restartPolicy, "Always");
  assert.is(d.spec.template.spec.containers[0].imagePullPolicy, "IfNotPresent");
  assert.is(
    d.spec.template.spec.enableServiceLinks,
    undefined,
    "service links are a pod default, not a template one",
  );
  const recreate = defaulted({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d" },
    spec: { strategy: { type: "Recreate" } },
  });
  assert.equal(recreate.spec.strategy, { type: "Recreate" });
});

test("replicasets, daemonsets and statefulsets get their defaults", () => {
  const rs = defaulted({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: { name: "r" },
    spec: { template: { spec: { containers: [container()] } } },
  });
  assert.is(rs.spec.replicas, 1);
  const ds = defaulted({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "d" },
    spec: { template: { spec: { containers: [container()] } } },
  });
  assert.equal(ds.spec.updateStrategy, {
    type: "RollingUpdate",
    rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
  });
  assert.is(ds.spec.revisionHistoryLimit, 10);
  const sts = defaulted({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "s" },
    spec: {
      template: { spec: { containers: [container()] } },
      volumeClaimTemplates: [{ metadata: { name: "data" }, spec: {} }],
    },
  });
  assert.is(sts.spec.replicas, 1);
  assert.is(sts.spec.podManagementPolicy, "OrderedReady");
  assert.equal(sts.spec.updateStrategy, { type: "RollingUpdate", rollingUpdate: { partition: 0 } });
  assert.is(sts.spec.revisionHistoryLimit, 10);
  assert.equal(sts.spec.persistentVolumeClaimRetentionPolicy, {
    whenDeleted: "Retain",
    whenScaled: "Retain",
  });
  assert.is(sts.spec.volumeClaimTemplates[0].spec.volumeMode, "Filesystem");
});

test("a job gets completions and parallelism 1, backoffLimit 6, NonIndexed, not suspended, and a generated selector", () => {
  const j = defaulted({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", uid: "u-1" },
    spec: { template: { spec: { restartPolicy: "Never", containers: [container()] } } },
  });
  assert.is(j.spec.completions, 1);
  assert.is(j.spec.parallelism, 1);
  assert.is(j.spec.backoffLimit, 6);
  assert.is(j.spec.completionMode, "NonIndexed");
  assert.is(j.spec.suspend, false);
  assert.is(j.spec.podReplacementPolicy, "TerminatingOrFailed");
  assert.equal(j.spec.selector, { matchLabels: { "batch.kubernetes.io/controller-uid": "u-1" } });
  assert.equal(j.spec.template.metadata.labels, {
    "batch.kubernetes.io/controller-uid": "u-1",
    "batch.kubernetes.io/job-name": "pi",
    "controller-uid": "u-1",
    "job-name": "pi",
  });
  assert.equal(j.metadata.labels, j.spec.template.metadata.labels, "the job takes its template's labels");
  const parallel = defaulted({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "p" },
    spec: { completions: 5, template: { spec: { containers: [container()] } } },
  });
  assert.is(parallel.spec.parallelism, 1);
  assert.is(parallel.spec.completions, 5);
  assert.is(parallel.spec.selector, undefined, "no uid yet, no selector");
});

test("a cronjob gets concurrencyPolicy Allow, not suspended, history limits 3 and 1", () => {
  const cj = defaulted({
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "c" },
    spec: {
      schedule: "* * * * *",
      jobTemplate: {
        spec: { template: { spec: { restartPolicy: "OnFailure", containers: [container()] } } },
      },
    },
  });
  assert.is(cj.spec.concurrencyPolicy, "Allow");
  assert.is(cj.spec.suspend, false);
  assert.is(cj.spec.successfulJobsHistoryLimit, 3);
  assert.is(cj.spec.failedJobsHistoryLimit, 1);
  assert.is(cj.spec.jobTemplate.spec.template.spec.dnsPolicy, "ClusterFirst");
});

test("a secret is Opaque and its stringData is folded into base64 data", () => {
  const s = defaulted({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s" },
    data: { a: "eA==", b: "eQ==" },
    stringData: { b: "héllo", c: "z" },
  });
  assert.is(s.type, "Opaque");
  assert.equal(s.data, { a: "eA==", b: Buffer.from("héllo").toString("base64"), c: "eg==" });
  assert.is(s.stringData, undefined);
});

test("a namespace gets the kubernetes finalizer, its name label and phase Active", () => {
  const ns = defaulted({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } });
  assert.equal(ns.spec, { finalizers: ["kubernetes"] });
  assert.is(ns.metadata.labels["kubernetes.io/metadata.name"], "team-a");
  assert.is(ns.status.phase, "Active");
});

test("a claim is a Filesystem volume, Pending until bound", () => {
  const pvc = defaulted({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "d" },
    spec: { accessModes: ["ReadWriteOnce"] },
  });
  assert.is(pvc.spec.volumeMode, "Filesystem");
  assert.is(pvc.status.phase, "Pending");
});

test("an HPA gets minReplicas 1 and an 80% CPU target", () => {
  const hpa = defaulted({
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name: "h" },
    spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 5 },
  });
  assert.is(hpa.spec.minReplicas, 1);
  assert.equal(hpa.spec.metrics, [
    { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } },
  ]);
});

test("null fields are dropped as the decoder drops them", () => {
  const p = defaulted({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", creationTimestamp: null },
    spec: { containers: [container({ args: null })] },
  });
  assert.not.ok("creationTimestamp" in p.metadata);
  assert.not.ok("args" in p.spec.containers[0]);
});

test("defaulting is idempotent", () => {
  const d = defaulted({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "d" },
    spec: { template: { spec: { containers: [container({ livenessProbe: { httpGet: { port: 80 } } })] } } },
  });
  const once = structuredClone(d);
  defaulted(d);
  assert.equal(d, once);
});

test("every served kind can be defaulted from an empty object without throwing", async () => {
  const { RESOURCES, groupVersion } = await import("../../../internal/api/resources");
  for (const r of RESOURCES) {
    const o: Obj = { apiVersion: groupVersion(r), kind: r.kind, metadata: { name: "x" } };
    applyDefaults(r, o);
    assert.is(o.kind, r.kind);
  }
});

test.run();
