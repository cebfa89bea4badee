// Strategic merge patch cases from apimachinery's own table of behaviour (strategicpatch
// patch_test.go: the custom cases and the three-way cases' "current + patch = result"),
// restated here against a schema with the same tags as its MergeItem type.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { PatchError } from "../../../internal/api/patch/errors";
import type { FieldMeta, PatchMeta } from "../../../internal/api/patch/meta";
import { applyStrategicMergePatch } from "../../../internal/api/patch/strategic";

const TAGS: Record<string, FieldMeta> = {
  mergingList: { patchStrategy: "merge", patchMergeKey: "name" },
  mergingIntList: { patchStrategy: "merge" },
  mergeItemPtr: { patchStrategy: "merge", patchMergeKey: "name" },
  replacingItem: { patchStrategy: "replace" },
  retainKeysMap: { patchStrategy: "retainKeys" },
  retainKeysMergingList: { patchStrategy: "merge,retainKeys", patchMergeKey: "name" },
};
// MergeItem is recursive: a field's tags depend only on its name.
const MERGE_ITEM: PatchMeta = { lookup: (path) => TAGS[path[path.length - 1]] };

const n = (name: number, extra: Record<string, unknown> = {}) => ({ name, ...extra });
const del = (name: number) => ({ name, $patch: "delete" });
const order = (...names: number[]) => names.map((name) => ({ name }));

const cases: [string, unknown, unknown, unknown][] = [
  [
    "unique scalars when merging lists",
    { mergingIntList: [1, 2] },
    { mergingIntList: [2, 3] },
    { mergingIntList: [1, 2, 3] },
  ],
  [
    "delete map from nested map",
    { simpleMap: { key1: 1, key2: 1 } },
    { simpleMap: { $patch: "delete" } },
    { simpleMap: {} },
  ],
  [
    "delete all items from merging list",
    { mergingList: [n(1), n(2)] },
    { mergingList: [{ $patch: "replace" }] },
    { mergingList: [] },
  ],
  ["delete all keys from map", { name: 1, value: 1 }, { $patch: "replace" }, {}],
  [
    "add key and delete all keys from map",
    { name: 1, value: 1 },
    { other: "a", $patch: "replace" },
    { other: "a" },
  ],
  [
    "delete all duplicate entries in a merging list",
    { mergingList: [n(1), n(1), n(2, { value: "a" }), n(3), n(3)] },
    { mergingList: [del(1), del(3)] },
    { mergingList: [n(2, { value: "a" })] },
  ],
  [
    "retainKeys map can delete a field when no retainKeys directive present",
    { retainKeysMap: { name: "foo", value: "a" } },
    { retainKeysMap: { value: null } },
    { retainKeysMap: { name: "foo" } },
  ],
  [
    "preserve the order from the patch in a merging list",
    { mergingList: [n(1), n(2, { value: "b" }), n(3)] },
    { mergingList: [n(3, { value: "c" }), n(1, { value: "a" }), n(2, { other: "x" })] },
    { mergingList: [n(3, { value: "c" }), n(1, { value: "a" }), n(2, { value: "b", other: "x" })] },
  ],
  [
    "preserve the order from the patch in a merging list 2",
    { mergingList: [n(1), n(2, { value: "b" }), n(3)] },
    { mergingList: [n(3, { value: "c" }), n(1, { value: "a" })] },
    { mergingList: [n(2, { value: "b" }), n(3, { value: "c" }), n(1, { value: "a" })] },
  ],
  [
    "preserve the order from the patch in a merging int list",
    { mergingIntList: [1, 2, 3] },
    { mergingIntList: [3, 1] },
    { mergingIntList: [2, 3, 1] },
  ],
  [
    "$setElementOrder naming an item not in the list",
    { mergingList: [n(1), n(3)] },
    { "$setElementOrder/mergingList": order(3, 2, 1), mergingList: [n(3, { value: 3 }), n(1, { value: 1 })] },
    { mergingList: [n(3, { value: 3 }), n(1, { value: 1 })] },
  ],
  [
    "$setElementOrder alone on an int list",
    { mergingIntList: [1, 3] },
    { "$setElementOrder/mergingIntList": [3, 2, 1] },
    { mergingIntList: [3, 1] },
  ],
  [
    "$deleteFromPrimitiveList of a value not in the list",
    { mergingIntList: [1, 2] },
    { "$deleteFromPrimitiveList/mergingIntList": [3] },
    { mergingIntList: [1, 2] },
  ],
  [
    "$deleteFromPrimitiveList on a missing list adds nothing",
    { foo: ["bar"] },
    { "$deleteFromPrimitiveList/mergingIntList": [3] },
    { foo: ["bar"] },
  ],
  [
    "$deleteFromPrimitiveList also works on a list without merge strategy",
    { nonMergingIntList: [1, 2, 3] },
    { "$deleteFromPrimitiveList/nonMergingIntList": [2] },
    { nonMergingIntList: [1, 3] },
  ],
  [
    "nested patch merge with empty list (three-way)",
    { name: "hi", mergingList: [{ name: "hello2" }] },
    {
      "$setElementOrder/mergingList": [{ name: "hello" }, { name: "doesntexist" }],
      mergingList: [{ name: "hello" }, { $patch: "delete", name: "doesntexist" }],
    },
    { name: "hi", mergingList: [{ name: "hello" }, { name: "hello2" }] },
  ],
  [
    "delete items in lists of scalars (three-way)",
    { mergingIntList: [1, 2, 3, 4] },
    { "$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3] },
    { mergingIntList: [1, 2, 4] },
  ],
  [
    "delete all duplicate items in lists of scalars (three-way)",
    { mergingIntList: [1, 2, 3, 3, 4] },
    { "$setElementOrder/mergingIntList": [1, 2], "$deleteFromPrimitiveList/mergingIntList": [3] },
    { mergingIntList: [1, 2, 4] },
  ],
  [
    "merge lists of maps (three-way)",
    { mergingList: [n(1, { other: "a" }), n(2, { value: 2, other: "b" })] },
    {
      "$setElementOrder/mergingList": order(4, 1, 2, 3),
      mergingList: [n(4, { value: 4 }), n(3, { value: 3 })],
    },
    {
      mergingList: [
        n(4, { value: 4 }),
        n(1, { other: "a" }),
        n(2, { value: 2, other: "b" }),
        n(3, { value: 3 }),
      ],
    },
  ],
  [
    "merge lists of maps with conflict (three-way)",
    { mergingList: [n(1, { other: "a" }), n(2, { value: 3, other: "b" })] },
    { "$setElementOrder/mergingList": order(1, 2, 3), mergingList: [n(2, { value: 2 }), n(3, { value: 3 })] },
    { mergingList: [n(1, { other: "a" }), n(2, { value: 2, other: "b" }), n(3, { value: 3 })] },
  ],
  [
    "add field to map in merging list with conflict (three-way)",
    { mergingList: [n(1, { other: "a" }), n(3, { value: 2, other: "b" })] },
    { "$setElementOrder/mergingList": order(1, 2), mergingList: [n(1, { value: 1 }), n(2, { value: 2 })] },
    { mergingList: [n(1, { value: 1, other: "a" }), n(2, { value: 2 }), n(3, { value: 2, other: "b" })] },
  ],
  [
    "delete missing map from merging list with conflict (three-way)",
    { mergingList: [n(3, { other: "a" })] },
    { "$setElementOrder/mergingList": order(2), mergingList: [n(2), del(1)] },
    { mergingList: [n(2), n(3, { other: "a" })] },
  ],
  [
    "add map and delete map from merging list (three-way)",
    { mergingList: [n(1), n(2, { other: "b" }), n(4, { other: "c" })] },
    { "$setElementOrder/mergingList": order(2, 3), mergingList: [n(3), del(1)] },
    { mergingList: [n(2, { other: "b" }), n(4, { other: "c" }), n(3)] },
  ],
  [
    "add map and delete map from merging list with conflict (three-way)",
    { mergingList: [n(1, { other: "a" }), n(4, { other: "c" })] },
    { "$setElementOrder/mergingList": order(2, 3), mergingList: [n(2), n(3), del(1)] },
    { mergingList: [n(4, { other: "c" }), n(2), n(3)] },
  ],
  [
    "delete field from map in merging list (three-way)",
    { mergingList: [n(1, { value: 1, other: "a" }), n(2, { value: 2, other: "b" })] },
    { "$setElementOrder/mergingList": order(1, 2), mergingList: [n(1, { value: null })] },
    { mergingList: [n(1, { other: "a" }), n(2, { value: 2, other: "b" })] },
  ],
  [
    "replace non merging list nested in merging list (three-way)",
    { mergingList: [n(1, { other: "a", nonMergingList: [n(1), n(2, { value: 2 })] }), n(2, { other: "b" })] },
    {
      "$setElementOrder/mergingList": order(1, 2),
      mergingList: [n(1, { nonMergingList: [n(1, { value: 1 })] })],
    },
    { mergingList: [n(1, { other: "a", nonMergingList: [n(1, { value: 1 })] }), n(2, { other: "b" })] },
  ],
  [
    "set elements order in a list with server-only items (three-way)",
    { mergingList: [n(1, { other: "a" }), n(3, { value: 3 }), n(4, { value: 4 }), n(2, { value: 2 }), n(9)] },
    { "$setElementOrder/mergingList": order(4, 2, 3, 1) },
    { mergingList: [n(4, { value: 4 }), n(2, { value: 2 }), n(3, { value: 3 }), n(1, { other: "a" }), n(9)] },
  ],
  [
    "set elements order in a list with server-only items 3 (three-way)",
    {
      mergingList: [
        n(1, { other: "a" }),
        n(2, { value: 2 }),
        n(7),
        n(9),
        n(8),
        n(3, { value: 3 }),
        n(4, { value: 4 }),
      ],
    },
    { "$setElementOrder/mergingList": order(2, 1, 4, 3) },
    {
      mergingList: [
        n(2, { value: 2 }),
        n(1, { other: "a" }),
        n(7),
        n(9),
        n(8),
        n(4, { value: 4 }),
        n(3, { value: 3 }),
      ],
    },
  ],
  [
    "add multiple items in an int list and preserve order (three-way)",
    { mergingIntList: [1, 2] },
    { "$setElementOrder/mergingIntList": [1, 4, 2, 3], mergingIntList: [4, 3] },
    { mergingIntList: [1, 4, 2, 3] },
  ],
  [
    "add and delete an item in an int list and preserve order (three-way)",
    { mergingIntList: [1, 2, 3] },
    {
      "$setElementOrder/mergingIntList": [4, 2, 1],
      mergingIntList: [4],
      "$deleteFromPrimitiveList/mergingIntList": [3],
    },
    { mergingIntList: [4, 2, 1] },
  ],
  [
    "set elements order in an int list with server-only items 2 (three-way)",
    { mergingIntList: [1, 2, 9, 3, 4] },
    { "$setElementOrder/mergingIntList": [2, 1, 4, 3] },
    { mergingIntList: [2, 1, 9, 4, 3] },
  ],
  [
    "set element order on an int list with a duplicate (three-way)",
    { mergingIntList: [1, 2, 3, 2, 4] },
    { "$setElementOrder/mergingIntList": [2, 1, 4, 3, 2] },
    { mergingIntList: [2, 2, 1, 4, 3] },
  ],
  [
    "retainKeys map clears a defaulted field (three-way)",
    { retainKeysMap: { value: "foo" } },
    { retainKeysMap: { $retainKeys: ["other"], other: "bar" } },
    { retainKeysMap: { other: "bar" } },
  ],
  [
    "retainKeys map switches a discriminated union (three-way)",
    { retainKeysMap: { name: "type1", value: "foo" } },
    { retainKeysMap: { $retainKeys: ["name", "other"], name: "type2", other: "bar" } },
    { retainKeysMap: { name: "type2", other: "bar" } },
  ],
  [
    "retainKeys map deletes a field and clears a field (three-way)",
    { retainKeysMap: { name: "foo", value: "bar", other: "a" } },
    { retainKeysMap: { $retainKeys: ["name"], value: null } },
    { retainKeysMap: { name: "foo" } },
  ],
  [
    "retainKeys map deletes a field in a nested map (three-way)",
    { retainKeysMap: { name: "foo", value: "bar", simpleMap: { key1: "a", key2: "b", key3: "c" } } },
    { retainKeysMap: { $retainKeys: ["name", "simpleMap", "value"], simpleMap: { key2: null } } },
    { retainKeysMap: { name: "foo", value: "bar", simpleMap: { key1: "a", key3: "c" } } },
  ],
  [
    "retainKeys map adds and deletes items of a nested merging int list (three-way)",
    { retainKeysMap: { name: "foo", mergingIntList: [1, 2, 3, 4] } },
    {
      retainKeysMap: {
        $retainKeys: ["mergingIntList", "name"],
        mergingIntList: [5],
        "$deleteFromPrimitiveList/mergingIntList": [2],
        "$setElementOrder/mergingIntList": [1, 3, 5],
      },
    },
    { retainKeysMap: { name: "foo", mergingIntList: [1, 3, 5, 4] } },
  ],
  [
    "retainKeys map adds an item in a nested merging list (three-way)",
    { retainKeysMap: { name: "foo", mergingList: [{ name: "a" }, { name: "b" }, { name: "x" }] } },
    {
      retainKeysMap: {
        $retainKeys: ["mergingList", "name"],
        "$setElementOrder/mergingList": [{ name: "a" }, { name: "b" }, { name: "c" }],
        mergingList: [{ name: "c" }],
      },
    },
    {
      retainKeysMap: {
        name: "foo",
        mergingList: [{ name: "a" }, { name: "b" }, { name: "c" }, { name: "x" }],
      },
    },
  ],
  [
    "retainKeys list of maps clears a field (three-way)",
    { retainKeysMergingList: [{ name: "bar" }, { name: "foo", value: "a", other: "x" }] },
    {
      "$setElementOrder/retainKeysMergingList": [{ name: "bar" }, { name: "foo" }],
      retainKeysMergingList: [{ $retainKeys: ["name", "value"], name: "foo" }],
    },
    { retainKeysMergingList: [{ name: "bar" }, { name: "foo", value: "a" }] },
  ],
  [
    "delete and reorder in one list, reorder in another (three-way)",
    {
      mergingList: [
        { name: "a", value: "a" },
        { name: "b", value: "b" },
      ],
      mergeItemPtr: [
        { name: "c", value: "c" },
        { name: "d", value: "d" },
      ],
    },
    {
      "$setElementOrder/mergingList": [{ name: "b" }],
      "$setElementOrder/mergeItemPtr": [{ name: "d" }, { name: "c" }],
      mergingList: [{ $patch: "delete", name: "a" }],
    },
    {
      mergingList: [{ name: "b", value: "b" }],
      mergeItemPtr: [
        { name: "d", value: "d" },
        { name: "c", value: "c" },
      ],
    },
  ],
  [
    "a replace-strategy field takes the patch value whole",
    { replacingItem: { a: 1, b: 2 } },
    { replacingItem: { c: 3 } },
    { replacingItem: { c: 3 } },
  ],
];

for (const [name, current, patch, result] of cases) {
  test(`SMP: ${name}`, () => {
    assert.equal(applyStrategicMergePatch(current, patch, MERGE_ITEM), result);
  });
}

const errors: [string, unknown, unknown, RegExp][] = [
  [
    "$setElementOrder that does not match the patch list",
    { mergingList: [n(1), n(3), n(2)] },
    { "$setElementOrder/mergingList": order(1, 2, 3), mergingList: [n(3, { value: 3 }), n(1, { value: 1 })] },
    /doesn't match/,
  ],
  [
    "$setElementOrder that does not match the patch int list",
    { mergingIntList: [1, 3, 2] },
    { "$setElementOrder/mergingIntList": [1, 2, 3], mergingIntList: [3, 1] },
    /doesn't match/,
  ],
  [
    "a missing merge key",
    { mergingList: [n(1, { value: "a" })] },
    { mergingList: [{ value: "b" }] },
    /does not contain declared merge key/,
  ],
  ["a list of lists", { mergingIntList: [1] }, { mergingIntList: [[1]] }, /lists of lists are not supported/],
];

for (const [name, current, patch, message] of errors) {
  test(`SMP error: ${name}`, () => {
    try {
      applyStrategicMergePatch(current, patch, MERGE_ITEM);
      assert.unreachable("should fail");
    } catch (e) {
      assert.instance(e, PatchError);
      assert.match((e as PatchError).message, message);
    }
  });
}

test.run();
