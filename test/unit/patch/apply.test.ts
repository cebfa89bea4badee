import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  LAST_APPLIED_ANNOTATION,
  type ManagedFieldsEntry,
  serverSideApply,
  updateManagedFields,
} from "../../../internal/api/patch/apply";
import { PatchError } from "../../../internal/api/patch/errors";
import { CONFIGMAP_META, DEPLOYMENT_META, POD_META } from "./fixture-meta";

type Obj = Record<string, any>;
const T0 = "2024-05-01T10:00:00Z";
const T1 = "2024-05-01T11:00:00Z";
const T2 = "2024-05-01T12:00:00Z";

const nginx = (replicas = 3, image = "nginx:1.25"): Obj => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: "default", labels: { app: "web" } },
  spec: {
    replicas,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "nginx", image, ports: [{ containerPort: 80 }] }] },
    },
  },
});

/** A stored object as the API server would keep it after a write. */
const stored = (obj: Obj): Obj => ({
  ...obj,
  metadata: { ...obj.metadata, uid: "u1", resourceVersion: "10", creationTimestamp: T0 },
});

function apply(
  live: Obj | undefined,
  applied: Obj,
  manager: string,
  now: string,
  force = false,
  meta = DEPLOYMENT_META,
) {
  return serverSideApply({ live, applied, manager, force, meta, now });
}

function applied(live: Obj | undefined, config: Obj, manager: string, now: string, force = false): Obj {
  const r = apply(live, config, manager, now, force);
  if (r.error) throw r.error;
  return r.object;
}

const entries = (obj: Obj): ManagedFieldsEntry[] => obj.metadata.managedFields ?? [];
const entry = (obj: Obj, manager: string) => entries(obj).find((e) => e.manager === manager);

test("server-side apply of a new Deployment records the applier's fields in FieldsV1", () => {
  const out = applied(undefined, nginx(), "kubectl", T0);
  assert.equal(out.spec, nginx().spec);
  assert.equal(entries(out), [
    {
      manager: "kubectl",
      operation: "Apply",
      apiVersion: "apps/v1",
      time: T0,
      fieldsType: "FieldsV1",
      fieldsV1: {
        "f:metadata": { "f:labels": { "f:app": {} } },
        "f:spec": {
          "f:replicas": {},
          "f:selector": {},
          "f:template": {
            "f:metadata": { "f:labels": { "f:app": {} } },
            "f:spec": {
              "f:containers": {
                'k:{"name":"nginx"}': {
                  ".": {},
                  "f:image": {},
                  "f:name": {},
                  "f:ports": {
                    'k:{"containerPort":80,"protocol":"TCP"}': { ".": {}, "f:containerPort": {} },
                  },
                },
              },
            },
          },
        },
      },
    },
  ]);
});

test("re-applying the same configuration changes nothing, not even the time", () => {
  const first = stored(applied(undefined, nginx(), "kubectl", T0));
  const again = applied(first, nginx(), "kubectl", T1);
  assert.equal(again, first);
});

/** A Deployment created by client-side apply: an Update entry for kubectl-client-side-apply. */
function clientSideApplied(replicas = 3): Obj {
  const manifest = nginx(replicas);
  manifest.metadata.annotations = { [LAST_APPLIED_ANNOTATION]: `${JSON.stringify(nginx(replicas))}\n` };
  return stored(
    updateManagedFields(undefined, manifest, {
      manager: "kubectl-client-side-apply",
      meta: DEPLOYMENT_META,
      now: T0,
    }),
  );
}

test("apply that changes a field another manager set conflicts, as a real cluster answers", () => {
  const live = clientSideApplied(3);
  const r = apply(live, nginx(5), "my-manager", T1);
  assert.ok(r.error);
  assert.instance(r.error, PatchError);
  assert.is(r.error.code, "Conflict");
  assert.is(
    r.error.message,
    'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas',
  );
  assert.equal(r.error.causes, [
    {
      type: "FieldManagerConflict",
      message: 'conflict with "kubectl-client-side-apply" using apps/v1',
      field: ".spec.replicas",
    },
  ]);
  assert.equal(r.conflicts?.[0].path, ["f:spec", "f:replicas"]);
});

test("several conflicts are listed under their manager", () => {
  const live = clientSideApplied(3);
  const r = apply(live, nginx(5, "nginx:1.26"), "my-manager", T1);
  assert.is(r.error?.code, "Conflict");
  assert.is(
    r.error?.message,
    'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n' +
      "- .spec.replicas\n" +
      '- .spec.template.spec.containers[name="nginx"].image',
  );
});

test("applying the value a field already has is no conflict: both managers own it", () => {
  const live = clientSideApplied(3);
  const out = applied(live, nginx(3), "my-manager", T1);
  assert.ok(entry(out, "kubectl-client-side-apply")?.fieldsV1["f:spec"]);
  assert.equal((entry(out, "my-manager")!.fieldsV1 as Obj)["f:spec"]["f:replicas"], {});
  assert.equal((entry(out, "kubectl-client-side-apply")!.fieldsV1 as Obj)["f:spec"]["f:replicas"], {});
});

test("force takes the conflicting field: the value changes and the old manager loses it", () => {
  const live = clientSideApplied(3);
  const out = applied(live, nginx(5), "my-manager", T1, true);
  assert.is(out.spec.replicas, 5);
  const csa = entry(out, "kubectl-client-side-apply")!.fieldsV1 as Obj;
  assert.is(csa["f:spec"]["f:replicas"], undefined);
  assert.ok(csa["f:spec"]["f:template"]);
  assert.equal((entry(out, "my-manager")!.fieldsV1 as Obj)["f:spec"]["f:replicas"], {});
  assert.is(entry(out, "my-manager")!.time, T1);
});

test("kubectl --server-side after client-side apply takes over fields that still match last-applied", () => {
  const live = clientSideApplied(3);
  const out = applied(live, nginx(5), "kubectl", T1);
  assert.is(out.spec.replicas, 5);
  assert.is(out.metadata.annotations[LAST_APPLIED_ANNOTATION], `${JSON.stringify(sortKeys(nginx(5)))}\n`);
});

test("kubectl --server-side still conflicts on a field someone changed after the last client-side apply", () => {
  const live = clientSideApplied(3);
  const scaled = stored(
    updateManagedFields(
      live,
      { ...live, spec: { ...live.spec, replicas: 4 } },
      { manager: "kubectl-scale", meta: DEPLOYMENT_META, now: T1 },
    ),
  );
  const r = apply(scaled, nginx(5), "kubectl", T2);
  assert.is(
    r.error?.message,
    'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas',
  );
});

test("a field the applier stops applying is removed when nobody else owns it", () => {
  const cfg = nginx();
  cfg.metadata.labels = { app: "web", tier: "fe" };
  const first = stored(applied(undefined, cfg, "me", T0));
  const out = applied(first, nginx(), "me", T1);
  assert.equal(out.metadata.labels, { app: "web" });
  assert.equal((entry(out, "me")!.fieldsV1 as Obj)["f:metadata"], { "f:labels": { "f:app": {} } });
});

test("a field the applier stops applying stays when another manager also owns it", () => {
  const cfg = nginx();
  cfg.metadata.labels = { app: "web", tier: "fe" };
  const first = stored(applied(undefined, cfg, "me", T0));
  const both = stored(applied(first, cfg, "other", T1));
  const out = applied(both, nginx(), "me", T2);
  assert.equal(out.metadata.labels, { app: "web", tier: "fe" });
});

test("a container the applier stops applying is removed with everything in it", () => {
  const two = nginx();
  two.spec.template.spec.containers.push({
    name: "sidecar",
    image: "busybox",
    env: [{ name: "A", value: "1" }],
  });
  const first = stored(applied(undefined, two, "me", T0));
  const out = applied(first, nginx(), "me", T1);
  assert.equal(
    out.spec.template.spec.containers.map((c: Obj) => c.name),
    ["nginx"],
  );
});

test("a struct nobody owns anymore goes with its defaulted contents", () => {
  const cfg = nginx();
  cfg.spec.strategy = { type: "RollingUpdate" };
  const first = applied(undefined, cfg, "me", T0);
  // The server defaulted rollingUpdate; nobody owns it.
  first.spec.strategy.rollingUpdate = { maxSurge: "25%", maxUnavailable: "25%" };
  const out = applied(stored(first), nginx(), "me", T1);
  assert.is(out.spec.strategy, undefined);
  assert.is(out.spec.replicas, 3);
});

test("list items are merged by key: another applier's container is kept and order follows the lists", () => {
  const first = stored(applied(undefined, nginx(), "me", T0));
  const side = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default" },
    spec: { template: { spec: { containers: [{ name: "sidecar", image: "busybox" }] } } },
  };
  const out = applied(first, side, "sidecar-injector", T1);
  assert.equal(
    out.spec.template.spec.containers.map((c: Obj) => c.name),
    ["nginx", "sidecar"],
  );
  const again = applied(stored(out), nginx(3, "nginx:1.26"), "me", T2);
  assert.equal(again.spec.template.spec.containers, [
    { name: "nginx", image: "nginx:1.26", ports: [{ containerPort: 80 }] },
    { name: "sidecar", image: "busybox" },
  ]);
});

test("a port applied without protocol matches the live port keyed with the TCP default", () => {
  const first = applied(undefined, nginx(), "me", T0);
  first.spec.template.spec.containers[0].ports[0].protocol = "TCP"; // defaulted by the server
  const out = applied(stored(first), nginx(), "me", T1);
  assert.equal(out.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: "TCP" }]);
});

test("finalizers (a set) from two appliers are both kept; each removes only its own", () => {
  const base = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" } };
  const withF = (f: string[]) => ({ ...base, metadata: { ...base.metadata, finalizers: f } });
  const a = stored(
    serverSideApply({ applied: withF(["a.io/x"]), manager: "a", meta: CONFIGMAP_META, now: T0 })
      .object! as Obj,
  );
  const ab = stored(
    serverSideApply({ live: a, applied: withF(["b.io/y"]), manager: "b", meta: CONFIGMAP_META, now: T1 })
      .object! as Obj,
  );
  assert.equal(ab.metadata.finalizers, ["a.io/x", "b.io/y"]);
  const out = serverSideApply({ live: ab, applied: base, manager: "a", meta: CONFIGMAP_META, now: T2 })
    .object! as Obj;
  assert.equal(out.metadata.finalizers, ["b.io/y"]);
  assert.equal((entry(out, "b")!.fieldsV1 as Obj)["f:metadata"], { "f:finalizers": { 'v:"b.io/y"': {} } });
});

test("an atomic list (args) is owned whole and replaced", () => {
  const pod = (args: string[]) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { containers: [{ name: "c", image: "busybox", args }] },
  });
  const first = stored(
    serverSideApply({ applied: pod(["a", "b"]), manager: "me", meta: POD_META, now: T0 }).object! as Obj,
  );
  assert.equal(
    (entry(first, "me")!.fieldsV1 as Obj)["f:spec"]["f:containers"]['k:{"name":"c"}']["f:args"],
    {},
  );
  const out = serverSideApply({ live: first, applied: pod(["c"]), manager: "me", meta: POD_META, now: T1 })
    .object! as Obj;
  assert.equal(out.spec.containers[0].args, ["c"]);
});

test("duplicate keys in an applied list are Invalid", () => {
  const cfg = nginx();
  cfg.spec.template.spec.containers.push({ name: "nginx", image: "x" });
  try {
    apply(undefined, cfg, "me", T0);
    assert.unreachable("should throw");
  } catch (e) {
    assert.instance(e, PatchError);
    assert.is((e as PatchError).code, "Invalid");
    assert.is(
      (e as PatchError).message,
      '.spec.template.spec.containers: duplicate entries for key [name="nginx"]',
    );
  }
});

test("an applied configuration carrying managedFields is a BadRequest", () => {
  const cfg = nginx();
  cfg.metadata.managedFields = [];
  assert.throws(
    () => apply(undefined, cfg, "me", T0),
    (e: unknown) => e instanceof PatchError && e.code === "BadRequest",
  );
});

test("applying another apiVersion than the stored one is a BadRequest", () => {
  const live = stored(applied(undefined, nginx(), "me", T0));
  assert.throws(
    () => apply(live, { ...nginx(), apiVersion: "apps/v2" }, "me", T1),
    (e: unknown) =>
      e instanceof PatchError &&
      e.message ===
        "Incorrect version specified in apply patch. Specified patch version: apps/v2, expected: apps/v1",
  );
});

test("create records an Update entry owning every field the writer set", () => {
  const out = updateManagedFields(undefined, stored(nginx()), {
    manager: "kubectl-create",
    meta: DEPLOYMENT_META,
    now: T0,
  });
  const e = entries(out);
  assert.is(e.length, 1);
  assert.equal(
    { ...e[0], fieldsV1: undefined },
    {
      manager: "kubectl-create",
      operation: "Update",
      apiVersion: "apps/v1",
      time: T0,
      fieldsType: "FieldsV1",
      fieldsV1: undefined,
    },
  );
  // name, uid and the like are never owned.
  assert.equal(Object.keys((e[0].fieldsV1 as Obj)["f:metadata"]), ["f:labels"]);
});

test("an edit takes the field it changed from the creator and only that one", () => {
  const created = stored(
    updateManagedFields(undefined, nginx(), { manager: "kubectl-create", meta: DEPLOYMENT_META, now: T0 }),
  );
  const edited = structuredClone(created);
  edited.spec.template.spec.containers[0].image = "nginx:1.26";
  const out = updateManagedFields(created, edited, {
    manager: "kubectl-edit",
    meta: DEPLOYMENT_META,
    now: T1,
  });
  assert.equal(entry(out, "kubectl-edit"), {
    manager: "kubectl-edit",
    operation: "Update",
    apiVersion: "apps/v1",
    time: T1,
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:spec": {
        "f:template": { "f:spec": { "f:containers": { 'k:{"name":"nginx"}': { "f:image": {} } } } },
      },
    },
  });
  const creator = entry(out, "kubectl-create")!.fieldsV1 as Obj;
  assert.equal(
    creator["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']["f:image"],
    undefined,
  );
  assert.equal(entry(out, "kubectl-create")!.time, T0);
});

test("after an edit, re-applying the old value conflicts with the editor", () => {
  const live = stored(applied(undefined, nginx(), "me", T0));
  const edited = structuredClone(live);
  edited.spec.replicas = 7;
  const after = stored(
    updateManagedFields(live, edited, { manager: "kubectl-edit", meta: DEPLOYMENT_META, now: T1 }),
  );
  const r = apply(after, nginx(), "me", T2);
  assert.is(
    r.error?.message,
    'Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas',
  );
});

test("an update that removes a field takes it out of its owner's set", () => {
  const live = stored(applied(undefined, nginx(), "me", T0));
  const edited = structuredClone(live);
  delete edited.metadata.labels;
  const out = updateManagedFields(live, edited, { manager: "kubectl-edit", meta: DEPLOYMENT_META, now: T1 });
  assert.is((entry(out, "me")!.fieldsV1 as Obj)["f:metadata"], undefined);
  assert.is(entry(out, "kubectl-edit"), undefined);
});

test("a no-op update leaves managedFields as they were", () => {
  const live = stored(applied(undefined, nginx(), "me", T0));
  const out = updateManagedFields(live, structuredClone(live), {
    manager: "kubectl-edit",
    meta: DEPLOYMENT_META,
    now: T1,
  }) as Obj;
  assert.equal(out.metadata.managedFields, live.metadata.managedFields);
});

test("managedFields list Apply entries before Update entries, then by time", () => {
  const created = stored(
    updateManagedFields(undefined, nginx(), { manager: "kubectl-create", meta: DEPLOYMENT_META, now: T0 }),
  );
  const out = applied(
    created,
    { ...nginx(3), metadata: { name: "web", labels: { extra: "1" } } },
    "zz-applier",
    T1,
  );
  assert.equal(
    entries(out).map((e) => `${e.operation}:${e.manager}`),
    ["Apply:zz-applier", "Update:kubectl-create"],
  );
});

test("a request with managedFields [{}] clears them", () => {
  const live = stored(applied(undefined, nginx(), "me", T0));
  const req = structuredClone(live);
  req.metadata.managedFields = [{}];
  const out = updateManagedFields(live, req, {
    manager: "kubectl-edit",
    meta: DEPLOYMENT_META,
    now: T1,
  }) as Obj;
  assert.is(out.metadata.managedFields, undefined);
});

test("status is not owned by an applier when the server ignores it", () => {
  const cfg = { ...nginx(), status: { replicas: 3 } };
  const out = serverSideApply({
    applied: cfg,
    manager: "me",
    meta: DEPLOYMENT_META,
    now: T0,
    ignoredPaths: [["status"]],
  }).object! as Obj;
  assert.is(out.status, undefined);
  assert.is((entry(out, "me")!.fieldsV1 as Obj)["f:status"], undefined);
});

test("an applied creationTimestamp: null (kubectl create --dry-run -o yaml) leaves the stored one alone", () => {
  const live = stored(applied(undefined, nginx(), "me", T0));
  const cfg = nginx();
  cfg.metadata.creationTimestamp = null;
  const out = applied(live, cfg, "me", T1);
  assert.is(out.metadata.creationTimestamp, T0);
  assert.is(out.metadata.uid, "u1");
});

test("more than ten Update managers: the oldest are merged into ancient-changes", () => {
  let obj = stored(
    updateManagedFields(undefined, nginx(), { manager: "m00", meta: DEPLOYMENT_META, now: T0 }),
  );
  for (let i = 1; i <= 11; i++) {
    const next = structuredClone(obj);
    next.metadata.labels[`l${i}`] = "x";
    const now = `2024-05-01T10:${String(i).padStart(2, "0")}:00Z`;
    obj = stored(
      updateManagedFields(obj, next, {
        manager: `m${String(i).padStart(2, "0")}`,
        meta: DEPLOYMENT_META,
        now,
      }),
    );
  }
  const names = entries(obj).map((e) => e.manager);
  assert.is(names.length, 10);
  assert.ok(names.includes("ancient-changes"));
  assert.not.ok(names.includes("m00"));
  assert.ok(names.includes("m11"));
  const ancient = entry(obj, "ancient-changes")!.fieldsV1 as Obj;
  assert.ok(ancient["f:spec"], "the creator's fields live on in ancient-changes");
  assert.equal(ancient["f:metadata"]["f:labels"]["f:l1"], {});
});

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Obj)[k])]),
    );
  }
  return v;
}

test.run();
