// The watch cache: every object's latest KeyValue, kept current by one store watch,
// so lists are served from memory (as kube-apiserver's cacher does) instead of
// iterating LevelDB and decoding every value again. Decoded objects and their JSON
// are memoised per KeyValue, so a list of unchanged objects is mostly concatenation.
import type { KeyValue, ListOptions, ListResult, Store, Watcher } from "../store/types";

const ROOT = "/registry/";
const LOAD_PAGE = 2000;

/** "/registry/core/pods/default/x" → "/registry/core/pods/" */
function resourceOf(key: string): string {
  let slashes = 0;
  for (let i = 0; i < key.length; i++) if (key[i] === "/" && ++slashes === 4) return key.slice(0, i + 1);
  return key;
}

export class ObjectCache {
  private readonly byResource = new Map<string, Map<string, KeyValue>>();
  private readonly sorted = new Map<string, string[]>();
  private waiters: Array<{ rev: number; resolve: () => void }> = [];
  private watcher?: Watcher;
  revision = 0;

  private constructor(private readonly store: Store) {}

  static async start(store: Store): Promise<ObjectCache> {
    const cache = new ObjectCache(store);
    let after: string | undefined;
    let revision: number | undefined;
    for (;;) {
      const page = await store.list(ROOT, { limit: LOAD_PAGE, after, revision });
      revision ??= page.revision;
      for (const kv of page.kvs) cache.put(kv);
      if (!page.nextKey) break;
      after = page.nextKey;
    }
    cache.revision = revision ?? store.revision;
    cache.watcher = store.watch(ROOT, cache.revision, (events) => {
      for (const ev of events) {
        if (ev.type === "put") cache.put(ev.kv);
        else cache.remove(ev.key);
        cache.revision = ev.revision;
      }
      cache.wake();
    });
    return cache;
  }

  stop(): void {
    this.watcher?.cancel();
  }

  private put(kv: KeyValue): void {
    const r = resourceOf(kv.key);
    let m = this.byResource.get(r);
    if (!m) this.byResource.set(r, (m = new Map()));
    if (!m.has(kv.key)) this.sorted.delete(r);
    m.set(kv.key, kv);
  }

  private remove(key: string): void {
    const r = resourceOf(key);
    if (this.byResource.get(r)?.delete(key)) this.sorted.delete(r);
  }

  private wake(): void {
    if (!this.waiters.length) return;
    const keep: typeof this.waiters = [];
    for (const w of this.waiters) (w.rev <= this.revision ? w.resolve : () => keep.push(w))();
    this.waiters = keep;
  }

  /** Resolves once the cache has seen every write the store has acknowledged. */
  private caughtUp(): Promise<void> {
    const rev = this.store.revision;
    if (this.revision >= rev) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ rev, resolve }));
  }

  private keysOf(resource: string): string[] {
    let keys = this.sorted.get(resource);
    if (!keys) {
      keys = [...(this.byResource.get(resource)?.keys() ?? [])].sort();
      this.sorted.set(resource, keys);
    }
    return keys;
  }

  /**
   * A list at the latest revision, from memory. A request for an older revision (the
   * continuation of a paged list made before later writes) goes to the store, which
   * keeps history for that.
   */
  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    if (opts.revision !== undefined && opts.revision !== this.revision) {
      await this.caughtUp();
      if (opts.revision !== this.revision) return this.store.list(prefix, opts);
    } else await this.caughtUp();
    const resource = resourceOf(prefix);
    const keys = this.keysOf(resource);
    const map = this.byResource.get(resource);
    const from = opts.after !== undefined && opts.after >= prefix ? opts.after : prefix;
    let i = lowerBound(keys, from);
    if (i < keys.length && keys[i] === opts.after) i++;
    const limit = opts.limit ?? 0;
    const kvs: KeyValue[] = [];
    for (; i < keys.length && keys[i].startsWith(prefix); i++) {
      if (limit > 0 && kvs.length === limit) break;
      kvs.push(map!.get(keys[i])!);
    }
    const result: ListResult = { kvs, revision: this.revision };
    if (limit > 0 && kvs.length === limit && i < keys.length && keys[i].startsWith(prefix)) {
      let rest = 0;
      for (let j = i; j < keys.length && keys[j].startsWith(prefix); j++) rest++;
      result.nextKey = kvs[kvs.length - 1].key;
      result.remaining = rest;
    }
    return result;
  }
}

function lowerBound(keys: string[], k: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < k) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
