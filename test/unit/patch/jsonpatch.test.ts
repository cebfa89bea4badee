import { test } from "uvu";
import * as assert from "uvu/assert";
import { PatchError } from "../../../internal/api/patch/errors";
import { applyJsonPatch } from "../../../internal/api/patch/jsonpatch";

const deploy = () => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", labels: { app: "web" } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: "a", image: "nginx" }] } } },
});

/** Applies and returns the error's detail (the cause the API server reports). */
function failure(obj: unknown, patch: unknown): PatchError {
  try {
    applyJsonPatch(obj, patch);
  } catch (e) {
    assert.instance(e, PatchError);
    return e as PatchError;
  }
  throw new Error("patch applied but should have failed");
}

type Deploy = ReturnType<typeof deploy>;
const labels = (d: Deploy) => d.metadata.labels;
const containers = (d: Deploy) => d.spec.template.spec.containers;
const replicas = (d: Deploy) => d.spec.replicas;

const cases: [string, unknown, (d: Deploy) => unknown, unknown][] = [
  [
    "add sets a new object key",
    [{ op: "add", path: "/metadata/labels/tier", value: "fe" }],
    labels,
    { app: "web", tier: "fe" },
  ],
  [
    "add with - appends to a list",
    [{ op: "add", path: "/spec/template/spec/containers/-", value: { name: "b", image: "redis" } }],
    containers,
    [
      { name: "a", image: "nginx" },
      { name: "b", image: "redis" },
    ],
  ],
  [
    "add at an index inserts before it",
    [{ op: "add", path: "/spec/template/spec/containers/0", value: { name: "z" } }],
    containers,
    [{ name: "z" }, { name: "a", image: "nginx" }],
  ],
  ["remove deletes a key", [{ op: "remove", path: "/metadata/labels/app" }], labels, {}],
  [
    "replace of a missing object key adds it, as on a real API server",
    [{ op: "replace", path: "/metadata/labels/new", value: "x" }],
    labels,
    { app: "web", new: "x" },
  ],
  [
    "a passing test lets the next operation run",
    [
      { op: "test", path: "/spec/replicas", value: 2 },
      { op: "replace", path: "/spec/replicas", value: 5 },
    ],
    replicas,
    5,
  ],
  [
    "move and copy take values from another path",
    [
      { op: "copy", from: "/metadata/labels/app", path: "/metadata/labels/copy" },
      { op: "move", from: "/metadata/labels/app", path: "/metadata/labels/moved" },
    ],
    labels,
    { copy: "web", moved: "web" },
  ],
  [
    "escaped tokens address keys with / and ~",
    [{ op: "add", path: "/metadata/labels/a~1b~0c", value: "1" }],
    labels,
    { app: "web", "a/b~c": "1" },
  ],
];

for (const [name, patch, select, expected] of cases) {
  test(`JSON patch: ${name}`, () => {
    assert.equal(select(applyJsonPatch(deploy(), patch) as Deploy), expected);
  });
}

test("JSON patch leaves the input object untouched", () => {
  const obj = deploy();
  applyJsonPatch(obj, [{ op: "replace", path: "/spec/replicas", value: 9 }]);
  assert.is(obj.spec.replicas, 2);
});

const errors: [string, unknown, string][] = [
  [
    "a failed test",
    [{ op: "test", path: "/spec/replicas", value: 3 }],
    "testing value /spec/replicas failed: test failed",
  ],
  [
    "add under a missing parent",
    [{ op: "add", path: "/spec/nope/x", value: 1 }],
    'add operation does not apply: doc is missing path: "/spec/nope/x": missing value',
  ],
  [
    "remove of a missing key",
    [{ op: "remove", path: "/metadata/labels/zzz" }],
    "error in remove for path: '/metadata/labels/zzz': Unable to remove nonexistent key: zzz: missing value",
  ],
  [
    "replace under a missing parent",
    [{ op: "replace", path: "/status/x", value: 1 }],
    "replace operation does not apply: doc is missing path: /status/x: missing value",
  ],
  [
    "add past the end of a list",
    [{ op: "add", path: "/spec/template/spec/containers/5", value: {} }],
    "error in add for path: '/spec/template/spec/containers/5': Unable to access invalid index: 5: invalid index referenced",
  ],
  ["an unknown operation", [{ op: "frob", path: "/spec" }], "Unexpected kind: frob"],
];

for (const [name, patch, detail] of errors) {
  test(`JSON patch error: ${name} is a 422 with the API server's wording`, () => {
    const e = failure(deploy(), patch);
    assert.is(e.code, "Invalid");
    assert.is(e.message, "the server rejected our request due to an error in our request");
    assert.equal(e.causes, [{ type: "UnexpectedServerResponse", message: detail }]);
  });
}

test("JSON patch: a test of a missing key with value null passes", () => {
  const out = applyJsonPatch({ a: 1 }, [{ op: "test", path: "/b", value: null }]);
  assert.equal(out, { a: 1 });
});

test("JSON patch: an operation that fails leaves no partial result behind", () => {
  const obj = deploy();
  failure(obj, [
    { op: "replace", path: "/spec/replicas", value: 7 },
    { op: "test", path: "/spec/replicas", value: 2 },
  ]);
  assert.is(obj.spec.replicas, 2);
});

test("JSON patch: a body that is not a list of operations is a BadRequest", () => {
  const e = failure(deploy(), { op: "add" });
  assert.is(e.code, "BadRequest");
  assert.is(e.message, "json: cannot unmarshal object into Go value of type jsonpatch.Patch");
});

test("JSON patch: more than 10000 operations is RequestEntityTooLarge", () => {
  const ops = Array.from({ length: 10001 }, () => ({ op: "test", path: "/a", value: 1 }));
  const e = failure({ a: 1 }, ops);
  assert.is(e.code, "RequestEntityTooLarge");
  assert.is(e.message, "The allowed maximum operations in a JSON patch is 10000, got 10001");
});

test("JSON patch: __proto__ in a path becomes a plain key, never a prototype", () => {
  const out = applyJsonPatch({}, [{ op: "add", path: "/__proto__", value: { polluted: true } }]) as Record<
    string,
    unknown
  >;
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.ok(Object.hasOwn(out, "__proto__"));
});

test.run();
