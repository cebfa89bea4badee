// The structural layer: ajv against the generated schemas. It finds unknown fields
// (which the server rejects, warns about or drops, by fieldValidation) and values of
// the wrong JSON type. The schemas' `required` lists are not enforced here: like
// kube-apiserver, which never checks them for built-in kinds, the semantic checks
// decide what is required (a StatefulSet's serviceName is "required" in the 1.30
// schema but optional on a 1.32 server). One ajv instance holds every
// definition; a kind's validator is compiled on first use and kept.
import type { default as Ajv, ErrorObject, ValidateFunction } from "ajv";
import { definitionNameFor, definitions } from "../schema/definitions";
import type { JsonSchema } from "../schema/types";
import { type Cause, Path, typeInvalid } from "./field";
import { QUANTITY_ERROR } from "./quantity";

const QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$";

export const DOC_ID = "k8s.json";

export const AJV_OPTIONS = {
  allErrors: true,
  strict: false,
  validateFormats: false,
  inlineRefs: false,
} as const;

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();
let standalone: Record<string, ValidateFunction> | undefined;

/** The export of a kind's validator in generated/validators.js. */
export function exportNameOf(definition: string): string {
  return definition.replace(/[^A-Za-z0-9]/g, "_");
}

/** The schema ajv checks: closed objects, int-or-string and quantities as either type, no annotations. */
function forAjv(s: JsonSchema): Record<string, unknown> {
  if (s.$ref) return { $ref: s.$ref };
  if (s.oneOf) {
    // IntOrString (integer or string) and Quantity (number or string, cpu: 0.5).
    const type = s.oneOf.map((x) => x.type);
    return s.format === "quantity" ? { type, pattern: QUANTITY_PATTERN } : { type };
  }
  const out: Record<string, unknown> = {};
  if (s.allOf) out.allOf = s.allOf.map(forAjv);
  if (s.type) out.type = s.type;
  if (s.items) out.items = forAjv(s.items);
  if (s.properties) {
    out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, forAjv(v)]));
    if (!s["x-kubernetes-preserve-unknown-fields"]) out.additionalProperties = false;
  } else if (s.additionalProperties && typeof s.additionalProperties === "object") {
    out.additionalProperties = forAjv(s.additionalProperties);
  }
  return out;
}

/** Every definition in ajv's form, as one document with the OpenAPI layout so $refs resolve. */
export function forAjvDoc(): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(definitions())) schemas[name] = forAjv(s);
  return { $id: DOC_ID, components: { schemas } };
}

function instance(): Ajv {
  if (ajv) return ajv;
  // Loaded only when a kind has no precompiled validator: startup does not pay for ajv.
  const AjvClass = (require("ajv") as { default: typeof Ajv }).default;
  const a = new AjvClass(AJV_OPTIONS);
  a.addSchema(forAjvDoc());
  ajv = a;
  return a;
}

function validatorFor(group: string, version: string, kind: string): ValidateFunction | undefined {
  const name = definitionNameFor(group, version, kind);
  if (!name) return undefined;
  let v = compiled.get(name);
  if (!v) {
    // Precompiled at build time; a kind added since the last `npm run gen:schemas`
    // is compiled here instead (slower, same result).
    standalone ??= require("./generated/validators") as Record<string, ValidateFunction>;
    v =
      standalone[exportNameOf(name)] ?? instance().compile({ $ref: `${DOC_ID}#/components/schemas/${name}` });
    compiled.set(name, v);
  }
  return v;
}

/** Unknown fields, type errors and missing required fields of one object. */
export interface SchemaResult {
  /** Paths of unknown fields ("spec.foo", "spec.containers[0].bar"), in document order. */
  unknown: string[];
  /** Wrong JSON types (FieldValueTypeInvalid). */
  typeErrors: Cause[];
  /** A value the decoder itself rejects (a malformed quantity): a 400, not a 422. */
  decodeError?: string;
}

/** A copy without null-valued object fields: Kubernetes decodes `null` as "not set". */
export function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = withoutNulls(x);
    return out;
  }
  return v;
}

/** JSON schema type name of a value, as the structural-schema errors print it. */
function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** "/spec/containers/0/name" → spec.containers[0].name (indexes only where the value is an array). */
function toPath(obj: unknown, pointer: string, extra?: string): { path: Path; value: unknown } {
  const segs = pointer
    ? pointer
        .slice(1)
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    : [];
  if (extra !== undefined) segs.push(extra);
  let p = new Path();
  let cur: unknown = obj;
  for (const seg of segs) {
    if (Array.isArray(cur)) {
      p = p.index(Number(seg));
      cur = cur[Number(seg)];
    } else {
      p = p.child(seg);
      cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return { path: p, value: cur };
}

/** Checks an object against its kind's schema; undefined when the kind has no schema. */
export function checkSchema(
  group: string,
  version: string,
  kind: string,
  obj: unknown,
): SchemaResult | undefined {
  const validate = validatorFor(group, version, kind);
  if (!validate) return undefined;
  const result: SchemaResult = { unknown: [], typeErrors: [] };
  if (validate(obj)) return result;
  const seen = new Set<string>();
  for (const e of validate.errors ?? ([] as ErrorObject[])) {
    if (e.keyword === "additionalProperties") {
      const { path } = toPath(
        obj,
        e.instancePath,
        (e.params as { additionalProperty: string }).additionalProperty,
      );
      if (!seen.has(`u:${path.text}`)) {
        seen.add(`u:${path.text}`);
        result.unknown.push(path.text);
      }
    } else if (e.keyword === "type") {
      const { path, value } = toPath(obj, e.instancePath);
      if (seen.has(`t:${path.text}`)) continue;
      seen.add(`t:${path.text}`);
      const want = String((e.params as { type: string | string[] }).type)
        .split(",")
        .join(" or ");
      const got = jsonType(value);
      result.typeErrors.push(
        typeInvalid(path, got, `${path.text} in body must be of type ${want}: ${JSON.stringify(got)}`),
      );
    } else if (e.keyword === "pattern") {
      result.decodeError = QUANTITY_ERROR;
    }
  }
  return result;
}

/**
 * Removes unknown fields in place (what decoding into Go types does under
 * fieldValidation=Ignore or Warn) and returns their paths.
 */
export function pruneUnknownFields(group: string, version: string, kind: string, obj: unknown): string[] {
  const validate = validatorFor(group, version, kind);
  if (!validate || validate(obj)) return [];
  const removed: string[] = [];
  const targets: { parent: Record<string, unknown>; key: string; path: string }[] = [];
  for (const e of validate.errors ?? []) {
    if (e.keyword !== "additionalProperties") continue;
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    const { path, value: parent } = toPath(obj, e.instancePath);
    if (parent && typeof parent === "object" && !Array.isArray(parent)) {
      targets.push({ parent: parent as Record<string, unknown>, key, path: path.child(key).text });
    }
  }
  for (const t of targets) {
    if (Object.hasOwn(t.parent, t.key)) {
      delete t.parent[t.key];
      removed.push(t.path);
    }
  }
  return removed;
}
