import { createHash } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { groupVersion, RESOURCES } from "../../../internal/api/resources";
import {
  definitionNameFor,
  definitions,
  type JsonSchema,
  openapiV3Document,
  openapiV3DocumentJson,
  openapiV3Root,
  resolve,
  schemaFor,
} from "../../../internal/api/schema";

type Obj = Record<string, any>;

function gvPathOf(r: { group: string; version: string }): string {
  return r.group ? `apis/${r.group}/${r.version}` : `api/${r.version}`;
}

function itemPath(r: (typeof RESOURCES)[number]): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  return r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}/{name}` : `${base}/${r.plural}/{name}`;
}

test("every served resource has a schema whose GVK list names it", () => {
  for (const r of RESOURCES) {
    const s = schemaFor(r);
    assert.ok(s, `${groupVersion(r)} ${r.kind} has no schema`);
    const gvks = s?.["x-kubernetes-group-version-kind"] as Obj[];
    assert.ok(Array.isArray(gvks), `${r.kind}: GVK must be a list`);
    assert.ok(
      gvks.some((g) => g.group === r.group && g.version === r.version && g.kind === r.kind),
      `${r.kind}: GVK list does not name it`,
    );
    assert.ok(definitionNameFor(r.group, r.version, `${r.kind}List`), `${r.kind}List has no schema`);
  }
});

test("every served resource has a patch operation with its GVK, fieldValidation and the patch content types", () => {
  for (const r of RESOURCES) {
    const doc = openapiV3Document(gvPathOf(r)) as Obj;
    assert.ok(doc, `no document for ${gvPathOf(r)}`);
    const patch = doc.paths[itemPath(r)]?.patch;
    assert.ok(patch, `no patch operation at ${itemPath(r)}`);
    assert.equal(patch["x-kubernetes-group-version-kind"], {
      group: r.group,
      kind: r.kind,
      version: r.version,
    });
    assert.ok(
      patch.parameters.some((p: Obj) => p.name === "fieldValidation" && p.in === "query"),
      `${r.kind}: no fieldValidation`,
    );
    assert.ok(patch.requestBody.content["application/strategic-merge-patch+json"]);
    assert.ok(patch.requestBody.content["application/apply-patch+yaml"]);
    const name = definitionNameFor(r.group, r.version, r.kind) as string;
    assert.ok(doc.components.schemas[name], `${r.kind}: schema missing from the document`);
  }
});

test("the root lists each group version with the hash of its document", () => {
  const root = openapiV3Root() as { paths: Record<string, { serverRelativeURL: string }> };
  const gvs = new Set(RESOURCES.map(gvPathOf));
  assert.equal(new Set(Object.keys(root.paths)), gvs);
  for (const gv of gvs) {
    const { json, hash } = openapiV3DocumentJson(gv) as { json: string; hash: string };
    assert.equal(hash, createHash("sha512").update(json).digest("hex").toUpperCase());
    assert.equal(root.paths[gv].serverRelativeURL, `/openapi/v3/${gv}?hash=${hash}`);
    assert.equal(JSON.parse(json), openapiV3Document(gv));
  }
  assert.is(openapiV3Document("apis/nope/v1"), undefined);
  assert.ok(openapiV3Document("/api/v1/"), "leading and trailing slashes are tolerated");
});

test("every $ref in a document resolves inside that document", () => {
  for (const gv of Object.keys((openapiV3Root() as Obj).paths)) {
    const doc = openapiV3Document(gv) as Obj;
    const text = JSON.stringify(doc);
    for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      assert.ok(doc.components.schemas[m[1]], `${gv}: dangling $ref ${m[1]}`);
    }
  }
});

test("explain can walk pods.spec.containers.resources: allOf-wrapped refs with descriptions", () => {
  const pod = schemaFor({ group: "", version: "v1", kind: "Pod" }) as JsonSchema;
  assert.match(String(pod.description), /^Pod is a collection of containers/);
  const spec = pod.properties?.spec as JsonSchema;
  assert.equal(spec.allOf, [{ $ref: "#/components/schemas/io.k8s.api.core.v1.PodSpec" }]);
  assert.match(String(spec.description), /Specification of the desired behavior of the pod/);
  const podSpec = resolve(spec) as JsonSchema;
  assert.ok(podSpec.required?.includes("containers"));
  const containers = podSpec.properties?.containers as JsonSchema;
  assert.is(containers.type, "array");
  assert.equal(containers.items, { $ref: "#/components/schemas/io.k8s.api.core.v1.Container" });
  const container = resolve(containers.items) as JsonSchema;
  assert.equal(container.required, ["name"]);
  const resources = container.properties?.resources as JsonSchema;
  assert.equal(resources.allOf, [{ $ref: "#/components/schemas/io.k8s.api.core.v1.ResourceRequirements" }]);
  const limits = (resolve(resources) as JsonSchema).properties?.limits as JsonSchema;
  assert.equal(limits.additionalProperties, {
    $ref: "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity",
  });
});

test("int-or-string, quantities, times and integers carry their types and formats", () => {
  const defs = definitions();
  const ios = defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
  assert.is(ios.format, "int-or-string");
  assert.is(ios["x-kubernetes-int-or-string"], true);
  assert.equal(ios.oneOf, [{ type: "integer" }, { type: "string" }]);
  assert.equal(defs["io.k8s.apimachinery.pkg.api.resource.Quantity"].oneOf, [
    { type: "string" },
    { type: "number" },
  ]);
  assert.is(defs["io.k8s.apimachinery.pkg.apis.meta.v1.Time"].format, "date-time");
  const ports = defs["io.k8s.api.core.v1.ServicePort"].properties as Record<string, JsonSchema>;
  assert.equal(ports.targetPort.allOf, [
    { $ref: "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString" },
  ]);
  assert.equal(ports.port.type, "integer");
  assert.equal(ports.protocol.default, "TCP");
  const podSpec = defs["io.k8s.api.core.v1.PodSpec"].properties as Record<string, JsonSchema>;
  assert.is(podSpec.terminationGracePeriodSeconds.format, "int64");
  assert.is((defs["io.k8s.api.apps.v1.DeploymentSpec"].properties as Obj).replicas.format, "int32");
});

test("the meta types are there: ObjectMeta, ListMeta, Status, DeleteOptions, Scale, Table", () => {
  const defs = definitions();
  for (const n of [
    "ObjectMeta",
    "ListMeta",
    "Status",
    "DeleteOptions",
    "Table",
    "WatchEvent",
    "APIResourceList",
  ]) {
    assert.ok(defs[`io.k8s.apimachinery.pkg.apis.meta.v1.${n}`], n);
  }
  assert.equal(defs["io.k8s.api.autoscaling.v1.Scale"]["x-kubernetes-group-version-kind"], [
    { group: "autoscaling", kind: "Scale", version: "v1" },
  ]);
  const del = defs["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"][
    "x-kubernetes-group-version-kind"
  ] as Obj[];
  assert.ok(del.some((g) => g.group === "apps" && g.version === "v1"));
  assert.ok(del.some((g) => g.group === "" && g.version === "v1"));
  // DeleteOptions is listed under every group version, but a kind's own definition wins.
  assert.is(definitionNameFor("", "v1", "Pod"), "io.k8s.api.core.v1.Pod");
});

test("a scalable resource has the scale subresource path with autoscaling/v1 Scale", () => {
  const doc = openapiV3Document("apis/apps/v1") as Obj;
  const scale = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
  assert.equal(scale.patch["x-kubernetes-group-version-kind"], {
    group: "autoscaling",
    kind: "Scale",
    version: "v1",
  });
  assert.equal(scale.get.responses["200"].content["application/json"].schema, {
    $ref: "#/components/schemas/io.k8s.api.autoscaling.v1.Scale",
  });
  assert.ok(doc.components.schemas["io.k8s.api.autoscaling.v1.Scale"]);
});

test("the generated definitions file stays small enough to load quickly", () => {
  const size = JSON.stringify(definitions()).length;
  assert.ok(size < 1_000_000, `definitions are ${size} bytes`);
});

test.run();
