import { test } from "uvu";
import * as assert from "uvu/assert";
import { SchedulerCache } from "../../../internal/scheduler/cache";
import { podFacts } from "../../../internal/scheduler/nodeinfo";
import { schedulePod } from "../../../internal/scheduler/scheduler";
import { node, pod } from "./fixtures";

function cacheWith(...nodes: ReturnType<typeof node>[]): SchedulerCache {
  const c = new SchedulerCache();
  for (const n of nodes) c.setNode(n);
  return c;
}

function place(c: SchedulerCache, p: ReturnType<typeof pod>): string {
  const r = schedulePod(p, c.nodes());
  if ("error" in r) throw new Error(r.error);
  c.assume(podFacts(p), r.node);
  return r.node;
}

test("a pod with a nodeSelector lands on the only matching node", () => {
  const c = cacheWith(node("a"), node("b", { labels: { disk: "ssd" } }), node("c"));
  assert.is(place(c, pod("p", { nodeSelector: { disk: "ssd" } })), "b");
});

test("assumed pods count: the second pod of a full node goes elsewhere before any bind is seen", () => {
  const c = cacheWith(node("a", { cpu: "1" }), node("b", { cpu: "1" }));
  const first = place(c, pod("p1", { cpu: "800m" }));
  const second = place(c, pod("p2", { cpu: "800m" }));
  assert.is.not(first, second);
  const r = schedulePod(pod("p3", { cpu: "800m" }), c.nodes());
  assert.ok("error" in r);
});

test("forgetting an assumed pod frees its resources", () => {
  const c = cacheWith(node("a", { cpu: "1" }));
  const p = pod("p1", { cpu: "800m" });
  place(c, p);
  c.forget(podFacts(p).key);
  assert.is(place(c, pod("p2", { cpu: "800m" })), "a");
});

test("a confirmed bind replaces the assumption instead of counting twice", () => {
  const c = cacheWith(node("a", { cpu: "1" }));
  const p = pod("p1", { cpu: "500m" });
  place(c, p);
  c.addOrUpdatePod({ ...p, spec: { ...p.spec, nodeName: "a" } });
  assert.is(c.get("a")!.requested.milliCPU, 500);
  assert.is(place(c, pod("p2", { cpu: "500m" })), "a");
});

test("pods bound to a node seen later are counted once it appears", () => {
  const c = new SchedulerCache();
  c.addOrUpdatePod(pod("early", { cpu: "1", nodeName: "late" }));
  c.setNode(node("late", { cpu: "1" }));
  const r = schedulePod(pod("p", { cpu: "500m" }), c.nodes());
  assert.ok("error" in r);
});

test("replicas of one owner spread over the nodes", () => {
  const c = cacheWith(node("a"), node("b"), node("c"));
  const counts: Record<string, number> = {};
  for (let i = 0; i < 9; i++) {
    const n = place(c, pod(`web-${i}`, { owner: "rs-web", cpu: "100m" }));
    counts[n] = (counts[n] ?? 0) + 1;
  }
  assert.equal(counts, { a: 3, b: 3, c: 3 });
});

test("a cordoned node gets no new pods", () => {
  const c = cacheWith(node("a", { unschedulable: true }), node("b"));
  for (let i = 0; i < 5; i++) assert.is(place(c, pod(`p${i}`)), "b");
});

test("a PreferNoSchedule taint steers pods away while another node is free", () => {
  const c = cacheWith(
    node("a", { taints: [{ key: "slow", value: "yes", effect: "PreferNoSchedule" }] }),
    node("b"),
  );
  assert.is(place(c, pod("p")), "b");
});

test("preferred node affinity wins over a slightly emptier node", () => {
  const c = cacheWith(node("a", { labels: { zone: "x" } }), node("b"));
  c.addOrUpdatePod(pod("q", { cpu: "500m", nodeName: "a" }));
  const p = pod("p", {
    affinity: {
      nodeAffinity: {
        preferredDuringSchedulingIgnoredDuringExecution: [
          { weight: 50, preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["x"] }] } },
        ],
      },
    },
  });
  assert.is(place(c, p), "a");
});

test.run();
