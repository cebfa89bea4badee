// Small builders for scheduler unit tests: nodes with allocatable, labels, taints and a
// Ready condition; pods with requests, selectors, tolerations and ports.
import type { KObject } from "../../../internal/client";
import { NodeInfo, podFacts } from "../../../internal/scheduler/nodeinfo";

export function node(
  name: string,
  opts: {
    cpu?: string;
    memory?: string;
    pods?: string;
    labels?: Record<string, string>;
    taints?: Array<{ key: string; value?: string; effect: string }>;
    ready?: "True" | "False" | "Unknown" | null;
    unschedulable?: boolean;
    extra?: Record<string, string>;
  } = {},
): KObject {
  const allocatable = {
    cpu: opts.cpu ?? "4",
    memory: opts.memory ?? "8Gi",
    pods: opts.pods ?? "110",
    ...(opts.extra ?? {}),
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, ...(opts.labels ?? {}) } },
    spec: { taints: opts.taints, unschedulable: opts.unschedulable },
    status: {
      capacity: allocatable,
      allocatable,
      conditions: opts.ready === null ? [] : [{ type: "Ready", status: opts.ready ?? "True" }],
    },
  };
}

export function pod(
  name: string,
  opts: {
    cpu?: string;
    memory?: string;
    nodeSelector?: Record<string, string>;
    tolerations?: any[];
    affinity?: any;
    hostPort?: number;
    owner?: string;
    nodeName?: string;
    initCpu?: string;
    overheadCpu?: string;
  } = {},
): KObject {
  const requests: Record<string, string> = {};
  if (opts.cpu) requests.cpu = opts.cpu;
  if (opts.memory) requests.memory = opts.memory;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: "default",
      uid: `uid-${name}`,
      ownerReferences: opts.owner
        ? [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: opts.owner, uid: opts.owner, controller: true }]
        : undefined,
    },
    spec: {
      nodeName: opts.nodeName,
      schedulerName: "default-scheduler",
      nodeSelector: opts.nodeSelector,
      tolerations: opts.tolerations,
      affinity: opts.affinity,
      overhead: opts.overheadCpu ? { cpu: opts.overheadCpu } : undefined,
      initContainers: opts.initCpu
        ? [{ name: "init", image: "busybox", resources: { requests: { cpu: opts.initCpu } } }]
        : undefined,
      containers: [
        {
          name: "c",
          image: "nginx",
          resources: { requests },
          ports: opts.hostPort ? [{ containerPort: 80, hostPort: opts.hostPort }] : undefined,
        },
      ],
    },
  };
}

/** A NodeInfo with the given pods already placed on it. */
export function info(n: KObject, ...pods: KObject[]): NodeInfo {
  const ni = new NodeInfo(n);
  for (const p of pods) ni.addPod(podFacts(p));
  return ni;
}
