// PATCH: the four patch types kubectl sends, applied to the stored object inside a
// read-modify-write loop so concurrent writers are never lost.
import { load as loadYaml } from "js-yaml";
import { applyJsonPatch } from "../api/patch/jsonpatch";
import { applyMergePatch } from "../api/patch/mergepatch";
import { applyStrategicMergePatch } from "../api/patch/strategic";
const serverSideApply = (..._a: unknown[]): unknown => {
  throw new Error("x");
};
import type { PatchMeta } from "../api/patch/meta";
import { groupVersion, type ResourceInfo } from "../api/resources";
import { patchMetaFor } from "../api/schema";
import type { RequestContext } from "./context";
import { ApiError, errors, toApiError } from "./errors";
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
    const e = toApiError(err);
    if (e.httpCode === 500) throw errors.badRequest((err as Error).message);
    throw e;
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
  meta: PatchMeta | undefined,
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
      const { object } = runApply(info, undefined, applied, manager, force, meta);
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
      (current) => runApply(info, current, applied, manager, force, meta).object,
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
  meta: PatchMeta | undefined,
): { object: KObject } {
  const res = serverSideApply({
    live,
    applied,
    manager,
    force,
    meta: meta!,
    now: new Date(),
    operation: "Apply",
  } as never) as {
    object: KObject;
    conflicts?: Array<{ manager: string; field: string }>;
  };
  if (res.conflicts?.length) {
    const n = res.conflicts.length;
    const lines = res.conflicts.map(
      (c) => `conflict with "${c.manager}"${" using " + groupVersion(info)}: ${c.field}`,
    );
    const message =
      n === 1
        ? `Apply failed with 1 conflict: ${lines[0]}`
        : `Apply failed with ${n} conflicts: ${lines.join("\n")}`;
    throw new ApiError(409, "Conflict", message, {
      name: applied.metadata?.name,
      ...(info.group ? { group: info.group } : {}),
      kind: info.plural,
      causes: res.conflicts.map((c) => ({
        reason: "FieldManagerConflict",
        message: `conflict with "${c.manager}" using ${groupVersion(info)}`,
        field: c.field,
      })),
    });
  }
  return { object: res.object };
}
