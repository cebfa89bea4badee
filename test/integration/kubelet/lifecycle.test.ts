// Deletion, kubelet restarts, orphans, probes and the host network, with real containers.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { LABEL } from "../../../internal/kubelet";
import { eventsFor, execIn, getPod, makeNode, PODS, pod, runningPod, type TestNode, until } from "./support";

let node: TestNode;
test.before(async () => {
  node = await makeNode("life");
  await node.startKubelet();
});
test.after(async () => {
  await node?.cleanup();
});

function mountsOf(uid: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m) => m?.includes(uid));
}

const running = (name: string): Promise<any> => runningPod(node, name);

test("graceful deletion runs preStop, sends SIGTERM, then removes containers, sandbox, volumes and the pod", async () => {
  const out = join(node.dir, "term-out");
  await node.client.create(
    PODS,
    "default",
    pod(node, "graceful", {
      terminationGracePeriodSeconds: 20,
      volumes: [
        { name: "host", hostPath: { path: node.dir } },
        { name: "mem", emptyDir: { medium: "Memory", sizeLimit: "1Mi" } },
      ],
      containers: [
        {
          name: "c",
          command: [
            "sh",
            "-c",
            "trap 'echo got-term >> /host/term-out; exit 0' TERM; while true; do sleep 0.2; done",
          ],
          lifecycle: { preStop: { exec: { command: ["sh", "-c", "echo pre-stop >> /host/term-out"] } } },
          volumeMounts: [
            { name: "host", mountPath: "/host" },
            { name: "mem", mountPath: "/mem" },
          ],
        },
      ],
    }),
  );
  const p = await running("graceful");
  const uid = p.metadata!.uid as string;
  const id = p.status.containerStatuses[0].containerID.slice(6);
  assert.ok(mountsOf(uid).length > 0, "the Memory emptyDir and namespace handles are mounted");
  // The Memory emptyDir is a tmpfs capped at its sizeLimit.
  const df = await execIn(node, p.status.containerStatuses[0].containerID, ["df", "-k", "/mem"]);
  assert.match(df.split("\n")[1], /^tmpfs\s+1024\s/);
  const t0 = Date.now();
  const del = await node.client.delete(PODS, "default", "graceful");
  assert.ok(del.metadata?.deletionTimestamp, "the pod is marked, not removed at once");
  await until("pod gone", async () => !(await getPod(node, "graceful")));
  assert.ok(Date.now() - t0 < 15_000, "the container stopped on SIGTERM, before the grace period ran out");
  assert.is(readFileSync(out, "utf8"), "pre-stop\ngot-term\n", "preStop ran, then SIGTERM");
  assert.is(node.runtime.list().filter((c) => c.id === id).length, 0, "container removed");
  assert.equal(
    node.runtime.listSandboxes().filter((s) => s.id === uid),
    [],
    "sandbox removed",
  );
  assert.equal(mountsOf(uid), [], "no mounts left");
  assert.not.ok(existsSync(join(node.dataDir, "agent", "pods", uid)), "pod directory removed");
  assert.not.ok(node.runtime.cgroups.exists(`tsk/${node.nodeName}/pod-${uid}`), "pod cgroup removed");
  assert.ok((await eventsFor(node, "graceful")).some((e) => e.reason === "Killing"));
});

test("a kubelet restarted while a pod runs keeps the same container", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "survivor", { containers: [{ name: "c", command: ["sleep", "3600"] }] }),
  );
  const before = (await running("survivor")).status.containerStatuses[0];
  await node.stopKubelet();
  // Meanwhile a pod is force-deleted: its containers become orphans.
  await node.client.create(
    PODS,
    "default",
    pod(node, "orphan", { containers: [{ name: "c", command: ["sleep", "3600"] }] }),
  );
  await node.startKubelet();
  const orphan = await running("orphan");
  const orphanUid = orphan.metadata!.uid as string;
  await node.stopKubelet();
  await node.client.delete(PODS, "default", "orphan", { gracePeriodSeconds: 0 });
  assert.ok(
    node.runtime.list().some((c) => c.labels[LABEL.uid] === orphanUid),
    "orphan still there",
  );
  await node.startKubelet();
  // ready() resolves after orphans are removed
  assert.not.ok(
    node.runtime.list().some((c) => c.labels[LABEL.uid] === orphanUid),
    "orphan removed at start",
  );
  assert.not.ok(
    node.runtime.listSandboxes().some((s) => s.id === orphanUid),
    "orphan sandbox removed",
  );
  await new Promise((r) => setTimeout(r, 3000));
  const after = (await running("survivor")).status.containerStatuses[0];
  assert.is(after.containerID, before.containerID);
  assert.is(after.restartCount, 0);
  assert.is(node.runtime.status(after.containerID.slice(6)).state, "running");
});

test("a container whose monitor died is replaced", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "lost", { containers: [{ name: "c", command: ["sleep", "3600"] }] }),
  );
  const id = (await running("lost")).status.containerStatuses[0].containerID.slice(6);
  const st = JSON.parse(readFileSync(join(node.runtime.containersDir, id, "status"), "utf8"));
  process.kill(st.monitorPid, "SIGKILL");
  const p = await until("replaced", async () => {
    const p = await getPod(node, "lost");
    const cs = p?.status?.containerStatuses?.[0];
    return cs?.state?.running && cs.containerID !== `tsk://${id}` ? p : undefined;
  });
  assert.is(p.status.containerStatuses[0].restartCount, 1);
  assert.not.ok(
    node.runtime.list().some((c) => c.id === id),
    "the lost container is removed",
  );
});

test("an exec liveness probe that fails restarts the container", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "live", {
      containers: [
        {
          name: "c",
          command: ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600"],
          livenessProbe: {
            exec: { command: ["cat", "/tmp/healthy"] },
            periodSeconds: 1,
            failureThreshold: 2,
          },
        },
      ],
    }),
  );
  const first = (await running("live")).status.containerStatuses[0].containerID;
  const p = await until(
    "restart",
    async () => {
      const p = await getPod(node, "live");
      const cs = p?.status?.containerStatuses?.[0];
      return cs?.restartCount >= 1 && cs.state.running ? p : undefined;
    },
    40_000,
  );
  assert.is.not(p.status.containerStatuses[0].containerID, first);
  const evs = await eventsFor(node, "live");
  assert.ok(evs.some((e) => e.reason === "Unhealthy" && /Liveness probe failed/.test(e.message)));
  assert.ok(evs.some((e) => e.reason === "Killing" && /failed liveness probe/.test(e.message)));
});

test("a readiness probe flips the pod's Ready condition", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "ready", {
      containers: [
        {
          name: "c",
          command: ["sleep", "3600"],
          readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 },
        },
      ],
    }),
  );
  const p = await running("ready");
  await new Promise((r) => setTimeout(r, 1500));
  const notYet = await getPod(node, "ready");
  assert.is(notYet?.status.conditions.find((c: any) => c.type === "Ready").status, "False");
  assert.is(notYet?.status.containerStatuses[0].ready, false);
  await execIn(node, p.status.containerStatuses[0].containerID, ["touch", "/tmp/ready"]);
  await until("Ready", async () => {
    const p = await getPod(node, "ready");
    return p?.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True";
  });
  await execIn(node, p.status.containerStatuses[0].containerID, ["rm", "/tmp/ready"]);
  await until("not Ready again", async () => {
    const p = await getPod(node, "ready");
    return p?.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "False";
  });
});

test("a hostNetwork pod sees the node's interfaces; other pods only loopback", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "hostnet", { hostNetwork: true, containers: [{ name: "c", command: ["sleep", "3600"] }] }),
  );
  await node.client.create(
    PODS,
    "default",
    pod(node, "isolated", { containers: [{ name: "c", command: ["sleep", "3600"] }] }),
  );
  const h = await running("hostnet");
  const i = await running("isolated");
  assert.is(h.status.podIP, "127.0.0.1");
  const hostIfs = readFileSync("/proc/net/dev", "utf8")
    .split("\n")
    .slice(2)
    .map((l) => l.split(":")[0].trim())
    .filter(Boolean)
    .sort();
  const ifs = (out: string) =>
    out
      .split("\n")
      .slice(2)
      .map((l) => l.split(":")[0].trim())
      .filter(Boolean)
      .sort();
  assert.equal(
    ifs(await execIn(node, h.status.containerStatuses[0].containerID, ["cat", "/proc/net/dev"])),
    hostIfs,
  );
  assert.equal(ifs(await execIn(node, i.status.containerStatuses[0].containerID, ["cat", "/proc/net/dev"])), [
    "lo",
  ]);
});

test("a startup probe holds readiness back until it passes", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "slowstart", {
      containers: [
        {
          name: "c",
          command: ["sleep", "3600"],
          startupProbe: {
            exec: { command: ["cat", "/tmp/started"] },
            periodSeconds: 1,
            failureThreshold: 60,
          },
          readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1 },
        },
      ],
    }),
  );
  const p = await running("slowstart");
  await new Promise((r) => setTimeout(r, 2500));
  const before = (await getPod(node, "slowstart"))?.status.containerStatuses[0];
  assert.is(before.started, false);
  assert.is(before.ready, false);
  await execIn(node, p.status.containerStatuses[0].containerID, ["touch", "/tmp/started"]);
  const after = await until("started and ready", async () => {
    const cs = (await getPod(node, "slowstart"))?.status?.containerStatuses?.[0];
    return cs?.started && cs.ready ? cs : undefined;
  });
  assert.is(after.restartCount, 0);
});

test("a tcpSocket readiness probe sees a server inside the pod's own network namespace", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "tcp", {
      containers: [
        {
          name: "c",
          command: ["sh", "-c", "sleep 4; mkdir -p /www; exec httpd -f -p 7777 -h /www"],
          readinessProbe: { tcpSocket: { port: 7777 }, periodSeconds: 1 },
        },
      ],
    }),
  );
  await running("tcp");
  const notYet = await getPod(node, "tcp");
  assert.is(notYet?.status.containerStatuses[0].ready, false);
  await until(
    "Ready",
    async () => (await getPod(node, "tcp"))?.status?.containerStatuses?.[0]?.ready === true,
  );
});

test("an httpGet readiness probe reaches a host-network pod's server", async () => {
  const port = 20000 + (process.pid % 20000);
  await node.client.create(
    PODS,
    "default",
    pod(node, "httpd", {
      hostNetwork: true,
      containers: [
        {
          name: "web",
          command: [
            "sh",
            "-c",
            `mkdir -p /www && echo ok > /www/healthz && httpd -f -p 127.0.0.1:${port} -h /www`,
          ],
          ports: [{ name: "http", containerPort: port }],
          readinessProbe: { httpGet: { path: "/healthz", port: "http" }, periodSeconds: 1 },
        },
      ],
    }),
  );
  await until("Ready", async () => {
    const p = await getPod(node, "httpd");
    return p?.status?.conditions?.find((c: any) => c.type === "Ready")?.status === "True";
  });
  await node.client.delete(PODS, "default", "httpd", { gracePeriodSeconds: 0 });
});

test.run();
