// Joining a cluster, k3s style. The token pins the cluster CA by hash: the agent
// downloads /cacerts without trusting the connection, compares its SHA-256 with the
// token's in constant time and refuses a mismatch before it sends anything else.
// From then on it trusts only that CA. The join secret is presented once, to obtain
// the node's own credential, which is kept (0600) under <data-dir>/agent/ with the CA
// and used from then on, so a restart never needs the secret again.
import { request } from "node:https";
import { join } from "node:path";
import { readIfExists, writeFileAtomic } from "../pki/files";
import { bareSecretMessage, caHash, caMatches, caMismatchMessage, parseJoinToken } from "../pki/jointoken";
import { CACERTS_PATH, credentialPath } from "./protocol";

export class JoinError extends Error {
  constructor(
    message: string,
    readonly code: "BAD_TOKEN" | "BARE_SECRET" | "CA_MISMATCH" | "REFUSED" | "UNREACHABLE" | "BAD_ANSWER",
  ) {
    super(message);
  }
}

/** What an agent needs to open its link. */
export interface NodeIdentity {
  server: string;
  node: string;
  caPem: string;
  token: string;
}

export interface JoinOptions {
  /** --join, e.g. https://10.0.0.1:6443 */
  server: string;
  /** --token: K10<CA sha256>::server:<secret> */
  token: string;
  dataDir: string;
  node: string;
  log?: (msg: string) => void;
  timeoutMs?: number;
}

export function agentDir(dataDir: string): string {
  return join(dataDir, "agent");
}
const caPath = (dataDir: string) => join(agentDir(dataDir), "server-ca.crt");
const credPath = (dataDir: string) => join(agentDir(dataDir), "node-credential.json");

/** Checks the token's form; returns the pinned CA hash and the secret. */
export function checkJoinToken(token: string): { caHash: string; secret: string } {
  let parsed: ReturnType<typeof parseJoinToken>;
  try {
    parsed = parseJoinToken(token);
  } catch (err) {
    throw new JoinError((err as Error).message, "BAD_TOKEN");
  }
  if (parsed.caHash === undefined) throw new JoinError(bareSecretMessage(), "BARE_SECRET");
  return { caHash: parsed.caHash, secret: parsed.secret };
}

function httpsRequest(
  url: URL,
  opts: { method: string; ca?: string; headers?: Record<string, string>; timeoutMs: number },
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: opts.method,
        headers: opts.headers,
        timeout: opts.timeoutMs,
        ...(opts.ca ? { ca: opts.ca } : { rejectUnauthorized: false }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          // A CA bundle or a credential is small; anything else is not our server.
          if (size > 1024 * 1024) req.destroy(new Error("answer too large"));
          else chunks.push(c);
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer in ${opts.timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

function serverUrl(server: string): URL {
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new JoinError(
      `--join ${JSON.stringify(server)} is not a URL (expected https://HOST:6443)`,
      "BAD_TOKEN",
    );
  }
  if (u.protocol !== "https:")
    throw new JoinError(`--join ${server}: the server must be an https:// URL`, "BAD_TOKEN");
  return u;
}

/** Downloads the server's CA without trusting the connection (it is verified by hash next). */
export async function fetchCA(server: string, timeoutMs = 15_000): Promise<Buffer> {
  let r: { status: number; body: Buffer };
  try {
    r = await httpsRequest(new URL(CACERTS_PATH, serverUrl(server)), { method: "GET", timeoutMs });
  } catch (err) {
    throw new JoinError(`cannot reach ${server}: ${(err as Error).message}`, "UNREACHABLE");
  }
  if (r.status !== 200)
    throw new JoinError(`${server}${CACERTS_PATH} answered ${r.status}: is it a tsk server?`, "BAD_ANSWER");
  return r.body;
}

function statusMessage(body: Buffer): string {
  try {
    const s = JSON.parse(body.toString());
    if (typeof s.message === "string") return s.message;
  } catch {}
  return body.toString().slice(0, 200);
}

/** Presents the join secret once and returns the node's own credential. */
export async function requestCredential(
  server: string,
  caPem: string,
  secret: string,
  node: string,
  timeoutMs = 15_000,
): Promise<string> {
  let r: { status: number; body: Buffer };
  try {
    r = await httpsRequest(new URL(credentialPath(node), serverUrl(server)), {
      method: "POST",
      ca: caPem,
      headers: { Authorization: `Bearer ${secret}` },
      timeoutMs,
    });
  } catch (err) {
    throw new JoinError(`cannot reach ${server}: ${(err as Error).message}`, "UNREACHABLE");
  }
  if (r.status !== 200) {
    throw new JoinError(`the server refused to join node "${node}": ${statusMessage(r.body)}`, "REFUSED");
  }
  let token: unknown;
  try {
    token = JSON.parse(r.body.toString()).token;
  } catch {}
  if (typeof token !== "string" || token === "")
    throw new JoinError("the server's credential answer has no token", "BAD_ANSWER");
  return token;
}

/** The credential kept from an earlier join, when it is for this node and this CA. */
export async function storedIdentity(
  dataDir: string,
  node: string,
  pinnedHash: string,
): Promise<NodeIdentity | undefined> {
  const [ca, cred] = await Promise.all([readIfExists(caPath(dataDir)), readIfExists(credPath(dataDir))]);
  if (ca === undefined || cred === undefined || !caMatches(ca, pinnedHash)) return undefined;
  try {
    const c = JSON.parse(cred) as { node?: unknown; token?: unknown; server?: unknown };
    if (c.node !== node || typeof c.token !== "string" || typeof c.server !== "string") return undefined;
    return { server: c.server, node, caPem: ca, token: c.token };
  } catch {
    return undefined;
  }
}

/**
 * Joins (or rejoins) `opts.server`: fetches and verifies the CA, obtains a credential
 * with the join secret and stores both. `reuse` returns the stored credential without
 * contacting the server when there is one for this node and CA.
 */
export async function joinCluster(opts: JoinOptions, reuse = true): Promise<NodeIdentity> {
  const { caHash: pinned, secret } = checkJoinToken(opts.token);
  const server = serverUrl(opts.server).origin;
  if (reuse) {
    const stored = await storedIdentity(opts.dataDir, opts.node, pinned);
    if (stored) return { ...stored, server };
  }
  const ca = await fetchCA(server, opts.timeoutMs);
  if (!caMatches(ca, pinned))
    throw new JoinError(caMismatchMessage(server, pinned, caHash(ca)), "CA_MISMATCH");
  const caPem = ca.toString("utf8");
  const token = await requestCredential(server, caPem, secret, opts.node, opts.timeoutMs);
  await writeFileAtomic(caPath(opts.dataDir), caPem, 0o600);
  await writeFileAtomic(
    credPath(opts.dataDir),
    `${JSON.stringify({ server, node: opts.node, token, joined: new Date().toISOString() })}\n`,
    0o600,
  );
  opts.log?.(`joined ${server} as node ${opts.node}`);
  return { server, node: opts.node, caPem, token };
}
