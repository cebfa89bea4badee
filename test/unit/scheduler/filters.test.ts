import { test } from "uvu";
import * as assert from "uvu/assert";
import type { KObject } from "../../../internal/client";
import {
  type Filter,
  nodeAffinity,
  nodeName,
  nodePorts,
  nodeResourcesFit,
  nodeUnschedulable,
  runFilters,
  taintToleration,
} from "../../../internal/scheduler/filters";
import { podFacts, podRequest } from "../../../internal/scheduler/nodeinfo";
import { info, node, pod } from "./fixtures";

function reasons(f: Filter, p: KObject, ni = info(node("n1"))): string[] {
  return f(p, podFacts(p), ni)?.reasons ?? [];
}

test("a pod's request is the larger of its containers' sum and its largest init container, plus overhead", () => {
  assert.is(podRequest(pod("a", { cpu: "500m", initCpu: "2" })).milliCPU, 2000);
  assert.is(podRequest(pod("a", { cpu: "500m", initCpu: "100m" })).milliCPU, 500);
  assert.is(podRequest(pod("a", { cpu: "500m", overheadCpu: "250m" })).milliCPU, 750);
  assert.is(podRequest(pod("a", { memory: "1Gi" })).memory, 1024 ** 3);
});

const fitCases: Array<[string, KObject, KObject[], string[]]> = [
  ["fits on an empty node", pod("p", { cpu: "1", memory: "1Gi" }), [], []],
  ["more cpu than allocatable", pod("p", { cpu: "5" }), [], ["Insufficient cpu"]],
  [
    "memory taken by pods already there",
    pod("p", { memory: "5Gi" }),
    [pod("q", { memory: "4Gi" })],
    ["Insufficient memory"],
  ],
  [
    "both cpu and memory short",
    pod("p", { cpu: "3", memory: "5Gi" }),
    [pod("q", { cpu: "2", memory: "4Gi" })],
    ["Insufficient cpu", "Insufficient memory"],
  ],
  ["exactly the remaining cpu fits", pod("p", { cpu: "1500m" }), [pod("q", { cpu: "2500m" })], []],
  ["a pod without requests fits a full node", pod("p"), [pod("q", { cpu: "4", memory: "8Gi" })], []],
];
for (const [name, p, existing, want] of fitCases)
  test(`NodeResourcesFit: ${name}`, () => {
    assert.equal(reasons(nodeResourcesFit, p, info(node("n1"), ...existing)), want);
  });

test("NodeResourcesFit: a node at its pod count says Too many pods", () => {
  const ni = info(node("n1", { pods: "2" }), pod("a"), pod("b"));
  assert.equal(reasons(nodeResourcesFit, pod("c"), ni), ["Too many pods"]);
});

test("NodeResourcesFit: extended resources must be allocatable", () => {
  const p = pod("p");
  p.spec.containers[0].resources.requests = { "nvidia.com/gpu": "1" };
  assert.equal(reasons(nodeResourcesFit, p), ["Insufficient nvidia.com/gpu"]);
  assert.equal(reasons(nodeResourcesFit, p, info(node("g", { extra: { "nvidia.com/gpu": "2" } }))), []);
});

test("NodeName: a pod naming another node is refused", () => {
  assert.equal(reasons(nodeName, pod("p", { nodeName: "n2" })), [
    "node(s) didn't match the requested node name",
  ]);
  assert.equal(reasons(nodeName, pod("p", { nodeName: "n1" })), []);
});

const AFF = "node(s) didn't match Pod's node affinity/selector";
const req = (...terms: any[]) => ({
  nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
});
const affinityCases: Array<[string, any, Record<string, string>, boolean]> = [
  ["nodeSelector matches", { nodeSelector: { disk: "ssd" } }, { disk: "ssd" }, true],
  ["nodeSelector value differs", { nodeSelector: { disk: "ssd" } }, { disk: "hdd" }, false],
  ["nodeSelector label missing", { nodeSelector: { disk: "ssd" } }, {}, false],
  [
    "In",
    { affinity: req({ matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] }) },
    { zone: "b" },
    true,
  ],
  [
    "In without the label",
    { affinity: req({ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }) },
    {},
    false,
  ],
  [
    "NotIn without the label",
    { affinity: req({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }) },
    {},
    true,
  ],
  [
    "NotIn with a listed value",
    { affinity: req({ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }) },
    { zone: "a" },
    false,
  ],
  [
    "Exists",
    { affinity: req({ matchExpressions: [{ key: "gpu", operator: "Exists" }] }) },
    { gpu: "" },
    true,
  ],
  [
    "DoesNotExist",
    { affinity: req({ matchExpressions: [{ key: "gpu", operator: "DoesNotExist" }] }) },
    { gpu: "x" },
    false,
  ],
  [
    "Gt",
    { affinity: req({ matchExpressions: [{ key: "cores", operator: "Gt", values: ["8"] }] }) },
    { cores: "16" },
    true,
  ],
  [
    "Gt equal",
    { affinity: req({ matchExpressions: [{ key: "cores", operator: "Gt", values: ["16"] }] }) },
    { cores: "16" },
    false,
  ],
  [
    "Lt",
    { affinity: req({ matchExpressions: [{ key: "cores", operator: "Lt", values: ["8"] }] }) },
    { cores: "4" },
    true,
  ],
  [
    "Gt on a non-number",
    { affinity: req({ matchExpressions: [{ key: "cores", operator: "Gt", values: ["8"] }] }) },
    { cores: "many" },
    false,
  ],
  [
    "terms are ORed",
    {
      affinity: req(
        { matchExpressions: [{ key: "zone", operator: "In", values: ["x"] }] },
        { matchExpressions: [{ key: "disk", operator: "Exists" }] },
      ),
    },
    { disk: "ssd" },
    true,
  ],
  [
    "expressions in a term are ANDed",
    {
      affinity: req({
        matchExpressions: [
          { key: "zone", operator: "In", values: ["a"] },
          { key: "disk", operator: "Exists" },
        ],
      }),
    },
    { zone: "a" },
    false,
  ],
  ["an empty term matches nothing", { affinity: req({}) }, { zone: "a" }, false],
  [
    "matchFields metadata.name",
    { affinity: req({ matchFields: [{ key: "metadata.name", operator: "In", values: ["n1"] }] }) },
    {},
    true,
  ],
  [
    "matchFields another name",
    { affinity: req({ matchFields: [{ key: "metadata.name", operator: "In", values: ["n2"] }] }) },
    {},
    false,
  ],
  [
    "nodeSelector and affinity both apply",
    {
      nodeSelector: { disk: "ssd" },
      affinity: req({ matchExpressions: [{ key: "zone", operator: "Exists" }] }),
    },
    { zone: "a" },
    false,
  ],
];
for (const [name, spec, labels, fits] of affinityCases)
  test(`NodeAffinity: ${name}`, () => {
    const p = pod("p");
    Object.assign(p.spec, spec);
    assert.equal(reasons(nodeAffinity, p, info(node("n1", { labels }))), fits ? [] : [AFF]);
  });

const gpu = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
const taintCases: Array<[string, any[], any[] | undefined, string[]]> = [
  ["an untolerated NoSchedule taint", [gpu], undefined, ["node(s) had untolerated taint {dedicated: gpu}"]],
  [
    "an Equal toleration",
    [gpu],
    [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
    [],
  ],
  [
    "a toleration with another value",
    [gpu],
    [{ key: "dedicated", value: "cpu" }],
    ["node(s) had untolerated taint {dedicated: gpu}"],
  ],
  ["Exists on the key", [gpu], [{ key: "dedicated", operator: "Exists" }], []],
  ["Exists with no key tolerates everything", [gpu], [{ operator: "Exists" }], []],
  [
    "a toleration for another effect",
    [gpu],
    [{ key: "dedicated", operator: "Exists", effect: "NoExecute" }],
    ["node(s) had untolerated taint {dedicated: gpu}"],
  ],
  [
    "a NoExecute taint needs a toleration",
    [{ key: "k", effect: "NoExecute" }],
    undefined,
    ["node(s) had untolerated taint {k: }"],
  ],
  ["PreferNoSchedule does not filter", [{ key: "k", value: "v", effect: "PreferNoSchedule" }], undefined, []],
];
for (const [name, taints, tolerations, want] of taintCases)
  test(`TaintToleration: ${name}`, () => {
    assert.equal(reasons(taintToleration, pod("p", { tolerations }), info(node("n1", { taints }))), want);
  });

test("TaintToleration: a node that is not Ready refuses pods with the not-ready taint", () => {
  assert.equal(reasons(taintToleration, pod("p"), info(node("n1", { ready: "False" }))), [
    "node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
  ]);
  assert.equal(reasons(taintToleration, pod("p"), info(node("n1", { ready: null }))), [
    "node(s) had untolerated taint {node.kubernetes.io/not-ready: }",
  ]);
  assert.equal(reasons(taintToleration, pod("p"), info(node("n1", { ready: "Unknown" }))), [
    "node(s) had untolerated taint {node.kubernetes.io/unreachable: }",
  ]);
  const tolerant = pod("p", { tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists" }] });
  assert.equal(reasons(taintToleration, tolerant, info(node("n1", { ready: "False" }))), []);
});

test("NodeUnschedulable: a cordoned node refuses pods unless they tolerate it", () => {
  const cordoned = info(node("n1", { unschedulable: true }));
  assert.equal(reasons(nodeUnschedulable, pod("p"), cordoned), ["node(s) were unschedulable"]);
  const tolerant = pod("p", {
    tolerations: [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }],
  });
  assert.equal(reasons(nodeUnschedulable, tolerant, cordoned), []);
});

test("NodePorts: a host port in use on the node is refused, other ports and protocols are not", () => {
  const busy = info(node("n1"), pod("q", { hostPort: 8080 }));
  assert.equal(reasons(nodePorts, pod("p", { hostPort: 8080 }), busy), [
    "node(s) didn't have free ports for the requested pod ports",
  ]);
  assert.equal(reasons(nodePorts, pod("p", { hostPort: 8081 }), busy), []);
  const udp = pod("p", { hostPort: 8080 });
  udp.spec.containers[0].ports[0].protocol = "UDP";
  assert.equal(reasons(nodePorts, udp, busy), []);
  const specificIP = pod("p", { hostPort: 8080 });
  specificIP.spec.containers[0].ports[0].hostIP = "10.0.0.1";
  assert.equal(reasons(nodePorts, specificIP, busy).length, 1);
});

test("filters stop at the first failure per node, in upstream's order", () => {
  const n = info(node("n1", { unschedulable: true, taints: [gpu], cpu: "1" }));
  const r = runFilters(pod("p", { cpu: "2" }), podFacts(pod("p", { cpu: "2" })), n);
  assert.equal(r?.reasons, ["node(s) were unschedulable"]);
});

test.run();
