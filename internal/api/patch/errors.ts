// Errors that cross into the API server: a stable code it maps to a Status (HTTP code,
// reason, causes) in its one table, and a message worded as Kubernetes words it.

export type PatchErrorCode =
  /** 400: the patch cannot be understood (bad JSON shape, bad directive). */
  | "BadRequest"
  /** 422: the patch is well formed but cannot be applied (JSON patch path missing, test failed). */
  | "Invalid"
  /** 409: server-side apply conflicts with other field managers. */
  | "Conflict"
  /** 413: too many JSON patch operations. */
  | "RequestEntityTooLarge";

export interface PatchErrorCause {
  /** Status cause type, e.g. "FieldManagerConflict". */
  type: string;
  message: string;
  /** Field path as Kubernetes prints it, e.g. ".spec.replicas". */
  field?: string;
}

export class PatchError extends Error {
  constructor(
    readonly code: PatchErrorCode,
    message: string,
    /** For Conflict: one cause per conflicting field. */
    readonly causes: PatchErrorCause[] = [],
  ) {
    super(message);
    this.name = "PatchError";
  }
}

export function badRequest(message: string): PatchError {
  return new PatchError("BadRequest", message);
}

export function invalid(message: string): PatchError {
  return new PatchError("Invalid", message);
}
