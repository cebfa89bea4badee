import { test } from "uvu";
import * as assert from "uvu/assert";
import { fitErrorMessage } from "../../../internal/scheduler/diagnosis";
import { schedulePod } from "../../../internal/scheduler/scheduler";
import { info, node, pod } from "./fixtures";

test("the message counts reasons per node, sorted as upstream sorts them, with preemption's verdict", () => {
  const nodes = [
    info(node("a", { memory: "1Gi" })),
    info(node("b", { memory: "1Gi" })),
    info(node("c", { taints: [{ key: "dedicated", value: "gpu", effect: "NoSchedule" }] })),
  ];
  const r = schedulePod(pod("p", { memory: "2Gi" }), nodes);
  assert.ok("error" in r);
  if ("error" in r)
    assert.is(
      r.error,
      "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient memory. " +
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod..",
    );
});

test("a node short of cpu and memory contributes both reasons", () => {
  const msg = fitErrorMessage(1, [
    { plugin: "NodeResourcesFit", reasons: ["Insufficient cpu", "Insufficient memory"], unresolvable: false },
  ]);
  assert.is(
    msg,
    "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..",
  );
});

test("only unresolvable reasons: preemption is not helpful on any node", () => {
  const nodes = [info(node("a", { unschedulable: true })), info(node("b", { labels: { disk: "hdd" } }))];
  const r = schedulePod(pod("p", { nodeSelector: { disk: "ssd" } }), nodes);
  assert.ok("error" in r);
  if ("error" in r)
    assert.is(
      r.error,
      "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) were unschedulable. " +
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..",
    );
});

test("with no nodes at all the message says so", () => {
  const r = schedulePod(pod("p"), []);
  assert.equal("error" in r && r.error, "no nodes available to schedule pods");
});

test.run();
