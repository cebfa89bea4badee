// The filters of the default profile, in its order. Each is a pure function of the pod,
// what was computed about it once, and one node's accounting; it returns the reasons the
// node is refused (upstream's strings, which users read in FailedScheduling events), or
// nothing when the node passes.
import type { KObject } from "../client/types";
import { type NodeInfo, type PodFacts, portsConflict, type Taint } from "./nodeinfo";

export interface FilterResult {
  plugin: string;
  reasons: string[];
  /** Upstream's UnschedulableAndUnresolvable: evicting pods (preemption) would not help. */
  unresolvable: boolean;
}

export type Filter = (pod: KObject, facts: PodFacts, node: NodeInfo) => FilterResult | undefined;

export const ERR_UNSCHEDULABLE = "node(s) were unschedulable";
export const ERR_NODE_NAME = "node(s) didn't match the requested node name";
export const ERR_NODE_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const ERR_NODE_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const ERR_TOO_MANY_PODS = "Too many pods";

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

/** v1.Toleration.ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  const op = t.operator || "Equal";
  if (op === "Exists") return true;
  if (op === "Equal") return !!t.key && (t.value ?? "") === (taint.value ?? "");
  return false;
}

function tolerationsOf(pod: KObject): Toleration[] {
  return pod.spec?.tolerations ?? [];
}

export const nodeUnschedulable: Filter = (pod, _f, node) => {
  if (!node.node.spec?.unschedulable) return undefined;
  const taint = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };
  if (tolerationsOf(pod).some((t) => tolerates(t, taint))) return undefined;
  return { plugin: "NodeUnschedulable", reasons: [ERR_UNSCHEDULABLE], unresolvable: true };
};

export const nodeName: Filter = (pod, _f, node) => {
  const want = pod.spec?.nodeName;
  if (!want || want === node.name) return undefined;
  return { plugin: "NodeName", reasons: [ERR_NODE_NAME], unresolvable: true };
};

export const taintToleration: Filter = (pod, _f, node) => {
  if (!node.taints.length) return undefined;
  const tolerations = tolerationsOf(pod);
  for (const taint of node.taints) {
    if (taint.effect !== "NoSchedule" && taint.effect !== "NoExecute") continue;
    if (tolerations.some((t) => tolerates(t, taint))) continue;
    return {
      plugin: "TaintToleration",
      reasons: [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`],
      unresolvable: true,
    };
  }
  return undefined;
};

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

function matchRequirement(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || values.length !== 1) return false;
      if (!/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0])) return false;
      const a = BigInt(value);
      const b = BigInt(values[0]);
      return r.operator === "Gt" ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** A term matches when all its requirements do; a term with none matches nothing. */
export function matchNodeSelectorTerm(term: NodeSelectorTerm, node: KObject): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels: Record<string, string> = node.metadata?.labels ?? {};
  for (const r of exprs)
    if (!matchRequirement(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined)) return false;
  for (const r of fields) {
    if (r.key !== "metadata.name") return false;
    if (r.operator !== "In" && r.operator !== "NotIn") return false;
    if (!matchRequirement(r, node.metadata?.name)) return false;
  }
  return true;
}

/** nodeSelector and required node affinity, as the NodeAffinity filter checks them. */
export function matchesRequiredAffinity(pod: KObject, node: KObject): boolean {
  const labels: Record<string, string> = node.metadata?.labels ?? {};
  const selector: Record<string, string> | undefined = pod.spec?.nodeSelector;
  if (selector) for (const k in selector) if (labels[k] !== selector[k]) return false;
  const required = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  const terms: NodeSelectorTerm[] = required.nodeSelectorTerms ?? [];
  return terms.some((t) => matchNodeSelectorTerm(t, node));
}

export const nodeAffinity: Filter = (pod, _f, node) => {
  if (matchesRequiredAffinity(pod, node.node)) return undefined;
  return { plugin: "NodeAffinity", reasons: [ERR_NODE_AFFINITY], unresolvable: true };
};

export const nodePorts: Filter = (_pod, facts, node) => {
  if (!facts.hostPorts.length || !node.ports.length) return undefined;
  for (const want of facts.hostPorts)
    if (node.ports.some((used) => portsConflict(want, used)))
      return { plugin: "NodePorts", reasons: [ERR_NODE_PORTS], unresolvable: false };
  return undefined;
};

export const nodeResourcesFit: Filter = (_pod, facts, node) => {
  const reasons: string[] = [];
  if (node.pods.size + 1 > node.allowedPods) reasons.push(ERR_TOO_MANY_PODS);
  const req = facts.request;
  const alloc = node.allocatable;
  const used = node.requested;
  if (req.milliCPU > 0 && req.milliCPU > alloc.milliCPU - used.milliCPU) reasons.push("Insufficient cpu");
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) reasons.push("Insufficient memory");
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage)
    reasons.push("Insufficient ephemeral-storage");
  for (const name in req.scalar) {
    const v = req.scalar[name];
    if (v > 0 && v > (alloc.scalar[name] ?? 0) - (used.scalar[name] ?? 0))
      reasons.push(`Insufficient ${name}`);
  }
  return reasons.length ? { plugin: "NodeResourcesFit", reasons, unresolvable: false } : undefined;
};

/** The default profile's filters in upstream's order; a node stops at its first failure. */
export const FILTERS: Filter[] = [
  nodeUnschedulable,
  nodeName,
  taintToleration,
  nodeAffinity,
  nodePorts,
  nodeResourcesFit,
];

export function runFilters(pod: KObject, facts: PodFacts, node: NodeInfo): FilterResult | undefined {
  for (const f of FILTERS) {
    const r = f(pod, facts, node);
    if (r) return r;
  }
  return undefined;
}
