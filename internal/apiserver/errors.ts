// Every error that leaves the API server is a metav1.Status with the HTTP code and
// reason a real cluster uses, so kubectl prints what users know. Errors from other
// parts carry a stable `code`; this file is the one table that maps them.
import type { ResourceInfo } from "../api/resources";
import { invalidMessage } from "../api/validation";

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export class ApiError extends Error {
  constructor(
    readonly httpCode: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.httpCode,
    };
  }
}

/** "pods" or "deployments.apps": how Kubernetes names a resource in messages. */
export function qualifiedResource(info: Pick<ResourceInfo, "group" | "plural">): string {
  return info.group ? `${info.plural}.${info.group}` : info.plural;
}

function details(info: Pick<ResourceInfo, "group" | "plural">, name: string): StatusDetails {
  return { name, ...(info.group ? { group: info.group } : {}), kind: info.plural };
}

export const errors = {
  notFound: (info: Pick<ResourceInfo, "group" | "plural">, name: string) =>
    new ApiError(404, "NotFound", `${qualifiedResource(info)} "${name}" not found`, details(info, name)),
  alreadyExists: (info: Pick<ResourceInfo, "group" | "plural">, name: string) =>
    new ApiError(
      409,
      "AlreadyExists",
      `${qualifiedResource(info)} "${name}" already exists`,
      details(info, name),
    ),
  conflict: (info: Pick<ResourceInfo, "group" | "plural">, name: string, why?: string) =>
    new ApiError(
      409,
      "Conflict",
      `Operation cannot be fulfilled on ${qualifiedResource(info)} "${name}": ${
        why ?? "the object has been modified; please apply your changes to the latest version and try again"
      }`,
      details(info, name),
    ),
  invalid: (info: Pick<ResourceInfo, "group" | "kind">, name: string, causes: StatusCause[]) => {
    const kind = info.kind;
    // Upstream's wording: group-qualified kind, repeated errors dropped, brackets for several.
    const message = invalidMessage(
      kind,
      info.group,
      name,
      causes.map((c) => ({ ...c, message: c.message ?? "" })) as never,
    );
    return new ApiError(422, "Invalid", message, {
      name,
      ...(info.group ? { group: info.group } : {}),
      kind,
      causes,
    });
  },
  badRequest: (message: string, causes?: StatusCause[]) =>
    new ApiError(400, "BadRequest", message, causes ? { causes } : undefined),
  unauthorized: () => new ApiError(401, "Unauthorized", "Unauthorized"),
  forbidden: (message: string, d?: StatusDetails) => new ApiError(403, "Forbidden", message, d),
  notFoundPath: () => new ApiError(404, "NotFound", "the server could not find the requested resource"),
  methodNotAllowed: (message = "the server does not allow this method on the requested resource") =>
    new ApiError(405, "MethodNotAllowed", message),
  notAcceptable: (message: string) => new ApiError(406, "NotAcceptable", message),
  gone: (message: string) => new ApiError(410, "Expired", message),
  tooLarge: (message = "the request is too large") => new ApiError(413, "RequestEntityTooLarge", message),
  unsupportedMediaType: (type: string, accepted: string[]) =>
    new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
      { causes: [{ reason: "UnexpectedServerResponse", message: type }] },
    ),
  internal: (message: string) => new ApiError(500, "InternalError", `Internal error occurred: ${message}`),
  unavailable: (message: string) => new ApiError(503, "ServiceUnavailable", message),
};

/**
 * Maps an error from any part (store, patch, validation, selectors) to an ApiError by
 * its stable code. Anything without a known code is a bug and becomes a 500.
 */
export function toApiError(
  err: unknown,
  info?: Pick<ResourceInfo, "group" | "plural" | "kind">,
  name = "",
): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { code?: string; message?: string; causes?: StatusCause[] };
  const msg = e?.message ?? String(err);
  switch (e?.code) {
    case "NotFound":
      return info ? errors.notFound(info, name) : new ApiError(404, "NotFound", msg);
    case "AlreadyExists":
      return info ? errors.alreadyExists(info, name) : new ApiError(409, "AlreadyExists", msg);
    case "Conflict":
      return info ? errors.conflict(info, name) : new ApiError(409, "Conflict", msg);
    case "TooOld":
      return errors.gone(msg);
    case "BadRequest":
      return errors.badRequest(msg, e.causes);
    case "Invalid":
      return info && e.causes ? errors.invalid(info, name, e.causes) : new ApiError(422, "Invalid", msg);
    case "Forbidden":
      return errors.forbidden(msg);
    case "UnsupportedMediaType":
      return new ApiError(415, "UnsupportedMediaType", msg);
    case "Closed":
      return errors.unavailable("the server is shutting down");
    default:
      return errors.internal(msg);
  }
}
