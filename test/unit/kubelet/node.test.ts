// The Node the kubelet reports: labels by role, status from the machine, transition times.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { nodeLabels, nodeStatus } from "../../../internal/kubelet";
import { podLimits } from "../../../internal/kubelet/kubelet";

const dir = mkdtempSync(join(tmpdir(), "tsk-node-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));
const base = { nodeName: "n1", dataDir: dir, labels: {}, taints: [], isControlPlane: false };

test("well-known labels; control-plane role only on the server's node; user labels win", () => {
  const agent = nodeLabels(base);
  assert.is(agent["kubernetes.io/hostname"], "n1");
  assert.is(agent["kubernetes.io/os"], "linux");
  assert.ok(agent["kubernetes.io/arch"]);
  assert.is(agent["node-role.kubernetes.io/control-plane"], undefined);
  const server = nodeLabels({ ...base, isControlPlane: true, labels: { zone: "a" } });
  assert.is(server["node-role.kubernetes.io/control-plane"], "true");
  assert.is(server.zone, "a");
});

test("status: capacity from the machine, the given InternalIP, node info, four conditions", () => {
  const s = nodeStatus({ ...base, nodeIP: "10.0.0.7" }, undefined, true);
  assert.match(s.capacity.cpu, /^\d+$/);
  assert.match(s.capacity.memory, /^\d+Ki$/);
  assert.match(s.capacity["ephemeral-storage"], /^\d+Ki$/);
  assert.is(s.capacity.pods, "110");
  assert.equal(s.allocatable, s.capacity);
  assert.equal(s.addresses[0], { type: "InternalIP", address: "10.0.0.7" });
  assert.is(s.addresses[1].type, "Hostname");
  assert.is(s.nodeInfo.containerRuntimeVersion, "tsk://0.1.0");
  assert.is(s.nodeInfo.operatingSystem, "linux");
  assert.equal(
    s.conditions.map((c: any) => c.type),
    ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"],
  );
  assert.is(s.conditions[3].reason, "KubeletReady");
});

test("a condition keeps its transition time while its status holds", () => {
  const old = {
    status: {
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2020-01-01T00:00:00Z" }],
    },
  };
  const s = nodeStatus(base, old, true);
  const ready = s.conditions.find((c: any) => c.type === "Ready");
  assert.is(ready.lastTransitionTime, "2020-01-01T00:00:00Z");
  assert.is.not(ready.lastHeartbeatTime, "2020-01-01T00:00:00Z");
  const notReady = nodeStatus(base, old, false).conditions.find((c: any) => c.type === "Ready");
  assert.is(notReady.status, "False");
  assert.is.not(notReady.lastTransitionTime, "2020-01-01T00:00:00Z");
});

test("pod cgroup limits: only when every container has one; init containers count by their largest", () => {
  const lim = (cpu?: string, memory?: string) => ({
    resources: { limits: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } },
  });
  assert.equal(podLimits({ containers: [lim("500m", "64Mi"), lim("250m", "32Mi")] }), {
    cpuMillis: 750,
    memoryBytes: 96 * 1024 * 1024,
  });
  assert.equal(podLimits({ containers: [lim("500m", "64Mi"), lim(undefined, "32Mi")] }), {
    memoryBytes: 96 * 1024 * 1024,
  });
  assert.equal(podLimits({ initContainers: [lim("2", "1Gi")], containers: [lim("500m", "64Mi")] }), {
    cpuMillis: 2000,
    memoryBytes: 1024 * 1024 * 1024,
  });
  assert.equal(podLimits({ containers: [{}] }), {});
});

test.run();
