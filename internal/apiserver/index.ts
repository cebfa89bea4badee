// The API server part: HTTPS listener, registry over the store, bootstrap objects.
// Imports: api, store (types), and its own files. Only this part touches the store.
import { type IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { hostname } from "node:os";
import type { Duplex } from "node:stream";
import { RESOURCES } from "../api/resources";
import type { Store } from "../store/types";
import { GIT_VERSION, KUBE_VERSION } from "../version";
import { KubernetesAdmission } from "./admission";
import { DefaultAuthorizer, type NodeRule } from "./authz";
import { ObjectCache } from "./cache";
import { systemContext, type UserInfo } from "./context";
import { Discovery, type VirtualResource } from "./discovery";
import { ApiError } from "./errors";
import { createHandler, type HandlerDeps, type OpenApiSource } from "./handler";
import { Registry } from "./registry";
import { REVIEW_RESOURCES, registerProtobufBodies, reviewHandlers } from "./reviews";
import { KUBERNETES_SERVICE_IP, ServiceAllocator } from "./services";

export type { RequestContext, UserInfo } from "./context";
export { systemContext } from "./context";
export { ApiError, errors } from "./errors";
export { LocalClient } from "./local";
export { Registry } from "./registry";

export interface ApiServerConfig {
  bindAddress: string;
  port: number;
  tls: { certPem: string; keyPem: string };
  /** Address advertised in discovery (serverAddressByClientCIDRs). */
  advertiseAddress?: string;
}

export interface ApiServerDeps {
  store: Store;
  authenticate(token: string): UserInfo | undefined;
  nodeRule?: NodeRule;
  openapi?: OpenApiSource;
  virtualResources?: VirtualResource[];
  extra?: HandlerDeps["extra"];
  streams?: HandlerDeps["streams"];
  /** Requests served before authentication (the link's /cacerts and node credential); true when handled. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** HTTP upgrades (the agent link's WebSocket); true when handled. */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
  /**
   * Upgrades that are API requests (pods/exec, attach, portforward): true when `req`
   * is one (the callee keeps socket and head); it then goes through the handler like
   * any request (authentication, authorization, Status errors) and on to `streams`.
   */
  streamUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;
  log?: (msg: string) => void;
}

export interface ApiServer {
  registry: Registry;
  /** e.g. https://127.0.0.1:6443 */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export function versionInfo(): Record<string, string> {
  const [major, minor] = KUBE_VERSION.slice(1).split(".");
  return {
    major,
    minor,
    gitVersion: GIT_VERSION,
    gitCommit: "0000000000000000000000000000000000000000",
    gitTreeState: "clean",
    buildDate: "2026-11-26T00:00:00Z",
    goVersion: `node${process.versions.node}`,
    compiler: "tsk",
    platform: `linux/${process.arch === "x64" ? "amd64" : process.arch}`,
  };
}

/** Creates the namespaces and the `kubernetes` service every cluster has, if they are missing. */
export async function bootstrap(registry: Registry): Promise<void> {
  const ns = RESOURCES.find((r) => r.plural === "namespaces")!;
  const svc = RESOURCES.find((r) => r.plural === "services")!;
  const ensure = async (info: typeof ns, namespace: string | undefined, obj: Record<string, unknown>) => {
    const name = (obj.metadata as { name: string }).name;
    if (
      await registry.get(info, namespace, name).then(
        () => true,
        () => false,
      )
    )
      return;
    try {
      await registry.create(systemContext(), info, namespace, obj);
    } catch (err) {
      if (!(err instanceof ApiError && err.reason === "AlreadyExists")) throw err;
    }
  };
  for (const name of DEFAULT_NAMESPACES)
    await ensure(ns, undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  await ensure(svc, "default", {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
    spec: {
      clusterIP: KUBERNETES_SERVICE_IP,
      ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: 6443 }],
      sessionAffinity: "None",
      type: "ClusterIP",
    },
  });
}

export async function startApiServer(config: ApiServerConfig, deps: ApiServerDeps): Promise<ApiServer> {
  const cache = await ObjectCache.start(deps.store);
  const services = new ServiceAllocator();
  const registry = new Registry(
    deps.store,
    new KubernetesAdmission(),
    {
      services: {
        beforeCreate: (_ctx, info, obj) => services.allocate(info, obj),
        abortCreate: (obj) => services.release(obj),
        beforeUpdate: (_ctx, info, old, obj) => services.update(info, old, obj),
        afterDelete: (obj) => services.release(obj),
      },
    },
    cache,
  );
  const svcInfo = RESOURCES.find((r) => r.plural === "services")!;
  for (const svc of (await registry.list(svcInfo, undefined)).items) services.observe(svc);
  await bootstrap(registry);
  let ready = false;
  let port = config.port;
  registerProtobufBodies();
  const authorizer = new DefaultAuthorizer(deps.nodeRule);
  const reviews = reviewHandlers(authorizer);
  const discovery = new Discovery(
    () =>
      `${config.advertiseAddress ?? (config.bindAddress === "0.0.0.0" ? hostname() : config.bindAddress)}:${port}`,
    [...REVIEW_RESOURCES, ...(deps.virtualResources ?? [])],
  );
  const handler = createHandler({
    registry,
    discovery,
    authenticate: deps.authenticate,
    authorizer,
    version: versionInfo(),
    isReady: () => ready,
    openapi: deps.openapi,
    extra: async (req, res, url, ctx) =>
      (await reviews(req, res, url, ctx)) || (deps.extra ? deps.extra(req, res, url, ctx) : false),
    streams: deps.streams,
    log: deps.log,
  });
  const server: Server = createServer(
    { cert: config.tls.certPem, key: config.tls.keyPem, minVersion: "TLSv1.2", ALPNProtocols: ["http/1.1"] },
    (req, res) => {
      if (!deps.intercept?.(req, res)) handler(req, res);
    },
  );
  if (deps.upgrade || deps.streamUpgrade) {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (deps.streamUpgrade?.(req, socket, head)) {
        // A response on the raw socket, for errors (the stream handler answers 101 itself).
        const res = new ServerResponse(req);
        res.shouldKeepAlive = false;
        res.assignSocket(socket as Socket);
        res.on("finish", () => socket.end());
        handler(req, res);
        return;
      }
      if (!deps.upgrade?.(req, socket, head))
        socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    });
  }
  // Watches are long requests: no server-side timeouts on them.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    // Watch events are small writes: without this, Nagle holds each one until the
    // client's delayed ACK (tens of ms) of the previous one.
    s.setNoDelay(true);
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  server.on("tlsClientError", () => {
    // A client that failed the handshake (wrong CA, plain HTTP) is its own problem.
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.bindAddress, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr && typeof addr === "object") port = addr.port;
  ready = true;
  const host =
    config.bindAddress === "0.0.0.0" || config.bindAddress === "::" ? "127.0.0.1" : config.bindAddress;
  return {
    registry,
    url: `https://${host}:${port}`,
    port,
    close: async () => {
      ready = false;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
      cache.stop();
    },
  };
}
