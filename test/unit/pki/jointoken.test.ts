import { createHash } from "node:crypto";
import { promises as fs, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  bareSecretMessage,
  caHash,
  caMatches,
  ensureJoinSecret,
  ensureServerCredentials,
  ensureServerPKI,
  formatJoinToken,
  parseJoinToken,
  readJoinToken,
  writeJoinToken,
} from "../../../internal/pki";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tsk-jointoken-"));
  dirs.push(d);
  return d;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const FAKE_CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

test("the CA hash is the SHA-256 of the CA file bytes as served at /cacerts", async () => {
  const dir = tempDir();
  const pki = await ensureServerPKI({ tlsDir: dir, sans: ["localhost"] });
  const fileBytes = await fs.readFile(join(dir, "server-ca.crt"));
  assert.is(caHash(pki.caCertPem), createHash("sha256").update(fileBytes).digest("hex"));
  assert.is(caHash(fileBytes), caHash(pki.caCertPem));
});

test("a join token reads K10<ca sha256>::server:<secret>", () => {
  const token = formatJoinToken(FAKE_CA, "s3cret");
  assert.is(token, `K10${createHash("sha256").update(FAKE_CA).digest("hex")}::server:s3cret`);
});

test("a full token parses back into CA hash, username and secret", () => {
  const token = formatJoinToken(FAKE_CA, "abc123");
  assert.equal(parseJoinToken(`  ${token}\n`), {
    caHash: caHash(FAKE_CA),
    username: "server",
    secret: "abc123",
  });
});

test("a full token with an upper-case hash and no username still parses", () => {
  const h = caHash(FAKE_CA);
  assert.equal(parseJoinToken(`K10${h.toUpperCase()}::topsecret`), {
    caHash: h,
    username: "server",
    secret: "topsecret",
  });
});

test("a bare secret parses without a CA hash and the caller's message points at tsk token", () => {
  const t = parseJoinToken("just-a-secret");
  assert.is(t.caHash, undefined);
  assert.is(t.secret, "just-a-secret");
  assert.match(bareSecretMessage(), /tsk token/);
  assert.match(bareSecretMessage(), /K10/);
});

test("a token with the wrong prefix is refused with a clear message", () => {
  assert.throws(() => parseJoinToken(`K11${caHash(FAKE_CA)}::server:x`), /should start with "K10"/);
  assert.throws(() => parseJoinToken(`X10${caHash(FAKE_CA)}::server:x`), /should start with "K10"/);
});

test("a token whose CA hash is not 64 hex digits is refused", () => {
  assert.throws(() => parseJoinToken("K10abcd::server:x"), /64 hex digits/);
  assert.throws(() => parseJoinToken(`K10${"g".repeat(64)}::server:x`), /64 hex digits/);
});

test("empty secrets and secrets with spaces are refused", () => {
  assert.throws(() => parseJoinToken(""), /empty/);
  assert.throws(() => parseJoinToken(`K10${caHash(FAKE_CA)}::server:`), /secret is empty/);
  assert.throws(() => parseJoinToken("two words"), /printable ASCII without spaces/);
  assert.throws(() => formatJoinToken(FAKE_CA, ""), /secret is empty/);
});

test("a CA that differs from the token's hash is detected", async () => {
  const ours = await ensureServerPKI({ tlsDir: tempDir(), sans: ["localhost"] });
  const theirs = await ensureServerPKI({ tlsDir: tempDir(), sans: ["localhost"] });
  const parsed = parseJoinToken(formatJoinToken(ours.caCertPem, "s"));
  assert.ok(caMatches(ours.caCertPem, parsed.caHash ?? ""));
  assert.not.ok(caMatches(theirs.caCertPem, parsed.caHash ?? ""));
  // One byte more (a trailing newline) is a different bundle, as in k3s.
  assert.not.ok(caMatches(`${ours.caCertPem}\n`, parsed.caHash ?? ""));
});

test("without --token a random secret is made once and kept across restarts", async () => {
  const dataDir = tempDir();
  const s1 = await ensureJoinSecret(dataDir);
  assert.match(s1, /^[0-9a-f]{32}$/);
  await writeJoinToken(dataDir, FAKE_CA, s1);
  assert.is(await ensureJoinSecret(dataDir), s1);
  assert.is.not(await ensureJoinSecret(tempDir()), s1);
});

test("--token as a bare secret or as this cluster's full token gives the same secret", async () => {
  const dataDir = tempDir();
  assert.is(await ensureJoinSecret(dataDir, "mysecret", FAKE_CA), "mysecret");
  assert.is(await ensureJoinSecret(dataDir, formatJoinToken(FAKE_CA, "mysecret"), FAKE_CA), "mysecret");
});

test("--token pinning another cluster's CA is refused", async () => {
  const other = "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n";
  try {
    await ensureJoinSecret(tempDir(), formatJoinToken(other, "x"), FAKE_CA);
    assert.unreachable("should fail");
  } catch (err) {
    assert.match((err as Error).message, /CA hash/);
  }
});

test("the server writes <data-dir>/server/token mode 0600 with the full token", async () => {
  const dataDir = tempDir();
  const creds = await ensureServerCredentials({
    dataDir,
    sans: ["localhost", "127.0.0.1"],
    kubeconfigServer: "https://127.0.0.1:6443",
  });
  const path = join(dataDir, "server", "token");
  assert.is(statSync(path).mode & 0o777, 0o600);
  assert.is((await fs.readFile(path, "utf8")).trim(), creds.joinToken);
  assert.is(await readJoinToken(dataDir), creds.joinToken);
  const parsed = parseJoinToken(creds.joinToken);
  assert.is(parsed.caHash, caHash(await fs.readFile(join(dataDir, "server", "tls", "server-ca.crt"))));
  assert.is(parsed.secret, creds.joinSecret);
  const again = await ensureServerCredentials({
    dataDir,
    sans: ["localhost", "127.0.0.1"],
    kubeconfigServer: "https://127.0.0.1:6443",
  });
  assert.is(again.joinToken, creds.joinToken, "token survives a restart");
  assert.is(again.adminToken, creds.adminToken, "admin token survives a restart");
});

test.run();
