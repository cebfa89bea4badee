// End to end on a real three-node cluster: `tsk server` with its embedded agent plus
// two `tsk agent`s, each in its own network namespace, joined with the token; pods
// applied with the real kubectl run as real busybox containers. The workloads that take
// time (probes, restarts, back-off) are applied once up front, so the tests below wait
// on them concurrently.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type AgentNode, type Cluster, startCluster } from "../support/multinode";

let c: Cluster;
let a1: AgentNode; // labelled e2e/zone=a
let a2: AgentNode; // tainted e2e/dedicated=db:NoSchedule

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(500);
  }
}

function kubectl(args: string[], input?: string): string {
  const r = c.kubectl(args, { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function pod(name: string): any {
  const r = c.kubectl(["get", "pod", name, "-o", "json"]);
  return r.code === 0 ? JSON.parse(r.stdout) : undefined;
}

function main(p: any): any {
  return p?.status?.containerStatuses?.[0];
}

function running(name: string, timeoutMs = 60_000): Promise<any> {
  return until(
    `pod ${name} Running`,
    () => {
      const p = pod(name);
      return p?.status?.phase === "Running" && main(p)?.state?.running ? p : undefined;
    },
    timeoutMs,
  );
}

/** The STATUS column of `kubectl get pod`, as a user reads it. */
function statusColumn(name: string): string {
  const line = c.kubectl(["get", "pod", name, "--no-headers"]).stdout.trim();
  return line.split(/\s+/)[2] ?? "";
}

interface PodOpts {
  command: string;
  nodeSelector?: Record<string, string>;
  tolerate?: boolean;
  restartPolicy?: string;
  extra?: Record<string, unknown>;
  container?: Record<string, unknown>;
}

function podManifest(name: string, o: PodOpts): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { e2e: "cluster" } },
    spec: {
      terminationGracePeriodSeconds: 1,
      ...(o.restartPolicy ? { restartPolicy: o.restartPolicy } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.tolerate
        ? { tolerations: [{ key: "e2e/dedicated", operator: "Equal", value: "db", effect: "NoSchedule" }] }
        : {}),
      containers: [
        {
          name: "main",
          image: "busybox:latest",
          imagePullPolicy: "IfNotPresent",
          command: ["sh", "-c", o.command],
          ...(o.container ?? {}),
        },
      ],
      ...(o.extra ?? {}),
    },
  });
}

function apply(name: string, o: PodOpts): void {
  kubectl(["apply", "-f", "-"], podManifest(name, o));
}

function events(name: string): any[] {
  const out = kubectl(["get", "events", "--field-selector", `involvedObject.name=${name}`, "-o", "json"]);
  return JSON.parse(out).items;
}

async function ctrExec(node: { dataDir: string; node: string }, containerID: string, cmd: string[]) {
  const id = containerID.replace(/^tsk:\/\//, "");
  return c.tsk(["ctr", "exec", "--data-dir", node.dataDir, "--node-name", node.node, id, ...cmd]);
}

test.before(async () => {
  c = await startCluster({
    agents: [
      { name: "a1", labels: ["e2e/zone=a"] },
      { name: "a2", taints: ["e2e/dedicated=db:NoSchedule"] },
    ],
  });
  [a1, a2] = c.agents;
  // Slow outcomes first, so their clocks run while the quicker tests do. They run on
  // the server's own node (its embedded agent), so the joined agents' containers stay
  // put for the restart test.
  const onServer = { "kubernetes.io/hostname": c.serverNode };
  apply("liveness", {
    command: "touch /tmp/healthy; sleep 4; rm /tmp/healthy; sleep 600",
    nodeSelector: onServer,
    container: {
      livenessProbe: {
        exec: { command: ["cat", "/tmp/healthy"] },
        initialDelaySeconds: 1,
        periodSeconds: 1,
        failureThreshold: 1,
      },
    },
  });
  apply("never-ok", { command: "exit 0", restartPolicy: "Never", nodeSelector: onServer });
  apply("never-fail", { command: "exit 3", restartPolicy: "Never", nodeSelector: onServer });
  apply("onfailure-fail", { command: "sleep 1; exit 1", restartPolicy: "OnFailure", nodeSelector: onServer });
  apply("always-crash", { command: "exit 1", restartPolicy: "Always", nodeSelector: onServer });
});

test.after(async () => {
  await c?.cleanup();
});

test("all three nodes join and are Ready, with their labels and taints", () => {
  const nodes = JSON.parse(kubectl(["get", "nodes", "-o", "json"])).items;
  const byName = new Map<string, any>(nodes.map((n: any) => [n.metadata.name, n]));
  for (const n of c.nodes()) {
    const node = byName.get(n);
    assert.ok(node, `node ${n} registered`);
    const ready = node.status.conditions.find((x: any) => x.type === "Ready");
    assert.is(ready?.status, "True", `${n} Ready`);
  }
  assert.is(byName.get(a1.node).metadata.labels["e2e/zone"], "a");
  assert.equal(byName.get(a2.node).spec.taints, [
    { key: "e2e/dedicated", value: "db", effect: "NoSchedule" },
  ]);
  assert.ok(
    byName.get(a1.node).status.addresses.some((a: any) => a.address === a1.ip),
    "a1 reports its --node-ip",
  );
  assert.ok(byName.get(c.serverNode).metadata.labels["node-role.kubernetes.io/control-plane"] !== undefined);
});

test("a pod with a nodeSelector runs on the labelled node", async () => {
  apply("selected", { command: "sleep 600", nodeSelector: { "e2e/zone": "a" } });
  const p = await running("selected");
  assert.is(p.spec.nodeName, a1.node);
  assert.is(p.status.hostIP, a1.ip);
});

test("only a pod that tolerates a taint lands on the tainted node; the other says why", async () => {
  const sel = { "kubernetes.io/hostname": a2.node };
  apply("tolerant", { command: "sleep 600", nodeSelector: sel, tolerate: true });
  apply("intolerant", { command: "sleep 600", nodeSelector: sel });
  const p = await running("tolerant");
  assert.is(p.spec.nodeName, a2.node);
  const describe = await until("FailedScheduling in describe", () => {
    const d = c.kubectl(["describe", "pod", "intolerant"]).stdout;
    return /FailedScheduling/.test(d) ? d : undefined;
  });
  assert.match(describe, /0\/3 nodes are available/);
  assert.match(describe, /untolerated taint/);
  assert.match(describe, /didn't match Pod's node affinity\/selector/);
  const q = pod("intolerant");
  assert.not.ok(q.spec.nodeName, "never bound");
  assert.is(q.status.phase, "Pending");
  const cond = q.status.conditions.find((x: any) => x.type === "PodScheduled");
  assert.is(cond?.status, "False");
  assert.is(cond?.reason, "Unschedulable");
  kubectl(["delete", "pod", "intolerant", "--wait=false"]);
});

test("CPU requests spread pods that cannot share a node; the one that fits nowhere says Insufficient cpu", async () => {
  const nodes = JSON.parse(kubectl(["get", "nodes", "-o", "json"])).items;
  const milli = (q: string) => (q.endsWith("m") ? Number(q.slice(0, -1)) : Number(q) * 1000);
  const smallest = Math.min(...nodes.map((n: any) => milli(n.status.allocatable.cpu)));
  // More than half of any node: two never fit on one.
  const request = `${Math.floor(smallest * 0.6)}m`;
  const big = (i: number) =>
    podManifest(`big-${i}`, {
      command: "sleep 600",
      tolerate: true,
      container: { resources: { requests: { cpu: request } } },
    });
  kubectl(
    ["apply", "-f", "-"],
    JSON.stringify({ apiVersion: "v1", kind: "List", items: [0, 1, 2].map((i) => JSON.parse(big(i))) }),
  );
  const placed = await Promise.all([0, 1, 2].map((i) => running(`big-${i}`)));
  const where = placed.map((p) => p.spec.nodeName).sort();
  assert.equal(where, [...c.nodes()].sort(), `one big pod per node (request ${request} of ${smallest}m)`);
  kubectl(["apply", "-f", "-"], big(3));
  const describe = await until("FailedScheduling for big-3", () => {
    const d = c.kubectl(["describe", "pod", "big-3"]).stdout;
    return /FailedScheduling/.test(d) ? d : undefined;
  });
  assert.match(describe, /0\/3 nodes are available: 3 Insufficient cpu/);
  kubectl(["delete", "pod", "big-0", "big-1", "big-2", "big-3", "--wait=false"]);
});

test("a failing exec liveness probe restarts the container", async () => {
  const p = await until(
    "liveness restart",
    () => {
      const q = pod("liveness");
      return (main(q)?.restartCount ?? 0) >= 1 ? q : undefined;
    },
    60_000,
  );
  assert.ok(main(p).lastState?.terminated, "the killed container shows as lastState.terminated");
  const ev = events("liveness");
  assert.ok(
    ev.some((e) => e.reason === "Unhealthy" && /Liveness probe failed/.test(e.message)),
    `Unhealthy event: ${JSON.stringify(ev.map((e) => [e.reason, e.message]))}`,
  );
  assert.ok(
    ev.some((e) => e.reason === "Killing"),
    "Killing event",
  );
  await running("liveness");
});

test("restartPolicy Never: exit 0 shows Completed, exit 3 shows Error, neither restarts", async () => {
  await until("never-ok Succeeded", () => pod("never-ok")?.status?.phase === "Succeeded");
  await until("never-fail Failed", () => pod("never-fail")?.status?.phase === "Failed");
  assert.is(statusColumn("never-ok"), "Completed");
  assert.is(statusColumn("never-fail"), "Error");
  const ok = main(pod("never-ok"));
  const bad = main(pod("never-fail"));
  assert.is(ok.state.terminated.exitCode, 0);
  assert.is(ok.state.terminated.reason, "Completed");
  assert.is(bad.state.terminated.exitCode, 3);
  assert.is(bad.state.terminated.reason, "Error");
  assert.is(ok.restartCount, 0);
  assert.is(bad.restartCount, 0);
});

test("restartPolicy OnFailure restarts a failing container", async () => {
  const p = await until("onfailure-fail restarted", () => {
    const q = pod("onfailure-fail");
    return (main(q)?.restartCount ?? 0) >= 1 ? q : undefined;
  });
  assert.is.not(p.status.phase, "Failed");
  assert.is(main(p).lastState?.terminated?.exitCode, 1);
});

test("restartPolicy Always: a crashing container goes into CrashLoopBackOff", async () => {
  const p = await until(
    "always-crash in CrashLoopBackOff",
    () => {
      const q = pod("always-crash");
      return main(q)?.state?.waiting?.reason === "CrashLoopBackOff" ? q : undefined;
    },
    60_000,
  );
  assert.ok(main(p).restartCount >= 1);
  assert.ok(
    events("always-crash").some((e) => e.reason === "BackOff"),
    "BackOff event",
  );
});

test("a ConfigMap and a Secret arrive as env and as files in a container on a joined node", async () => {
  kubectl(["create", "configmap", "e2e-config", "--from-literal=greeting=hello from a configmap"]);
  kubectl(["create", "secret", "generic", "e2e-secret", "--from-literal=password=s3cr3t-Pa55"]);
  apply("cfg", {
    command: 'echo "env:$GREETING:$PASSWORD"; sleep 600',
    nodeSelector: { "kubernetes.io/hostname": a1.node },
    container: {
      env: [
        { name: "GREETING", valueFrom: { configMapKeyRef: { name: "e2e-config", key: "greeting" } } },
        { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "e2e-secret", key: "password" } } },
      ],
      volumeMounts: [
        { name: "cm", mountPath: "/etc/cm" },
        { name: "sec", mountPath: "/etc/sec", readOnly: true },
      ],
    },
    extra: {
      volumes: [
        { name: "cm", configMap: { name: "e2e-config" } },
        { name: "sec", secret: { secretName: "e2e-secret" } },
      ],
    },
  });
  const p = await running("cfg");
  assert.is(p.spec.nodeName, a1.node);
  const id = main(p).containerID;
  const env = await ctrExec(a1, id, ["sh", "-c", 'echo "$GREETING|$PASSWORD"']);
  assert.is(env.code, 0, env.stdout);
  assert.is(env.stdout.trim(), "hello from a configmap|s3cr3t-Pa55");
  const files = await ctrExec(a1, id, ["sh", "-c", 'cat /etc/cm/greeting; echo "|"; cat /etc/sec/password']);
  assert.is(files.code, 0, files.stdout);
  assert.is(files.stdout.replace(/\n/g, ""), "hello from a configmap|s3cr3t-Pa55");
  // The secret's volume is a tmpfs (never written to the node's disk).
  const fs = await ctrExec(a1, id, ["sh", "-c", "grep ' /etc/sec ' /proc/mounts"]);
  assert.match(fs.stdout, /tmpfs/);
});

test("a node cannot read another node's secret, only its own pods'", async () => {
  kubectl(["create", "secret", "generic", "a2-only", "--from-literal=k=v"]);
  apply("a2-user", {
    command: "sleep 600",
    nodeSelector: { "kubernetes.io/hostname": a2.node },
    tolerate: true,
    container: { env: [{ name: "K", valueFrom: { secretKeyRef: { name: "a2-only", key: "k" } } }] },
  });
  await running("a2-user");
  const cred = JSON.parse(readFileSync(join(a1.dataDir, "agent", "node-credential.json"), "utf8"));
  assert.is(cred.node, a1.node);
  const own = await c.api("GET", "/api/v1/namespaces/default/secrets/e2e-secret", undefined, cred.token);
  assert.is(own.status, 200, `a1 reads the secret of its pod cfg: ${own.text}`);
  const other = await c.api("GET", "/api/v1/namespaces/default/secrets/a2-only", undefined, cred.token);
  assert.is(other.status, 403, other.text);
  assert.is(other.json?.reason, "Forbidden");
  const list = await c.api("GET", "/api/v1/secrets", undefined, cred.token);
  assert.is(list.status, 403, "a node cannot list secrets");
  // The owner of the pod can.
  const cred2 = JSON.parse(readFileSync(join(a2.dataDir, "agent", "node-credential.json"), "utf8"));
  assert.is(
    (await c.api("GET", "/api/v1/namespaces/default/secrets/a2-only", undefined, cred2.token)).status,
    200,
  );
});

test("an agent killed with SIGKILL and started again keeps its pods running", async () => {
  apply("survivor", { command: "sleep 600", nodeSelector: { "kubernetes.io/hostname": a1.node } });
  const before = await running("survivor");
  const cfgBefore = main(pod("cfg"));
  const runningIds = async () => {
    const r = await c.tsk([
      "ctr",
      "ps",
      "-q",
      "--no-trunc",
      "--data-dir",
      a1.dataDir,
      "--node-name",
      a1.node,
    ]);
    assert.is(r.code, 0, r.stdout);
    return r.stdout.split("\n").filter(Boolean).sort();
  };
  const idsBefore = await runningIds();
  assert.ok(idsBefore.includes(main(before).containerID.replace("tsk://", "")), idsBefore.join(" "));
  await a1.kill("SIGKILL");
  // The containers outlive their agent.
  assert.equal(await runningIds(), idsBefore);
  const killedAt = Date.now();
  await a1.start();
  // Wait until the new agent has renewed its Lease (after the kill), then give it a resync.
  await until(
    "a1 lease renewed by the restarted agent",
    () => {
      const r = c.kubectl(["get", "lease", "-n", "kube-node-lease", a1.node, "-o", "json"]);
      if (r.code !== 0) return false;
      return Date.parse(JSON.parse(r.stdout).spec.renewTime) > killedAt;
    },
    30_000,
  );
  await sleep(4000);
  const after = pod("survivor");
  assert.is(after.status.phase, "Running");
  assert.is(main(after).containerID, main(before).containerID, "same container");
  assert.is(main(after).restartCount, main(before).restartCount);
  assert.ok(main(after).state.running, "still running");
  // The same containers run: none restarted, none started twice.
  assert.equal(await runningIds(), idsBefore);
  const cfgAfter = main(pod("cfg"));
  assert.is(cfgAfter.containerID, cfgBefore.containerID);
  assert.is(cfgAfter.restartCount, cfgBefore.restartCount);
  // Its secret volume is still there.
  const files = await ctrExec(a1, cfgAfter.containerID, ["cat", "/etc/sec/password"]);
  assert.is(files.stdout.trim(), "s3cr3t-Pa55");
  // And the restarted agent manages it: deleting the pod stops the container.
  const d = c.kubectl(["delete", "pod", "survivor", "--timeout=40s"], { timeoutMs: 50_000 });
  assert.is(d.code, 0, d.stderr);
  const ps2 = await c.tsk(["ctr", "ps", "-a", "--data-dir", a1.dataDir, "--node-name", a1.node]);
  assert.is(ps2.code, 0, ps2.stdout);
  assert.not.ok(ps2.stdout.includes(main(before).containerID.replace("tsk://", "").slice(0, 12)), ps2.stdout);
});

test("an agent with a wrong token or a wrong CA hash is refused and never registers", async () => {
  const [, secret] = c.joinToken.split("::server:");
  const caHash = c.joinToken.slice(3, c.joinToken.indexOf("::"));
  const wrongHash = caHash.replace(/^./, (ch) => (ch === "0" ? "1" : "0"));
  const cases = [
    { token: `K10${wrongHash}::server:${secret}`, expect: /CA served by .* does not match the join token/ },
    {
      token: `K10${caHash}::server:not-the-secret`,
      expect: /refused to join .*secret is not this cluster's/,
    },
    { token: secret, expect: /bare secret.*"tsk token"/ },
  ];
  for (const [i, k] of cases.entries()) {
    const node = `${c.prefix}-intruder${i}`;
    c.track(node);
    const r = await c.tsk(
      [
        "agent",
        "--join",
        `https://${a2.hostIp}:${c.port}`,
        "--token",
        k.token,
        "--data-dir",
        join(c.tmp, `intruder${i}`),
        "--node-name",
        node,
      ],
      { netns: a2.netns, timeoutMs: 30_000 },
    );
    assert.ok(r.code !== 0 && r.code !== -2, `agent ${i} exits with an error (got ${r.code}): ${r.stdout}`);
    if (process.env.TSK_E2E_SHOW) process.stderr.write(`--- intruder ${i}\n${r.stdout}\n`);
    assert.match(r.stdout, k.expect);
    assert.is(c.kubectl(["get", "node", node]).code, 1, `${node} never registered`);
  }
});

test.run();
