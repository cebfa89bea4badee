// The scores of the default profile: each plugin gives every feasible node a raw
// score, normalizes it to 0..100 across the nodes, and the weighted sum picks the node
// (ties broken at random). Pure functions of (pod, facts, nodes).
import type { KObject } from "../client/types";
import { matchNodeSelectorTerm, type NodeSelectorTerm, tolerates } from "./filters";
import type { NodeInfo, PodFacts } from "./nodeinfo";

export const MAX_NODE_SCORE = 100;

export interface ScorePlugin {
  name: string;
  weight: number;
  /** Raw scores, one per node, in the nodes' order. */
  score(pod: KObject, facts: PodFacts, nodes: NodeInfo[]): number[];
}

function unallocated(requested: number, allocatable: number): number {
  return allocatable <= 0 || requested > allocatable
    ? 0
    : ((allocatable - requested) * MAX_NODE_SCORE) / allocatable;
}

function fraction(requested: number, allocatable: number): number {
  return allocatable <= 0 ? 1 : Math.min(1, requested / allocatable);
}

/** NodeResourcesFit with the LeastAllocated strategy on cpu and memory (weights 1 and 1). */
export function leastAllocated(facts: PodFacts, node: NodeInfo): number {
  const cpu = unallocated(node.nonZeroRequested.milliCPU + facts.nonZero.milliCPU, node.allocatable.milliCPU);
  const mem = unallocated(node.nonZeroRequested.memory + facts.nonZero.memory, node.allocatable.memory);
  return Math.floor((cpu + mem) / 2);
}

/** NodeResourcesBalancedAllocation: nodes whose cpu and memory fractions stay close score higher. */
export function balancedAllocation(facts: PodFacts, node: NodeInfo): number {
  const cpu = fraction(node.nonZeroRequested.milliCPU + facts.nonZero.milliCPU, node.allocatable.milliCPU);
  const mem = fraction(node.nonZeroRequested.memory + facts.nonZero.memory, node.allocatable.memory);
  const std = Math.abs(cpu - mem) / 2;
  return Math.floor((1 - std) * MAX_NODE_SCORE);
}

/** Sum of the weights of the preferred node affinity terms the node matches. */
export function preferredAffinity(pod: KObject, node: NodeInfo): number {
  const terms: Array<{ weight: number; preference: NodeSelectorTerm }> =
    pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  let sum = 0;
  for (const t of terms)
    if (t.weight && matchNodeSelectorTerm(t.preference ?? {}, node.node)) sum += t.weight;
  return sum;
}

/** Number of PreferNoSchedule taints the pod does not tolerate (fewer is better). */
export function intolerablePreferNoSchedule(pod: KObject, node: NodeInfo): number {
  let n = 0;
  for (const taint of node.taints) {
    if (taint.effect !== "PreferNoSchedule") continue;
    let ok = false;
    for (const t of pod.spec?.tolerations ?? [])
      if ((!t.effect || t.effect === "PreferNoSchedule") && tolerates(t, taint)) {
        ok = true;
        break;
      }
    if (!ok) n++;
  }
  return n;
}

/** Pods of the same controller already on the node (fewer is better). */
export function sameOwnerCount(facts: PodFacts, node: NodeInfo): number {
  return facts.owner ? (node.owners.get(facts.owner) ?? 0) : 0;
}

const MB = 1024 * 1024;
const IMAGE_MIN_THRESHOLD = 23 * MB;
const IMAGE_MAX_CONTAINER_THRESHOLD = 1000 * MB;

/**
 * ImageLocality: nodes that already have the pod's images score higher, in proportion to
 * the images' size and scaled down for images most nodes have (they say little).
 */
export function imageLocality(facts: PodFacts, nodes: NodeInfo[]): number[] {
  const out = new Array<number>(nodes.length).fill(0);
  if (!facts.images.length) return out;
  const spread = new Map<string, number>();
  for (const img of facts.images) {
    let n = 0;
    for (const node of nodes) if (node.images.has(img)) n++;
    spread.set(img, n / nodes.length);
  }
  const max = IMAGE_MAX_CONTAINER_THRESHOLD * facts.images.length;
  for (let i = 0; i < nodes.length; i++) {
    let sum = 0;
    for (const img of facts.images) {
      const size = nodes[i].images.get(img);
      if (size !== undefined) sum += size * spread.get(img)!;
    }
    sum = Math.min(Math.max(sum, IMAGE_MIN_THRESHOLD), max);
    out[i] = Math.floor((MAX_NODE_SCORE * (sum - IMAGE_MIN_THRESHOLD)) / (max - IMAGE_MIN_THRESHOLD));
  }
  return out;
}

/** Upstream's DefaultNormalizeScore: scales to 0..100 by the maximum, optionally reversed. */
export function normalize(scores: number[], reverse: boolean): number[] {
  let max = 0;
  for (const s of scores) if (s > max) max = s;
  const out = new Array<number>(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const v = max === 0 ? 0 : Math.floor((MAX_NODE_SCORE * scores[i]) / max);
    out[i] = reverse ? MAX_NODE_SCORE - v : v;
  }
  return out;
}

/** Spreading: fewest matching pods gets 100, most gets a proportionally lower score. */
export function normalizeSpread(counts: number[]): number[] {
  let max = 0;
  let min = Number.POSITIVE_INFINITY;
  for (const c of counts) {
    if (c > max) max = c;
    if (c < min) min = c;
  }
  const out = new Array<number>(counts.length);
  for (let i = 0; i < counts.length; i++)
    out[i] = max === 0 ? MAX_NODE_SCORE : Math.floor((MAX_NODE_SCORE * (max + min - counts[i])) / max);
  return out;
}

/**
 * The default profile's weights (1.32): TaintToleration 3, NodeAffinity 2, spread 2,
 * fit 1, balance 1, image locality 1.
 */
export const SCORE_PLUGINS: ScorePlugin[] = [
  {
    name: "TaintToleration",
    weight: 3,
    score(pod, _f, nodes) {
      const raw = new Array<number>(nodes.length);
      for (let i = 0; i < nodes.length; i++) raw[i] = intolerablePreferNoSchedule(pod, nodes[i]);
      return normalize(raw, true);
    },
  },
  {
    name: "NodeAffinity",
    weight: 2,
    score(pod, _f, nodes) {
      const raw = new Array<number>(nodes.length);
      const terms = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
      for (let i = 0; i < nodes.length; i++) raw[i] = terms?.length ? preferredAffinity(pod, nodes[i]) : 0;
      return normalize(raw, false);
    },
  },
  {
    name: "PodTopologySpread",
    weight: 2,
    score(_p, facts, nodes) {
      const raw = new Array<number>(nodes.length);
      for (let i = 0; i < nodes.length; i++) raw[i] = sameOwnerCount(facts, nodes[i]);
      return normalizeSpread(raw);
    },
  },
  {
    name: "NodeResourcesFit",
    weight: 1,
    score(_p, facts, nodes) {
      const raw = new Array<number>(nodes.length);
      for (let i = 0; i < nodes.length; i++) raw[i] = leastAllocated(facts, nodes[i]);
      return raw;
    },
  },
  {
    name: "NodeResourcesBalancedAllocation",
    weight: 1,
    score(_p, facts, nodes) {
      const raw = new Array<number>(nodes.length);
      for (let i = 0; i < nodes.length; i++) raw[i] = balancedAllocation(facts, nodes[i]);
      return raw;
    },
  },
  { name: "ImageLocality", weight: 1, score: (_p, facts, nodes) => imageLocality(facts, nodes) },
];

/** Weighted totals per node. */
export function scoreNodes(
  pod: KObject,
  facts: PodFacts,
  nodes: NodeInfo[],
  plugins = SCORE_PLUGINS,
): number[] {
  const totals = new Array<number>(nodes.length).fill(0);
  for (const p of plugins) {
    const s = p.score(pod, facts, nodes);
    for (let i = 0; i < nodes.length; i++) totals[i] += s[i] * p.weight;
  }
  return totals;
}

/** The index of the highest total; equal totals are chosen between uniformly at random. */
export function selectHost(totals: number[], random: () => number = Math.random): number {
  let best = -1;
  let ties = 0;
  for (let i = 0; i < totals.length; i++) {
    if (best < 0 || totals[i] > totals[best]) {
      best = i;
      ties = 1;
    } else if (totals[i] === totals[best]) {
      ties++;
      if (random() * ties < 1) best = i;
    }
  }
  return best;
}
