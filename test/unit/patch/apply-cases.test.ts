// Server-side apply cases from structured-merge-diff's own tests (merge/set_test.go,
// key_test.go, multiple_appliers_test.go), restated: a sequence of applies and updates
// by named managers, then the object and who owns what.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeManagedFields, serverSideApply, updateManagedFields } from "../../../internal/api/patch/apply";
import type { PatchError } from "../../../internal/api/patch/errors";
import { type FieldMeta, type PatchMeta, patchMetaFromTable } from "../../../internal/api/patch/meta";

type Obj = Record<string, any>;
type Op = { apply: string; object: Obj; force?: boolean } | { update: string; object: Obj };

const SET: PatchMeta = patchMetaFromTable({ list: { type: "array", listType: "set" } });
const KEYED: PatchMeta = patchMetaFromTable({
  list: { type: "array", listType: "map", listMapKeys: ["name"] },
  listOfLists: { type: "array", listType: "map", listMapKeys: ["name"] },
  "listOfLists.value": { type: "array", listType: "set" } as FieldMeta,
});
const STRUCT: PatchMeta = patchMetaFromTable({});

const base = { apiVersion: "v1", kind: "Thing", metadata: { name: "t" } };

/** Runs the operations; returns the final object, or the error of the last failed apply. */
function run(meta: PatchMeta, ops: Op[]): { object: Obj; error?: PatchError } {
  let live: Obj | undefined;
  let minute = 0;
  for (const op of ops) {
    const now = `2024-01-01T00:${String(minute++).padStart(2, "0")}:00Z`;
    const object = { ...base, ...op.object };
    if ("apply" in op) {
      const r = serverSideApply({ live, applied: object, manager: op.apply, force: op.force, meta, now });
      if (r.error) return { object: live!, error: r.error };
      live = r.object as Obj;
    } else {
      const withMeta = {
        ...object,
        metadata: { ...object.metadata, managedFields: live?.metadata.managedFields },
      };
      live = updateManagedFields(live, withMeta, { manager: op.update, meta, now }) as Obj;
    }
  }
  return { object: live! };
}

/** manager -> member paths, printed as Kubernetes prints them. */
function owners(obj: Obj): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of decodeManagedFields(obj.metadata.managedFields)!.values()) {
    out[m.manager] = m.set.members().map((p) => p.map((pe) => pe).join(" "));
  }
  return out;
}

const body = (o: Obj) => {
  const { apiVersion, kind, metadata, ...rest } = o;
  return rest;
};

test("set: applying a longer list after a shorter one owns every value", () => {
  const { object } = run(SET, [
    { apply: "default", object: { list: ["a", "c"] } },
    { apply: "default", object: { list: ["a", "b", "c", "d"] } },
  ]);
  assert.equal(body(object), { list: ["a", "b", "c", "d"] });
  assert.equal(owners(object), { default: ['f:list v:"a"', 'f:list v:"b"', 'f:list v:"c"', 'f:list v:"d"'] });
});

test("set: apply, controller update, apply without overlap interleaves new values after their neighbours", () => {
  const { object } = run(SET, [
    { apply: "default", object: { list: ["a", "c"] } },
    { update: "controller", object: { list: ["a", "b", "c", "d"] } },
    { apply: "default", object: { list: ["a", "aprime", "c", "cprime"] } },
  ]);
  assert.equal(body(object).list, ["a", "aprime", "b", "c", "cprime", "d"]);
  assert.equal(owners(object), {
    default: ['f:list v:"a"', 'f:list v:"aprime"', 'f:list v:"c"', 'f:list v:"cprime"'],
    controller: ['f:list v:"b"', 'f:list v:"d"'],
  });
});

test("set: a value the controller added and the applier then applies is owned by both", () => {
  const { object } = run(SET, [
    { apply: "default", object: { list: ["a", "c"] } },
    { update: "controller", object: { list: ["a", "b", "c", "d"] } },
    { apply: "default", object: { list: ["a", "b", "c"] } },
  ]);
  assert.equal(body(object).list, ["a", "b", "c", "d"]);
  assert.equal(owners(object).controller, ['f:list v:"b"', 'f:list v:"d"']);
  assert.equal(owners(object).default, ['f:list v:"a"', 'f:list v:"b"', 'f:list v:"c"']);
});

test("set: re-applying in another order reorders the list", () => {
  const { object } = run(SET, [
    { apply: "default", object: { list: ["a", "b", "c", "d"] } },
    { apply: "default", object: { list: ["a", "d", "c", "b"] } },
  ]);
  assert.equal(body(object).list, ["a", "d", "c", "b"]);
});

test("set: apply after an update that reordered restores the applied order", () => {
  const { object } = run(SET, [
    { apply: "default", object: { list: ["a", "b", "c", "d"] } },
    { update: "controller", object: { list: ["a", "d", "c", "b"] } },
    { apply: "default", object: { list: ["a", "b", "c", "d"] } },
  ]);
  assert.equal(body(object).list, ["a", "b", "c", "d"]);
  assert.equal(Object.keys(owners(object)), ["default"]);
});

test("keyed list: an item the applier no longer applies is removed", () => {
  const { object } = run(KEYED, [
    { apply: "default", object: { list: [{ name: "a", value: 1 }] } },
    { apply: "default", object: { list: [{ name: "b", value: 2 }] } },
  ]);
  assert.equal(body(object), { list: [{ name: "b", value: 2 }] });
  assert.equal(owners(object), {
    default: ['f:list k:{"name":"b"}', 'f:list k:{"name":"b"} f:name', 'f:list k:{"name":"b"} f:value'],
  });
});

test("two appliers: dropping an item keeps the other applier's item", () => {
  const { object } = run(KEYED, [
    { apply: "apply-one", object: { list: [{ name: "a" }, { name: "b" }] } },
    { apply: "apply-two", object: { list: [{ name: "c" }] } },
    { apply: "apply-one", object: { list: [{ name: "a" }] } },
  ]);
  assert.equal(body(object).list, [{ name: "a" }, { name: "c" }]);
});

test("two appliers applying the same value share it without conflict", () => {
  const { object, error } = run(KEYED, [
    { apply: "apply-one", object: { list: [{ name: "a", value: 0 }] } },
    { apply: "apply-two", object: { list: [{ name: "a", value: 0 }] } },
  ]);
  assert.is(error, undefined);
  assert.equal(owners(object)["apply-one"], owners(object)["apply-two"]);
});

test("two appliers applying different values conflict on that field", () => {
  const { object, error } = run(KEYED, [
    { apply: "apply-one", object: { list: [{ name: "a", value: 0 }] } },
    { apply: "apply-two", object: { list: [{ name: "a", value: 1 }] } },
  ]);
  assert.is(error?.message, 'Apply failed with 1 conflict: conflict with "apply-one": .list[name="a"].value');
  assert.equal(body(object).list, [{ name: "a", value: 0 }]);
});

test("two appliers: an item both applied stays when one drops it", () => {
  const { object } = run(KEYED, [
    { apply: "apply-one", object: { list: [{ name: "a" }, { name: "b" }, { name: "c" }] } },
    { apply: "apply-two", object: { list: [{ name: "c" }, { name: "d" }] } },
    { apply: "apply-one", object: { list: [{ name: "a" }] } },
  ]);
  assert.equal(body(object).list, [{ name: "a" }, { name: "c" }, { name: "d" }]);
});

test("nested: a dropped item keeps the values other managers own inside it", () => {
  const { object } = run(KEYED, [
    { apply: "apply-one", object: { listOfLists: [{ name: "a" }, { name: "b", value: ["c"] }] } },
    { apply: "apply-two", object: { listOfLists: [{ name: "b", value: ["d"] }] } },
    { update: "controller", object: { listOfLists: [{ name: "a" }, { name: "b", value: ["c", "d", "e"] }] } },
    { apply: "apply-one", object: { listOfLists: [{ name: "a" }] } },
  ]);
  assert.equal(body(object).listOfLists, [{ name: "a" }, { name: "b", value: ["d", "e"] }]);
});

test("unset: a field only the applier owned goes when it stops applying it", () => {
  const { object } = run(STRUCT, [
    { apply: "apply-one", object: { struct: { name: "a", scalarField: "a" } } },
    { apply: "apply-one", object: { struct: { name: "a" } } },
  ]);
  assert.equal(body(object), { struct: { name: "a" } });
});

test("unset: a field an updater also set stays", () => {
  const { object } = run(STRUCT, [
    { update: "updater", object: { struct: { name: "a", scalarField: "a" } } },
    { apply: "applier", object: { struct: { name: "a", scalarField: "a" } } },
    { apply: "applier", object: { struct: { name: "a" } } },
  ]);
  assert.equal(body(object), { struct: { name: "a", scalarField: "a" } });
});

test("unset: an updater that changes a field takes it from the applier", () => {
  const { object } = run(STRUCT, [
    { apply: "applier", object: { struct: { name: "a", scalarField: "a" } } },
    { update: "updater", object: { struct: { name: "a", scalarField: "b" } } },
  ]);
  assert.equal(owners(object), { applier: ["f:struct f:name"], updater: ["f:struct f:scalarField"] });
});

test("unset: a nested object only the applier owned goes with its contents", () => {
  const { object } = run(STRUCT, [
    { apply: "apply-one", object: { struct: { name: "a", complexField: { name: "b" } } } },
    { apply: "apply-one", object: { struct: { name: "a" } } },
  ]);
  assert.equal(body(object), { struct: { name: "a" } });
});

test("unset: a nested object another applier also applied stays", () => {
  const { object } = run(STRUCT, [
    { apply: "apply-one", object: { struct: { name: "a", complexField: { name: "b" } } } },
    { apply: "apply-two", object: { struct: { complexField: { name: "b" } } } },
    { apply: "apply-one", object: { struct: { name: "a" } } },
  ]);
  assert.equal(body(object), { struct: { name: "a", complexField: { name: "b" } } });
});

test.run();
