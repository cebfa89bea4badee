// The link end to end in one process, over a real HTTPS server, a real LevelDB store and
// a real WebSocket: API calls and watches multiplexed with reverse streams (the path
// kubectl logs/exec/port-forward will take), with flow control and integrity under load.
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { findResource } from "../../../internal/api/resources";
import { type ApiServer, LocalClient, startApiServer } from "../../../internal/apiserver";
import { createNodeRule } from "../../../internal/apiserver/noderules";
import { LinkClient } from "../../../internal/link/client";
import { joinCluster } from "../../../internal/link/join";
import { createLinkServer, type LinkServer } from "../../../internal/link/server";
import type { LinkStream } from "../../../internal/link/streams";
import { ensureServerCredentials } from "../../../internal/pki";
import { openStore } from "../../../internal/store";
import type { Store } from "../../../internal/store/types";

const NODES = findResource("", "v1", "nodes")!;
const SERVICES = findResource("", "v1", "services")!;

let dir: string;
let store: Store;
let api: ApiServer;
let link: LinkServer;
let agent: LinkClient;
let system: LocalClient;
let adminToken: string;
let caPem: string;
const stop = new AbortController();
const agentStreams: LinkStream[] = [];
const logs: string[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), "tsk-link-streams-"));
  const log = (m: string) => logs.push(m);
  const creds = await ensureServerCredentials({
    dataDir: dir,
    sans: ["127.0.0.1", "localhost"],
    kubeconfigServer: "",
  });
  store = await openStore({ backend: "leveldb", path: join(dir, "db") });
  const rules = createNodeRule(log);
  let l: LinkServer | undefined;
  api = await startApiServer(
    {
      bindAddress: "127.0.0.1",
      port: 0,
      tls: { certPem: creds.pki.serverCertPem, keyPem: creds.pki.serverKeyPem },
    },
    {
      store,
      authenticate: (t) => creds.authenticator.authenticate(t),
      nodeRule: rules.rule,
      intercept: (req, res) => l?.handleRequest(req, res) ?? false,
      upgrade: (req, socket, head) => l?.handleUpgrade(req, socket, head) ?? false,
    },
  );
  adminToken = creds.adminToken;
  caPem = creds.pki.caCertPem;
  system = new LocalClient(
    api.registry,
    { username: "system:test", groups: ["system:masters", "system:authenticated"] },
    "test",
  );
  l = link = createLinkServer({
    registry: api.registry,
    credentials: creds.authenticator,
    nodeRule: rules.rule,
    caPem: creds.pki.caCertPem,
    joinSecret: creds.joinSecret,
    log,
  });
  await rules.start(system, stop.signal);
  await link.start(system, stop.signal);
  const id = await joinCluster({
    server: api.url,
    token: creds.joinToken,
    dataDir: join(dir, "agent"),
    node: "n1",
  });
  agent = new LinkClient({ server: id.server, caPem: id.caPem, token: id.token });
  // The agent's side: "echo" sends back what it gets; "source" sends params.bytes of data.
  agent.onStream((s) => {
    agentStreams.push(s);
    if (s.kind === "exec") {
      s.onData((ch, d) => s.write(ch === 0 ? 1 : 2, d));
      s.onEnd(() => s.close());
    } else if (s.kind === "log") {
      const total = Number(s.params.bytes);
      const seed = Buffer.from(String(s.params.seed));
      void (async () => {
        let sent = 0;
        let block = 0;
        while (sent < total) {
          const chunk = createHash("sha512").update(seed).update(String(block++)).digest();
          const n = Math.min(chunk.length * 512, total - sent);
          const buf = Buffer.alloc(n);
          for (let o = 0; o < n; o += chunk.length) chunk.copy(buf, o);
          await s.write(1, buf);
          sent += n;
        }
        s.close();
      })().catch(() => {});
    } else s.abort(`no ${s.kind} here`);
  });
  await agent.start();
  await agent.create(NODES, undefined, { apiVersion: "v1", kind: "Node", metadata: { name: "n1" } });
});

test.after(async () => {
  agent?.close();
  stop.abort();
  link?.close();
  await api?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function collect(s: LinkStream): Promise<{ out: Buffer; err: Buffer; end?: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  s.onData((ch, d) => void (ch === 1 ? out : err).push(Buffer.from(d)));
  return new Promise((resolve) =>
    s.onEnd((end) => resolve({ out: Buffer.concat(out), err: Buffer.concat(err), end })),
  );
}

test("the server opens a stream to a connected node and data comes back intact", async () => {
  const s = await link.openStream("n1", "exec", { command: ["cat"] });
  const done = collect(s);
  const input = randomBytes(3 * 1024 * 1024);
  await s.write(0, input);
  s.close();
  const { out, end } = await done;
  assert.is(end, undefined);
  assert.is(createHash("sha256").update(out).digest("hex"), createHash("sha256").update(input).digest("hex"));
});

test("a node that is not connected gets a 503 naming it; a refused kind carries the agent's reason", async () => {
  try {
    await link.openStream("n2", "exec", {});
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, 'node "n2" is not connected');
  }
  try {
    await link.openStream("n1", "attach", {});
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, "no attach here");
  }
});

test("API calls and watch events keep flowing while big streams run on the same link", async () => {
  const bytes = 40 * 1024 * 1024;
  const t0 = Date.now();
  const streams = await Promise.all([1, 2].map((seed) => link.openStream("n1", "log", { bytes, seed })));
  const sizes = streams.map((s) => {
    let n = 0;
    s.onData((_ch, d) => {
      n += d.length;
    });
    return new Promise<number>((r) => s.onEnd(() => r(n)));
  });
  // Meanwhile: calls through the same WebSocket, each answered promptly.
  const latencies: number[] = [];
  let calls = 0;
  const caller = (async () => {
    while (latencies.length < 20) {
      const c0 = Date.now();
      await agent.get(NODES, undefined, "n1");
      latencies.push(Date.now() - c0);
      calls++;
    }
  })();
  const got = await Promise.all(sizes);
  await caller;
  const secs = (Date.now() - t0) / 1000;
  assert.equal(got, [bytes, bytes]);
  latencies.sort((x, y) => x - y);
  const p50 = latencies[Math.floor(latencies.length / 2)];
  console.log(
    `streams: ${((2 * bytes) / 1024 / 1024 / secs).toFixed(0)} MiB/s over 2 streams; ${calls} calls meanwhile, p50 ${p50} ms, max ${latencies.at(-1)} ms`,
  );
  assert.ok(p50 < 500, `calls starved by streams: p50 ${p50} ms`);
});

test("closing the link ends the agent's streams, so nothing is left running on the agent", async () => {
  const before = agentStreams.length;
  const s = await link.openStream("n1", "exec", {});
  const ended = new Promise<string | undefined>((r) => agentStreams[before].onEnd(r));
  s.abort("client went away");
  assert.is(await ended, "client went away");
  // And the list-watch path still works after all this.
  const list = await agent.list(SERVICES, undefined);
  assert.ok(list.items.some((x) => x.metadata?.name === "kubernetes"));
});

test("/cacerts serves the CA byte for byte, without authentication", async () => {
  const { fetchCA } = await import("../../../internal/link/join");
  assert.is((await fetchCA(api.url)).toString(), caPem);
});

test("the link refuses a bearer that is not a node's, and a missing one", async () => {
  const { WebSocket } = await import("ws");
  const status = (headers: Record<string, string>) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`${api.url.replace("https", "wss")}/v1-tsk/link`, { ca: caPem, headers });
      ws.on("unexpected-response", (_q, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => {
        ws.close();
        resolve(101);
      });
      ws.on("error", () => {});
    });
  assert.is(await status({ Authorization: `Bearer ${adminToken}` }), 403);
  assert.is(await status({}), 401);
  assert.is(await status({ Authorization: "Bearer not-a-token" }), 401);
});

test("a call for a resource the server does not serve answers 404 NotFound", async () => {
  const fake = { ...NODES, group: "nope.example.com", plural: "widgets" };
  try {
    await agent.get(fake, undefined, "x");
    assert.unreachable();
  } catch (err) {
    assert.is((err as { httpCode?: number }).httpCode, 404);
  }
});

test("a cancelled watch delivers nothing more, even when cancelled before it is open", async () => {
  const seen: string[] = [];
  const rv = (await agent.list(SERVICES, "default")).resourceVersion;
  const early = await agent.watch(
    SERVICES,
    "default",
    { resourceVersion: rv },
    (e) => seen.push(`early ${e.object.metadata?.name}`),
    () => {},
  );
  early.cancel();
  const late = await agent.watch(
    SERVICES,
    "default",
    { resourceVersion: rv },
    (e) => seen.push(`late ${e.object.metadata?.name}`),
    () => {},
  );
  const svc = (name: string) => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, namespace: "default" },
    spec: { ports: [{ port: 80 }] },
  });
  await system.create(SERVICES, "default", svc("one"));
  const until = Date.now() + 5000;
  while (!seen.includes("late one") && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  late.cancel();
  await new Promise((r) => setTimeout(r, 200));
  await system.create(SERVICES, "default", svc("two"));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(seen, ["late one"]);
});

test.run();
