// `tsk agent --join URL --token TOKEN`: flags → AgentConfig → join the cluster, open
// the link, register this machine's Node and keep its Lease fresh. The kubelet (pods)
// starts from `startAgent`'s result: the LinkClient and the node name.
import { readFileSync, statfsSync } from "node:fs";
import { isIP } from "node:net";
import { availableParallelism, hostname, networkInterfaces, release, totalmem } from "node:os";
import { findResource } from "../api/resources";
import { type Client, isReason, type KObject } from "../client/types";
import { LinkClient } from "../link/client";
import { JoinError, joinCluster } from "../link/join";
import { validNodeName } from "../pki/auth";
import { GIT_VERSION, TSK_VERSION } from "../version";
import { type FlagSpec, parseFlags, UsageError, usage } from "./flags";

export interface Taint {
  key: string;
  value?: string;
  effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
}

export interface AgentConfig {
  server: string;
  token: string;
  dataDir: string;
  nodeName: string;
  nodeIp?: string;
  labels: Record<string, string>;
  taints: Taint[];
  /** Lease renewal period (Kubernetes: 10 s). */
  leaseIntervalMs: number;
  /** Node status report period. */
  statusIntervalMs: number;
}

export const agentFlags: FlagSpec[] = [
  { name: "join", short: "s", type: "string", help: "the server to join, https://HOST:6443" },
  { name: "token", short: "t", type: "string", help: 'the join token ("tsk token" on the server prints it)' },
  { name: "data-dir", short: "d", type: "string", default: "/var/lib/tsk", help: "folder for state" },
  { name: "node-name", type: "string", help: "this node's name (default: hostname)" },
  { name: "node-ip", type: "string", help: "the address other nodes reach this one at" },
  { name: "node-label", type: "list", default: [], help: "label k=v for this node (repeatable)" },
  { name: "node-taint", type: "list", default: [], help: "taint k=v:Effect for this node (repeatable)" },
  { name: "help", short: "h", type: "bool", help: "show this help" },
];

const LABEL_KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/;
const EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

export function parseLabel(s: string): [string, string] {
  const eq = s.indexOf("=");
  const [k, v] = eq < 0 ? [s, ""] : [s.slice(0, eq), s.slice(eq + 1)];
  if (!LABEL_KEY.test(k)) throw new UsageError(`--node-label ${JSON.stringify(s)}: invalid label key`);
  if (!LABEL_VALUE.test(v)) throw new UsageError(`--node-label ${JSON.stringify(s)}: invalid label value`);
  return [k, v];
}

export function parseTaint(s: string): Taint {
  const colon = s.lastIndexOf(":");
  if (colon < 0) throw new UsageError(`--node-taint ${JSON.stringify(s)}: expected key[=value]:Effect`);
  const effect = s.slice(colon + 1);
  if (!EFFECTS.includes(effect))
    throw new UsageError(
      `--node-taint ${JSON.stringify(s)}: effect must be one of ${EFFECTS.join(", ")}, got ${JSON.stringify(effect)}`,
    );
  const [key, value] = parseLabel(s.slice(0, colon));
  return { key, ...(value ? { value } : {}), effect: effect as Taint["effect"] };
}

export function agentConfig(argv: string[], env = process.env): AgentConfig | undefined {
  const { values, rest } = parseFlags(agentFlags, argv, env);
  if (values.help) return undefined;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const server = values.join as string | undefined;
  const token = values.token as string | undefined;
  if (!server) throw new UsageError("--join is required (the server's URL, https://HOST:6443)");
  if (!token) throw new UsageError('--token is required ("tsk token" on the server prints it)');
  const nodeName = ((values["node-name"] as string | undefined) ?? hostname()).toLowerCase();
  if (!validNodeName(nodeName))
    throw new UsageError(
      `node name ${JSON.stringify(nodeName)} is not a lower-case DNS-1123 subdomain: pass --node-name`,
    );
  const nodeIp = values["node-ip"] as string | undefined;
  if (nodeIp !== undefined && isIP(nodeIp) === 0)
    throw new UsageError(`--node-ip ${JSON.stringify(nodeIp)} is not an IP address`);
  return {
    server,
    token,
    dataDir: values["data-dir"] as string,
    nodeName,
    nodeIp,
    labels: Object.fromEntries((values["node-label"] as string[]).map(parseLabel)),
    taints: (values["node-taint"] as string[]).map(parseTaint),
    leaseIntervalMs: 10_000,
    statusIntervalMs: 60_000,
  };
}

const NODES = findResource("", "v1", "nodes")!;
const LEASES = findResource("coordination.k8s.io", "v1", "leases")!;

function now(): string {
  return `${new Date().toISOString().slice(0, 19)}Z`;
}

function microNow(): string {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

function osImage(): string {
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readTrimmed("/etc/os-release"));
  return m?.[1] ?? "Linux";
}

export function goArch(): string {
  return (
    { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x" }[
      process.arch as string
    ] ?? process.arch
  );
}

function defaultIp(): string | undefined {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal && a.family === "IPv4") return a.address;
  return undefined;
}

/** Capacity of this machine as the kubelet reports it. */
export function machineCapacity(dataDir: string): Record<string, string> {
  const cap: Record<string, string> = {
    cpu: String(availableParallelism()),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: "110",
  };
  try {
    const fs = statfsSync(dataDir);
    cap["ephemeral-storage"] = `${Math.floor((fs.blocks * fs.bsize) / 1024)}Ki`;
  } catch {
    // The data dir may not exist yet on a first start; the next report has it.
  }
  return cap;
}

/** The Node object this agent registers. */
export function nodeObject(config: AgentConfig): KObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: config.nodeName,
      labels: {
        "beta.kubernetes.io/arch": goArch(),
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": goArch(),
        "kubernetes.io/hostname": config.nodeName,
        "kubernetes.io/os": "linux",
        ...config.labels,
      },
      annotations: {
        "node.alpha.kubernetes.io/ttl": "0",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
      },
    },
    spec: config.taints.length ? { taints: config.taints } : {},
  };
}

/** The status part: capacity, conditions, addresses, nodeInfo. */
export function nodeStatus(config: AgentConfig, previous?: KObject): KObject {
  const t = now();
  const prevConds: KObject[] = previous?.status?.conditions ?? [];
  const cond = (type: string, status: string, reason: string, message: string) => {
    const old = prevConds.find((c) => c.type === type);
    return {
      type,
      status,
      lastHeartbeatTime: t,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : t,
      reason,
      message,
    };
  };
  const ip = config.nodeIp ?? defaultIp();
  const cap = machineCapacity(config.dataDir);
  return {
    capacity: cap,
    allocatable: cap,
    conditions: [
      cond(
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
      ),
      cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
      cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
      cond("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
    ],
    addresses: [
      ...(ip ? [{ type: "InternalIP", address: ip }] : []),
      { type: "Hostname", address: hostname() },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: readTrimmed("/etc/machine-id"),
      systemUUID: readTrimmed("/sys/class/dmi/id/product_uuid"),
      bootID: readTrimmed("/proc/sys/kernel/random/boot_id"),
      kernelVersion: release(),
      osImage: osImage(),
      containerRuntimeVersion: `tsk://${TSK_VERSION}`,
      kubeletVersion: GIT_VERSION,
      kubeProxyVersion: GIT_VERSION,
      operatingSystem: "linux",
      architecture: goArch(),
    },
  };
}

/** Creates the Node, or brings an existing one's labels up to date; then reports status. */
export async function registerNode(client: Client, config: AgentConfig): Promise<KObject> {
  const want = nodeObject(config);
  let node: KObject;
  try {
    node = await client.create(NODES, undefined, want);
  } catch (err) {
    if (!isReason(err, "AlreadyExists")) throw err;
    node = await client.patch(NODES, undefined, config.nodeName, "merge", {
      metadata: { labels: want.metadata!.labels },
    });
  }
  return reportStatus(client, config, node);
}

export async function reportStatus(client: Client, config: AgentConfig, node?: KObject): Promise<KObject> {
  let cur = node ?? (await client.get(NODES, undefined, config.nodeName));
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.update(NODES, undefined, { ...cur, status: nodeStatus(config, cur) }, "status");
    } catch (err) {
      // Someone else (a label, cordon) changed the Node meanwhile: report on the new one.
      if (!isReason(err, "Conflict") || attempt >= 4) throw err;
      cur = await client.get(NODES, undefined, config.nodeName);
    }
  }
}

/** Renews (creating it on first use) the node's Lease in kube-node-lease. */
export async function renewLease(client: Client, config: AgentConfig, nodeUid?: string): Promise<KObject> {
  const spec = { holderIdentity: config.nodeName, leaseDurationSeconds: 40, renewTime: microNow() };
  try {
    const cur = await client.get(LEASES, "kube-node-lease", config.nodeName);
    return await client.update(LEASES, "kube-node-lease", { ...cur, spec: { ...cur.spec, ...spec } });
  } catch (err) {
    if (!isReason(err, "NotFound")) throw err;
    return client.create(LEASES, "kube-node-lease", {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: config.nodeName,
        namespace: "kube-node-lease",
        ...(nodeUid
          ? { ownerReferences: [{ apiVersion: "v1", kind: "Node", name: config.nodeName, uid: nodeUid }] }
          : {}),
      },
      spec,
    });
  }
}

/**
 * Joins, waiting with back-off while the server cannot be reached (an agent may well
 * start before its server, as under systemd); any refusal ends the wait at once.
 */
async function joinWhenReachable(
  opts: Parameters<typeof joinCluster>[0],
  signal: AbortSignal,
  log: (msg: string) => void,
): Promise<Awaited<ReturnType<typeof joinCluster>>> {
  for (let delay = 1000; ; delay = Math.min(delay * 2, 30_000)) {
    try {
      return await joinCluster(opts);
    } catch (err) {
      if (!(err instanceof JoinError && err.code === "UNREACHABLE") || signal.aborted) throw err;
      log(`waiting for the server: ${err.message}; retrying in ${Math.round(delay / 1000)} s`);
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
    if (signal.aborted) throw new JoinError("stopped before joining", "UNREACHABLE");
  }
}

export interface RunningAgent {
  client: LinkClient;
  nodeName: string;
  /** Resolves when the agent has stopped (after the signal). */
  stopped: Promise<void>;
}

/**
 * Joins, opens the link, registers the Node and heartbeats its Lease until `signal`.
 * Rejects when the join is refused (wrong token, CA mismatch, name taken).
 */
export async function startAgent(
  config: AgentConfig,
  signal: AbortSignal,
  log: (msg: string) => void = () => {},
): Promise<RunningAgent> {
  const joinOpts = {
    server: config.server,
    token: config.token,
    dataDir: config.dataDir,
    node: config.nodeName,
    log,
  };
  const identity = await joinWhenReachable(joinOpts, signal, log);
  const client = new LinkClient({
    server: identity.server,
    caPem: identity.caPem,
    token: identity.token,
    log,
    // A credential the server no longer knows (node deleted, server data reset): join again.
    onUnauthorized: async () => {
      log("the server refused this node's credential; joining again with the join token");
      return (await joinCluster(joinOpts, false)).token;
    },
  });
  const onAbort = () => client.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await client.start();
  } catch (err) {
    signal.removeEventListener("abort", onAbort);
    client.close();
    throw err;
  }
  let node = await registerNode(client, config);
  log(`node ${config.nodeName} registered`);
  let nodeUid: string | undefined = node.metadata?.uid;
  const beat = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (err) {
      if (!signal.aborted) log(`${what}: ${(err as Error).message}`);
    }
  };
  await beat("renewing lease", () => renewLease(client, config, nodeUid));
  const leaseTimer = setInterval(
    () => void beat("renewing lease", () => renewLease(client, config, nodeUid)),
    config.leaseIntervalMs,
  );
  const statusTimer = setInterval(
    () =>
      void beat("reporting node status", async () => {
        // The node may have been deleted meanwhile: register it again, as the kubelet does.
        try {
          node = await reportStatus(client, config);
        } catch (err) {
          if (!isReason(err, "NotFound")) throw err;
          node = await registerNode(client, config);
        }
        nodeUid = node.metadata?.uid;
      }),
    config.statusIntervalMs,
  );
  const stopped = new Promise<void>((resolve) => {
    const stop = () => {
      clearInterval(leaseTimer);
      clearInterval(statusTimer);
      client.close();
      resolve();
    };
    if (signal.aborted) stop();
    else signal.addEventListener("abort", stop, { once: true });
  });
  return { client, nodeName: config.nodeName, stopped };
}

export async function run(argv: string[]): Promise<number> {
  const config = agentConfig(argv);
  if (!config) {
    process.stdout.write(
      `${usage("tsk agent --join https://HOST:6443 --token TOKEN [FLAGS]", "Joins a cluster and runs its workloads on this machine.", agentFlags)}\n`,
    );
    return 0;
  }
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
  const ac = new AbortController();
  const onSignal = (sig: string) => {
    log(`received ${sig}, shutting down`);
    ac.abort();
  };
  process.once("SIGTERM", () => onSignal("SIGTERM"));
  process.once("SIGINT", () => onSignal("SIGINT"));
  let agent: RunningAgent;
  try {
    agent = await startAgent(config, ac.signal, log);
  } catch (err) {
    if (ac.signal.aborted) return 0;
    if (err instanceof JoinError || (err as { reason?: string }).reason === "Unauthorized") {
      process.stderr.write(`tsk agent: ${(err as Error).message}\n`);
      return 1;
    }
    throw new Error(`starting agent: ${(err as Error).message}`, { cause: err });
  }
  log(`tsk agent ${config.nodeName} ready (server ${config.server})`);
  await agent.stopped;
  log("tsk agent stopped");
  return 0;
}
