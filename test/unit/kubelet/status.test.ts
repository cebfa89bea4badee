// Pod phase, conditions, container statuses, QoS and back-off as the kubelet computes them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  Backoff,
  containerStatus,
  podConditions,
  podPhase,
  qosClass,
  shouldRestart,
} from "../../../internal/kubelet/status";
import type { ContainerStatus } from "../../../internal/runtime/types";

const running = { state: { running: { startedAt: "t" } }, ready: true, name: "a" };
const exited = (code: number) => ({ state: { terminated: { exitCode: code } }, ready: false, name: "a" });
const crashloop = {
  state: { waiting: { reason: "CrashLoopBackOff" } },
  lastState: { terminated: { exitCode: 1 } },
  ready: false,
  name: "a",
};
const creating = { state: { waiting: { reason: "ContainerCreating" } }, ready: false, name: "a" };

test("phase follows the kubelet's rules for each restart policy", () => {
  const cases: Array<[string, any[], any[], string]> = [
    ["Always", [], [running], "Running"],
    ["Always", [], [creating], "Pending"],
    ["Always", [], [crashloop], "Running"],
    ["Always", [], [exited(0)], "Running"],
    ["Never", [], [exited(0)], "Succeeded"],
    ["Never", [], [exited(0), exited(1)], "Failed"],
    ["Never", [], [exited(0), running], "Running"],
    ["OnFailure", [], [exited(0)], "Succeeded"],
    ["OnFailure", [], [exited(2)], "Running"],
    ["Always", [creating], [creating], "Pending"],
    ["Always", [exited(0)], [running], "Running"],
    ["Never", [exited(1)], [creating], "Failed"],
    ["OnFailure", [crashloop], [creating], "Pending"],
  ];
  for (const [policy, init, cs, want] of cases)
    assert.is(podPhase({ restartPolicy: policy }, init, cs), want, `${policy} ${JSON.stringify(cs)}`);
});

test("conditions: Ready follows the containers; transition times stay when nothing changed", () => {
  const now1 = "2026-01-01T00:00:00Z";
  const pod = { status: {} };
  const c1 = podConditions(pod, {
    sandboxReady: true,
    initStatuses: [],
    statuses: [running],
    phase: "Running",
    now: now1,
  });
  const byType = (cs: any[]) => Object.fromEntries(cs.map((c) => [c.type, c]));
  assert.is(byType(c1).Ready.status, "True");
  assert.is(byType(c1).Initialized.status, "True");
  assert.is(byType(c1).PodReadyToStartContainers.status, "True");
  const c2 = podConditions(
    { status: { conditions: c1 } },
    {
      sandboxReady: true,
      initStatuses: [],
      statuses: [running],
      phase: "Running",
      now: "2026-01-01T00:05:00Z",
    },
  );
  assert.is(byType(c2).Ready.lastTransitionTime, now1);
  const c3 = podConditions(
    { status: { conditions: c2 } },
    {
      sandboxReady: true,
      initStatuses: [],
      statuses: [{ ...running, ready: false }],
      phase: "Running",
      now: "2026-01-01T00:06:00Z",
    },
  );
  assert.is(byType(c3).Ready.status, "False");
  assert.is(byType(c3).Ready.reason, "ContainersNotReady");
  assert.is(byType(c3).Ready.message, "containers with unready status: [a]");
  assert.is(byType(c3).Ready.lastTransitionTime, "2026-01-01T00:06:00Z");
  const done = podConditions(pod, {
    sandboxReady: true,
    initStatuses: [],
    statuses: [exited(0)],
    phase: "Succeeded",
    now: now1,
  });
  assert.is(byType(done).Ready.reason, "PodCompleted");
});

function rc(over: Partial<ContainerStatus>): ContainerStatus {
  return {
    id: "abc",
    name: "n",
    image: "i",
    state: "running",
    pid: 1,
    createdAt: "c",
    oomKilled: false,
    command: [],
    labels: {},
    ...over,
  };
}

test("container status: running, terminated with lastState, waiting with the kubelet's reason", () => {
  const base = {
    name: "a",
    image: "busybox",
    imageID: "sha256:x",
    restartCount: 1,
    ready: true,
    started: true,
  };
  const r = containerStatus({
    ...base,
    current: rc({ startedAt: "s" }),
    previous: rc({ id: "old", state: "exited", exitCode: 2, reason: "Error", finishedAt: "f" }),
  });
  assert.equal(r.state, { running: { startedAt: "s" } });
  assert.is(r.lastState.terminated.exitCode, 2);
  assert.is(r.lastState.terminated.containerID, "tsk://old");
  assert.is(r.containerID, "tsk://abc");
  assert.is(r.ready, true);
  const w = containerStatus({
    ...base,
    current: rc({ state: "exited", exitCode: 1, reason: "Error" }),
    waiting: { reason: "CrashLoopBackOff", message: "back-off 10s" },
  });
  assert.equal(w.state, { waiting: { reason: "CrashLoopBackOff", message: "back-off 10s" } });
  assert.is(w.lastState.terminated.exitCode, 1);
  assert.is(w.ready, false);
  const oom = containerStatus({
    ...base,
    current: rc({ state: "exited", exitCode: 137, signal: 9, oomKilled: true, reason: "OOMKilled" }),
  });
  assert.is(oom.state.terminated.reason, "OOMKilled");
  const none = containerStatus({ ...base, restartCount: 0 });
  assert.equal(none.state, { waiting: { reason: "ContainerCreating" } });
});

test("QoS class from requests and limits", () => {
  assert.is(qosClass({ containers: [{}] }), "BestEffort");
  assert.is(qosClass({ containers: [{ resources: { limits: { cpu: "1", memory: "1Gi" } } }] }), "Guaranteed");
  assert.is(
    qosClass({
      containers: [
        { resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2", memory: "1Gi" } } },
      ],
    }),
    "Burstable",
  );
  assert.is(qosClass({ containers: [{ resources: { requests: { cpu: "100m" } } }] }), "Burstable");
});

test("restart policy decides on the exit code", () => {
  assert.ok(shouldRestart("Always", 0));
  assert.ok(shouldRestart(undefined, 0));
  assert.ok(shouldRestart("OnFailure", 1));
  assert.not.ok(shouldRestart("OnFailure", 0));
  assert.not.ok(shouldRestart("Never", 1));
});

test("crash-loop back-off doubles from 10 s to 5 min", () => {
  const b = new Backoff();
  let t = 0;
  assert.is(b.remaining("k", t), 0);
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    delays.push(b.next("k", t));
    t += delays.at(-1)!;
  }
  assert.equal(delays, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  b.next("j", 1000);
  assert.is(b.remaining("j", 5000), 6000);
  b.forgetPrefix("j");
  assert.is(b.remaining("j", 5000), 0);
});

test.run();
