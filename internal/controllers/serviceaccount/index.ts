// Every active namespace has a "default" ServiceAccount, which pods use unless they
// name another; it is recreated if deleted, as Kubernetes' serviceaccounts controller does.
import { RESOURCES } from "../../api/resources";
import { type Client, Informer, isReason, runWorkers, WorkQueue } from "../../client";

const NAMESPACES = RESOURCES.find((r) => r.group === "" && r.plural === "namespaces")!;
const SERVICE_ACCOUNTS = RESOURCES.find((r) => r.group === "" && r.plural === "serviceaccounts")!;

export class ServiceAccountController {
  private readonly namespaces: Informer;
  private readonly accounts: Informer;
  private readonly queue = new WorkQueue(50, 10_000);

  constructor(
    private readonly client: Client,
    private readonly log: (msg: string) => void,
  ) {
    this.namespaces = new Informer(client, NAMESPACES, {}, log);
    this.accounts = new Informer(client, SERVICE_ACCOUNTS, { fieldSelector: "metadata.name=default" }, log);
    this.namespaces.on({
      add: (ns) => this.queue.add(ns.metadata!.name),
      update: (_o, ns) => this.queue.add(ns.metadata!.name),
    });
    this.accounts.on({ delete: (sa) => this.queue.add(sa.metadata!.namespace) });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.namespaces.start();
    this.accounts.start();
    signal.addEventListener("abort", () => {
      this.namespaces.stop();
      this.accounts.stop();
      this.queue.shutdown();
    });
    await Promise.all([this.namespaces.waitForSync(), this.accounts.waitForSync()]);
    await runWorkers(this.queue, 1, (k) => this.sync(k), this.log);
  }

  async sync(namespace: string): Promise<void> {
    const ns = this.namespaces.get(namespace);
    if (!ns || ns.metadata?.deletionTimestamp || ns.status?.phase === "Terminating") return;
    if (this.accounts.get(`${namespace}/default`)) return;
    try {
      await this.client.create(SERVICE_ACCOUNTS, namespace, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "default" },
      });
    } catch (err) {
      // Exists already (the cache is behind) or the namespace started terminating meanwhile.
      if (!isReason(err, "AlreadyExists") && !isReason(err, "Forbidden") && !isReason(err, "NotFound"))
        throw err;
    }
  }
}
