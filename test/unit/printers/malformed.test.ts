import { test } from "uvu";
import * as assert from "uvu/assert";
import { printerFor } from "../../../internal/api/printers";
import { RESOURCES } from "../../../internal/api/resources";

const NOW = Date.parse("2024-06-01T12:00:00Z");

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  "metadata",
  "spec",
  "status",
  "name",
  "labels",
  "containers",
  "initContainers",
  "containerStatuses",
  "initContainerStatuses",
  "state",
  "waiting",
  "terminated",
  "lastState",
  "conditions",
  "type",
  "status",
  "selector",
  "matchLabels",
  "matchExpressions",
  "ports",
  "subsets",
  "addresses",
  "endpoints",
  "replicas",
  "creationTimestamp",
  "deletionTimestamp",
  "involvedObject",
  "regarding",
  "series",
  "metrics",
  "hard",
  "used",
  "data",
  "ownerReferences",
  "loadBalancer",
  "ingress",
  "nodeInfo",
];

function junk(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * 9);
  if (depth > 4) return pick % 2 ? "x" : 3;
  switch (pick) {
    case 0:
      return null;
    case 1:
      return Math.floor(r() * 100) - 50;
    case 2:
      return ["", "Running", "2024-01-01T00:00:00Z", "True", "a=b"][Math.floor(r() * 5)];
    case 3:
      return r() < 0.5;
    case 4:
    case 5:
      return Array.from({ length: Math.floor(r() * 3) }, () => junk(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 5);
      for (let i = 0; i < n; i++) o[KEYS[Math.floor(r() * KEYS.length)]] = junk(r, depth + 1);
      return o;
    }
  }
}

test("no printer throws on malformed objects, and rows keep their width", () => {
  const r = rng(20240601);
  for (let i = 0; i < 300; i++) {
    const obj = junk(r, 0);
    for (const info of RESOURCES) {
      const printer = printerFor(info);
      let row: unknown[] = [];
      try {
        row = printer.row(obj, NOW);
      } catch (e) {
        assert.unreachable(`${info.plural} threw on ${JSON.stringify(obj)}: ${(e as Error).stack}`);
      }
      assert.is(row.length, printer.columns.length, info.plural);
    }
  }
});

/** An object with every path the printers read, so replacing one node reaches deep code. */
const FULL = {
  metadata: {
    name: "x",
    namespace: "default",
    creationTimestamp: "2024-06-01T11:00:00Z",
    deletionTimestamp: "2024-06-01T11:59:00Z",
    labels: { "node-role.kubernetes.io/control-plane": "" },
    annotations: { "storageclass.kubernetes.io/is-default-class": "true" },
    ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "db", controller: true }],
  },
  spec: {
    replicas: 2,
    completions: 1,
    parallelism: 2,
    schedule: "@hourly",
    type: "LoadBalancer",
    clusterIPs: ["10.43.0.1"],
    externalIPs: ["192.0.2.1"],
    ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }],
    selector: {
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "a", operator: "In", values: ["b"] }],
    },
    scaleTargetRef: { kind: "Deployment", name: "web" },
    metrics: [{ type: "Resource", resource: { name: "cpu", target: { averageUtilization: 50 } } }],
    readinessGates: [{ conditionType: "g" }],
    initContainers: [{ name: "i", restartPolicy: "Always" }],
    containers: [{ name: "c", image: "i" }],
    template: { spec: { containers: [{ name: "c", image: "i" }], nodeSelector: { a: "b" } } },
    jobTemplate: { spec: { template: { spec: { containers: [{ name: "c" }] } } } },
    capacity: { storage: "1Gi" },
    accessModes: ["ReadWriteOnce"],
    claimRef: { namespace: "n", name: "c" },
    volumeName: "pv",
    unschedulable: true,
  },
  status: {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
    podIPs: [{ ip: "10.0.0.1" }],
    initContainerStatuses: [
      {
        name: "i",
        started: true,
        ready: true,
        restartCount: 1,
        state: { running: {} },
        lastState: { terminated: { finishedAt: "2024-06-01T11:00:00Z" } },
      },
    ],
    containerStatuses: [
      {
        name: "c",
        ready: true,
        restartCount: 1,
        state: { terminated: { exitCode: 0, reason: "Completed" } },
      },
    ],
    loadBalancer: { ingress: [{ ip: "192.0.2.2" }] },
    addresses: [{ type: "InternalIP", address: "10.0.0.2" }],
    nodeInfo: { kubeletVersion: "v1.32.4" },
    hard: { cpu: "1", "limits.cpu": "2" },
    used: { cpu: "0" },
    currentMetrics: [{ type: "Resource", resource: { current: { averageUtilization: 10 } } }],
    active: [{ name: "j" }],
    startTime: "2024-06-01T11:00:00Z",
  },
  subsets: [{ addresses: [{ ip: "10.0.0.3" }], ports: [{ port: 80 }] }],
  endpoints: [{ addresses: ["10.0.0.4"] }],
  involvedObject: { kind: "Pod", name: "p" },
  regarding: { kind: "Pod", name: "p" },
  series: { count: 2, lastObservedTime: "2024-06-01T11:00:00Z" },
  source: { component: "kubelet" },
  data: { a: "b" },
};

function paths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== "object") return [prefix];
  const out: (string | number)[][] = [prefix];
  for (const [k, child] of Object.entries(v))
    out.push(...paths(child, [...prefix, Array.isArray(v) ? Number(k) : k]));
  return out;
}

function replaced(path: (string | number)[], value: unknown): unknown {
  const copy = structuredClone(FULL) as any;
  if (path.length === 0) return value;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k];
  cur[path[path.length - 1]] = value;
  return copy;
}

test("replacing any one field of a full object with junk never makes a printer throw", () => {
  const r = rng(7);
  const all = paths(FULL);
  for (const path of all) {
    for (let i = 0; i < 6; i++) {
      const obj = replaced(path, junk(r, 3));
      for (const info of RESOURCES) {
        const printer = printerFor(info);
        let row: unknown[] = [];
        try {
          row = printer.row(obj, NOW);
        } catch (e) {
          assert.unreachable(`${info.plural} threw with ${path.join(".")} replaced: ${(e as Error).stack}`);
        }
        assert.is(row.length, printer.columns.length, info.plural);
      }
    }
  }
});

test.run();
