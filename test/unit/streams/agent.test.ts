// The agent side's pure pieces: which runtime container a stream means, how log
// entries are printed, and runc's wording for a command that cannot start.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ContainerStatus } from "../../../internal/runtime";
import { formatEntry, instancesOf, startFailure } from "../../../internal/streams/agent";

function ctr(id: string, labels: Record<string, string>): ContainerStatus {
  return {
    id,
    name: id,
    image: "busybox",
    state: "running",
    pid: 1,
    createdAt: "",
    oomKilled: false,
    command: [],
    labels,
  };
}

const pod = (uid: string, name: string, container: string, attempt: number) => ({
  "io.kubernetes.pod.uid": uid,
  "io.kubernetes.pod.name": name,
  "io.kubernetes.pod.namespace": "default",
  "io.kubernetes.container.name": container,
  "io.kubernetes.container.attempt": String(attempt),
});

test("a pod's container instances are found by uid and name, newest attempt first", () => {
  const rt = {
    list: () => [
      ctr("a0", pod("u1", "p", "main", 0)),
      ctr("a2", pod("u1", "p", "main", 2)),
      ctr("a1", pod("u1", "p", "main", 1)),
      ctr("s0", pod("u1", "p", "side", 0)),
      ctr("old", pod("u0", "p", "main", 5)),
    ],
  };
  assert.equal(
    instancesOf(rt, { uid: "u1", container: "main" }).map((c) => c.id),
    ["a2", "a1", "a0"],
  );
  // Without a uid, namespace and name decide (a recreated pod's old containers included).
  assert.equal(
    instancesOf(rt, { namespace: "default", pod: "p", container: "main" }).map((c) => c.id),
    ["old", "a2", "a1", "a0"],
  );
  assert.equal(instancesOf(rt, { uid: "u1", container: "nope" }), []);
});

test("log entries print as lines, partial ones without a newline, timestamps on request", () => {
  const e = { time: "2026-11-26T03:00:00.123456789Z", stream: "stdout" as const, full: true, text: "hi" };
  assert.is(formatEntry(e, false), "hi\n");
  assert.is(formatEntry(e, true), "2026-11-26T03:00:00.123456789Z hi\n");
  assert.is(formatEntry({ ...e, full: false }, false), "hi");
});

test("a command that cannot start reads like runc's message", () => {
  assert.is(
    startFailure("tsk-monitor exec: exec nope: ENOENT\n"),
    'OCI runtime exec failed: exec failed: unable to start container process: exec: "nope": executable file not found in $PATH: unknown\n',
  );
  assert.match(startFailure("tsk-monitor exec: exec /etc/passwd: EACCES\n") ?? "", "permission denied");
  assert.is(startFailure("ordinary stderr\n"), undefined);
});

test.run();
