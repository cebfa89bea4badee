// The LevelDB implementation of Store.
//
// Writes: one ordered writer. Operations queue up; the writer takes everything queued,
// checks each operation in order against the index (plus the earlier operations of
// the same batch), gives each success the next revision, and commits the object
// records, their change-log entries and the revision counter as one LevelDB batch with
// sync: true. Everything that queues while that fsync is in flight goes into the next
// batch (group commit). Promises settle only once their batch is durable; failed checks
// settle then too, since they may depend on earlier writes of the same batch.
//
// History: the change log on disk and the in-memory window hold the same last
// `historyWindow` revisions. Each batch deletes the log entries that fall out of the
// window, so the log never grows beyond it; compact(rev) drops earlier. At open the
// window is reloaded from the log, so watches resume across restarts.
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
  decodeNumber,
  decodeObject,
  encodeChange,
  encodeNumber,
  encodeObject,
  LOG_RANGE,
  logKey,
  logRevision,
  META_COMPACTED,
  META_REVISION,
  objectKey,
  objectRange,
  objectRevisions,
  userKey,
} from "./codec";
import { eventKey, History } from "./history";
import { KeyIndex, type KeyMeta } from "./keyindex";
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

type DB = Level<Buffer, Buffer>;

type BatchOp = { type: "put"; key: Buffer; value: Buffer } | { type: "del"; key: Buffer };

type WriteOp =
  | { kind: "create"; key: string; value: Uint8Array }
  | { kind: "update"; key: string; value: Uint8Array; expected?: number }
  | { kind: "delete"; key: string; expected?: number }
  | { kind: "compact"; revision: number };

interface Pending {
  op: WriteOp;
  resolve: (kv: KeyValue | undefined) => void;
  reject: (err: Error) => void;
}

const DEFAULT_WINDOW = 10_000;
/** Upper bound of operations in one batch, to bound the memory of a burst. */
const MAX_BATCH = 4096;

export async function openLevelStore(config: StoreConfig): Promise<Store> {
  const window = config.historyWindow ?? DEFAULT_WINDOW;
  if (!Number.isInteger(window) || window < 1) {
    throw new Error(`store: historyWindow must be a positive integer, got ${config.historyWindow}`);
  }
  mkdirSync(config.path, { recursive: true });
  const db: DB = new Level<Buffer, Buffer>(config.path, { keyEncoding: "buffer", valueEncoding: "buffer" });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: Error }).cause;
    throw new Error(`opening store at ${config.path}: ${cause?.message ?? (err as Error).message}`, {
      cause: err,
    });
  }
  try {
    const store = new LevelStore(db, window);
    await store.load();
    return store;
  } catch (err) {
    await db.close();
    throw new Error(`loading store at ${config.path}: ${(err as Error).message}`, { cause: err });
  }
}

class WatcherImpl implements Watcher {
  /** Highest revision handed to this watcher (queued or delivered). */
  sent: number;
  private queue: WatchEvent[] = [];
  private scheduled = false;
  cancelled = false;

  constructor(
    readonly prefix: string,
    sent: number,
    private readonly onEvents: (events: WatchEvent[]) => void,
    private readonly onCancel: (w: WatcherImpl) => void,
  ) {
    this.sent = sent;
  }

  /** Queues events and delivers them in a microtask, so replay and live stay in order. */
  enqueue(events: WatchEvent[]): void {
    if (this.cancelled) return;
    // Skips what was already handed over: a watch started between a batch's apply and its dispatch.
    const before = this.queue.length;
    for (const ev of events) if (ev.revision > this.sent) this.queue.push(ev);
    if (this.queue.length === before) return;
    this.sent = this.queue[this.queue.length - 1].revision;
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      const batch = this.queue;
      this.queue = [];
      if (this.cancelled || batch.length === 0) return;
      this.onEvents(batch);
    });
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.queue = [];
    this.onCancel(this);
  }
}

class LevelStore implements Store {
  private rev = 0;
  private readonly index = new KeyIndex();
  private history = new History(1);
  private readonly watchers = new Set<WatcherImpl>();
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
  ) {}

  get revision(): number {
    return this.rev;
  }

  get oldestRevision(): number {
    return this.history.start;
  }

  /** Rebuilds the revision, the key index and the history window from disk. */
  async load(): Promise<void> {
    const [revBuf, compactedBuf] = await this.db.getMany([META_REVISION, META_COMPACTED]);
    let rev = decodeNumber(revBuf);
    const compacted = decodeNumber(compactedBuf);

    for await (const [k, v] of this.db.iterator({ ...objectRange(""), keyEncoding: "buffer" })) {
      const meta = objectRevisions(v);
      this.index.appendSorted(userKey(k), meta);
      if (meta.modRevision > rev) rev = meta.modRevision;
    }

    // The log holds a dense run of revisions ending at `rev`; keep the last `window`.
    const first = Math.max(compacted, rev - this.window + 1, 1);
    const events: WatchEvent[] = [];
    for await (const [k, v] of this.db.iterator({ gte: logKey(first), lt: LOG_RANGE.lt })) {
      const r = logRevision(k);
      if (events.length > 0 && r !== events[events.length - 1].revision + 1) events.length = 0; // a gap: keep the run after it
      events.push(decodeChange(r, v));
    }
    if (events.length > 0 && events[events.length - 1].revision > rev)
      rev = events[events.length - 1].revision;
    while (events.length > 0 && events[events.length - 1].revision !== rev) events.pop();

    this.rev = rev;
    const start = events.length > 0 ? events[0].revision : rev + 1;
    this.history = new History(start);
    for (const ev of events) this.history.push(shareValues(ev, this.history));
    // Entries before the window (a smaller window than last time, an interrupted compaction).
    await this.db.clear({ gte: LOG_RANGE.gte, lt: logKey(start) });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    this.checkOpen();
    const meta = this.index.get(key);
    if (meta) {
      const ev = this.history.at(meta.modRevision);
      if (ev?.type === "put" && ev.kv.key === key) return ev.kv;
    }
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
      // State as of `revision` of the keys changed since, sorted by key.
      const undo = [...this.history.stateAt(revision, snapRev, prefix)]
        .filter(([k]) => opts.after === undefined || k > opts.after)
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      const undone = new Map(undo);

      const range = objectRange(prefix);
      const it = this.db.iterator({
        ...(opts.after !== undefined && opts.after >= prefix
          ? { gt: objectKey(opts.after) }
          : { gte: range.gte }),
        lt: range.lt,
        snapshot,
      });
      const kvs: KeyValue[] = [];
      let u = 0;
      const full = () => limit > 0 && kvs.length >= limit;
      try {
        while (!full()) {
          const chunk = await it.nextv(limit > 0 ? Math.min(1000, limit - kvs.length + 1) : 1000);
          if (chunk.length === 0) break;
          for (const [k, v] of chunk) {
            const key = userKey(k);
            while (u < undo.length && undo[u][0] < key && !full()) {
              const kv = undo[u++][1];
              if (kv) kvs.push(kv);
            }
            if (full()) break;
            if (undone.has(key)) continue; // emitted from `undo` in order
            kvs.push(decodeObject(key, v));
          }
        }
      } finally {
        await it.close();
      }
      while (u < undo.length && !full()) {
        const kv = undo[u++][1];
        if (kv) kvs.push(kv);
      }

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

  create(key: string, value: Uint8Array): Promise<KeyValue> {
    checkKey(key);
    checkValue(value);
    return this.enqueue({ kind: "create", key, value }) as Promise<KeyValue>;
  }

  update(key: string, value: Uint8Array, expectedModRevision?: number): Promise<KeyValue> {
    checkKey(key);
    checkValue(value);
    return this.enqueue({ kind: "update", key, value, expected: expectedModRevision }) as Promise<KeyValue>;
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    checkKey(key);
    return this.enqueue({ kind: "delete", key, expected: expectedModRevision }) as Promise<KeyValue>;
  }

  watch(prefix: string, fromRevision: number, onEvents: (events: WatchEvent[]) => void): Watcher {
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
    const w = new WatcherImpl(prefix, fromRevision, onEvents, (x) => this.watchers.delete(x));
    this.watchers.add(w);
    w.enqueue(this.history.since(fromRevision, prefix));
    if (w.sent < this.rev) w.sent = Math.max(fromRevision, this.rev);
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
      }
    } finally {
      this.writing = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async commit(batch: Pending[]): Promise<void> {
    // Current state of the batch's keys: the index says whether a key exists; its value
    // comes from the window when its last write is still there, else from LevelDB.
    const state = new Map<string, KeyValue | null>();
    const toRead: string[] = [];
    for (const { op } of batch) {
      if (op.kind === "compact" || state.has(op.key)) continue;
      const meta = this.index.get(op.key);
      const ev = meta && this.history.at(meta.modRevision);
      if (!meta) state.set(op.key, null);
      else if (ev?.type === "put" && ev.kv.key === op.key) state.set(op.key, ev.kv);
      else {
        state.set(op.key, null);
        toRead.push(op.key);
      }
    }
    if (toRead.length > 0) {
      let bufs: (Buffer | undefined)[];
      try {
        bufs = await this.db.getMany(toRead.map(objectKey));
      } catch (err) {
        for (const p of batch) p.reject(this.readError(err));
        return;
      }
      toRead.forEach((key, i) => {
        const buf = bufs[i];
        if (buf === undefined) throw new Error(`store: the index has ${key} but LevelDB does not`);
        state.set(key, decodeObject(key, buf));
      });
    }

    const ops: BatchOp[] = [];
    const events: WatchEvent[] = [];
    const outcomes: Array<{ kv?: KeyValue; err?: Error }> = [];
    let rev = this.rev;
    let compactTo = 0;
    for (const { op } of batch) {
      if (op.kind === "compact") {
        compactTo = Math.max(compactTo, Math.min(op.revision, rev));
        outcomes.push({});
        continue;
      }
      const cur = state.get(op.key) ?? null;
      const err = checkWrite(op, cur);
      if (err) {
        outcomes.push({ err });
        continue;
      }
      rev++;
      let ev: WatchEvent;
      if (op.kind === "delete") {
        ev = { type: "delete", revision: rev, key: op.key, prev: cur! };
        ops.push({ type: "del", key: objectKey(op.key) });
        state.set(op.key, null);
        outcomes.push({ kv: cur! });
      } else {
        const kv: KeyValue = {
          key: op.key,
          value: op.value,
          createRevision: cur ? cur.createRevision : rev,
          modRevision: rev,
        };
        ev = cur ? { type: "put", revision: rev, kv, prev: cur } : { type: "put", revision: rev, kv };
        ops.push({ type: "put", key: objectKey(op.key), value: encodeObject(kv) });
        state.set(op.key, kv);
        outcomes.push({ kv });
      }
      ops.push({ type: "put", key: logKey(rev), value: encodeChange(ev) });
      events.push(ev);
    }

    // History kept after this batch: the last `window` revisions, and none before a compaction.
    const newStart = Math.max(this.history.start, rev - this.window + 1, compactTo);
    if (events.length > 0 || newStart > this.history.start) {
      ops.push({ type: "put", key: META_REVISION, value: encodeNumber(rev) });
      if (compactTo > 0) ops.push({ type: "put", key: META_COMPACTED, value: encodeNumber(newStart) });
      // Drop log entries leaving the window one by one; a big jump (compaction) by range below.
      const rangeDelete = newStart - this.history.start > MAX_BATCH;
      if (!rangeDelete)
        for (let r = this.history.start; r < newStart; r++) ops.push({ type: "del", key: logKey(r) });
      try {
        this.inFlight = true;
        await this.db.batch(ops, { sync: true });
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
      this.apply(events, rev, newStart);
      this.inFlight = false;
      this.serveSnapshots();
      if (rangeDelete) {
        // Entries below the recorded start are ignored at open, so this need not be atomic.
        await this.db.clear({ gte: LOG_RANGE.gte, lt: logKey(newStart) }).catch((err: Error) => {
          process.emitWarning(`store: dropping compacted log entries: ${err.message}`);
        });
      }
    }

    batch.forEach((p, i) => {
      const o = outcomes[i];
      if (o.err) p.reject(o.err);
      else p.resolve(o.kv);
    });
    this.dispatch(events);
  }

  /** Makes a durable batch visible: index, revision, history. */
  private apply(events: WatchEvent[], rev: number, newStart: number): void {
    const set = new Map<string, KeyMeta>();
    const removed = new Set<string>();
    for (const ev of events) {
      this.history.push(ev);
      if (ev.type === "put") {
        set.set(ev.kv.key, { createRevision: ev.kv.createRevision, modRevision: ev.kv.modRevision });
        removed.delete(ev.kv.key);
      } else {
        set.delete(ev.key);
        removed.add(ev.key);
      }
    }
    for (const key of removed) if (!this.index.has(key)) removed.delete(key);
    this.index.apply(set, removed);
    this.rev = rev;
    this.history.dropBefore(newStart);
  }

  private dispatch(events: WatchEvent[]): void {
    if (events.length === 0) return;
    for (const w of this.watchers) {
      w.enqueue(w.prefix === "" ? events : events.filter((ev) => eventKey(ev).startsWith(w.prefix)));
    }
  }

  // --- reads ---

  /** A LevelDB snapshot that holds exactly revision this.rev (taken between batches). */
  private async snapshot() {
    if (this.inFlight) await new Promise<void>((resolve) => this.snapshotWaiters.push(resolve));
    this.checkOpen();
    return this.db.snapshot();
  }

  private serveSnapshots(): void {
    for (const wake of this.snapshotWaiters.splice(0)) wake();
  }

  /** Keys under `prefix` after `after` as of `revision`: the index now, minus the changes since. */
  private countAt(revision: number, prefix: string, after: string): number {
    let n = this.index.countAfter(prefix, after);
    for (const [key, then] of this.history.stateAt(revision, this.rev, prefix)) {
      if (key <= after) continue;
      n += (then ? 1 : 0) - (this.index.has(key) ? 1 : 0);
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

function checkWrite(op: WriteOp, cur: KeyValue | null): StoreError | undefined {
  if (op.kind === "compact") return undefined;
  if (op.kind === "create") {
    if (cur) return new StoreError("AlreadyExists", `${op.key} already exists`, cur);
    return undefined;
  }
  if (!cur) return new StoreError("NotFound", `${op.key} not found`);
  if (op.expected !== undefined && op.expected !== cur.modRevision) {
    return new StoreError(
      "Conflict",
      `${op.key} was modified: expected revision ${op.expected}, current ${cur.modRevision}`,
      cur,
    );
  }
  return undefined;
}

/** Reloaded events share the previous value with the event that wrote it, as live ones do. */
function shareValues(ev: WatchEvent, history: History): WatchEvent {
  if (!ev.prev) return ev;
  const before = history.at(ev.prev.modRevision);
  if (before?.type !== "put" || before.kv.key !== eventKey(ev)) return ev;
  return { ...ev, prev: before.kv };
}

function checkKey(key: string): void {
  if (typeof key !== "string" || key === "") throw new TypeError("store: key must be a non-empty string");
}

function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new TypeError("store: value must be a Uint8Array");
}
