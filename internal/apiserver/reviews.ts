// Self reviews, as `kubectl auth can-i` and `kubectl auth whoami` use them:
//   POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews  → may I do this?
//   POST /apis/authentication.k8s.io/v1/selfsubjectreviews       → who am I?
// Both answer for the requesting user, with the server's real authorizer; nothing is
// stored. Bodies may be JSON or protobuf (kubectl 1.32 sends protobuf).
import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE } from "../api/protobuf";
import { bodyDecoders, decodeBody, readBody } from "./body";
import type { RequestContext, UserInfo } from "./context";
import type { VirtualResource } from "./discovery";
import { ApiError, errors } from "./errors";
import type { RequestAttributes } from "./handler";
import type { KObject } from "./objects";

/** What the reviews need from the server's authorizer (the same one every request goes through). */
export interface ReviewAuthorizer {
  authorize(user: UserInfo, attrs: RequestAttributes): { allowed: boolean; reason?: string };
}

/** Discovery entries for the review resources (create only, cluster scoped). */
export const REVIEW_RESOURCES: VirtualResource[] = [
  {
    group: "authorization.k8s.io",
    version: "v1",
    kind: "SelfSubjectAccessReview",
    plural: "selfsubjectaccessreviews",
    namespaced: false,
    verbs: ["create"],
  },
  {
    group: "authentication.k8s.io",
    version: "v1",
    kind: "SelfSubjectReview",
    plural: "selfsubjectreviews",
    namespaced: false,
    verbs: ["create"],
  },
];

/** Lets every object endpoint accept `application/vnd.kubernetes.protobuf` bodies. Call once at start. */
export function registerProtobufBodies(): void {
  bodyDecoders.set(PROTOBUF_MEDIA_TYPE, (body) => decodeKubernetesProtobuf(body) as KObject);
}

const SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
const SSR_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews";

/**
 * The review endpoints, in the shape of HandlerDeps.extra: returns false for any other
 * path so the next handler (or the 404) gets it.
 */
export function reviewHandlers(
  authorizer: ReviewAuthorizer,
): (req: IncomingMessage, res: ServerResponse, url: URL, ctx: RequestContext) => Promise<boolean> {
  return async (req, res, url, ctx) => {
    const path = url.pathname.replace(/\/+$/, "");
    if (path !== SSAR_PATH && path !== SSR_PATH) return false;
    if (req.method !== "POST") throw errors.methodNotAllowed();
    const ssar = path === SSAR_PATH;
    const [apiVersion, kind] = ssar
      ? ["authorization.k8s.io/v1", "SelfSubjectAccessReview"]
      : ["authentication.k8s.io/v1", "SelfSubjectReview"];
    const obj = decodeBody(req, await readBody(req), undefined, ctx);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion)
      throw errors.badRequest(
        `the API version in the data (${obj.apiVersion}) does not match the expected API version (${apiVersion})`,
      );
    if (obj.kind !== undefined && obj.kind !== "" && obj.kind !== kind)
      throw errors.badRequest(
        `the kind in the data (${obj.kind}) does not match the expected kind (${kind})`,
      );
    const metadata = isObject(obj.metadata) ? obj.metadata : { creationTimestamp: null };
    const out = ssar
      ? {
          kind,
          apiVersion,
          metadata,
          spec: obj.spec,
          status: accessReviewStatus(authorizer, ctx.user, obj.spec),
        }
      : { kind, apiVersion, metadata, status: { userInfo: userInfo(ctx.user) } };
    const text = JSON.stringify(out);
    res.writeHead(201, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
    return true;
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** The review's question as the authorizer's attributes, checked as Kubernetes checks it. */
export function reviewAttributes(spec: unknown): RequestAttributes {
  const s = isObject(spec) ? spec : {};
  const ra = s.resourceAttributes;
  const nra = s.nonResourceAttributes;
  if ((ra === undefined || ra === null) === (nra === undefined || nra === null))
    throw errors.invalid({ group: "authorization.k8s.io", kind: "SelfSubjectAccessReview" }, "", [
      {
        reason: "FieldValueInvalid",
        field: "spec.resourceAttributes",
        message: `Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified`,
      },
    ]);
  if (isObject(ra)) {
    return {
      verb: str(ra.verb),
      group: str(ra.group),
      resource: str(ra.resource),
      subresource: str(ra.subresource) || undefined,
      namespace: str(ra.namespace) || undefined,
      name: str(ra.name) || undefined,
    };
  }
  if (!isObject(nra)) throw errors.badRequest("spec.nonResourceAttributes must be an object");
  return { verb: str(nra.verb), group: "", resource: "", path: str(nra.path) };
}

function accessReviewStatus(
  authorizer: ReviewAuthorizer,
  user: UserInfo,
  spec: unknown,
): Record<string, unknown> {
  const attrs = reviewAttributes(spec);
  let decision: { allowed: boolean; reason?: string };
  try {
    decision = authorizer.authorize(user, attrs);
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // An authorizer failure is an answer, not a crash: Kubernetes reports it as evaluationError.
    return { allowed: false, evaluationError: (err as Error).message };
  }
  return { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) };
}

function userInfo(user: UserInfo): Record<string, unknown> {
  return { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups };
}
