// core/v1 Events the kubelet records about pods. A repeat of the same event
// (object, reason, message) bumps its count instead of creating a new object, as
// client-go's event correlator does. Events leave at most at the kubelet's default
// rate (eventRecordQPS 50, eventBurst 100), so a node starting many pods at once
// writes their status before the bulk of their events.
import { randomBytes } from "node:crypto";
import { RESOURCES } from "../api/resources";
import type { Client } from "../client";

const EVENTS = RESOURCES.find((r) => r.group === "" && r.plural === "events")!;

type Obj = Record<string, any>;

export class EventRecorder {
  private readonly seen = new Map<
    string,
    { name: string; namespace: string; count: number; first: string }
  >();

  /** Events waiting for a token, oldest first. */
  private readonly pending: (() => Promise<void>)[] = [];
  private tokens: number;
  private refilled = Date.now();
  private timer?: NodeJS.Timeout;
  private dropped = 0;

  constructor(
    private readonly client: Client,
    private readonly nodeName: string,
    private readonly log: (msg: string) => void,
    private readonly rate: { qps: number; burst: number } = { qps: 50, burst: 100 },
  ) {
    this.tokens = rate.burst;
  }

  /** Records an event about `pod` (optionally one of its containers). Never throws. */
  record(pod: Obj, type: "Normal" | "Warning", reason: string, message: string, container?: string): void {
    // client-go's broadcaster drops events beyond a queue of 1000 rather than block.
    if (this.pending.length >= 1000) {
      if (this.dropped++ === 0) this.log("event queue full: dropping events");
      return;
    }
    this.pending.push(() =>
      this.send(pod, type, reason, message, container).catch((err) =>
        this.log(
          `event ${reason} for ${pod.metadata?.namespace}/${pod.metadata?.name}: ${(err as Error).message}`,
        ),
      ),
    );
    this.pump();
  }

  private pump(): void {
    const now = Date.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.refilled) / 1000) * this.rate.qps);
    this.refilled = now;
    while (this.pending.length && this.tokens >= 1) {
      this.tokens--;
      void this.pending.shift()!();
    }
    if (this.pending.length && !this.timer) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.pump();
        },
        Math.ceil(((1 - this.tokens) * 1000) / this.rate.qps),
      );
      this.timer.unref?.();
    }
    if (!this.pending.length && this.dropped) {
      this.log(`event queue drained; ${this.dropped} events were dropped`);
      this.dropped = 0;
    }
  }

  private async send(pod: Obj, type: string, reason: string, message: string, container?: string) {
    const m = pod.metadata ?? {};
    const fieldPath = container ? containerFieldPath(pod, container) : undefined;
    const key = `${m.uid}/${fieldPath ?? ""}/${reason}/${message}`;
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const prev = this.seen.get(key);
    if (prev) {
      prev.count++;
      try {
        await this.client.patch(EVENTS, prev.namespace, prev.name, "merge", {
          count: prev.count,
          lastTimestamp: now,
        });
        return;
      } catch {
        // gone (expired or deleted): create it again below
      }
    }
    const name = `${m.name}.${randomBytes(8).toString("hex")}`;
    const ev = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name, namespace: m.namespace },
      involvedObject: {
        apiVersion: "v1",
        kind: "Pod",
        namespace: m.namespace,
        name: m.name,
        uid: m.uid,
        resourceVersion: m.resourceVersion,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: "kubelet", host: this.nodeName },
      firstTimestamp: prev?.first ?? now,
      lastTimestamp: now,
      count: prev?.count ?? 1,
      reportingComponent: "kubelet",
      reportingInstance: this.nodeName,
    };
    await this.client.create(EVENTS, m.namespace, ev);
    this.seen.set(key, { name, namespace: m.namespace, count: ev.count, first: ev.firstTimestamp });
    if (this.seen.size > 5000) this.seen.delete(this.seen.keys().next().value as string);
  }

  /** Drops what it remembers about a pod (after the pod is gone). */
  forget(uid: string): void {
    for (const k of [...this.seen.keys()]) if (k.startsWith(`${uid}/`)) this.seen.delete(k);
  }
}

function containerFieldPath(pod: Obj, name: string): string {
  if ((pod.spec?.initContainers ?? []).some((c: Obj) => c.name === name))
    return `spec.initContainers{${name}}`;
  return `spec.containers{${name}}`;
}
