import { promises as fs, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ADMIN_USER, nodeNameOf, nodeUser, TokenAuthenticator, tokensEqual } from "../../../internal/pki";

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), "tsk-auth-"));
  dirs.push(d);
  return d;
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("tokensEqual tells equal strings from different ones, of any length", () => {
  assert.ok(tokensEqual("abc", "abc"));
  assert.ok(tokensEqual("", ""));
  assert.not.ok(tokensEqual("abc", "abd"));
  assert.not.ok(tokensEqual("abc", "abcd"));
  assert.not.ok(tokensEqual("", "a"));
  assert.ok(tokensEqual("ü€", "ü€"));
});

test("the admin token authenticates as system:admin in system:masters", async () => {
  const { authenticator, adminToken } = await TokenAuthenticator.open(tempDir());
  assert.equal(authenticator.authenticate(adminToken), ADMIN_USER);
  assert.equal(authenticator.authenticate(adminToken)?.groups, ["system:masters", "system:authenticated"]);
});

test("wrong, empty, truncated and extended tokens authenticate nobody", async () => {
  const { authenticator, adminToken } = await TokenAuthenticator.open(tempDir());
  assert.is(authenticator.authenticate(""), undefined);
  assert.is(authenticator.authenticate("nope"), undefined);
  assert.is(authenticator.authenticate(adminToken.slice(0, -1)), undefined);
  assert.is(authenticator.authenticate(`${adminToken}x`), undefined);
  assert.is(
    authenticator.authenticate(
      adminToken.toUpperCase() === adminToken ? `${adminToken}y` : adminToken.toUpperCase(),
    ),
    undefined,
  );
});

test("the admin token is kept in server/cred (0600) across restarts", async () => {
  const dataDir = tempDir();
  const first = await TokenAuthenticator.open(dataDir);
  const second = await TokenAuthenticator.open(dataDir);
  assert.is(second.adminToken, first.adminToken);
  assert.ok(second.adminToken.length >= 32);
  const path = join(dataDir, "server", "cred", "admin-token");
  assert.is(statSync(path).mode & 0o777, 0o600);
});

test("a node token authenticates as system:node:<name> and is stored only as a digest", async () => {
  const dataDir = tempDir();
  const { authenticator } = await TokenAuthenticator.open(dataDir);
  const token = await authenticator.issueNodeToken("worker-1");
  const user = authenticator.authenticate(token);
  assert.equal(user, nodeUser("worker-1"));
  assert.equal(user?.groups, ["system:nodes", "system:authenticated"]);
  assert.is(user && nodeNameOf(user), "worker-1");
  const file = join(dataDir, "server", "cred", "nodes", "worker-1.json");
  assert.is(statSync(file).mode & 0o777, 0o600);
  const stored = await fs.readFile(file, "utf8");
  assert.not.ok(stored.includes(token), "plain token must not be on disk");
  for (const f of await fs.readdir(join(dataDir, "server", "cred"), { recursive: true })) {
    const p = join(dataDir, "server", "cred", String(f));
    if (statSync(p).isFile())
      assert.not.ok((await fs.readFile(p, "utf8")).includes(token), `${f} holds the node token`);
  }
});

test("node credentials survive a server restart", async () => {
  const dataDir = tempDir();
  const { authenticator } = await TokenAuthenticator.open(dataDir);
  const t1 = await authenticator.issueNodeToken("node-a");
  const t2 = await authenticator.issueNodeToken("node-b.example");
  const reopened = (await TokenAuthenticator.open(dataDir)).authenticator;
  assert.is(reopened.authenticate(t1)?.username, "system:node:node-a");
  assert.is(reopened.authenticate(t2)?.username, "system:node:node-b.example");
  assert.ok(reopened.hasNode("node-a"));
  assert.not.ok(reopened.hasNode("node-c"));
});

test("reissuing a node's token revokes the old one; revoking removes it on disk too", async () => {
  const dataDir = tempDir();
  const { authenticator } = await TokenAuthenticator.open(dataDir);
  const old = await authenticator.issueNodeToken("n1");
  const fresh = await authenticator.issueNodeToken("n1");
  assert.is(authenticator.authenticate(old), undefined);
  assert.is(authenticator.authenticate(fresh)?.username, "system:node:n1");
  await authenticator.revokeNodeToken("n1");
  assert.is(authenticator.authenticate(fresh), undefined);
  assert.is((await TokenAuthenticator.open(dataDir)).authenticator.authenticate(fresh), undefined);
});

test("a node name that is not a DNS subdomain is refused (no path tricks)", async () => {
  const { authenticator } = await TokenAuthenticator.open(tempDir());
  for (const bad of ["../evil", "UPPER", "", "a/b", "-x"]) {
    try {
      await authenticator.issueNodeToken(bad);
      assert.unreachable(`accepted ${bad}`);
    } catch (err) {
      assert.match((err as Error).message, /invalid node name/);
    }
  }
});

test("a corrupt node credential file is reported with its path", async () => {
  const dataDir = tempDir();
  await fs.mkdir(join(dataDir, "server", "cred", "nodes"), { recursive: true });
  await fs.writeFile(join(dataDir, "server", "cred", "nodes", "x.json"), "{not json");
  try {
    await TokenAuthenticator.open(dataDir);
    assert.unreachable("should fail");
  } catch (err) {
    assert.match((err as Error).message, /nodes\/x\.json/);
  }
});

test("returned user info cannot be used to change the table", async () => {
  const { authenticator, adminToken } = await TokenAuthenticator.open(tempDir());
  const u = authenticator.authenticate(adminToken);
  u?.groups.push("evil");
  assert.equal(authenticator.authenticate(adminToken)?.groups, ["system:masters", "system:authenticated"]);
});

test.run();
