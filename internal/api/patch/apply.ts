// Server-side apply (application/apply-patch+yaml) and the managedFields bookkeeping of
// every other write, following Kubernetes' field manager (structured-merge-diff):
//
// - Each manager owns a set of fields, stored in metadata.managedFields as FieldsV1.
//   Ordinary writes (create, update, patch) record an "Update" entry: the writer gains
//   the fields it added or changed, and every other manager loses them (updates never
//   conflict). Apply records an "Apply" entry owning exactly the applied fields.
// - An apply that changes a field another manager owns is refused with a conflict
//   (409) unless forced; forcing moves the field to the applier.
// - Fields the applier owned before and no longer applies are removed from the object,
//   unless another manager still owns them.
// - For the manager "kubectl" (kubectl apply --server-side), conflicts on fields whose
//   live value still equals the client-side last-applied annotation are forgiven, and
//   that annotation is kept in step, as the API server does for clients moving from
//   client-side to server-side apply.

import { badRequest, PatchError } from "./errors";
import { type FieldPath, FieldSet, pathString } from "./fieldset";
import { clone, deepEqual, goJson, isObject, type JsonObject } from "./json";
import type { PatchMeta } from "./meta";
import { Typed } from "./typed";

export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  fieldsType: "FieldsV1";
  fieldsV1: JsonObject;
  subresource?: string;
}

interface Manager {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time?: string;
  subresource?: string;
  set: FieldSet;
}

/** One field another manager owns that an apply would change. */
export interface FieldConflict {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  subresource?: string;
  /** FieldsV1 path elements, e.g. ["f:spec", "f:replicas"]. */
  path: string[];
  /** The path as Kubernetes prints it, e.g. ".spec.replicas". */
  field: string;
}

/** Metadata no manager owns (structured-merge-diff's strip set). */
const STRIPPED: FieldPath[] = [
  ["f:apiVersion"],
  ["f:kind"],
  ["f:metadata"],
  ...[
    "name",
    "namespace",
    "creationTimestamp",
    "selfLink",
    "uid",
    "clusterName",
    "generation",
    "managedFields",
    "resourceVersion",
  ].map((f) => ["f:metadata", `f:${f}`]),
];
const STRIP_SET = FieldSet.of(...STRIPPED);

function identity(m: {
  manager: string;
  operation: string;
  apiVersion: string;
  subresource?: string;
}): string {
  return JSON.stringify([
    m.manager,
    m.operation,
    m.subresource ?? "",
    m.operation === "Update" ? m.apiVersion : "",
  ]);
}

function formatTime(now: Date | string): string {
  return new Date(now).toISOString().replace(/\.\d+Z$/, "Z");
}

function metadataOf(obj: unknown): JsonObject | undefined {
  return isObject(obj) && isObject(obj.metadata) ? obj.metadata : undefined;
}

/** A copy of the object without metadata.managedFields. */
function bare(obj: unknown): JsonObject {
  const out = isObject(obj) ? clone(obj) : {};
  const md = metadataOf(out);
  if (md) delete md.managedFields;
  return out;
}

/** A read-only view of the object without metadata.managedFields (shares everything else). */
function bareView(obj: unknown): JsonObject {
  if (!isObject(obj)) return {};
  const md = metadataOf(obj);
  if (!md || !("managedFields" in md)) return obj;
  const { managedFields: _, ...rest } = md;
  return { ...obj, metadata: rest };
}

/** Reads metadata.managedFields; undefined when they are malformed. */
export function decodeManagedFields(entries: unknown): Map<string, Manager> | undefined {
  const out = new Map<string, Manager>();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) return undefined;
  try {
    for (const e of entries) {
      if (!isObject(e) || typeof e.manager !== "string") return undefined;
      if (e.operation !== "Apply" && e.operation !== "Update") return undefined;
      if (e.fieldsType !== undefined && e.fieldsType !== "FieldsV1") return undefined;
      const set = e.fieldsV1 === undefined ? new FieldSet() : FieldSet.fromFieldsV1(e.fieldsV1);
      set.member = false;
      const m: Manager = {
        manager: e.manager,
        operation: e.operation,
        apiVersion: typeof e.apiVersion === "string" ? e.apiVersion : "",
        time: typeof e.time === "string" ? e.time : undefined,
        subresource: typeof e.subresource === "string" && e.subresource ? e.subresource : undefined,
        set,
      };
      const key = identity(m);
      const prev = out.get(key);
      out.set(key, prev ? { ...m, set: prev.set.union(set) } : m);
    }
  } catch {
    return undefined;
  }
  return out;
}

/** Writes managers as Kubernetes orders them: Apply before Update, then by time, manager, version. */
export function encodeManagedFields(managers: Iterable<Manager>): ManagedFieldsEntry[] {
  const list = [...managers].filter((m) => !m.set.isEmpty());
  list.sort((p, q) => {
    if (p.operation !== q.operation) return p.operation < q.operation ? -1 : 1;
    const pt = p.time ? Date.parse(p.time) / 1000 : 0;
    const qt = q.time ? Date.parse(q.time) / 1000 : 0;
    if (Math.floor(pt) !== Math.floor(qt)) return pt - qt;
    if (p.manager !== q.manager) return p.manager < q.manager ? -1 : 1;
    if (p.apiVersion !== q.apiVersion) return p.apiVersion < q.apiVersion ? -1 : 1;
    return (p.subresource ?? "") < (q.subresource ?? "") ? -1 : 1;
  });
  return list.map((m) => {
    // Key order as the API server writes them.
    const e: Partial<ManagedFieldsEntry> = {
      manager: m.manager,
      operation: m.operation,
      apiVersion: m.apiVersion,
    };
    if (m.time) e.time = m.time;
    e.fieldsType = "FieldsV1";
    e.fieldsV1 = m.set.toFieldsV1();
    if (m.subresource) e.subresource = m.subresource;
    return e as ManagedFieldsEntry;
  });
}

function withManagedFields(obj: JsonObject, managers: Map<string, Manager>): JsonObject {
  const entries = encodeManagedFields(managers.values());
  if (!isObject(obj.metadata)) obj.metadata = {};
  const md = obj.metadata as JsonObject;
  if (entries.length > 0) md.managedFields = entries;
  else delete md.managedFields;
  return obj;
}

/** The API server keeps at most this many Update entries; older ones merge into "ancient-changes". */
export const MAX_UPDATE_MANAGERS = 10;

function stripAndDropEmpty(managers: Map<string, Manager>): void {
  for (const [k, m] of managers) {
    m.set = m.set.difference(STRIP_SET);
    if (m.set.isEmpty()) managers.delete(k);
  }
  capUpdateManagers(managers);
}

/** Merges the oldest Update entries, per apiVersion, into an "ancient-changes" entry. */
function capUpdateManagers(managers: Map<string, Manager>): void {
  const updaters = [...managers.entries()].filter(([, m]) => m.operation === "Update");
  let count = updaters.length;
  if (count <= MAX_UPDATE_MANAGERS) return;
  const seconds = (m: Manager) => (m.time ? Math.floor(Date.parse(m.time) / 1000) : 0);
  updaters.sort(([ka, a], [kb, b]) => seconds(a) - seconds(b) || (ka < kb ? -1 : 1));
  const firstByVersion = new Map<string, string>();
  for (const [key, m] of updaters) {
    if (count <= MAX_UPDATE_MANAGERS) break;
    const first = firstByVersion.get(m.apiVersion);
    if (first === undefined) {
      firstByVersion.set(m.apiVersion, key);
      continue;
    }
    const bucket = { manager: "ancient-changes", operation: "Update" as const, apiVersion: m.apiVersion };
    const bucketKey = identity(bucket);
    if (!managers.has(bucketKey)) {
      const firstEntry = managers.get(first)!;
      managers.delete(first);
      managers.set(bucketKey, { ...bucket, time: firstEntry.time, set: firstEntry.set });
    }
    const b = managers.get(bucketKey)!;
    managers.set(bucketKey, { ...b, set: b.set.union(m.set), time: m.time });
    managers.delete(key);
    count--;
  }
}

function removeIgnored(set: FieldSet, ignored: readonly (readonly string[])[]): FieldSet {
  for (const p of ignored) set.removeSubtree(p.map((f) => `f:${f}`));
  return set;
}

export interface UpdateManagedFieldsOptions {
  /** The fieldManager of the request (or the client's user agent), e.g. "kubectl-edit". */
  manager: string;
  meta: PatchMeta;
  now: Date | string;
  /** "status", "scale", ... when the write went to a subresource. */
  subresource?: string;
  /** Field paths this request cannot own, e.g. [["status"]] for writes to the main resource. */
  ignoredPaths?: readonly (readonly string[])[];
}

/**
 * managedFields after an ordinary write (create, update, any non-apply patch): returns a
 * copy of `updated` whose metadata.managedFields gives `manager` an Update entry for the
 * fields it added or changed, taking them from other managers. `live` is undefined on
 * create. When the request itself carries managedFields different from the live ones,
 * they are taken as the starting point (a list holding one empty entry clears them).
 */
export function updateManagedFields(
  live: unknown,
  updated: unknown,
  opts: UpdateManagedFieldsOptions,
): JsonObject {
  const typed = new Typed(opts.meta);
  const liveBare = bareView(live);
  const newBare = bare(updated);
  const managers = baseManagers(live, updated);
  const apiVersion = isObject(updated) && typeof updated.apiVersion === "string" ? updated.apiVersion : "";
  const ignored = opts.ignoredPaths ?? [];

  const cmp = typed.compare(liveBare, newBare);
  const changed = removeIgnored(cmp.added.union(cmp.modified).union(cmp.removed), ignored);
  for (const m of managers.values()) m.set = m.set.difference(changed);
  const taken = removeIgnored(cmp.added.union(cmp.modified), ignored).difference(STRIP_SET);
  if (!taken.isEmpty()) {
    const self = {
      manager: opts.manager,
      operation: "Update" as const,
      apiVersion,
      subresource: opts.subresource,
    };
    const key = identity(self);
    const prev = managers.get(key);
    managers.set(key, {
      ...self,
      time: formatTime(opts.now),
      set: (prev?.set ?? new FieldSet()).union(taken),
    });
  }
  stripAndDropEmpty(managers);
  return withManagedFields(newBare, managers);
}

function baseManagers(live: unknown, updated: unknown): Map<string, Manager> {
  const liveManagers = () =>
    decodeManagedFields(metadataOf(live)?.managedFields) ?? new Map<string, Manager>();
  const requested = metadataOf(updated)?.managedFields;
  if (
    Array.isArray(requested) &&
    requested.length === 1 &&
    isObject(requested[0]) &&
    Object.keys(requested[0]).length === 0
  ) {
    return new Map();
  }
  if (
    Array.isArray(requested) &&
    requested.length > 0 &&
    !deepEqual(requested, metadataOf(live)?.managedFields)
  ) {
    const decoded = decodeManagedFields(requested);
    if (decoded && decoded.size > 0) return decoded;
  }
  return liveManagers();
}

export interface ServerSideApplyOptions {
  /** The stored object, or undefined when the apply creates it. */
  live?: unknown;
  /** The applied configuration (the request body, decoded). */
  applied: unknown;
  /** The fieldManager of the request ("kubectl" for kubectl apply --server-side). */
  manager: string;
  /** force=true (kubectl --force-conflicts): take conflicting fields from their managers. */
  force?: boolean;
  meta: PatchMeta;
  now: Date | string;
  subresource?: string;
  /** Field paths the applier cannot own, e.g. [["status"]] on the main resource. */
  ignoredPaths?: readonly (readonly string[])[];
}

export type ServerSideApplyResult =
  | { object: JsonObject; conflicts?: undefined; error?: undefined }
  | { object?: undefined; conflicts: FieldConflict[]; error: PatchError };

/**
 * Applies `applied` to `live` for `manager`. Returns the new object (with
 * managedFields), or the conflicts and the 409 error to answer with. Malformed
 * configurations throw a coded PatchError (BadRequest, or Invalid for duplicate or
 * keyless items of keyed lists).
 */
export function serverSideApply(opts: ServerSideApplyOptions): ServerSideApplyResult {
  const { applied, manager } = opts;
  if (!isObject(applied)) throw badRequest("error decoding YAML: the apply configuration must be an object");
  const appliedMeta = metadataOf(applied);
  if (appliedMeta && appliedMeta.managedFields !== undefined && appliedMeta.managedFields !== null) {
    throw badRequest("metadata.managedFields must be nil");
  }
  const apiVersion = typeof applied.apiVersion === "string" ? applied.apiVersion : "";
  if (
    isObject(opts.live) &&
    typeof opts.live.apiVersion === "string" &&
    opts.live.apiVersion !== apiVersion
  ) {
    throw badRequest(
      `Incorrect version specified in apply patch. Specified patch version: ${apiVersion}, expected: ${opts.live.apiVersion}`,
    );
  }
  const typed = new Typed(opts.meta);
  const ignored = opts.ignoredPaths ?? [];
  const liveBare = opts.live === undefined ? {} : bare(opts.live);
  const managers =
    opts.live === undefined
      ? new Map<string, Manager>()
      : (decodeManagedFields(metadataOf(opts.live)?.managedFields) ?? new Map<string, Manager>());

  const config = clone(applied);
  if (appliedMeta) delete (config.metadata as JsonObject).managedFields;
  for (const p of ignored) removeAt(config, p);
  const configSet = typed.fieldSet(config, true);

  const self = { manager, operation: "Apply" as const, apiVersion, subresource: opts.subresource };
  const key = identity(self);
  const previous = managers.get(key);
  managers.set(key, { ...self, time: previous?.time, set: configSet });

  const merged = typed.merge(liveBare, config) as JsonObject;
  if (previous) prune(typed, merged, previous.set, managers);
  keepSystemMetadata(merged, liveBare);

  const cmp = typed.compare(liveBare, merged);
  const changed = removeIgnored(cmp.added.union(cmp.modified).union(cmp.removed), ignored);
  let conflicts = findConflicts(managers, key, changed);
  if (conflicts.length > 0 && !opts.force) {
    const allowed = manager === "kubectl" ? lastAppliedFields(typed, liveBare) : undefined;
    const remaining = allowed ? conflicts.filter((c) => !allowed.has(c.path)) : conflicts;
    if (remaining.length > 0) return { conflicts: remaining, error: conflictError(remaining) };
  }
  for (const c of conflicts) {
    const m = managers.get(identity(c));
    if (m) m.set = m.set.difference(FieldSet.of(c.path));
  }
  conflicts = [];

  const selfEntry = managers.get(key)!;
  if (!deepEqual(liveBare, merged) || !selfEntry.time) selfEntry.time = formatTime(opts.now);
  stripAndDropEmpty(managers);

  if (manager === "kubectl") {
    const annotations = metadataOf(merged)?.annotations;
    if (isObject(annotations) && typeof annotations[LAST_APPLIED_ANNOTATION] === "string") {
      annotations[LAST_APPLIED_ANNOTATION] = buildLastApplied(applied);
    }
  }
  return { object: withManagedFields(merged, managers) };
}

/** Fields the server sets: an applied configuration (e.g. creationTimestamp: null) never changes them. */
const SYSTEM_METADATA = [
  "uid",
  "creationTimestamp",
  "resourceVersion",
  "generation",
  "selfLink",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
];

function keepSystemMetadata(merged: JsonObject, live: JsonObject): void {
  const liveMd = metadataOf(live);
  if (!liveMd) return;
  if (!isObject(merged.metadata)) merged.metadata = {};
  const md = merged.metadata as JsonObject;
  for (const f of SYSTEM_METADATA) {
    if (liveMd[f] !== undefined) md[f] = clone(liveMd[f]);
  }
}

function removeAt(obj: JsonObject, path: readonly string[]): void {
  let cur: unknown = obj;
  for (const f of path.slice(0, -1)) {
    if (!isObject(cur)) return;
    cur = cur[f];
  }
  if (isObject(cur)) delete cur[path[path.length - 1]];
}

/**
 * Removes what the applier owned before and no longer applies, unless some manager
 * still owns it (or something under it). Object fields the applier set are candidates
 * as a whole, so a struct nobody owns anymore goes with its defaulted contents.
 */
function prune(typed: Typed, merged: JsonObject, lastSet: FieldSet, managers: Map<string, Manager>): void {
  const candidates = withFieldsAsMembers(lastSet);
  let owned = new FieldSet();
  for (const m of managers.values()) owned = owned.union(m.set);
  typed.removeWhere(merged, candidates, (path) => owned.hasAnyUnder(path));
}

function withFieldsAsMembers(set: FieldSet, isField = false): FieldSet {
  const out = new FieldSet();
  out.member = set.member || (isField && set.children.size > 0);
  for (const [pe, c] of set.children) out.children.set(pe, withFieldsAsMembers(c, pe.startsWith("f:")));
  return out;
}

function findConflicts(managers: Map<string, Manager>, selfKey: string, changed: FieldSet): FieldConflict[] {
  const out: FieldConflict[] = [];
  const others = [...managers.entries()].filter(([k]) => k !== selfKey).map(([, m]) => m);
  others.sort((a, b) => (identity(a) < identity(b) ? -1 : 1));
  for (const m of others) {
    for (const path of m.set.intersection(changed).members()) {
      out.push({
        manager: m.manager,
        operation: m.operation,
        apiVersion: m.apiVersion,
        subresource: m.subresource,
        path,
        field: pathString(path),
      });
    }
  }
  return out;
}

/** How Kubernetes names a manager in conflict messages. */
export function printManager(m: {
  manager: string;
  operation: string;
  apiVersion: string;
  subresource?: string;
}): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === "Update") s += ` using ${m.apiVersion}`;
  return s;
}

/** The 409 for conflicts, worded and with causes as the API server sends them. */
export function conflictError(conflicts: FieldConflict[]): PatchError {
  const causes = conflicts.map((c) => ({
    type: "FieldManagerConflict",
    message: `conflict with ${printManager(c)}`,
    field: c.field,
  }));
  let message: string;
  if (conflicts.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0])}: ${conflicts[0].field}`;
  } else {
    const groups = new Map<string, FieldConflict[]>();
    for (const c of conflicts) groups.set(identity(c), [...(groups.get(identity(c)) ?? []), c]);
    const lines: string[] = [];
    for (const key of [...groups.keys()].sort()) {
      const group = groups.get(key)!;
      lines.push(`conflicts with ${printManager(group[0])}:`);
      for (const c of group) lines.push(`- ${c.field}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return new PatchError("Conflict", message, causes);
}

/** Fields of the last-applied annotation whose live value still matches it. */
function lastAppliedFields(typed: Typed, live: JsonObject): FieldSet | undefined {
  const annotations = metadataOf(live)?.annotations;
  const text = isObject(annotations) ? annotations[LAST_APPLIED_ANNOTATION] : undefined;
  if (typeof text !== "string" || text === "") return undefined;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(last) || last.apiVersion !== live.apiVersion) return undefined;
  try {
    const cmp = typed.compare(last, live);
    return typed.fieldSet(last).difference(cmp.modified).difference(cmp.added).difference(cmp.removed);
  } catch {
    return undefined;
  }
}

/** The last-applied annotation kubectl would write for this configuration. */
export function buildLastApplied(applied: JsonObject): string {
  const copy = clone(applied);
  const annotations = metadataOf(copy)?.annotations;
  if (isObject(annotations)) delete annotations[LAST_APPLIED_ANNOTATION];
  return `${goJson(copy)}\n`;
}
