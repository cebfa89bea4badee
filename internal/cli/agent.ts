// `tsk agent --join URL --token TOKEN`: flags → AgentConfig → join the cluster, open
// the link, then run the kubelet on it (it registers the Node, keeps its Lease fresh
// and runs the pods bound to it). `tsk server` runs the same agent for its own machine.
import { isIP } from "node:net";
import { hostname } from "node:os";
import { openImageStore } from "../images";
import { type RunningKubelet, startKubelet } from "../kubelet";
import { LinkClient } from "../link/client";
import { JoinError, joinCluster } from "../link/join";
import { validNodeName } from "../pki/auth";
import { Runtime } from "../runtime";
import { serveStream } from "../streams/agent";
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
  /** The server's own node (k3s labels it control-plane). */
  isControlPlane?: boolean;
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
    statusIntervalMs: 10_000,
  };
}

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
  // The kubelet registers the Node, keeps its Lease and status fresh and runs its pods.
  const runtime = new Runtime({ dataDir: config.dataDir, nodeName: config.nodeName });
  const images = await openImageStore({ dataDir: config.dataDir });
  for (const r of await images.importDropFolder()) log(`images: ${JSON.stringify(r)}`);
  let kubelet: RunningKubelet;
  try {
    kubelet = await startKubelet(
      {
        nodeName: config.nodeName,
        dataDir: config.dataDir,
        nodeIP: config.nodeIp,
        labels: config.labels,
        taints: config.taints,
        isControlPlane: config.isControlPlane ?? false,
        leaseIntervalMs: config.leaseIntervalMs,
        statusIntervalMs: config.statusIntervalMs,
      },
      { client, runtime, images, log },
      signal,
    );
  } catch (err) {
    signal.removeEventListener("abort", onAbort);
    client.close();
    throw err;
  }
  await kubelet.ready;
  // kubectl logs/exec/attach/port-forward: the server opens these streams over the link.
  client.onStream((s) => serveStream(runtime, s, log));
  const stopped = kubelet.stopped.then(() => client.close());
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
