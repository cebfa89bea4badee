import { applyDefaults } from "../../../internal/api/defaults";
import { findKind, type ResourceInfo } from "../../../internal/api/resources";
import {
  type FieldValidation,
  invalidMessage,
  type ValidationResult,
  validateObject,
} from "../../../internal/api/validation";

type Obj = Record<string, any>;

export interface Checked extends ValidationResult {
  info: ResourceInfo;
  /** The 422 message the API server builds, or "" when valid. */
  message: string;
}

function infoOf(obj: Obj): ResourceInfo {
  const info = findKind(obj.apiVersion, obj.kind);
  if (!info) throw new Error(`not served: ${obj.apiVersion} ${obj.kind}`);
  return info;
}

/** Defaults then validates a create, as the API server does. */
export function create(obj: Obj, fieldValidation: FieldValidation = "Strict", rawJson?: string): Checked {
  const info = infoOf(obj);
  applyDefaults(info, obj);
  const r = validateObject(info, obj, { fieldValidation, operation: "create", rawJson });
  const message = r.causes.length
    ? invalidMessage(info.kind, info.group, obj.metadata?.name ?? "", r.causes)
    : "";
  return { ...r, info, message };
}

/** Defaults both objects then validates `obj` as an update of `old`. */
export function update(obj: Obj, old: Obj, subresource?: string): Checked {
  const info = infoOf(obj);
  applyDefaults(info, old);
  applyDefaults(info, obj);
  const r = validateObject(info, obj, { fieldValidation: "Strict", operation: "update", old, subresource });
  const message = r.causes.length
    ? invalidMessage(info.kind, info.group, obj.metadata?.name ?? "", r.causes)
    : "";
  return { ...r, info, message };
}

export const clone = <T>(o: T): T => structuredClone(o);

export function pod(spec: Obj = {}, metadata: Obj = {}): Obj {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", ...metadata },
    spec: { containers: [{ name: "app", image: "nginx:1.27" }], ...spec },
  };
}

export function deployment(spec: Obj = {}, metadata: Obj = {}): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", ...metadata },
    spec: {
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels: { app: "web" } },
        spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
      },
      ...spec,
    },
  };
}

export function service(spec: Obj = {}, metadata: Obj = {}): Obj {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "web", namespace: "default", ...metadata },
    spec: { selector: { app: "web" }, ports: [{ port: 80 }], ...spec },
  };
}

export function job(spec: Obj = {}, metadata: Obj = {}): Obj {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "0b9f7a3c-6f1e-4d5b-9c1a-2f3e4d5c6b7a", ...metadata },
    spec: {
      template: { spec: { restartPolicy: "Never", containers: [{ name: "pi", image: "perl:5.34" }] } },
      ...spec,
    },
  };
}
