// The kubelet as an agent runs it: joined to a real `tsk server` over the link, with a
// node credential that may read only what its own pods reference. A pod created through
// the HTTPS API with a ConfigMap and a Secret runs, and its status and events come back.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { LinkClient } from "../../../internal/link/client";
import { joinCluster } from "../../../internal/link/join";
import { startServer, type TestServer } from "../../support/cluster";
import { execIn, makeNode, type TestNode, until } from "./support";

let s: TestServer;
let node: TestNode;
let link: LinkClient | undefined;

test.before(async () => {
  s = await startServer();
  const token = readFileSync(join(s.dataDir, "server", "token"), "utf8").trim();
  node = await makeNode("link", {
    client: async (nodeName, dir) => {
      const id = await joinCluster({ server: s.url, token, dataDir: join(dir, "agent-id"), node: nodeName });
      link = new LinkClient({ server: id.server, caPem: id.caPem, token: id.token });
      await link.start();
      return link;
    },
  });
  await node.startKubelet();
});
test.after(async () => {
  await node?.cleanup();
  link?.close();
  await s?.stop();
});

async function podJSON(name: string): Promise<any> {
  const r = await s.api("GET", `/api/v1/namespaces/default/pods/${name}`);
  return r.status === 200 ? r.json : undefined;
}

test("the Node registered over the link is Ready, with its Lease", async () => {
  const n = await s.api("GET", `/api/v1/nodes/${node.nodeName}`);
  assert.is(n.status, 200);
  assert.is(n.json.status.conditions.find((c: any) => c.type === "Ready").status, "True");
  const l = await s.api(
    "GET",
    `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node.nodeName}`,
  );
  assert.is(l.status, 200);
});

test("a pod with a ConfigMap and a Secret runs under the node's credential", async () => {
  await s.api("POST", "/api/v1/namespaces/default/configmaps", {
    metadata: { name: "lc" },
    data: { k: "from-cm" },
  });
  await s.api("POST", "/api/v1/namespaces/default/secrets", {
    metadata: { name: "ls" },
    data: { p: Buffer.from("from-secret").toString("base64") },
  });
  const created = await s.api("POST", "/api/v1/namespaces/default/pods", {
    metadata: { name: "linked" },
    spec: {
      nodeName: node.nodeName,
      // sleep as PID 1 ignores SIGTERM: the grace period runs out, then SIGKILL
      terminationGracePeriodSeconds: 2,
      volumes: [{ name: "s", secret: { secretName: "ls" } }],
      containers: [
        {
          name: "c",
          image: "busybox:latest",
          imagePullPolicy: "IfNotPresent",
          command: ["sleep", "3600"],
          env: [{ name: "K", valueFrom: { configMapKeyRef: { name: "lc", key: "k" } } }],
          volumeMounts: [{ name: "s", mountPath: "/s" }],
        },
      ],
    },
  });
  assert.is(created.status, 201, created.text);
  const p = await until("Running", async () => {
    const p = await podJSON("linked");
    return p?.status?.phase === "Running" ? p : undefined;
  });
  const id = p.status.containerStatuses[0].containerID;
  assert.match(await execIn(node, id, ["env"]), /^K=from-cm$/m);
  assert.is(await execIn(node, id, ["cat", "/s/p"]), "from-secret");
  const evs = await s.api("GET", "/api/v1/namespaces/default/events");
  assert.ok(
    evs.json.items.some((e: any) => e.involvedObject.name === "linked" && e.reason === "Started"),
    "Started event written by the node",
  );
  // kubectl shows what a user expects
  const k = s.kubectl(["get", "pod", "linked", "--no-headers"]);
  assert.match(k.stdout, /^linked\s+1\/1\s+Running\s+0\s+/);
});

test("kubectl delete stops the pod and it disappears", async () => {
  // --wait=false: kubectl runs synchronously and would freeze this process's kubelet.
  const r = s.kubectl(["delete", "pod", "linked", "--wait=false"]);
  assert.is(r.code, 0, r.stderr);
  await until("pod gone", async () => !(await podJSON("linked")), 30_000);
  assert.not.ok(node.runtime.list().some((c) => c.labels["io.kubernetes.pod.name"] === "linked"));
});

test.run();
