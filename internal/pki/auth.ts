// Bearer-token authentication: the admin token written into the kubeconfig and the
// per-node credentials handed to agents on their first join.
//
// Tokens are looked up by their SHA-256 and the stored digest is then compared in
// constant time, so neither the lookup nor the comparison depends on how many
// leading bytes of a guessed token are right. Node tokens are stored only as
// digests; the plain token exists once, in the answer to the joining agent.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { readIfExists, writeFileAtomic } from "./files";

export interface UserInfo {
  username: string;
  groups: string[];
  uid: string;
}

export const ADMIN_USER: UserInfo = {
  username: "system:admin",
  groups: ["system:masters", "system:authenticated"],
  uid: "admin",
};

export const NODE_USER_PREFIX = "system:node:";

export function nodeUser(nodeName: string): UserInfo {
  return {
    username: `${NODE_USER_PREFIX}${nodeName}`,
    groups: ["system:nodes", "system:authenticated"],
    uid: `node:${nodeName}`,
  };
}

/** The node name of a node user ("system:node:NAME"), or undefined for any other user. */
export function nodeNameOf(user: UserInfo): string | undefined {
  return user.username.startsWith(NODE_USER_PREFIX) && user.groups.includes("system:nodes")
    ? user.username.slice(NODE_USER_PREFIX.length)
    : undefined;
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s, "utf8").digest();
}

/**
 * Constant-time string comparison. Both sides are hashed first so the comparison
 * runs over equal-length digests and leaks neither the content nor the length.
 */
export function tokensEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export function credDir(dataDir: string): string {
  return join(dataDir, "server", "cred");
}

export function adminTokenPath(dataDir: string): string {
  return join(credDir(dataDir), "admin-token");
}

function nodesDir(dataDir: string): string {
  return join(credDir(dataDir), "nodes");
}

/** A new random bearer token (256 bits, URL-safe). */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * The admin bearer token, kept in `<data-dir>/server/cred/admin-token` (0600) so the
 * kubeconfig written on every start keeps working across restarts.
 */
export async function ensureAdminToken(dataDir: string): Promise<string> {
  const path = adminTokenPath(dataDir);
  const existing = (await readIfExists(path))?.trim();
  if (existing) return existing;
  const token = randomToken();
  await writeFileAtomic(path, `${token}\n`, 0o600);
  return token;
}

/** DNS-1123 subdomain, as Kubernetes requires of node names; also keeps paths safe. */
export function validNodeName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 253 &&
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)
  );
}

export class AuthError extends Error {
  constructor(
    message: string,
    readonly code: "INVALID_NODE_NAME" | "INVALID_CREDENTIAL",
  ) {
    super(message);
  }
}

interface StoredNodeCredential {
  node: string;
  sha256: string;
  created: string;
}

/** token digest (hex) → user; one entry per user (adding a user's token replaces the old). */
export class TokenAuthenticator {
  private readonly byDigest = new Map<string, { digest: Buffer; user: UserInfo }>();
  private readonly digestOfUser = new Map<string, string>();

  constructor(private readonly dataDir?: string) {}

  /**
   * Loads the admin token (creating it on first start) and every node credential
   * from `<data-dir>/server/cred/`.
   */
  static async open(dataDir: string): Promise<{ authenticator: TokenAuthenticator; adminToken: string }> {
    const auth = new TokenAuthenticator(dataDir);
    const adminToken = await ensureAdminToken(dataDir);
    auth.add(adminToken, ADMIN_USER);
    let names: string[] = [];
    try {
      names = await fs.readdir(nodesDir(dataDir));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    for (const file of names) {
      if (!file.endsWith(".json")) continue;
      const path = join(nodesDir(dataDir), file);
      let rec: StoredNodeCredential;
      try {
        rec = JSON.parse(await fs.readFile(path, "utf8")) as StoredNodeCredential;
      } catch (err) {
        throw new AuthError(
          `reading node credential ${path}: ${(err as Error).message}`,
          "INVALID_CREDENTIAL",
        );
      }
      if (!validNodeName(rec.node) || !/^[0-9a-f]{64}$/.test(rec.sha256) || `${rec.node}.json` !== file) {
        throw new AuthError(`reading node credential ${path}: malformed record`, "INVALID_CREDENTIAL");
      }
      auth.addDigest(Buffer.from(rec.sha256, "hex"), nodeUser(rec.node));
    }
    return { authenticator: auth, adminToken };
  }

  /** Adds (or replaces) the token of `user`. */
  add(token: string, user: UserInfo): void {
    if (token === "") throw new AuthError("empty bearer token", "INVALID_CREDENTIAL");
    this.addDigest(digest(token), user);
  }

  private addDigest(d: Buffer, user: UserInfo): void {
    this.removeUser(user.username);
    const key = d.toString("hex");
    this.byDigest.set(key, { digest: d, user: { ...user, groups: [...user.groups] } });
    this.digestOfUser.set(user.username, key);
  }

  /** Forgets `username`'s token (in memory only). */
  removeUser(username: string): void {
    const key = this.digestOfUser.get(username);
    if (key === undefined) return;
    this.byDigest.delete(key);
    this.digestOfUser.delete(username);
  }

  /** The user a bearer token belongs to, or undefined. The token itself is never logged. */
  authenticate(bearer: string): UserInfo | undefined {
    if (bearer === "") return undefined;
    const d = digest(bearer);
    const entry = this.byDigest.get(d.toString("hex"));
    if (!entry || !timingSafeEqual(entry.digest, d)) return undefined;
    return { ...entry.user, groups: [...entry.user.groups] };
  }

  hasNode(nodeName: string): boolean {
    return this.digestOfUser.has(nodeUser(nodeName).username);
  }

  /**
   * Makes a new credential for `nodeName`, replacing any earlier one, persists its
   * digest under `<data-dir>/server/cred/nodes/<node>.json` and returns the plain
   * token: the only copy, to be sent to the agent.
   */
  async issueNodeToken(nodeName: string): Promise<string> {
    if (!validNodeName(nodeName)) {
      throw new AuthError(
        `invalid node name ${JSON.stringify(nodeName)}: must be a lower-case DNS-1123 subdomain`,
        "INVALID_NODE_NAME",
      );
    }
    const token = randomToken();
    const d = digest(token);
    if (this.dataDir !== undefined) {
      const rec: StoredNodeCredential = {
        node: nodeName,
        sha256: d.toString("hex"),
        created: new Date().toISOString(),
      };
      await writeFileAtomic(
        join(nodesDir(this.dataDir), `${nodeName}.json`),
        `${JSON.stringify(rec)}\n`,
        0o600,
      );
    }
    this.addDigest(d, nodeUser(nodeName));
    return token;
  }

  /** Removes a node's credential (memory and disk), e.g. when the Node is deleted. */
  async revokeNodeToken(nodeName: string): Promise<void> {
    if (!validNodeName(nodeName)) return;
    this.removeUser(nodeUser(nodeName).username);
    if (this.dataDir !== undefined)
      await fs.rm(join(nodesDir(this.dataDir), `${nodeName}.json`), { force: true });
  }
}
