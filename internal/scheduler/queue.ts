// The scheduling queue, after upstream's: an active heap (higher priority first, then
// the earlier pod), a back-off area for pods that just failed, and the unschedulable
// pods, which go back to active when the cluster changes (a node added or changed, a pod
// removed) or after a while, never sooner than their back-off allows.

interface Entry {
  key: string;
  priority: number;
  /** When the pod first entered the queue (ordering among equal priorities). */
  since: number;
  attempts: number;
  /** When the last attempt failed; back-off counts from it. */
  failedAt: number;
}

export interface QueueOptions {
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Unschedulable pods are retried at least this often even if nothing changes. */
  unschedulableFlushMs?: number;
  now?: () => number;
}

export class SchedulingQueue {
  private readonly heap: Entry[] = [];
  private readonly active = new Map<string, Entry>();
  private readonly backoff = new Map<string, { entry: Entry; timer: NodeJS.Timeout }>();
  private readonly unschedulable = new Map<string, Entry>();
  /** Pods popped and not yet done: their failure is recorded against the cycle they ran in. */
  private readonly inFlight = new Map<string, { entry: Entry; cycle: number }>();
  /** Failed binds per pod, for their back-off (the pod left the queue when it was assumed). */
  private readonly bindFailures = new Map<string, number>();
  private waiters: Array<() => void> = [];
  private flushTimer?: NodeJS.Timeout;
  private shut = false;
  private cycle = 0;
  private moveRequestCycle = -1;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly now: () => number;

  constructor(opts: QueueOptions = {}) {
    this.initialBackoffMs = opts.initialBackoffMs ?? 1_000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    const flush = opts.unschedulableFlushMs ?? 60_000;
    this.flushTimer = setInterval(() => this.flushUnschedulable(flush), Math.min(flush, 30_000));
    this.flushTimer.unref();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.priority !== b.priority ? a.priority > b.priority : a.since < b.since;
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
    this.active.set(e.key, e);
    this.waiters.shift()?.();
  }

  private popHeap(): Entry | undefined {
    const h = this.heap;
    if (!h.length) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  has(key: string): boolean {
    return (
      this.active.has(key) || this.backoff.has(key) || this.unschedulable.has(key) || this.inFlight.has(key)
    );
  }

  /** A new or changed pending pod: straight to active unless it is waiting out a back-off. */
  add(key: string, priority = 0): void {
    if (this.shut || this.active.has(key) || this.inFlight.has(key) || this.backoff.has(key)) return;
    const e = this.unschedulable.get(key) ?? { key, priority, since: this.now(), attempts: 0, failedAt: 0 };
    this.unschedulable.delete(key);
    e.priority = priority;
    this.toActiveOrBackoff(e);
  }

  delete(key: string): void {
    const a = this.active.get(key);
    if (a) {
      this.active.delete(key);
      const i = this.heap.indexOf(a);
      if (i >= 0) {
        // Re-heapify is cheap enough for removals, which are rare.
        this.heap.splice(i, 1);
        this.heap.sort((x, y) => (this.less(x, y) ? -1 : this.less(y, x) ? 1 : 0));
      }
    }
    const b = this.backoff.get(key);
    if (b) {
      clearTimeout(b.timer);
      this.backoff.delete(key);
    }
    this.unschedulable.delete(key);
    this.bindFailures.delete(key);
  }

  /** The bind of an assumed pod failed for a reason other than fit: retry after a back-off. */
  bindFailed(key: string, priority = 0): void {
    if (this.shut || this.has(key)) return;
    const attempts = (this.bindFailures.get(key) ?? 0) + 1;
    this.bindFailures.set(key, attempts);
    this.toBackoff({ key, priority, since: this.now(), attempts, failedAt: this.now() });
  }

  /** Next pod to schedule, or undefined once shut down. Call done() or failed() after. */
  async pop(): Promise<string | undefined> {
    for (;;) {
      if (this.shut) return undefined;
      const e = this.popHeap();
      if (e) {
        this.active.delete(e.key);
        this.cycle++;
        this.inFlight.set(e.key, { entry: e, cycle: this.cycle });
        return e.key;
      }
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** The pod was scheduled (or is gone): forget it. */
  done(key: string): void {
    this.inFlight.delete(key);
  }

  /**
   * The pod did not fit. It waits for a cluster change, unless one happened while it
   * was being scheduled (then it only waits out its back-off). `error` marks a failure
   * that was not about fit (an API error): back-off only.
   */
  failed(key: string, error = false): void {
    const f = this.inFlight.get(key);
    if (!f) return;
    this.inFlight.delete(key);
    if (this.shut) return;
    const { entry: e, cycle } = f;
    e.attempts++;
    e.failedAt = this.now();
    if (error || this.moveRequestCycle >= cycle) this.toBackoff(e);
    else this.unschedulable.set(key, e);
  }

  private backoffMs(e: Entry): number {
    if (e.attempts === 0) return 0;
    return Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** (e.attempts - 1));
  }

  private toActiveOrBackoff(e: Entry): void {
    if (this.now() >= e.failedAt + this.backoffMs(e)) this.push(e);
    else this.toBackoff(e);
  }

  private toBackoff(e: Entry): void {
    const wait = Math.max(0, e.failedAt + this.backoffMs(e) - this.now());
    const timer = setTimeout(() => {
      this.backoff.delete(e.key);
      this.push(e);
    }, wait);
    this.backoff.set(e.key, { entry: e, timer });
  }

  /** Something changed that may let unschedulable pods fit: retry them all. */
  moveAllToActiveOrBackoff(): void {
    this.moveRequestCycle = this.cycle;
    for (const e of this.unschedulable.values()) this.toActiveOrBackoff(e);
    this.unschedulable.clear();
  }

  private flushUnschedulable(olderThanMs: number): void {
    const now = this.now();
    for (const [k, e] of this.unschedulable)
      if (now - e.failedAt >= olderThanMs) {
        this.unschedulable.delete(k);
        this.toActiveOrBackoff(e);
      }
  }

  get pending(): { active: number; backoff: number; unschedulable: number } {
    return { active: this.active.size, backoff: this.backoff.size, unschedulable: this.unschedulable.size };
  }

  shutdown(): void {
    this.shut = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    for (const b of this.backoff.values()) clearTimeout(b.timer);
    this.backoff.clear();
    for (const w of this.waiters.splice(0)) w();
  }
}
