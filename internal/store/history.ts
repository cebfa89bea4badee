// The window of recent changes. Every revision is exactly one change, so the window is
// a dense array: the change of revision r sits at r - start.
//
// Memory: each change keeps its key, type and whether the key existed before (enough
// for the key index and paging counts); only the newest changes, up to `hotBytes` of
// values, keep the whole event. Older events are read back from the change log on disk
// when a watch replays them or a list at an old revision needs a previous value. That
// keeps a server that wrote 10,000 large objects before going idle small.
import type { ChangeHead } from "./codec";
import type { KeyValue, WatchEvent } from "./types";

export interface Change extends ChangeHead {
  /** The whole event, while it is among the newest `hotBytes`. */
  event?: WatchEvent;
}

/** State of a key as of a past revision, found from its first change after it. */
export interface PastState {
  existed: boolean;
  /** The value then, when the change that followed is still in memory. */
  kv?: KeyValue;
  /** That following change: its log entry holds the value when `kv` is absent. */
  changedAt: Change;
}

export class History {
  private changes: Change[] = [];
  private head = 0;
  /** First index (absolute, into `changes`) still holding its event. */
  private hotHead = 0;
  private hotSize = 0;
  /** Revision of the oldest change kept; every change from `start` to the latest is here. */
  start: number;

  constructor(
    start: number,
    private readonly hotBytes: number,
  ) {
    this.start = start;
  }

  get length(): number {
    return this.changes.length - this.head;
  }

  /** Revision of the newest change, or start - 1 when empty. */
  get end(): number {
    return this.start + this.length - 1;
  }

  /** Bytes of values held by in-memory events. */
  get cachedBytes(): number {
    return this.hotSize;
  }

  at(revision: number): Change | undefined {
    if (revision < this.start) return undefined;
    return this.changes[this.head + revision - this.start];
  }

  /** The whole event of `revision`, if still in memory. */
  event(revision: number): WatchEvent | undefined {
    return this.at(revision)?.event;
  }

  /** Appends the next change: a whole event (live), or only its head (reloaded from the log keys). */
  push(change: WatchEvent | ChangeHead): void {
    if (change.revision !== this.end + 1) {
      throw new Error(`store history: change ${change.revision} does not follow ${this.end}`);
    }
    if ("existed" in change) {
      // Events in memory are always the newest: heads come first, at open.
      if (this.hotHead !== this.changes.length)
        throw new Error("store history: a change head after whole events");
      this.changes.push({ ...change });
      this.sizes.push(0);
      this.hotHead++;
      return;
    }
    const ev = change;
    const size = eventSize(ev);
    this.changes.push({
      revision: ev.revision,
      key: eventKey(ev),
      type: ev.type,
      existed: ev.prev !== undefined,
      event: ev,
    });
    this.hotSize += size;
    this.sizes.push(size);
    this.cool();
  }

  // Bytes charged per change, parallel to `changes`, so cooling can subtract them.
  private sizes: number[] = [];

  /** Drops whole events, oldest first, until the values held fit in `hotBytes`. */
  private cool(): void {
    while (this.hotSize > this.hotBytes && this.hotHead < this.changes.length) {
      const c = this.changes[this.hotHead];
      c.event = undefined;
      this.hotSize -= this.sizes[this.hotHead];
      this.hotHead++;
    }
    if (this.hotHead < this.head) this.hotHead = this.head;
  }

  /** Forgets every change older than `revision`; returns what it forgot. */
  dropBefore(revision: number): Change[] {
    if (revision <= this.start) return [];
    const n = Math.min(revision - this.start, this.length);
    const dropped = this.changes.slice(this.head, this.head + n);
    for (let i = this.head; i < this.head + n; i++) {
      if (i >= this.hotHead) this.hotSize -= this.sizes[i];
      this.changes[i].event = undefined;
    }
    this.head += n;
    if (this.hotHead < this.head) this.hotHead = this.head;
    this.start = revision;
    if (this.head > 1024 && this.head * 2 > this.changes.length) {
      this.changes = this.changes.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.hotHead -= this.head;
      this.head = 0;
    }
    return dropped;
  }

  /**
   * Changes under `prefix` with revision > fromRevision, oldest first: the events in
   * memory, and before them the revisions whose events must be read from disk.
   */
  since(fromRevision: number, prefix: string): { cold: Change[]; hot: WatchEvent[] } {
    const cold: Change[] = [];
    const hot: WatchEvent[] = [];
    const from = Math.max(fromRevision + 1, this.start);
    for (let i = this.head + from - this.start; i < this.changes.length; i++) {
      const c = this.changes[i];
      if (prefix !== "" && !c.key.startsWith(prefix)) continue;
      if (c.event) hot.push(c.event);
      else cold.push(c);
    }
    return { cold, hot };
  }

  /**
   * For every key under `prefix` changed in (revision, upTo], its state as of
   * `revision`, from its first change after it. Changes before `start` are unknown:
   * the caller checks that `revision >= start - 1`.
   */
  stateAt(revision: number, upTo: number, prefix: string): Map<string, PastState> {
    const out = new Map<string, PastState>();
    const last = Math.min(upTo, this.end);
    for (let r = Math.max(revision + 1, this.start); r <= last; r++) {
      const c = this.changes[this.head + r - this.start];
      if (out.has(c.key) || (prefix !== "" && !c.key.startsWith(prefix))) continue;
      out.set(c.key, { existed: c.existed, kv: c.event?.prev, changedAt: c });
    }
    return out;
  }
}

export function eventKey(ev: WatchEvent): string {
  return ev.type === "put" ? ev.kv.key : ev.key;
}

function eventSize(ev: WatchEvent): number {
  return (ev.type === "put" ? ev.kv.value.length : 0) + (ev.prev ? ev.prev.value.length : 0) + 64;
}
