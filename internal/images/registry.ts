// A client for the OCI distribution API (what `docker pull` speaks): manifests and
// blobs over HTTP(S), with the bearer-token dance registries use (a 401 carrying
// `WWW-Authenticate: Bearer realm=...,service=...,scope=...`, a token fetched from
// the realm, the request retried with it). Plain HTTP only for loopback registries
// or when asked; HTTPS trusts Node's CAs plus the system's bundle.
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { Readable } from "node:stream";
import * as tls from "node:tls";
import { ImageError } from "./errors";
import { MEDIA } from "./layout";

export interface RegistryOptions {
  /** Talk plain HTTP (default: only for localhost / 127.0.0.0/8 / ::1). */
  plainHttp?: boolean;
  username?: string;
  password?: string;
  /** Extra PEM CA certificates to trust. */
  ca?: string[];
}

const MANIFEST_ACCEPT = [MEDIA.ociIndex, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.dockerManifest].join(
  ", ",
);
const SYSTEM_CA_FILES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];
const TIMEOUT_MS = 60_000;

let systemCAs: string[] | undefined;
function trustedCAs(extra: string[] = []): string[] {
  if (systemCAs === undefined) {
    systemCAs = [...tls.rootCertificates];
    for (const f of SYSTEM_CA_FILES) {
      try {
        systemCAs.push(fs.readFileSync(f, "utf8"));
        break;
      } catch {
        // next candidate
      }
    }
  }
  return [...systemCAs, ...extra];
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, "");
  return h === "localhost" || /^127\.\d+\.\d+\.\d+$/.test(h) || h === "[::1]";
}

/** Parses `Bearer realm="...",service="...",scope="..."`. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const sp = header.indexOf(" ");
  const scheme = (sp < 0 ? header : header.slice(0, sp)).toLowerCase();
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g;
  for (const m of (sp < 0 ? "" : header.slice(sp + 1)).matchAll(re)) {
    params[m[1].toLowerCase()] = (m[2] ?? m[3]).replace(/\\(.)/g, "$1");
  }
  return { scheme, params };
}

export class RegistryClient {
  private readonly base: string;
  private readonly agent: http.Agent;
  private token?: string;
  private basic?: string;

  constructor(
    readonly domain: string,
    private readonly opts: RegistryOptions = {},
  ) {
    const host = domain === "docker.io" ? "registry-1.docker.io" : domain;
    const plain = opts.plainHttp ?? isLoopback(host);
    this.base = `${plain ? "http" : "https"}://${host}`;
    this.agent = plain
      ? new http.Agent({ keepAlive: true })
      : new https.Agent({ keepAlive: true, ca: trustedCAs(opts.ca) });
    if (opts.username !== undefined) {
      this.basic = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ""}`).toString("base64")}`;
    }
  }

  close(): void {
    this.agent.destroy();
  }

  /** Fetches a manifest by tag or digest; returns its bytes, media type and digest header. */
  async manifest(repo: string, ref: string): Promise<{ data: Buffer; mediaType: string }> {
    const res = await this.get(`/v2/${repo}/manifests/${ref}`, { Accept: MANIFEST_ACCEPT }, repo);
    const data = await readAll(res, 8 << 20);
    const ct = String(res.headers["content-type"] ?? "")
      .split(";")[0]
      .trim();
    let mediaType = ct;
    try {
      const parsed = JSON.parse(data.toString("utf8")) as {
        mediaType?: string;
        schemaVersion?: number;
        manifests?: unknown;
      };
      if (parsed.mediaType) mediaType = parsed.mediaType;
      else if (parsed.schemaVersion === 1) mediaType = "schema1";
      else if (!ct || ct === "application/json")
        mediaType = parsed.manifests ? MEDIA.ociIndex : MEDIA.ociManifest;
    } catch {
      throw new ImageError("Registry", `${this.domain}/${repo}:${ref}: manifest is not valid JSON`);
    }
    return { data, mediaType };
  }

  /** A blob as a stream (callers verify its digest while reading it). */
  async blob(repo: string, digest: string): Promise<{ stream: Readable; size?: number }> {
    const res = await this.get(`/v2/${repo}/blobs/${digest}`, {}, repo);
    const len = Number(res.headers["content-length"]);
    return { stream: res, size: Number.isFinite(len) ? len : undefined };
  }

  private async get(
    path: string,
    headers: Record<string, string>,
    repo: string,
  ): Promise<http.IncomingMessage> {
    for (let attempt = 0; ; attempt++) {
      const auth = this.token ? `Bearer ${this.token}` : this.basic;
      const res = await this.request(`${this.base}${path}`, {
        ...headers,
        ...(auth ? { Authorization: auth } : {}),
      });
      if (res.statusCode === 401 && attempt === 0) {
        const challenge = String(res.headers["www-authenticate"] ?? "");
        res.resume();
        await this.authenticate(challenge, repo);
        continue;
      }
      if (res.statusCode === 200) return res;
      const body = (await readAll(res, 64 << 10).catch(() => Buffer.alloc(0))).toString("utf8");
      const what = `${this.domain}/${path.replace(/^\/v2\//, "")}`;
      if (res.statusCode === 404) throw new ImageError("NotFound", `${what}: not found in the registry`);
      if (res.statusCode === 401 || res.statusCode === 403) {
        throw new ImageError(
          "Unauthorized",
          `${what}: access denied (HTTP ${res.statusCode})${registryMessage(body)}`,
        );
      }
      throw new ImageError("Registry", `${what}: HTTP ${res.statusCode}${registryMessage(body)}`);
    }
  }

  private async authenticate(header: string, repo: string): Promise<void> {
    const { scheme, params } = parseChallenge(header);
    if (scheme === "basic") {
      if (!this.basic) throw new ImageError("Unauthorized", `${this.domain} wants a username and password`);
      return;
    }
    if (scheme !== "bearer" || !params.realm) {
      throw new ImageError(
        "Unauthorized",
        `${this.domain}: unsupported authentication challenge "${header}"`,
      );
    }
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", params.scope ?? `repository:${repo}:pull`);
    const res = await this.request(url.toString(), this.basic ? { Authorization: this.basic } : {});
    const body = await readAll(res, 1 << 20);
    if (res.statusCode !== 200) {
      throw new ImageError(
        "Unauthorized",
        `${this.domain}: token request to ${url.origin}${url.pathname} failed: HTTP ${res.statusCode}`,
      );
    }
    let tok: { token?: string; access_token?: string };
    try {
      tok = JSON.parse(body.toString("utf8"));
    } catch {
      throw new ImageError("Unauthorized", `${this.domain}: token response is not JSON`);
    }
    const t = tok.token ?? tok.access_token;
    if (!t) throw new ImageError("Unauthorized", `${this.domain}: token response holds no token`);
    this.token = t;
  }

  /** One GET, following redirects (blob downloads often go to a CDN); Authorization stays on its origin. */
  private request(url: string, headers: Record<string, string>, hops = 0): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const u = new URL(url);
      const mod = u.protocol === "https:" ? https : http;
      const sameOrigin = u.origin === new URL(this.base).origin;
      const agent = sameOrigin
        ? this.agent
        : u.protocol === "https:"
          ? new https.Agent({ ca: trustedCAs(this.opts.ca) })
          : undefined;
      const req = mod.get(
        u,
        { headers: { "User-Agent": "tsk", ...headers }, agent, timeout: TIMEOUT_MS },
        (res) => {
          const loc = res.headers.location;
          if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && loc) {
            res.resume();
            if (hops >= 5) return reject(new ImageError("Registry", `${url}: too many redirects`));
            const next = new URL(loc, u);
            const h = { ...headers };
            if (next.origin !== u.origin) delete h.Authorization;
            return resolve(this.request(next.toString(), h, hops + 1));
          }
          res.setTimeout(TIMEOUT_MS, () =>
            res.destroy(new Error(`${url}: no data for ${TIMEOUT_MS / 1000}s`)),
          );
          resolve(res);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${url}: timed out`)));
      req.on("error", (err) => reject(new ImageError("Registry", `${u.origin}: ${err.message}`)));
    });
  }
}

function registryMessage(body: string): string {
  try {
    const e = JSON.parse(body) as { errors?: { code?: string; message?: string }[] };
    const first = e.errors?.[0];
    if (first) return `: ${first.code ?? ""} ${first.message ?? ""}`.trimEnd();
  } catch {
    // not a registry error document
  }
  return "";
}

async function readAll(res: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > limit) {
      res.destroy();
      throw new ImageError("Registry", `response larger than ${limit} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
