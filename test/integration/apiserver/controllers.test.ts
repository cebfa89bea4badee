// Namespace deletion and garbage collection, through a real server's controllers.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startServer, type TestServer } from "../../support/cluster";

let s: TestServer;
test.before(async () => {
  s = await startServer();
});
test.after(async () => {
  await s?.stop();
});

async function until<T>(f: () => Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

const owned = (name: string, owner: any, block = false) => ({
  metadata: {
    name,
    ownerReferences: [
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        name: owner.metadata.name,
        uid: owner.metadata.uid,
        ...(block ? { blockOwnerDeletion: true } : {}),
      },
    ],
  },
  data: {},
});

test("deleting a namespace removes its content, then the namespace", async () => {
  await s.api("POST", "/api/v1/namespaces", { metadata: { name: "doomed" } });
  await s.api("POST", "/api/v1/namespaces/doomed/configmaps", { metadata: { name: "a" }, data: {} });
  await s.api("POST", "/api/v1/namespaces/doomed/secrets", { metadata: { name: "b" }, data: {} });
  const del = await s.api("DELETE", "/api/v1/namespaces/doomed");
  assert.is(del.status, 200);
  assert.is(del.json.status.phase, "Terminating");
  const refused = await s.api("POST", "/api/v1/namespaces/doomed/configmaps", {
    metadata: { name: "late" },
    data: {},
  });
  assert.is(refused.status, 403);
  assert.match(refused.json.message, /because it is being terminated/);
  await until(async () => (await s.api("GET", "/api/v1/namespaces/doomed")).status === 404);
  assert.is((await s.api("GET", "/api/v1/namespaces/doomed/configmaps/a")).status, 404);
});

test("background deletion: dependents of a deleted owner are collected", async () => {
  const owner = (
    await s.api("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "owner-bg" }, data: {} })
  ).json;
  await s.api("POST", "/api/v1/namespaces/default/configmaps", owned("dep-bg", owner));
  await s.api("DELETE", "/api/v1/namespaces/default/configmaps/owner-bg", {
    propagationPolicy: "Background",
  });
  await until(
    async () => (await s.api("GET", "/api/v1/namespaces/default/configmaps/dep-bg")).status === 404,
  );
});

test("foreground deletion keeps the owner until its dependents are gone", async () => {
  const owner = (
    await s.api("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "owner-fg" }, data: {} })
  ).json;
  await s.api("POST", "/api/v1/namespaces/default/configmaps", owned("dep-fg", owner, true));
  const del = await s.api("DELETE", "/api/v1/namespaces/default/configmaps/owner-fg", {
    propagationPolicy: "Foreground",
  });
  assert.ok(del.json.metadata.deletionTimestamp);
  assert.ok(del.json.metadata.finalizers.includes("foregroundDeletion"));
  await until(
    async () => (await s.api("GET", "/api/v1/namespaces/default/configmaps/owner-fg")).status === 404,
  );
  assert.is((await s.api("GET", "/api/v1/namespaces/default/configmaps/dep-fg")).status, 404);
});

test("orphan deletion leaves dependents without the owner reference", async () => {
  const owner = (
    await s.api("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "owner-or" }, data: {} })
  ).json;
  await s.api("POST", "/api/v1/namespaces/default/configmaps", owned("dep-or", owner));
  await s.api("DELETE", "/api/v1/namespaces/default/configmaps/owner-or", { propagationPolicy: "Orphan" });
  await until(
    async () => (await s.api("GET", "/api/v1/namespaces/default/configmaps/owner-or")).status === 404,
  );
  const dep = await s.api("GET", "/api/v1/namespaces/default/configmaps/dep-or");
  assert.is(dep.status, 200);
  assert.is(dep.json.metadata.ownerReferences, undefined);
});

test("every namespace gets a default ServiceAccount, recreated when deleted", async () => {
  await s.api("POST", "/api/v1/namespaces", { metadata: { name: "sa-ns" } });
  await until(
    async () => (await s.api("GET", "/api/v1/namespaces/sa-ns/serviceaccounts/default")).status === 200,
  );
  await s.api("DELETE", "/api/v1/namespaces/sa-ns/serviceaccounts/default");
  await until(
    async () => (await s.api("GET", "/api/v1/namespaces/sa-ns/serviceaccounts/default")).status === 200,
  );
  assert.is((await s.api("GET", "/api/v1/namespaces/kube-system/serviceaccounts/default")).status, 200);
});

test.run();
