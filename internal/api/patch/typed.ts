// Schema-aware walks over objects for server-side apply: the field set a value covers,
// the merge of an applied configuration into the live object, and the comparison of two
// objects (which fields were added, changed, removed). Lists follow their
// x-kubernetes-list-type: "map" lists are keyed by their list-map keys, "set" lists by
// value, and atomic lists (the default) and atomic maps are single fields.

import { invalid } from "./errors";
import { FieldSet, pathString } from "./fieldset";
import { clone, deepEqual, has, isObject, type JsonObject, setKey } from "./json";
import { type ListKind, listKindOf, type PatchMeta } from "./meta";

type SchemaPath = readonly string[];
type Path = readonly string[];

export class Typed {
  constructor(private readonly meta: PatchMeta) {}

  listKind(sp: SchemaPath): ListKind {
    return listKindOf(this.meta.lookup(sp));
  }

  isAtomicMap(sp: SchemaPath): boolean {
    return sp.length > 0 && this.meta.lookup(sp)?.mapType === "atomic";
  }

  /**
   * The path element of a list item: k:{...} for map lists (missing keys take their
   * schema default), v:<json> for sets. Undefined when an item lacks a key.
   */
  itemElement(item: unknown, sp: SchemaPath, kind: ListKind): string | undefined {
    if (kind.kind === "set") return `v:${JSON.stringify(item)}`;
    if (kind.kind !== "map" || !isObject(item)) return undefined;
    const defaults = this.meta.lookup(sp)?.listMapKeyDefaults ?? {};
    const key: JsonObject = {};
    for (const k of [...kind.keys].sort()) {
      if (has(item, k) && item[k] !== null) key[k] = item[k];
      else if (has(defaults, k)) key[k] = defaults[k];
      else return undefined;
    }
    return `k:${JSON.stringify(key)}`;
  }

  /** Item elements of a list; duplicates and keyless items are an error when `strict`. */
  private elements(
    list: unknown[],
    sp: SchemaPath,
    kind: ListKind,
    path: Path,
    strict: boolean,
  ): (string | undefined)[] {
    const seen = new Set<string>();
    return list.map((item, i) => {
      const pe = this.itemElement(item, sp, kind);
      if (strict && pe === undefined && kind.kind === "map") {
        const missing = kind.keys.find((k) => !isObject(item) || !has(item, k)) ?? kind.keys[0];
        throw invalid(
          `${printPath(path)}: element ${i}: associative list with keys has an element that omits key field ${JSON.stringify(missing)} (and doesn't have default value)`,
        );
      }
      if (pe !== undefined && seen.has(pe)) {
        if (strict) throw invalid(`${printPath(path)}: duplicate entries for key ${pathString([pe])}`);
        return undefined;
      }
      if (pe !== undefined) seen.add(pe);
      return pe;
    });
  }

  /** The fields a value sets: scalars, nulls, atomic values, and the items of keyed lists. */
  fieldSet(value: unknown, strict = false): FieldSet {
    const set = new FieldSet();
    this.walk(value, [], [], set, strict);
    return set;
  }

  private walk(v: unknown, sp: SchemaPath, path: Path, set: FieldSet, strict: boolean): void {
    if (v === null || v === undefined) {
      if (path.length > 0 && v === null) set.insert(path);
      return;
    }
    if (isObject(v)) {
      if (this.isAtomicMap(sp)) set.insert(path);
      else for (const k of Object.keys(v)) this.walk(v[k], [...sp, k], [...path, `f:${k}`], set, strict);
      return;
    }
    if (Array.isArray(v)) {
      const kind = this.listKind(sp);
      if (kind.kind === "atomic") {
        set.insert(path);
        return;
      }
      const pes = this.elements(v, sp, kind, path, strict);
      v.forEach((item, i) => {
        const pe = pes[i];
        if (pe === undefined) return;
        set.insert([...path, pe]);
        if (kind.kind === "map" && isObject(item)) {
          for (const k of Object.keys(item))
            this.walk(item[k], [...sp, k], [...path, pe, `f:${k}`], set, strict);
        }
      });
      return;
    }
    set.insert(path);
  }

  /** The live object with the applied configuration merged in (nulls in the config unset a field). */
  merge(live: unknown, config: unknown): unknown {
    return this.mergeValue(live, config, [], []);
  }

  private mergeValue(l: unknown, c: unknown, sp: SchemaPath, path: Path): unknown {
    if (c === undefined) return l;
    if (l === undefined || l === null || c === null) return dropNulls(clone(c));
    if (isObject(l) && isObject(c)) {
      if (this.isAtomicMap(sp)) return dropNulls(clone(c));
      return this.mergeFields(l, c, sp, path);
    }
    if (Array.isArray(l) && Array.isArray(c)) {
      const kind = this.listKind(sp);
      if (kind.kind === "atomic") return clone(c);
      return this.mergeList(l, c, sp, kind, path);
    }
    return dropNulls(clone(c));
  }

  private mergeFields(l: JsonObject, c: JsonObject, sp: SchemaPath, path: Path): JsonObject {
    const out: JsonObject = { ...l };
    for (const [k, cv] of Object.entries(c)) {
      if (cv === null) {
        delete out[k];
        continue;
      }
      setKey(out, k, this.mergeValue(l[k], cv, [...sp, k], [...path, `f:${k}`]));
    }
    return out;
  }

  /**
   * Merges keyed lists as structured-merge-diff orders them: live items keep their
   * order, applied items that are also live come in the applied order, and applied
   * items new to the list follow the applied item before them (or come where the
   * live list runs out of shared items).
   */
  private mergeList(l: unknown[], c: unknown[], sp: SchemaPath, kind: ListKind, path: Path): unknown[] {
    const lpes = this.elements(l, sp, kind, path, false);
    const rpes = this.elements(c, sp, kind, path, true);
    const rIndex = indexOf(rpes);
    const lIndex = indexOf(lpes);
    const emitted = new Set<string>();
    const out: unknown[] = [];
    const emitApplied = (j: number) => {
      const pe = rpes[j]!;
      emitted.add(pe);
      const li = lIndex.get(pe);
      const live = li === undefined ? undefined : l[li];
      if (kind.kind === "set" || !isObject(live) || !isObject(c[j])) out.push(dropNulls(clone(c[j])));
      else out.push(this.mergeFields(live, c[j] as JsonObject, sp, [...path, pe]));
    };
    let i = 0;
    let j = 0;
    /** Emits the applied item at j and the new applied items after it. */
    const emitRun = () => {
      emitApplied(j++);
      while (j < c.length && !lIndex.has(rpes[j]!)) emitApplied(j++);
    };
    while (i < l.length || j < c.length) {
      const lpe = lpes[i];
      if (i < l.length && (lpe === undefined || !rIndex.has(lpe))) {
        out.push(l[i++]);
        continue;
      }
      if (i < l.length && emitted.has(lpe!)) {
        i++;
        continue;
      }
      if (j < c.length) {
        if (i < l.length && lpe === rpes[j]) i++;
        emitRun();
        continue;
      }
      i++;
    }
    return out;
  }

  /** Fields added, changed and removed going from `a` to `b`. */
  compare(a: unknown, b: unknown): { added: FieldSet; modified: FieldSet; removed: FieldSet } {
    const res = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
    this.cmp(a, b, [], [], res);
    return res;
  }

  private cmp(
    a: unknown,
    b: unknown,
    sp: SchemaPath,
    path: Path,
    res: { added: FieldSet; modified: FieldSet; removed: FieldSet },
  ): void {
    if (a === undefined && b === undefined) return;
    if (a === undefined) return void this.walk(b, sp, path, res.added, false);
    if (b === undefined) return void this.walk(a, sp, path, res.removed, false);
    if (isObject(a) && isObject(b) && !this.isAtomicMap(sp)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys) this.cmp(a[k], b[k], [...sp, k], [...path, `f:${k}`], res);
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      const kind = this.listKind(sp);
      if (kind.kind !== "atomic") {
        const ap = this.elements(a, sp, kind, path, false);
        const bp = this.elements(b, sp, kind, path, false);
        const byA = itemsBy(ap, a);
        const byB = itemsBy(bp, b);
        for (const [pe, item] of byA) {
          if (!byB.has(pe)) this.walkItem(item, sp, [...path, pe], kind, res.removed);
        }
        for (const [pe, item] of byB) {
          const old = byA.get(pe);
          if (!byA.has(pe)) this.walkItem(item, sp, [...path, pe], kind, res.added);
          else if (kind.kind === "map" && isObject(old) && isObject(item)) {
            const keys = new Set([...Object.keys(old), ...Object.keys(item)]);
            for (const k of keys) this.cmp(old[k], item[k], [...sp, k], [...path, pe, `f:${k}`], res);
          }
        }
        return;
      }
    }
    if (!deepEqual(a, b)) res.modified.insert(path);
  }

  private walkItem(item: unknown, sp: SchemaPath, path: Path, kind: ListKind, set: FieldSet): void {
    set.insert(path);
    if (kind.kind === "map" && isObject(item)) {
      for (const k of Object.keys(item)) this.walk(item[k], [...sp, k], [...path, `f:${k}`], set, false);
    }
  }

  /** Removes from `obj` (in place) every member of `set` for which `keep` says no; a removed node takes its subtree. */
  removeWhere(obj: JsonObject, set: FieldSet, keep: (path: string[]) => boolean): void {
    this.removeIn(obj, set, [], [], keep);
  }

  private removeIn(
    value: unknown,
    set: FieldSet,
    sp: string[],
    path: string[],
    keep: (p: string[]) => boolean,
  ): void {
    for (const [pe, child] of set.children) {
      const childPath = [...path, pe];
      if (pe.startsWith("f:") && isObject(value)) {
        const name = pe.slice(2);
        if (!has(value, name)) continue;
        if (child.member && !keep(childPath)) delete value[name];
        else this.removeIn(value[name], child, [...sp, name], childPath, keep);
      } else if ((pe.startsWith("k:") || pe.startsWith("v:")) && Array.isArray(value)) {
        const kind = this.listKind(sp);
        const at = value.findIndex((item) => this.itemElement(item, sp, kind) === pe);
        if (at < 0) continue;
        if (child.member && !keep(childPath)) value.splice(at, 1);
        else this.removeIn(value[at], child, sp, childPath, keep);
      }
    }
  }
}

/** Position of the first item with each path element. */
function indexOf(pes: (string | undefined)[]): Map<string, number> {
  const out = new Map<string, number>();
  pes.forEach((pe, i) => {
    if (pe !== undefined && !out.has(pe)) out.set(pe, i);
  });
  return out;
}

function itemsBy(pes: (string | undefined)[], items: unknown[]): Map<string, unknown> {
  const out = new Map<string, unknown>();
  pes.forEach((pe, i) => {
    if (pe !== undefined && !out.has(pe)) out.set(pe, items[i]);
  });
  return out;
}

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else v[k] = dropNulls(v[k]);
    }
  }
  return v;
}

export const printPath = pathString;
