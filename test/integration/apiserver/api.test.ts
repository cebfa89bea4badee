// The API server's verbs over real HTTPS against a real `tsk server` (real LevelDB).
import { request } from "node:https";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startServer, type TestServer } from "../../support/cluster";

let s: TestServer;

test.before(async () => {
  s = await startServer({ args: ["--watch-history", "50"] });
});
test.after(async () => {
  await s?.stop();
});

const cm = (name: string, data: Record<string, string> = { a: "1" }, labels?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});

test("health and version answer without credentials; the API needs a valid token", async () => {
  const h = await s.api("GET", "/healthz", undefined, { token: null });
  assert.is(h.status, 200);
  assert.is(h.text, "ok");
  const v = await s.api("GET", "/version", undefined, { token: null });
  assert.match(v.json.gitVersion, /^v1\.32\./);
  const anon = await s.api("GET", "/api/v1/namespaces", undefined, { token: null });
  assert.is(anon.status, 401);
  const bad = await s.api("GET", "/api/v1/namespaces", undefined, { token: "wrong" });
  assert.is(bad.status, 401);
  assert.is(bad.json.kind, "Status");
  assert.is(bad.json.reason, "Unauthorized");
});

test("the four default namespaces exist from the first start", async () => {
  const r = await s.api("GET", "/api/v1/namespaces");
  const names = r.json.items.map((n: any) => n.metadata.name).sort();
  assert.equal(names, ["default", "kube-node-lease", "kube-public", "kube-system"]);
  assert.ok(r.json.items.every((n: any) => n.status.phase === "Active"));
});

test("create, get, update, delete a configmap with server-owned metadata", async () => {
  const c = await s.api("POST", "/api/v1/namespaces/default/configmaps", cm("one"));
  assert.is(c.status, 201);
  const m = c.json.metadata;
  assert.match(m.uid, /^[0-9a-f-]{36}$/);
  assert.match(m.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(m.resourceVersion, /^\d+$/);
  const g = await s.api("GET", "/api/v1/namespaces/default/configmaps/one");
  assert.equal(g.json.data, { a: "1" });
  const u = await s.api("PUT", "/api/v1/namespaces/default/configmaps/one", { ...g.json, data: { a: "2" } });
  assert.is(u.status, 200);
  assert.ok(Number(u.json.metadata.resourceVersion) > Number(m.resourceVersion));
  assert.is(u.json.metadata.uid, m.uid);
  const d = await s.api("DELETE", "/api/v1/namespaces/default/configmaps/one");
  assert.is(d.status, 200);
  const gone = await s.api("GET", "/api/v1/namespaces/default/configmaps/one");
  assert.is(gone.status, 404);
  assert.is(gone.json.message, 'configmaps "one" not found');
  assert.equal(gone.json.details, { name: "one", kind: "configmaps" });
});

test("creating an existing name is 409 AlreadyExists; a stale update is 409 Conflict", async () => {
  await s.api("POST", "/api/v1/namespaces/default/configmaps", cm("dup"));
  const again = await s.api("POST", "/api/v1/namespaces/default/configmaps", cm("dup"));
  assert.is(again.status, 409);
  assert.is(again.json.reason, "AlreadyExists");
  const cur = (await s.api("GET", "/api/v1/namespaces/default/configmaps/dup")).json;
  await s.api("PUT", "/api/v1/namespaces/default/configmaps/dup", { ...cur, data: { a: "x" } });
  const stale = await s.api("PUT", "/api/v1/namespaces/default/configmaps/dup", { ...cur, data: { a: "y" } });
  assert.is(stale.status, 409);
  assert.is(stale.json.reason, "Conflict");
  assert.match(stale.json.message, /the object has been modified/);
  const now = (await s.api("GET", "/api/v1/namespaces/default/configmaps/dup")).json;
  assert.equal(now.data, { a: "x" });
});

test("generateName gets a random suffix; a missing namespace is 404", async () => {
  const r = await s.api("POST", "/api/v1/namespaces/default/configmaps", {
    metadata: { generateName: "gen-" },
    data: {},
  });
  assert.is(r.status, 201);
  assert.match(r.json.metadata.name, /^gen-[a-z0-9]{5}$/);
  const nons = await s.api("POST", "/api/v1/namespaces/nope/configmaps", cm("x"));
  assert.is(nons.status, 404);
  assert.is(nons.json.message, 'namespaces "nope" not found');
});

test("lists page with limit and continue, and count what remains", async () => {
  await s.api("POST", "/api/v1/namespaces", { metadata: { name: "paging" } });
  for (let i = 0; i < 25; i++)
    await s.api("POST", "/api/v1/namespaces/paging/configmaps", cm(`cm-${String(i).padStart(2, "0")}`));
  const seen: string[] = [];
  let cont = "";
  let pages = 0;
  let firstRemaining: number | undefined;
  do {
    const r = await s.api(
      "GET",
      `/api/v1/namespaces/paging/configmaps?limit=10${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`,
    );
    assert.is(r.status, 200);
    if (pages === 0) firstRemaining = r.json.metadata.remainingItemCount;
    seen.push(...r.json.items.map((x: any) => x.metadata.name));
    cont = r.json.metadata.continue ?? "";
    pages++;
  } while (cont);
  assert.is(pages, 3);
  assert.is(firstRemaining, 15);
  assert.is(new Set(seen).size, 25);
  // A paged list is a snapshot: objects written between pages do not appear in it.
  const first = await s.api("GET", "/api/v1/namespaces/paging/configmaps?limit=10");
  await s.api("POST", "/api/v1/namespaces/paging/configmaps", cm("cm-99-late"));
  await s.api("DELETE", "/api/v1/namespaces/paging/configmaps/cm-24");
  const rest: string[] = [];
  let c2 = first.json.metadata.continue;
  while (c2) {
    const r = await s.api(
      "GET",
      `/api/v1/namespaces/paging/configmaps?limit=10&continue=${encodeURIComponent(c2)}`,
    );
    rest.push(...r.json.items.map((x: any) => x.metadata.name));
    c2 = r.json.metadata.continue;
  }
  assert.is(rest.length, 15);
  assert.ok(rest.includes("cm-24") && !rest.includes("cm-99-late"));
  const bad = await s.api("GET", "/api/v1/namespaces/paging/configmaps?limit=10&continue=garbage");
  assert.is(bad.status, 400);
});

test("label and field selectors filter lists, including != and metadata.name", async () => {
  await s.api("POST", "/api/v1/namespaces", { metadata: { name: "sel" } });
  await s.api("POST", "/api/v1/namespaces/sel/configmaps", cm("a", {}, { app: "web", tier: "front" }));
  await s.api("POST", "/api/v1/namespaces/sel/configmaps", cm("b", {}, { app: "web", tier: "back" }));
  await s.api("POST", "/api/v1/namespaces/sel/configmaps", cm("c", {}, { app: "db" }));
  const names = async (q: string) =>
    (await s.api("GET", `/api/v1/namespaces/sel/configmaps?${q}`)).json.items
      .map((x: any) => x.metadata.name)
      .sort();
  assert.equal(await names("labelSelector=app%3Dweb"), ["a", "b"]);
  assert.equal(await names("labelSelector=app%3Dweb%2Ctier!%3Dfront"), ["b"]);
  assert.equal(await names("labelSelector=tier%20in%20(front%2Cback)"), ["a", "b"]);
  assert.equal(await names("labelSelector=!tier"), ["c"]);
  assert.equal(await names("fieldSelector=metadata.name%3Dc"), ["c"]);
  assert.equal(await names("fieldSelector=metadata.name!%3Dc"), ["a", "b"]);
  const bad = await s.api("GET", "/api/v1/namespaces/sel/configmaps?fieldSelector=spec.nope%3Dx");
  assert.is(bad.status, 400);
  assert.match(
    bad.json.message,
    /"spec.nope" is not a known field selector: only "metadata.name", "metadata.namespace"/,
  );
  const badPod = await s.api("GET", "/api/v1/namespaces/sel/pods?fieldSelector=spec.nope%3Dx");
  assert.is(badPod.status, 400);
  assert.match(badPod.json.message, /field label not supported: spec.nope/);
});

function watch(path: string): { events: any[]; done: Promise<void>; close(): void; status: Promise<number> } {
  const events: any[] = [];
  let close = () => {};
  let setStatus: (n: number) => void = () => {};
  const status = new Promise<number>((r) => (setStatus = r));
  const done = new Promise<void>((resolve, reject) => {
    const req = request(
      `${s.url}${path}`,
      { headers: { Authorization: `Bearer ${s.token}` }, ca: s.caPem },
      (res) => {
        setStatus(res.statusCode ?? 0);
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (c) => {
          buf += c;
          let i: number;
          while ((i = buf.indexOf("\n")) >= 0) {
            events.push(JSON.parse(buf.slice(0, i)));
            buf = buf.slice(i + 1);
          }
        });
        res.on("end", resolve);
        res.on("close", resolve);
      },
    );
    req.on("error", (e) => ((e as any).code === "ECONNRESET" ? resolve() : reject(e)));
    req.end();
    close = () => req.destroy();
  });
  return { events, done, close, status };
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a watch sees ADDED, MODIFIED and DELETED in order, with headers sent at once", async () => {
  await s.api("POST", "/api/v1/namespaces", { metadata: { name: "w1" } });
  const list = await s.api("GET", "/api/v1/namespaces/w1/configmaps");
  const rv = list.json.metadata.resourceVersion;
  const w = watch(`/api/v1/namespaces/w1/configmaps?watch=true&resourceVersion=${rv}`);
  assert.is(await w.status, 200);
  const created = (await s.api("POST", "/api/v1/namespaces/w1/configmaps", cm("x"))).json;
  await s.api("PUT", "/api/v1/namespaces/w1/configmaps/x", { ...created, data: { a: "2" } });
  await s.api("DELETE", "/api/v1/namespaces/w1/configmaps/x");
  await until(() => w.events.length >= 3);
  w.close();
  assert.equal(
    w.events.map((e) => e.type),
    ["ADDED", "MODIFIED", "DELETED"],
  );
  assert.is(w.events[1].object.data.a, "2");
  const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
  assert.ok(rvs[0] < rvs[1] && rvs[1] < rvs[2]);
});

test("a watch resumes from a resourceVersion, and one too old gets 410 Expired", async () => {
  await s.api("POST", "/api/v1/namespaces", { metadata: { name: "w2" } });
  const a = (await s.api("POST", "/api/v1/namespaces/w2/configmaps", cm("a"))).json;
  await s.api("POST", "/api/v1/namespaces/w2/configmaps", cm("b"));
  await s.api("POST", "/api/v1/namespaces/w2/configmaps", cm("c"));
  const w = watch(
    `/api/v1/namespaces/w2/configmaps?watch=true&resourceVersion=${a.metadata.resourceVersion}`,
  );
  await until(() => w.events.length >= 2);
  w.close();
  assert.equal(
    w.events.map((e) => e.object.metadata.name),
    ["b", "c"],
  );
  // The server keeps 50 changes of history here (--watch-history 50); push the start out of it.
  for (let i = 0; i < 60; i++) await s.api("POST", "/api/v1/namespaces/w2/configmaps", cm(`f${i}`));
  const old = watch(
    `/api/v1/namespaces/w2/configmaps?watch=true&resourceVersion=${a.metadata.resourceVersion}`,
  );
  await old.done;
  assert.is(old.events.length, 1);
  assert.is(old.events[0].type, "ERROR");
  assert.is(old.events[0].object.code, 410);
  assert.is(old.events[0].object.reason, "Expired");
});

test("a watch without resourceVersion starts with the current objects; selectors apply", async () => {
  await s.api("POST", "/api/v1/namespaces", { metadata: { name: "w3" } });
  await s.api("POST", "/api/v1/namespaces/w3/configmaps", cm("keep", {}, { app: "x" }));
  await s.api("POST", "/api/v1/namespaces/w3/configmaps", cm("skip", {}, { app: "y" }));
  const w = watch("/api/v1/namespaces/w3/configmaps?watch=true&labelSelector=app%3Dx");
  await until(() => w.events.length >= 1);
  // Relabeling out of the selector is seen as DELETED by this watcher.
  const keep = (await s.api("GET", "/api/v1/namespaces/w3/configmaps/keep")).json;
  await s.api("PUT", "/api/v1/namespaces/w3/configmaps/keep", {
    ...keep,
    metadata: { ...keep.metadata, labels: { app: "z" } },
  });
  await until(() => w.events.length >= 2);
  w.close();
  assert.equal(
    w.events.map((e) => [e.type, e.object.metadata.name]),
    [
      ["ADDED", "keep"],
      ["DELETED", "keep"],
    ],
  );
});

const deploy = (name: string, replicas = 1) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: "c", image: "busybox" }] },
    },
  },
});

test("generation is bumped by spec changes only; status and scale subresources", async () => {
  const d = (await s.api("POST", "/apis/apps/v1/namespaces/default/deployments", deploy("web"))).json;
  assert.is(d.metadata.generation, 1);
  const labeled = await s.api(
    "PATCH",
    "/apis/apps/v1/namespaces/default/deployments/web",
    { metadata: { labels: { x: "y" } } },
    {
      headers: { "Content-Type": "application/merge-patch+json" },
    },
  );
  assert.is(labeled.json.metadata.generation, 1);
  const st = await s.api("PUT", "/apis/apps/v1/namespaces/default/deployments/web/status", {
    ...labeled.json,
    spec: { ...labeled.json.spec, replicas: 7 },
    status: { replicas: 1, observedGeneration: 1 },
  });
  assert.is(st.status, 200);
  assert.is(st.json.status.replicas, 1);
  assert.is(st.json.spec.replicas, 1, "a status write must not change the spec");
  const sc = await s.api("GET", "/apis/apps/v1/namespaces/default/deployments/web/scale");
  assert.is(sc.json.kind, "Scale");
  assert.is(sc.json.spec.replicas, 1);
  assert.is(sc.json.status.selector, "app=web");
  const scaled = await s.api(
    "PATCH",
    "/apis/apps/v1/namespaces/default/deployments/web/scale",
    { spec: { replicas: 3 } },
    {
      headers: { "Content-Type": "application/merge-patch+json" },
    },
  );
  assert.is(scaled.json.spec.replicas, 3);
  const after = (await s.api("GET", "/apis/apps/v1/namespaces/default/deployments/web")).json;
  assert.is(after.spec.replicas, 3);
  assert.is(after.metadata.generation, 2);
  assert.is(after.status.replicas, 1);
});

test("json patch and merge patch; an unknown patch type is 415", async () => {
  await s.api("POST", "/api/v1/namespaces/default/configmaps", cm("p", { a: "1", b: "2" }));
  const jp = await s.api(
    "PATCH",
    "/api/v1/namespaces/default/configmaps/p",
    [
      { op: "replace", path: "/data/a", value: "9" },
      { op: "remove", path: "/data/b" },
    ],
    {
      headers: { "Content-Type": "application/json-patch+json" },
    },
  );
  assert.is(jp.status, 200);
  assert.equal(jp.json.data, { a: "9" });
  const mp = await s.api(
    "PATCH",
    "/api/v1/namespaces/default/configmaps/p",
    { data: { c: "3", a: null } },
    {
      headers: { "Content-Type": "application/merge-patch+json" },
    },
  );
  assert.equal(mp.json.data, { c: "3" });
  const bad = await s.api("PATCH", "/api/v1/namespaces/default/configmaps/p", "{}", {
    headers: { "Content-Type": "text/plain" },
  });
  assert.is(bad.status, 415);
  const testFail = await s.api(
    "PATCH",
    "/api/v1/namespaces/default/configmaps/p",
    [{ op: "test", path: "/data/c", value: "nope" }],
    {
      headers: { "Content-Type": "application/json-patch+json" },
    },
  );
  assert.ok(testFail.status >= 400 && testFail.status < 500);
  assert.equal((await s.api("GET", "/api/v1/namespaces/default/configmaps/p")).json.data, { c: "3" });
});

test("finalizers hold a deleted object until they are removed; then watchers see DELETED", async () => {
  const c = (
    await s.api("POST", "/api/v1/namespaces/default/configmaps", {
      ...cm("fin"),
      metadata: { name: "fin", finalizers: ["example.com/hold"] },
    })
  ).json;
  const w = watch(
    `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${c.metadata.resourceVersion}&fieldSelector=metadata.name%3Dfin`,
  );
  const del = await s.api("DELETE", "/api/v1/namespaces/default/configmaps/fin");
  assert.is(del.status, 200);
  assert.ok(del.json.metadata.deletionTimestamp);
  const held = (await s.api("GET", "/api/v1/namespaces/default/configmaps/fin")).json;
  assert.ok(held.metadata.deletionTimestamp);
  await s.api(
    "PATCH",
    "/api/v1/namespaces/default/configmaps/fin",
    { metadata: { finalizers: null } },
    { headers: { "Content-Type": "application/merge-patch+json" } },
  );
  assert.is((await s.api("GET", "/api/v1/namespaces/default/configmaps/fin")).status, 404);
  await until(() => w.events.some((e) => e.type === "DELETED"));
  w.close();
  assert.equal(
    w.events.map((e) => e.type),
    ["MODIFIED", "DELETED"],
  );
});

test("deletecollection removes what the selector matches", async () => {
  await s.api("POST", "/api/v1/namespaces", { metadata: { name: "dc" } });
  await s.api("POST", "/api/v1/namespaces/dc/configmaps", cm("a", {}, { k: "v" }));
  await s.api("POST", "/api/v1/namespaces/dc/configmaps", cm("b", {}, { k: "v" }));
  await s.api("POST", "/api/v1/namespaces/dc/configmaps", cm("c"));
  const r = await s.api("DELETE", "/api/v1/namespaces/dc/configmaps?labelSelector=k%3Dv");
  assert.is(r.status, 200);
  const left = (await s.api("GET", "/api/v1/namespaces/dc/configmaps")).json.items.map(
    (x: any) => x.metadata.name,
  );
  assert.equal(left, ["c"]);
});

test("pods bound to a node are deleted gracefully; unbound pods go at once", async () => {
  const pod = (name: string, nodeName?: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { ...(nodeName ? { nodeName } : {}), containers: [{ name: "c", image: "busybox" }] },
  });
  await s.api("POST", "/api/v1/namespaces/default/pods", pod("loose"));
  const d1 = await s.api("DELETE", "/api/v1/namespaces/default/pods/loose");
  assert.is(d1.status, 200);
  assert.is((await s.api("GET", "/api/v1/namespaces/default/pods/loose")).status, 404);
  await s.api("POST", "/api/v1/namespaces/default/pods", pod("bound", "node-x"));
  const d2 = await s.api("DELETE", "/api/v1/namespaces/default/pods/bound", { gracePeriodSeconds: 20 });
  assert.is(d2.json.metadata.deletionGracePeriodSeconds, 20);
  assert.is((await s.api("GET", "/api/v1/namespaces/default/pods/bound")).status, 200);
  const force = await s.api("DELETE", "/api/v1/namespaces/default/pods/bound", { gracePeriodSeconds: 0 });
  assert.is(force.status, 200);
  assert.is((await s.api("GET", "/api/v1/namespaces/default/pods/bound")).status, 404);
});

test("tables carry the columns and PartialObjectMetadata rows kubectl prints", async () => {
  const r = await s.api("GET", "/api/v1/namespaces?limit=500", undefined, {
    headers: {
      Accept:
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
    },
  });
  assert.is(r.json.kind, "Table");
  assert.equal(
    r.json.columnDefinitions.map((c: any) => c.name),
    ["Name", "Status", "Age"],
  );
  const row = r.json.rows.find((x: any) => x.cells[0] === "default");
  assert.is(row.cells[1], "Active");
  assert.is(row.object.kind, "PartialObjectMetadata");
  assert.is(row.object.metadata.name, "default");
});

test("aggregated and legacy discovery list every served resource", async () => {
  const agg = await s.api("GET", "/apis", undefined, {
    headers: {
      Accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    },
  });
  assert.match(String(agg.headers["content-type"]), /as=APIGroupDiscoveryList/);
  const groups = agg.json.items.map((g: any) => g.metadata.name);
  for (const g of [
    "apps",
    "batch",
    "autoscaling",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "storage.k8s.io",
    "events.k8s.io",
  ])
    assert.ok(groups.includes(g), g);
  const core = await s.api("GET", "/api/v1");
  const names = core.json.resources.map((r: any) => r.name);
  for (const n of [
    "pods",
    "pods/status",
    "services",
    "configmaps",
    "secrets",
    "nodes",
    "events",
    "namespaces",
  ])
    assert.ok(names.includes(n), n);
  const legacy = await s.api("GET", "/apis");
  assert.is(legacy.json.kind, "APIGroupList");
});

test.run();
