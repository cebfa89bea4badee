// Node authorization through the link and over HTTPS with a node's credential,
// against a real server: a node reads only what its own pods use.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { findResource } from "../../../internal/api/resources";
import type { ClientError } from "../../../internal/client/types";
import type { LinkClient } from "../../../internal/link/client";
import { startServer, type TestServer } from "../../support/cluster";
import { eventually, joinInProcess, stopAll, tempDir } from "./agents";

const SECRETS = findResource("", "v1", "secrets")!;
const CONFIGMAPS = findResource("", "v1", "configmaps")!;
const NODES = findResource("", "v1", "nodes")!;
const PODS = findResource("", "v1", "pods")!;
const LEASES = findResource("coordination.k8s.io", "v1", "leases")!;

let server: TestServer;
let a: LinkClient;
let b: LinkClient;
let aDir: string;

function pod(name: string, node: string, secret: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: {
      nodeName: node,
      containers: [
        {
          name: "c",
          image: "busybox",
          env: [{ name: "PASSWORD", valueFrom: { secretKeyRef: { name: secret, key: "password" } } }],
        },
      ],
    },
  };
}

async function refused(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (err) {
    return err as ClientError;
  }
  throw new Error("the call was allowed");
}

test.before(async () => {
  server = await startServer();
  const token = readFileSync(join(server.dataDir, "server", "token"), "utf8").trim();
  aDir = tempDir();
  a = await joinInProcess(server.url, token, "node-a", { dataDir: aDir });
  b = await joinInProcess(server.url, token, "node-b");
  for (const [name, node] of [
    ["a", "node-a"],
    ["b", "node-b"],
  ]) {
    for (const n of [node])
      assert.ok(
        (await server.api("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: n } }))
          .status < 300,
      );
    const s = await server.api("POST", "/api/v1/namespaces/default/secrets", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: `secret-${name}` },
      stringData: { password: `pw-${name}` },
    });
    assert.is(s.status, 201, s.text);
    const p = await server.api(
      "POST",
      "/api/v1/namespaces/default/pods",
      pod(`pod-${name}`, node, `secret-${name}`),
    );
    assert.is(p.status, 201, p.text);
  }
});
test.after(async () => {
  await stopAll();
  await server?.stop();
});

test("node A reads the secret its own pod uses", async () => {
  const s = await eventually(() => a.get(SECRETS, "default", "secret-a"), 5_000, "reading secret-a");
  assert.is(Buffer.from(s.data.password, "base64").toString(), "pw-a");
});

test("node A gets 403 for a secret used only by a pod on node B, with the API's message", async () => {
  const err = await refused(a.get(SECRETS, "default", "secret-b"));
  assert.is(err.httpCode, 403);
  assert.is(err.reason, "Forbidden");
  assert.is(
    err.message,
    'secrets "secret-b" is forbidden: User "system:node:node-a" cannot get resource "secrets" in API group "" in the namespace "default"',
  );
  // Node B may.
  const s = await b.get(SECRETS, "default", "secret-b");
  assert.is(s.metadata?.name, "secret-b");
});

test("the same rules hold over HTTPS with the node's credential", async () => {
  const cred = JSON.parse(readFileSync(join(aDir, "agent", "node-credential.json"), "utf8")).token;
  const mine = await server.api("GET", "/api/v1/namespaces/default/secrets/secret-a", undefined, {
    token: cred,
  });
  assert.is(mine.status, 200, mine.text);
  const theirs = await server.api("GET", "/api/v1/namespaces/default/secrets/secret-b", undefined, {
    token: cred,
  });
  assert.is(theirs.status, 403);
  assert.is(theirs.json.reason, "Forbidden");
});

test("node A cannot patch node B, but can patch itself", async () => {
  const err = await refused(
    a.patch(NODES, undefined, "node-b", "merge", { metadata: { labels: { evil: "yes" } } }),
  );
  assert.is(err.httpCode, 403);
  const self = await a.patch(NODES, undefined, "node-a", "merge", { metadata: { labels: { mine: "yes" } } });
  assert.is(self.metadata?.labels?.mine, "yes");
  const b2 = JSON.parse(server.kubectl(["get", "node", "node-b", "-o", "json"]).stdout);
  assert.is(b2.metadata.labels?.evil, undefined);
});

test("node A lists only its own pods and updates only their status", async () => {
  const own = await a.list(PODS, undefined, { fieldSelector: "spec.nodeName=node-a" });
  assert.equal(
    own.items.map((p) => p.metadata?.name),
    ["pod-a"],
  );
  assert.is((await refused(a.list(PODS, undefined))).httpCode, 403);
  assert.is(
    (await refused(a.list(PODS, undefined, { fieldSelector: "spec.nodeName=node-b" }))).httpCode,
    403,
  );
  const st = await a.patch(PODS, "default", "pod-a", "merge", { status: { phase: "Running" } }, "status");
  assert.is(st.status?.phase, "Running");
  const err = await refused(
    a.patch(PODS, "default", "pod-b", "merge", { status: { phase: "Failed" } }, "status"),
  );
  assert.is(err.httpCode, 403);
});

test("node A cannot create objects beyond its Node, Lease and Events", async () => {
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "default" } };
  assert.is((await refused(a.create(CONFIGMAPS, "default", cm))).httpCode, 403);
  const lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "node-b", namespace: "kube-node-lease" },
    spec: { holderIdentity: "node-a" },
  };
  assert.is((await refused(a.create(LEASES, "kube-node-lease", lease))).httpCode, 403);
  const own = await a.create(LEASES, "kube-node-lease", {
    ...lease,
    metadata: { name: "node-a", namespace: "kube-node-lease" },
  });
  assert.is(own.metadata?.name, "node-a");
});

test("a node may read a pod's secret as soon as its watch delivers the pod", async () => {
  const listed = await a.list(PODS, undefined, { fieldSelector: "spec.nodeName=node-a" });
  const results: Array<Promise<string>> = [];
  const handle = await a.watch(
    PODS,
    undefined,
    { resourceVersion: listed.resourceVersion, fieldSelector: "spec.nodeName=node-a" },
    (ev) => {
      if (ev.type !== "ADDED") return;
      const secret = ev.object.spec.containers[0].env[0].valueFrom.secretKeyRef.name;
      results.push(
        a.get(SECRETS, "default", secret).then(
          () => "ok",
          (e: ClientError) => `${secret}: ${e.httpCode}`,
        ),
      );
    },
    () => {},
  );
  for (let i = 0; i < 20; i++) {
    const name = `fresh-${i}`;
    await server.api("POST", "/api/v1/namespaces/default/secrets", {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name },
      stringData: { password: "x" },
    });
    await server.api("POST", "/api/v1/namespaces/default/pods", pod(`pod-${name}`, "node-a", name));
  }
  await eventually(() => results.length === 20, 10_000, "20 pods seen");
  handle.cancel();
  assert.equal(await Promise.all(results), Array(20).fill("ok"));
});

test("when node A's pod is deleted, its secret is no longer readable by A", async () => {
  const del = await server.api("DELETE", "/api/v1/namespaces/default/pods/pod-a?gracePeriodSeconds=0");
  assert.ok(del.status < 300, del.text);
  await eventually(
    async () => (await refused(a.get(SECRETS, "default", "secret-a"))).httpCode === 403,
    5_000,
  );
});

test.run();
