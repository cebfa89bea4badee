// Patch logic the API server calls: JSON patch, merge patch, strategic merge patch,
// server-side apply and managedFields. Pure functions; errors are PatchError with a code.
// Imports no other part.

export {
  buildLastApplied,
  conflictError,
  decodeManagedFields,
  encodeManagedFields,
  type FieldConflict,
  LAST_APPLIED_ANNOTATION,
  type ManagedFieldsEntry,
  printManager,
  type ServerSideApplyOptions,
  type ServerSideApplyResult,
  serverSideApply,
  type UpdateManagedFieldsOptions,
  updateManagedFields,
} from "./apply";
export { PatchError, type PatchErrorCause, type PatchErrorCode } from "./errors";
export { FieldSet, pathString } from "./fieldset";
export { applyJsonPatch, MAX_JSON_PATCH_OPERATIONS } from "./jsonpatch";
export { applyMergePatch } from "./mergepatch";
export {
  type FieldMeta,
  listKindOf,
  NO_PATCH_META,
  type PatchMeta,
  parsePatchStrategy,
  patchMetaFromTable,
} from "./meta";
export { applyStrategicMergePatch } from "./strategic";
