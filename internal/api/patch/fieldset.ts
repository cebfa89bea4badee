// Sets of field paths, as server-side apply records them in managedFields (FieldsV1).
// A path is a list of path elements written the FieldsV1 way:
//   f:<name>          a field of an object (or an entry of a map such as labels)
//   k:{"name":"web"}  the item of a listType=map list with these key values
//   v:"value"         the item of a listType=set list with this value
//   i:<n>             a list item by position (only read; never produced here)
// A node may be a member itself (written "." when it also has children) and have children.

import { isObject, type JsonObject, setKey } from "./json";

export type FieldPath = readonly string[];

const KIND_ORDER: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

function compareElements(a: string, b: string): number {
  const ka = KIND_ORDER[a[0]] ?? 9;
  const kb = KIND_ORDER[b[0]] ?? 9;
  if (ka !== kb) return ka - kb;
  return a < b ? -1 : a > b ? 1 : 0;
}

export class FieldSet {
  member = false;
  readonly children = new Map<string, FieldSet>();

  static of(...paths: FieldPath[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(path: FieldPath): void {
    let node: FieldSet = this;
    for (const pe of path) {
      let next = node.children.get(pe);
      if (!next) {
        next = new FieldSet();
        node.children.set(pe, next);
      }
      node = next;
    }
    node.member = true;
  }

  private node(path: FieldPath): FieldSet | undefined {
    let node: FieldSet | undefined = this;
    for (const pe of path) {
      node = node.children.get(pe);
      if (!node) return undefined;
    }
    return node;
  }

  has(path: FieldPath): boolean {
    return this.node(path)?.member ?? false;
  }

  /** True when the path or anything below it is a member. */
  hasAnyUnder(path: FieldPath): boolean {
    const n = this.node(path);
    return n !== undefined && !n.isEmpty();
  }

  isEmpty(): boolean {
    if (this.member) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  clone(): FieldSet {
    const s = new FieldSet();
    s.member = this.member;
    for (const [pe, c] of this.children) s.children.set(pe, c.clone());
    return s;
  }

  union(other: FieldSet): FieldSet {
    const s = this.clone();
    s.addAll(other);
    return s;
  }

  private addAll(other: FieldSet): void {
    this.member ||= other.member;
    for (const [pe, c] of other.children) {
      let mine = this.children.get(pe);
      if (!mine) {
        mine = new FieldSet();
        this.children.set(pe, mine);
      }
      mine.addAll(c);
    }
  }

  /** Members of this set that are not members of `other` (exact paths, as structured-merge-diff does). */
  difference(other: FieldSet): FieldSet {
    const s = new FieldSet();
    s.member = this.member && !other.member;
    for (const [pe, c] of this.children) {
      const o = other.children.get(pe);
      const d = o ? c.difference(o) : c.clone();
      if (!d.isEmpty()) s.children.set(pe, d);
    }
    return s;
  }

  /** Members in both sets. */
  intersection(other: FieldSet): FieldSet {
    const s = new FieldSet();
    s.member = this.member && other.member;
    for (const [pe, c] of this.children) {
      const o = other.children.get(pe);
      if (!o) continue;
      const i = c.intersection(o);
      if (!i.isEmpty()) s.children.set(pe, i);
    }
    return s;
  }

  /** Removes a whole subtree (used for fields a request may not own, such as status). */
  removeSubtree(path: FieldPath): void {
    if (path.length === 0) return;
    const parent = this.node(path.slice(0, -1));
    parent?.children.delete(path[path.length - 1]);
  }

  /** Every member path, in FieldsV1 order. */
  members(prefix: string[] = []): string[][] {
    const out: string[][] = [];
    if (this.member) out.push(prefix);
    for (const pe of [...this.children.keys()].sort(compareElements)) {
      out.push(...this.children.get(pe)!.members([...prefix, pe]));
    }
    return out;
  }

  equals(other: FieldSet): boolean {
    return this.difference(other).isEmpty() && other.difference(this).isEmpty();
  }

  /** The FieldsV1 JSON of this set. */
  toFieldsV1(): JsonObject {
    const out: JsonObject = {};
    if (this.member && this.children.size > 0) out["."] = {};
    for (const pe of [...this.children.keys()].sort(compareElements)) {
      const c = this.children.get(pe)!;
      if (c.isEmpty()) continue;
      setKey(out, pe, c.toFieldsV1());
    }
    return out;
  }

  /** Reads FieldsV1 JSON; throws an Error naming the bad element on malformed input. */
  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    if (!isObject(v)) throw new Error(`expected an object in FieldsV1, got ${JSON.stringify(v)}`);
    const keys = Object.keys(v);
    if (keys.length === 0) s.member = true;
    for (const k of keys) {
      if (k === ".") {
        s.member = true;
        continue;
      }
      if (!/^[fkvi]:/.test(k)) throw new Error(`unknown path element ${JSON.stringify(k)} in FieldsV1`);
      if (k[0] === "k" || k[0] === "v") JSON.parse(k.slice(2));
      s.children.set(k, FieldSet.fromFieldsV1(v[k]));
    }
    return s;
  }
}

/** A FieldsV1 path element for one field name. */
export function fieldElement(name: string): string {
  return `f:${name}`;
}

/** A path as Kubernetes prints it in conflicts: .spec.containers[name="web"].image */
export function pathString(path: FieldPath): string {
  let out = "";
  for (const pe of path) {
    const body = pe.slice(2);
    switch (pe[0]) {
      case "f":
        out += `.${body}`;
        break;
      case "k": {
        const key = JSON.parse(body) as JsonObject;
        out += `[${Object.keys(key)
          .sort()
          .map((k) => `${k}=${JSON.stringify(key[k])}`)
          .join(",")}]`;
        break;
      }
      case "v":
        out += `[=${body}]`;
        break;
      default:
        out += `[${body}]`;
    }
  }
  return out;
}
