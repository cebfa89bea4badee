// Garbage collector: objects whose owners (metadata.ownerReferences) are gone are
// deleted; an owner deleted in the foreground waits for its dependents; an owner
// deleted with propagation Orphan lets its dependents go free.
import { findKind, RESOURCES, type ResourceInfo } from "../../api/resources";
import { type Client, Informer, isReason, type KObject, keyOf, runWorkers, WorkQueue } from "../../client";

interface Ref {
  info: ResourceInfo;
  namespace?: string;
  name: string;
  uid: string;
}

/** Resources that take part in ownership. Events are excluded: nothing owns them. */
const TRACKED = RESOURCES.filter((r) => r.verbs.includes("delete") && r.plural !== "events");

export class GarbageCollector {
  private readonly informers = new Map<ResourceInfo, Informer>();
  private readonly dependents = new Map<string, Map<string, Ref>>();
  private readonly byUid = new Map<string, Ref>();
  private readonly queue = new WorkQueue(50, 10_000);

  constructor(
    private readonly client: Client,
    private readonly log: (msg: string) => void,
  ) {
    for (const info of TRACKED) {
      const inf = new Informer(client, info, {}, log);
      inf.on({
        add: (o) => this.observe(info, o),
        update: (old, o) => this.observe(info, o, old),
        delete: (o) => this.forget(info, o),
      });
      this.informers.set(info, inf);
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    for (const inf of this.informers.values()) inf.start();
    signal.addEventListener("abort", () => {
      for (const inf of this.informers.values()) inf.stop();
      this.queue.shutdown();
    });
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
    // Dependents whose owners vanished while we were not watching.
    for (const ref of this.byUid.values()) this.queue.add(ref.uid);
    await runWorkers(this.queue, 2, (uid) => this.sync(uid), this.log);
  }

  private refOf(info: ResourceInfo, o: KObject): Ref {
    return { info, namespace: o.metadata?.namespace, name: o.metadata!.name, uid: o.metadata!.uid };
  }

  private observe(info: ResourceInfo, o: KObject, old?: KObject): void {
    const ref = this.refOf(info, o);
    this.byUid.set(ref.uid, ref);
    for (const r of old?.metadata?.ownerReferences ?? []) this.dependents.get(r.uid)?.delete(ref.uid);
    for (const r of o.metadata?.ownerReferences ?? []) {
      let deps = this.dependents.get(r.uid);
      if (!deps) this.dependents.set(r.uid, (deps = new Map()));
      deps.set(ref.uid, ref);
    }
    const fin: string[] = o.metadata?.finalizers ?? [];
    if (o.metadata?.deletionTimestamp && (fin.includes("foregroundDeletion") || fin.includes("orphan")))
      this.queue.add(ref.uid);
    if (o.metadata?.ownerReferences?.length) this.queue.add(ref.uid);
  }

  private forget(info: ResourceInfo, o: KObject): void {
    const uid = o.metadata!.uid;
    this.byUid.delete(uid);
    for (const r of o.metadata?.ownerReferences ?? []) {
      this.dependents.get(r.uid)?.delete(uid);
      // An owner waiting in the foreground may now be free.
      this.queue.add(r.uid);
    }
    for (const dep of this.dependents.get(uid)?.values() ?? []) this.queue.add(dep.uid);
    void info;
  }

  private current(ref: Ref): KObject | undefined {
    const o = this.informers.get(ref.info)?.get(ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name);
    return o?.metadata?.uid === ref.uid ? o : undefined;
  }

  /** Whether an owner reference points at an object that exists (unknown kinds count as existing). */
  private ownerExists(
    namespace: string | undefined,
    r: { apiVersion: string; kind: string; name: string; uid: string },
  ): boolean {
    const info = findKind(r.apiVersion, r.kind);
    if (!info || !this.informers.has(info)) return true;
    const o = this.informers.get(info)!.get(info.namespaced ? `${namespace}/${r.name}` : r.name);
    return o?.metadata?.uid === r.uid;
  }

  async sync(uid: string): Promise<void> {
    const ref = this.byUid.get(uid);
    if (!ref) return;
    const obj = this.current(ref);
    if (!obj) return;
    const fin: string[] = obj.metadata?.finalizers ?? [];
    if (obj.metadata?.deletionTimestamp && fin.includes("orphan")) return this.orphanDependents(ref, obj);
    if (obj.metadata?.deletionTimestamp && fin.includes("foregroundDeletion"))
      return this.deleteForeground(ref, obj);
    const owners = obj.metadata?.ownerReferences ?? [];
    if (!owners.length || obj.metadata?.deletionTimestamp) return;
    if (owners.some((r: any) => this.ownerExists(ref.namespace, r))) return;
    // Every owner is gone: the dependent goes too. Foreground when an owner asked to block on it.
    const policy = owners.some((r: any) => r.blockOwnerDeletion) ? "Foreground" : "Background";
    await this.deleteQuietly(ref, policy);
  }

  private async deleteQuietly(ref: Ref, policy: "Foreground" | "Background"): Promise<void> {
    try {
      await this.client.delete(ref.info, ref.namespace, ref.name, {
        propagationPolicy: policy,
        preconditions: { uid: ref.uid },
      });
    } catch (err) {
      if (!isReason(err, "NotFound") && !isReason(err, "Conflict")) throw err;
    }
  }

  private async deleteForeground(ref: Ref, obj: KObject): Promise<void> {
    const deps = [...(this.dependents.get(ref.uid)?.values() ?? [])].filter((d) => this.current(d));
    for (const d of deps) {
      const dep = this.current(d)!;
      if (!dep.metadata?.deletionTimestamp) await this.deleteQuietly(d, "Foreground");
    }
    if (deps.length) return; // forget() re-queues this owner as each dependent goes
    await this.removeFinalizer(ref, obj, "foregroundDeletion");
  }

  private async orphanDependents(ref: Ref, obj: KObject): Promise<void> {
    for (const d of [...(this.dependents.get(ref.uid)?.values() ?? [])]) {
      const dep = this.current(d);
      if (!dep) continue;
      const owners = (dep.metadata?.ownerReferences ?? []).filter((r: any) => r.uid !== ref.uid);
      try {
        await this.client.patch(d.info, d.namespace, d.name, "merge", {
          metadata: {
            ownerReferences: owners.length ? owners : null,
            resourceVersion: dep.metadata!.resourceVersion,
          },
        });
      } catch (err) {
        if (isReason(err, "Conflict")) throw err; // retried with the fresh object
        if (!isReason(err, "NotFound")) throw err;
      }
    }
    await this.removeFinalizer(ref, obj, "orphan");
  }

  private async removeFinalizer(ref: Ref, obj: KObject, finalizer: string): Promise<void> {
    const finalizers = (obj.metadata?.finalizers ?? []).filter((f: string) => f !== finalizer);
    try {
      await this.client.patch(ref.info, ref.namespace, ref.name, "merge", {
        metadata: {
          finalizers: finalizers.length ? finalizers : null,
          resourceVersion: obj.metadata!.resourceVersion,
        },
      });
    } catch (err) {
      if (!isReason(err, "NotFound")) throw err;
    }
  }
}

export { keyOf };
