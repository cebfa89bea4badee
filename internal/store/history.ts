// The window of recent changes kept in memory. Every revision is exactly one change,
// so the window is a dense array: the event of revision r sits at r - start. Watches
// replay from it; a list at an older revision uses it to undo the later changes.
import type { KeyValue, WatchEvent } from "./types";

export class History {
  private events: WatchEvent[] = [];
  private head = 0;
  /** Revision of the oldest event kept; every event from `start` to the latest is here. */
  start: number;

  constructor(start: number) {
    this.start = start;
  }

  get length(): number {
    return this.events.length - this.head;
  }

  /** Revision of the newest event, or start - 1 when empty. */
  get end(): number {
    return this.start + this.length - 1;
  }

  at(revision: number): WatchEvent | undefined {
    if (revision < this.start) return undefined;
    return this.events[this.head + revision - this.start];
  }

  push(ev: WatchEvent): void {
    if (ev.revision !== this.end + 1) {
      throw new Error(`store history: event ${ev.revision} does not follow ${this.end}`);
    }
    this.events.push(ev);
  }

  /** Forgets every event older than `revision`. */
  dropBefore(revision: number): void {
    if (revision <= this.start) return;
    const n = Math.min(revision - this.start, this.length);
    this.head += n;
    this.start = revision;
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events = this.events.slice(this.head);
      this.head = 0;
    }
  }

  /** Keeps at most `max` events. */
  trimTo(max: number): void {
    if (this.length > max) this.dropBefore(this.end - max + 1);
  }

  /** Events under `prefix` with revision > fromRevision, oldest first. */
  since(fromRevision: number, prefix: string): WatchEvent[] {
    const out: WatchEvent[] = [];
    const from = Math.max(fromRevision + 1, this.start);
    for (let i = this.head + from - this.start; i < this.events.length; i++) {
      const ev = this.events[i];
      if (prefix === "" || eventKey(ev).startsWith(prefix)) out.push(ev);
    }
    return out;
  }

  /**
   * For every key under `prefix` changed in (revision, upTo], its state as of
   * `revision`: the value before its first later change, or null if it did not exist.
   * The caller checks that `revision >= start - 1`.
   */
  stateAt(revision: number, upTo: number, prefix: string): Map<string, KeyValue | null> {
    const out = new Map<string, KeyValue | null>();
    const last = Math.min(upTo, this.end);
    for (let r = Math.max(revision + 1, this.start); r <= last; r++) {
      const ev = this.events[this.head + r - this.start];
      const key = eventKey(ev);
      if (out.has(key) || (prefix !== "" && !key.startsWith(prefix))) continue;
      out.set(key, ev.prev ?? null);
    }
    return out;
  }
}

export function eventKey(ev: WatchEvent): string {
  return ev.type === "put" ? ev.kv.key : ev.key;
}
