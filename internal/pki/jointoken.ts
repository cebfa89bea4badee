// Join tokens in k3s's secure format: K10<CA hash>::<username>:<secret>.
//
// The CA hash is the SHA-256 of the CA certificate file exactly as stored on disk
// and served at /cacerts (k3s hashes the PEM bytes, not the DER), so an agent can
// download /cacerts without trusting the connection, hash what it got, and refuse
// the server before sending the secret if the hashes differ.
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import { tokensEqual } from "./auth";
import { readIfExists, writeFileAtomic } from "./files";

export const TOKEN_PREFIX = "K10";
export const SERVER_USERNAME = "server";

export interface JoinToken {
  /** Lower-case hex SHA-256 of the CA bundle; absent for a bare secret. */
  caHash?: string;
  username: string;
  secret: string;
}

export class JoinTokenError extends Error {
  readonly code = "INVALID_TOKEN";
}

/** SHA-256 (hex) of the CA bundle bytes, as k3s computes it for the token. */
export function caHash(caPem: string | Buffer): string {
  return createHash("sha256").update(caPem).digest("hex");
}

/** `K10<caHash(caPem)>::server:<secret>` */
export function formatJoinToken(caPem: string | Buffer, secret: string, username = SERVER_USERNAME): string {
  checkSecret(secret);
  return `${TOKEN_PREFIX}${caHash(caPem)}::${username}:${secret}`;
}

/**
 * Parses a join token. A full token yields its CA hash; a bare secret (no `K10…::`)
 * yields no `caHash`, and callers that need the CA pinned (the agent) refuse it with
 * `bareSecretMessage()`. Throws JoinTokenError on anything malformed.
 */
export function parseJoinToken(s: string): JoinToken {
  const token = s.trim();
  if (token === "") throw new JoinTokenError("the join token is empty");
  const sep = token.indexOf("::");
  if (sep < 0) {
    checkSecret(token);
    return { username: SERVER_USERNAME, secret: token };
  }
  const head = token.slice(0, sep);
  if (!head.startsWith(TOKEN_PREFIX)) {
    throw new JoinTokenError(
      `invalid join token: it should start with "${TOKEN_PREFIX}" followed by the cluster CA hash (got "${head.slice(0, 3)}…"); run "tsk token" on the server to print it`,
    );
  }
  const hash = head.slice(TOKEN_PREFIX.length).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    throw new JoinTokenError(
      `invalid join token: the cluster CA hash after "${TOKEN_PREFIX}" must be 64 hex digits (SHA-256), got ${hash.length} characters`,
    );
  }
  const creds = token.slice(sep + 2);
  const colon = creds.indexOf(":");
  const username = colon < 0 ? SERVER_USERNAME : creds.slice(0, colon);
  const secret = colon < 0 ? creds : creds.slice(colon + 1);
  if (username === "") throw new JoinTokenError("invalid join token: empty username before the secret");
  checkSecret(secret);
  return { caHash: hash, username, secret };
}

/** What to tell a user who gave an agent a bare secret instead of the full token. */
export function bareSecretMessage(): string {
  return (
    "the token is a bare secret without the cluster CA hash (K10<hash>::...), so the server cannot be verified; " +
    'run "tsk token" on the server and pass the full token it prints to --token'
  );
}

/** True when `caPem` (the bytes downloaded from /cacerts) matches the token's hash. */
export function caMatches(caPem: string | Buffer, expectedHash: string): boolean {
  return tokensEqual(caHash(caPem), expectedHash.toLowerCase());
}

/** Message for an agent whose server presented a CA that does not match its token. */
export function caMismatchMessage(server: string, expectedHash: string, gotHash: string): string {
  return (
    `the CA served by ${server} does not match the join token (token pins sha256 ${expectedHash}, server has ${gotHash}); ` +
    'refusing to send credentials. Check --join, or get the current token with "tsk token" on the server'
  );
}

export function joinTokenPath(dataDir: string): string {
  return join(dataDir, "server", "token");
}

/**
 * The server's join secret: `given` (`--token`, bare or full) when set, else the
 * one already in `<data-dir>/server/token`, else a new random one (like k3s).
 * A full `given` token must pin this cluster's CA when `caPem` is passed.
 */
export async function ensureJoinSecret(dataDir: string, given?: string, caPem?: string): Promise<string> {
  if (given !== undefined && given.trim() !== "") {
    const parsed = parseJoinToken(given);
    if (parsed.caHash !== undefined && caPem !== undefined && !caMatches(caPem, parsed.caHash)) {
      throw new JoinTokenError(
        `--token pins CA hash ${parsed.caHash} but this server's CA hash is ${caHash(caPem)}: pass the bare secret or this cluster's token`,
      );
    }
    return parsed.secret;
  }
  const existing = await readIfExists(joinTokenPath(dataDir));
  if (existing !== undefined && existing.trim() !== "") {
    try {
      return parseJoinToken(existing).secret;
    } catch (err) {
      throw new JoinTokenError(`reading ${joinTokenPath(dataDir)}: ${(err as Error).message}`);
    }
  }
  return randomBytes(16).toString("hex");
}

/**
 * Writes `<data-dir>/server/token` (mode 0600) with the full token for `secret` and
 * returns the token. Called on every start so the file follows the current CA and secret.
 */
export async function writeJoinToken(dataDir: string, caPem: string, secret: string): Promise<string> {
  const token = formatJoinToken(caPem, secret);
  await writeFileAtomic(joinTokenPath(dataDir), `${token}\n`, 0o600);
  return token;
}

/** Reads `<data-dir>/server/token`, or undefined when the server never ran there. */
export async function readJoinToken(dataDir: string): Promise<string | undefined> {
  const s = await readIfExists(joinTokenPath(dataDir));
  return s === undefined ? undefined : s.trim();
}

function checkSecret(secret: string): void {
  if (secret === "") throw new JoinTokenError("invalid join token: the secret is empty");
  if (!/^[!-~]+$/.test(secret)) {
    throw new JoinTokenError("invalid join token: the secret must be printable ASCII without spaces");
  }
}
