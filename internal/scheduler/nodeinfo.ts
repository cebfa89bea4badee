// What the scheduler knows about one node: the Node object and the pods placed on it
// (bound or assumed), with their summed requests, host ports and owners kept up to date
// incrementally so a scheduling decision never walks every pod of the cluster.
import { parseQuantity } from "../api/validation/quantity";
import type { KObject } from "../client/types";
import { normalizeName } from "../images/reference";

/** Requests in integer units: millicores, bytes, a count for the rest. */
export interface Resources {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended resources (nvidia.com/gpu, hugepages-2Mi, ...). */
  scalar: Record<string, number>;
}

/** What a pod asks for, computed once per pod. */
export interface PodFacts {
  key: string;
  uid: string;
  request: Resources;
  /** Requests with the scoring defaults for containers that request nothing (100m CPU, 200Mi). */
  nonZero: { milliCPU: number; memory: number };
  /** "TCP/0.0.0.0/8080" for each container hostPort. */
  hostPorts: HostPort[];
  /** uid of the controller ownerReference, if any. */
  owner?: string;
  /** Normalized image names of all containers (init containers too). */
  images: string[];
}

export interface HostPort {
  protocol: string;
  hostIP: string;
  port: number;
}

export const DEFAULT_MILLI_CPU = 100;
export const DEFAULT_MEMORY = 200 * 1024 * 1024;

export function emptyResources(): Resources {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: {} };
}

function addList(into: Resources, list: Record<string, unknown> | undefined): void {
  for (const [name, q] of Object.entries(list ?? {})) {
    const v = parseQuantity(q);
    if (v === undefined) continue;
    if (name === "cpu") into.milliCPU += Math.ceil(Math.round(v * 1e6) / 1e3);
    else if (name === "memory") into.memory += Math.ceil(v);
    else if (name === "ephemeral-storage") into.ephemeralStorage += Math.ceil(v);
    else if (name !== "pods") into.scalar[name] = (into.scalar[name] ?? 0) + Math.ceil(v);
  }
}

function maxInto(into: Resources, r: Resources): void {
  into.milliCPU = Math.max(into.milliCPU, r.milliCPU);
  into.memory = Math.max(into.memory, r.memory);
  into.ephemeralStorage = Math.max(into.ephemeralStorage, r.ephemeralStorage);
  for (const [k, v] of Object.entries(r.scalar)) into.scalar[k] = Math.max(into.scalar[k] ?? 0, v);
}

function sumInto(into: Resources, r: Resources, sign = 1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  for (const [k, v] of Object.entries(r.scalar)) into.scalar[k] = (into.scalar[k] ?? 0) + sign * v;
}

/** Parses a resource list (allocatable, capacity) into integer units. */
export function resourcesOf(list: Record<string, unknown> | undefined): Resources {
  const r = emptyResources();
  addList(r, list);
  return r;
}

/**
 * A pod's effective request as the scheduler counts it: the larger of the sum of its
 * containers (plus restartable init containers, which keep running) and the largest
 * init container (plus the sidecars started before it), plus spec.overhead.
 */
export function podRequest(pod: KObject): Resources {
  const spec = pod.spec ?? {};
  const containers = emptyResources();
  for (const c of spec.containers ?? []) addList(containers, c.resources?.requests);
  const initMax = emptyResources();
  const sidecars = emptyResources();
  for (const c of spec.initContainers ?? []) {
    const r = resourcesOf(c.resources?.requests);
    if (c.restartPolicy === "Always") {
      sumInto(sidecars, r);
      maxInto(initMax, sidecars);
    } else {
      const withSidecars = emptyResources();
      sumInto(withSidecars, sidecars);
      sumInto(withSidecars, r);
      maxInto(initMax, withSidecars);
    }
  }
  sumInto(containers, sidecars);
  maxInto(containers, initMax);
  addList(containers, spec.overhead);
  return containers;
}

function nonZeroRequest(pod: KObject): { milliCPU: number; memory: number } {
  let milliCPU = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    const r = resourcesOf(c.resources?.requests);
    const req = c.resources?.requests ?? {};
    milliCPU += "cpu" in req ? r.milliCPU : DEFAULT_MILLI_CPU;
    memory += "memory" in req ? r.memory : DEFAULT_MEMORY;
  }
  const overhead = resourcesOf(pod.spec?.overhead);
  return { milliCPU: milliCPU + overhead.milliCPU, memory: memory + overhead.memory };
}

export function hostPortsOf(pod: KObject): HostPort[] {
  const out: HostPort[] = [];
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? [])
      if (p.hostPort > 0)
        out.push({ protocol: p.protocol || "TCP", hostIP: p.hostIP || "0.0.0.0", port: p.hostPort });
  return out;
}

export function podFacts(pod: KObject): PodFacts {
  const m = pod.metadata ?? {};
  const owner = (m.ownerReferences ?? []).find((o: { controller?: boolean }) => o.controller)?.uid;
  return {
    key: `${m.namespace}/${m.name}`,
    uid: m.uid ?? "",
    request: podRequest(pod),
    nonZero: nonZeroRequest(pod),
    hostPorts: hostPortsOf(pod),
    owner,
    images: [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]
      .map((c: { image?: string }) => imageKey(c.image ?? ""))
      .filter((x): x is string => !!x),
  };
}

/** "nginx" and "docker.io/library/nginx:latest" are one image; an unparsable name is nobody's. */
export function imageKey(name: string): string | undefined {
  try {
    return normalizeName(name);
  } catch {
    return undefined;
  }
}

export function portsConflict(a: HostPort, b: HostPort): boolean {
  return (
    a.port === b.port &&
    a.protocol === b.protocol &&
    (a.hostIP === b.hostIP || a.hostIP === "0.0.0.0" || b.hostIP === "0.0.0.0")
  );
}

/** A node with the accounting of the pods on it. Mutated only by the scheduler cache. */
export class NodeInfo {
  node: KObject;
  allocatable: Resources;
  allowedPods: number;
  /** Taints the scheduler enforces, including the not-ready/unreachable taint a 1.32 node gets. */
  taints: Taint[];
  readonly pods = new Map<string, PodFacts>();
  readonly requested = emptyResources();
  readonly nonZeroRequested = { milliCPU: 0, memory: 0 };
  readonly ports: HostPort[] = [];
  readonly owners = new Map<string, number>();
  /** Images the node reports (status.images), by normalized name, with their size. */
  images = new Map<string, number>();

  constructor(node: KObject) {
    this.node = node;
    this.allocatable = emptyResources();
    this.allowedPods = 0;
    this.taints = [];
    this.setNode(node);
  }

  get name(): string {
    return this.node.metadata?.name;
  }

  setNode(node: KObject): void {
    this.node = node;
    const status = node.status ?? {};
    this.allocatable = resourcesOf(status.allocatable ?? status.capacity);
    this.allowedPods = Math.floor(parseQuantity((status.allocatable ?? status.capacity)?.pods) ?? 0);
    this.taints = effectiveTaints(node);
    this.images = new Map();
    for (const img of status.images ?? [])
      for (const n of img.names ?? []) {
        const k = imageKey(n);
        if (k) this.images.set(k, img.sizeBytes ?? 0);
      }
  }

  addPod(p: PodFacts): void {
    if (this.pods.has(p.key)) this.removePod(p.key);
    this.pods.set(p.key, p);
    sumInto(this.requested, p.request);
    this.nonZeroRequested.milliCPU += p.nonZero.milliCPU;
    this.nonZeroRequested.memory += p.nonZero.memory;
    this.ports.push(...p.hostPorts);
    if (p.owner) this.owners.set(p.owner, (this.owners.get(p.owner) ?? 0) + 1);
  }

  removePod(key: string): void {
    const p = this.pods.get(key);
    if (!p) return;
    this.pods.delete(key);
    sumInto(this.requested, p.request, -1);
    this.nonZeroRequested.milliCPU -= p.nonZero.milliCPU;
    this.nonZeroRequested.memory -= p.nonZero.memory;
    for (const hp of p.hostPorts) {
      const i = this.ports.findIndex(
        (x) => x.port === hp.port && x.protocol === hp.protocol && x.hostIP === hp.hostIP,
      );
      if (i >= 0) this.ports.splice(i, 1);
    }
    if (p.owner) {
      const n = (this.owners.get(p.owner) ?? 1) - 1;
      if (n > 0) this.owners.set(p.owner, n);
      else this.owners.delete(p.owner);
    }
  }
}

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/**
 * The node's taints plus the one the node lifecycle controller of a 1.32 cluster puts
 * on a node whose Ready condition is not True (not-ready for False or missing,
 * unreachable for Unknown), so such a node refuses pods with the same message.
 */
export function effectiveTaints(node: KObject): Taint[] {
  const taints: Taint[] = [...(node.spec?.taints ?? [])];
  const ready = (node.status?.conditions ?? []).find((c: { type: string }) => c.type === "Ready");
  if (ready?.status === "True") return taints;
  const key = ready?.status === "Unknown" ? "node.kubernetes.io/unreachable" : "node.kubernetes.io/not-ready";
  if (!taints.some((t) => t.key === key && t.effect === "NoSchedule"))
    taints.push({ key, effect: "NoSchedule" });
  return taints;
}
