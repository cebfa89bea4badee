// Build-time generator (`npm run gen:schemas`): turns the TypeScript declarations
// of `kubernetes-types` (generated from the upstream OpenAPI, doc comments
// included) into OpenAPI v3 component schemas named as upstream names them
// (io.k8s.api.core.v1.Pod), adds the extensions the declarations lose (merge keys,
// list/map types, int64, int-or-string, formats, GVKs) and writes
// generated/definitions.json. Only the definitions reachable from the served
// resources (internal/api/resources.ts) and the meta types are kept.
//
// The output is committed, so a normal build needs no generation.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import ts from "typescript";
import { RESOURCES } from "../resources";
import { ATOMIC_STRUCTS, FIELD_DEFAULTS, FIELD_ENUMS, FIELD_EXTENSIONS, INT64_FIELDS } from "./extensions";
import type { JsonSchema } from "./types";

const TYPES_DIR = dirname(require.resolve("kubernetes-types/package.json"));
const OUT = join(__dirname, "generated", "definitions.json");
const REF = "#/components/schemas/";

const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";

/** Kinds served or returned besides the resource table's rows: [module, name]. */
const EXTRA_ROOTS: [string, string][] = [
  ["meta/v1", "Status"],
  ["meta/v1", "DeleteOptions"],
  ["meta/v1", "WatchEvent"],
  ["meta/v1", "APIResourceList"],
  ["meta/v1", "APIGroupList"],
  ["meta/v1", "APIGroup"],
  ["meta/v1", "APIVersions"],
  ["meta/v1", "Patch"],
  ["autoscaling/v1", "Scale"],
  ["policy/v1", "Eviction"],
  ["core/v1", "Binding"],
  ["authorization/v1", "SelfSubjectAccessReview"],
  ["authorization/v1", "SubjectAccessReview"],
  ["authentication/v1", "SelfSubjectReview"],
  ["authentication/v1", "TokenRequest"],
  ["authentication/v1", "TokenReview"],
];

/** kubernetes-types module ("core/v1", "meta/v1", "api/resource") → upstream package prefix. */
function packageOf(module: string): string {
  if (module === "meta/v1") return "io.k8s.apimachinery.pkg.apis.meta.v1";
  if (module === "api/resource") return "io.k8s.apimachinery.pkg.api.resource";
  if (module === "runtime") return "io.k8s.apimachinery.pkg.runtime";
  if (module === "version") return "io.k8s.apimachinery.pkg.version";
  if (module === "apiextensions/v1") return "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1";
  return `io.k8s.api.${module.replace("/", ".")}`;
}

/** The kubernetes-types module of an API group version ("" → core/v1, "apps" → apps/v1). */
export function moduleOf(group: string, version: string): string {
  return `${group.split(".")[0] || "core"}/${version}`;
}

interface Decl {
  module: string;
  node: ts.InterfaceDeclaration | ts.TypeAliasDeclaration;
  source: ts.SourceFile;
  imports: Map<string, string>;
}

const modules = new Map<string, Map<string, Decl>>();

function loadModule(module: string): Map<string, Decl> {
  const cached = modules.get(module);
  if (cached) return cached;
  const file = join(TYPES_DIR, `${module}.d.ts`);
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
  const imports = new Map<string, string>();
  const decls = new Map<string, Decl>();
  for (const st of source.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      const from = join(dirname(module), st.moduleSpecifier.text).replace(/\\/g, "/");
      const named = st.importClause?.namedBindings;
      if (named && ts.isNamedImports(named)) for (const el of named.elements) imports.set(el.name.text, from);
    } else if (ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)) {
      decls.set(st.name.text, { module, node: st, source, imports });
    }
  }
  modules.set(module, decls);
  return decls;
}

/** The doc comment before a node, as plain text. */
function docOf(node: ts.Node, source: ts.SourceFile): string | undefined {
  const text = source.getFullText();
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const last = ranges.filter((r) => text.startsWith("/**", r.pos)).pop();
  if (!last) return undefined;
  const body = text
    .slice(last.pos + 3, last.end - 2)
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, "").trimEnd())
    .join("\n")
    .trim();
  return body || undefined;
}

const definitions: Record<string, JsonSchema> = {};
const queue: [string, string][] = [];

function defName(module: string, name: string): string {
  return `${packageOf(module)}.${name}`;
}

/** Ensures the definition of module.name is (or will be) generated; returns its name. */
function want(module: string, name: string): string {
  const full = defName(module, name);
  if (!(full in definitions) && !queue.some(([m, n]) => m === module && n === name))
    queue.push([module, name]);
  return full;
}

function refTo(full: string): JsonSchema {
  return { $ref: REF + full };
}

/** A property or item type → schema; `owner`/`field` pick the int64 format. */
function typeSchema(t: ts.TypeNode, decl: Decl, owner: string, field: string): JsonSchema {
  switch (t.kind) {
    case ts.SyntaxKind.StringKeyword:
      return { type: "string" };
    case ts.SyntaxKind.BooleanKeyword:
      return { type: "boolean" };
    case ts.SyntaxKind.NumberKeyword:
      return { type: "integer", format: INT64_FIELDS[owner]?.includes(field) ? "int64" : "int32" };
    case ts.SyntaxKind.AnyKeyword:
    case ts.SyntaxKind.UnknownKeyword:
      return { "x-kubernetes-preserve-unknown-fields": true };
  }
  if (ts.isLiteralTypeNode(t)) return { type: "string" };
  if (ts.isParenthesizedTypeNode(t)) return typeSchema(t.type, decl, owner, field);
  if (ts.isArrayTypeNode(t)) return { type: "array", items: typeSchema(t.elementType, decl, owner, field) };
  if (ts.isUnionTypeNode(t)) {
    const kinds = new Set(t.types.map((x) => x.kind));
    if (kinds.has(ts.SyntaxKind.NumberKeyword) && kinds.has(ts.SyntaxKind.StringKeyword)) {
      ensureIntOrString();
      return refTo(INT_OR_STRING);
    }
    if (t.types.every(ts.isLiteralTypeNode)) return { type: "string" };
    throw new Error(`${owner}.${field}: unsupported union ${t.getText(decl.source)}`);
  }
  if (ts.isTypeLiteralNode(t)) {
    const index = t.members.find(ts.isIndexSignatureDeclaration);
    if (index?.type)
      return { type: "object", additionalProperties: typeSchema(index.type, decl, owner, field) };
    throw new Error(`${owner}.${field}: unsupported type literal`);
  }
  if (ts.isTypeReferenceNode(t)) {
    const name = t.typeName.getText(decl.source);
    if (name === "Array" && t.typeArguments?.length === 1) {
      return { type: "array", items: typeSchema(t.typeArguments[0], decl, owner, field) };
    }
    const module = decl.imports.get(name) ?? decl.module;
    if (!loadModule(module).has(name))
      throw new Error(`${owner}.${field}: unknown type ${name} in ${module}`);
    return refTo(want(module, name));
  }
  throw new Error(`${owner}.${field}: unsupported type ${ts.SyntaxKind[t.kind]}`);
}

/** Upstream v3 wraps a $ref that sits beside other keywords (a description) in allOf. */
function withDescription(s: JsonSchema, description: string | undefined): JsonSchema {
  if (!description) return s;
  if (s.$ref) return { allOf: [{ $ref: s.$ref }], description };
  return { ...s, description };
}

function ensureIntOrString(): void {
  definitions[INT_OR_STRING] ??= {
    description:
      "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.",
    format: "int-or-string",
    oneOf: [{ type: "integer" }, { type: "string" }],
    "x-kubernetes-int-or-string": true,
  };
}

function generateOne(module: string, name: string): void {
  const full = defName(module, name);
  const decl = loadModule(module).get(name);
  if (!decl) throw new Error(`no declaration ${name} in ${module}`);
  const description = docOf(decl.node, decl.source);
  if (ts.isTypeAliasDeclaration(decl.node)) {
    const s: JsonSchema = { type: "string" };
    if (name === "Time" || name === "MicroTime") s.format = "date-time";
    if (name === "Quantity") {
      // As kube-openapi writes it in v3: a string or a number (YAML users write `cpu: 1`).
      // kubectl explain then shows the type as "Quantity".
      delete s.type;
      s.oneOf = [{ type: "string" }, { type: "number" }];
      s.format = "quantity";
    }
    definitions[full] = withDescription(s, description);
    return;
  }
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  const members = [...decl.node.members]
    .filter(ts.isPropertySignature)
    .sort((a, b) => a.name.getText(decl.source).localeCompare(b.name.getText(decl.source)));
  for (const m of members) {
    const field = m.name.getText(decl.source).replace(/^"|"$/g, "");
    if (!m.type) continue;
    let s = typeSchema(m.type, decl, full, field);
    s = withDescription(s, docOf(m, decl.source));
    const ext = FIELD_EXTENSIONS[full]?.[field];
    if (ext) {
      if (ext.list) s["x-kubernetes-list-type"] = ext.list;
      if (ext.mapKeys) s["x-kubernetes-list-map-keys"] = ext.mapKeys;
      if (ext.key) s["x-kubernetes-patch-merge-key"] = ext.key;
      if (ext.strategy) s["x-kubernetes-patch-strategy"] = ext.strategy;
      if (ext.map) s["x-kubernetes-map-type"] = ext.map;
    }
    const values = FIELD_ENUMS[full]?.[field];
    if (values) s.enum = values;
    const d = FIELD_DEFAULTS[full]?.[field];
    if (d !== undefined) s.default = d;
    properties[field] = s;
    if (!m.questionToken) required.push(field);
  }
  for (const field of [
    ...Object.keys(FIELD_EXTENSIONS[full] ?? {}),
    ...Object.keys(FIELD_ENUMS[full] ?? {}),
  ]) {
    if (!(field in properties)) throw new Error(`extension for unknown field ${full}.${field}`);
  }
  const s: JsonSchema = { description, type: "object" };
  if (members.length === 0) s["x-kubernetes-preserve-unknown-fields"] = true;
  else s.properties = properties;
  if (required.length) s.required = required;
  if (ATOMIC_STRUCTS.includes(full)) s["x-kubernetes-map-type"] = "atomic";
  if (!description) delete s.description;
  definitions[full] = s;
}

/** meta.k8s.io Table is not in kubernetes-types (it is not in the upstream OpenAPI either). */
function addTable(): void {
  const meta = "io.k8s.apimachinery.pkg.apis.meta.v1.";
  definitions[`${meta}TableColumnDefinition`] = {
    description: "TableColumnDefinition contains information about a column returned in the Table.",
    type: "object",
    properties: {
      name: { type: "string", description: "name is a human readable name for the column." },
      type: {
        type: "string",
        description:
          "type is an OpenAPI type definition for this column, such as number, integer, string, or array.",
      },
      format: { type: "string", description: "format is an optional OpenAPI type modifier for this column." },
      description: {
        type: "string",
        description: "description is a human readable description of this column.",
      },
      priority: {
        type: "integer",
        format: "int32",
        description:
          "priority is an integer defining the relative importance of this column compared to others.",
      },
    },
    required: ["name", "type", "format", "description", "priority"],
  };
  definitions[`${meta}TableRow`] = {
    description: "TableRow is an individual row in a table.",
    type: "object",
    properties: {
      cells: {
        type: "array",
        items: { "x-kubernetes-preserve-unknown-fields": true },
        description:
          "cells will be as wide as the column definitions array and may contain strings, numbers (float64 or int64), booleans, simple maps, lists, or null.",
      },
      conditions: {
        type: "array",
        items: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        description: "conditions describe additional status of a row that are relevant for a human user.",
      },
      object: {
        allOf: [{ $ref: `${REF}io.k8s.apimachinery.pkg.runtime.RawExtension` }],
        description:
          "This field contains the requested additional information about each object based on the includeObject policy when requesting the Table.",
      },
    },
    required: ["cells"],
  };
  definitions[`${meta}Table`] = {
    description:
      "Table is a tabular representation of a set of API resources. The server transforms the object into a set of preferred columns for quickly reviewing the objects.",
    type: "object",
    properties: {
      apiVersion: {
        type: "string",
        description: "APIVersion defines the versioned schema of this representation of an object.",
      },
      kind: {
        type: "string",
        description: "Kind is a string value representing the REST resource this object represents.",
      },
      metadata: { allOf: [{ $ref: `${REF}${meta}ListMeta` }], description: "Standard list metadata." },
      columnDefinitions: {
        type: "array",
        items: { $ref: `${REF}${meta}TableColumnDefinition` },
        description: "columnDefinitions describes each column in the returned items array.",
        "x-kubernetes-list-type": "atomic",
      },
      rows: {
        type: "array",
        items: { $ref: `${REF}${meta}TableRow` },
        description: "rows is the list of items in the table.",
        "x-kubernetes-list-type": "atomic",
      },
    },
    required: ["columnDefinitions", "rows"],
    "x-kubernetes-group-version-kind": [{ group: "meta.k8s.io", kind: "Table", version: "v1" }],
  };
  want("runtime", "RawExtension");
  want("meta/v1", "ListMeta");
}

/** The group versions every meta kind (DeleteOptions, WatchEvent) is registered in. */
function allGroupVersions(): { group: string; version: string }[] {
  const out: { group: string; version: string }[] = [];
  const add = (group: string, version: string) => {
    if (!out.some((x) => x.group === group && x.version === version)) out.push({ group, version });
  };
  for (const r of RESOURCES) add(r.group, r.version);
  for (const [module] of EXTRA_ROOTS) {
    if (module === "meta/v1") continue;
    const [folder, version] = module.split("/");
    add(
      folder === "core" ? "" : `${folder}${folder === "autoscaling" || folder === "policy" ? "" : ".k8s.io"}`,
      version,
    );
  }
  return out;
}

function gvkOf(module: string, name: string): { group: string; kind: string; version: string }[] | undefined {
  const decl = loadModule(module).get(name);
  if (!decl || !ts.isInterfaceDeclaration(decl.node)) return undefined;
  const av = decl.node.members.find(
    (m) => ts.isPropertySignature(m) && m.name.getText(decl.source) === "apiVersion",
  );
  if (
    !av ||
    !ts.isPropertySignature(av) ||
    !av.type ||
    !ts.isLiteralTypeNode(av.type) ||
    !ts.isStringLiteral(av.type.literal)
  )
    return undefined;
  const apiVersion = av.type.literal.text;
  const slash = apiVersion.indexOf("/");
  return [
    { group: slash < 0 ? "" : apiVersion.slice(0, slash), kind: name, version: apiVersion.slice(slash + 1) },
  ];
}

export function generate(): Record<string, JsonSchema> {
  const roots: [string, string][] = [];
  for (const r of RESOURCES) {
    const module = moduleOf(r.group, r.version);
    roots.push([module, r.kind], [module, `${r.kind}List`]);
  }
  roots.push(...EXTRA_ROOTS);
  for (const [m, n] of roots) want(m, n);
  addTable();
  while (queue.length) {
    const [m, n] = queue.shift() as [string, string];
    if (!(defName(m, n) in definitions)) generateOne(m, n);
  }
  for (const [m, n] of roots) {
    const gvk = gvkOf(m, n);
    if (gvk) definitions[defName(m, n)]["x-kubernetes-group-version-kind"] = gvk;
  }
  const everywhere = allGroupVersions();
  for (const kind of ["DeleteOptions", "WatchEvent"]) {
    definitions[defName("meta/v1", kind)]["x-kubernetes-group-version-kind"] = everywhere.map((gv) => ({
      group: gv.group,
      kind,
      version: gv.version,
    }));
  }
  definitions[defName("meta/v1", "Status")]["x-kubernetes-group-version-kind"] = [
    { group: "", kind: "Status", version: "v1" },
  ];
  const sorted: Record<string, JsonSchema> = {};
  for (const k of Object.keys(definitions).sort()) sorted[k] = definitions[k];
  return sorted;
}

if (require.main === module) {
  const defs = generate();
  const text = `${JSON.stringify(defs)}\n`;
  writeFileSync(OUT, text);
  console.log(`wrote ${OUT}: ${Object.keys(defs).length} definitions, ${text.length} bytes`);
}
