// Strategic merge patch (application/strategic-merge-patch+json), the patch kubectl sends
// for apply (its three-way patch), edit, patch, set and rollout. Objects merge as in a
// JSON merge patch, but lists whose field has patchStrategy "merge" are merged: objects by
// their patchMergeKey, primitives as a set. The directives are the ones documented in
// the Kubernetes "Strategic Merge Patch" design and applied by apimachinery's
// strategicpatch package on the server:
//   $patch: replace | delete          on a map, or as a list item
//   {$patch: delete, <key>: value}    a list item, deletes the matching items
//   $retainKeys: [...]                clear the keys of the original not listed
//   $setElementOrder/<list>: [...]    the order of the merged list
//   $deleteFromPrimitiveList/<list>   values to remove from a merged primitive list
//   null                              deletes the field
// Order of merged lists follows the server: items named by the patch (or by
// $setElementOrder) keep the patch's relative order, items only on the server keep
// theirs, and the two are interleaved by their positions in the original list.

import { badRequest, invalid, type PatchError } from "./errors";
import { clone, deepEqual, goValue, has, isObject, type JsonObject, jsonTypeName, setKey } from "./json";
import { type PatchMeta, parsePatchStrategy } from "./meta";

const DIRECTIVE = "$patch";
const RETAIN_KEYS = "$retainKeys";
const SET_ORDER = "$setElementOrder";
const DELETE_FROM_PRIMITIVE = "$deleteFromPrimitiveList";

// The messages of apimachinery's mergepatch errors.
const ERR_RETAIN_KEYS = "invalid patch format of retainKeys";
const ERR_SET_ORDER = "invalid patch format of setElementOrder list";
const ERR_PRIMITIVE_LIST = "invalid patch format of primitive list";

/**
 * Applies a strategic merge patch to a copy of `obj`, using `meta` for the merge keys and
 * strategies. Bad patches are BadRequest (malformed directives, a list item without its
 * merge key) or Invalid (lists of lists, as the server answers 422).
 */
export function applyStrategicMergePatch(obj: unknown, patch: unknown, meta: PatchMeta): unknown {
  if (!isObject(patch)) {
    throw badRequest(
      `json: cannot unmarshal ${jsonTypeName(patch)} into Go value of type map[string]interface {}`,
    );
  }
  const original = isObject(obj) ? clone(obj) : {};
  return new Merger(meta).mergeMap(original, clone(patch), []);
}

type Kind = "map" | "list" | "primitive";

function kindOf(v: unknown): Kind {
  if (Array.isArray(v)) return "list";
  if (isObject(v)) return "map";
  return "primitive";
}

/** The element kind of one or more lists, which must agree, as the server requires. */
function elementKind(...lists: unknown[][]): Kind | undefined {
  let kind: Kind | undefined;
  let prim: string | undefined;
  for (const list of lists) {
    for (const v of list) {
      const k = kindOf(v);
      if (k === "list") throw invalid("lists of lists are not supported");
      const t = v === null ? "null" : typeof v;
      if (kind === undefined) {
        kind = k;
        prim = t;
      } else if (kind !== k || (k === "primitive" && prim !== t)) {
        throw badRequest(`list element types are not identical: ${lists.map((l) => goValue(l)).join(" ")}`);
      }
    }
  }
  return kind;
}

function noMergeKey(m: unknown, key: string): PatchError {
  return badRequest(`map: ${goValue(m)} does not contain declared merge key: ${key}`);
}

/** The key an item is identified by: its merge key's value for maps, itself for primitives. */
function identity(item: unknown, mergeKey: string): unknown {
  return mergeKey && isObject(item) ? item[mergeKey] : item;
}

function indexIn(list: unknown[], item: unknown, mergeKey: string): number {
  const id = identity(item, mergeKey);
  return list.findIndex((x) => identity(x, mergeKey) === id);
}

/** Stable sort by position in `order`; items are all expected to be in it. */
function sortByOrder(items: unknown[], order: unknown[], mergeKey: string): unknown[] {
  return items
    .map((item, i) => ({ item, i, at: indexIn(order, item, mergeKey) }))
    .sort((a, b) => (a.at >= 0 && b.at >= 0 ? a.at - b.at : a.i - b.i) || a.i - b.i)
    .map((x) => x.item);
}

/**
 * Interleaves server-only items (in server order) with patch items (in patch order):
 * a server item goes first only when both are in the original list and it came earlier.
 */
function interleave(
  serverOnly: unknown[],
  patchItems: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
): unknown[] {
  const out: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < serverOnly.length || j < patchItems.length) {
    if (i >= serverOnly.length) out.push(patchItems[j++]);
    else if (j >= patchItems.length) out.push(serverOnly[i++]);
    else {
      const li = indexIn(serverOrder, serverOnly[i], mergeKey);
      const ri = indexIn(serverOrder, patchItems[j], mergeKey);
      if (li >= 0 && ri >= 0 && li < ri) out.push(serverOnly[i++]);
      else out.push(patchItems[j++]);
    }
  }
  return out;
}

function normalizeOrder(
  merged: unknown[],
  partitionBy: unknown[],
  patchOrder: unknown[],
  serverOrder: unknown[],
  mergeKey: string,
): unknown[] {
  if (mergeKey) {
    for (const item of [...merged, ...partitionBy]) {
      if (!isObject(item) || !has(item, mergeKey)) throw noMergeKey(item, mergeKey);
    }
  }
  const inPatch = (x: unknown) => indexIn(partitionBy, x, mergeKey) >= 0;
  const patchItems = sortByOrder(
    merged.filter((x) => inPatch(x)),
    patchOrder,
    mergeKey,
  );
  const serverOnly = sortByOrder(
    merged.filter((x) => !inPatch(x)),
    serverOrder,
    mergeKey,
  );
  return interleave(serverOnly, patchItems, serverOrder, mergeKey);
}

class Merger {
  constructor(private readonly meta: PatchMeta) {}

  private strategy(path: string[]): { strategy: string; mergeKey: string } {
    const m = this.meta.lookup(path);
    return { strategy: parsePatchStrategy(m?.patchStrategy).strategy, mergeKey: m?.patchMergeKey ?? "" };
  }

  /** A patch value for a field the original lacks: directives and nulls are dropped. */
  private fresh(patchV: unknown, path: string[]): unknown {
    if (isObject(patchV)) return this.mergeMap({}, patchV, path);
    if (Array.isArray(patchV)) {
      const { strategy, mergeKey } = this.strategy(path);
      if (strategy === "merge") return this.mergeSlice([], patchV, mergeKey, path, false);
    }
    return patchV;
  }

  mergeMap(original: JsonObject, patch: JsonObject, path: string[]): JsonObject {
    if (has(patch, DIRECTIVE)) {
      const directive = patch[DIRECTIVE];
      if (directive === "replace") {
        const rest = { ...patch };
        delete rest[DIRECTIVE];
        return this.mergeMap({}, rest, path);
      }
      if (directive === "delete") return {};
      throw badRequest(`unknown patch type: ${goValue(directive)} in map: ${goValue(patch)}`);
    }

    if (has(patch, RETAIN_KEYS)) this.applyRetainKeys(original, patch);
    this.applySetElementOrder(original, patch, path);

    for (const [rawKey, patchV] of Object.entries(patch)) {
      let k = rawKey;
      let isDeleteList = false;
      if (rawKey.startsWith(DELETE_FROM_PRIMITIVE)) {
        const slash = rawKey.indexOf("/");
        if (slash < 0 || rawKey.slice(0, slash) !== DELETE_FROM_PRIMITIVE)
          throw badRequest(ERR_PRIMITIVE_LIST);
        k = rawKey.slice(slash + 1);
        isDeleteList = true;
        if (!Array.isArray(patchV) && patchV !== null) throw badRequest(ERR_PRIMITIVE_LIST);
      }
      const childPath = [...path, k];
      if (patchV === null) {
        delete original[k];
        continue;
      }
      if (!has(original, k)) {
        // Deleting from a list that is not there leaves nothing to do.
        if (!isDeleteList) setKey(original, k, this.fresh(patchV, childPath));
        continue;
      }
      const origV = original[k];
      if (kindOf(origV) !== kindOf(patchV)) {
        setKey(original, k, isDeleteList ? origV : this.fresh(patchV, childPath));
        continue;
      }
      const { strategy, mergeKey } = this.strategy(childPath);
      if (isObject(origV) && isObject(patchV)) {
        setKey(
          original,
          k,
          strategy === "replace" ? this.fresh(patchV, childPath) : this.mergeMap(origV, patchV, childPath),
        );
      } else if (Array.isArray(origV) && Array.isArray(patchV)) {
        if (strategy === "merge" || isDeleteList) {
          setKey(original, k, this.mergeSlice(origV, patchV, mergeKey, childPath, isDeleteList));
        } else {
          setKey(original, k, patchV);
        }
      } else {
        setKey(original, k, patchV);
      }
    }
    return original;
  }

  private applyRetainKeys(original: JsonObject, patch: JsonObject): void {
    const list = patch[RETAIN_KEYS];
    delete patch[RETAIN_KEYS];
    if (!Array.isArray(list)) throw badRequest(ERR_RETAIN_KEYS);
    const keep = new Set(list.map((x) => String(x)));
    for (const [k, v] of Object.entries(patch)) {
      if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE) || k.startsWith(SET_ORDER)) continue;
      if (!keep.has(k)) throw badRequest(ERR_RETAIN_KEYS);
    }
    for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
  }

  /** Merges each list named by a $setElementOrder directive, then orders it as told. */
  private applySetElementOrder(original: JsonObject, patch: JsonObject, path: string[]): void {
    for (const key of Object.keys(patch)) {
      if (!key.startsWith(SET_ORDER)) continue;
      const order = patch[key];
      delete patch[key];
      const slash = key.indexOf("/");
      if (slash < 0 || key.slice(0, slash) !== SET_ORDER) throw badRequest(ERR_SET_ORDER);
      if (!Array.isArray(order)) throw badRequest(ERR_SET_ORDER);
      const field = key.slice(slash + 1);
      const childPath = [...path, field];
      const foundOriginal = has(original, field) && original[field] !== null;
      const foundPatch = has(patch, field) && patch[field] !== null;
      if (!foundOriginal && !foundPatch) continue;
      const origList = foundOriginal ? original[field] : [];
      const patchList = foundPatch ? patch[field] : [];
      if (!Array.isArray(origList) || !Array.isArray(patchList)) {
        throw badRequest(
          `expected a []interface {}, but received a ${jsonTypeName(Array.isArray(origList) ? patchList : origList)}`,
        );
      }
      const { strategy, mergeKey } = this.strategy(childPath);
      this.validateOrder(patchList, order, mergeKey);
      let merged: unknown[];
      let serverView = origList;
      if (!foundPatch) merged = origList;
      else if (!foundOriginal) merged = this.fresh(patchList, childPath) as unknown[];
      else if (strategy !== "merge") merged = patchList;
      else
        ({ merged, serverView } = this.mergeSliceWithView(origList, patchList, mergeKey, childPath, false));
      const kind = elementKind(origList, patchList);
      if (kind === undefined) {
        setKey(original, field, merged);
      } else {
        const key = kind === "map" ? mergeKey : "";
        setKey(original, field, normalizeOrder(merged, order, order, serverView, key));
      }
      delete patch[field];
    }
  }

  /** The patch list's items (deletions aside) must appear in the $setElementOrder list, in its order. */
  private validateOrder(patchList: unknown[], order: unknown[], mergeKey: string): void {
    if (patchList.length === 0 || order.length === 0) return;
    const items = mergeKey ? patchList.filter((x) => !(isObject(x) && x[DIRECTIVE] === "delete")) : patchList;
    let p = 0;
    let o = 0;
    while (p < items.length && o < order.length) {
      const item = items[p];
      if (isObject(item) && has(item, DIRECTIVE)) {
        p++;
        continue;
      }
      if (mergeKey) {
        if (!isObject(item) || !has(item, mergeKey)) throw noMergeKey(item, mergeKey);
        const ord = order[o];
        if (!isObject(ord) || !has(ord, mergeKey)) throw noMergeKey(ord, mergeKey);
      }
      if (identity(item, mergeKey) === identity(order[o], mergeKey)) p++;
      o++;
    }
    if (p < items.length) {
      throw badRequest(
        `The order in patch list:\n${goValue(patchList)}\n doesn't match ${SET_ORDER} list:\n${goValue(order)}\n`,
      );
    }
  }

  mergeSlice(
    original: unknown[],
    patch: unknown[],
    mergeKey: string,
    path: string[],
    isDeleteList: boolean,
  ): unknown[] {
    return this.mergeSliceWithView(original, patch, mergeKey, path, isDeleteList).merged;
  }

  /**
   * Merges two lists. `serverView` is the order the server then uses for the list's
   * $setElementOrder: apimachinery deletes and appends in the original list's storage,
   * so it sees the surviving items followed by the first added ones, cut to the
   * original length. Reproducing that keeps server-only items where a real cluster
   * puts them.
   */
  private mergeSliceWithView(
    original: unknown[],
    patch: unknown[],
    mergeKey: string,
    path: string[],
    isDeleteList: boolean,
  ): { merged: unknown[]; serverView: unknown[] } {
    if (original.length === 0 && patch.length === 0) return { merged: original, serverView: original };
    const kind = elementKind(original, patch);
    if (kind !== "map") {
      if (isDeleteList) {
        return { merged: original.filter((x) => !patch.some((d) => deepEqual(d, x))), serverView: original };
      }
      const merged: unknown[] = [];
      for (const x of [...original, ...patch]) if (!merged.some((m) => deepEqual(m, x))) merged.push(x);
      return { merged: normalizeOrder(merged, patch, patch, original, ""), serverView: original };
    }
    if (!mergeKey) throw badRequest("cannot merge lists without merge key for type struct");

    // Items carrying $patch: delete remove their matches; $patch: replace replaces the list.
    let orig = original;
    const plain: JsonObject[] = [];
    let replace = false;
    for (const item of patch as JsonObject[]) {
      if (!has(item, DIRECTIVE)) {
        plain.push(item);
        continue;
      }
      const directive = item[DIRECTIVE];
      if (directive === "delete") {
        if (!has(item, mergeKey)) throw noMergeKey(item, mergeKey);
        orig = orig.filter((x) => identity(x, mergeKey) !== item[mergeKey]);
      } else if (directive === "replace") {
        replace = true;
      } else if (directive === "merge") {
        throw badRequest("merging lists cannot yet be specified in the patch");
      } else {
        throw badRequest(`unknown patch type: ${goValue(directive)} in map: ${goValue(item)}`);
      }
    }
    if (replace) {
      const merged = plain.map((item) => this.mergeMap({}, item, path));
      return { merged, serverView: merged };
    }

    const merged = [...orig];
    for (const item of plain) {
      if (!has(item, mergeKey)) throw noMergeKey(item, mergeKey);
      const at = merged.findIndex((x) => isObject(x) && x[mergeKey] === item[mergeKey]);
      if (at >= 0) merged[at] = this.mergeMap(merged[at] as JsonObject, item, path);
      else merged.push(this.mergeMap({}, item, path));
    }
    return {
      merged: normalizeOrder(merged, plain, plain, orig, mergeKey),
      serverView: merged.slice(0, original.length),
    };
  }
}
