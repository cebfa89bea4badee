// The scheduling loop: pending pods come off the queue one at a time, are placed on the
// best feasible node of the in-memory snapshot, assumed there, and bound in the
// background while the next pod is scheduled. Pods that fit nowhere get
// PodScheduled=False and a FailedScheduling event, and wait for the cluster to change.
import { hostname } from "node:os";
import { RESOURCES } from "../api/resources";
import { type Client, Informer, isReason, type KObject } from "../client";
import { SchedulerCache } from "./cache";
import { fitErrorMessage } from "./diagnosis";
import { type FilterResult, runFilters } from "./filters";
import { type NodeInfo, type PodFacts, podFacts } from "./nodeinfo";
import { type QueueOptions, SchedulingQueue } from "./queue";
import { scoreNodes, selectHost } from "./scores";

const PODS = RESOURCES.find((r) => r.group === "" && r.plural === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.plural === "nodes")!;
const EVENTS = RESOURCES.find((r) => r.group === "" && r.plural === "events")!;

export const DEFAULT_SCHEDULER_NAME = "default-scheduler";
export const ERR_NO_NODES = "no nodes available to schedule pods";

/** Sets spec.nodeName through the pods/binding subresource (409 when already bound). */
export type BindFn = (namespace: string, name: string, nodeName: string) => Promise<void>;

export interface SchedulerOptions extends QueueOptions {
  schedulerName?: string;
  /** Binds in flight at once; the loop waits for a slot beyond this. */
  bindConcurrency?: number;
  random?: () => number;
}

export type ScheduleResult = { node: string; facts: PodFacts } | { error: string; failures: FilterResult[] };

/** Filters and scores the pod against the snapshot: a pure decision, no API calls. */
export function schedulePod(
  pod: KObject,
  nodes: NodeInfo[],
  random: () => number = Math.random,
): ScheduleResult {
  if (!nodes.length) return { error: ERR_NO_NODES, failures: [] };
  const facts = podFacts(pod);
  const feasible: NodeInfo[] = [];
  const failures: FilterResult[] = [];
  for (const n of nodes) {
    const r = runFilters(pod, facts, n);
    if (r) failures.push(r);
    else feasible.push(n);
  }
  if (!feasible.length) return { error: fitErrorMessage(nodes.length, failures), failures };
  if (feasible.length === 1) return { node: feasible[0].name, facts };
  return { node: feasible[selectHost(scoreNodes(pod, facts, feasible), random)].name, facts };
}

function isTerminal(pod: KObject): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

function now(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

/** What a change to a pending pod must touch to be worth another attempt. */
function schedulingRelevant(pod: KObject): string {
  const m = pod.metadata ?? {};
  return JSON.stringify([m.labels, m.annotations, pod.spec]);
}

function nodeRelevant(node: KObject): string {
  const ready = (node.status?.conditions ?? []).find((c: { type: string }) => c.type === "Ready")?.status;
  return JSON.stringify([
    node.metadata?.labels,
    node.spec?.taints,
    node.spec?.unschedulable,
    node.status?.allocatable ?? node.status?.capacity,
    ready,
  ]);
}

interface EventRecord {
  name: string;
  message: string;
  count: number;
  first: string;
}

export class Scheduler {
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly cache = new SchedulerCache();
  private readonly queue: SchedulingQueue;
  private readonly schedulerName: string;
  private readonly bindConcurrency: number;
  private readonly random: () => number;
  private readonly failedEvents = new Map<string, EventRecord>();
  private readonly instance = `${DEFAULT_SCHEDULER_NAME}-${hostname()}`;
  private binds = 0;
  /** Events wait behind binds, as upstream's event broadcaster sends them on its own. */
  private readonly eventQueue: Array<() => Promise<unknown>> = [];
  private eventsInFlight = 0;
  private eventsIdle: Array<() => void> = [];
  private bindSlotWaiters: Array<() => void> = [];
  /** Pods bound by this scheduler since it started (for benchmarks and logs). */
  scheduledCount = 0;

  constructor(
    private readonly client: Client,
    private readonly bind: BindFn,
    private readonly log: (msg: string) => void,
    opts: SchedulerOptions = {},
  ) {
    this.schedulerName = opts.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.bindConcurrency = opts.bindConcurrency ?? 64;
    this.random = opts.random ?? Math.random;
    this.queue = new SchedulingQueue(opts);
    this.pods = new Informer(client, PODS, {}, log);
    this.nodes = new Informer(client, NODES, {}, log);
    this.nodes.on({
      add: (n) => {
        this.cache.setNode(n);
        this.queue.moveAllToActiveOrBackoff();
      },
      update: (o, n) => {
        this.cache.setNode(n);
        if (nodeRelevant(o) !== nodeRelevant(n)) this.queue.moveAllToActiveOrBackoff();
      },
      delete: (n) => this.cache.removeNode(n.metadata?.name),
    });
    this.pods.on({
      add: (p) => this.onPod(undefined, p),
      update: (o, p) => this.onPod(o, p),
      delete: (p) => this.onPodDelete(p),
    });
  }

  private key(pod: KObject): string {
    return `${pod.metadata?.namespace}/${pod.metadata?.name}`;
  }

  /** Ours, not being deleted, and not held back by scheduling gates (those wait for their removal). */
  private responsibleFor(pod: KObject): boolean {
    return (
      (pod.spec?.schedulerName || DEFAULT_SCHEDULER_NAME) === this.schedulerName &&
      !pod.metadata?.deletionTimestamp &&
      !pod.spec?.schedulingGates?.length
    );
  }

  private onPod(old: KObject | undefined, pod: KObject): void {
    const key = this.key(pod);
    if (pod.spec?.nodeName) {
      this.queue.delete(key);
      this.failedEvents.delete(key);
      if (isTerminal(pod)) {
        if (this.cache.nodeOf(key) !== undefined) {
          this.cache.removePod(key);
          this.queue.moveAllToActiveOrBackoff();
        }
      } else this.cache.addOrUpdatePod(pod);
      return;
    }
    if (!this.responsibleFor(pod) || this.cache.isAssumed(key)) {
      this.queue.delete(key);
      return;
    }
    // Our own status updates (PodScheduled=False) must not trigger another attempt.
    if (old && schedulingRelevant(old) === schedulingRelevant(pod)) return;
    this.queue.add(key, pod.spec?.priority ?? 0);
  }

  private onPodDelete(pod: KObject): void {
    const key = this.key(pod);
    this.queue.delete(key);
    this.failedEvents.delete(key);
    if (this.cache.nodeOf(key) !== undefined) {
      this.cache.removePod(key);
      this.queue.moveAllToActiveOrBackoff();
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.pods.start();
    this.nodes.start();
    signal.addEventListener("abort", () => {
      this.pods.stop();
      this.nodes.stop();
      this.queue.shutdown();
      // Events not sent yet are dropped on shutdown; the ones in flight finish.
      this.eventQueue.length = 0;
      for (const w of this.bindSlotWaiters.splice(0)) w();
    });
    await Promise.all([this.pods.waitForSync(), this.nodes.waitForSync()]);
    let sinceYield = 0;
    for (;;) {
      const key = await this.queue.pop();
      if (key === undefined) break;
      try {
        await this.scheduleOne(key);
      } catch (err) {
        this.log(`scheduling ${key}: ${(err as Error).stack ?? err}`);
        this.queue.failed(key, true);
      }
      // Pops resolve without I/O while the queue is full: let watches and binds progress.
      if (++sinceYield >= 16) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
    while (this.binds > 0) await new Promise<void>((r) => this.bindSlotWaiters.push(r));
    if (this.eventsInFlight || this.eventQueue.length)
      await new Promise<void>((r) => this.eventsIdle.push(r));
  }

  private async scheduleOne(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod || pod.spec?.nodeName || !this.responsibleFor(pod) || this.cache.isAssumed(key)) {
      this.queue.done(key);
      return;
    }
    const result = schedulePod(pod, this.cache.nodes(), this.random);
    if ("error" in result) {
      this.queue.failed(key);
      this.later(() => this.recordFailure(pod, result.error));
      return;
    }
    this.cache.assume(result.facts, result.node);
    this.queue.done(key);
    while (this.binds >= this.bindConcurrency) await new Promise<void>((r) => this.bindSlotWaiters.push(r));
    this.binds++;
    void this.bindPod(pod, result.node).finally(() => {
      this.binds--;
      this.bindSlotWaiters.shift()?.();
    });
  }

  private async bindPod(pod: KObject, nodeName: string): Promise<void> {
    const key = this.key(pod);
    const { namespace, name } = pod.metadata!;
    try {
      await this.bind(namespace, name, nodeName);
    } catch (err) {
      this.cache.forget(key);
      // Gone, or bound by someone else: the informer will tell us where it went.
      if (isReason(err, "NotFound") || isReason(err, "Conflict")) return;
      this.log(`binding ${key} to ${nodeName}: ${(err as Error).message}`);
      const cur = this.pods.get(key);
      if (cur && !cur.spec?.nodeName) this.queue.bindFailed(key, cur.spec?.priority ?? 0);
      return;
    }
    this.scheduledCount++;
    this.failedEvents.delete(key);
    this.queue.delete(key);
    this.later(() =>
      this.event(pod, "Normal", "Scheduled", "Binding", `Successfully assigned ${key} to ${nodeName}`),
    );
  }

  private later(send: () => Promise<unknown>): void {
    this.eventQueue.push(send);
    this.pumpEvents();
  }

  private pumpEvents(): void {
    while (this.eventsInFlight < 4 && this.eventQueue.length) {
      const send = this.eventQueue.shift()!;
      this.eventsInFlight++;
      void send().finally(() => {
        this.eventsInFlight--;
        this.pumpEvents();
        if (!this.eventsInFlight && !this.eventQueue.length) for (const w of this.eventsIdle.splice(0)) w();
      });
    }
  }

  private async recordFailure(pod: KObject, message: string): Promise<void> {
    const key = this.key(pod);
    const { namespace, name } = pod.metadata!;
    const cond = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === "PodScheduled");
    try {
      if (cond?.status !== "False" || cond.reason !== "Unschedulable" || cond.message !== message) {
        await this.client.patch(
          PODS,
          namespace,
          name,
          "strategic",
          {
            status: {
              conditions: [
                {
                  type: "PodScheduled",
                  status: "False",
                  reason: "Unschedulable",
                  message,
                  lastProbeTime: null,
                  lastTransitionTime: cond?.status === "False" ? cond.lastTransitionTime : now(),
                },
              ],
            },
          },
          "status",
        );
      }
    } catch (err) {
      if (!isReason(err, "NotFound")) this.log(`updating status of ${key}: ${(err as Error).message}`);
      return;
    }
    const prev = this.failedEvents.get(key);
    if (prev && prev.message === message) {
      // The same reason again: count it on the existing event, as the event recorder does.
      prev.count++;
      try {
        await this.client.patch(EVENTS, namespace, prev.name, "merge", {
          count: prev.count,
          lastTimestamp: now(),
        });
        return;
      } catch (err) {
        if (!isReason(err, "NotFound")) this.log(`updating event of ${key}: ${(err as Error).message}`);
      }
    }
    const ev = await this.event(pod, "Warning", "FailedScheduling", "Scheduling", message);
    if (ev) this.failedEvents.set(key, { name: ev.metadata?.name, message, count: 1, first: now() });
  }

  private async event(
    pod: KObject,
    type: string,
    reason: string,
    action: string,
    message: string,
  ): Promise<KObject | undefined> {
    const m = pod.metadata!;
    const ts = now();
    const ev = {
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: `${m.name}.${(BigInt(Date.now()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1e6))).toString(16)}`,
        namespace: m.namespace,
      },
      involvedObject: {
        apiVersion: "v1",
        kind: "Pod",
        namespace: m.namespace,
        name: m.name,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
      },
      reason,
      message,
      type,
      action,
      source: { component: DEFAULT_SCHEDULER_NAME },
      reportingComponent: DEFAULT_SCHEDULER_NAME,
      reportingInstance: this.instance,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    try {
      return await this.client.create(EVENTS, m.namespace, ev);
    } catch (err) {
      if (!isReason(err, "NotFound"))
        this.log(`event ${reason} for ${m.namespace}/${m.name}: ${(err as Error).message}`);
      return undefined;
    }
  }
}
