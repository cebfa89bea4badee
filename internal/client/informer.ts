// A list-watch cache of one resource: lists, then watches from the list's revision,
// relists when the watch's history is gone, and tells handlers what changed. A
// missed event is harmless to level-triggered users: the cache converges.
import type { ResourceInfo } from "../api/resources";
import type { Client, ClientError, KObject, WatchEvent, WatchHandle } from "./types";

export interface InformerHandlers {
  add?(obj: KObject): void;
  update?(oldObj: KObject, obj: KObject): void;
  delete?(obj: KObject): void;
}

export function keyOf(obj: KObject): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name}` : m.name;
}

export class Informer {
  private readonly cache = new Map<string, KObject>();
  private readonly handlers: InformerHandlers[] = [];
  private watch?: WatchHandle;
  private stopped = false;
  private synced = false;
  private syncWaiters: Array<() => void> = [];
  private retryTimer?: NodeJS.Timeout;

  constructor(
    private readonly client: Client,
    readonly info: ResourceInfo,
    private readonly opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
    private readonly log: (msg: string) => void = () => {},
  ) {}

  on(h: InformerHandlers): void {
    this.handlers.push(h);
    if (this.synced) for (const o of this.cache.values()) h.add?.(o);
  }

  /** Read-only: callers must copy before changing. */
  get(key: string): KObject | undefined {
    return this.cache.get(key);
  }

  list(): KObject[] {
    return [...this.cache.values()];
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  start(): void {
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    this.watch?.cancel();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const { namespace, labelSelector, fieldSelector } = this.opts;
      const res = await this.client.list(this.info, namespace, { labelSelector, fieldSelector });
      const seen = new Set<string>();
      for (const obj of res.items) {
        const k = keyOf(obj);
        seen.add(k);
        this.apply({ type: this.cache.has(k) ? "MODIFIED" : "ADDED", object: obj });
      }
      for (const [k, obj] of [...this.cache]) if (!seen.has(k)) this.apply({ type: "DELETED", object: obj });
      if (!this.synced) {
        this.synced = true;
        for (const w of this.syncWaiters.splice(0)) w();
      }
      if (this.stopped) return;
      this.watch = await this.client.watch(
        this.info,
        namespace,
        { resourceVersion: res.resourceVersion, labelSelector, fieldSelector },
        (ev) => this.apply(ev),
        (err: ClientError) => this.restart(err),
      );
      if (this.stopped) this.watch.cancel();
    } catch (err) {
      this.restart(err as ClientError);
    }
  }

  private restart(err: ClientError): void {
    if (this.stopped) return;
    if (err.reason !== "Expired") this.log(`informer ${this.info.plural}: ${err.message}; relisting`);
    this.watch?.cancel();
    this.retryTimer = setTimeout(() => void this.relist(), err.reason === "Expired" ? 0 : 1000);
  }

  private apply(ev: WatchEvent): void {
    const k = keyOf(ev.object);
    const old = this.cache.get(k);
    if (ev.type === "DELETED") {
      if (!old) return;
      this.cache.delete(k);
      for (const h of this.handlers) h.delete?.(ev.object);
      return;
    }
    if (old && old.metadata?.resourceVersion === ev.object.metadata?.resourceVersion) return;
    this.cache.set(k, ev.object);
    for (const h of this.handlers) old ? h.update?.(old, ev.object) : h.add?.(ev.object);
  }
}
