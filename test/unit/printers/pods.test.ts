import { test } from "uvu";
import * as assert from "uvu/assert";
import { printerFor } from "../../../internal/api/printers";
import { findResource } from "../../../internal/api/resources";

const NOW = Date.parse("2024-06-01T12:00:00Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const S = 1000;
const M = 60 * S;

const printer = printerFor(findResource("", "v1", "pods")!);

function pod(spec: any, status: any, meta: any = {}): any {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-1", namespace: "default", creationTimestamp: ago(10 * M), ...meta },
    spec: { containers: [{ name: "app", image: "nginx" }], ...spec },
    status,
  };
}

/** Ready, Status, Restarts. */
function cells(p: any): unknown[] {
  return printer.row(p, NOW).slice(1, 4);
}

const running = { running: { startedAt: ago(9 * M) } };

test("pod columns are the ones kubectl shows, wide ones at priority 1", () => {
  assert.equal(
    printer.columns.map((c) => [c.name, c.type, c.format, c.priority]),
    [
      ["Name", "string", "name", 0],
      ["Ready", "string", "", 0],
      ["Status", "string", "", 0],
      ["Restarts", "string", "", 0],
      ["Age", "string", "", 0],
      ["IP", "string", "", 1],
      ["Node", "string", "", 1],
      ["Nominated Node", "string", "", 1],
      ["Readiness Gates", "string", "", 1],
    ],
  );
  for (const c of printer.columns) assert.ok(c.description.length > 0, c.name);
});

test("a running pod shows ready containers, Running, its age and wide cells", () => {
  const p = pod(
    { nodeName: "node-1" },
    {
      phase: "Running",
      podIP: "10.42.0.5",
      podIPs: [{ ip: "10.42.0.5" }],
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [{ name: "app", ready: true, restartCount: 0, state: running }],
    },
  );
  assert.equal(printer.row(p, NOW), [
    "web-1",
    "1/1",
    "Running",
    "0",
    "10m",
    "10.42.0.5",
    "node-1",
    "<none>",
    "<none>",
  ]);
});

test("an unscheduled pod shows Pending and <none> for IP and node", () => {
  const p = pod({}, { phase: "Pending" });
  assert.equal(printer.row(p, NOW), [
    "web-1",
    "0/1",
    "Pending",
    "0",
    "10m",
    "<none>",
    "<none>",
    "<none>",
    "<none>",
  ]);
});

test("a waiting container's reason becomes the status", () => {
  for (const reason of ["ContainerCreating", "ErrImagePull", "ImagePullBackOff", "CrashLoopBackOff"]) {
    const p = pod(
      {},
      {
        phase: "Pending",
        containerStatuses: [{ name: "app", ready: false, restartCount: 0, state: { waiting: { reason } } }],
      },
    );
    assert.equal(cells(p), ["0/1", reason, "0"]);
  }
});

test("restarts show when the last one happened", () => {
  const p = pod(
    {},
    {
      phase: "Running",
      containerStatuses: [
        {
          name: "app",
          ready: false,
          restartCount: 5,
          state: { waiting: { reason: "CrashLoopBackOff" } },
          lastState: { terminated: { exitCode: 1, reason: "Error", finishedAt: ago(30 * S) } },
        },
      ],
    },
  );
  assert.equal(cells(p), ["0/1", "CrashLoopBackOff", "5 (30s ago)"]);
});

test("restarts across containers add up and the latest restart is shown", () => {
  const p = pod(
    { containers: [{ name: "a" }, { name: "b" }] },
    {
      phase: "Running",
      conditions: [{ type: "Ready", status: "True" }],
      containerStatuses: [
        {
          name: "a",
          ready: true,
          restartCount: 2,
          state: running,
          lastState: { terminated: { exitCode: 1, finishedAt: ago(3 * M) } },
        },
        {
          name: "b",
          ready: true,
          restartCount: 1,
          state: running,
          lastState: { terminated: { exitCode: 1, finishedAt: ago(125 * S) } },
        },
      ],
    },
  );
  assert.equal(cells(p), ["2/2", "Running", "3 (2m5s ago)"]);
});

test("a finished pod shows Completed, or the exit code or signal when there is no reason", () => {
  const done = (terminated: any, phase: string) =>
    pod(
      { restartPolicy: "Never" },
      { phase, containerStatuses: [{ name: "app", ready: false, restartCount: 0, state: { terminated } }] },
    );
  assert.equal(cells(done({ exitCode: 0, reason: "Completed" }, "Succeeded")), ["0/1", "Completed", "0"]);
  assert.equal(cells(done({ exitCode: 1, reason: "Error" }, "Failed")), ["0/1", "Error", "0"]);
  assert.equal(cells(done({ exitCode: 137 }, "Failed")), ["0/1", "ExitCode:137", "0"]);
  assert.equal(cells(done({ exitCode: 137, signal: 9 }, "Failed")), ["0/1", "Signal:9", "0"]);
});

test("init containers show progress and their failures", () => {
  const spec = { initContainers: [{ name: "i1" }, { name: "i2" }] };
  const withInit = (i2: any) =>
    pod(spec, {
      phase: "Pending",
      conditions: [{ type: "Initialized", status: "False" }],
      initContainerStatuses: [
        {
          name: "i1",
          ready: false,
          restartCount: 0,
          state: { terminated: { exitCode: 0, reason: "Completed" } },
        },
        { name: "i2", ready: false, restartCount: 0, ...i2 },
      ],
      containerStatuses: [
        { name: "app", ready: false, restartCount: 0, state: { waiting: { reason: "PodInitializing" } } },
      ],
    });
  assert.equal(cells(withInit({ state: running })), ["0/1", "Init:1/2", "0"]);
  assert.equal(cells(withInit({ state: { waiting: { reason: "PodInitializing" } } })), [
    "0/1",
    "Init:1/2",
    "0",
  ]);
  assert.equal(cells(withInit({ state: { waiting: { reason: "ErrImagePull" } } })), [
    "0/1",
    "Init:ErrImagePull",
    "0",
  ]);
  assert.equal(cells(withInit({ state: { terminated: { exitCode: 1, reason: "Error" } } })), [
    "0/1",
    "Init:Error",
    "0",
  ]);
  assert.equal(cells(withInit({ state: { terminated: { exitCode: 2 } } })), ["0/1", "Init:ExitCode:2", "0"]);
  assert.equal(cells(withInit({ state: { terminated: { exitCode: 2, signal: 15 } } })), [
    "0/1",
    "Init:Signal:15",
    "0",
  ]);
  assert.equal(
    cells(
      withInit({
        restartCount: 4,
        state: { waiting: { reason: "CrashLoopBackOff" } },
        lastState: { terminated: { exitCode: 1, finishedAt: ago(20 * S) } },
      }),
    ),
    ["0/1", "Init:CrashLoopBackOff", "4 (20s ago)"],
  );
});

test("a pod whose init containers finished shows PodInitializing while its containers start", () => {
  const p = pod(
    { initContainers: [{ name: "i1" }] },
    {
      phase: "Pending",
      conditions: [{ type: "Initialized", status: "True" }],
      initContainerStatuses: [
        { name: "i1", ready: false, restartCount: 0, state: { terminated: { exitCode: 0 } } },
      ],
      containerStatuses: [
        { name: "app", ready: false, restartCount: 0, state: { waiting: { reason: "PodInitializing" } } },
      ],
    },
  );
  assert.equal(cells(p), ["0/1", "PodInitializing", "0"]);
});

test("a started sidecar counts as a ready container and its restarts are kept", () => {
  const p = pod(
    { initContainers: [{ name: "proxy", restartPolicy: "Always" }] },
    {
      phase: "Running",
      conditions: [
        { type: "Initialized", status: "True" },
        { type: "Ready", status: "True" },
      ],
      initContainerStatuses: [{ name: "proxy", ready: true, started: true, restartCount: 2, state: running }],
      containerStatuses: [{ name: "app", ready: true, restartCount: 1, state: running }],
    },
  );
  assert.equal(cells(p), ["2/2", "Running", "3"]);
});

test("a pod with a completed container and a running one is Running when ready, else NotReady", () => {
  const mk = (ready: string) =>
    pod(
      { containers: [{ name: "a" }, { name: "b" }] },
      {
        phase: "Running",
        conditions: [{ type: "Ready", status: ready }],
        containerStatuses: [
          { name: "a", ready: true, restartCount: 0, state: running },
          {
            name: "b",
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 0, reason: "Completed" } },
          },
        ],
      },
    );
  assert.equal(cells(mk("True")), ["1/2", "Running", "0"]);
  assert.equal(cells(mk("False")), ["1/2", "NotReady", "0"]);
});

test("a pod being deleted shows Terminating, Unknown on a lost node, and keeps a terminal status", () => {
  const status = {
    phase: "Running",
    containerStatuses: [{ name: "app", ready: true, restartCount: 0, state: running }],
  };
  assert.equal(cells(pod({}, status, { deletionTimestamp: ago(5 * S) })), ["1/1", "Terminating", "0"]);
  assert.equal(cells(pod({}, { ...status, reason: "NodeLost" }, { deletionTimestamp: ago(5 * S) })), [
    "1/1",
    "Unknown",
    "0",
  ]);
  assert.equal(cells(pod({}, { ...status, reason: "NodeLost" })), ["1/1", "NodeLost", "0"]);
  const succeeded = {
    phase: "Succeeded",
    containerStatuses: [
      {
        name: "app",
        ready: false,
        restartCount: 0,
        state: { terminated: { exitCode: 0, reason: "Completed" } },
      },
    ],
  };
  assert.equal(cells(pod({}, succeeded, { deletionTimestamp: ago(5 * S) })), ["0/1", "Completed", "0"]);
});

test("a pod held by scheduling gates shows SchedulingGated", () => {
  const p = pod(
    { schedulingGates: [{ name: "example.com/wait" }] },
    { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "SchedulingGated" }] },
  );
  assert.equal(cells(p), ["0/1", "SchedulingGated", "0"]);
});

test("a pod status reason such as Evicted replaces the phase", () => {
  const p = pod({}, { phase: "Failed", reason: "Evicted", message: "The node was low on resource: memory." });
  assert.equal(cells(p), ["0/1", "Evicted", "0"]);
});

test("wide cells: nominated node and readiness gates", () => {
  const p = pod(
    { readinessGates: [{ conditionType: "example.com/lb" }, { conditionType: "example.com/dns" }] },
    {
      phase: "Pending",
      nominatedNodeName: "node-2",
      podIP: "10.42.0.9",
      conditions: [
        { type: "example.com/lb", status: "True" },
        { type: "example.com/dns", status: "False" },
      ],
    },
  );
  assert.equal(printer.row(p, NOW).slice(5), ["10.42.0.9", "<none>", "node-2", "1/2"]);
});

test("finished pods carry the Completed row condition a real server sends", () => {
  assert.equal(printer.conditions?.(pod({}, { phase: "Succeeded" })), [
    {
      type: "Completed",
      status: "True",
      reason: "Succeeded",
      message: "The pod has completed successfully.",
    },
  ]);
  assert.equal(printer.conditions?.(pod({}, { phase: "Failed" })), [
    { type: "Completed", status: "True", reason: "Failed", message: "The pod failed." },
  ]);
  assert.is(printer.conditions?.(pod({}, { phase: "Running" })), undefined);
});

test.run();
