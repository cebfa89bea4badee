// The HTTP face of the API server: authenticate, route, authorize, decode, call the
// registry, encode (JSON, Table, PartialObjectMetadata), stream watches.
import type { IncomingMessage, ServerResponse } from "node:http";
import { groupVersion, type ResourceInfo } from "../api/resources";
import { decodeBody, readBody } from "./body";
import type { FieldValidation, RequestContext, UserInfo } from "./context";
import { conversionFor, convertingRegistry } from "./conversion";
import { type Discovery, mediaParams, wantsAggregated } from "./discovery";
import { type ApiError, errors, toApiError } from "./errors";
import type { KObject } from "./objects";
import { applyPatch, PATCH_TYPES } from "./patching";
import type { DeleteOptions, Registry } from "./registry";
import { type ResourceRequest, route } from "./routes";
import { applyScale, scaleOf } from "./scale";
import { type TableOptions, toPartialMetadata, toTable, wantsPartialMetadata, wantsTable } from "./tables";

export interface Authorizer {
  authorize(user: UserInfo, attrs: RequestAttributes): { allowed: boolean; reason?: string };
}

export interface RequestAttributes {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** For non-resource URLs such as /healthz. */
  path?: string;
  /** The request's field selector, for list and watch. */
  fieldSelector?: string;
}

export interface OpenApiSource {
  root(): unknown;
  document(gvPath: string): unknown | undefined;
  /** The protobuf OpenAPI v2 document older kubectls (1.27, 1.28) validate with. */
  v2?(): { body: Buffer; contentType: string };
}

export interface HandlerDeps {
  registry: Registry;
  discovery: Discovery;
  authenticate(token: string): UserInfo | undefined;
  authorizer: Authorizer;
  version: Record<string, string>;
  isReady(): boolean;
  openapi?: OpenApiSource;
  /** Extra endpoints (reviews, metrics, streams) tried before 404. Return true when handled. */
  extra?: (req: IncomingMessage, res: ServerResponse, url: URL, ctx: RequestContext) => Promise<boolean>;
  /** Subresources served elsewhere (log, exec, attach, portforward); return true when handled. */
  streams?: (
    req: IncomingMessage,
    res: ServerResponse,
    r: ResourceRequest,
    url: URL,
    ctx: RequestContext,
  ) => Promise<boolean>;
  log?: (msg: string) => void;
}

const PUBLIC_PATHS = new Set([
  "/healthz",
  "/livez",
  "/readyz",
  "/version",
  "/healthz/ping",
  "/livez/ping",
  "/readyz/ping",
]);

export function createHandler(deps: HandlerDeps) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(deps, req, res).catch((err) => {
      const apiErr = toApiError(err);
      if (apiErr.httpCode >= 500) deps.log?.(`${req.method} ${req.url}: ${(err as Error)?.stack ?? err}`);
      if (!res.headersSent) sendStatus(res, apiErr);
      else res.destroy();
    });
  };
}

async function handle(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "https://localhost");
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const user = authenticate(deps, req);
  if (PUBLIC_PATHS.has(path)) return servePublic(deps, req, res, path, url);
  if (!user) throw errors.unauthorized();
  const ctx: RequestContext = { user, warnings: [] };
  const r = route(path);
  switch (r.kind) {
    case "discovery-root": {
      const agg = wantsAggregated(req.headers.accept);
      if (agg)
        return sendRaw(
          res,
          200,
          deps.discovery.aggregated(r.core, agg),
          `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`,
        );
      return sendRaw(res, 200, r.core ? deps.discovery.coreVersions() : deps.discovery.groupList());
    }
    case "discovery-group": {
      const doc = deps.discovery.group(r.group);
      if (!doc) throw errors.notFoundPath();
      return sendRaw(res, 200, doc);
    }
    case "discovery-version": {
      const doc = deps.discovery.resourceList(r.group, r.version);
      if (!doc) throw errors.notFoundPath();
      return sendRaw(res, 200, doc);
    }
    case "resource":
      return handleResource(deps, req, res, r, url, ctx);
    case "unknown-resource":
      if (deps.extra && (await deps.extra(req, res, url, ctx))) return;
      throw errors.notFoundPath();
    case "other": {
      if (path === "/openapi/v3" && deps.openapi) return sendJson(res, 200, deps.openapi.root());
      if (path === "/openapi/v2" && deps.openapi?.v2) {
        const { body, contentType } = deps.openapi.v2();
        res.writeHead(200, { "Content-Type": contentType, "Content-Length": String(body.length) });
        res.end(body);
        return;
      }
      if (path.startsWith("/openapi/v3/") && deps.openapi) {
        const doc = deps.openapi.document(path.slice("/openapi/v3/".length));
        if (doc) return sendJson(res, 200, doc);
      }
      if (deps.extra && (await deps.extra(req, res, url, ctx))) return;
      throw errors.notFoundPath();
    }
  }
}

function authenticate(deps: HandlerDeps, req: IncomingMessage): UserInfo | undefined {
  const h = req.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  if (!m) throw errors.unauthorized();
  const user = deps.authenticate(m[1]);
  if (!user) throw errors.unauthorized();
  return user;
}

function servePublic(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  url: URL,
): void {
  if (path === "/version") return sendJson(res, 200, deps.version);
  const ready = path.startsWith("/readyz") ? deps.isReady() : true;
  if (url.searchParams.has("verbose")) {
    const name = path.slice(1).split("/")[0];
    const body = `[${ready ? "+" : "-"}]ping ok\n[${ready ? "+" : "-"}]etcd ${ready ? "ok" : "failed"}\n${name} check ${ready ? "passed" : "failed"}\n`;
    return sendRaw(res, ready ? 200 : 500, body, "text/plain; charset=utf-8");
  }
  void req;
  sendRaw(res, ready ? 200 : 500, ready ? "ok" : "not ready", "text/plain; charset=utf-8");
}

const CONNECT_SUBRESOURCES = new Set(["exec", "attach", "portforward"]);

function verbOf(method: string, r: ResourceRequest, url: URL): string {
  const watch = url.searchParams.get("watch");
  const isWatch = watch === "true" || watch === "1";
  switch (method) {
    case "GET":
    case "HEAD":
      if (r.name === undefined) return isWatch ? "watch" : "list";
      return isWatch ? "watch" : "get";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return r.name === undefined ? "deletecollection" : "delete";
    default:
      throw errors.methodNotAllowed();
  }
}

/** The 403 message kube-apiserver gives, also used by the agent link. */
export function forbiddenMessage(user: UserInfo, a: RequestAttributes): string {
  const res = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const what = a.name
    ? `${a.resource}${a.group ? `.${a.group}` : ""} "${a.name}"`
    : `${a.resource}${a.group ? `.${a.group}` : ""}`;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : "at the cluster scope";
  return `${what} is forbidden: User "${user.username}" cannot ${a.verb} resource "${res}" in API group "${a.group}" ${scope}`;
}

async function handleResource(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceRequest,
  url: URL,
  ctx: RequestContext,
): Promise<void> {
  const { info } = r;
  const method = req.method ?? "GET";
  // pods/exec, attach and portforward are "create" even as a WebSocket GET, as in
  // Kubernetes 1.31+ (AuthorizePodWebsocketUpgradeCreatePermission).
  const verb =
    info.group === "" && info.plural === "pods" && CONNECT_SUBRESOURCES.has(r.subresource ?? "")
      ? "create"
      : verbOf(method, r, url);
  const attrs: RequestAttributes = {
    verb,
    group: info.group,
    resource: info.plural,
    subresource: r.subresource,
    namespace: r.namespace,
    name: r.name,
    // Lists and watches are authorized by their selector too (a node may list only its own pods).
    ...(verb === "list" || verb === "watch"
      ? { fieldSelector: url.searchParams.get("fieldSelector") ?? undefined }
      : {}),
  };
  const decision = deps.authorizer.authorize(ctx.user, attrs);
  if (!decision.allowed)
    throw errors.forbidden(forbiddenMessage(ctx.user, attrs), {
      name: r.name,
      group: info.group,
      kind: info.plural,
    });
  if (!info.verbs.includes(verb) && !r.subresource) throw errors.methodNotAllowed();
  const q = url.searchParams;
  ctx.dryRun = parseDryRun(q);
  ctx.fieldManager = q.get("fieldManager") ?? undefined;
  ctx.fieldValidation = parseFieldValidation(q.get("fieldValidation"));
  // A namespaced resource named without a namespace, for verbs on one object, is an error.
  if (info.namespaced && r.name !== undefined && r.namespace === undefined) throw errors.notFoundPath();

  if (r.subresource) {
    if (!info.subresources.includes(r.subresource as never)) throw errors.notFoundPath();
    if (deps.streams && (await deps.streams(req, res, r, url, ctx))) return;
    return handleSubresource(deps, req, res, r, ctx, method);
  }
  const conv = conversionFor(info);
  const reg = conv ? convertingRegistry(deps.registry, conv) : deps.registry;
  const tableOpts = tableOptions(req, q);
  switch (verb) {
    case "get": {
      const obj = await reg.get(info, r.namespace, r.name!);
      return sendObject(res, 200, info, obj, tableOpts, ctx);
    }
    case "list": {
      const limit = q.get("limit") ? Number(q.get("limit")) : undefined;
      const list = await reg.list(info, r.namespace, {
        labelSelector: q.get("labelSelector") ?? undefined,
        fieldSelector: q.get("fieldSelector") ?? undefined,
        limit: Number.isFinite(limit) ? limit : undefined,
        continue: q.get("continue") ?? undefined,
        resourceVersion: q.get("resourceVersion") ?? undefined,
      });
      if (tableOpts.table)
        return sendJson(res, 200, toTable(info, list.items, tableOpts, list), ctx.warnings);
      if (tableOpts.partial)
        return sendJson(res, 200, {
          kind: "PartialObjectMetadataList",
          apiVersion: "meta.k8s.io/v1",
          metadata: listMeta(list),
          items: list.items.map(toPartialMetadata),
        });
      // Stored objects are decoded once and their JSON kept, so a list is mostly concatenation.
      const head = JSON.stringify({
        kind: `${info.kind}List`,
        apiVersion: groupVersion(info),
        metadata: listMeta(list),
      });
      const body = `${head.slice(0, -1)},"items":[${list.items.map(jsonOf).join(",")}]}`;
      return sendRaw(res, 200, body, "application/json", ctx.warnings);
    }
    case "watch":
      return serveWatch(deps, req, res, r, q, tableOpts);
    case "create": {
      if (r.name !== undefined) throw errors.methodNotAllowed();
      const obj = decodeBody(req, await readBody(req), info, ctx);
      const out = await reg.create(ctx, info, r.namespace, obj);
      return sendObject(res, 201, info, out, tableOpts, ctx);
    }
    case "update": {
      const obj = decodeBody(req, await readBody(req), info, ctx);
      const out = await reg.update(ctx, info, r.namespace, r.name!, obj);
      return sendObject(res, 200, info, out, tableOpts, ctx);
    }
    case "patch": {
      const type = (req.headers["content-type"] ?? "").split(";")[0].trim();
      if (!PATCH_TYPES.includes(type)) throw errors.unsupportedMediaType(type, PATCH_TYPES);
      const body = await readBody(req);
      const { object, created } = await applyPatch(reg, ctx, info, r.namespace, r.name!, type, body, q);
      return sendObject(res, created ? 201 : 200, info, object, tableOpts, ctx);
    }
    case "delete": {
      const body = await readBody(req);
      const opts = deleteOptions(body, q);
      const { object, deleted } = await reg.delete(ctx, info, r.namespace, r.name!, opts);
      // Kubernetes answers 202 only for a pending delete that asked for cascading via orphanDependents=false.
      const code = !deleted && opts.orphanDependents === false ? 202 : 200;
      return sendObject(res, code, info, object, tableOpts, ctx);
    }
    case "deletecollection": {
      const body = await readBody(req);
      const items = await reg.deleteCollection(
        ctx,
        info,
        r.namespace,
        {
          labelSelector: q.get("labelSelector") ?? undefined,
          fieldSelector: q.get("fieldSelector") ?? undefined,
        },
        deleteOptions(body, q),
      );
      return sendJson(
        res,
        200,
        { kind: `${info.kind}List`, apiVersion: groupVersion(info), metadata: {}, items },
        ctx.warnings,
      );
    }
  }
  throw errors.methodNotAllowed();
}

async function handleSubresource(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceRequest,
  ctx: RequestContext,
  method: string,
): Promise<void> {
  const { info } = r;
  const conv = conversionFor(info);
  const reg = conv ? convertingRegistry(deps.registry, conv) : deps.registry;
  const sub = r.subresource!;
  if (r.name === undefined) throw errors.notFoundPath();
  const tableOpts: TableOptions = { table: false, partial: false, includeObject: "Metadata" };
  if (sub === "status" || (sub === "finalize" && info.plural === "namespaces")) {
    if (method === "GET")
      return sendObject(res, 200, info, await reg.get(info, r.namespace, r.name), tableOpts, ctx);
    if (method === "PUT") {
      const obj = decodeBody(req, await readBody(req), info, ctx);
      if (sub === "finalize") {
        const out = await reg.guaranteedUpdate(
          ctx,
          info,
          undefined,
          r.name,
          (cur) => ({ ...cur, spec: { ...cur.spec, finalizers: obj.spec?.finalizers ?? [] } }),
          {
            precondition: obj.metadata?.resourceVersion,
          },
        );
        return sendObject(res, 200, info, out, tableOpts, ctx);
      }
      const out = await reg.update(ctx, info, r.namespace, r.name, obj, "status");
      return sendObject(res, 200, info, out, tableOpts, ctx);
    }
    if (method === "PATCH") {
      const type = (req.headers["content-type"] ?? "").split(";")[0].trim();
      if (!PATCH_TYPES.includes(type)) throw errors.unsupportedMediaType(type, PATCH_TYPES);
      const body = await readBody(req);
      const { object } = await applyPatch(
        reg,
        ctx,
        info,
        r.namespace,
        r.name,
        type,
        body,
        new URLSearchParams(),
        "status",
      );
      return sendObject(res, 200, info, object, tableOpts, ctx);
    }
    throw errors.methodNotAllowed();
  }
  if (sub === "scale") {
    if (method === "GET") return sendJson(res, 200, scaleOf(await reg.get(info, r.namespace, r.name)));
    if (method === "PUT" || method === "PATCH") {
      const body = await readBody(req);
      const type = (req.headers["content-type"] ?? "application/json").split(";")[0].trim();
      const out = await applyScale(reg, ctx, info, r.namespace, r.name, method, type, body);
      return sendJson(res, 200, out, ctx.warnings);
    }
    throw errors.methodNotAllowed();
  }
  if (sub === "binding" && info.plural === "pods" && method === "POST") {
    const binding = decodeBody(req, await readBody(req), undefined, ctx);
    const node = binding.target?.name;
    if (!node)
      throw errors.invalid({ group: "", kind: "Binding" }, r.name, [
        { reason: "FieldValueRequired", field: "target.name", message: "Required value" },
      ]);
    await deps.registry.bind(ctx, r.namespace!, r.name, node);
    return sendJson(res, 201, {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      code: 201,
    });
  }
  throw errors.notFoundPath();
}

function listMeta(list: { resourceVersion: string; continue?: string; remainingItemCount?: number }) {
  return {
    resourceVersion: list.resourceVersion,
    ...(list.continue ? { continue: list.continue } : {}),
    ...(list.remainingItemCount !== undefined ? { remainingItemCount: list.remainingItemCount } : {}),
  };
}

function parseDryRun(q: URLSearchParams): boolean {
  const values = q.getAll("dryRun");
  for (const v of values) if (v !== "All") throw errors.badRequest(`Invalid dry run value: ${v}`);
  return values.length > 0;
}

function parseFieldValidation(v: string | null): FieldValidation {
  if (v === null || v === "") return "Warn";
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw errors.badRequest(`fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${v}"`);
}

function deleteOptions(body: Buffer, q: URLSearchParams): DeleteOptions {
  let opts: DeleteOptions = {};
  if (body.length) {
    try {
      opts = JSON.parse(body.toString());
    } catch (err) {
      throw errors.badRequest(`couldn't decode DeleteOptions: ${(err as Error).message}`);
    }
  }
  const g = q.get("gracePeriodSeconds");
  if (g !== null) opts.gracePeriodSeconds = Number(g);
  const p = q.get("propagationPolicy");
  if (p !== null) opts.propagationPolicy = p as DeleteOptions["propagationPolicy"];
  if (opts.propagationPolicy && !["Orphan", "Background", "Foreground"].includes(opts.propagationPolicy))
    throw errors.badRequest(
      `propagationPolicy: Unsupported value: "${opts.propagationPolicy}": supported values: "Foreground", "Background", "Orphan"`,
    );
  if (q.get("orphanDependents") !== null) opts.orphanDependents = q.get("orphanDependents") === "true";
  return opts;
}

function tableOptions(req: IncomingMessage, q: URLSearchParams): TableOptions {
  const accept = req.headers.accept;
  const inc = q.get("includeObject");
  const includeObject = inc === "Object" || inc === "None" ? inc : "Metadata";
  return { table: wantsTable(accept), partial: wantsPartialMetadata(accept), includeObject };
}

async function serveWatch(
  deps: HandlerDeps,
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceRequest,
  q: URLSearchParams,
  tableOpts: TableOptions,
): Promise<void> {
  const { info } = r;
  const rv = q.get("resourceVersion") ?? "";
  const initial = rv === "" || rv === "0";
  const bookmarks = q.get("allowWatchBookmarks") === "true";
  const timeoutSec = Number(q.get("timeoutSeconds") ?? 1800 + Math.floor(Math.random() * 1800));
  let fieldSelector = q.get("fieldSelector") ?? undefined;
  if (r.name) fieldSelector = [fieldSelector, `metadata.name=${r.name}`].filter(Boolean).join(",");
  res.writeHead(200, {
    "Content-Type": "application/json",
    "Cache-Control": "no-cache, private",
    "Transfer-Encoding": "chunked",
  });
  res.flushHeaders();
  let first = true;
  let lastRv = 0;
  let closed = false;
  const write = (type: string, object: unknown) => {
    if (closed) return;
    // The same stored object goes to every watcher: serialise it once.
    res.write(`{"type":${JSON.stringify(type)},"object":${jsonOf(object as KObject)}}\n`);
    // A watcher that stops reading is dropped rather than buffered without bound.
    if (res.writableLength > 16 * 1024 * 1024) finish();
  };
  const pending: Array<{ type: string; object: KObject }> = [];
  let started = false;
  const emit = (type: string, object: KObject) => {
    const orv = Number(object.metadata?.resourceVersion ?? 0);
    if (orv > lastRv) lastRv = orv;
    if (tableOpts.table) {
      const table = toTable(info, [object], tableOpts, { resourceVersion: String(orv) }, !first);
      first = false;
      write(type, table);
    } else if (tableOpts.partial) write(type, toPartialMetadata(object));
    else write(type, object);
  };
  let handle: { cancel(): void; revision: number } | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  const timeout = setTimeout(() => finish(), Math.max(1, timeoutSec) * 1000);
  function finish() {
    if (closed) return;
    closed = true;
    clearTimeout(timeout);
    if (bookmarkTimer) clearInterval(bookmarkTimer);
    handle?.cancel();
    res.end();
  }
  req.on("close", finish);
  res.on("error", finish);
  try {
    const conv = conversionFor(info);
    handle = await (conv ? convertingRegistry(deps.registry, conv) : deps.registry).watch(
      info,
      r.namespace,
      {
        resourceVersion: rv,
        initialEvents: initial,
        labelSelector: q.get("labelSelector") ?? undefined,
        fieldSelector,
      },
      (ev) => (started ? emit(ev.type, ev.object) : pending.push(ev)),
    );
  } catch (err) {
    const e = toApiError(err, info);
    write("ERROR", e.toStatus());
    finish();
    return;
  }
  if (closed) {
    handle.cancel();
    return;
  }
  lastRv = Math.max(lastRv, handle.revision);
  started = true;
  for (const ev of pending.splice(0)) emit(ev.type, ev.object);
  if (bookmarks) {
    bookmarkTimer = setInterval(() => {
      write("BOOKMARK", {
        kind: info.kind,
        apiVersion: groupVersion(info),
        metadata: { resourceVersion: String(lastRv) },
      });
    }, 10_000);
  }
}

function sendObject(
  res: ServerResponse,
  code: number,
  info: ResourceInfo,
  obj: KObject,
  t: TableOptions,
  ctx: RequestContext,
): void {
  if (t.table)
    return sendJson(
      res,
      code,
      toTable(info, [obj], t, { resourceVersion: obj.metadata?.resourceVersion ?? "" }),
      ctx.warnings,
    );
  if (t.partial) return sendJson(res, code, toPartialMetadata(obj), ctx.warnings);
  sendJson(res, code, obj, ctx.warnings);
}

const jsonCache = new WeakMap<object, string>();

/** JSON of a shared, read-only stored object, computed once per object. */
function jsonOf(obj: KObject): string {
  let s = jsonCache.get(obj);
  if (s === undefined) {
    s = JSON.stringify(obj);
    jsonCache.set(obj, s);
  }
  return s;
}

export function sendJson(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
  sendRaw(res, code, JSON.stringify(body), "application/json", warnings);
}

export function sendRaw(
  res: ServerResponse,
  code: number,
  body: string,
  type = "application/json",
  warnings: string[] = [],
): void {
  const headers: Record<string, string | string[]> = {
    "Content-Type": type,
    "Content-Length": String(Buffer.byteLength(body)),
  };
  if (warnings.length) headers.Warning = [...new Set(warnings)].map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(body);
}

export function sendStatus(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.httpCode, err.toStatus());
}

export { mediaParams };
