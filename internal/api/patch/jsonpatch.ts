// JSON patch (RFC 6902, application/json-patch+json) with the semantics and messages of
// the library the Kubernetes API server uses (evanphx/json-patch v4): a replace of a
// missing object key adds it, negative array indices count from the end, a test of a
// missing key with value null passes. fast-json-patch validates strictly by the RFC and
// words its errors differently, so these few rules are written out here instead.

import { badRequest, PatchError } from "./errors";
import { clone, deepEqual, has, isObject, type JsonObject, jsonTypeName, setKey } from "./json";

/** The API server refuses JSON patches with more operations than this (413). */
export const MAX_JSON_PATCH_OPERATIONS = 10000;

type Container = JsonObject | unknown[];

/** A failure while applying: the real server answers 422 with this text as the cause. */
function applyFailure(detail: string): PatchError {
  return new PatchError("Invalid", "the server rejected our request due to an error in our request", [
    { type: "UnexpectedServerResponse", message: detail },
  ]);
}

function decodeToken(t: string): string {
  return t.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** Go's strconv.Atoi, with its error text. */
function atoi(key: string): number | string {
  if (!/^[+-]?\d+$/.test(key)) return `strconv.Atoi: parsing ${JSON.stringify(key)}: invalid syntax`;
  return Number(key);
}

function invalidIndex(idx: number): string {
  return `Unable to access invalid index: ${idx}: invalid index referenced`;
}

/** Index of an existing element (negative counts from the end), or an error text. */
function existingIndex(arr: unknown[], key: string): number | string {
  const n = atoi(key);
  if (typeof n === "string") return n;
  let idx = n;
  if (idx < 0) {
    if (idx < -arr.length) return invalidIndex(idx);
    idx += arr.length;
  }
  if (idx >= arr.length) return invalidIndex(idx);
  return idx;
}

function get(con: Container, key: string): { value?: unknown; error?: string } {
  if (Array.isArray(con)) {
    const idx = existingIndex(con, key);
    if (typeof idx === "string") return { error: idx };
    return { value: con[idx] };
  }
  return has(con, key) ? { value: con[key] } : {};
}

/** Walks to the container of the last token; undefined when any step is missing. */
function findObject(doc: Container, path: string): { con: Container; key: string } | undefined {
  const split = path.split("/");
  if (split.length < 2) return undefined;
  let cur: Container = doc;
  for (const part of split.slice(1, -1)) {
    const { value, error } = get(cur, decodeToken(part));
    if (error !== undefined || value === undefined) return undefined;
    if (!Array.isArray(value) && !isObject(value)) return undefined;
    cur = value;
  }
  return { con: cur, key: decodeToken(split[split.length - 1]) };
}

function add(con: Container, key: string, value: unknown): string | undefined {
  if (!Array.isArray(con)) {
    setKey(con, key, value);
    return undefined;
  }
  if (key === "-") {
    con.push(value);
    return undefined;
  }
  const n = atoi(key);
  if (typeof n === "string") return `value was not a proper array index: '${key}': ${n}`;
  let idx = n;
  const size = con.length + 1;
  if (idx >= size) return invalidIndex(idx);
  if (idx < 0) {
    if (idx < -size) return invalidIndex(idx);
    idx += size;
  }
  con.splice(idx, 0, value);
  return undefined;
}

function remove(con: Container, key: string): string | undefined {
  if (!Array.isArray(con)) {
    if (!has(con, key)) return `Unable to remove nonexistent key: ${key}: missing value`;
    delete con[key];
    return undefined;
  }
  const idx = existingIndex(con, key);
  if (typeof idx === "string") return idx;
  con.splice(idx, 1);
  return undefined;
}

interface Operation {
  op?: unknown;
  path?: unknown;
  from?: unknown;
  value?: unknown;
}

/**
 * Applies an RFC 6902 patch to a copy of `obj`. Errors: BadRequest when the patch is not
 * a list of operations, RequestEntityTooLarge beyond 10000 operations, Invalid when an
 * operation does not apply (missing path, failed test), with the real server's wording.
 */
export function applyJsonPatch(obj: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) {
    throw badRequest(`json: cannot unmarshal ${jsonTypeName(patch)} into Go value of type jsonpatch.Patch`);
  }
  for (const op of patch) {
    if (!isObject(op)) {
      throw badRequest(
        `json: cannot unmarshal ${jsonTypeName(op)} into Go value of type jsonpatch.Operation`,
      );
    }
  }
  if (patch.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new PatchError(
      "RequestEntityTooLarge",
      `The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${patch.length}`,
    );
  }
  // The document is held in a box so that a replace of "" can swap the whole thing.
  const box = { doc: clone(obj) as Container };
  for (const op of patch as Operation[]) {
    const detail = applyOne(box, op);
    if (detail !== undefined) throw applyFailure(detail);
  }
  return box.doc;
}

function applyOne(box: { doc: Container }, op: Operation): string | undefined {
  const kind = typeof op.op === "string" ? op.op : "";
  const known = ["add", "remove", "replace", "move", "copy", "test"];
  if (!known.includes(kind)) return `Unexpected kind: ${kind}`;
  if (typeof op.path !== "string") return `${kind} operation failed to decode path: missing value`;
  const path = op.path;
  // An absent value is decoded as JSON null, as the Go library does.
  const value = has(op as JsonObject, "value") ? clone(op.value) : null;
  switch (kind) {
    case "add": {
      const t = findObject(box.doc, path);
      if (!t)
        return `add operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`;
      const err = add(t.con, t.key, value);
      return err && `error in add for path: '${path}': ${err}`;
    }
    case "remove": {
      const t = findObject(box.doc, path);
      if (!t)
        return `remove operation does not apply: doc is missing path: ${JSON.stringify(path)}: missing value`;
      const err = remove(t.con, t.key);
      return err && `error in remove for path: '${path}': ${err}`;
    }
    case "replace": {
      if (path === "") {
        if (!Array.isArray(value) && !isObject(value))
          return "replace operation value must be object or array";
        box.doc = value;
        return undefined;
      }
      const t = findObject(box.doc, path);
      if (!t) return `replace operation does not apply: doc is missing path: ${path}: missing value`;
      if (Array.isArray(t.con)) {
        const idx = existingIndex(t.con, t.key);
        if (typeof idx === "string")
          return `replace operation does not apply: doc is missing key: ${path}: missing value`;
        t.con[idx] = value;
      } else {
        setKey(t.con, t.key, value);
      }
      return undefined;
    }
    case "move":
    case "copy": {
      if (typeof op.from !== "string") return `${kind} operation failed to decode from: missing value`;
      const from = op.from;
      const f = findObject(box.doc, from);
      if (!f) return `${kind} operation does not apply: doc is missing from path: ${from}: missing value`;
      const got = get(f.con, f.key);
      if (got.error !== undefined)
        return `error in ${kind} for ${kind === "copy" ? "from" : "path"}: '${from}': ${got.error}`;
      if (got.value === undefined)
        return `${kind} operation does not apply: doc is missing from path: ${from}: missing value`;
      let moved = got.value;
      if (kind === "move") {
        const err = remove(f.con, f.key);
        if (err) return `error in move for path: '${f.key}': ${err}`;
      } else {
        moved = clone(moved);
      }
      const t = findObject(box.doc, path);
      if (!t)
        return `${kind} operation does not apply: doc is missing destination path: ${path}: missing value`;
      const err = add(t.con, t.key, moved);
      return err && `error in ${kind} for path: '${path}': ${err}`;
    }
    default: {
      // test
      const failed = `testing value ${path} failed: test failed`;
      if (path === "") return deepEqual(box.doc, value) ? undefined : failed;
      const t = findObject(box.doc, path);
      if (!t) return `test operation does not apply: is missing path: ${path}: missing value`;
      const got = get(t.con, t.key);
      if (got.error !== undefined) return `error in test for path: '${path}': ${got.error}`;
      if (got.value === undefined || got.value === null) return value === null ? undefined : failed;
      return deepEqual(got.value, value) ? undefined : failed;
    }
  }
}
