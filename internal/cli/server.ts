// `tsk server`: flags → ServerConfig → the control plane, started in order (store,
// credentials, API server), stopped in reverse on SIGTERM/SIGINT.
import { mkdir } from "node:fs/promises";
import { hostname, networkInterfaces } from "node:os";
import { join } from "node:path";
import { findResource } from "../api/resources";
import { OPENAPI_V2_CONTENT_TYPE, openapiV2Protobuf, openapiV3Document, openapiV3Root } from "../api/schema";
import { LocalClient, startApiServer } from "../apiserver";
import { createNodeRule } from "../apiserver/noderules";
import { startControllers } from "../controllers";
import { setDataDir } from "../embed";
import { createLinkServer, type LinkServer } from "../link/server";
import { ensureServerCredentials, writeKubeconfig } from "../pki";
import { startScheduler } from "../scheduler";
import { openStore } from "../store";
import type { Store } from "../store/types";
import { createStreamServer, isStreamUpgradePath, type PodLike, registerUpgrade } from "../streams/server";
import { type RunningAgent, startAgent } from "./agent";
import { type FlagSpec, parseFlags, usage } from "./flags";

export interface ServerConfig {
  dataDir: string;
  bindAddress: string;
  httpsPort: number;
  token?: string;
  kubeconfigPath: string;
  nodeName: string;
  disableAgent: boolean;
  tlsSans: string[];
  /** Changes kept in memory for watch resumption. */
  watchHistory: number;
}

export const serverFlags: FlagSpec[] = [
  { name: "data-dir", short: "d", type: "string", default: "/var/lib/tsk", help: "folder for state" },
  { name: "https-listen-port", type: "int", default: 6443, help: "HTTPS port of the API server" },
  { name: "bind-address", type: "string", default: "0.0.0.0", help: "address the API server listens on" },
  { name: "token", short: "t", type: "string", help: "shared secret agents join with (random when unset)" },
  {
    name: "write-kubeconfig",
    short: "o",
    type: "string",
    default: "/etc/tsk/tsk.yaml",
    help: "where to write the admin kubeconfig",
  },
  { name: "node-name", type: "string", help: "this machine's node name (default: hostname)" },
  { name: "disable-agent", type: "bool", default: false, help: "run the control plane only" },
  {
    name: "tls-san",
    type: "list",
    default: [],
    help: "extra hostname or IP for the serving certificate (repeatable)",
  },
  {
    name: "watch-history",
    type: "int",
    default: 10000,
    help: "changes kept in memory so watches can resume",
  },
  { name: "help", short: "h", type: "bool", help: "show this help" },
];

export function serverConfig(argv: string[], env = process.env): ServerConfig | undefined {
  const { values } = parseFlags(serverFlags, argv, env);
  if (values.help) return undefined;
  return {
    dataDir: values["data-dir"] as string,
    bindAddress: values["bind-address"] as string,
    httpsPort: values["https-listen-port"] as number,
    token: values.token as string | undefined,
    kubeconfigPath: values["write-kubeconfig"] as string,
    nodeName: ((values["node-name"] as string | undefined) ?? hostname()).toLowerCase(),
    disableAgent: values["disable-agent"] as boolean,
    tlsSans: values["tls-san"] as string[],
    watchHistory: values["watch-history"] as number,
  };
}

function machineAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (!a.internal) out.push(a.address);
  return out;
}

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

export async function startServer(config: ServerConfig, log: (msg: string) => void): Promise<RunningServer> {
  const serverDir = join(config.dataDir, "server");
  await mkdir(serverDir, { recursive: true, mode: 0o700 });
  const local =
    config.bindAddress === "0.0.0.0" || config.bindAddress === "::" ? "127.0.0.1" : config.bindAddress;
  const creds = await ensureServerCredentials({
    dataDir: config.dataDir,
    sans: [
      hostname(),
      "localhost",
      "127.0.0.1",
      ...machineAddresses(),
      config.bindAddress,
      ...config.tlsSans,
    ].filter((s) => s !== "0.0.0.0" && s !== "::"),
    token: config.token,
    kubeconfigPath: undefined,
    kubeconfigServer: "",
  }).catch((err) => {
    throw new Error(`setting up credentials: ${(err as Error).message}`);
  });
  let store: Store;
  try {
    store = await openStore({
      backend: "leveldb",
      path: join(serverDir, "db"),
      historyWindow: config.watchHistory,
    });
  } catch (err) {
    throw new Error(`starting store: ${(err as Error).message}`);
  }
  const nodeRules = createNodeRule(log);
  let link: LinkServer | undefined;
  let api: Awaited<ReturnType<typeof startApiServer>>;
  try {
    api = await startApiServer(
      {
        bindAddress: config.bindAddress,
        port: config.httpsPort,
        tls: { certPem: creds.pki.serverCertPem, keyPem: creds.pki.serverKeyPem },
      },
      {
        store,
        authenticate: (token) => creds.authenticator.authenticate(token),
        openapi: {
          root: openapiV3Root,
          document: openapiV3Document,
          v2: () => ({ body: openapiV2Protobuf(), contentType: OPENAPI_V2_CONTENT_TYPE }),
        },
        nodeRule: nodeRules.rule,
        intercept: (req, res) => link?.handleRequest(req, res) ?? false,
        upgrade: (req, socket, head) => link?.handleUpgrade(req, socket, head) ?? false,
        // kubectl logs/exec/attach/port-forward (internal/streams), carried to the pod's node over the link.
        streams: createStreamServer({
          getPod: (ns, name) =>
            api.registry.get(findResource("", "v1", "pods")!, ns, name) as Promise<PodLike>,
          openStream: (node, kind, params) =>
            link ? link.openStream(node, kind, params) : Promise.reject(new Error("the link is not up yet")),
          log,
        }),
        streamUpgrade: (req, socket, head) => {
          if (!isStreamUpgradePath(req.url)) return false;
          registerUpgrade(req, { socket, head });
          return true;
        },
        log,
      },
    );
  } catch (err) {
    await store.close();
    throw new Error(`starting API server: ${(err as Error).message}`, { cause: err });
  }
  const stopControllers = new AbortController();
  // The server's own components act as system users through the in-process client.
  const system = (name: string, fieldManager = name) =>
    new LocalClient(
      api.registry,
      { username: `system:${name}`, groups: ["system:masters", "system:authenticated"] },
      fieldManager,
    );
  link = createLinkServer({
    registry: api.registry,
    credentials: creds.authenticator,
    nodeRule: nodeRules.rule,
    caPem: creds.pki.caCertPem,
    joinSecret: creds.joinSecret,
    log,
  });
  await nodeRules.start(system("tsk-node-authorizer"), stopControllers.signal);
  await link.start(system("tsk-link"), stopControllers.signal);
  const controllers = startControllers(system("kube-controller-manager"), stopControllers.signal, log);
  const scheduler = startScheduler(
    system("kube-scheduler", "default-scheduler"),
    stopControllers.signal,
    log,
  ).catch((err) => log(`scheduler stopped: ${(err as Error).stack ?? err}`));
  // Written once the port is known (a test may ask for port 0).
  await writeKubeconfig(config.kubeconfigPath, {
    server: `https://${local}:${api.port}`,
    caPem: creds.pki.caCertPem,
    token: creds.adminToken,
  });
  // The server's own machine runs an agent like any other, over the link on loopback.
  const stopAgent = new AbortController();
  let agent: RunningAgent | undefined;
  // Reverse order of start. Containers keep running; the next start picks them up again.
  const shutdown = async () => {
    stopAgent.abort();
    await agent?.stopped;
    stopControllers.abort();
    await Promise.all([controllers, scheduler]);
    link?.close();
    await api.close();
    await store.close();
  };
  if (!config.disableAgent) {
    try {
      agent = await startAgent(
        {
          server: `https://127.0.0.1:${api.port}`,
          token: creds.joinToken,
          dataDir: config.dataDir,
          nodeName: config.nodeName,
          labels: {},
          taints: [],
          isControlPlane: true,
          leaseIntervalMs: 10_000,
          statusIntervalMs: 10_000,
        },
        stopAgent.signal,
        (m) => log(`agent: ${m}`),
      );
    } catch (err) {
      await shutdown();
      throw new Error(`starting the agent: ${(err as Error).message}`, { cause: err });
    }
  }
  return { url: api.url, stop: shutdown };
}

export async function run(argv: string[]): Promise<number> {
  const config = serverConfig(argv);
  if (!config) {
    process.stdout.write(
      `${usage("tsk server [FLAGS]", "Runs the control plane: store, API server, scheduler and controllers.", serverFlags)}\n`,
    );
    return 0;
  }
  // Native parts embedded in the executable are unpacked under the data dir.
  setDataDir(config.dataDir);
  const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} ${msg}\n`);
  const started = Date.now();
  const server = await startServer(config, log);
  log(
    `tsk server ready at ${server.url} in ${Date.now() - started} ms (kubeconfig ${config.kubeconfigPath}, data ${config.dataDir})`,
  );
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      log(`received ${sig}, shutting down`);
      resolve();
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  await server.stop();
  log("tsk server stopped");
  return 0;
}
