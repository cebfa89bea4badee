// OpenAPI v3 documents as kube-apiserver serves them under /openapi/v3: a root
// listing one document per group version, and per group version a document with
// its paths and the component schemas they reach. kubectl reads them for
// `explain`, for the field-validation probe (a `patch` operation carrying
// x-kubernetes-group-version-kind and a `fieldValidation` parameter makes it send
// fieldValidation=Strict) and for strategic-merge-patch keys (the patch
// operation's requestBody must list application/strategic-merge-patch+json).
// Documents are built and serialized once, on first use.
import { createHash } from "node:crypto";
import { apiGroups, groupVersion, RESOURCES, type ResourceInfo } from "../resources";
import { definitionNameFor, definitions, REF_PREFIX, reachable } from "./definitions";
import type { JsonSchema } from "./types";

type Obj = Record<string, unknown>;

interface Built {
  doc: Obj;
  json: string;
  hash: string;
}

let built: Map<string, Built> | undefined;
let root: Obj | undefined;

const META = "io.k8s.apimachinery.pkg.apis.meta.v1.";
const SCALE = "io.k8s.api.autoscaling.v1.Scale";

/** "api/v1" or "apis/apps/v1": the key of a group version in the root document. */
export function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function buildAll(): Map<string, Built> {
  if (built) return built;
  const out = new Map<string, Built>();
  for (const g of apiGroups()) {
    for (const v of g.versions) {
      const doc = buildDocument(RESOURCES.filter((r) => r.group === g.group && r.version === v));
      const json = JSON.stringify(doc);
      // kube-apiserver uses the upper-case hex SHA-512 of the document as its hash.
      const hash = createHash("sha512").update(json).digest("hex").toUpperCase();
      out.set(gvPath(g.group, v), { doc, json, hash });
    }
  }
  built = out;
  return out;
}

/** GET /openapi/v3: one entry per served group version. */
export function openapiV3Root(): object {
  if (root) return root;
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [path, b] of buildAll())
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${b.hash}` };
  root = { paths };
  return root;
}

/** GET /openapi/v3/<gvPath> ("api/v1", "apis/apps/v1"); undefined when not served. */
export function openapiV3Document(path: string): object | undefined {
  return buildAll().get(path.replace(/^\/+|\/+$/g, ""))?.doc;
}

/** The same document serialized once, with its hash (for ETag and the root's URLs). */
export function openapiV3DocumentJson(path: string): { json: string; hash: string } | undefined {
  const b = buildAll().get(path.replace(/^\/+|\/+$/g, ""));
  return b ? { json: b.json, hash: b.hash } : undefined;
}

function buildDocument(resources: ResourceInfo[]): Obj {
  const paths: Obj = {};
  const roots = new Set<string>([
    `${META}Status`,
    `${META}DeleteOptions`,
    `${META}WatchEvent`,
    `${META}Patch`,
    `${META}APIResourceList`,
  ]);
  for (const r of resources) {
    const name = definitionNameFor(r.group, r.version, r.kind);
    if (!name) throw new Error(`no schema for ${groupVersion(r)} ${r.kind}`);
    roots.add(name);
    const listName = definitionNameFor(r.group, r.version, `${r.kind}List`);
    if (listName) roots.add(listName);
    if (r.subresources.includes("scale")) roots.add(SCALE);
    Object.assign(paths, resourcePaths(r, name, listName));
  }
  const all = definitions();
  const schemas: Record<string, JsonSchema> = {};
  for (const n of [...reachable(roots)].sort()) schemas[n] = all[n];
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "unversioned" },
    paths,
    components: {
      schemas,
      securitySchemes: {
        BearerToken: {
          type: "apiKey",
          description: "Bearer Token authentication",
          name: "authorization",
          in: "header",
        },
      },
    },
    security: [{ BearerToken: [] }],
  };
}

const ref = (name: string) => ({ $ref: REF_PREFIX + name });

function content(name: string): Obj {
  return {
    "application/json": { schema: ref(name) },
    "application/yaml": { schema: ref(name) },
    "application/vnd.kubernetes.protobuf": { schema: ref(name) },
  };
}

function query(name: string, description: string, type = "string"): Obj {
  return { name, in: "query", description, schema: { type, uniqueItems: true } };
}

const P = {
  pretty: query(
    "pretty",
    "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget).",
  ),
  dryRun: query(
    "dryRun",
    "When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed",
  ),
  fieldManager: query(
    "fieldManager",
    "fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.",
  ),
  fieldValidation: query(
    "fieldValidation",
    "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. This is the default behavior prior to v1.23. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. The request will still succeed if there are no other errors, and will only persist the last of any duplicate fields. This is the default in v1.23+ - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.",
  ),
  force: query(
    "force",
    'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.',
    "boolean",
  ),
  gracePeriodSeconds: query(
    "gracePeriodSeconds",
    "The duration in seconds before the object should be deleted. Value must be non-negative integer.",
    "integer",
  ),
  propagationPolicy: query(
    "propagationPolicy",
    "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Background', 'Foreground'.",
  ),
  list: [
    query(
      "allowWatchBookmarks",
      'allowWatchBookmarks requests watch events with type "BOOKMARK".',
      "boolean",
    ),
    query("continue", "The continue option should be set when retrieving more results from the server."),
    query(
      "fieldSelector",
      "A selector to restrict the list of returned objects by their fields. Defaults to everything.",
    ),
    query(
      "labelSelector",
      "A selector to restrict the list of returned objects by their labels. Defaults to everything.",
    ),
    query("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
    query(
      "resourceVersion",
      "resourceVersion sets a constraint on what resource versions a request may be served from.",
    ),
    query(
      "resourceVersionMatch",
      "resourceVersionMatch determines how resourceVersion is applied to list calls.",
    ),
    query("sendInitialEvents", "`sendInitialEvents=true` may be set together with `watch=true`.", "boolean"),
    query("timeoutSeconds", "Timeout for the list/watch call.", "integer"),
    query(
      "watch",
      "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.",
      "boolean",
    ),
  ],
};

function pathParam(name: string, description: string): Obj {
  return { name, in: "path", description, required: true, schema: { type: "string", uniqueItems: true } };
}

function opGroup(group: string): string {
  if (!group) return "Core";
  return group
    .replace(/\.k8s\.io$/, "")
    .split(".")
    .map((s) => s[0].toUpperCase() + s.slice(1))
    .join("");
}

const PATCH_TYPES = [
  "application/apply-patch+yaml",
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
];

function resourcePaths(r: ResourceInfo, name: string, listName: string | undefined): Obj {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const collection = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const gvk = { group: r.group, kind: r.kind, version: r.version };
  const V = r.version[0].toUpperCase() + r.version.slice(1);
  const ns = r.namespaced ? "Namespaced" : "";
  const tag = `${r.group ? r.group.replace(/\.k8s\.io$/, "").replace(/\./g, "_") : "core"}_${r.version}`;
  const id = (verb: string, suffix = "") => `${verb}${opGroup(r.group)}${V}${ns}${r.kind}${suffix}`;
  const has = (v: string) => r.verbs.includes(v);
  const op = (verb: string, action: string, description: string, extra: Obj): Obj => ({
    tags: [tag],
    description,
    operationId: id(verb),
    ...extra,
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk,
  });
  const common = [
    ...(r.namespaced
      ? [pathParam("namespace", "object name and auth scope, such as for teams and projects")]
      : []),
    P.pretty,
  ];
  const named = [pathParam("name", `name of the ${r.kind}`), ...common];
  const ok = (schema: string, codes = ["200"]) =>
    Object.fromEntries([
      ...codes.map((c) => [
        c,
        { description: c === "201" ? "Created" : c === "202" ? "Accepted" : "OK", content: content(schema) },
      ]),
      ["401", { description: "Unauthorized" }],
    ]);
  const body = (schema: string) => ({
    requestBody: { content: { "*/*": { schema: ref(schema) } }, required: true },
  });
  const patchOp = (schema: string, suffix: string) => ({
    ...op(
      "patch",
      "patch",
      `partially update the specified ${r.kind}${suffix ? ` ${suffix.toLowerCase()}` : ""}`,
      {
        operationId: id("patch", suffix),
        parameters: [P.dryRun, P.fieldManager, P.fieldValidation, P.force],
        requestBody: {
          content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: ref(`${META}Patch`) }])),
          required: true,
        },
        responses: ok(schema, ["200", "201"]),
      },
    ),
  });
  const out: Obj = {};

  const coll: Obj = { parameters: common };
  if (has("list") && listName)
    coll.get = op("list", "list", `list or watch objects of kind ${r.kind}`, {
      parameters: P.list,
      responses: ok(listName),
    });
  if (has("create"))
    coll.post = op("create", "post", `create a ${r.kind}`, {
      parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
      ...body(name),
      responses: ok(name, ["200", "201", "202"]),
    });
  if (has("deletecollection")) {
    coll.delete = op("delete", "deletecollection", `delete collection of ${r.kind}`, {
      operationId: `delete${opGroup(r.group)}${V}Collection${ns}${r.kind}`,
      parameters: [...P.list, P.dryRun, P.gracePeriodSeconds, P.propagationPolicy],
      requestBody: { content: { "*/*": { schema: ref(`${META}DeleteOptions`) } } },
      responses: ok(`${META}Status`),
    });
  }
  out[collection] = coll;

  const item: Obj = { parameters: named };
  if (has("get")) item.get = op("read", "get", `read the specified ${r.kind}`, { responses: ok(name) });
  if (has("update"))
    item.put = op("replace", "put", `replace the specified ${r.kind}`, {
      parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
      ...body(name),
      responses: ok(name, ["200", "201"]),
    });
  if (has("patch")) item.patch = patchOp(name, "");
  if (has("delete")) {
    item.delete = op("delete", "delete", `delete a ${r.kind}`, {
      parameters: [P.dryRun, P.gracePeriodSeconds, P.propagationPolicy],
      requestBody: { content: { "*/*": { schema: ref(`${META}DeleteOptions`) } } },
      responses: ok(`${META}Status`, ["200", "202"]),
    });
  }
  out[`${collection}/{name}`] = item;

  if (r.namespaced && has("list") && listName) {
    out[`${base}/${r.plural}`] = {
      parameters: [P.pretty],
      get: {
        ...op("list", "list", `list or watch objects of kind ${r.kind}`, {
          parameters: P.list,
          responses: ok(listName),
        }),
        operationId: `list${opGroup(r.group)}${V}${r.kind}ForAllNamespaces`,
      },
    };
  }
  for (const sub of ["status", "scale"] as const) {
    if (!r.subresources.includes(sub)) continue;
    const schema = sub === "scale" ? SCALE : name;
    const suffix = sub === "scale" ? "Scale" : "Status";
    const subGvk = sub === "scale" ? { group: "autoscaling", kind: "Scale", version: "v1" } : gvk;
    const s: Obj = {
      parameters: named,
      get: {
        ...op("read", "get", `read ${sub} of the specified ${r.kind}`, { responses: ok(schema) }),
        operationId: id("read", suffix),
        "x-kubernetes-group-version-kind": subGvk,
      },
      put: {
        ...op("replace", "put", `replace ${sub} of the specified ${r.kind}`, {
          parameters: [P.dryRun, P.fieldManager, P.fieldValidation],
          ...body(schema),
          responses: ok(schema, ["200", "201"]),
        }),
        operationId: id("replace", suffix),
        "x-kubernetes-group-version-kind": subGvk,
      },
      patch: { ...patchOp(schema, suffix), "x-kubernetes-group-version-kind": subGvk },
    };
    out[`${collection}/{name}/${sub}`] = s;
  }
  return out;
}
