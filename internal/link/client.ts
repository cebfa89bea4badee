// The agent end of the link: a Client (internal/client) whose transport is one
// WebSocket to the server, so the kubelet uses the same interface as the server's
// controllers. It reconnects with exponential back-off; watches survive a reconnect
// by resuming from the last resourceVersion they delivered (a revision the server no
// longer holds ends the watch with reason Expired, and the informer relists), so a
// dropped link or a server restart loses nothing a relist would not restore.
import { WebSocket } from "ws";
import type { ResourceInfo } from "../api/resources";
import type {
  Client,
  ClientError,
  DeleteOptions,
  KObject,
  ListOptions,
  ListResult,
  PatchType,
  WatchEvent,
  WatchHandle,
} from "../client/types";
import {
  decodeFrame,
  encodeFrame,
  type Frame,
  LINK_PATH,
  type LinkStatus,
  type ResourceRef,
} from "./protocol";
import { type LinkStream, StreamTable } from "./streams";

export interface LinkClientOptions {
  /** The server, e.g. https://10.0.0.1:6443 */
  server: string;
  /** The cluster CA: the only one trusted. */
  caPem: string;
  /** The node credential. */
  token: string;
  log?: (msg: string) => void;
  /**
   * The server refused the credential (401): return a new one (rejoin) or throw to
   * stop for good; every pending and later call then fails with that error.
   */
  onUnauthorized?: () => Promise<string>;
  /** Back-off between reconnects: starts at initialMs, doubles up to maxMs (±20% jitter). */
  backoff?: { initialMs: number; maxMs: number };
  /** A call without an answer in this time fails with reason Timeout. */
  callTimeoutMs?: number;
  /** The link is dropped when the server is silent (no ping, no frame) this long. */
  idleTimeoutMs?: number;
}

interface PendingCall {
  frame: Extract<Frame, { t: "call" }>;
  resolve(v: unknown): void;
  reject(e: ClientError): void;
  timer: NodeJS.Timeout;
  sent: boolean;
}

interface ActiveWatch {
  id: number;
  r: ResourceRef;
  ns?: string;
  rv: string;
  ls?: string;
  fs?: string;
  onEvent(ev: WatchEvent): void;
  onError(err: ClientError): void;
}

function clientError(s: LinkStatus): ClientError {
  return Object.assign(new Error(s.message), { reason: s.reason, httpCode: s.code });
}

function linkLost(msg: string): ClientError {
  return Object.assign(new Error(msg), { reason: "ServiceUnavailable", httpCode: 503 });
}

const refOf = (info: ResourceInfo): ResourceRef => ({ g: info.group, v: info.version, p: info.plural });

export class LinkClient implements Client {
  private ws?: WebSocket;
  private connected = false;
  private stopped = false;
  private fatal?: ClientError;
  private nextId = 1;
  private readonly calls = new Map<number, PendingCall>();
  private readonly watches = new Map<number, ActiveWatch>();
  private streams?: StreamTable;
  private streamHandler?: (s: LinkStream) => void;
  private attempt = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;
  private readyWaiters: Array<{ resolve(): void; reject(e: Error): void }> = [];
  private token: string;
  private readonly log: (msg: string) => void;
  /** Times the link was (re)established; for status and tests. */
  connects = 0;

  constructor(private readonly opts: LinkClientOptions) {
    this.token = opts.token;
    this.log = opts.log ?? (() => {});
  }

  /** Starts connecting; resolves once the first connection is up (rejects on a fatal refusal). */
  start(): Promise<void> {
    const ready = this.ready();
    this.connect();
    return ready;
  }

  /** Resolves when the link is up. */
  ready(): Promise<void> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Serves the streams the server opens (logs, exec, attach, port-forward). */
  onStream(h: (s: LinkStream) => void): void {
    this.streamHandler = h;
    this.streams?.onOpen(h);
  }

  close(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.ws?.close(1000, "agent stopping");
    this.ws?.terminate();
    const err = linkLost("the link client is closed");
    this.failCalls(err, true);
    this.watches.clear();
    for (const w of this.readyWaiters.splice(0)) w.reject(err);
  }

  // ---- Client --------------------------------------------------------------------------

  get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KObject> {
    return this.call({ verb: "get", r: refOf(info), ns: namespace, name }) as Promise<KObject>;
  }

  list(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<ListResult> {
    return this.call({
      verb: "list",
      r: refOf(info),
      ns: namespace,
      opts: { ...opts },
    }) as Promise<ListResult>;
  }

  create(info: ResourceInfo, namespace: string | undefined, obj: KObject): Promise<KObject> {
    return this.call({ verb: "create", r: refOf(info), ns: namespace, body: obj }) as Promise<KObject>;
  }

  update(info: ResourceInfo, namespace: string | undefined, obj: KObject, subresource?: "status") {
    return this.call({
      verb: "update",
      r: refOf(info),
      ns: namespace,
      body: obj,
      sub: subresource,
    }) as Promise<KObject>;
  }

  patch(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    subresource?: "status",
  ) {
    return this.call({
      verb: "patch",
      r: refOf(info),
      ns: namespace,
      name,
      body: patch,
      ptype: type,
      sub: subresource,
    }) as Promise<KObject>;
  }

  delete(info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}) {
    return this.call({
      verb: "delete",
      r: refOf(info),
      ns: namespace,
      name,
      opts: { ...opts },
    }) as Promise<KObject>;
  }

  /** Nodes never bind pods (the scheduler does); refused as the node authorizer would. */
  async bind(namespace: string, podName: string, _nodeName: string): Promise<void> {
    throw Object.assign(
      new Error(
        `pods "${podName}" is forbidden: nodes may not create pods/binding in the namespace "${namespace}"`,
      ),
      {
        reason: "Forbidden",
        httpCode: 403,
      },
    );
  }

  async watch(
    info: ResourceInfo,
    namespace: string | undefined,
    opts: { resourceVersion: string; labelSelector?: string; fieldSelector?: string },
    onEvent: (ev: WatchEvent) => void,
    onError: (err: ClientError) => void,
  ): Promise<WatchHandle> {
    const id = this.nextId++;
    if (this.fatal) {
      const e = this.fatal;
      queueMicrotask(() => onError(e));
      return { cancel() {} };
    }
    const w: ActiveWatch = {
      id,
      r: refOf(info),
      ns: namespace,
      rv: opts.resourceVersion,
      ls: opts.labelSelector,
      fs: opts.fieldSelector,
      onEvent,
      onError,
    };
    this.watches.set(id, w);
    if (this.connected) this.sendWatch(w);
    return {
      cancel: () => {
        if (this.watches.delete(id) && this.connected) this.send({ t: "unwatch", id });
      },
    };
  }

  // ---- connection ----------------------------------------------------------------------

  private call(f: Omit<Extract<Frame, { t: "call" }>, "t" | "id">): Promise<unknown> {
    if (this.fatal) return Promise.reject(this.fatal);
    if (this.stopped) return Promise.reject(linkLost("the link client is closed"));
    const id = this.nextId++;
    const frame = { t: "call", id, ...stripUndefined(f) } as Extract<Frame, { t: "call" }>;
    return new Promise((resolve, reject) => {
      const timeout = this.opts.callTimeoutMs ?? 60_000;
      const timer = setTimeout(() => {
        if (!this.calls.delete(id)) return;
        reject(
          Object.assign(new Error(`no answer from the server in ${timeout} ms (${f.verb} ${f.r.p})`), {
            reason: "Timeout",
            httpCode: 504,
          }),
        );
      }, timeout);
      const p: PendingCall = { frame, resolve, reject, timer, sent: false };
      this.calls.set(id, p);
      if (this.connected) {
        p.sent = true;
        this.send(frame);
      }
    });
  }

  private send(f: Frame): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(encodeFrame(f));
  }

  private sendWatch(w: ActiveWatch): void {
    this.send({
      t: "watch",
      id: w.id,
      r: w.r,
      rv: w.rv,
      ...stripUndefined({ ns: w.ns, ls: w.ls, fs: w.fs }),
    });
  }

  private connect(): void {
    if (this.stopped || this.fatal) return;
    const url = new URL(LINK_PATH, this.opts.server.replace(/^http/, "ws"));
    const ws = new WebSocket(url, {
      ca: this.opts.caPem,
      headers: { Authorization: `Bearer ${this.token}` },
      maxPayload: 64 * 1024 * 1024,
      perMessageDeflate: false,
      handshakeTimeout: 15_000,
      // Masking exists to keep a client from poisoning caching proxies (RFC 6455 §10.3);
      // inside TLS no proxy reads the frames. An all-zero key is still a valid mask and
      // lets ws skip XORing every byte the agent sends (logs, port-forward data).
      generateMask: (mask: Buffer) => mask.fill(0),
    });
    this.ws = ws;
    let unauthorized = false;
    ws.on("unexpected-response", (_req, res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c));
      res.on("end", () => {
        let msg = text;
        try {
          msg = JSON.parse(text).message ?? text;
        } catch {}
        if (res.statusCode === 401) unauthorized = true;
        this.log(`link: server refused the connection: ${res.statusCode} ${msg}`);
        ws.terminate();
      });
    });
    ws.on("open", () => {
      this.connected = true;
      this.attempt = 0;
      this.connects++;
      this.streams = new StreamTable((f) => this.send(f));
      if (this.streamHandler) this.streams.onOpen(this.streamHandler);
      this.touch();
      for (const w of this.watches.values()) this.sendWatch(w);
      for (const p of this.calls.values())
        if (!p.sent) {
          p.sent = true;
          this.send(p.frame);
        }
      for (const w of this.readyWaiters.splice(0)) w.resolve();
      this.log(`link: connected to ${this.opts.server}`);
    });
    ws.on("ping", () => this.touch());
    ws.on("message", (data, isBinary) => {
      this.touch();
      if (!isBinary) return;
      let f: Frame;
      try {
        f = decodeFrame(data as Buffer);
      } catch (err) {
        this.log(`link: ${(err as Error).message}; reconnecting`);
        ws.terminate();
        return;
      }
      this.receive(f);
    });
    ws.on("error", (err) => {
      if (!this.connected) this.log(`link: cannot connect to ${this.opts.server}: ${err.message}`);
    });
    ws.on("close", () => {
      if (this.ws !== ws) return;
      const was = this.connected;
      this.connected = false;
      if (this.idleTimer) clearTimeout(this.idleTimer);
      this.streams?.failAll("the link to the server closed");
      this.streams = undefined;
      // Calls in flight may or may not have happened: their callers must decide.
      this.failCalls(linkLost("the link to the server was lost during the call"), false);
      if (was) this.log("link: disconnected from the server");
      if (this.stopped) return;
      if (unauthorized) void this.reauthorize();
      else this.scheduleReconnect();
    });
  }

  private async reauthorize(): Promise<void> {
    if (!this.opts.onUnauthorized) {
      this.setFatal(
        Object.assign(new Error("the server refused this node's credential"), {
          reason: "Unauthorized",
          httpCode: 401,
        }),
      );
      return;
    }
    try {
      this.token = await this.opts.onUnauthorized();
      this.scheduleReconnect();
    } catch (err) {
      this.setFatal(Object.assign(err as Error, { reason: "Unauthorized", httpCode: 401 }));
    }
  }

  private setFatal(err: ClientError): void {
    this.fatal = err;
    this.failCalls(err, true);
    for (const w of [...this.watches.values()]) w.onError(err);
    this.watches.clear();
    for (const w of this.readyWaiters.splice(0)) w.reject(err);
  }

  private scheduleReconnect(): void {
    const b = this.opts.backoff ?? { initialMs: 250, maxMs: 10_000 };
    const base = Math.min(b.maxMs, b.initialMs * 2 ** this.attempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt++;
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const ws = this.ws;
    this.idleTimer = setTimeout(() => {
      this.log("link: the server has been silent too long; reconnecting");
      ws?.terminate();
    }, this.opts.idleTimeoutMs ?? 45_000);
  }

  private failCalls(err: ClientError, all: boolean): void {
    for (const [id, p] of [...this.calls]) {
      if (!all && !p.sent) continue;
      clearTimeout(p.timer);
      this.calls.delete(id);
      p.reject(err);
    }
  }

  private receive(f: Frame): void {
    if (this.streams?.handle(f)) return;
    switch (f.t) {
      case "result":
      case "error": {
        const p = this.calls.get(f.id);
        if (!p) return;
        this.calls.delete(f.id);
        clearTimeout(p.timer);
        if (f.t === "result") p.resolve(f.body);
        else p.reject(clientError(f.status));
        return;
      }
      case "event": {
        const w = this.watches.get(f.id);
        if (!w) return;
        const rv = (f.obj.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
        if (rv) w.rv = rv;
        w.onEvent({ type: f.type, object: f.obj as KObject });
        return;
      }
      case "wclose": {
        const w = this.watches.get(f.id);
        if (!w) return;
        this.watches.delete(f.id);
        w.onError(clientError(f.status));
        return;
      }
      default:
        this.log(`link: the server sent a ${f.t} frame, which only agents send; ignored`);
    }
  }
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}
