import { test } from "uvu";
import * as assert from "uvu/assert";
import { printerFor } from "../../../internal/api/printers";
import { findResource } from "../../../internal/api/resources";

const NOW = Date.parse("2024-06-01T12:00:00Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const S = 1000;
const M = 60 * S;
const H = 60 * M;

const p = (group: string, version: string, plural: string) =>
  printerFor(findResource(group, version, plural)!);
const names = (group: string, version: string, plural: string) =>
  p(group, version, plural).columns.map((c) => (c.priority > 0 ? `${c.name}*` : c.name));

const meta = { name: "web", namespace: "default", creationTimestamp: ago(3 * H) };
const template = {
  metadata: { labels: { app: "web" } },
  spec: {
    containers: [
      { name: "nginx", image: "nginx:1.27" },
      { name: "log", image: "busybox" },
    ],
  },
};

test("deployments: Ready x/y, Up-to-date, Available, Age; wide Containers, Images, Selector", () => {
  assert.equal(names("apps", "v1", "deployments"), [
    "Name",
    "Ready",
    "Up-to-date",
    "Available",
    "Age",
    "Containers*",
    "Images*",
    "Selector*",
  ]);
  const d = {
    metadata: meta,
    spec: {
      replicas: 3,
      selector: {
        matchLabels: { app: "web" },
        matchExpressions: [{ key: "tier", operator: "In", values: ["front", "api"] }],
      },
      template,
    },
    status: { replicas: 3, readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  };
  assert.equal(p("apps", "v1", "deployments").row(d, NOW), [
    "web",
    "2/3",
    3,
    2,
    "3h",
    "nginx,log",
    "nginx:1.27,busybox",
    "app=web,tier in (api,front)",
  ]);
});

test("a new deployment with no status reads 0/N and zeros", () => {
  const d = { metadata: meta, spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template } };
  assert.equal(p("apps", "v1", "deployments").row(d, NOW).slice(0, 4), ["web", "0/2", 0, 0]);
});

test("replicasets: Desired, Current, Ready as integers", () => {
  assert.equal(names("apps", "v1", "replicasets"), [
    "Name",
    "Desired",
    "Current",
    "Ready",
    "Age",
    "Containers*",
    "Images*",
    "Selector*",
  ]);
  const rs = {
    metadata: { ...meta, name: "web-7d4b9c" },
    spec: { replicas: 3, selector: { matchLabels: { app: "web", "pod-template-hash": "7d4b9c" } }, template },
    status: { replicas: 3, readyReplicas: 1 },
  };
  assert.equal(p("apps", "v1", "replicasets").row(rs, NOW), [
    "web-7d4b9c",
    3,
    3,
    1,
    "3h",
    "nginx,log",
    "nginx:1.27,busybox",
    "app=web,pod-template-hash=7d4b9c",
  ]);
  assert.equal(p("apps", "v1", "replicasets").columns[1].type, "integer");
});

test("daemonsets: counts, node selector, and <none> without one", () => {
  const ds = {
    metadata: { ...meta, name: "agent" },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: {
        spec: {
          nodeSelector: { "kubernetes.io/os": "linux" },
          containers: [{ name: "a", image: "agent:1" }],
        },
      },
    },
    status: {
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberReady: 2,
      updatedNumberScheduled: 3,
      numberAvailable: 2,
    },
  };
  assert.equal(p("apps", "v1", "daemonsets").row(ds, NOW), [
    "agent",
    3,
    3,
    2,
    3,
    2,
    "kubernetes.io/os=linux",
    "3h",
    "a",
    "agent:1",
    "app=agent",
  ]);
  const bare = { metadata: meta, spec: { template: { spec: { containers: [] } } } };
  assert.equal(p("apps", "v1", "daemonsets").row(bare, NOW).slice(6, 7), ["<none>"]);
  assert.equal(p("apps", "v1", "daemonsets").row(bare, NOW).at(-1), "<none>");
});

test("statefulsets: Ready x/y", () => {
  assert.equal(names("apps", "v1", "statefulsets"), ["Name", "Ready", "Age", "Containers*", "Images*"]);
  const sts = {
    metadata: { ...meta, name: "db" },
    spec: { replicas: 3, template },
    status: { readyReplicas: 1 },
  };
  assert.equal(p("apps", "v1", "statefulsets").row(sts, NOW), [
    "db",
    "1/3",
    "3h",
    "nginx,log",
    "nginx:1.27,busybox",
  ]);
});

test("jobs: Status, Completions, Duration, Age", () => {
  assert.equal(names("batch", "v1", "jobs"), [
    "Name",
    "Status",
    "Completions",
    "Duration",
    "Age",
    "Containers*",
    "Images*",
    "Selector*",
  ]);
  const job = (spec: any, status: any, extra: any = {}) => ({
    metadata: { ...meta, name: "pi", ...extra },
    spec: {
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "abc" } },
      template: { spec: { containers: [{ name: "pi", image: "perl" }] } },
      ...spec,
    },
    status,
  });
  const printer = p("batch", "v1", "jobs");
  const complete = job(
    { completions: 1 },
    {
      succeeded: 1,
      startTime: ago(2 * H),
      completionTime: ago(2 * H - 42 * S),
      conditions: [{ type: "Complete", status: "True" }],
    },
  );
  assert.equal(printer.row(complete, NOW), [
    "pi",
    "Complete",
    "1/1",
    "42s",
    "3h",
    "pi",
    "perl",
    "batch.kubernetes.io/controller-uid=abc",
  ]);
  const runningJob = job(
    { completions: 5, parallelism: 2 },
    { succeeded: 2, active: 2, startTime: ago(5 * M + 30 * S) },
  );
  assert.equal(printer.row(runningJob, NOW).slice(1, 4), ["Running", "2/5", "5m30s"]);
  assert.equal(printer.row(job({ parallelism: 3 }, {}), NOW).slice(1, 4), ["Running", "0/1 of 3", ""]);
  assert.equal(printer.row(job({}, {}), NOW).slice(2, 3), ["0/1"]);
  const failed = job({ completions: 1 }, { conditions: [{ type: "Failed", status: "True" }] });
  assert.equal(printer.row(failed, NOW)[1], "Failed");
  const suspended = job({ suspend: true }, { conditions: [{ type: "Suspended", status: "True" }] });
  assert.equal(printer.row(suspended, NOW)[1], "Suspended");
  const failing = job({}, { conditions: [{ type: "FailureTarget", status: "True" }] });
  assert.equal(printer.row(failing, NOW)[1], "FailureTarget");
  const deleting = job(
    {},
    { conditions: [{ type: "Suspended", status: "True" }] },
    { deletionTimestamp: ago(S) },
  );
  assert.equal(printer.row(deleting, NOW)[1], "Terminating");
  const wasSuspended = job({}, { conditions: [{ type: "Suspended", status: "False" }] });
  assert.equal(printer.row(wasSuspended, NOW)[1], "Running");
});

test("cronjobs: schedule, timezone, suspend, active, last schedule", () => {
  assert.equal(names("batch", "v1", "cronjobs"), [
    "Name",
    "Schedule",
    "Timezone",
    "Suspend",
    "Active",
    "Last Schedule",
    "Age",
    "Containers*",
    "Images*",
    "Selector*",
  ]);
  const cj = {
    metadata: { ...meta, name: "hello" },
    spec: {
      schedule: "*/5 * * * *",
      suspend: false,
      jobTemplate: { spec: { template: { spec: { containers: [{ name: "hello", image: "busybox" }] } } } },
    },
    status: { active: [{ name: "hello-1" }], lastScheduleTime: ago(4 * M) },
  };
  assert.equal(p("batch", "v1", "cronjobs").row(cj, NOW), [
    "hello",
    "*/5 * * * *",
    "<none>",
    "False",
    1,
    "4m",
    "3h",
    "hello",
    "busybox",
    "<none>",
  ]);
  const fresh = { metadata: meta, spec: { schedule: "@hourly", timeZone: "Etc/UTC" } };
  assert.equal(p("batch", "v1", "cronjobs").row(fresh, NOW).slice(1, 6), [
    "@hourly",
    "Etc/UTC",
    "<unset>",
    0,
    "<none>",
  ]);
});

test("controllerrevisions name their controller as kind.group/name", () => {
  const cr = {
    metadata: {
      ...meta,
      name: "db-5f8d",
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: "u", controller: true },
      ],
    },
    revision: 2,
  };
  assert.equal(p("apps", "v1", "controllerrevisions").row(cr, NOW), [
    "db-5f8d",
    "statefulset.apps/db",
    2,
    "3h",
  ]);
  assert.equal(p("apps", "v1", "controllerrevisions").row({ metadata: meta, revision: 1 }, NOW)[1], "<none>");
});

test("horizontalpodautoscalers: reference, targets, min/max, replicas", () => {
  const hpa = {
    metadata: meta,
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 1,
      maxReplicas: 10,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
        },
        {
          type: "Resource",
          resource: { name: "memory", target: { type: "AverageValue", averageValue: "500Mi" } },
        },
        {
          type: "Pods",
          pods: { metric: { name: "qps" }, target: { type: "AverageValue", averageValue: "10" } },
        },
      ],
    },
    status: {
      currentReplicas: 2,
      currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 40 } } }],
    },
  };
  assert.equal(p("autoscaling", "v2", "horizontalpodautoscalers").row(hpa, NOW), [
    "web",
    "Deployment/web",
    "cpu: 40%/80%, memory: <unknown>/500Mi + 1 more...",
    "1",
    10,
    2,
    "3h",
  ]);
  const bare = {
    metadata: meta,
    spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, maxReplicas: 3 },
  };
  assert.equal(p("autoscaling", "v2", "horizontalpodautoscalers").row(bare, NOW).slice(2, 6), [
    "<none>",
    "<unset>",
    3,
    0,
  ]);
});

test.run();
