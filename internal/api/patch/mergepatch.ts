// JSON merge patch (RFC 7386, application/merge-patch+json): objects merge key by key,
// null deletes, anything else (lists included) replaces.

import { badRequest } from "./errors";
import { clone, isObject, type JsonObject, setKey } from "./json";

function merge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setKey(out, k, merge(out[k], v));
  }
  return out;
}

/**
 * Applies a JSON merge patch to a copy of `obj`. A patch that is not an object is a
 * BadRequest ("Invalid JSON Patch", as the API server answers).
 */
export function applyMergePatch(obj: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw badRequest("Invalid JSON Patch");
  return merge(clone(obj), patch);
}
