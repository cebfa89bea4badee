// The kubelet runs pods as real containers and reports what a user sees with kubectl:
// phase, conditions, container states, restarts, events; node registration and lease.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  CONFIGMAPS,
  eventsFor,
  execIn,
  getPod,
  LEASES,
  makeNode,
  NODES,
  PODS,
  pod,
  SECRETS,
  type TestNode,
  until,
} from "./support";

let node: TestNode;
test.before(async () => {
  node = await makeNode("pods");
  await node.startKubelet();
});
test.after(async () => {
  await node?.cleanup();
});

test("the node registers with capacity, labels, conditions and a lease", async () => {
  const n = await node.client.get(NODES, undefined, node.nodeName);
  assert.is(n.metadata?.labels["kubernetes.io/hostname"], node.nodeName);
  assert.is(n.metadata?.labels["kubernetes.io/os"], "linux");
  assert.ok(Number(n.status.capacity.cpu) >= 1);
  assert.is(n.status.capacity.pods, "110");
  assert.match(n.status.capacity.memory, /^\d+Ki$/);
  assert.is(n.status.nodeInfo.containerRuntimeVersion, "tsk://0.1.0");
  assert.match(n.status.nodeInfo.kubeletVersion, /^v1\.32\./);
  const ready = n.status.conditions.find((c: any) => c.type === "Ready");
  assert.is(ready.status, "True");
  for (const t of ["MemoryPressure", "DiskPressure", "PIDPressure"])
    assert.ok(n.status.conditions.some((c: any) => c.type === t && c.lastHeartbeatTime));
  assert.ok(n.status.addresses.some((a: any) => a.type === "InternalIP" && a.address === "127.0.0.1"));
  const img = n.status.images.find((i: any) => i.names.includes("docker.io/library/busybox:latest"));
  assert.ok(img, "the node lists its images for the scheduler");
  assert.ok(img.sizeBytes > 0);
  assert.ok(img.names.some((x: string) => /^docker\.io\/library\/busybox@sha256:[0-9a-f]{64}$/.test(x)));
  const lease = await node.client.get(LEASES, "kube-node-lease", node.nodeName);
  assert.is(lease.spec.holderIdentity, node.nodeName);
});

test("a pod runs and reaches Running with container status, conditions and events", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "web", { containers: [{ name: "main", command: ["sh", "-c", "echo hi; sleep 3600"] }] }),
  );
  const p = await until("Running", async () => {
    const p = await getPod(node, "web");
    return p?.status?.phase === "Running" && p.status.containerStatuses?.[0]?.ready ? p : undefined;
  });
  const cs = p.status.containerStatuses[0];
  assert.is(cs.name, "main");
  assert.match(cs.containerID, /^tsk:\/\/[0-9a-f]{64}$/);
  assert.match(cs.imageID, /^sha256:/);
  assert.is(cs.restartCount, 0);
  assert.is(cs.started, true);
  assert.ok(cs.state.running.startedAt);
  assert.is(p.status.hostIP, "127.0.0.1");
  assert.ok(p.status.startTime);
  assert.is(p.status.qosClass, "BestEffort");
  for (const t of ["PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready", "PodScheduled"])
    assert.is(p.status.conditions.find((c: any) => c.type === t)?.status, "True", t);
  const id = cs.containerID.slice("tsk://".length);
  assert.is(node.runtime.status(id).state, "running");
  const reasons = (
    await until("events", async () => {
      const evs = await eventsFor(node, "web");
      return evs.some((e) => e.reason === "Started") ? evs : undefined;
    })
  ).map((e) => e.reason);
  for (const r of ["Pulled", "Created", "Started"])
    assert.ok(reasons.includes(r), `event ${r} in ${reasons}`);
  const started = (await eventsFor(node, "web")).find((e) => e.reason === "Started")!;
  assert.is(started.source.component, "kubelet");
  assert.is(started.source.host, node.nodeName);
  assert.is(started.involvedObject.fieldPath, "spec.containers{main}");
  // ClusterFirst DNS
  const resolv = await execIn(node, cs.containerID, ["cat", "/etc/resolv.conf"]);
  assert.match(resolv, /nameserver 10\.43\.0\.10/);
  assert.match(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  assert.match(await execIn(node, cs.containerID, ["hostname"]), /^web\n$/);
});

test("command, args, env with $(VAR) expansion, workingDir and resources reach the container", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "envs", {
      containers: [
        {
          name: "c",
          command: ["sh", "-c"],
          args: ["echo $(GREETING) > /tmp/out; sleep 3600"],
          workingDir: "/tmp",
          env: [
            { name: "NAME", value: "world" },
            { name: "GREETING", value: "hello-$(NAME)" },
            { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
            { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
          ],
          resources: { limits: { cpu: "500m", memory: "64Mi" }, requests: { cpu: "500m", memory: "64Mi" } },
        },
      ],
    }),
  );
  const p = await until("Running", async () => {
    const p = await getPod(node, "envs");
    return p?.status?.phase === "Running" ? p : undefined;
  });
  assert.is(p.status.qosClass, "Guaranteed");
  const id = p.status.containerStatuses[0].containerID;
  const env = await execIn(node, id, ["env"]);
  assert.match(env, /^GREETING=hello-world$/m);
  assert.match(env, /^POD=envs$/m);
  assert.match(env, new RegExp(`^NODE=${node.nodeName}$`, "m"));
  assert.match(env, /^MEM=64$/m);
  assert.is(await execIn(node, id, ["pwd"]), "/tmp\n");
  assert.is(await execIn(node, id, ["cat", "/tmp/out"]), "hello-world\n");
  // The limits are on the container's cgroup, and on the pod's (read from the host's cgroupfs).
  const rid = id.slice(6);
  const memLimit = (path: string) => {
    const dirs = node.runtime.cgroups.dirs(path);
    const v1 = dirs.find((d) => /\/memory(,[^/]*)?\//.test(d));
    return readFileSync(v1 ? join(v1, "memory.limit_in_bytes") : join(dirs[0], "memory.max"), "utf8").trim();
  };
  const pcg = `tsk/${node.nodeName}/pod-${p.metadata?.uid}`;
  assert.is(memLimit(`${pcg}/${rid}`), String(64 * 1024 * 1024));
  assert.is(memLimit(pcg), String(64 * 1024 * 1024));
  assert.ok(node.runtime.cgroups.exists(`tsk/${node.nodeName}/pod-${p.metadata?.uid}/${rid}`));
});

test("a ConfigMap and a Secret arrive as env and as files", async () => {
  await node.client.create(CONFIGMAPS, "default", {
    metadata: { name: "cfg" },
    data: { color: "blue", "app.conf": "port=8080\n" },
  });
  await node.client.create(SECRETS, "default", {
    metadata: { name: "sec" },
    data: { password: Buffer.from("s3cret").toString("base64") },
  });
  await node.client.create(
    PODS,
    "default",
    pod(
      node,
      "cfgpod",
      {
        volumes: [
          { name: "cfg", configMap: { name: "cfg" } },
          { name: "sec", secret: { secretName: "sec" } },
          { name: "scratch", emptyDir: {} },
          {
            name: "info",
            downwardAPI: { items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }] },
          },
        ],
        containers: [
          {
            name: "c",
            command: ["sleep", "3600"],
            env: [
              { name: "COLOR", valueFrom: { configMapKeyRef: { name: "cfg", key: "color" } } },
              { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "sec", key: "password" } } },
            ],
            envFrom: [{ configMapRef: { name: "cfg" }, prefix: "CFG_" }],
            volumeMounts: [
              { name: "cfg", mountPath: "/etc/cfg", readOnly: true },
              { name: "sec", mountPath: "/etc/sec", readOnly: true },
              { name: "scratch", mountPath: "/scratch" },
              { name: "scratch", mountPath: "/sub", subPath: "inner" },
              { name: "info", mountPath: "/etc/podinfo" },
            ],
          },
        ],
      },
      { labels: { app: "demo" } },
    ),
  );
  const p = await until("Running", async () => {
    const p = await getPod(node, "cfgpod");
    return p?.status?.phase === "Running" ? p : undefined;
  });
  const id = p.status.containerStatuses[0].containerID;
  const env = await execIn(node, id, ["env"]);
  assert.match(env, /^COLOR=blue$/m);
  assert.match(env, /^PASSWORD=s3cret$/m);
  assert.match(env, /^CFG_color=blue$/m);
  assert.is(await execIn(node, id, ["cat", "/etc/cfg/app.conf"]), "port=8080\n");
  assert.is(await execIn(node, id, ["cat", "/etc/sec/password"]), "s3cret");
  assert.is(await execIn(node, id, ["cat", "/etc/podinfo/labels"]), 'app="demo"');
  // the secret is on tmpfs in the container's view, and read-only
  assert.match(await execIn(node, id, ["sh", "-c", "grep ' /etc/sec ' /proc/mounts"]), /tmpfs .*ro[ ,]/);
  await execIn(node, id, ["sh", "-c", "echo x > /sub/f"]);
  assert.is(await execIn(node, id, ["cat", "/scratch/inner/f"]), "x\n");
});

test("a ConfigMap update reaches the running container's files; its deletion leaves them in place", async () => {
  await node.client.create(CONFIGMAPS, "default", { metadata: { name: "live-cfg" }, data: { v: "one" } });
  await node.client.create(
    PODS,
    "default",
    pod(node, "live-cfg", {
      volumes: [{ name: "c", configMap: { name: "live-cfg" } }],
      containers: [
        { name: "c", command: ["sleep", "3600"], volumeMounts: [{ name: "c", mountPath: "/cfg" }] },
      ],
    }),
  );
  const p = await until("Running", async () => {
    const p = await getPod(node, "live-cfg");
    return p?.status?.phase === "Running" ? p : undefined;
  });
  const id = p.status.containerStatuses[0].containerID;
  assert.is(await execIn(node, id, ["cat", "/cfg/v"]), "one");
  await node.client.patch(CONFIGMAPS, "default", "live-cfg", "merge", { data: { v: "two" } });
  await until("updated file", async () => (await execIn(node, id, ["cat", "/cfg/v"])) === "two");
  await node.client.delete(CONFIGMAPS, "default", "live-cfg");
  await until("FailedMount", async () =>
    (await eventsFor(node, "live-cfg")).some((e) => e.reason === "FailedMount" && /live-cfg/.test(e.message)),
  );
  const after = await getPod(node, "live-cfg");
  assert.is(after?.status.phase, "Running");
  assert.is(after?.status.containerStatuses[0].containerID, id);
  assert.is(await execIn(node, id, ["cat", "/cfg/v"]), "two");
});

test("restartPolicy Never: exit 0 gives Succeeded, exit 3 gives Failed", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "ok-once", { restartPolicy: "Never", containers: [{ name: "c", command: ["true"] }] }),
  );
  await node.client.create(
    PODS,
    "default",
    pod(node, "fail-once", {
      restartPolicy: "Never",
      containers: [{ name: "c", command: ["sh", "-c", "exit 3"] }],
    }),
  );
  const ok = await until("Succeeded", async () => {
    const p = await getPod(node, "ok-once");
    return p?.status?.phase === "Succeeded" ? p : undefined;
  });
  assert.is(ok.status.containerStatuses[0].state.terminated.reason, "Completed");
  assert.is(ok.status.containerStatuses[0].state.terminated.exitCode, 0);
  const bad = await until("Failed", async () => {
    const p = await getPod(node, "fail-once");
    return p?.status?.phase === "Failed" ? p : undefined;
  });
  const t = bad.status.containerStatuses[0].state.terminated;
  assert.is(t.exitCode, 3);
  assert.is(t.reason, "Error");
  assert.is(bad.status.containerStatuses[0].restartCount, 0);
  assert.is(bad.status.conditions.find((c: any) => c.type === "Ready").reason, "PodCompleted");
});

test("restartPolicy OnFailure restarts a failing container until it succeeds", async () => {
  // Fails on the first run, succeeds once the emptyDir holds the marker.
  await node.client.create(
    PODS,
    "default",
    pod(node, "onfail", {
      restartPolicy: "OnFailure",
      volumes: [{ name: "state", emptyDir: {} }],
      containers: [
        {
          name: "c",
          command: ["sh", "-c", "if [ -f /state/ran ]; then exit 0; fi; touch /state/ran; exit 1"],
          volumeMounts: [{ name: "state", mountPath: "/state" }],
        },
      ],
    }),
  );
  const p = await until("Succeeded", async () => {
    const p = await getPod(node, "onfail");
    return p?.status?.phase === "Succeeded" ? p : undefined;
  });
  const cs = p.status.containerStatuses[0];
  assert.is(cs.restartCount, 1);
  assert.is(cs.lastState.terminated.exitCode, 1);
  assert.is(cs.state.terminated.exitCode, 0);
});

test("restartPolicy Always: a crashing container goes into CrashLoopBackOff with growing restarts", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "crash", { containers: [{ name: "c", command: ["sh", "-c", "exit 2"] }] }),
  );
  const p = await until("CrashLoopBackOff", async () => {
    const p = await getPod(node, "crash");
    const cs = p?.status?.containerStatuses?.[0];
    return cs?.state?.waiting?.reason === "CrashLoopBackOff" && cs.restartCount >= 1 ? p : undefined;
  });
  assert.is(p.status.phase, "Running");
  const cs = p.status.containerStatuses[0];
  assert.is(cs.lastState.terminated.exitCode, 2);
  assert.match(cs.state.waiting.message, /back-off \d+s restarting failed container=c/);
  await until("a second restart", async () => {
    const p = await getPod(node, "crash");
    return (p?.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2;
  });
  assert.ok((await eventsFor(node, "crash")).some((e) => e.reason === "BackOff" && e.type === "Warning"));
});

test("activeDeadlineSeconds stops the pod and fails it with DeadlineExceeded", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "deadline", {
      activeDeadlineSeconds: 2,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: "c", command: ["sleep", "3600"] }],
    }),
  );
  const p = await until("Failed", async () => {
    const p = await getPod(node, "deadline");
    return p?.status?.phase === "Failed" ? p : undefined;
  });
  assert.is(p.status.reason, "DeadlineExceeded");
  assert.match(p.status.message, /longer than the specified deadline/);
  assert.ok(p.status.containerStatuses[0].state.terminated, "the container was stopped");
  assert.is(node.runtime.status(p.status.containerStatuses[0].containerID.slice(6)).state, "exited");
});

test("init containers run in order before the containers", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "inits", {
      volumes: [{ name: "w", emptyDir: {} }],
      initContainers: [
        {
          name: "one",
          command: ["sh", "-c", "echo one >> /w/log"],
          volumeMounts: [{ name: "w", mountPath: "/w" }],
        },
        {
          name: "two",
          command: ["sh", "-c", "echo two >> /w/log"],
          volumeMounts: [{ name: "w", mountPath: "/w" }],
        },
      ],
      containers: [
        {
          name: "main",
          command: ["sh", "-c", "echo main >> /w/log; sleep 3600"],
          volumeMounts: [{ name: "w", mountPath: "/w" }],
        },
      ],
    }),
  );
  const p = await until("Running", async () => {
    const p = await getPod(node, "inits");
    return p?.status?.phase === "Running" ? p : undefined;
  });
  assert.equal(
    p.status.initContainerStatuses.map((s: any) => s.state.terminated?.reason),
    ["Completed", "Completed"],
  );
  const id = p.status.containerStatuses[0].containerID;
  await until("main wrote", async () => (await execIn(node, id, ["cat", "/w/log"])).includes("main"));
  assert.is(await execIn(node, id, ["cat", "/w/log"]), "one\ntwo\nmain\n");
});

test("securityContext runAsUser/runAsGroup set the process's user; runAsNonRoot refuses root", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "user", {
      securityContext: { runAsUser: 1000, runAsGroup: 2000 },
      containers: [{ name: "c", command: ["sleep", "3600"] }],
    }),
  );
  await node.client.create(
    PODS,
    "default",
    pod(node, "nonroot", {
      containers: [{ name: "c", command: ["sleep", "3600"], securityContext: { runAsNonRoot: true } }],
    }),
  );
  const p = await until("Running", async () => {
    const p = await getPod(node, "user");
    return p?.status?.phase === "Running" ? p : undefined;
  });
  const out = await execIn(node, p.status.containerStatuses[0].containerID, [
    "sh",
    "-c",
    "grep -E '^(Uid|Gid):' /proc/1/status",
  ]);
  assert.match(out, /^Uid:\s+1000\s/m);
  assert.match(out, /^Gid:\s+2000\s/m);
  const w = await until("config error", async () => {
    const p = await getPod(node, "nonroot");
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError"
      ? p.status.containerStatuses[0].state.waiting
      : undefined;
  });
  assert.is(w.message, "container has runAsNonRoot and image will run as root");
});

test("a pod waiting for a missing ConfigMap starts once it exists", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "late-cfg", {
      containers: [
        {
          name: "c",
          command: ["sleep", "3600"],
          env: [{ name: "X", valueFrom: { configMapKeyRef: { name: "late", key: "x" } } }],
        },
      ],
    }),
  );
  const w = await until("config error", async () => {
    const p = await getPod(node, "late-cfg");
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "CreateContainerConfigError"
      ? p.status.containerStatuses[0].state.waiting
      : undefined;
  });
  assert.is(w.message, 'configmap "late" not found');
  await node.client.create(CONFIGMAPS, "default", { metadata: { name: "late" }, data: { x: "here" } });
  const p = await until("Running", async () => {
    const p = await getPod(node, "late-cfg");
    return p?.status?.phase === "Running" ? p : undefined;
  });
  assert.match(await execIn(node, p.status.containerStatuses[0].containerID, ["env"]), /^X=here$/m);
});

test("a missing image with pull policy Never waits with ErrImageNeverPull", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "noimg", { containers: [{ name: "c", image: "nothere:v1", imagePullPolicy: "Never" }] }),
  );
  const p = await until("waiting reason", async () => {
    const p = await getPod(node, "noimg");
    return p?.status?.containerStatuses?.[0]?.state?.waiting?.reason === "ErrImageNeverPull" ? p : undefined;
  });
  assert.is(p.status.phase, "Pending");
  assert.match(p.status.containerStatuses[0].state.waiting.message, /nothere:v1.*not present/);
});

test.run();
