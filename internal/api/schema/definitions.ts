// The served types' schemas, generated from kubernetes-types by generate.ts and
// committed as generated/definitions.json. Loaded on first use (the JSON is about
// half a megabyte; parsing it takes a few milliseconds) so that a process which
// never validates or serves OpenAPI never pays for it.
import type { ResourceInfo } from "../resources";
import type { GroupVersionKind, JsonSchema } from "./types";

export const REF_PREFIX = "#/components/schemas/";

let defs: Record<string, JsonSchema> | undefined;
let byGvk: Map<string, string> | undefined;

/** Every generated definition by upstream name (io.k8s.api.core.v1.Pod). */
export function definitions(): Readonly<Record<string, JsonSchema>> {
  defs ??= require("./generated/definitions.json") as Record<string, JsonSchema>;
  return defs;
}

function gvkKey(group: string, version: string, kind: string): string {
  return `${group}/${version}/${kind}`;
}

/** The definition name whose x-kubernetes-group-version-kind lists the GVK. */
export function definitionNameFor(group: string, version: string, kind: string): string | undefined {
  if (!byGvk) {
    const index = new Map<string, string>();
    for (const [name, s] of Object.entries(definitions())) {
      const gvks = s["x-kubernetes-group-version-kind"] as GroupVersionKind[] | undefined;
      // DeleteOptions and WatchEvent are listed under every group version; the
      // kind's own definition must win, so only the first claim sticks.
      for (const g of gvks ?? []) {
        const k = gvkKey(g.group, g.version, g.kind);
        if (!index.has(k)) index.set(k, name);
      }
    }
    byGvk = index;
  }
  return byGvk.get(gvkKey(group, version, kind));
}

/** The top-level schema of a served resource's kind. */
export function schemaFor(info: Pick<ResourceInfo, "group" | "version" | "kind">): JsonSchema | undefined {
  const name = definitionNameFor(info.group, info.version, info.kind);
  return name ? definitions()[name] : undefined;
}

/** Follows a $ref, or an allOf wrapping a single $ref, to the definition it names. */
export function resolve(s: JsonSchema | undefined): JsonSchema | undefined {
  let cur = s;
  for (let i = 0; cur && i < 8; i++) {
    const ref = cur.$ref ?? (cur.allOf?.length === 1 ? cur.allOf[0].$ref : undefined);
    if (!ref) return cur;
    cur = definitions()[ref.slice(REF_PREFIX.length)];
  }
  return cur;
}

/** The names of the definitions reachable from the given ones (themselves included). */
export function reachable(roots: Iterable<string>): Set<string> {
  const all = definitions();
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const name = stack.pop() as string;
    if (seen.has(name) || !all[name]) continue;
    seen.add(name);
    collectRefs(all[name], stack);
  }
  return seen;
}

function collectRefs(s: unknown, out: string[]): void {
  if (Array.isArray(s)) {
    for (const x of s) collectRefs(x, out);
  } else if (s && typeof s === "object") {
    for (const [k, v] of Object.entries(s)) {
      if (k === "$ref" && typeof v === "string") out.push(v.slice(REF_PREFIX.length));
      else if (typeof v === "object") collectRefs(v, out);
    }
  }
}
