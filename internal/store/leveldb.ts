// The LevelDB implementation of Store.
//
// Writes: one ordered writer. Operations queue up; the writer takes everything queued,
// checks each operation in order against the current state (plus the earlier
// operations of the same batch), gives each success the next revision, and commits the
// object records, their change-log entries and the revision counter as one LevelDB
// batch with sync: true. Everything that queues while that fsync is in flight goes into
// the next batch (group commit). Promises settle only once their batch is durable;
// failed checks settle then too, since they may depend on earlier writes of the batch.
//
// History: the change log on disk holds the last `historyWindow` revisions (plus, for
// one batch, the ones that just left it: deletes lag a batch so that a reader that took
// a snapshot during a write still finds every change of the window). compact(rev) drops
// earlier. So the log never grows beyond the window, and at open the window is
// reloaded from it: watches resume across restarts.
//
// Consistent paging: a list reads a LevelDB snapshot taken between two batches, so it
// sees exactly revision S. A list at an older revision R (a continuation) reads that
// snapshot and undoes the changes of (R, S] with the window, whose events carry the
// previous values. So any R still in history (R >= oldestRevision) is served exactly;
// an older R gets TooOld, as a compacted revision does in etcd.
import { mkdirSync } from "node:fs";
import { Level } from "level";
import {
  decodeChange,
  decodeObject,
  encodeNumber,
  eventKeyOf,
  headKey,
  META_COMPACTED,
  META_REVISION,
  objectKey,
} from "./codec";
import { type DB, dropLogBefore, readObjects, readState, type Snapshot } from "./disk";
import { type Change, eventKey, History, type PastState } from "./history";
import { KeyIndex } from "./keyindex";
import { type BatchOp, planBatch, type WriteOp } from "./plan";
import {
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreConfig,
  StoreError,
  type StoreStats,
  type WatchEvent,
  type Watcher,
} from "./types";
import { StoreWatcher } from "./watcher";

interface Pending {
  op: WriteOp;
  resolve: (kv: KeyValue | undefined) => void;
  reject: (err: Error) => void;
}

const DEFAULT_WINDOW = 10_000;
const DEFAULT_CACHE_BYTES = 4 << 20;
/** Upper bound of operations in one batch, to bound the memory of a burst. */
const MAX_BATCH = 4096;

export async function openLevelStore(config: StoreConfig): Promise<Store> {
  const window = config.historyWindow ?? DEFAULT_WINDOW;
  if (!Number.isInteger(window) || window < 1) {
    throw new Error(`store: historyWindow must be a positive integer, got ${config.historyWindow}`);
  }
  const cacheBytes = config.historyCacheBytes ?? DEFAULT_CACHE_BYTES;
  if (!Number.isInteger(cacheBytes) || cacheBytes < 0) {
    throw new Error(
      `store: historyCacheBytes must be a non-negative integer, got ${config.historyCacheBytes}`,
    );
  }
  mkdirSync(config.path, { recursive: true });
  // No Snappy: a list of 10,000 pods walks every block of them, and decompressing them
  // took it from ~30 ms to 45-100 ms here; the disk space is cheap.
  const db: DB = new Level<Buffer, Buffer>(config.path, {
    keyEncoding: "buffer",
    valueEncoding: "buffer",
    compression: false,
  });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    throw new Error(`opening store at ${config.path}: ${cause?.message ?? (err as Error).message}`, {
      cause: err,
    });
  }
  try {
    const store = new LevelStore(db, window, cacheBytes);
    await store.load();
    return store;
  } catch (err) {
    await db.close();
    throw new Error(`loading store at ${config.path}: ${(err as Error).message}`, { cause: err });
  }
}

class LevelStore implements Store {
  private rev = 0;
  private readonly index = new KeyIndex();
  private history: History;
  /** Log entries that left the window in the last batch, deleted by the next (see the top). */
  private toDrop: Buffer[] = [];
  private readonly watchers = new Set<StoreWatcher>();
  private queue: Pending[] = [];
  private writing = false;
  /** True from the moment a batch is handed to LevelDB until its state is applied. */
  private inFlight = false;
  private snapshotWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private closed = false;
  private readonly counters = { writes: 0, batches: 0, largestBatch: 0 };

  constructor(
    private readonly db: DB,
    private readonly window: number,
    private readonly cacheBytes: number,
  ) {
    this.history = new History(1, cacheBytes);
  }

  get revision(): number {
    return this.rev;
  }

  get oldestRevision(): number {
    return this.history.start;
  }

  /** Rebuilds the revision, the key index and the history window from disk. */
  async load(): Promise<void> {
    const { revision, keys, heads } = await readState(this.db, this.window);
    for (const key of keys) this.index.appendSorted(key);
    this.rev = revision;
    const start = heads.length > 0 ? heads[0].revision : revision + 1;
    this.history = new History(start, this.cacheBytes);
    for (const head of heads) this.history.push(head);
    // Entries before the window: a smaller window than last time, an interrupted compaction.
    await dropLogBefore(this.db, start);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    this.checkOpen();
    const mod = this.index.modRevision(key);
    if (mod === undefined && !this.inFlight) return undefined;
    const ev = mod ? this.history.event(mod) : undefined;
    if (ev?.type === "put" && ev.kv.key === key) return ev.kv;
    try {
      const buf = await this.db.get(objectKey(key));
      return buf === undefined ? undefined : decodeObject(key, buf);
    } catch (err) {
      throw this.readError(err);
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    if (typeof prefix !== "string") throw new TypeError("store list: prefix must be a string");
    this.checkOpen();
    const limit = opts.limit ?? 0;
    if (!Number.isInteger(limit) || limit < 0) throw new TypeError(`store list: bad limit ${opts.limit}`);
    const at = opts.revision;
    this.checkRevision(at, prefix);

    const snapshot = await this.snapshot();
    try {
      const snapRev = this.rev;
      const revision = at === undefined || at > snapRev ? snapRev : at;
      this.checkRevision(revision, prefix);
      const undo = await this.pastStates(revision, snapRev, prefix, opts.after, snapshot);
      const kvs = await readObjects(this.db, snapshot, prefix, opts.after, limit, undo);
      const result: ListResult = { kvs, revision };
      if (limit > 0 && kvs.length === limit) {
        const last = kvs[kvs.length - 1].key;
        const remaining = this.countAt(revision, prefix, last);
        if (remaining > 0) {
          result.nextKey = last;
          result.remaining = remaining;
        }
      }
      return result;
    } catch (err) {
      throw this.readError(err);
    } finally {
      await snapshot.close();
    }
  }

  async create(key: string, value: Uint8Array): Promise<KeyValue> {
    checkKey(key);
    checkValue(value);
    return (await this.enqueue({ kind: "create", key, value }))!;
  }

  async update(key: string, value: Uint8Array, expectedModRevision?: number): Promise<KeyValue> {
    checkKey(key);
    checkValue(value);
    checkExpected(expectedModRevision);
    return (await this.enqueue({ kind: "update", key, value, expected: expectedModRevision }))!;
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    checkKey(key);
    checkExpected(expectedModRevision);
    return (await this.enqueue({ kind: "delete", key, expected: expectedModRevision }))!;
  }

  watch(
    prefix: string,
    fromRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Watcher {
    if (typeof prefix !== "string") throw new TypeError("store watch: prefix must be a string");
    if (!Number.isInteger(fromRevision) || fromRevision < 0) {
      throw new TypeError(`store watch: bad fromRevision ${fromRevision}`);
    }
    this.checkOpen();
    if (fromRevision < this.history.start - 1) {
      throw new StoreError(
        "TooOld",
        `watch of "${prefix}" from revision ${fromRevision}: history starts at ${this.history.start}`,
      );
    }
    const w = new StoreWatcher(prefix, fromRevision, onEvents, (x) => this.watchers.delete(x));
    this.watchers.add(w);
    const { cold, hot } = this.history.since(fromRevision, prefix);
    if (cold.length === 0) {
      w.enqueue(hot);
      w.skipTo(this.rev);
      return w;
    }
    // Older events come from the log. Deletes lag a batch, so every entry of the window
    // is in a snapshot taken now, even during a write.
    w.hold(this.rev);
    const snapshot = this.db.snapshot();
    this.db
      .getMany(
        cold.map((c) => eventKeyOf(c.revision)),
        { snapshot },
      )
      .then((bufs) =>
        bufs.map((buf, i) => {
          if (!buf) throw new Error(`store: change-log entry ${cold[i].revision} is missing`);
          return decodeChange(cold[i].revision, buf);
        }),
      )
      .then(
        (replay) => w.release(replay.concat(hot)),
        (err) => {
          if (w.cancelled) return; // cancelled, or the store closed: nobody is waiting
          w.cancel();
          const e = this.readError(err);
          if (onError) onError(e);
          else process.emitWarning(`store watch of "${prefix}" ended: ${e.message}`);
        },
      )
      .finally(() => snapshot.close());
    return w;
  }

  async compact(revision: number): Promise<void> {
    if (!Number.isInteger(revision) || revision < 0)
      throw new TypeError(`store compact: bad revision ${revision}`);
    await this.enqueue({ kind: "compact", revision });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watchers]) w.cancel();
    if (this.writing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.db.close();
  }

  stats(): StoreStats {
    return {
      revision: this.rev,
      oldestRevision: this.history.start,
      keys: this.index.size,
      historyEvents: this.history.length,
      historyCachedBytes: this.history.cachedBytes,
      watchers: this.watchers.size,
      ...this.counters,
    };
  }

  // --- writer ---

  private enqueue(op: WriteOp): Promise<KeyValue | undefined> {
    if (this.closed) {
      const what = op.kind === "compact" ? `compact to ${op.revision}` : `${op.kind} ${op.key}`;
      return Promise.reject(new StoreError("Closed", `${what}: store is closed`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ op, resolve, reject });
      if (!this.writing) {
        this.writing = true;
        void this.runWriter();
      }
    });
  }

  private async runWriter(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.length <= MAX_BATCH ? this.queue : this.queue.slice(0, MAX_BATCH);
        this.queue = this.queue.length <= MAX_BATCH ? [] : this.queue.slice(MAX_BATCH);
        try {
          await this.commit(batch);
        } catch (err) {
          // A bug or a corrupt database: fail the operations rather than leave them hanging.
          for (const p of batch) p.reject(err as Error);
        }
        // One turn of the event loop before the next batch: writers just acknowledged
        // issue their next write through a few promise hops, and would otherwise miss it
        // (with 16 writers, batches of 8 alternating instead of 16 together).
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      this.writing = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** Current key-values of the keys a batch touches: from the events in memory, else LevelDB. */
  private async currentState(batch: Pending[]): Promise<Map<string, KeyValue | null>> {
    const state = new Map<string, KeyValue | null>();
    const toRead: string[] = [];
    for (const { op } of batch) {
      if (op.kind === "compact" || state.has(op.key)) continue;
      const mod = this.index.modRevision(op.key);
      const ev = mod ? this.history.event(mod) : undefined;
      if (mod === undefined) state.set(op.key, null);
      else if (ev?.type === "put" && ev.kv.key === op.key) state.set(op.key, ev.kv);
      else {
        state.set(op.key, null);
        toRead.push(op.key);
      }
    }
    if (toRead.length === 0) return state;
    const bufs = await this.db.getMany(toRead.map(objectKey));
    toRead.forEach((key, i) => {
      const buf = bufs[i];
      if (buf === undefined) throw new Error(`store: the index has ${key} but LevelDB does not`);
      state.set(key, decodeObject(key, buf));
    });
    return state;
  }

  private async commit(batch: Pending[]): Promise<void> {
    let state: Map<string, KeyValue | null>;
    try {
      state = await this.currentState(batch);
    } catch (err) {
      for (const p of batch) p.reject(this.readError(err));
      return;
    }
    const plan = planBatch(
      batch.map((p) => p.op),
      state,
      this.rev,
    );
    const { ops, events, revision } = plan;

    // History kept after this batch: the last `window` revisions, none before a compaction.
    const newStart = Math.max(this.history.start, revision - this.window + 1, plan.compactTo);
    if (events.length > 0 || newStart > this.history.start) {
      ops.push({ type: "put", key: META_REVISION, value: encodeNumber(revision) });
      if (plan.compactTo > 0) ops.push({ type: "put", key: META_COMPACTED, value: encodeNumber(newStart) });
      for (const key of this.toDrop) ops.push({ type: "del", key });
      try {
        this.inFlight = true;
        await this.db.batch(ops as BatchOp[], { sync: true });
      } catch (err) {
        this.inFlight = false;
        this.serveSnapshots();
        const e = new Error(`store write failed: ${(err as Error).message}`, { cause: err });
        for (const p of batch) p.reject(e);
        return;
      }
      this.counters.batches++;
      this.counters.writes += events.length;
      this.counters.largestBatch = Math.max(this.counters.largestBatch, events.length);
      const dropped = this.apply(events, revision, newStart);
      this.inFlight = false;
      this.serveSnapshots();
      if (plan.compactTo > 0) {
        // After apply, so every reader either holds an older snapshot or needs nothing below
        // the new start. Entries below the recorded start are ignored at open: not atomic is fine.
        this.toDrop = [];
        await dropLogBefore(this.db, this.history.start).catch((err: Error) => {
          process.emitWarning(`store: dropping compacted change-log entries: ${err.message}`);
        });
      } else {
        this.toDrop = dropped.flatMap((c) => [headKey(c), eventKeyOf(c.revision)]);
      }
    }

    batch.forEach((p, i) => {
      const o = plan.outcomes[i];
      if (o.err) p.reject(o.err);
      else p.resolve(o.kv);
    });
    this.dispatch(events);
  }

  /** Makes a durable batch visible: index, revision, history. Returns the changes that left the window. */
  private apply(events: WatchEvent[], rev: number, newStart: number): Change[] {
    const set = new Map<string, number>();
    const removed = new Set<string>();
    for (const ev of events) {
      this.history.push(ev);
      if (ev.type === "put") {
        set.set(ev.kv.key, ev.kv.modRevision);
        removed.delete(ev.kv.key);
      } else {
        set.delete(ev.key);
        removed.add(ev.key);
      }
    }
    for (const key of removed) if (!this.index.has(key)) removed.delete(key);
    this.index.apply(set, removed);
    this.rev = rev;
    return this.history.dropBefore(newStart);
  }

  private dispatch(events: WatchEvent[]): void {
    if (events.length === 0) return;
    for (const w of this.watchers) {
      w.enqueue(w.prefix === "" ? events : events.filter((ev) => eventKey(ev).startsWith(w.prefix)));
    }
  }

  // --- reads ---

  /** A LevelDB snapshot that holds exactly revision this.rev (taken between batches). */
  private async snapshot(): Promise<Snapshot> {
    while (this.inFlight) await new Promise<void>((resolve) => this.snapshotWaiters.push(resolve));
    this.checkOpen();
    return this.db.snapshot();
  }

  private serveSnapshots(): void {
    for (const wake of this.snapshotWaiters.splice(0)) wake();
  }

  /**
   * The keys under `prefix` (after `after`) changed in (revision, upTo], sorted, each
   * with its key-value as of `revision` (null if it did not exist then). Values no
   * longer in memory are read from the log entries of the changes that replaced them.
   */
  private async pastStates(
    revision: number,
    upTo: number,
    prefix: string,
    after: string | undefined,
    snapshot: Snapshot,
  ): Promise<Array<[string, KeyValue | null]>> {
    if (revision >= upTo) return [];
    const states: Array<[string, PastState]> = [];
    for (const entry of this.history.stateAt(revision, upTo, prefix)) {
      if (after === undefined || entry[0] > after) states.push(entry);
    }
    states.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const missing = states.filter(([, s]) => s.existed && !s.kv);
    if (missing.length > 0) {
      const bufs = await this.db.getMany(
        missing.map(([, s]) => eventKeyOf(s.changedAt.revision)),
        { snapshot },
      );
      missing.forEach(([key, s], i) => {
        const buf = bufs[i];
        if (!buf) throw new Error(`store: change-log entry ${s.changedAt.revision} of ${key} is missing`);
        s.kv = decodeChange(s.changedAt.revision, buf).prev;
      });
    }
    return states.map(([key, s]) => [key, s.existed ? s.kv! : null]);
  }

  /** Keys under `prefix` after `after` as of `revision`: the index now, minus the changes since. */
  private countAt(revision: number, prefix: string, after: string): number {
    let n = this.index.countAfter(prefix, after);
    for (const [key, then] of this.history.stateAt(revision, this.rev, prefix)) {
      if (key <= after) continue;
      n += (then.existed ? 1 : 0) - (this.index.has(key) ? 1 : 0);
    }
    return n;
  }

  private checkRevision(revision: number | undefined, prefix: string): void {
    if (revision === undefined) return;
    if (!Number.isInteger(revision) || revision < 0)
      throw new TypeError(`store list: bad revision ${revision}`);
    // As in etcd, a compacted revision is gone even where the window could still rebuild it.
    if (revision < this.history.start && revision !== this.rev) {
      throw new StoreError(
        "TooOld",
        `list of "${prefix}" at revision ${revision}: history starts at ${this.history.start}`,
      );
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError("Closed", "store is closed");
  }

  private readError(err: unknown): Error {
    if (err instanceof StoreError) return err;
    const code = (err as { code?: string }).code;
    if (this.closed || code === "LEVEL_DATABASE_NOT_OPEN" || code === "LEVEL_ITERATOR_NOT_OPEN") {
      return new StoreError("Closed", "store is closed");
    }
    return err as Error;
  }
}

function checkKey(key: string): void {
  if (typeof key !== "string" || key === "") throw new TypeError("store: key must be a non-empty string");
}

function checkExpected(rev: number | undefined): void {
  if (rev !== undefined && (!Number.isInteger(rev) || rev < 0)) {
    throw new TypeError(`store: expectedModRevision must be a non-negative integer, got ${rev}`);
  }
}

function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new TypeError("store: value must be a Uint8Array");
}
