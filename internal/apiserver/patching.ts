// PATCH: the four patch types kubectl sends, applied to the stored object inside a
// read-modify-write loop so concurrent writers are never lost.
import { load as loadYaml } from "js-yaml";
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  PatchError,
  type PatchMeta,
  serverSideApply,
} from "../api/patch";
import { groupVersion, type ResourceInfo } from "../api/resources";
import { patchMetaFor } from "../api/schema";
import { ignoredPathsFor } from "./admission";
import type { RequestContext } from "./context";
import { ApiError, errors } from "./errors";
import type { KObject } from "./objects";
import type { Registry } from "./registry";

export const PATCH_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
];

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw errors.badRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

/** Applies a JSON, merge or strategic merge patch to a document. Pure. */
export function patchDocument(
  current: KObject,
  contentType: string,
  body: Buffer,
  meta: PatchMeta | undefined,
): KObject {
  const patch = parseJson(body);
  try {
    switch (contentType) {
      case "application/json-patch+json":
        return applyJsonPatch(current, patch as never) as KObject;
      case "application/merge-patch+json":
        return applyMergePatch(current, patch) as KObject;
      case "application/strategic-merge-patch+json":
        if (!meta) return applyMergePatch(current, patch) as KObject;
        return applyStrategicMergePatch(current, patch as never, meta) as KObject;
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    if (err instanceof PatchError)
      throw patchErrorToApi(err, { group: "", plural: "", kind: "" } as ResourceInfo, "");
    throw errors.badRequest((err as Error).message);
  }
  throw errors.unsupportedMediaType(contentType, PATCH_TYPES);
}

export async function applyPatch(
  reg: Registry,
  ctx: RequestContext,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
  contentType: string,
  body: Buffer,
  q: URLSearchParams,
  subresource?: "status",
): Promise<{ object: KObject; created: boolean }> {
  const meta = patchMetaFor(info.group, info.version, info.kind);
  if (contentType === "application/apply-patch+yaml")
    return apply(reg, ctx, info, namespace, name, body, q, meta, subresource);
  const object = await reg.guaranteedUpdate(
    ctx,
    info,
    namespace,
    name,
    (current) => {
      const out = patchDocument(current, contentType, body, meta);
      if (out === null || typeof out !== "object" || Array.isArray(out))
        throw errors.badRequest("the patch produced a document that is not an object");
      return out;
    },
    { subresource },
  );
  return { object, created: false };
}

/** Server-side apply: the applied configuration, merged by field ownership (managedFields). */
async function apply(
  reg: Registry,
  ctx: RequestContext,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
  body: Buffer,
  q: URLSearchParams,
  meta: PatchMeta,
  subresource?: "status",
): Promise<{ object: KObject; created: boolean }> {
  let applied: KObject;
  try {
    applied = loadYaml(body.toString("utf8")) as KObject;
  } catch (err) {
    throw errors.badRequest(`error decoding YAML: ${(err as Error).message}`);
  }
  if (!applied || typeof applied !== "object" || Array.isArray(applied))
    throw errors.badRequest("the applied configuration is not an object");
  const manager = ctx.fieldManager;
  if (!manager)
    throw errors.badRequest("PATCH, application/apply-patch+yaml requests require a non-empty fieldManager");
  if (applied.apiVersion !== groupVersion(info) || applied.kind !== info.kind)
    throw errors.badRequest(
      `the API version and kind in the applied configuration (${applied.apiVersion}, ${applied.kind}) do not match the request (${groupVersion(info)}, ${info.kind})`,
    );
  const force = q.get("force") === "true";
  const applyCtx = { ...ctx, fieldManager: undefined };
  for (let attempt = 0; attempt < 8; attempt++) {
    let exists = true;
    try {
      await reg.get(info, namespace, name);
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === "NotFound")) throw err;
      exists = false;
    }
    if (!exists) {
      const { object } = runApply(info, undefined, applied, manager, force, meta, subresource);
      try {
        return { object: await reg.create(applyCtx, info, namespace, object), created: true };
      } catch (err) {
        if (err instanceof ApiError && err.reason === "AlreadyExists") continue;
        throw err;
      }
    }
    const object = await reg.guaranteedUpdate(
      applyCtx,
      info,
      namespace,
      name,
      (current) => runApply(info, current, applied, manager, force, meta, subresource).object,
      {
        subresource,
      },
    );
    return { object, created: false };
  }
  throw errors.conflict(info, name);
}

function runApply(
  info: ResourceInfo,
  live: KObject | undefined,
  applied: KObject,
  manager: string,
  force: boolean,
  meta: PatchMeta,
  subresource?: "status",
): { object: KObject } {
  const res = serverSideApply({
    live,
    applied,
    manager,
    force,
    meta,
    now: new Date(),
    subresource,
    ignoredPaths: ignoredPathsFor(info, subresource),
  });
  if (res.error) throw patchErrorToApi(res.error, info, applied.metadata?.name ?? "");
  return { object: res.object as KObject };
}

/** PatchError codes → Status, keeping the causes (FieldManagerConflict for apply conflicts). */
export function patchErrorToApi(err: PatchError, info: ResourceInfo, name: string): ApiError {
  const causes = err.causes.map((c) => ({
    reason: c.type,
    message: c.message,
    ...(c.field ? { field: c.field } : {}),
  }));
  const details = {
    ...(name ? { name } : {}),
    ...(info.group ? { group: info.group } : {}),
    ...(info.plural ? { kind: info.plural } : {}),
    ...(causes.length ? { causes } : {}),
  };
  switch (err.code) {
    case "Conflict":
      return new ApiError(409, "Conflict", err.message, details);
    case "Invalid":
      return new ApiError(422, "Invalid", err.message, details);
    case "RequestEntityTooLarge":
      return new ApiError(413, "RequestEntityTooLarge", err.message);
    default:
      return new ApiError(400, "BadRequest", err.message, causes.length ? { causes } : undefined);
  }
}
