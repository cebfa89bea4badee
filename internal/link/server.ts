// The server end of the agent link: /cacerts (served before authentication, byte for
// byte, so an agent can check it against its token's hash), the node credential an
// agent obtains once with the join secret, and the WebSocket each agent keeps open.
//
// Every call arriving on a link is authorized as the node's user with the same
// Authorizer (and node rules) as HTTP, then executed through a LocalClient carrying
// that user, so admission sees exactly what it would see for an HTTPS request.
//
// Rejoin policy (as k3s with its node passwords): a node name that already has a
// credential is not given another one; the agent must present the credential it was
// given. An agent whose data dir was lost rejoins once the node is deleted
// (`kubectl delete node NAME` revokes the credential) or under another --node-name.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import { findResource, type ResourceInfo } from "../api/resources";
import { DefaultAuthorizer, type NodeRule } from "../apiserver/authz";
import type { UserInfo } from "../apiserver/context";
import { ApiError, errors } from "../apiserver/errors";
import { forbiddenMessage, type RequestAttributes } from "../apiserver/handler";
import { LocalClient } from "../apiserver/local";
import type { Registry } from "../apiserver/registry";
import { Informer } from "../client/informer";
import type { Client, ClientError, KObject, PatchType, WatchHandle } from "../client/types";
import { nodeNameOf, nodeUser, tokensEqual, validNodeName } from "../pki/auth";
import {
  CACERTS_PATH,
  decodeFrame,
  encodeFrame,
  type Frame,
  LINK_PATH,
  type LinkStatus,
  ProtocolError,
  type StreamKind,
} from "./protocol";
import { type LinkStream, StreamTable } from "./streams";

const CREDENTIAL_RE = /^\/v1-tsk\/nodes\/([^/]+)\/credential$/;

/** What the link needs of the server's token authenticator (pki TokenAuthenticator). */
export interface NodeCredentials {
  authenticate(bearer: string): UserInfo | undefined;
  hasNode(node: string): boolean;
  issueNodeToken(node: string): Promise<string>;
  revokeNodeToken(node: string): Promise<void>;
}

export interface LinkServerOptions {
  registry: Registry;
  credentials: NodeCredentials;
  /** The node rules the HTTP authorizer uses, so both paths decide alike. */
  nodeRule: NodeRule;
  /** The CA bundle exactly as hashed into the join token. */
  caPem: string;
  joinSecret: string;
  log: (msg: string) => void;
  /** Server → agent pings; a link silent for twice this long is dropped. */
  pingIntervalMs?: number;
  /** A link whose unsent backlog exceeds this is dropped (the agent resumes its watches). */
  maxBufferedBytes?: number;
}

export interface LinkServer {
  /** Serves /cacerts and the credential endpoint; false for any other request. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Takes the link's WebSocket upgrade; false for any other path. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Opens a reverse stream to `node`'s agent (for logs/exec/attach/port-forward). */
  openStream(node: string, kind: StreamKind, params: Record<string, unknown>): Promise<LinkStream>;
  /** Nodes with a link open now. */
  connectedNodes(): string[];
  /** Revokes the credential of nodes whose Node object is deleted; resolves once watching. */
  start(client: Client, signal: AbortSignal): Promise<void>;
  close(): void;
}

function statusOf(err: unknown): LinkStatus {
  if (err instanceof ApiError) {
    return {
      code: err.httpCode,
      reason: err.reason,
      message: err.message,
      ...(err.details ? { details: err.details as Record<string, unknown> } : {}),
    };
  }
  const e = err as ClientError;
  return {
    code: e?.httpCode ?? 500,
    reason: e?.reason ?? "InternalError",
    message: e?.message ?? String(err),
  };
}

function sendHttp(res: ServerResponse, code: number, body: unknown, type = "application/json"): void {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(code, { "Content-Type": type, "Content-Length": String(Buffer.byteLength(text)) });
  res.end(text);
}

function rejectUpgrade(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(err.toStatus());
  const text = { 401: "Unauthorized", 403: "Forbidden", 400: "Bad Request" }[err.httpCode] ?? "Error";
  socket.end(
    `HTTP/1.1 ${err.httpCode} ${text}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
  return m?.[1];
}

export function createLinkServer(opts: LinkServerOptions): LinkServer {
  const authorizer = new DefaultAuthorizer(opts.nodeRule);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024, perMessageDeflate: false });
  const links = new Map<string, Set<AgentLink>>();
  const caBytes = Buffer.from(opts.caPem);
  let informer: Informer | undefined;

  async function issueCredential(req: IncomingMessage, res: ServerResponse, node: string): Promise<void> {
    const from = req.socket.remoteAddress ?? "?";
    const secret = bearer(req);
    if (req.method !== "POST") return sendHttp(res, 405, errors.methodNotAllowed().toStatus());
    if (secret === undefined || !tokensEqual(secret, opts.joinSecret)) {
      opts.log(`link: credential request for node ${node} from ${from} refused: wrong join secret`);
      const e = new ApiError(
        401,
        "Unauthorized",
        "the join token's secret is not this cluster's: check --token (\"tsk token\" on the server prints it)",
      );
      return sendHttp(res, 401, e.toStatus());
    }
    if (!validNodeName(node)) {
      const e = errors.badRequest(
        `invalid node name ${JSON.stringify(node)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      );
      return sendHttp(res, 400, e.toStatus());
    }
    if (opts.credentials.hasNode(node)) {
      opts.log(`link: credential request for node ${node} from ${from} refused: the node already joined`);
      const e = new ApiError(
        409,
        "AlreadyExists",
        `node "${node}" has already joined with another credential; run the agent with the data dir it joined with, pick another --node-name, or delete the node ("kubectl delete node ${node}") to let it join again`,
      );
      return sendHttp(res, 409, e.toStatus());
    }
    const token = await opts.credentials.issueNodeToken(node);
    opts.log(`link: credential request for node ${node} from ${from}: issued`);
    sendHttp(res, 200, { kind: "NodeCredential", apiVersion: "tsk.io/v1", node, token });
  }

  const server: LinkServer = {
    handleRequest(req, res) {
      const path = new URL(req.url ?? "/", "https://localhost").pathname;
      if (path === CACERTS_PATH) {
        if (req.method !== "GET" && req.method !== "HEAD") {
          sendHttp(res, 405, errors.methodNotAllowed().toStatus());
          return true;
        }
        res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": String(caBytes.length) });
        res.end(req.method === "HEAD" ? undefined : caBytes);
        return true;
      }
      const m = CREDENTIAL_RE.exec(path);
      if (!m) return false;
      issueCredential(req, res, decodeURIComponent(m[1])).catch((err) => {
        opts.log(`link: issuing a credential: ${(err as Error).message}`);
        if (!res.headersSent) sendHttp(res, 500, errors.internal((err as Error).message).toStatus());
        else res.destroy();
      });
      return true;
    },

    handleUpgrade(req, socket, head) {
      const path = new URL(req.url ?? "/", "https://localhost").pathname;
      if (path !== LINK_PATH) return false;
      const token = bearer(req);
      const user = token ? opts.credentials.authenticate(token) : undefined;
      if (!user) {
        rejectUpgrade(socket, errors.unauthorized());
        return true;
      }
      const node = nodeNameOf({ ...user, uid: user.uid ?? "" });
      if (node === undefined) {
        rejectUpgrade(
          socket,
          errors.forbidden(`User "${user.username}" is not a node: the link is for agents`),
        );
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        const link = new AgentLink(ws, node, user, opts, authorizer, () => {
          links.get(node)?.delete(link);
          if (links.get(node)?.size === 0) links.delete(node);
          opts.log(`link: node ${node} disconnected`);
        });
        let set = links.get(node);
        if (!set) {
          set = new Set();
          links.set(node, set);
        }
        set.add(link);
        opts.log(`link: node ${node} connected from ${req.socket.remoteAddress ?? "?"}`);
      });
      return true;
    },

    openStream(node, kind, params) {
      const set = links.get(node);
      if (!set || set.size === 0)
        return Promise.reject(
          errors.unavailable(`node "${node}" is not connected: its agent has no link to the server`),
        );
      // The newest link is the live one when an agent restarted before the old one timed out.
      const link = [...set][set.size - 1];
      return link.streams.open(kind, params);
    },

    connectedNodes() {
      return [...links.keys()];
    },

    async start(client, signal) {
      const nodes = findResource("", "v1", "nodes")!;
      informer = new Informer(client, nodes, {}, opts.log);
      informer.on({
        delete: (obj) => {
          const name = obj.metadata?.name;
          if (typeof name !== "string" || !opts.credentials.hasNode(name)) return;
          opts.log(`link: node ${name} deleted; revoking its credential`);
          opts.credentials.revokeNodeToken(name).catch((err) => opts.log(`link: revoking ${name}: ${err}`));
          for (const l of links.get(name) ?? []) l.terminate("the node was deleted");
        },
      });
      signal.addEventListener("abort", () => informer?.stop(), { once: true });
      informer.start();
      await informer.waitForSync();
    },

    close() {
      informer?.stop();
      for (const set of links.values()) for (const l of set) l.terminate("the server is shutting down");
      links.clear();
      wss.close();
    },
  };
  return server;
}

/** One agent's connection: calls and watches in, results, events and streams out. */
class AgentLink {
  private readonly client: LocalClient;
  private readonly watches = new Map<number, WatchHandle>();
  /** Watches still being opened, and which of them the agent cancelled meanwhile. */
  private readonly opening = new Map<number, { cancelled: boolean }>();
  readonly streams: StreamTable;
  private alive = true;
  private closed = false;
  private readonly pinger: NodeJS.Timeout;
  private readonly maxBuffered: number;

  constructor(
    private readonly ws: WebSocket,
    readonly node: string,
    private readonly user: UserInfo,
    private readonly opts: LinkServerOptions,
    private readonly authorizer: DefaultAuthorizer,
    private readonly onClose: () => void,
  ) {
    this.client = new LocalClient(opts.registry, nodeUser(node), "tsk-agent");
    this.streams = new StreamTable((f) => this.send(f));
    this.maxBuffered = opts.maxBufferedBytes ?? 32 * 1024 * 1024;
    ws.on("message", (data, isBinary) => this.receive(data as Buffer, isBinary));
    ws.on("pong", () => (this.alive = true));
    ws.on("close", () => this.cleanup());
    ws.on("error", () => this.cleanup());
    const interval = opts.pingIntervalMs ?? 15_000;
    this.pinger = setInterval(() => {
      if (!this.alive) return this.terminate("no answer to pings");
      this.alive = false;
      ws.ping();
    }, interval);
  }

  terminate(why: string): void {
    if (this.closed) return;
    this.opts.log(`link: dropping node ${this.node}: ${why}`);
    this.ws.terminate();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pinger);
    for (const w of this.watches.values()) w.cancel();
    this.watches.clear();
    this.streams.failAll("the agent's link closed");
    this.onClose();
  }

  private send(f: Frame): void {
    if (this.closed) return;
    this.ws.send(encodeFrame(f));
    // An agent that stops reading is dropped rather than buffered without bound; it
    // reconnects and resumes its watches from the last revision it saw.
    if (this.ws.bufferedAmount > this.maxBuffered) this.terminate("too far behind");
  }

  private receive(data: Buffer, isBinary: boolean): void {
    let f: Frame;
    try {
      if (!isBinary) throw new ProtocolError("text message on a binary link");
      f = decodeFrame(data);
    } catch (err) {
      this.opts.log(`link: node ${this.node}: ${(err as Error).message}; closing`);
      this.ws.close(1002, "protocol error");
      return;
    }
    if (this.streams.handle(f)) return;
    switch (f.t) {
      case "call":
        this.call(f).then(
          (body) => this.send({ t: "result", id: f.id, body }),
          (err) => this.send({ t: "error", id: f.id, status: statusOf(err) }),
        );
        return;
      case "watch":
        this.watch(f).catch((err) => this.send({ t: "wclose", id: f.id, status: statusOf(err) }));
        return;
      case "unwatch": {
        const o = this.opening.get(f.id);
        if (o) o.cancelled = true;
        this.watches.get(f.id)?.cancel();
        this.watches.delete(f.id);
        return;
      }
      default:
        this.opts.log(`link: node ${this.node} sent a ${f.t} frame, which only the server sends; ignored`);
    }
  }

  private resolve(r: { g: string; v: string; p: string }): ResourceInfo {
    const info = findResource(r.g, r.v, r.p);
    if (!info) throw errors.notFoundPath();
    return info;
  }

  private authorize(attrs: RequestAttributes & { fieldSelector?: string }, info: ResourceInfo): void {
    const d = this.authorizer.authorize(this.user, attrs);
    if (!d.allowed)
      throw errors.forbidden(forbiddenMessage(this.user, attrs), {
        ...(attrs.name ? { name: attrs.name } : {}),
        group: info.group,
        kind: info.plural,
      });
  }

  private async call(f: Extract<Frame, { t: "call" }>): Promise<unknown> {
    const info = this.resolve(f.r);
    const body = f.body as KObject | undefined;
    const opts = (f.opts ?? {}) as Record<string, any>;
    const name = f.verb === "create" || f.verb === "update" ? body?.metadata?.name : f.name;
    if (f.verb !== "list" && f.verb !== "create" && typeof name !== "string")
      throw errors.badRequest(`${f.verb} needs a name`);
    if (info.namespaced && f.verb !== "list" && f.ns === undefined)
      throw errors.badRequest(`${info.plural} are namespaced: ${f.verb} needs a namespace`);
    if ((f.verb === "create" || f.verb === "update") && (typeof body !== "object" || body === null))
      throw errors.badRequest(`${f.verb} needs an object`);
    this.authorize(
      {
        verb: f.verb,
        group: info.group,
        resource: info.plural,
        subresource: f.sub,
        namespace: f.ns,
        name: typeof name === "string" ? name : undefined,
        fieldSelector: f.verb === "list" ? opts.fieldSelector : undefined,
      },
      info,
    );
    switch (f.verb) {
      case "get":
        return this.client.get(info, f.ns, f.name!);
      case "list":
        return this.client.list(info, f.ns, opts);
      case "create":
        return this.client.create(info, f.ns, body!);
      case "update":
        return this.client.update(info, f.ns, body!, f.sub);
      case "patch": {
        const type = f.ptype as PatchType;
        if (type !== "json" && type !== "merge" && type !== "strategic")
          throw errors.badRequest(`unknown patch type ${JSON.stringify(f.ptype)}`);
        return this.client.patch(info, f.ns, f.name!, type, f.body, f.sub);
      }
      case "delete":
        return this.client.delete(info, f.ns, f.name!, opts);
    }
  }

  private async watch(f: Extract<Frame, { t: "watch" }>): Promise<void> {
    const info = this.resolve(f.r);
    this.authorize(
      {
        verb: "watch",
        group: info.group,
        resource: info.plural,
        namespace: f.ns,
        fieldSelector: f.fs,
      },
      info,
    );
    if (this.watches.has(f.id) || this.opening.has(f.id))
      throw errors.badRequest(`watch ${f.id} is already open`);
    let over = false;
    const state = { cancelled: false };
    this.opening.set(f.id, state);
    const handle = await this.client.watch(
      info,
      f.ns,
      { resourceVersion: f.rv, labelSelector: f.ls, fieldSelector: f.fs },
      (ev) => {
        if (!over) this.send({ t: "event", id: f.id, type: ev.type, obj: ev.object });
      },
      (err) => {
        if (over) return;
        over = true;
        this.watches.delete(f.id);
        this.send({ t: "wclose", id: f.id, status: statusOf(err) });
      },
    );
    this.opening.delete(f.id);
    if (over || this.closed || state.cancelled) handle.cancel();
    else this.watches.set(f.id, handle);
  }
}
