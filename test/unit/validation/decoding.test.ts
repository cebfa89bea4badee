// fieldValidation: unknown and duplicate fields under Strict, Warn and Ignore, wrong
// JSON types, and the messages the API server builds from them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { findKind, type ResourceInfo } from "../../../internal/api/resources";
import {
  decodeErrorMessage,
  findDuplicateFields,
  invalidMessage,
  invalidStatus,
  pruneUnknownFields,
  strictDecodingMessage,
} from "../../../internal/api/validation";
import { checkSchema } from "../../../internal/api/validation/schema";
import { create, deployment, pod } from "./helpers";

const deployInfo = findKind("apps/v1", "Deployment") as ResourceInfo;

test("under Strict, unknown fields are strict decoding errors naming their paths", () => {
  const d = deployment({ foo: 1 });
  d.spec.template.spec.containers[0].imagePullPolicyx = "Always";
  const r = create(d, "Strict");
  assert.equal(r.strictErrors, [
    'unknown field "spec.foo"',
    'unknown field "spec.template.spec.containers[0].imagePullPolicyx"',
  ]);
  assert.equal(r.causes, []);
  assert.is(
    strictDecodingMessage(deployInfo, r.strictErrors),
    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo", unknown field "spec.template.spec.containers[0].imagePullPolicyx"',
  );
});

test("under Warn, unknown fields become warnings and the object is still checked", () => {
  const r = create(deployment({ foo: 1, replicas: -1 }), "Warn");
  assert.equal(r.strictErrors, []);
  assert.equal(r.warnings, ['unknown field "spec.foo"']);
  assert.is(
    r.message,
    'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  );
});

test("under Ignore, unknown fields are neither errors nor warnings", () => {
  const r = create(deployment({ foo: 1 }), "Ignore");
  assert.equal(r.strictErrors, []);
  assert.equal(r.warnings, []);
  assert.equal(r.causes, []);
});

test("pruneUnknownFields drops what the decoder would drop and says what", () => {
  const d = deployment({ foo: 1 });
  d.metadata.bar = { x: 1 };
  d.spec.template.spec.containers[0].nope = true;
  const removed = pruneUnknownFields("apps", "v1", "Deployment", d);
  assert.equal(removed.sort(), ["metadata.bar", "spec.foo", "spec.template.spec.containers[0].nope"]);
  assert.is(d.spec.foo, undefined);
  assert.is(d.metadata.bar, undefined);
  assert.is(d.spec.template.spec.containers[0].nope, undefined);
  assert.is(d.spec.template.spec.containers[0].image, "nginx:1.27");
});

test("free-form fields accept anything: annotations, managedFields' fieldsV1, a ControllerRevision's data", () => {
  const p = pod(
    {},
    {
      managedFields: [
        { manager: "kubectl", operation: "Update", fieldsV1: { "f:metadata": { "f:labels": {} } } },
      ],
    },
  );
  assert.equal(create(p).strictErrors, []);
  const cr = create({
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: { name: "r", namespace: "default" },
    revision: 1,
    data: { spec: { anything: [1, 2] } },
  });
  assert.equal(cr.strictErrors, []);
});

test("duplicate fields in the raw JSON are found, nested ones too", () => {
  assert.equal(
    findDuplicateFields(
      '{"spec":{"replicas":1,"replicas":2},"a":[{"x":1,"x":2}],"b":"{\\"c\\":1,\\"c\\":1}"}',
    ),
    ["replicas", "x"],
  );
  assert.equal(findDuplicateFields('{"a":1}'), []);
  assert.equal(findDuplicateFields('{"a\\u0062":1,"ab":2}'), ["ab"]);
  assert.equal(findDuplicateFields("{not json"), []);
});

test("a duplicate field is a strict decoding error, or a warning under Warn", () => {
  const raw =
    '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},"spec":{"replicas":1,"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"a","image":"nginx"}]}}}}';
  const strict = create(JSON.parse(raw), "Strict", raw);
  assert.equal(strict.strictErrors, ['duplicate field "replicas"']);
  assert.is(
    strictDecodingMessage(deployInfo, strict.strictErrors),
    'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: duplicate field "replicas"',
  );
  const warn = create(JSON.parse(raw), "Warn", raw);
  assert.equal(warn.warnings, ['duplicate field "replicas"']);
  assert.is(warn.message, "");
});

test("a value of the wrong type is reported with the structural-schema wording", () => {
  const r = create(deployment({ replicas: "3" }));
  assert.is(
    r.message,
    'Deployment.apps "web" is invalid: spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
  );
  assert.equal(r.causes[0].reason, "FieldValueTypeInvalid");
  const b = create(pod({ hostNetwork: "yes" }));
  assert.is(
    b.causes[0].message,
    'Invalid value: "string": spec.hostNetwork in body must be of type boolean: "string"',
  );
  const c = create(pod({ containers: { name: "a" } }));
  assert.is(
    c.causes[0].message,
    'Invalid value: "object": spec.containers in body must be of type array: "object"',
  );
});

test("int-or-string and quantity fields take either form", () => {
  const d = deployment({
    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: "50%" } },
  });
  d.spec.template.spec.containers[0].resources = {
    limits: { cpu: 0.5, memory: "128Mi" },
    requests: { cpu: "250m" },
  };
  assert.is(create(d).message, "");
  const bad = deployment({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1.5 } } });
  assert.is(bad.spec.strategy.rollingUpdate.maxSurge, 1.5);
  assert.match(
    create(bad).message,
    /spec\.strategy\.rollingUpdate\.maxSurge in body must be of type integer or string: "number"/,
  );
});

test("a malformed quantity is a decoding error (400), as in Kubernetes", () => {
  const p = pod({ containers: [{ name: "app", image: "nginx", resources: { limits: { memory: "lots" } } }] });
  const r = create(p);
  assert.is(
    r.decodeError,
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
  );
  assert.is(
    decodeErrorMessage(findKind("v1", "Pod") as ResourceInfo, r.decodeError as string),
    "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
  );
});

test("a secret whose data is not base64 cannot be decoded", () => {
  const bad = (value: string) =>
    create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "default" },
      data: { password: value },
    }).decodeError;
  assert.is(bad("plain"), "illegal base64 data at input byte 4");
  assert.is(bad("pa$$word"), "illegal base64 data at input byte 2");
  assert.is(bad("cGFzcw=="), undefined);
  assert.is(bad("cGFzc3dvcmQ=\n"), undefined);
  assert.is(
    decodeErrorMessage(findKind("v1", "Secret") as ResourceInfo, bad("plain") as string),
    'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 4',
  );
});

test("null fields are treated as unset, as kubectl's creationTimestamp: null", () => {
  const p = pod({}, { creationTimestamp: null, labels: null });
  assert.is(create(p).message, "");
});

test("a kind without a precompiled validator (a Scale body) is compiled on demand", () => {
  const r = checkSchema("autoscaling", "v1", "Scale", {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    spec: { replicas: "2", extra: 1 },
  });
  assert.equal(r?.unknown, ["spec.extra"]);
  assert.is(r?.typeErrors[0].field, "spec.replicas");
  assert.equal(checkSchema("autoscaling", "v1", "Scale", { spec: { replicas: 2 } }), {
    unknown: [],
    typeErrors: [],
  });
});

test("one error is printed bare, several in brackets, repeats once", () => {
  const c = { reason: "FieldValueRequired" as const, field: "spec.containers", message: "Required value" };
  const d = {
    reason: "FieldValueInvalid" as const,
    field: "spec.replicas",
    message: "Invalid value: -1: must be greater than or equal to 0",
  };
  assert.is(invalidMessage("Pod", "", "bad", [c]), 'Pod "bad" is invalid: spec.containers: Required value');
  assert.is(
    invalidMessage("Deployment", "apps", "web", [c, d, c]),
    'Deployment.apps "web" is invalid: [spec.containers: Required value, spec.replicas: Invalid value: -1: must be greater than or equal to 0]',
  );
});

test("the 422 Status carries kind, group, name and one cause per error", () => {
  const c = { reason: "FieldValueRequired" as const, field: "spec.containers", message: "Required value" };
  assert.equal(invalidStatus("Pod", "", "bad", [c]), {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: 'Pod "bad" is invalid: spec.containers: Required value',
    reason: "Invalid",
    details: {
      name: "bad",
      kind: "Pod",
      causes: [{ reason: "FieldValueRequired", message: "Required value", field: "spec.containers" }],
    },
    code: 422,
  });
  const s = invalidStatus("Deployment", "apps", "web", [c]) as { details: { group: string } };
  assert.is(s.details.group, "apps");
});

test.run();
