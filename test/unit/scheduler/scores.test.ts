import { test } from "uvu";
import * as assert from "uvu/assert";
import { podFacts } from "../../../internal/scheduler/nodeinfo";
import {
  balancedAllocation,
  imageLocality,
  intolerablePreferNoSchedule,
  leastAllocated,
  normalize,
  normalizeSpread,
  preferredAffinity,
  sameOwnerCount,
  scoreNodes,
  selectHost,
} from "../../../internal/scheduler/scores";
import { info, node, pod } from "./fixtures";

test("LeastAllocated: an empty node scores higher than a busy one", () => {
  const p = pod("p", { cpu: "1", memory: "2Gi" });
  const empty = leastAllocated(podFacts(p), info(node("a")));
  const busy = leastAllocated(podFacts(p), info(node("b"), pod("q", { cpu: "2", memory: "4Gi" })));
  // (4-1)/4 and (8-2)/8 → 75; (4-3)/4 and (8-6)/8 → 25.
  assert.is(empty, 75);
  assert.is(busy, 25);
});

test("LeastAllocated: pods without requests count as 100m CPU and 200Mi", () => {
  const s = leastAllocated(podFacts(pod("p")), info(node("a", { cpu: "1", memory: "2000Mi" })));
  assert.is(s, Math.floor((90 + 90) / 2));
});

test("BalancedAllocation: equal cpu and memory fractions score 100", () => {
  const p = pod("p", { cpu: "2", memory: "4Gi" });
  assert.is(balancedAllocation(podFacts(p), info(node("a"))), 100);
  const skewed = pod("p", { cpu: "4", memory: "100Mi" });
  assert.ok(balancedAllocation(podFacts(skewed), info(node("a"))) < 60);
});

test("preferred node affinity sums the weights of matching terms", () => {
  const p = pod("p", {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 10, preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] } },
          { weight: 5, preference: { matchExpressions: [{ key: "disk", operator: "Exists" }] } },
        ],
      },
    },
  });
  assert.is(preferredAffinity(p, info(node("n", { labels: { zone: "a", disk: "ssd" } }))), 15);
  assert.is(preferredAffinity(p, info(node("n", { labels: { disk: "ssd" } }))), 5);
  assert.is(preferredAffinity(p, info(node("n"))), 0);
});

test("PreferNoSchedule taints the pod does not tolerate are counted", () => {
  const taints = [
    { key: "a", value: "1", effect: "PreferNoSchedule" },
    { key: "b", value: "2", effect: "PreferNoSchedule" },
  ];
  assert.is(intolerablePreferNoSchedule(pod("p"), info(node("n", { taints }))), 2);
  const tol = pod("p", { tolerations: [{ key: "a", operator: "Exists", effect: "PreferNoSchedule" }] });
  assert.is(intolerablePreferNoSchedule(tol, info(node("n", { taints }))), 1);
});

test("pods of the same owner on a node are counted, others are not", () => {
  const ni = info(
    node("n"),
    pod("a", { owner: "rs1" }),
    pod("b", { owner: "rs1" }),
    pod("c", { owner: "rs2" }),
  );
  assert.is(sameOwnerCount(podFacts(pod("p", { owner: "rs1" })), ni), 2);
  assert.is(sameOwnerCount(podFacts(pod("p")), ni), 0);
});

const normCases: Array<[number[], boolean, number[]]> = [
  [[0, 5, 10], false, [0, 50, 100]],
  [[0, 5, 10], true, [100, 50, 0]],
  [[0, 0], false, [0, 0]],
  [[0, 0], true, [100, 100]],
];
for (const [input, reverse, want] of normCases)
  test(`normalize ${JSON.stringify(input)}${reverse ? " reversed" : ""}`, () => {
    assert.equal(normalize(input, reverse), want);
  });

test("spreading gives the node with fewest replicas the top score", () => {
  assert.equal(normalizeSpread([0, 2, 4]), [100, 50, 0]);
  assert.equal(normalizeSpread([0, 0]), [100, 100]);
});

test("a replica goes to the node without one, other things equal", () => {
  const nodes = [info(node("a"), pod("r1", { owner: "rs" })), info(node("b"))];
  const totals = scoreNodes(pod("p", { owner: "rs" }), podFacts(pod("p", { owner: "rs" })), nodes);
  assert.ok(totals[1] > totals[0], `${totals}`);
});

test("selectHost picks the highest total and breaks ties at random", () => {
  assert.is(selectHost([1, 5, 3]), 1);
  const seen = new Set<number>();
  let r = 0;
  const rolls = [0.1, 0.9, 0.1, 0.1, 0.9, 0.9];
  for (let i = 0; i < 3; i++) seen.add(selectHost([7, 7], () => rolls[r++ % rolls.length]));
  assert.equal([...seen].sort(), [0, 1]);
});

test("image locality favours nodes that already hold the pod's image, whatever name form they report", () => {
  const withImage = node("a");
  withImage.status.images = [{ names: ["docker.io/library/nginx:latest"], sizeBytes: 500 * 1024 * 1024 }];
  const small = node("b");
  small.status.images = [{ names: ["nginx"], sizeBytes: 10 * 1024 * 1024 }];
  const scores = imageLocality(podFacts(pod("p")), [info(withImage), info(small), info(node("c"))]);
  assert.ok(scores[0] > 0, `${scores}`);
  // Below the 23 MB threshold an image is not worth moving a pod for.
  assert.is(scores[1], 0);
  assert.is(scores[2], 0);
});

test.run();
