// The link survives the server: killed with SIGKILL and started again on the same data
// dir and port, the agent reconnects and its watch resumes from the last revision it saw.
import { readFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { findResource } from "../../../internal/api/resources";
import type { ClientError, WatchEvent } from "../../../internal/client/types";
import { startServer, type TestServer } from "../../support/cluster";
import { eventually, joinInProcess, startAgentProcess, stopAll } from "./agents";

const PODS = findResource("", "v1", "pods")!;
const servers: TestServer[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A loopback TCP relay between the agent and the server that the test can cut: while
 * cut, it drops every connection, so the agent is away for exactly as long as the test wants.
 */
async function relay(
  target: () => number,
): Promise<{ port: number; cut(): void; mend(): void; close(): void }> {
  const sockets = new Set<Socket>();
  let open = true;
  const srv: Server = createServer((client) => {
    if (!open) return client.destroy();
    const upstream = connect(target(), "127.0.0.1");
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as { port: number }).port,
    cut() {
      open = false;
      for (const s of sockets) s.destroy();
    },
    mend() {
      open = true;
    },
    close() {
      open = false;
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}
const relays: Array<{ close(): void }> = [];

test.after(async () => {
  for (const r of relays) r.close();
  await stopAll();
  for (const s of servers) await s.stop();
});

const pod = (name: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "default" },
  spec: { nodeName: "survivor", containers: [{ name: "c", image: "busybox" }] },
});

test("after a server SIGKILL and restart the agent reconnects and sees what was created while it was away", async () => {
  const port = await freePort();
  const first = await startServer({ args: ["--https-listen-port", String(port)] });
  servers.push(first);
  const token = readFileSync(join(first.dataDir, "server", "token"), "utf8").trim();
  const r = await relay(() => port);
  relays.push(r);
  const client = await joinInProcess(`https://127.0.0.1:${r.port}`, token, "survivor", {
    backoff: { initialMs: 200, maxMs: 500 },
  });
  assert.is((await first.api("POST", "/api/v1/namespaces/default/pods", pod("before"))).status, 201);
  const listed = await client.list(PODS, undefined, { fieldSelector: "spec.nodeName=survivor" });
  assert.equal(
    listed.items.map((p) => p.metadata?.name),
    ["before"],
  );
  const events: WatchEvent[] = [];
  const errors: ClientError[] = [];
  await client.watch(
    PODS,
    undefined,
    { resourceVersion: listed.resourceVersion, fieldSelector: "spec.nodeName=survivor" },
    (ev) => events.push(ev),
    (err) => errors.push(err),
  );
  assert.is((await first.api("POST", "/api/v1/namespaces/default/pods", pod("live"))).status, 201);
  await eventually(() => events.some((e) => e.object.metadata?.name === "live"), 5_000, "live event");

  r.cut();
  await first.kill("SIGKILL");
  await eventually(() => !client.isConnected, 5_000, "link noticed the server is gone");
  const connectsBefore = client.connects;
  const second = await startServer({ dataDir: first.dataDir, args: ["--https-listen-port", String(port)] });
  servers.push(second);
  assert.is(second.port, port);
  // Created while the agent is still cut off from the new server.
  assert.is((await second.api("POST", "/api/v1/namespaces/default/pods", pod("while-away"))).status, 201);
  assert.not.ok(client.isConnected);
  r.mend();
  await eventually(
    () => events.some((e) => e.object.metadata?.name === "while-away"),
    20_000,
    "resumed event",
  );
  assert.ok(client.connects > connectsBefore, "the link reconnected");
  assert.equal(errors, [], "the watch resumed without an error");
  // Every event once, in order: the resumed watch did not replay what was already seen.
  assert.equal(
    events.map((e) => `${e.type} ${e.object.metadata?.name}`),
    ["ADDED live", "ADDED while-away"],
  );
});

test("a dropped connection is resumed too: changes made meanwhile arrive once, in order", async () => {
  const server = servers[servers.length - 1];
  const token = readFileSync(join(server.dataDir, "server", "token"), "utf8").trim();
  const r = await relay(() => server.port);
  relays.push(r);
  const client = await joinInProcess(`https://127.0.0.1:${r.port}`, token, "dropper", {
    backoff: { initialMs: 100, maxMs: 300 },
  });
  const mine = (name: string) => ({ ...pod(name), spec: { ...pod(name).spec, nodeName: "dropper" } });
  const listed = await client.list(PODS, undefined, { fieldSelector: "spec.nodeName=dropper" });
  const events: string[] = [];
  const errors: ClientError[] = [];
  await client.watch(
    PODS,
    undefined,
    { resourceVersion: listed.resourceVersion, fieldSelector: "spec.nodeName=dropper" },
    (ev) => events.push(`${ev.type} ${ev.object.metadata?.name}`),
    (err) => errors.push(err),
  );
  await server.api("POST", "/api/v1/namespaces/default/pods", mine("d1"));
  await eventually(() => events.length === 1, 5_000, "first event");
  r.cut();
  await eventually(() => !client.isConnected, 5_000, "link dropped");
  await server.api("POST", "/api/v1/namespaces/default/pods", mine("d2"));
  await server.api("DELETE", "/api/v1/namespaces/default/pods/d1?gracePeriodSeconds=0");
  await new Promise((res) => setTimeout(res, 500));
  assert.equal(events, ["ADDED d1"], "nothing arrives while cut off");
  r.mend();
  await eventually(() => events.length >= 3, 10_000, "resumed events");
  assert.equal(events.slice(0, 2), ["ADDED d1", "ADDED d2"]);
  assert.match(events[2], /^(MODIFIED|DELETED) d1$/);
  assert.equal(errors, []);
});

test("an agent started while its server is down waits, then joins when the server comes up", async () => {
  const last = servers[servers.length - 1];
  const token = readFileSync(join(last.dataDir, "server", "token"), "utf8").trim();
  await last.kill("SIGTERM");
  const agent = startAgentProcess(["--join", last.url, "--token", token, "--node-name", "early-bird"]);
  await agent.waitForLog(/waiting for the server: cannot reach/);
  const next = await startServer({ dataDir: last.dataDir, args: ["--https-listen-port", String(last.port)] });
  servers.push(next);
  await agent.waitForLog(/tsk agent early-bird ready/, 40_000);
  assert.match(next.kubectl(["get", "node", "early-bird"]).stdout, /early-bird\s+Ready/);
  assert.is(await agent.stop("SIGTERM"), 0);
});

test.run();
