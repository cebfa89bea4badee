// The Node this kubelet runs: registration, status (capacity, conditions, addresses,
// nodeInfo) and the heartbeat Lease in kube-node-lease. Once the kubelet runs it is
// the only writer of its Node's status.
import { readFileSync, statfsSync } from "node:fs";
import { availableParallelism, freemem, hostname, networkInterfaces, release, totalmem } from "node:os";
import { RESOURCES } from "../api/resources";
import { type Client, isReason, type KObject } from "../client";
import type { ImageStore } from "../images";
import { GIT_VERSION, TSK_VERSION } from "../version";
import type { KubeletConfig } from "./config";

export const NODES = RESOURCES.find((r) => r.group === "" && r.plural === "nodes")!;
const LEASES = RESOURCES.find((r) => r.group === "coordination.k8s.io" && r.plural === "leases")!;

function read(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

export function goArch(): string {
  const m: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ia32: "386",
    ppc64: "ppc64le",
  };
  return m[process.arch] ?? process.arch;
}

/** The address other nodes reach this one at: --node-ip, else the first non-loopback IPv4. */
export function nodeAddress(config: KubeletConfig): string | undefined {
  if (config.nodeIP) return config.nodeIP;
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && a.family === "IPv4") return a.address;
  return undefined;
}

export function machineCapacity(dataDir: string): Record<string, string> {
  const cap: Record<string, string> = {
    cpu: String(availableParallelism()),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: "110",
  };
  try {
    const fs = statfsSync(dataDir);
    cap["ephemeral-storage"] = `${Math.floor((fs.blocks * fs.bsize) / 1024)}Ki`;
  } catch {}
  return cap;
}

export function nodeLabels(config: KubeletConfig): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": goArch(),
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": goArch(),
    "kubernetes.io/hostname": config.nodeName,
    "kubernetes.io/os": "linux",
    // k3s labels its server nodes with both roles
    ...(config.isControlPlane
      ? { "node-role.kubernetes.io/control-plane": "true", "node-role.kubernetes.io/master": "true" }
      : {}),
    ...config.labels,
  };
}

/** Pressure signals, measured from the machine (thresholds as the kubelet's hard eviction defaults). */
export function pressures(dataDir: string): { memory: boolean; disk: boolean; pid: boolean } {
  let disk = false;
  try {
    const fs = statfsSync(dataDir);
    disk = fs.bavail / fs.blocks < 0.1;
  } catch {}
  let pid = false;
  const max = Number(read("/proc/sys/kernel/pid_max")) || 0;
  const nr = Number(read("/proc/loadavg").split(" ")[3]?.split("/")[1]) || 0;
  if (max > 0) pid = nr / max > 0.95;
  const avail = /MemAvailable:\s+(\d+) kB/.exec(read("/proc/meminfo"));
  const memory = (avail ? Number(avail[1]) * 1024 : freemem()) < 100 * 1024 * 1024;
  return { memory, disk, pid };
}

export function nodeStatus(config: KubeletConfig, previous: KObject | undefined, ready: boolean): KObject {
  const t = `${new Date().toISOString().slice(0, 19)}Z`;
  const prev: KObject[] = previous?.status?.conditions ?? [];
  const cond = (type: string, on: boolean, yes: [string, string], no: [string, string]) => {
    const status = on ? "True" : "False";
    const old = prev.find((c) => c.type === type);
    const [reason, message] = on ? yes : no;
    return {
      type,
      status,
      lastHeartbeatTime: t,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : t,
      reason,
      message,
    };
  };
  const p = pressures(config.dataDir);
  const ip = nodeAddress(config);
  const cap = machineCapacity(config.dataDir);
  return {
    capacity: cap,
    allocatable: cap,
    conditions: [
      cond(
        "MemoryPressure",
        p.memory,
        ["KubeletHasInsufficientMemory", "kubelet has insufficient memory available"],
        ["KubeletHasSufficientMemory", "kubelet has sufficient memory available"],
      ),
      cond(
        "DiskPressure",
        p.disk,
        ["KubeletHasDiskPressure", "kubelet has disk pressure"],
        ["KubeletHasNoDiskPressure", "kubelet has no disk pressure"],
      ),
      cond(
        "PIDPressure",
        p.pid,
        ["KubeletHasInsufficientPID", "kubelet has insufficient PID available"],
        ["KubeletHasSufficientPID", "kubelet has sufficient PID available"],
      ),
      cond(
        "Ready",
        ready,
        ["KubeletReady", "kubelet is posting ready status"],
        ["KubeletNotReady", "container runtime is not ready"],
      ),
    ],
    addresses: [
      ...(ip ? [{ type: "InternalIP", address: ip }] : []),
      { type: "Hostname", address: hostname() },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: read("/etc/machine-id"),
      systemUUID: read("/sys/class/dmi/id/product_uuid"),
      bootID: read("/proc/sys/kernel/random/boot_id"),
      kernelVersion: release(),
      osImage: /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(read("/etc/os-release"))?.[1] ?? "Linux",
      containerRuntimeVersion: `tsk://${TSK_VERSION.replace(/^v/, "")}`,
      kubeletVersion: GIT_VERSION,
      kubeProxyVersion: GIT_VERSION,
      operatingSystem: "linux",
      architecture: goArch(),
    },
  };
}

/** Creates the Node when absent (with labels and taints), else merges our labels in. */
export async function registerNode(client: Client, config: KubeletConfig): Promise<KObject> {
  const labels = nodeLabels(config);
  try {
    return await client.create(NODES, undefined, {
      apiVersion: "v1",
      kind: "Node",
      metadata: {
        name: config.nodeName,
        labels,
        annotations: { "node.alpha.kubernetes.io/ttl": "0" },
      },
      spec: config.taints.length ? { taints: config.taints } : {},
    });
  } catch (err) {
    if (!isReason(err, "AlreadyExists")) throw err;
    return client.patch(NODES, undefined, config.nodeName, "merge", { metadata: { labels } });
  }
}

/**
 * status.images as the kubelet reports them (the scheduler's ImageLocality reads them):
 * the 50 largest, each with its repo digest and tags.
 */
export async function nodeImages(images: ImageStore): Promise<KObject[]> {
  const list = await images.list();
  return list
    .sort((a, b) => b.size - a.size)
    .slice(0, 50)
    .map((i) => {
      const repos = [...new Set(i.names.map((n) => n.replace(/[:@][^/]*$/, "")))];
      return { names: [...repos.map((r) => `${r}@${i.manifestDigest}`), ...i.names], sizeBytes: i.size };
    });
}

/** Writes the Node's status (registering the Node again if it was deleted). */
export async function reportNodeStatus(
  client: Client,
  config: KubeletConfig,
  images?: ImageStore,
): Promise<KObject> {
  let cur: KObject;
  try {
    cur = await client.get(NODES, undefined, config.nodeName);
  } catch (err) {
    if (!isReason(err, "NotFound")) throw err;
    cur = await registerNode(client, config);
  }
  const status = nodeStatus(config, cur, true);
  if (images) status.images = await nodeImages(images).catch(() => cur.status?.images ?? []);
  return client.patch(NODES, undefined, config.nodeName, "merge", { status }, "status");
}

/** Renews (creating on first use) the node's Lease. */
export async function renewLease(client: Client, config: KubeletConfig, nodeUid?: string): Promise<void> {
  const spec = {
    holderIdentity: config.nodeName,
    leaseDurationSeconds: 40,
    renewTime: new Date().toISOString().replace(/Z$/, "000Z"),
  };
  try {
    await client.patch(LEASES, "kube-node-lease", config.nodeName, "merge", { spec });
  } catch (err) {
    if (!isReason(err, "NotFound")) throw err;
    await client.create(LEASES, "kube-node-lease", {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: config.nodeName,
        namespace: "kube-node-lease",
        ...(nodeUid
          ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name: config.nodeName, uid: nodeUid }] }
          : {}),
      },
      spec,
    });
  }
}
