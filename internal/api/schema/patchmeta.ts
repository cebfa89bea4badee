// Patch metadata for strategic merge patch and server-side apply, read from the
// generated schemas: for a field path from the object root, how its value merges.

import type { FieldMeta, PatchMeta } from "../patch/meta";
import { definitionNameFor, definitions, resolve } from "./definitions";
import type { JsonSchema } from "./types";

export type { FieldMeta as PatchFieldMeta, PatchMeta } from "../patch/meta";

function typeOf(s: JsonSchema): FieldMeta["type"] {
  if (s.oneOf) return "primitive";
  if (s.type === "object") return "object";
  if (s.type === "array") return "array";
  if (s.type) return "primitive";
  return undefined;
}

function metaOf(field: JsonSchema, target: JsonSchema): FieldMeta {
  const m: FieldMeta = {};
  const type = typeOf(target);
  if (type) m.type = type;
  const pick = (k: string) => (field[k] ?? target[k]) as never;
  if (pick("x-kubernetes-patch-strategy")) m.patchStrategy = pick("x-kubernetes-patch-strategy");
  if (pick("x-kubernetes-patch-merge-key")) m.patchMergeKey = pick("x-kubernetes-patch-merge-key");
  if (pick("x-kubernetes-list-type")) m.listType = pick("x-kubernetes-list-type");
  if (pick("x-kubernetes-list-map-keys")) m.listMapKeys = pick("x-kubernetes-list-map-keys");
  if (pick("x-kubernetes-map-type")) m.mapType = pick("x-kubernetes-map-type");
  if (m.listMapKeys && target.items) {
    // Keys the applier may omit because the schema defaults them (ports' protocol).
    const item = resolve(target.items);
    const defaults: Record<string, unknown> = {};
    for (const k of m.listMapKeys) {
      const d = item?.properties?.[k]?.default;
      if (d !== undefined) defaults[k] = d;
    }
    if (Object.keys(defaults).length) m.listMapKeyDefaults = defaults;
  }
  return m;
}

/** Steps from a container schema into the element schema of arrays (any depth). */
function elements(s: JsonSchema | undefined): JsonSchema | undefined {
  let cur = resolve(s);
  while (cur?.type === "array" && cur.items) cur = resolve(cur.items);
  return cur;
}

class SchemaPatchMeta implements PatchMeta {
  private readonly cache = new Map<string, FieldMeta | undefined>();
  constructor(private readonly rootSchema: JsonSchema) {}

  lookup(path: readonly string[]): FieldMeta | undefined {
    const key = path.join("\u0000");
    if (this.cache.has(key)) return this.cache.get(key);
    const found = this.walk(path);
    this.cache.set(key, found);
    return found;
  }

  private walk(path: readonly string[]): FieldMeta | undefined {
    let container: JsonSchema | undefined = this.rootSchema;
    let field: JsonSchema = this.rootSchema;
    for (const segment of path) {
      const c = elements(container);
      if (!c || c["x-kubernetes-preserve-unknown-fields"]) return undefined;
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
