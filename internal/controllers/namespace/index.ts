// Namespace deletion: a namespace being deleted (phase Terminating, the "kubernetes"
// finalizer in spec.finalizers) has its content deleted; once nothing is left, the
// finalizer is removed and the namespace goes.
import { RESOURCES } from "../../api/resources";
import { type Client, Informer, isReason, runWorkers, WorkQueue } from "../../client";

const NAMESPACES = RESOURCES.find((r) => r.plural === "namespaces")!;
const CONTENT = RESOURCES.filter((r) => r.namespaced && r.verbs.includes("delete"));

export class NamespaceController {
  private readonly informer: Informer;
  private readonly queue = new WorkQueue(50, 5_000);

  constructor(
    private readonly client: Client,
    private readonly log: (msg: string) => void,
  ) {
    this.informer = new Informer(client, NAMESPACES, {}, log);
    const enqueue = (o: { metadata?: { name?: string; deletionTimestamp?: string } }) => {
      if (o.metadata?.deletionTimestamp) this.queue.add(o.metadata.name!);
    };
    this.informer.on({ add: enqueue, update: (_o, n) => enqueue(n) });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.informer.start();
    signal.addEventListener("abort", () => {
      this.informer.stop();
      this.queue.shutdown();
    });
    await this.informer.waitForSync();
    await runWorkers(this.queue, 2, (k) => this.sync(k), this.log);
  }

  async sync(name: string): Promise<void> {
    const ns = this.informer.get(name);
    if (!ns?.metadata?.deletionTimestamp) return;
    let remaining = 0;
    for (const info of CONTENT) {
      const { items } = await this.client.list(info, name);
      for (const item of items) {
        remaining++;
        if (item.metadata?.deletionTimestamp) continue;
        try {
          await this.client.delete(info, name, item.metadata!.name, { propagationPolicy: "Background" });
        } catch (err) {
          if (!isReason(err, "NotFound")) throw err;
        }
      }
    }
    if (remaining > 0) {
      // Graceful pods and finalizers take time; look again shortly.
      this.queue.addAfter(name, 1000);
      return;
    }
    const fresh = await this.client.get(NAMESPACES, undefined, name);
    const finalizers = (fresh.spec?.finalizers ?? []).filter((f: string) => f !== "kubernetes");
    try {
      await this.client.update(NAMESPACES, undefined, { ...fresh, spec: { ...fresh.spec, finalizers } });
    } catch (err) {
      if (!isReason(err, "NotFound")) throw err;
    }
  }
}
