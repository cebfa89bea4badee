// One watch: events are queued and handed to the callback in a microtask, so a replay
// and the live events after it always arrive in revision order and never twice.
import type { WatchEvent, Watcher } from "./types";

export class StoreWatcher implements Watcher {
  /** Highest revision queued or delivered. */
  private sent: number;
  private queue: WatchEvent[] = [];
  private scheduled = false;
  /** While a replay is being read from disk, live events wait behind it. */
  private held = false;
  cancelled = false;

  constructor(
    readonly prefix: string,
    sent: number,
    private readonly onEvents: (events: WatchEvent[]) => void,
    private readonly onCancel: (w: StoreWatcher) => void,
  ) {
    this.sent = sent;
  }

  /** Queues the events not yet handed over (a watch may start between a batch's apply and its dispatch). */
  enqueue(events: WatchEvent[]): void {
    if (this.cancelled) return;
    const before = this.queue.length;
    for (const ev of events) if (ev.revision > this.sent) this.queue.push(ev);
    if (this.queue.length === before) return;
    this.sent = this.queue[this.queue.length - 1].revision;
    this.schedule();
  }

  /** Marks everything up to `revision` as covered by a replay that `release` will deliver. */
  hold(revision: number): void {
    this.held = true;
    this.sent = Math.max(this.sent, revision);
  }

  /** Delivers the replay read from disk, then whatever arrived live meanwhile. */
  release(replay: WatchEvent[]): void {
    this.held = false;
    if (this.cancelled) return;
    this.queue = replay.concat(this.queue);
    this.schedule();
  }

  /** Marks revisions up to `revision` as seen (nothing under the prefix changed there). */
  skipTo(revision: number): void {
    this.sent = Math.max(this.sent, revision);
  }

  private schedule(): void {
    if (this.scheduled || this.held || this.queue.length === 0) return;
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
