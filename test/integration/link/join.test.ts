// `tsk agent --join` against a real `tsk server` on loopback: joining, refusals, and
// restarts reusing the node's credential.
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startServer, type TestServer } from "../../support/cluster";
import { type AgentProcess, eventually, startAgentProcess, stopAll, tempDir } from "./agents";

let server: TestServer;
let token: string;
let worker1: AgentProcess | undefined;

test.before(async () => {
  server = await startServer();
  const r = await import("node:fs").then((fs) =>
    fs.readFileSync(join(server.dataDir, "server", "token"), "utf8"),
  );
  token = r.trim();
});
test.after(async () => {
  await stopAll();
  await server?.stop();
});

const credentialRequests = (node: string) =>
  server
    .logs()
    .split("\n")
    .filter((l) => l.includes(`credential request for node ${node} `));

test("an agent with the right token joins: its node is Ready in kubectl get nodes, with its labels and taints", async () => {
  const agent = startAgentProcess([
    "--join",
    server.url,
    "--token",
    token,
    "--node-name",
    "worker-1",
    "--node-ip",
    "10.9.8.7",
    "--node-label",
    "tier=edge",
    "--node-taint",
    "dedicated=edge:NoSchedule",
  ]);
  worker1 = agent;
  await agent.waitForLog(/tsk agent worker-1 ready/);
  const out = server.kubectl(["get", "nodes", "-o", "wide"]);
  assert.is(out.code, 0, out.stderr);
  assert.match(out.stdout, /worker-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.2\+tsk\s+10\.9\.8\.7/);
  const node = JSON.parse(server.kubectl(["get", "node", "worker-1", "-o", "json"]).stdout);
  assert.is(node.metadata.labels["kubernetes.io/hostname"], "worker-1");
  assert.is(node.metadata.labels["kubernetes.io/os"], "linux");
  assert.is(node.metadata.labels.tier, "edge");
  assert.ok(node.metadata.labels["kubernetes.io/arch"]);
  assert.equal(node.spec.taints, [{ key: "dedicated", value: "edge", effect: "NoSchedule" }]);
  const ready = node.status.conditions.find((c: { type: string }) => c.type === "Ready");
  assert.is(ready.status, "True");
  assert.is(ready.reason, "KubeletReady");
  assert.ok(Number(node.status.capacity.pods) > 0 && node.status.allocatable.memory.endsWith("Ki"));
  // The credential and the CA are kept privately under the agent's data dir.
  for (const f of ["node-credential.json", "server-ca.crt"])
    assert.is(statSync(join(agent.dataDir, "agent", f)).mode & 0o777, 0o600, f);
});

test("the agent renews its Lease in kube-node-lease every 10 s", async () => {
  const get = () =>
    JSON.parse(server.kubectl(["get", "lease", "-n", "kube-node-lease", "worker-1", "-o", "json"]).stdout);
  const first = get();
  assert.is(first.spec.holderIdentity, "worker-1");
  await eventually(() => get().spec.renewTime !== first.spec.renewTime, 15_000, "lease renewal");
});

test("a wrong secret is refused with a clear message and a failing exit code", async () => {
  const bad = token.replace(/:([^:]+)$/, ":0123456789abcdef0123456789abcdef");
  const agent = startAgentProcess(["--join", server.url, "--token", bad, "--node-name", "intruder"]);
  const code = await agent.exited;
  assert.is.not(code, 0);
  assert.match(agent.logs(), "the join token's secret is not this cluster's");
  const out = server.kubectl(["get", "node", "intruder"]);
  assert.is.not(out.code, 0);
});

test("a token pinning another CA is refused before the secret is sent", async () => {
  const otherHash = createHash("sha256").update("some other CA").digest("hex");
  const bad = token.replace(/^K10[0-9a-f]{64}/, `K10${otherHash}`);
  const agent = startAgentProcess(["--join", server.url, "--token", bad, "--node-name", "mitm-victim"]);
  const code = await agent.exited;
  assert.is.not(code, 0);
  assert.match(agent.logs(), "does not match the join token");
  assert.match(agent.logs(), "refusing to send credentials");
  // The server saw no credential request at all for that node.
  assert.equal(credentialRequests("mitm-victim"), []);
});

test('a bare secret is refused with the "tsk token" hint', async () => {
  const secret = token.slice(token.lastIndexOf(":") + 1);
  const agent = startAgentProcess(["--join", server.url, "--token", secret, "--node-name", "bare"]);
  assert.is.not(await agent.exited, 0);
  assert.match(agent.logs(), 'run "tsk token" on the server');
  assert.equal(credentialRequests("bare"), []);
});

test("a restarted agent reuses its credential and reconnects without the server issuing another", async () => {
  const dataDir = tempDir();
  const args = ["--join", server.url, "--token", token, "--node-name", "worker-2"];
  const first = startAgentProcess(args, dataDir);
  await first.waitForLog(/tsk agent worker-2 ready/);
  assert.is(await first.stop("SIGTERM"), 0);
  assert.match(first.logs(), "tsk agent stopped");
  const second = startAgentProcess(args, dataDir);
  await second.waitForLog(/tsk agent worker-2 ready/);
  assert.not.match(second.logs(), "joined");
  assert.is(credentialRequests("worker-2").length, 1);
  const out = server.kubectl(["get", "node", "worker-2"]);
  assert.match(out.stdout, /worker-2\s+Ready/);
});

test("a second machine claiming a joined node's name is refused; deleting the node lets it join", async () => {
  const args = ["--join", server.url, "--token", token, "--node-name", "worker-1"];
  const impostor = startAgentProcess(args);
  assert.is.not(await impostor.exited, 0);
  assert.match(impostor.logs(), 'node "worker-1" has already joined');
  // The machine that was worker-1 is retired and its node deleted: the name is free again.
  await worker1?.stop("SIGTERM");
  const del = server.kubectl(["delete", "node", "worker-1"]);
  assert.is(del.code, 0, del.stderr);
  await eventually(() => server.logs().includes("node worker-1 deleted; revoking its credential"), 10_000);
  const replacement = startAgentProcess(args);
  await replacement.waitForLog(/tsk agent worker-1 ready/);
  await eventually(() => /worker-1\s+Ready/.test(server.kubectl(["get", "node", "worker-1"]).stdout), 10_000);
});

test.run();
