// The store's contract. It holds opaque bytes by key with MVCC revisions; it knows
// nothing of HTTP or Kubernetes objects. The API server is its only user.

export interface KeyValue {
  key: string;
  value: Uint8Array;
  /** Revision of the write that created the key (constant until it is deleted). */
  createRevision: number;
  /** Revision of the last write to the key; the object's resourceVersion. */
  modRevision: number;
}

export type WatchEvent =
  | { type: "put"; revision: number; kv: KeyValue; prev?: KeyValue }
  | { type: "delete"; revision: number; key: string; prev: KeyValue };

export interface ListOptions {
  /** At most this many items; 0 or absent means all. */
  limit?: number;
  /** Continue after this key (exclusive), as returned in `ListResult.nextKey`. */
  after?: string;
  /** Read as of this revision (for consistent paging); absent means the latest. */
  revision?: number;
}

export interface ListResult {
  kvs: KeyValue[];
  /** The revision the list reflects. */
  revision: number;
  /** Set when more keys follow: pass it as `after` (with `revision`) for the next page. */
  nextKey?: string;
  /** Number of keys after this page, when more follow (Kubernetes' remainingItemCount). */
  remaining?: number;
}

export interface Watcher {
  cancel(): void;
}

export interface Store {
  /** Latest durable revision. */
  readonly revision: number;
  /** Oldest revision a watch may start from (older gets TooOld). */
  readonly oldestRevision: number;
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Fails with AlreadyExists if the key exists. */
  create(key: string, value: Uint8Array): Promise<KeyValue>;
  /** Compare-and-swap: with `expectedModRevision`, fails with Conflict unless it matches. NotFound if absent. */
  update(key: string, value: Uint8Array, expectedModRevision?: number): Promise<KeyValue>;
  /** Returns the deleted key-value. NotFound if absent; Conflict on a stale expectedModRevision. */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Delivers, in revision order, every change under `prefix` with revision > fromRevision,
   * then live changes as they become durable. Throws StoreError TooOld when
   * fromRevision < oldestRevision - 1 (the history is gone; the caller must relist).
   */
  watch(
    prefix: string,
    fromRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    /** Called, after which no more events come, if replaying history fails (e.g. the store closed meanwhile). */
    onError?: (err: Error) => void,
  ): Watcher;
  /** Drops history older than `revision` (watch and paging before it become TooOld). */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
  /** Counters for tests, benches and metrics (optional: not every backend has them). */
  stats?(): StoreStats;
}

export interface StoreStats {
  revision: number;
  oldestRevision: number;
  /** Live keys. */
  keys: number;
  /** Changes in the history window. */
  historyEvents: number;
  /** Bytes of values of the window's changes held in memory. */
  historyCachedBytes: number;
  watchers: number;
  /** Successful writes since open. */
  writes: number;
  /** Durable (fsynced) batches since open; fewer than `writes` when group commit shares fsyncs. */
  batches: number;
  /** Most writes committed by one batch. */
  largestBatch: number;
}

export type StoreErrorCode = "NotFound" | "AlreadyExists" | "Conflict" | "TooOld" | "Closed";

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** For Conflict and AlreadyExists: the current key-value. For TooOld: nothing. */
    readonly current?: KeyValue,
  ) {
    super(message);
    this.name = "StoreError";
  }
}

export interface StoreConfig {
  backend: "leveldb";
  /** LevelDB directory, e.g. <data-dir>/server/db */
  path: string;
  /** How many recent changes are kept for watches and paging (default 10000). */
  historyWindow?: number;
  /**
   * Bytes of values of the newest changes kept in memory (default 4 MiB); older changes
   * of the window are read back from disk when a watch replays them.
   */
  historyCacheBytes?: number;
}
