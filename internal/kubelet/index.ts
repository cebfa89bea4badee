// The kubelet: registers the Node, heartbeats its Lease, and runs the pods bound to it.
// Imports: api (resource table, quantities), client (Client, Informer, WorkQueue),
// runtime (containers, sandboxes), images (the node's store), volumes.
import type { Client } from "../client";
import type { ImageStore } from "../images";
import type { Runtime } from "../runtime";
import type { KubeletConfig } from "./config";
import { Kubelet } from "./kubelet";
import { registerNode, renewLease, reportNodeStatus } from "./node";

export type { KubeletConfig, KubeletDeps, NodeTaint } from "./config";
export { Kubelet, LABEL } from "./kubelet";
export { nodeImages, nodeLabels, nodeStatus, registerNode, renewLease, reportNodeStatus } from "./node";

export interface RunningKubelet {
  /** Resolves once the Node is registered, the pod cache has synced and orphans are removed. */
  ready: Promise<void>;
  /** Resolves after `signal` aborted and the loops have stopped. Containers keep running. */
  stopped: Promise<void>;
}

/**
 * Starts the kubelet for `config.nodeName`: registers the Node (or takes over an existing
 * one's status), renews its Lease every 10 s, reports Node status, and runs pods. Rejects
 * when the Node cannot be registered. Stopping (abort) leaves containers running: a
 * kubelet started again on the same data dir and node name picks them up.
 */
export async function startKubelet(
  config: KubeletConfig,
  deps: { client: Client; runtime: Runtime; images: ImageStore; log: (msg: string) => void },
  signal: AbortSignal,
): Promise<RunningKubelet> {
  const { client, log } = deps;
  let node = await registerNode(client, config).catch((err) => {
    throw new Error(`registering node ${config.nodeName}: ${(err as Error).message}`, { cause: err });
  });
  node = await reportNodeStatus(client, config, deps.images);
  let nodeUid: string | undefined = node.metadata?.uid;
  const beat = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (err) {
      if (!signal.aborted) log(`kubelet: ${what}: ${(err as Error).message}`);
    }
  };
  await beat("renewing lease", () => renewLease(client, config, nodeUid));
  const leaseTimer = setInterval(
    () => void beat("renewing lease", () => renewLease(client, config, nodeUid)),
    config.leaseIntervalMs ?? 10_000,
  );
  const statusTimer = setInterval(
    () =>
      void beat("reporting node status", async () => {
        node = await reportNodeStatus(client, config, deps.images);
        nodeUid = node.metadata?.uid;
      }),
    config.statusIntervalMs ?? 10_000,
  );
  const kubelet = new Kubelet(config, deps);
  const run = await kubelet.run(signal);
  const stopped = (async () => {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    clearInterval(leaseTimer);
    clearInterval(statusTimer);
    await run.stopped;
  })();
  return { ready: run.ready, stopped };
}
