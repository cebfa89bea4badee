// Validation of API objects before they are stored, in two layers as in
// kube-apiserver: decoding (unknown and duplicate fields, JSON types: the schema
// layer) and the per-kind semantic checks of pkg/apis/*/validation, worded as
// Kubernetes words them. Pure functions: the API server turns the result into a
// 400 (strict decoding errors) or a 422 Status (causes), or stores the object.
import type { ResourceInfo } from "../resources";
import {
  validateConfigMap,
  validateConfigMapUpdate,
  validateEndpointSlice,
  validateHPASpec,
  validateNamespaceSpec,
  validateNodeSpec,
  validatePVCSpec,
  validatePVCUpdate,
  validateSecret,
  validateSecretUpdate,
  validateServiceSpec,
  validateServiceUpdate,
  validateStorageClass,
} from "./core";
import { findDuplicateFields } from "./duplicates";
import { type Cause, invalid, root } from "./field";
import {
  type NameFn,
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  validateObjectMeta,
  validateObjectMetaUpdate,
} from "./names";
import { validatePodCreate, validatePodSpec, validatePodUpdate } from "./pod";
import { checkSchema, withoutNulls } from "./schema";
import {
  validateCronJobSpec,
  validateDaemonSetSpec,
  validateDeploymentSpec,
  validateJobSpec,
  validateJobUpdate,
  validateReplicaSetSpec,
  validateSelectorImmutable,
  validateStatefulSetSpec,
  validateStatefulSetUpdate,
} from "./workloads";

export { findDuplicateFields } from "./duplicates";
export type { Cause, CauseReason } from "./field";
export { invalidMessage, invalidStatus } from "./field";
export { pruneUnknownFields } from "./schema";

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface ValidateOptions {
  fieldValidation: FieldValidation;
  operation: "create" | "update";
  /** The stored object, for updates (immutable fields). */
  old?: object;
  /** The request body as sent, when it was JSON: duplicate keys are found in it. */
  rawJson?: string;
  /** "status" for writes to the status subresource: the spec rules for updates do not apply. */
  subresource?: string;
}

export interface ValidationResult {
  /** 422 causes; empty when the object is valid. */
  causes: Cause[];
  /** Warning header texts (fieldValidation=Warn): `unknown field "spec.foo"`, `duplicate field "x"`. */
  warnings: string[];
  /**
   * Strict decoding errors (fieldValidation=Strict), each `unknown field "spec.foo"` or
   * `duplicate field "replicas"`: the server answers 400 BadRequest with
   * strictDecodingMessage(...) and checks nothing else.
   */
  strictErrors: string[];
  /** A value the decoder cannot read (a malformed quantity): 400 BadRequest with this text. */
  decodeError?: string;
}

/**
 * The message of the 400 for strict decoding errors, as kube-apiserver words it:
 * `Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.foo"`.
 */
export function strictDecodingMessage(
  info: Pick<ResourceInfo, "kind" | "version">,
  strictErrors: string[],
): string {
  return `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: strict decoding error: ${strictErrors.join(", ")}`;
}

/** The 400 message for a value the decoder cannot read. */
export function decodeErrorMessage(info: Pick<ResourceInfo, "kind" | "version">, error: string): string {
  return `${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${error}`;
}

/**
 * A Secret's data must decode as standard base64 (Go's encoding/json does it while
 * decoding, hence a 400): `illegal base64 data at input byte N`, N as Go counts it.
 */
function base64Error(data: unknown): string | undefined {
  for (const v of Object.values(objOf(data))) {
    if (typeof v !== "string") continue;
    const s = v.replace(/[\r\n]/g, "");
    let bad = -1;
    const pad = s.indexOf("=");
    for (let i = 0; i < s.length && bad < 0; i++) {
      const c = s[i];
      const inAlphabet = /[A-Za-z0-9+/]/.test(c);
      if (c === "=") {
        if (i < s.length - 2 || (i === s.length - 2 && s[i + 1] !== "=") || i % 4 < 2) bad = i;
      } else if (!inAlphabet || (pad >= 0 && i > pad)) bad = i;
    }
    if (bad < 0 && s.length % 4 !== 0) bad = s.length - (s.length % 4);
    if (bad >= 0) return `illegal base64 data at input byte ${bad}`;
  }
  return undefined;
}

function nameFnFor(info: ResourceInfo): NameFn {
  if (info.group === "" && info.kind === "Namespace") return nameIsDNSLabel;
  if (info.group === "" && info.kind === "Service") return nameIsDNS1035Label;
  return nameIsDNSSubdomain;
}

type Obj = Record<string, any>;
const objOf = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});

/** The per-kind semantic checks (pkg/apis/<group>/validation). */
function semantic(info: ResourceInfo, obj: Obj, opts: ValidateOptions): Cause[] {
  const old = opts.operation === "update" && opts.old ? objOf(withoutNulls(opts.old)) : undefined;
  const isStatus = opts.subresource === "status";
  const meta = root("metadata");
  const spec = objOf(obj.spec);
  const oldSpec = objOf(old?.spec);
  const sp = root("spec");
  const out: Cause[] = validateObjectMeta(obj.metadata, info.namespaced, nameFnFor(info), meta);
  if (old) out.push(...validateObjectMetaUpdate(obj.metadata, old.metadata, meta));
  const key = `${info.group}/${info.kind}`;
  switch (key) {
    case "/Pod":
      out.push(...validatePodSpec(spec, sp));
      if (!old) out.push(...validatePodCreate(obj, sp));
      else if (!isStatus) out.push(...validatePodUpdate(obj, old, sp));
      break;
    case "/Service":
      out.push(...validateServiceSpec(spec, sp));
      if (old && !isStatus) out.push(...validateServiceUpdate(spec, oldSpec, sp));
      break;
    case "/ConfigMap":
      out.push(...validateConfigMap(obj));
      if (old) out.push(...validateConfigMapUpdate(obj, old));
      break;
    case "/Secret":
      out.push(...validateSecret(obj));
      if (old) out.push(...validateSecretUpdate(obj, old));
      break;
    case "/Namespace":
      out.push(...validateNamespaceSpec(obj));
      break;
    case "/PersistentVolumeClaim":
      out.push(...validatePVCSpec(spec, sp));
      if (old && !isStatus) out.push(...validatePVCUpdate(obj, old));
      break;
    case "/Node":
      out.push(...validateNodeSpec(spec, sp));
      break;
    case "apps/Deployment":
      out.push(...validateDeploymentSpec(spec, sp));
      if (old) out.push(...validateSelectorImmutable(spec, oldSpec, sp));
      break;
    case "apps/ReplicaSet":
      out.push(...validateReplicaSetSpec(spec, sp));
      if (old) out.push(...validateSelectorImmutable(spec, oldSpec, sp));
      break;
    case "apps/DaemonSet":
      out.push(...validateDaemonSetSpec(spec, sp));
      if (old) out.push(...validateSelectorImmutable(spec, oldSpec, sp));
      break;
    case "apps/StatefulSet":
      out.push(...validateStatefulSetSpec(spec, sp));
      if (old && !isStatus) out.push(...validateStatefulSetUpdate(spec, oldSpec, sp));
      break;
    case "batch/Job":
      out.push(...validateJobSpec(spec, sp));
      if (old && !isStatus) out.push(...validateJobUpdate(spec, oldSpec, sp));
      break;
    case "batch/CronJob": {
      const name = objOf(obj.metadata).name;
      if (!old && typeof name === "string" && name.length > 52)
        out.push(invalid(meta.child("name"), name, "must be no more than 52 characters"));
      out.push(...validateCronJobSpec(spec, sp));
      break;
    }
    case "autoscaling/HorizontalPodAutoscaler":
      out.push(...validateHPASpec(spec, sp));
      break;
    case "storage.k8s.io/StorageClass":
      out.push(...validateStorageClass(obj));
      break;
    case "discovery.k8s.io/EndpointSlice":
      out.push(...validateEndpointSlice(obj));
      break;
  }
  return out;
}

/**
 * Validates an object (already defaulted) for a create or update of `info`'s kind.
 * Strict decoding errors and decode errors mean "400, check nothing else"; type
 * errors are reported alone (the semantic checks assume well-typed values);
 * otherwise the semantic causes.
 */
export function validateObject(info: ResourceInfo, obj: object, opts: ValidateOptions): ValidationResult {
  const result: ValidationResult = { causes: [], warnings: [], strictErrors: [] };
  const clean = objOf(withoutNulls(obj));
  const schema = checkSchema(info.group, info.version, info.kind, clean);
  const problems: string[] = [];
  if (opts.rawJson !== undefined)
    for (const d of findDuplicateFields(opts.rawJson)) problems.push(`duplicate field "${d}"`);
  for (const u of schema?.unknown ?? []) problems.push(`unknown field "${u}"`);
  if (opts.fieldValidation === "Strict") result.strictErrors.push(...problems);
  else if (opts.fieldValidation === "Warn") result.warnings.push(...problems);
  if (result.strictErrors.length) return result;
  const decodeError =
    schema?.decodeError ??
    (info.group === "" && info.kind === "Secret" ? base64Error(clean.data) : undefined);
  if (decodeError) {
    result.decodeError = decodeError;
    return result;
  }
  if (schema?.typeErrors.length) {
    result.causes = schema.typeErrors;
    return result;
  }
  result.causes = semantic(info, clean, opts);
  return result;
}
