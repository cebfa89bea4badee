// How the patch and apply code learns about a field: the x-kubernetes-* extensions of
// the OpenAPI schemas (internal/api/schema provides patchMetaFor(group, version, kind)).

/** What the schema says about one field. All optional: an unknown field is a plain value. */
export interface FieldMeta {
  /** Strategic merge patch strategy: "merge", "replace", "retainKeys", "merge,retainKeys". */
  patchStrategy?: string;
  /** Strategic merge patch merge key of a list of objects, e.g. "name". */
  patchMergeKey?: string;
  /** Server-side apply list semantics (x-kubernetes-list-type). Lists default to atomic. */
  listType?: "atomic" | "set" | "map";
  /** Keys of a listType=map list (x-kubernetes-list-map-keys), e.g. ["containerPort", "protocol"]. */
  listMapKeys?: string[];
  /**
   * Defaults of list-map keys the applier may omit (the schema's `default` on the key
   * field), e.g. {protocol: "TCP"} for container and service ports.
   */
  listMapKeyDefaults?: Record<string, unknown>;
  /** x-kubernetes-map-type (or structType): "atomic" objects are owned and replaced whole. */
  mapType?: "atomic" | "granular";
  type?: "object" | "array" | "primitive";
}

/**
 * Field metadata of one kind. `path` holds field names from the object root; list
 * items add nothing (the fields of containers are ["spec", "containers", "ports"]), and
 * the entries of a map (labels, data) appear under their key.
 */
export interface PatchMeta {
  lookup(path: readonly string[]): FieldMeta | undefined;
}

/** A PatchMeta that knows nothing: maps merge, lists are replaced (CRD-like behaviour). */
export const NO_PATCH_META: PatchMeta = { lookup: () => undefined };

/** Builds a PatchMeta from a table keyed by dotted paths ("spec.template.spec.containers"). */
export function patchMetaFromTable(table: Record<string, FieldMeta>): PatchMeta {
  const byPath = new Map(Object.entries(table));
  return { lookup: (path) => byPath.get(path.join(".")) };
}

/** Splits a patchStrategy into its list/map strategy and the retainKeys flag, as Kubernetes does. */
export function parsePatchStrategy(strategy: string | undefined): { strategy: string; retainKeys: boolean } {
  if (!strategy) return { strategy: "", retainKeys: false };
  const parts = strategy.split(",").map((s) => s.trim());
  const retainKeys = parts.includes("retainKeys");
  const rest = parts.filter((p) => p !== "retainKeys");
  return { strategy: rest[0] ?? "", retainKeys };
}

export type ListKind = { kind: "atomic" } | { kind: "set" } | { kind: "map"; keys: string[] };

/**
 * The server-side apply view of a list: x-kubernetes-list-type first, then the
 * strategic-merge tags of older schemas, else atomic (the Kubernetes default).
 */
export function listKindOf(m: FieldMeta | undefined): ListKind {
  if (m?.listType === "map") {
    const keys = m.listMapKeys?.length ? m.listMapKeys : m.patchMergeKey ? [m.patchMergeKey] : [];
    if (keys.length > 0) return { kind: "map", keys };
    return { kind: "atomic" };
  }
  if (m?.listType === "set") return { kind: "set" };
  if (m?.listType === "atomic") return { kind: "atomic" };
  const { strategy } = parsePatchStrategy(m?.patchStrategy);
  if (strategy === "merge") {
    if (m?.patchMergeKey) return { kind: "map", keys: [m.patchMergeKey] };
    return { kind: "set" };
  }
  return { kind: "atomic" };
}
