import { test } from "uvu";
import * as assert from "uvu/assert";
import { PatchError } from "../../../internal/api/patch/errors";
import { applyMergePatch } from "../../../internal/api/patch/mergepatch";

// The examples of RFC 7386, appendix A: [original, patch, result].
const rfc: [unknown, unknown, unknown][] = [
  [{ a: "b" }, { a: "c" }, { a: "c" }],
  [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
  [{ a: "b" }, { a: null }, {}],
  [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
  [{ a: ["b"] }, { a: "c" }, { a: "c" }],
  [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
  [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
  [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
  [{ e: null }, { a: 1 }, { e: null, a: 1 }],
  [[1, 2], { a: "b", c: null }, { a: "b" }],
  [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
];

rfc.forEach(([original, patch, result], i) => {
  test(`merge patch: RFC 7386 example ${i + 1}`, () => {
    assert.equal(applyMergePatch(original, patch), result);
  });
});

test("merge patch replaces a container list whole (the kubectl patch --type merge example)", () => {
  const live = {
    spec: { template: { spec: { containers: [{ name: "patch-demo-ctr", image: "nginx" }] } } },
  };
  const out = applyMergePatch(live, {
    spec: {
      template: {
        spec: { containers: [{ name: "patch-demo-ctr-3", image: "gcr.io/google-samples/hello-app:2.0" }] },
      },
    },
  });
  assert.equal(out, {
    spec: {
      template: {
        spec: { containers: [{ name: "patch-demo-ctr-3", image: "gcr.io/google-samples/hello-app:2.0" }] },
      },
    },
  });
});

test("merge patch: kubectl label adds a label and keeps the others", () => {
  const out = applyMergePatch(
    { metadata: { name: "p", labels: { app: "web" } } },
    { metadata: { labels: { tier: "fe" } } },
  );
  assert.equal(out, { metadata: { name: "p", labels: { app: "web", tier: "fe" } } });
});

test("merge patch leaves the input untouched", () => {
  const live = { a: { b: 1 } };
  applyMergePatch(live, { a: { b: 2 } });
  assert.equal(live, { a: { b: 1 } });
});

test("merge patch: a body that is not an object is a BadRequest", () => {
  for (const bad of [null, [1], "x"]) {
    try {
      applyMergePatch({}, bad);
      assert.unreachable("should fail");
    } catch (e) {
      assert.instance(e, PatchError);
      assert.is((e as PatchError).code, "BadRequest");
      assert.is((e as PatchError).message, "Invalid JSON Patch");
    }
  }
});

test.run();
