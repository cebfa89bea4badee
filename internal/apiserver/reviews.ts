// Self reviews, as `kubectl auth can-i` and `kubectl auth whoami` use them:
//   POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews  → may I do this?
//   POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews   → what may I do? (can-i --list)
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
    group: "authorization.k8s.io",
    version: "v1",
    kind: "SelfSubjectRulesReview",
    plural: "selfsubjectrulesreviews",
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

const REVIEWS: Record<string, [apiVersion: string, kind: string]> = {
  "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews": [
    "authorization.k8s.io/v1",
    "SelfSubjectAccessReview",
  ],
  "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews": [
    "authorization.k8s.io/v1",
    "SelfSubjectRulesReview",
  ],
  "/apis/authentication.k8s.io/v1/selfsubjectreviews": ["authentication.k8s.io/v1", "SelfSubjectReview"],
};

/** What every authenticated user may do (Kubernetes' system:basic-user and system:discovery roles). */
const BASIC_RESOURCE_RULES = [
  {
    verbs: ["create"],
    apiGroups: ["authorization.k8s.io"],
    resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
  },
  { verbs: ["create"], apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"] },
];
const BASIC_NON_RESOURCE_RULES = [
  {
    verbs: ["get"],
    nonResourceURLs: [
      "/api",
      "/api/*",
      "/apis",
      "/apis/*",
      "/healthz",
      "/livez",
      "/openapi",
      "/openapi/*",
      "/readyz",
      "/version",
      "/version/",
    ],
  },
];

/**
 * The review endpoints, in the shape of HandlerDeps.extra: returns false for any other
 * path so the next handler (or the 404) gets it.
 */
export function reviewHandlers(
  authorizer: ReviewAuthorizer,
): (req: IncomingMessage, res: ServerResponse, url: URL, ctx: RequestContext) => Promise<boolean> {
  return async (req, res, url, ctx) => {
    const review = REVIEWS[url.pathname.replace(/\/+$/, "")];
    if (!review) return false;
    if (req.method !== "POST") throw errors.methodNotAllowed();
    const [apiVersion, kind] = review;
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
    let out: Record<string, unknown>;
    if (kind === "SelfSubjectAccessReview")
      out = {
        kind,
        apiVersion,
        metadata,
        spec: obj.spec,
        status: accessReviewStatus(authorizer, ctx.user, obj.spec),
      };
    else if (kind === "SelfSubjectRulesReview")
      out = {
        kind,
        apiVersion,
        metadata,
        spec: obj.spec ?? {},
        status: rulesReviewStatus(authorizer, ctx.user, obj.spec),
      };
    else out = { kind, apiVersion, metadata, status: { userInfo: userInfo(ctx.user) } };
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

/**
 * The rules a user has in a namespace. The authorizer answers yes/no questions and cannot
 * list its rules, so a user allowed everything gets the wildcard rules (as cluster-admin
 * has) and anyone else the rules every user has, marked incomplete, as Kubernetes marks
 * the answer of an authorizer that cannot enumerate.
 */
function rulesReviewStatus(
  authorizer: ReviewAuthorizer,
  user: UserInfo,
  spec: unknown,
): Record<string, unknown> {
  const namespace = isObject(spec) ? str(spec.namespace) : "";
  const all = authorizer.authorize(user, {
    verb: "*",
    group: "*",
    resource: "*",
    namespace: namespace || undefined,
  }).allowed;
  const allUrls = authorizer.authorize(user, { verb: "*", group: "", resource: "", path: "*" }).allowed;
  return {
    resourceRules: all
      ? [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }, ...BASIC_RESOURCE_RULES]
      : BASIC_RESOURCE_RULES,
    nonResourceRules: allUrls
      ? [{ verbs: ["*"], nonResourceURLs: ["*"] }, ...BASIC_NON_RESOURCE_RULES]
      : BASIC_NON_RESOURCE_RULES,
    incomplete: !all,
    ...(all
      ? {}
      : {
          evaluationError:
            "this authorizer cannot list rules; ask about one action with kubectl auth can-i VERB RESOURCE",
        }),
  };
}

function userInfo(user: UserInfo): Record<string, unknown> {
  return { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups };
}
