// core/v1 Events the kubelet records about pods. A repeat of the same event
// (object, reason, message) bumps its count instead of creating a new object, as
// client-go's event correlator does.
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

  constructor(
    private readonly client: Client,
    private readonly nodeName: string,
    private readonly log: (msg: string) => void,
  ) {}

  /** Records an event about `pod` (optionally one of its containers). Never throws. */
  record(pod: Obj, type: "Normal" | "Warning", reason: string, message: string, container?: string): void {
    void this.send(pod, type, reason, message, container).catch((err) =>
      this.log(
        `event ${reason} for ${pod.metadata?.namespace}/${pod.metadata?.name}: ${(err as Error).message}`,
      ),
    );
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
