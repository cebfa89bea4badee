// Server side of kubectl logs/exec/attach/port-forward: the API handler has already
// authenticated and authorized the request (pods/log get; pods/exec, attach,
// portforward get or create); here the pod is checked, a reverse stream is opened to
// its node's agent over the link, and kubectl's framing is mapped onto it:
//   log          chunked text/plain
//   exec/attach  WebSocket v5.channel.k8s.io (byte 0 of each message is the channel)
//   portforward  SPDY/3.1 inside a WebSocket (SPDY/3.1+portforward.k8s.io)
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import type { RequestContext } from "../apiserver/context";
import { ApiError, errors } from "../apiserver/errors";
import type { ResourceRequest } from "../apiserver/routes";
import type { StreamKind } from "../link/protocol";
import type { LinkStream } from "../link/streams";
import {
  controlFrame,
  dataFrame,
  FLAG_FIN,
  FrameReader,
  GOAWAY,
  HeaderCodec,
  PING,
  RST_STREAM,
  SYN_REPLY,
  SYN_STREAM,
} from "./spdy";

export const EXEC_PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
export const PORTFORWARD_PROTOCOL = "SPDY/3.1+portforward.k8s.io";
const PF_ALIAS = "tsk.portforward.k8s.io";

/** What a pod looks like to this module (the fields it reads). */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string };
  spec?: {
    nodeName?: string;
    containers?: Array<{ name: string }>;
    initContainers?: Array<{ name: string }>;
  };
  status?: {
    phase?: string;
    containerStatuses?: ContainerStatusLike[];
    initContainerStatuses?: ContainerStatusLike[];
  };
}

interface ContainerStatusLike {
  name: string;
  state?: { waiting?: { reason?: string }; running?: unknown; terminated?: unknown };
  lastState?: { terminated?: unknown };
}

export interface StreamServerDeps {
  getPod(namespace: string, name: string): Promise<PodLike>;
  openStream(node: string, kind: StreamKind, params: Record<string, unknown>): Promise<LinkStream>;
  log?: (msg: string) => void;
}

/** The socket and head of an HTTP upgrade routed through the API handler. */
export interface UpgradeInfo {
  socket: Duplex;
  head: Buffer;
}

const upgrades = new WeakMap<IncomingMessage, UpgradeInfo>();

/** Marks `req` as an upgrade so the stream handler can take its socket over. */
export function registerUpgrade(req: IncomingMessage, info: UpgradeInfo): void {
  upgrades.set(req, info);
}

/** Paths whose upgrades are API requests (authenticated and authorized by the handler). */
export function isStreamUpgradePath(url: string | undefined): boolean {
  const path = (url ?? "").split("?")[0];
  return /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/(exec|attach|portforward)\/?$/.test(path);
}

const boolParam = (q: URLSearchParams, k: string) => q.get(k) === "true" || q.get(k) === "1";

function intParam(q: URLSearchParams, k: string): number | undefined {
  const v = q.get(k);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw errors.badRequest(`invalid ${k} ${JSON.stringify(v)}: not an integer`);
  return n;
}

function statusOf(pod: PodLike, container: string): ContainerStatusLike | undefined {
  const all = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
  return all.find((c) => c.name === container);
}

/** The container a request names (or the pod's only one), checked against the spec. */
function pickContainer(pod: PodLike, q: URLSearchParams): string {
  const name = pod.metadata?.name ?? "";
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map(
    (c) => c.name,
  );
  const asked = q.get("container");
  if (!asked) {
    const main = pod.spec?.containers ?? [];
    if (main.length === 1) return main[0].name;
    const inits = (pod.spec?.initContainers ?? []).map((c) => c.name);
    throw errors.badRequest(
      `a container name must be specified for pod ${name}, choose one of: [${main.map((c) => c.name).join(" ")}]` +
        (inits.length ? ` or one of the init containers: [${inits.join(" ")}]` : ""),
    );
  }
  if (!containers.includes(asked)) throw errors.badRequest(`container ${asked} is not valid for pod ${name}`);
  return asked;
}

function nodeOf(pod: PodLike): string {
  const node = pod.spec?.nodeName;
  if (!node) throw errors.badRequest(`pod ${pod.metadata?.name} does not have a host assigned`);
  return node;
}

/** The agent refused the stream: its reason as a Status kubectl prints. */
function openFailed(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return errors.badRequest((err as Error).message);
}

export function createStreamServer(deps: StreamServerDeps) {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // Accept only what the stream kind speaks; ws picks from what the client offered.
    handleProtocols: (offered: Set<string>, req: IncomingMessage) => {
      const wanted = /\/portforward\/?(\?|$)/.test(req.url ?? "") ? [PF_ALIAS] : EXEC_PROTOCOLS;
      return wanted.find((p) => offered.has(p)) ?? false;
    },
  });
  // "SPDY/3.1+portforward.k8s.io" is not an RFC 6455 token ('/'), which ws refuses:
  // the request carries an alias through ws and the 101 names the real protocol.
  wss.on("headers", (headers: string[]) => {
    const i = headers.indexOf(`Sec-WebSocket-Protocol: ${PF_ALIAS}`);
    if (i >= 0) headers[i] = `Sec-WebSocket-Protocol: ${PORTFORWARD_PROTOCOL}`;
  });

  async function openFor(
    kind: StreamKind,
    pod: PodLike,
    params: Record<string, unknown>,
  ): Promise<LinkStream> {
    try {
      return await deps.openStream(nodeOf(pod), kind, {
        namespace: pod.metadata?.namespace,
        pod: pod.metadata?.name,
        uid: pod.metadata?.uid,
        ...params,
      });
    } catch (err) {
      throw openFailed(err);
    }
  }

  /** Takes the upgrade over: 101 with the chosen subprotocol, or the error as a Status. */
  function upgradeTo(req: IncomingMessage): Promise<WebSocket> {
    const up = upgrades.get(req);
    if (!up) throw errors.badRequest("Upgrade request required");
    if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket")
      throw errors.badRequest(`unsupported upgrade ${JSON.stringify(req.headers.upgrade)}: use a WebSocket`);
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    if (offered.includes(PORTFORWARD_PROTOCOL)) req.headers["sec-websocket-protocol"] = PF_ALIAS;
    return new Promise((resolve) => wss.handleUpgrade(req, up.socket, up.head, (ws) => resolve(ws)));
  }

  async function serveLog(res: ServerResponse, pod: PodLike, q: URLSearchParams): Promise<void> {
    const container = pickContainer(pod, q);
    const podName = pod.metadata?.name;
    const previous = boolParam(q, "previous");
    const st = statusOf(pod, container);
    if (previous) {
      if (!st?.lastState?.terminated)
        throw errors.badRequest(`previous terminated container "${container}" in pod "${podName}" not found`);
    } else if (!st || (!st.state?.running && !st.state?.terminated)) {
      const reason = st?.state?.waiting?.reason ?? "ContainerCreating";
      throw errors.badRequest(`container "${container}" in pod "${podName}" is waiting to start: ${reason}`);
    }
    const sinceTime = q.get("sinceTime") ?? undefined;
    if (sinceTime !== undefined && Number.isNaN(Date.parse(sinceTime)))
      throw errors.badRequest(`invalid sinceTime ${JSON.stringify(sinceTime)}: not an RFC3339 time`);
    const params = {
      container,
      follow: boolParam(q, "follow"),
      previous,
      timestamps: boolParam(q, "timestamps"),
      tailLines: intParam(q, "tailLines"),
      sinceSeconds: intParam(q, "sinceSeconds"),
      sinceTime,
      limitBytes: intParam(q, "limitBytes"),
    };
    for (const k of ["tailLines", "limitBytes", "sinceSeconds"] as const) {
      const v = params[k];
      if (v !== undefined && (v < 0 || (k !== "tailLines" && v === 0)))
        throw errors.badRequest(`${k} must be ${k === "tailLines" ? "0 or greater" : "greater than 0"}`);
    }
    const stream = await openFor("log", pod, params);
    res.writeHead(200, { "Content-Type": "text/plain", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      res.end();
    };
    stream.onData(
      (_ch, data) =>
        new Promise<void>((resolve) => {
          if (ended || res.destroyed) return resolve();
          if (res.write(data)) resolve();
          else {
            res.once("drain", resolve);
            res.once("close", resolve);
          }
        }),
    );
    stream.onEnd(() => finish());
    // kubectl went away (Ctrl-C on logs -f): the agent stops reading.
    res.on("close", () => {
      if (!stream.closed) stream.abort("the client closed the log stream");
    });
  }

  async function serveExec(
    req: IncomingMessage,
    kind: "exec" | "attach",
    pod: PodLike,
    q: URLSearchParams,
  ): Promise<void> {
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed")
      throw errors.badRequest(
        `cannot ${kind} into a container in a completed pod; current phase is ${phase}`,
      );
    const container = pickContainer(pod, q);
    const command = q.getAll("command");
    if (kind === "exec" && command.length === 0)
      throw errors.badRequest("you must specify at least 1 command");
    const tty = boolParam(q, "tty");
    const params = {
      container,
      ...(kind === "exec" ? { command } : {}),
      stdin: boolParam(q, "stdin"),
      stdout: boolParam(q, "stdout"),
      // With a TTY, stderr is merged into stdout.
      stderr: boolParam(q, "stderr") && !tty,
      tty,
    };
    if (!params.stdin && !params.stdout && !params.stderr)
      throw errors.badRequest("you must specify at least one of stdin, stdout, stderr");
    const stream = await openFor(kind, pod, params);
    let ws: WebSocket;
    try {
      ws = await upgradeTo(req);
    } catch (err) {
      stream.abort("the client's upgrade failed");
      throw err;
    }
    bridgeChannels(ws, stream);
  }

  async function servePortForward(req: IncomingMessage, pod: PodLike): Promise<void> {
    if (pod.status?.phase !== "Running")
      throw errors.badRequest(
        `unable to forward port because pod is not running. Current status=${pod.status?.phase}`,
      );
    nodeOf(pod);
    const ws = await upgradeTo(req);
    servePortForwardSession(ws, (port) => openFor("portforward", pod, { port }), deps.log);
  }

  /** HandlerDeps.streams: true when the request was a stream subresource and is handled. */
  return async function streams(
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceRequest,
    url: URL,
    _ctx: RequestContext,
  ): Promise<boolean> {
    if (r.info.group !== "" || r.info.plural !== "pods" || !r.namespace || !r.name) return false;
    const sub = r.subresource;
    if (sub !== "log" && sub !== "exec" && sub !== "attach" && sub !== "portforward") return false;
    const method = req.method ?? "GET";
    if (sub === "log" ? method !== "GET" : method !== "GET" && method !== "POST")
      throw errors.methodNotAllowed();
    const pod = await deps.getPod(r.namespace, r.name);
    const q = url.searchParams;
    if (sub === "log") await serveLog(res, pod, q);
    else if (sub === "portforward") await servePortForward(req, pod);
    else await serveExec(req, sub, pod, q);
    return true;
  };
}

/** Bytes queued on a WebSocket before a sender waits for them to reach the socket. */
const WS_HIGH_WATER = 1 << 20;

/** Sends `data`; resolves at once while little is queued, else once it reached the socket. */
function wsSend(ws: WebSocket, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState !== WebSocket.OPEN) return resolve();
    if (ws.bufferedAmount < WS_HIGH_WATER) {
      ws.send(data, { binary: true });
      resolve();
    } else ws.send(data, { binary: true }, () => resolve());
  });
}

/** exec/attach: kubectl's channel-prefixed WebSocket messages <-> the link stream. */
export function bridgeChannels(ws: WebSocket, stream: LinkStream): void {
  const v5 = ws.protocol === "v5.channel.k8s.io";
  let finished = false;
  stream.onData((ch, data) => wsSend(ws, Buffer.concat([Buffer.from([ch]), data])));
  stream.onEnd((error) => {
    finished = true;
    void (async () => {
      if (error !== undefined) {
        const status = {
          metadata: {},
          status: "Failure",
          message: error,
          reason: "InternalError",
          code: 500,
        };
        await wsSend(ws, Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]));
      }
      if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    })();
  });
  // stdin is written in order; the socket is paused while the link has no credit.
  let chain: Promise<void> = Promise.resolve();
  let pending = 0;
  ws.on("message", (msg: Buffer, isBinary: boolean) => {
    const buf = isBinary ? msg : Buffer.from(msg);
    if (buf.length === 0) return;
    const ch = buf[0];
    const data = buf.subarray(1);
    if (ch === 0) {
      pending += data.length;
      if (pending > 1 << 20) ws.pause();
      chain = chain.then(async () => {
        try {
          if (!stream.closed) await stream.write(0, data);
        } catch {}
        pending -= data.length;
        if (pending <= 1 << 20) ws.resume();
      });
    } else if (ch === 4) {
      try {
        const size = JSON.parse(data.toString("utf8")) as { Width?: number; Height?: number };
        if (Number.isInteger(size.Width) && Number.isInteger(size.Height))
          stream.resize(size.Width as number, size.Height as number);
      } catch {}
    } else if (ch === 255 && v5 && data[0] === 0) {
      chain = chain.then(() => stream.close());
    }
  });
  ws.on("close", () => {
    // The client abandoned the session: the agent kills or detaches the process.
    if (!finished && !stream.closed) stream.abort("the client closed the connection");
  });
  ws.on("error", () => {});
}

interface ForwardPair {
  port?: number;
  errorId?: number;
  dataId?: number;
  link?: LinkStream;
  opening?: boolean;
  done?: boolean;
  /** client data that arrived before the link stream was open */
  early: Buffer[];
  earlyFin?: boolean;
}

/** One kubectl port-forward session: SPDY streams paired by requestid, one link stream per pair. */
export function servePortForwardSession(
  ws: WebSocket,
  open: (port: number) => Promise<LinkStream>,
  log?: (msg: string) => void,
): void {
  const reader = new FrameReader();
  const codec = new HeaderCodec();
  const pairs = new Map<string, ForwardPair>();
  const byStream = new Map<number, ForwardPair>();
  let closed = false;
  // Outgoing frames keep their order (SYN_REPLY header blocks share one zlib stream).
  let out: Promise<void> = Promise.resolve();
  const send = (frame: Buffer | Promise<Buffer>) => {
    out = out.then(async () => {
      if (!closed) await wsSend(ws, await frame);
    });
    return out;
  };
  const reply = (id: number) => {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(id);
    send(codec.encode({}).then((block) => controlFrame(SYN_REPLY, 0, Buffer.concat([p, block]))));
  };
  const finishPair = (pair: ForwardPair, errorText?: string) => {
    if (pair.done) return;
    pair.done = true;
    if (errorText && pair.errorId !== undefined) send(dataFrame(pair.errorId, 0, Buffer.from(errorText)));
    if (pair.dataId !== undefined) send(dataFrame(pair.dataId, FLAG_FIN, Buffer.alloc(0)));
    if (pair.errorId !== undefined) send(dataFrame(pair.errorId, FLAG_FIN, Buffer.alloc(0)));
  };
  const startPair = (pair: ForwardPair) => {
    if (pair.opening || pair.port === undefined) return;
    pair.opening = true;
    open(pair.port).then(
      (link) => {
        if (closed || pair.done) {
          link.abort("the port-forward session ended");
          return;
        }
        pair.link = link;
        let errText = "";
        link.onData(async (ch, data) => {
          if (ch === 1) errText += Buffer.from(data).toString("utf8");
          else if (pair.dataId !== undefined && !pair.done)
            await send(dataFrame(pair.dataId, 0, Buffer.from(data)));
        });
        link.onEnd((error) => finishPair(pair, errText || error));
        for (const b of pair.early.splice(0)) void link.write(0, b).catch(() => {});
        if (pair.earlyFin) link.close();
      },
      (err: Error) => finishPair(pair, err.message),
    );
  };

  let chain: Promise<void> = Promise.resolve();
  let pending = 0;
  const handle = async (msg: Buffer) => {
    for (const f of reader.push(msg)) {
      if (!f.control) {
        const pair = byStream.get(f.streamId);
        if (!pair || f.streamId !== pair.dataId) continue;
        if (pair.link) {
          if (f.data.length) await pair.link.write(0, f.data).catch(() => {});
          if (f.flags & FLAG_FIN) pair.link.close();
        } else {
          if (f.data.length) pair.early.push(Buffer.from(f.data));
          if (f.flags & FLAG_FIN) pair.earlyFin = true;
        }
        continue;
      }
      switch (f.type) {
        case SYN_STREAM: {
          const id = f.payload.readUInt32BE(0) & 0x7fffffff;
          const headers = await codec.decode(f.payload.subarray(10));
          const reqId = headers.requestid ?? "";
          let pair = pairs.get(reqId);
          if (!pair) {
            pair = { early: [] };
            pairs.set(reqId, pair);
          }
          byStream.set(id, pair);
          const port = Number(headers.port);
          reply(id);
          if (headers.streamtype === "error") pair.errorId = id;
          else if (headers.streamtype === "data") pair.dataId = id;
          if (!Number.isInteger(port) || port < 1 || port > 65535) {
            finishPair(pair, `invalid port ${JSON.stringify(headers.port)}`);
            continue;
          }
          pair.port = port;
          if (pair.dataId !== undefined && pair.errorId !== undefined) startPair(pair);
          break;
        }
        case RST_STREAM: {
          const id = f.payload.readUInt32BE(0) & 0x7fffffff;
          const pair = byStream.get(id);
          byStream.delete(id);
          if (pair && id === pair.dataId) {
            pair.done = true;
            if (pair.link && !pair.link.closed) pair.link.abort("the client reset the stream");
          }
          break;
        }
        case PING:
          send(controlFrame(PING, 0, Buffer.from(f.payload)));
          break;
        case GOAWAY:
          ws.close(1000);
          break;
        default:
          break; // SETTINGS, WINDOW_UPDATE, HEADERS: nothing to do
      }
    }
  };
  ws.on("message", (msg: Buffer, isBinary: boolean) => {
    const buf = isBinary ? msg : Buffer.from(msg);
    pending += buf.length;
    if (pending > 4 << 20) ws.pause();
    chain = chain.then(async () => {
      try {
        if (!closed) await handle(buf);
      } catch (err) {
        log?.(`port-forward: ${(err as Error).message}`);
        ws.close(1002);
      }
      pending -= buf.length;
      if (pending <= 4 << 20) ws.resume();
    });
  });
  ws.on("close", () => {
    closed = true;
    codec.close();
    for (const pair of pairs.values())
      if (pair.link && !pair.link.closed) pair.link.abort("port-forward ended");
  });
  ws.on("error", () => {});
}
