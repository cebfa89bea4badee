// The LevelDB reads of the store that need no in-memory state: what opening finds on
// disk, a merged walk of object records, dropping old change-log records.
import type { Level } from "level";
import {
  type ChangeHead,
  decodeHeadKey,
  decodeNumber,
  decodeObject,
  EVENT_RANGE,
  eventKeyOf,
  HEAD_RANGE,
  headBound,
  INDEX_RANGE,
  META_COMPACTED,
  META_REVISION,
  objectKey,
  objectRange,
  userKey,
} from "./codec";
import type { KeyValue } from "./types";

export type DB = Level<Buffer, Buffer>;
export type Snapshot = ReturnType<DB["snapshot"]>;

/** Bytes an iterator fetches per trip to LevelDB's thread: a 10,000-object list takes a few trips. */
const ITERATOR_BYTES = 1 << 20;

export interface DiskState {
  revision: number;
  /** Live keys, sorted. */
  keys: string[];
  /** The change-log heads of the window, oldest first, ending at `revision`. */
  heads: ChangeHead[];
}

/** Reads the revision, the live keys and the window's change heads (no values). */
export async function readState(db: DB, window: number): Promise<DiskState> {
  const [revBuf, compactedBuf] = await db.getMany([META_REVISION, META_COMPACTED]);
  let revision = decodeNumber(revBuf);
  const compacted = decodeNumber(compactedBuf);

  const keys: string[] = [];
  for await (const k of db.keys({ ...INDEX_RANGE, fillCache: false, highWaterMarkBytes: ITERATOR_BYTES })) {
    keys.push(userKey(k));
  }

  // Newest first, the dense run of revisions ending at `revision`, from the log heads
  // alone: values are read back when a watch or a list needs them. (Reading them here
  // would cost a restart tens of MiB of RSS for a window of large objects.)
  const first = Math.max(compacted, revision - window + 1, 1);
  const heads: ChangeHead[] = [];
  for await (const k of db.keys({
    gte: headBound(first),
    lt: HEAD_RANGE.lt,
    reverse: true,
    fillCache: false,
    highWaterMarkBytes: ITERATOR_BYTES,
  })) {
    const head = decodeHeadKey(k);
    if (heads.length === 0 && head.revision > revision) revision = head.revision; // a counter behind its log: trust the log
    if (head.revision !== (heads.length === 0 ? revision : heads[heads.length - 1].revision - 1)) break;
    heads.push(head);
  }
  heads.reverse();
  return { revision, keys, heads };
}

/** Deletes the change log before `revision`, heads and events. */
export async function dropLogBefore(db: DB, revision: number): Promise<void> {
  await db.clear({ gte: HEAD_RANGE.gte, lt: headBound(revision) });
  await db.clear({ gte: EVENT_RANGE.gte, lt: eventKeyOf(revision) });
}

/**
 * Up to `limit` (0: all) key-values under `prefix` after `after`, from `snapshot`,
 * with the keys in `undo` (sorted) replaced by their state there (null: absent).
 */
export async function readObjects(
  db: DB,
  snapshot: Snapshot,
  prefix: string,
  after: string | undefined,
  limit: number,
  undo: Array<[string, KeyValue | null]>,
): Promise<KeyValue[]> {
  const undone = new Set(undo.map(([k]) => k));
  const range = objectRange(prefix);
  const it = db.iterator({
    ...(after !== undefined && after >= prefix ? { gt: objectKey(after) } : { gte: range.gte }),
    lt: range.lt,
    snapshot,
    highWaterMarkBytes: ITERATOR_BYTES,
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
        if (undone.has(key)) continue; // its state comes from `undo`, in order
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
  return kvs;
}
