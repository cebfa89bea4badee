// How API objects live in the store: the key layout, the CBOR encoding, and the
// metadata fields the server owns (uid, resourceVersion, generation, timestamps).
import { randomUUID } from "node:crypto";
import { decode, encode } from "cbor-x";
import type { ResourceInfo } from "../api/resources";
import type { KeyValue } from "../store/types";

export type KObject = Record<string, any> & {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
};

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<{
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
    blockOwnerDeletion?: boolean;
  }>;
  managedFields?: unknown[];
  [k: string]: unknown;
}

/** Kubernetes' storage layout: /registry/<group>/<resource>/<namespace>/<name>. */
export function resourcePrefix(info: Pick<ResourceInfo, "group" | "plural">): string {
  return `/registry/${info.group || "core"}/${info.plural}/`;
}

export function collectionPrefix(
  info: Pick<ResourceInfo, "group" | "plural" | "namespaced">,
  namespace?: string,
): string {
  const base = resourcePrefix(info);
  return info.namespaced && namespace ? `${base}${namespace}/` : base;
}

export function objectKey(
  info: Pick<ResourceInfo, "group" | "plural" | "namespaced">,
  namespace: string | undefined,
  name: string,
): string {
  return info.namespaced ? `${resourcePrefix(info)}${namespace}/${name}` : `${resourcePrefix(info)}${name}`;
}

export function encodeObject(obj: KObject): Uint8Array {
  // resourceVersion is the store's modRevision; it is never stored inside the value.
  const meta = obj.metadata;
  if (meta && "resourceVersion" in meta) {
    const { resourceVersion: _rv, ...rest } = meta;
    return encode({ ...obj, metadata: rest });
  }
  return encode(obj);
}

const decoded = new WeakMap<KeyValue, KObject>();

/**
 * Decodes a stored object and stamps its resourceVersion. Watch fan-out hands the
 * same KeyValue to every watcher, so the decoded form is memoised per KeyValue;
 * callers get a fresh copy only when they ask to mutate (`mutable`).
 */
export function decodeObject(kv: KeyValue, mutable = false): KObject {
  let obj = decoded.get(kv);
  if (!obj) {
    obj = decode(kv.value) as KObject;
    obj.metadata = { ...(obj.metadata ?? {}), resourceVersion: String(kv.modRevision) };
    decoded.set(kv, obj);
  }
  return mutable ? structuredClone(obj) : obj;
}

export function nowTimestamp(date = new Date()): string {
  // Kubernetes metav1.Time is RFC 3339 with second precision.
  return `${date.toISOString().slice(0, 19)}Z`;
}

export function newUid(): string {
  return randomUUID();
}

const GENERATION_GROUPS = new Set(["apps", "batch", "autoscaling", "policy", "networking.k8s.io"]);

/** Whether the server keeps metadata.generation for this resource (bumped on spec changes). */
export function tracksGeneration(info: Pick<ResourceInfo, "group">): boolean {
  return GENERATION_GROUPS.has(info.group);
}

const SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789";

/** The 5-character random suffix Kubernetes appends to generateName. */
export function randomSuffix(n = 5): string {
  let s = "";
  for (let i = 0; i < n; i++) s += SUFFIX_CHARS[Math.floor(Math.random() * SUFFIX_CHARS.length)];
  return s;
}

/** Deep equality for JSON-shaped values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ak = Object.keys(a as object).filter((k) => (a as any)[k] !== undefined);
  const bk = Object.keys(b as object).filter((k) => (b as any)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => jsonEqual((a as any)[k], (b as any)[k]));
}
