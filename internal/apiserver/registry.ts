// Generic storage for every resource in the table: the verbs on top of the store,
// with the server-owned metadata, optimistic concurrency and admission (defaulting,
// validation) in Kubernetes' order. The HTTP handlers and the in-process client both
// come through here, so a controller's write is checked exactly like kubectl's.
import type { ResourceInfo } from "../api/resources";
import { groupVersion, RESOURCES } from "../api/resources";
import type {
  KeyValue,
  Store,
  ListResult as StoreListResult,
  WatchEvent as StoreWatchEvent,
  Watcher,
} from "../store/types";
import { StoreError } from "../store/types";
import type { FieldValidation, RequestContext } from "./context";
import { ApiError, errors, type StatusCause, toApiError } from "./errors";
import { compileFilter, type ListFilter } from "./filter";
import {
  collectionPrefix,
  decodeObject,
  encodeObject,
  jsonEqual,
  type KObject,
  newUid,
  nowTimestamp,
  objectKey,
  randomSuffix,
  tracksGeneration,
} from "./objects";

export interface Admission {
  /** Fills in the defaults Kubernetes sets. Mutates obj. */
  applyDefaults(info: ResourceInfo, obj: KObject): void;
  /** Field and semantic validation; throws a 400 ApiError for undecodable or (Strict) unknown fields. */
  validate(
    info: ResourceInfo,
    obj: KObject,
    opts: {
      operation: "create" | "update";
      old?: KObject;
      fieldValidation: FieldValidation;
      rawBody?: string;
      subresource?: string;
    },
  ): { causes: StatusCause[]; warnings: string[] };
  /** Keeps metadata.managedFields for ordinary writes (server-side apply has its own path). */
  trackManagedFields?(
    info: ResourceInfo,
    old: KObject | undefined,
    obj: KObject,
    manager: string,
    subresource?: string,
  ): void;
}

export interface ListOptions extends ListFilter {
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ListResult {
  /** Read-only objects shared with the decode cache: copy before changing. */
  items: KObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WatchOptions extends ListFilter {
  resourceVersion?: string;
  /** Send synthetic ADDED events for what exists now (resourceVersion unset or "0"). */
  initialEvents: boolean;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface ObjectWatchEvent {
  type: WatchEventType;
  object: KObject;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface DeleteResult {
  object: KObject;
  /** false when the object is still there, waiting on finalizers or a graceful stop. */
  deleted: boolean;
}

const CONTINUE_EXPIRED =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/** Kinds whose create keeps a client-supplied status (as their Kubernetes strategies do). */
const KEEP_STATUS_ON_CREATE = new Set(["nodes", "persistentvolumes", "persistentvolumeclaims"]);

const PODS = RESOURCES.find((r) => r.group === "" && r.plural === "pods")!;

/** Updates retried on a conflict inside the server (patch, status, finalizer removal). */
const MAX_RETRIES = 16;

/** Per-resource storage logic beyond the generic verbs (service IPs, node ports, ...). */
export interface StorageHooks {
  /** After admission, before the store; may fill fields in. Undone by `abortCreate` if the write fails. */
  beforeCreate?(ctx: RequestContext, info: ResourceInfo, obj: KObject): void;
  abortCreate?(obj: KObject): void;
  beforeUpdate?(ctx: RequestContext, info: ResourceInfo, old: KObject, obj: KObject): void;
  afterDelete?(obj: KObject): void;
}

export class Registry {
  constructor(
    readonly store: Store,
    private readonly admission: Admission,
    private readonly hooks: Record<string, StorageHooks> = {},
    /** Serves lists from memory when present (the watch cache). */
    private readonly cache?: Pick<Store, "list">,
  ) {}

  get revision(): number {
    return this.store.revision;
  }

  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KObject> {
    const kv = await this.store.get(objectKey(info, namespace, name));
    if (!kv) throw errors.notFound(info, name);
    return withTypeMeta(info, decodeObject(kv, true));
  }

  async list(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<ListResult> {
    const prefix = collectionPrefix(info, namespace);
    let after: string | undefined;
    let revision: number | undefined;
    if (opts.continue) {
      const token = decodeContinue(opts.continue);
      if (!token.start.startsWith(prefix))
        throw errors.badRequest("continue key is not valid: the key does not match the request");
      after = token.start;
      revision = token.rv;
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const match = compileFilter(info, opts);
    const filtering = match !== undefined;
    const items: KObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    let remaining: number | undefined;
    for (;;) {
      const want = limit ? limit - items.length : 0;
      let page: StoreListResult;
      try {
        page = await (this.cache ?? this.store).list(prefix, { limit: want, after, revision });
      } catch (err) {
        if (err instanceof StoreError && err.code === "TooOld") throw errors.gone(CONTINUE_EXPIRED);
        throw err;
      }
      revision ??= page.revision;
      let i = 0;
      for (; i < page.kvs.length; i++) {
        const kv = page.kvs[i];
        lastKey = kv.key;
        const obj = decodeObject(kv);
        // Shared, read-only: callers serialise or cache them and copy before changing.
        if (!match || match(obj)) items.push(withTypeMeta(info, obj));
        if (limit && items.length >= limit) {
          i++;
          break;
        }
      }
      const pageHasMore = i < page.kvs.length || page.nextKey !== undefined;
      if (limit && items.length >= limit) {
        more = pageHasMore;
        if (more && !filtering) remaining = (page.remaining ?? 0) + (page.kvs.length - i);
        break;
      }
      if (!page.nextKey) break;
      after = page.nextKey;
    }
    const result: ListResult = { items, resourceVersion: String(revision) };
    if (more && lastKey) {
      result.continue = encodeContinue(revision!, lastKey);
      if (remaining !== undefined) result.remainingItemCount = remaining;
    }
    return result;
  }

  async create(
    ctx: RequestContext,
    info: ResourceInfo,
    namespace: string | undefined,
    input: KObject,
  ): Promise<KObject> {
    const obj = structuredClone(input);
    obj.apiVersion = groupVersion(info);
    obj.kind = info.kind;
    const meta = (obj.metadata ??= {});
    if (info.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace)
        throw errors.badRequest(
          "the namespace of the provided object does not match the namespace sent on the request",
        );
      meta.namespace = namespace ?? meta.namespace;
      if (!meta.namespace) throw errors.badRequest("the server could not find the requested resource");
    } else {
      delete meta.namespace;
    }
    if (!meta.name && !meta.generateName) throw errors.invalid(info, "", [requiredName()]);
    if (info.namespaced) await this.checkNamespaceOpen(meta.namespace!);
    for (const k of ["uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"])
      delete meta[k];
    meta.uid = newUid();
    meta.creationTimestamp = nowTimestamp();
    if (tracksGeneration(info)) meta.generation = 1;
    else delete meta.generation;
    if (info.subresources.includes("status") && !KEEP_STATUS_ON_CREATE.has(info.plural)) {
      // Kubernetes' create strategies drop the status clients send for most kinds;
      // controllers and kubelets set it.
      delete obj.status;
    }
    if (info.plural === "namespaces") {
      // The namespace strategy: content is removed by the namespace controller before it goes.
      obj.spec = { ...obj.spec, finalizers: ["kubernetes"] };
      obj.status = { phase: "Active" };
    }
    if (info.plural === "pods") obj.status = { phase: "Pending", qosClass: qosClass(obj) };
    // As Kubernetes does, a generated name is chosen before validation (so it is checked).
    const generate = !meta.name;
    if (generate) meta.name = `${meta.generateName}${randomSuffix()}`;
    this.admit(ctx, info, obj, "create");
    if (ctx.fieldManager) this.admission.trackManagedFields?.(info, undefined, obj, ctx.fieldManager);
    const hooks = this.hooks[info.plural];
    hooks?.beforeCreate?.(ctx, info, obj);
    try {
      for (let attempt = 0; ; attempt++) {
        if (generate && attempt > 0) meta.name = `${meta.generateName}${randomSuffix()}`;
        if (ctx.dryRun) {
          hooks?.abortCreate?.(obj);
          return withTypeMeta(info, obj);
        }
        try {
          const kv = await this.store.create(objectKey(info, meta.namespace, meta.name!), encodeObject(obj));
          return withTypeMeta(info, decodeObject(kv, true));
        } catch (err) {
          if (generate && err instanceof StoreError && err.code === "AlreadyExists" && attempt < 8) continue;
          throw toApiError(err, info, meta.name);
        }
      }
    } catch (err) {
      hooks?.abortCreate?.(obj);
      throw err;
    }
  }

  /**
   * PUT. With metadata.resourceVersion the write is a compare-and-swap (409 when
   * stale); without it the write is unconditional, as Kubernetes allows for its types.
   */
  async update(
    ctx: RequestContext,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    input: KObject,
    subresource?: "status",
  ): Promise<KObject> {
    const meta = input.metadata ?? {};
    if (meta.name && meta.name !== name)
      throw errors.badRequest(
        `the name of the object (${meta.name}) does not match the name on the URL (${name})`,
      );
    if (info.namespaced && meta.namespace && meta.namespace !== namespace)
      throw errors.badRequest(
        "the namespace of the provided object does not match the namespace sent on the request",
      );
    const expected = meta.resourceVersion
      ? parseResourceVersion(meta.resourceVersion, info, name)
      : undefined;
    const key = objectKey(info, namespace, name);
    const kv = await this.store.get(key);
    if (!kv) throw errors.notFound(info, name);
    if (expected !== undefined && expected !== kv.modRevision) throw errors.conflict(info, name);
    const old = decodeObject(kv);
    const next = this.prepareUpdate(ctx, info, old, input, subresource);
    return this.commitUpdate(ctx, info, kv, old, next);
  }

  /**
   * Read-modify-write with retries on conflict: how patches, status writes and the
   * server's own changes are applied without losing concurrent writes.
   */
  async guaranteedUpdate(
    ctx: RequestContext,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    mutate: (current: KObject) => KObject | Promise<KObject>,
    opts: { subresource?: "status"; precondition?: string } = {},
  ): Promise<KObject> {
    const key = objectKey(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(key);
      if (!kv) throw errors.notFound(info, name);
      if (opts.precondition !== undefined && String(kv.modRevision) !== opts.precondition)
        throw errors.conflict(info, name);
      const old = decodeObject(kv);
      const wanted = await mutate(structuredClone(withTypeMeta(info, old)));
      // A resourceVersion the mutation put there (a patch that carries one) is the
      // caller's precondition: no silent retry past it.
      const wantedRv = wanted.metadata?.resourceVersion;
      const rv = wantedRv !== undefined && wantedRv !== String(kv.modRevision) ? wantedRv : undefined;
      if (rv) throw errors.conflict(info, name);
      const next = this.prepareUpdate(ctx, info, old, wanted, opts.subresource);
      try {
        return await this.commitUpdate(ctx, info, kv, old, next);
      } catch (err) {
        if (err instanceof ApiError && err.reason === "Conflict" && attempt < MAX_RETRIES) continue;
        throw err;
      }
    }
  }

  /**
   * pods/binding: sets spec.nodeName and PodScheduled=True in one write. Like
   * Kubernetes' binding storage it is not a pod update (whose validation forbids
   * changing the spec); only an unbound, live pod can be bound.
   */
  async bind(ctx: RequestContext, namespace: string, name: string, node: string): Promise<KObject> {
    const info = PODS;
    const key = objectKey(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(key);
      if (!kv) throw errors.notFound(info, name);
      const pod = decodeObject(kv, true);
      if (pod.metadata?.deletionTimestamp)
        throw errors.conflict(info, name, "pod is being deleted, cannot be assigned to a host");
      if (pod.spec?.nodeName)
        throw errors.conflict(info, name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      pod.spec = { ...pod.spec, nodeName: node };
      const conds = (pod.status?.conditions ?? []).filter((c: { type: string }) => c.type !== "PodScheduled");
      conds.push({
        type: "PodScheduled",
        status: "True",
        lastProbeTime: null,
        lastTransitionTime: nowTimestamp(),
      });
      pod.status = { ...pod.status, conditions: conds };
      delete pod.metadata!.resourceVersion;
      if (ctx.dryRun) return withTypeMeta(info, pod);
      try {
        return withTypeMeta(
          info,
          decodeObject(await this.store.update(key, encodeObject(pod), kv.modRevision), true),
        );
      } catch (err) {
        if (err instanceof StoreError && err.code === "Conflict" && attempt < MAX_RETRIES) continue;
        throw toApiError(err, info, name);
      }
    }
  }

  private prepareUpdate(
    ctx: RequestContext,
    info: ResourceInfo,
    old: KObject,
    input: KObject,
    subresource?: "status",
  ): KObject {
    let next: KObject = structuredClone(input);
    next.apiVersion = groupVersion(info);
    next.kind = info.kind;
    const hasStatus = info.subresources.includes("status");
    if (subresource === "status") {
      // A status write changes status only (and nothing the owner of the spec set).
      next = { ...structuredClone(old), status: next.status };
    } else if (hasStatus) {
      next.status = structuredClone(old.status);
      if (next.status === undefined) delete next.status;
    }
    const om = old.metadata!;
    const meta = (next.metadata ??= {});
    meta.name = om.name;
    if (info.namespaced) meta.namespace = om.namespace;
    meta.uid = om.uid;
    meta.creationTimestamp = om.creationTimestamp;
    if (om.deletionTimestamp) {
      meta.deletionTimestamp = om.deletionTimestamp;
      if (om.deletionGracePeriodSeconds !== undefined)
        meta.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    if (subresource === "status") meta.generation = om.generation;
    else if (tracksGeneration(info)) {
      meta.generation = om.generation ?? 1;
      if (
        !jsonEqual(old.spec, next.spec) ||
        (info.plural === "daemonsets" && !jsonEqual(old.spec?.template, next.spec?.template))
      )
        meta.generation = (om.generation ?? 1) + 1;
    } else delete meta.generation;
    if (om.deletionTimestamp && (meta.finalizers?.length ?? 0) > (om.finalizers?.length ?? 0)) {
      const added = (meta.finalizers ?? []).filter((f) => !(om.finalizers ?? []).includes(f));
      if (added.length)
        throw errors.invalid(info, om.name!, [
          {
            reason: "FieldValueForbidden",
            field: "metadata.finalizers",
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f) => JSON.stringify(f)).join(", ")}}`,
          },
        ]);
    }
    delete meta.resourceVersion;
    if (subresource !== "status") this.hooks[info.plural]?.beforeUpdate?.(ctx, info, old, next);
    this.admit(ctx, info, next, "update", old, subresource);
    if (ctx.fieldManager) this.admission.trackManagedFields?.(info, old, next, ctx.fieldManager, subresource);
    return next;
  }

  private async commitUpdate(
    ctx: RequestContext,
    info: ResourceInfo,
    kv: KeyValue,
    old: KObject,
    next: KObject,
  ): Promise<KObject> {
    const name = old.metadata!.name!;
    // An object being deleted goes once its last finalizer is removed.
    if (
      next.metadata?.deletionTimestamp &&
      !next.metadata.finalizers?.length &&
      !isPendingPodStop(info, next) &&
      !namespaceHeld(info, next)
    ) {
      if (ctx.dryRun) return withTypeMeta(info, next);
      try {
        const gone = await this.store.delete(kv.key, kv.modRevision);
        this.hooks[info.plural]?.afterDelete?.(old);
        return withTypeMeta(info, decodeObject(gone, true));
      } catch (err) {
        throw toApiError(err, info, name);
      }
    }
    const unchanged = jsonEqual(stripVolatile(old), stripVolatile(next));
    if (unchanged || ctx.dryRun) {
      // Kubernetes does not write (or bump resourceVersion) for a no-op update.
      return withTypeMeta(
        info,
        unchanged
          ? structuredClone(old)
          : { ...next, metadata: { ...next.metadata, resourceVersion: old.metadata!.resourceVersion } },
      );
    }
    try {
      const out = await this.store.update(kv.key, encodeObject(next), kv.modRevision);
      return withTypeMeta(info, decodeObject(out, true));
    } catch (err) {
      throw toApiError(err, info, name);
    }
  }

  private admit(
    ctx: RequestContext,
    info: ResourceInfo,
    obj: KObject,
    operation: "create" | "update",
    old?: KObject,
    subresource?: "status",
  ): void {
    if (subresource !== "status") this.admission.applyDefaults(info, obj);
    const name = obj.metadata?.name ?? obj.metadata?.generateName ?? "";
    const res = this.admission.validate(info, obj, {
      operation,
      old,
      fieldValidation: ctx.fieldValidation ?? "Ignore",
      rawBody: ctx.rawBody,
      subresource,
    });
    ctx.warnings.push(...res.warnings);
    if (res.causes.length) throw errors.invalid(info, name, res.causes);
  }

  private async checkNamespaceOpen(namespace: string): Promise<void> {
    const kv = await this.store.get(`/registry/core/namespaces/${namespace}`);
    if (!kv) throw errors.notFound({ group: "", plural: "namespaces" }, namespace);
    const ns = decodeObject(kv);
    if (ns.metadata?.deletionTimestamp || ns.status?.phase === "Terminating")
      throw new ApiError(
        403,
        "Forbidden",
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          name: namespace,
          kind: "namespaces",
          causes: [
            {
              reason: "NamespaceTerminating",
              message: `namespace ${namespace} is being terminated`,
              field: "metadata.namespace",
            },
          ],
        },
      );
  }

  /**
   * DELETE. Objects with finalizers (or a Foreground/Orphan propagation, which adds
   * one for the garbage collector) and pods still running on a node get a
   * deletionTimestamp and stay; everything else goes at once.
   */
  async delete(
    ctx: RequestContext,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts: DeleteOptions = {},
  ): Promise<DeleteResult> {
    const key = objectKey(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const kv = await this.store.get(key);
      if (!kv) throw errors.notFound(info, name);
      const obj = decodeObject(kv, true);
      const meta = obj.metadata!;
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== meta.uid)
        throw errors.conflict(
          info,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`,
        );
      if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion)
        throw errors.conflict(
          info,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`,
        );
      const finalizers = [...(meta.finalizers ?? [])];
      const policy = opts.propagationPolicy ?? (opts.orphanDependents ? "Orphan" : undefined);
      if (policy === "Foreground" && !finalizers.includes("foregroundDeletion"))
        finalizers.push("foregroundDeletion");
      if (policy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
      if (policy && policy !== "Orphan") {
        const i = finalizers.indexOf("orphan");
        if (i >= 0 && !meta.deletionTimestamp) finalizers.splice(i, 1);
      }
      let grace = 0;
      if (info.plural === "pods") grace = podGracePeriod(obj, opts.gracePeriodSeconds);
      const holdsForNamespace =
        info.plural === "namespaces" && ((obj.spec?.finalizers ?? []) as string[]).length > 0;
      if (finalizers.length === 0 && grace === 0 && !holdsForNamespace) {
        if (ctx.dryRun) return { object: withTypeMeta(info, obj), deleted: true };
        try {
          const gone = await this.store.delete(key, kv.modRevision);
          this.hooks[info.plural]?.afterDelete?.(obj);
          return { object: withTypeMeta(info, decodeObject(gone, true)), deleted: true };
        } catch (err) {
          if (err instanceof StoreError && err.code === "Conflict" && attempt < MAX_RETRIES) continue;
          throw toApiError(err, info, name);
        }
      }
      // Graceful: mark it. A later delete may shorten a pod's grace period, never extend it.
      const now = Date.now();
      if (!meta.deletionTimestamp) {
        meta.deletionTimestamp = nowTimestamp(new Date(now + grace * 1000));
        meta.deletionGracePeriodSeconds = grace;
      } else if (grace < (meta.deletionGracePeriodSeconds ?? 0)) {
        meta.deletionTimestamp = nowTimestamp(new Date(now + grace * 1000));
        meta.deletionGracePeriodSeconds = grace;
      }
      if (finalizers.length) meta.finalizers = finalizers;
      if (info.plural === "namespaces") obj.status = { ...(obj.status ?? {}), phase: "Terminating" };
      delete meta.resourceVersion;
      if (ctx.dryRun) return { object: withTypeMeta(info, obj), deleted: false };
      try {
        const out = await this.store.update(key, encodeObject(obj), kv.modRevision);
        return { object: withTypeMeta(info, decodeObject(out, true)), deleted: false };
      } catch (err) {
        if (err instanceof StoreError && err.code === "Conflict" && attempt < MAX_RETRIES) continue;
        throw toApiError(err, info, name);
      }
    }
  }

  async deleteCollection(
    ctx: RequestContext,
    info: ResourceInfo,
    namespace: string | undefined,
    filter: ListFilter,
    opts: DeleteOptions,
  ): Promise<KObject[]> {
    const { items } = await this.list(info, namespace, filter);
    const out: KObject[] = [];
    for (const item of items) {
      try {
        out.push((await this.delete(ctx, info, item.metadata?.namespace, item.metadata!.name!, opts)).object);
      } catch (err) {
        if (!(err instanceof ApiError && err.reason === "NotFound")) throw err;
      }
    }
    return out;
  }

  /**
   * Streams changes as watch events, with Kubernetes' selector semantics: an object
   * that stops matching is sent as DELETED, one that starts matching as ADDED.
   */
  async watch(
    info: ResourceInfo,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (ev: ObjectWatchEvent) => void,
  ): Promise<{ cancel(): void; revision: number }> {
    const prefix = collectionPrefix(info, namespace);
    let from: number;
    if (opts.initialEvents) {
      const { items, resourceVersion } = await this.list(info, namespace, {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      });
      for (const object of items) onEvent({ type: "ADDED", object });
      from = Number(resourceVersion);
    } else {
      from = parseResourceVersion(opts.resourceVersion ?? "0");
      // "0" means "from now" to Kubernetes, not "from the beginning of history".
      if (from === 0) from = this.store.revision;
    }
    const match = compileFilter(info, opts);
    const matches = (o: KObject) => !match || match(o);
    let watcher: Watcher;
    try {
      watcher = this.store.watch(prefix, from, (events: StoreWatchEvent[]) => {
        for (const ev of events) {
          if (ev.type === "put") {
            const cur = decodeObject(ev.kv);
            const prev = ev.prev ? decodeObject(ev.prev) : undefined;
            const curOk = matches(cur);
            const prevOk = prev ? matches(prev) : false;
            if (curOk)
              onEvent({ type: prev && prevOk ? "MODIFIED" : "ADDED", object: withTypeMeta(info, cur) });
            else if (prevOk) onEvent({ type: "DELETED", object: withTypeMeta(info, cur) });
          } else {
            const prev = decodeObject(ev.prev);
            if (!matches(prev)) continue;
            // The DELETED object carries the deletion's revision, as Kubernetes does.
            const object = {
              ...withTypeMeta(info, prev),
              metadata: { ...prev.metadata, resourceVersion: String(ev.revision) },
            };
            onEvent({ type: "DELETED", object });
          }
        }
      });
    } catch (err) {
      if (err instanceof StoreError && err.code === "TooOld")
        throw errors.gone(`too old resource version: ${from} (${this.store.oldestRevision})`);
      throw err;
    }
    return { cancel: () => watcher.cancel(), revision: from };
  }
}

/** The pod's QoS class, as Kubernetes computes it from requests and limits. */
export function qosClass(pod: KObject): "Guaranteed" | "Burstable" | "BestEffort" {
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ["cpu", "memory"]) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      const l = lim[r];
      const q = req[r] ?? l;
      if (l === undefined || String(q) !== String(l)) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

function namespaceHeld(info: ResourceInfo, obj: KObject): boolean {
  return info.plural === "namespaces" && (obj.spec?.finalizers?.length ?? 0) > 0;
}

function isPendingPodStop(info: ResourceInfo, obj: KObject): boolean {
  return info.plural === "pods" && (obj.metadata?.deletionGracePeriodSeconds ?? 0) > 0;
}

function podGracePeriod(pod: KObject, requested?: number): number {
  // Pods that never reached a node, and pods that already finished, have nothing to stop.
  if (!pod.spec?.nodeName) return 0;
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return 0;
  const g = requested ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  return Math.max(0, g);
}

function stripVolatile(o: KObject): KObject {
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = o.metadata ?? {};
  return { ...o, metadata: meta };
}

function requiredName(): StatusCause {
  return {
    reason: "FieldValueRequired",
    message: "Required value: name or generateName is required",
    field: "metadata.name",
  };
}

export function withTypeMeta(info: ResourceInfo, obj: KObject): KObject {
  if (obj.apiVersion === groupVersion(info) && obj.kind === info.kind) return obj;
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return { apiVersion: groupVersion(info), kind: info.kind, ...rest };
}

export function parseResourceVersion(rv: string, info?: ResourceInfo, name?: string): number {
  const n = Number(rv);
  if (!/^\d+$/.test(rv) || !Number.isSafeInteger(n)) {
    if (info)
      throw errors.invalid(info, name ?? "", [
        {
          reason: "FieldValueInvalid",
          field: "metadata.resourceVersion",
          message: `Invalid value: ${JSON.stringify(rv)}: must be a decimal number`,
        },
      ]);
    throw errors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
  }
  return n;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv, start })).toString("base64url");
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const t = JSON.parse(Buffer.from(token, "base64url").toString());
    if (t.v === "meta.k8s.io/v1" && Number.isSafeInteger(t.rv) && typeof t.start === "string") return t;
  } catch {}
  throw errors.badRequest(
    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
  );
}
