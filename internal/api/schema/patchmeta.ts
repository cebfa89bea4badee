// Patch metadata for strategic merge patch and server-side apply, read from the
// generated schemas: for a field path from the object root, how its value merges.
import { definitionNameFor, definitions, resolve } from "./definitions";
import type { JsonSchema } from "./types";

export interface PatchFieldMeta {
  /** x-kubernetes-patch-strategy: "merge", "retainKeys", "merge,retainKeys", "replace". */
  patchStrategy?: string;
  /** x-kubernetes-patch-merge-key, e.g. "name" for containers. */
  patchMergeKey?: string;
  /** x-kubernetes-list-type: "atomic", "set", "map". */
  listType?: string;
  /** x-kubernetes-list-map-keys, e.g. ["containerPort", "protocol"]. */
  listMapKeys?: string[];
  /** x-kubernetes-map-type: "atomic" or "granular" (on maps and structs). */
  mapType?: string;
  /**
   * "object" (a struct: fixed properties), "map" (string keys, like labels),
   * "array", "string", "integer", "boolean", "int-or-string" or "any" (free-form).
   */
  type?: string;
}

export interface PatchMeta {
  /**
   * Metadata of the field at `path` (field names from the object root; list items
   * are stepped into implicitly and map keys are path segments), or undefined when
   * the path names no field of the schema.
   */
  lookup(path: string[]): PatchFieldMeta | undefined;
}

function typeOf(s: JsonSchema): string {
  if (s["x-kubernetes-int-or-string"]) return "int-or-string";
  if (s.type === "object" && s.properties) return "object";
  if (s.type === "object" && s.additionalProperties) return "map";
  if (s.type === "object" || s["x-kubernetes-preserve-unknown-fields"]) return "any";
  return s.type ?? "any";
}

function metaOf(field: JsonSchema, target: JsonSchema): PatchFieldMeta {
  const m: PatchFieldMeta = { type: typeOf(target) };
  const pick = (k: string) => (field[k] ?? target[k]) as never;
  if (pick("x-kubernetes-patch-strategy")) m.patchStrategy = pick("x-kubernetes-patch-strategy");
  if (pick("x-kubernetes-patch-merge-key")) m.patchMergeKey = pick("x-kubernetes-patch-merge-key");
  if (pick("x-kubernetes-list-type")) m.listType = pick("x-kubernetes-list-type");
  if (pick("x-kubernetes-list-map-keys")) m.listMapKeys = pick("x-kubernetes-list-map-keys");
  if (pick("x-kubernetes-map-type")) m.mapType = pick("x-kubernetes-map-type");
  return m;
}

/** Steps from a container schema into the element schema of arrays (any depth). */
function elements(s: JsonSchema | undefined): JsonSchema | undefined {
  let cur = resolve(s);
  while (cur?.type === "array" && cur.items) cur = resolve(cur.items);
  return cur;
}

class SchemaPatchMeta implements PatchMeta {
  private readonly cache = new Map<string, PatchFieldMeta | undefined>();
  constructor(private readonly rootSchema: JsonSchema) {}

  lookup(path: string[]): PatchFieldMeta | undefined {
    const key = path.join("\u0000");
    if (this.cache.has(key)) return this.cache.get(key);
    const found = this.walk(path);
    this.cache.set(key, found);
    return found;
  }

  private walk(path: string[]): PatchFieldMeta | undefined {
    let container: JsonSchema | undefined = this.rootSchema;
    let field: JsonSchema = this.rootSchema;
    for (const segment of path) {
      const c = elements(container);
      if (!c || c["x-kubernetes-preserve-unknown-fields"]) return c ? { type: "any" } : undefined;
      let next: JsonSchema | undefined;
      if (c.properties) next = c.properties[segment];
      else if (c.additionalProperties && typeof c.additionalProperties === "object")
        next = c.additionalProperties;
      if (!next) return undefined;
      field = next;
      container = next;
    }
    const target = resolve(field) ?? field;
    return metaOf(field, target);
  }
}

const cache = new Map<string, PatchMeta>();

/**
 * The patch metadata of a kind; throws for a kind without a schema (a programming
 * error: every served kind has one, and callers fall back to JSON merge patch for
 * kinds they do not serve).
 */
export function patchMetaFor(group: string, version: string, kind: string): PatchMeta {
  const key = `${group}/${version}/${kind}`;
  let m = cache.get(key);
  if (!m) {
    const name = definitionNameFor(group, version, kind);
    if (!name) throw new Error(`no schema for ${key}`);
    m = new SchemaPatchMeta(definitions()[name]);
    cache.set(key, m);
  }
  return m;
}
