// Turns the operations of one group-commit batch into LevelDB records, in order, with
// each success getting the next revision. Pure: the writer supplies the current state
// of the keys and commits the result.
import {
  EMPTY,
  encodeChange,
  encodeObject,
  eventHead,
  eventKeyOf,
  headKey,
  indexKey,
  objectKey,
} from "./codec";
import { type KeyValue, StoreError, type WatchEvent } from "./types";

export type WriteOp =
  | { kind: "create"; key: string; value: Uint8Array }
  | { kind: "update"; key: string; value: Uint8Array; expected?: number }
  | { kind: "delete"; key: string; expected?: number }
  | { kind: "compact"; revision: number };

export type BatchOp = { type: "put"; key: Buffer; value: Buffer } | { type: "del"; key: Buffer };

export interface Plan {
  ops: BatchOp[];
  events: WatchEvent[];
  /** Per operation: its result or its error. */
  outcomes: Array<{ kv?: KeyValue; err?: Error }>;
  /** Revision after the batch. */
  revision: number;
  /** Highest compaction requested (0 if none), at most `revision`. */
  compactTo: number;
}

/**
 * Plans `ops` on top of revision `rev`. `state` holds the current key-value (or null)
 * of every key the operations touch; it is updated as the batch proceeds, so a later
 * operation sees the earlier ones.
 */
export function planBatch(ops: WriteOp[], state: Map<string, KeyValue | null>, rev: number): Plan {
  const plan: Plan = { ops: [], events: [], outcomes: [], revision: rev, compactTo: 0 };
  for (const op of ops) {
    if (op.kind === "compact") {
      plan.compactTo = Math.max(plan.compactTo, Math.min(op.revision, plan.revision));
      plan.outcomes.push({});
      continue;
    }
    const cur = state.get(op.key) ?? null;
    const err = checkWrite(op, cur);
    if (err) {
      plan.outcomes.push({ err });
      continue;
    }
    const revision = ++plan.revision;
    let ev: WatchEvent;
    if (op.kind === "delete") {
      ev = { type: "delete", revision, key: op.key, prev: cur! };
      plan.ops.push({ type: "del", key: objectKey(op.key) });
      plan.ops.push({ type: "del", key: indexKey(op.key) });
      state.set(op.key, null);
      plan.outcomes.push({ kv: cur! });
    } else {
      const kv: KeyValue = {
        key: op.key,
        value: op.value,
        createRevision: cur ? cur.createRevision : revision,
        modRevision: revision,
      };
      ev = cur ? { type: "put", revision, kv, prev: cur } : { type: "put", revision, kv };
      plan.ops.push({ type: "put", key: objectKey(op.key), value: encodeObject(kv) });
      if (!cur) plan.ops.push({ type: "put", key: indexKey(op.key), value: EMPTY });
      state.set(op.key, kv);
      plan.outcomes.push({ kv });
    }
    plan.ops.push({ type: "put", key: headKey(eventHead(ev)), value: EMPTY });
    plan.ops.push({ type: "put", key: eventKeyOf(revision), value: encodeChange(ev) });
    plan.events.push(ev);
  }
  return plan;
}

function checkWrite(op: Exclude<WriteOp, { kind: "compact" }>, cur: KeyValue | null): StoreError | undefined {
  if (op.kind === "create") {
    return cur ? new StoreError("AlreadyExists", `${op.key} already exists`, cur) : undefined;
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
