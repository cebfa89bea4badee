// What the kubelet is started with. `tsk agent` and `tsk server` (unless
// --disable-agent) build one from their flags.
import type { Client } from "../client";
import type { ImageStore } from "../images";
import type { Runtime } from "../runtime";

export interface NodeTaint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface KubeletConfig {
  /** The Node's name; pods with spec.nodeName equal to it run here. */
  nodeName: string;
  /** <data-dir>; pod volumes live under <data-dir>/agent/pods/<uid>. */
  dataDir: string;
  /** InternalIP reported on the Node and as hostIP (default: the first non-loopback IPv4). */
  nodeIP?: string;
  /** Extra Node labels (merged over the well-known ones). */
  labels: Record<string, string>;
  /** Taints set when the Node is first registered. */
  taints: NodeTaint[];
  /** Adds node-role.kubernetes.io/control-plane="true" (the server's own node). */
  isControlPlane: boolean;
  /** Cluster DNS address for ClusterFirst pods (default 10.43.0.10). */
  clusterDNS?: string;
  /** Cluster domain (default cluster.local). */
  clusterDomain?: string;
  /** Lease renewal period in ms (default 10 000). */
  leaseIntervalMs?: number;
  /** Node status report period in ms (default 10 000 as the kubelet's nodeStatusUpdateFrequency). */
  statusIntervalMs?: number;
  /** Full resync of every pod, in ms (default 10 000). */
  resyncIntervalMs?: number;
  /** Crash-loop back-off start and cap, in ms (default 10 000 and 300 000). */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Concurrent pod workers (default 32; the real kubelet runs one goroutine per pod). */
  workers?: number;
}

export interface KubeletDeps {
  client: Client;
  runtime: Runtime;
  images: ImageStore;
  log: (msg: string) => void;
}
