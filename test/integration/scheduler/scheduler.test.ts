// The scheduler inside a real `tsk server`, against Node objects created through the
// API (no agents): pods land where their selectors, requests and tolerations allow, a
// pod that fits nowhere says why (condition, event, kubectl describe) and is placed
// once a fitting node joins, cordoned nodes get nothing new, and replicas spread.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startServer, type TestServer } from "../../support/cluster";

let s: TestServer;

interface NodeSpec {
  cpu: string;
  memory: string;
  labels?: Record<string, string>;
  taints?: Array<{ key: string; value?: string; effect: string }>;
}

async function createNode(name: string, n: NodeSpec): Promise<void> {
  const allocatable = { cpu: n.cpu, memory: n.memory, pods: "110" };
  const res = await s.api("POST", "/api/v1/nodes", {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...(n.labels ?? {}) } },
    spec: { taints: n.taints },
  });
  assert.is(res.status, 201, res.text);
  const st = await s.api(
    "PATCH",
    `/api/v1/nodes/${name}/status`,
    {
      status: {
        capacity: allocatable,
        allocatable,
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "KubeletReady",
            message: "kubelet is posting ready status",
            lastHeartbeatTime: `${new Date().toISOString().slice(0, 19)}Z`,
            lastTransitionTime: `${new Date().toISOString().slice(0, 19)}Z`,
          },
        ],
      },
    },
    { headers: { "Content-Type": "application/merge-patch+json" } },
  );
  assert.is(st.status, 200, st.text);
}

function podBody(
  name: string,
  o: {
    cpu?: string;
    memory?: string;
    nodeSelector?: Record<string, string>;
    tolerations?: any[];
    owner?: { kind: string; name: string; uid: string; apiVersion: string };
  } = {},
): any {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      labels: { test: "scheduler" },
      ownerReferences: o.owner ? [{ ...o.owner, controller: true }] : undefined,
    },
    spec: {
      nodeSelector: o.nodeSelector,
      tolerations: o.tolerations,
      containers: [{ name: "c", image: "registry.local/pause:1", resources: { requests } }],
    },
  };
}

async function createPod(body: any): Promise<void> {
  const res = await s.api("POST", "/api/v1/namespaces/default/pods", body);
  assert.is(res.status, 201, res.text);
}

async function getPod(name: string): Promise<any> {
  return (await s.api("GET", `/api/v1/namespaces/default/pods/${name}`)).json;
}

async function waitFor<T>(what: string, f: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await f();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}\n${s.logs().slice(-3000)}`);
}

async function boundNode(name: string): Promise<string> {
  return waitFor(
    `${name} to be bound`,
    async () => (await getPod(name)).spec?.nodeName as string | undefined,
  );
}

async function deleteTestPods(): Promise<void> {
  const list = (await s.api("GET", "/api/v1/namespaces/default/pods?labelSelector=test%3Dscheduler")).json;
  for (const p of list.items)
    await s.api("DELETE", `/api/v1/namespaces/default/pods/${p.metadata.name}?gracePeriodSeconds=0`);
  await waitFor("test pods to go", async () => {
    const l = (await s.api("GET", "/api/v1/namespaces/default/pods?labelSelector=test%3Dscheduler")).json;
    return l.items.length === 0 ? true : undefined;
  });
}

test.before(async () => {
  s = await startServer();
  await createNode("node-1", { cpu: "2", memory: "4Gi", labels: { disk: "ssd" } });
  await createNode("node-2", { cpu: "2", memory: "4Gi" });
  await createNode("node-3", {
    cpu: "8",
    memory: "32Gi",
    taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }],
  });
});

test.after(async () => {
  await s?.stop();
});

test.after.each(async () => {
  await deleteTestPods();
});

test("a pod with a nodeSelector lands on the labelled node and is marked scheduled", async () => {
  await createPod(podBody("ssd-1", { nodeSelector: { disk: "ssd" } }));
  assert.is(await boundNode("ssd-1"), "node-1");
  const pod = await getPod("ssd-1");
  const cond = pod.status.conditions.find((c: any) => c.type === "PodScheduled");
  assert.is(cond.status, "True");
  const events = await waitFor("the Scheduled event", async () => {
    const l = (
      await s.api("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dssd-1")
    ).json;
    return l.items.find((e: any) => e.reason === "Scheduled");
  });
  assert.is(events.message, "Successfully assigned default/ssd-1 to node-1");
  assert.is(events.source.component, "default-scheduler");
  assert.is(events.type, "Normal");
});

test("pods without the toleration stay off the tainted node; a tolerating large pod goes there", async () => {
  for (let i = 0; i < 6; i++) await createPod(podBody(`small-${i}`, { cpu: "100m" }));
  await createPod(
    podBody("gpu-job", {
      memory: "16Gi",
      tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
    }),
  );
  for (let i = 0; i < 6; i++) assert.is.not(await boundNode(`small-${i}`), "node-3");
  assert.is(await boundNode("gpu-job"), "node-3");
});

test("requests fill a node: a pod that no longer fits goes to the other one", async () => {
  await createPod(podBody("big-a", { cpu: "1500m", nodeSelector: { "kubernetes.io/hostname": "node-1" } }));
  assert.is(await boundNode("big-a"), "node-1");
  await createPod(podBody("big-b", { cpu: "1500m" }));
  assert.is(await boundNode("big-b"), "node-2");
});

test("a pod that fits nowhere says why, then is placed when a fitting node joins", async () => {
  await createPod(podBody("huge", { memory: "20Gi" }));
  const want =
    "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient memory. " +
    "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..";
  const cond = await waitFor("PodScheduled=False", async () =>
    ((await getPod("huge")).status?.conditions ?? []).find(
      (c: any) => c.type === "PodScheduled" && c.status === "False",
    ),
  );
  assert.is(cond.reason, "Unschedulable");
  assert.is(cond.message, want);
  const ev = await waitFor("the FailedScheduling event", async () => {
    const l = (
      await s.api("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dhuge")
    ).json;
    return l.items.find((e: any) => e.reason === "FailedScheduling");
  });
  assert.is(ev.type, "Warning");
  assert.is(ev.message, want);
  assert.is(ev.involvedObject.kind, "Pod");
  const described = s.kubectl(["describe", "pod", "huge"]);
  assert.is(described.code, 0, described.stderr);
  assert.match(
    described.stdout,
    /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available/,
  );
  assert.ok(described.stdout.includes("2 Insufficient memory"), described.stdout);

  await createNode("node-4", { cpu: "4", memory: "64Gi" });
  try {
    assert.is(await boundNode("huge"), "node-4");
  } finally {
    await deleteTestPods();
    await s.api("DELETE", "/api/v1/nodes/node-4");
  }
});

test("kubectl cordon keeps new pods off the node; uncordon lets them back", async () => {
  const c = s.kubectl(["cordon", "node-2"]);
  assert.is(c.code, 0, c.stderr);
  try {
    // The scheduler sees the cordon through its watch; give it a moment.
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 5; i++) await createPod(podBody(`cordoned-${i}`, { cpu: "100m" }));
    for (let i = 0; i < 5; i++) assert.is(await boundNode(`cordoned-${i}`), "node-1");
  } finally {
    assert.is(s.kubectl(["uncordon", "node-2"]).code, 0);
  }
  await new Promise((r) => setTimeout(r, 200));
  await createPod(podBody("after-uncordon", { cpu: "1500m" }));
  assert.is(await boundNode("after-uncordon"), "node-2");
});

test("replicas of one owner spread evenly across the nodes that can take them", async () => {
  const cm = await s.api("POST", "/api/v1/namespaces/default/configmaps", {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "spread-owner" },
  });
  assert.is(cm.status, 201, cm.text);
  const owner = { apiVersion: "v1", kind: "ConfigMap", name: "spread-owner", uid: cm.json.metadata.uid };
  for (let i = 0; i < 6; i++) await createPod(podBody(`web-${i}`, { cpu: "100m", owner }));
  const counts: Record<string, number> = {};
  for (let i = 0; i < 6; i++) {
    const n = await boundNode(`web-${i}`);
    counts[n] = (counts[n] ?? 0) + 1;
  }
  assert.equal(counts, { "node-1": 3, "node-2": 3 });
  await s.api("DELETE", "/api/v1/namespaces/default/configmaps/spread-owner");
});

test.run();
