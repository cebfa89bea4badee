// On-disk layout of the LevelDB store. All LevelDB keys are bytes with a one-byte
// namespace so that the kinds of record never interleave:
//
//   "o" + key            object record: createRevision f64 | modRevision f64 | value bytes
//   "k" + key            key record (empty value): opening builds the key index from
//                        these small records instead of walking every object block
//   "l" + revision u64 + type u8 + existed u8 + key    (empty value)
//                        change-log head: what the change of that revision did
//   "e" + revision u64   change-log event: the whole change (see encodeChange)
//   "m" + name           metadata: "revision" (last written revision), "compacted"
//
// Heads and events are apart so that opening rebuilds the window from the small heads
// alone; the events, with their values, are read only when a watch or a list needs them.
//
// Records are a small fixed binary layout rather than CBOR: the list path decodes
// thousands of object records per request and a 16-byte header read is the cheapest
// thing that works; values stay opaque bytes (the API server CBOR-encodes them).
import type { KeyValue, WatchEvent } from "./types";

const LOG = 0x6c; // "l"
const EVENT = 0x65; // "e"
const HEADER = 16;

export const EMPTY = Buffer.alloc(0);
export const META_REVISION = Buffer.from("mrevision");
export const META_COMPACTED = Buffer.from("mcompacted");

export function objectKey(key: string): Buffer {
  return Buffer.from(`o${key}`, "utf8");
}

/** The key record of `key` (see the layout above). */
export function indexKey(key: string): Buffer {
  return Buffer.from(`k${key}`, "utf8");
}

export const INDEX_RANGE = { gte: Buffer.from("k"), lt: Buffer.from("l") };

/** The user key of an object or key record's LevelDB key. */
export function userKey(dbKey: Buffer): string {
  return dbKey.toString("utf8", 1);
}

/** Exclusive upper bound of every LevelDB key that starts with `start`. */
export function prefixEnd(start: Buffer): Buffer {
  const end = Buffer.from(start);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  // Unreachable for our keys: the namespace byte is never 0xff.
  throw new Error("prefixEnd: key has no upper bound");
}

/** LevelDB range of the object records whose user key starts with `prefix`. */
export function objectRange(prefix: string): { gte: Buffer; lt: Buffer } {
  const gte = objectKey(prefix);
  return { gte, lt: prefixEnd(gte) };
}

export function encodeObject(kv: KeyValue): Buffer {
  const buf = Buffer.allocUnsafe(HEADER + kv.value.length);
  buf.writeDoubleBE(kv.createRevision, 0);
  buf.writeDoubleBE(kv.modRevision, 8);
  buf.set(kv.value, HEADER);
  return buf;
}

export function decodeObject(key: string, buf: Buffer): KeyValue {
  if (buf.length < HEADER) throw new Error(`store: object record of ${key} is truncated`);
  return {
    key,
    value: buf.subarray(HEADER),
    createRevision: buf.readDoubleBE(0),
    modRevision: buf.readDoubleBE(8),
  };
}

function revisionKey(ns: number, revision: number): Buffer {
  const buf = Buffer.allocUnsafe(9);
  buf[0] = ns;
  buf.writeUInt32BE(Math.floor(revision / 0x1_0000_0000), 1);
  buf.writeUInt32BE(revision >>> 0, 5);
  return buf;
}

/** Lower bound of the change-log head of `revision` (and upper bound of the earlier ones). */
export function headBound(revision: number): Buffer {
  return revisionKey(LOG, revision);
}

/** The key of the change-log event of `revision`. */
export function eventKeyOf(revision: number): Buffer {
  return revisionKey(EVENT, revision);
}

export interface ChangeHead {
  revision: number;
  type: "put" | "delete";
  key: string;
  /** The key existed before this change. */
  existed: boolean;
}

/** The LevelDB key of a change-log head. */
export function headKey(c: ChangeHead): Buffer {
  const key = Buffer.from(c.key, "utf8");
  const buf = Buffer.allocUnsafe(11 + key.length);
  buf[0] = LOG;
  buf.writeUInt32BE(Math.floor(c.revision / 0x1_0000_0000), 1);
  buf.writeUInt32BE(c.revision >>> 0, 5);
  buf[9] = c.type === "put" ? 0 : 1;
  buf[10] = c.existed ? 1 : 0;
  buf.set(key, 11);
  return buf;
}

export function eventHead(ev: WatchEvent): ChangeHead {
  return {
    revision: ev.revision,
    type: ev.type,
    key: ev.type === "put" ? ev.kv.key : ev.key,
    existed: ev.prev !== undefined,
  };
}

export function decodeHeadKey(dbKey: Buffer): ChangeHead {
  return {
    revision: dbKey.readUInt32BE(1) * 0x1_0000_0000 + dbKey.readUInt32BE(5),
    type: dbKey[9] === 0 ? "put" : "delete",
    existed: dbKey[10] === 1,
    key: dbKey.toString("utf8", 11),
  };
}

export const HEAD_RANGE = { gte: Buffer.from([LOG]), lt: Buffer.from([LOG + 1]) };
export const EVENT_RANGE = { gte: Buffer.from([EVENT]), lt: Buffer.from([EVENT + 1]) };

export function encodeNumber(n: number): Buffer {
  const buf = Buffer.allocUnsafe(8);
  buf.writeDoubleBE(n, 0);
  return buf;
}

export function decodeNumber(buf: Buffer | undefined): number {
  return buf && buf.length === 8 ? buf.readDoubleBE(0) : 0;
}

// A change-log entry holds the whole event, previous value included, so that after a
// restart watches resume with the same events (deletes carry what was deleted) and a
// list at an older revision can undo later changes.
//
//   u8 type (0 put, 1 delete) | u8 hasPrev | u32 keyLen | key
//   put:  f64 createRevision | u32 valueLen | value
//   prev: f64 createRevision | f64 modRevision | u32 valueLen | value

export function encodeChange(ev: WatchEvent): Buffer {
  const key = Buffer.from(ev.type === "put" ? ev.kv.key : ev.key, "utf8");
  const value = ev.type === "put" ? ev.kv.value : undefined;
  const prev = ev.prev;
  let size = 6 + key.length;
  if (value) size += 12 + value.length;
  if (prev) size += 20 + prev.value.length;
  const buf = Buffer.allocUnsafe(size);
  let o = 0;
  buf[o++] = ev.type === "put" ? 0 : 1;
  buf[o++] = prev ? 1 : 0;
  buf.writeUInt32BE(key.length, o);
  o += 4;
  buf.set(key, o);
  o += key.length;
  if (ev.type === "put") {
    buf.writeDoubleBE(ev.kv.createRevision, o);
    buf.writeUInt32BE(ev.kv.value.length, o + 8);
    buf.set(ev.kv.value, o + 12);
    o += 12 + ev.kv.value.length;
  }
  if (prev) {
    buf.writeDoubleBE(prev.createRevision, o);
    buf.writeDoubleBE(prev.modRevision, o + 8);
    buf.writeUInt32BE(prev.value.length, o + 16);
    buf.set(prev.value, o + 20);
  }
  return buf;
}

export function decodeChange(revision: number, buf: Buffer): WatchEvent {
  let o = 0;
  const type = buf[o++];
  const hasPrev = buf[o++] === 1;
  const keyLen = buf.readUInt32BE(o);
  o += 4;
  const key = buf.toString("utf8", o, o + keyLen);
  o += keyLen;
  let kv: KeyValue | undefined;
  if (type === 0) {
    const createRevision = buf.readDoubleBE(o);
    const len = buf.readUInt32BE(o + 8);
    kv = { key, value: buf.subarray(o + 12, o + 12 + len), createRevision, modRevision: revision };
    o += 12 + len;
  }
  let prev: KeyValue | undefined;
  if (hasPrev) {
    const len = buf.readUInt32BE(o + 16);
    prev = {
      key,
      value: buf.subarray(o + 20, o + 20 + len),
      createRevision: buf.readDoubleBE(o),
      modRevision: buf.readDoubleBE(o + 8),
    };
  }
  if (kv) return prev ? { type: "put", revision, kv, prev } : { type: "put", revision, kv };
  if (!prev) throw new Error(`store: change-log entry ${revision} is a delete without the deleted value`);
  return { type: "delete", revision, key, prev };
}
