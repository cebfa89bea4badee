// One probe at a time (ProbeManager.probe) against real HTTP, HTTPS and TCP servers in a
// real network namespace made with `ip netns add`, standing for a pod's sandbox: the
// outcomes and messages the kubelet records. The namespace and its servers are removed
// even when a test fails.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { EventRecorder } from "../../../internal/kubelet/events";
import { ProbeManager } from "../../../internal/kubelet/probes";
import { ensureServerPKI } from "../../../internal/pki";
import type { Runtime } from "../../../internal/runtime";

if (process.getuid?.() !== 0) throw new Error("probe tests need root (ip netns add, setns)");

const NS = `tskprobe-${process.pid}`;
const NETNS = `/run/netns/${NS}`;
const tmp = mkdtempSync(join(tmpdir(), "tsk-probe-"));
let servers: ChildProcess | undefined;
let serverOut = "";
let decoy: Server | undefined;
const DECOY_PORT = 21000 + (process.pid % 20000);

function cleanup(): void {
  servers?.kill("SIGKILL");
  spawnSync("ip", ["netns", "del", NS]);
  rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);

// Inside the namespace: HTTP on 8080 and HTTPS on 8443. /ok answers 200, /fail 503,
// /slow never answers, /close hangs up; every request's headers are printed.
const SERVERS = `
const http = require("http"), https = require("https"), fs = require("fs");
const handle = (req, res) => {
  process.stdout.write(JSON.stringify({ url: req.url, headers: req.headers }) + "\\n");
  const path = req.url.split("?")[0];
  if (path === "/ok") res.end("fine");
  else if (path === "/fail") { res.statusCode = 503; res.end("down"); }
  else if (path === "/redirect") { res.statusCode = 302; res.setHeader("Location", "/ok"); res.end(); }
  else if (path === "/redirect-fail") { res.statusCode = 301; res.setHeader("Location", "/fail"); res.end(); }
  else if (path === "/loop") { res.statusCode = 307; res.setHeader("Location", "/loop"); res.end(); }
  else if (path === "/elsewhere") { res.statusCode = 302; res.setHeader("Location", "http://192.0.2.1/ok"); res.end(); }
  else if (path === "/close") req.socket.destroy();
  else if (path !== "/slow") { res.statusCode = 404; res.end(); }
};
const tls = { cert: fs.readFileSync(process.env.CERT), key: fs.readFileSync(process.env.KEY) };
http.createServer(handle).listen(8080, "127.0.0.1", () =>
  https.createServer(tls, handle).listen(8443, "127.0.0.1", () => process.stdout.write("ready\\n")));
`;

test.before(async () => {
  const pki = await ensureServerPKI({ tlsDir: tmp, sans: ["127.0.0.1"] });
  writeFileSync(join(tmp, "cert.pem"), pki.serverCertPem);
  writeFileSync(join(tmp, "key.pem"), pki.serverKeyPem);
  for (const args of [
    ["netns", "add", NS],
    ["-n", NS, "link", "set", "lo", "up"],
  ]) {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  }
  servers = spawn("ip", ["netns", "exec", NS, process.execPath, "-e", SERVERS], {
    env: { ...process.env, CERT: join(tmp, "cert.pem"), KEY: join(tmp, "key.pem") },
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    servers?.stdout?.on("data", (b: Buffer) => {
      serverOut += b.toString();
      if (serverOut.includes("ready\n")) resolve();
    });
    servers?.on("exit", (code) => reject(new Error(`servers in ${NS} exited with ${code}`)));
  });
  // On the node only: reached by a probe with an explicit host, never by one without.
  decoy = createServer((s) => s.end());
  await new Promise<void>((r) => decoy?.listen(DECOY_PORT, "127.0.0.1", r));
});

test.after(() => {
  decoy?.close();
  cleanup();
});

const sandboxes = new Map([["pod-uid", NETNS]]);
const runtime = {
  getSandbox(id: string) {
    const netns = sandboxes.get(id);
    if (!netns) throw new Error(`sandbox ${id} not found`);
    return { id, netns };
  },
} as unknown as Runtime;
const events = { record() {} } as unknown as EventRecorder;
const probes = new ProbeManager(runtime, () => {}, events);

const POD = { metadata: { uid: "pod-uid", name: "p", namespace: "default" }, spec: {}, status: {} };
const C = { name: "c", ports: [{ name: "web", containerPort: 8080 }] };

async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !f(); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(f(), "the server saw the request");
}

function run(probe: Record<string, unknown>, pod: Record<string, any> = POD) {
  return probes.probe(pod, C, { timeoutSeconds: 1, ...probe }, "ctr");
}

test("an HTTP probe passes on 200 and on a redirect, and fails with the status code otherwise", async () => {
  assert.equal(await run({ httpGet: { path: "/ok", port: "web" } }), { ok: true });
  assert.equal(await run({ httpGet: { path: "/redirect", port: 8080 } }), { ok: true });
  assert.equal(await run({ httpGet: { path: "/fail", port: 8080 } }), {
    ok: false,
    message: "HTTP probe failed with statuscode: 503",
  });
});

test("redirects to the same host are followed, at most 10; one to another host passes unfollowed", async () => {
  assert.equal(await run({ httpGet: { path: "/redirect-fail", port: 8080 } }), {
    ok: false,
    message: "HTTP probe failed with statuscode: 503",
  });
  assert.equal(await run({ httpGet: { path: "/loop", port: 8080 } }), {
    ok: false,
    message: 'Get "http://127.0.0.1:8080/loop": stopped after 10 redirects',
  });
  assert.equal(await run({ httpGet: { path: "/elsewhere", port: 8080 } }), { ok: true });
  assert.equal(await run({ httpGet: { scheme: "HTTPS", path: "/redirect", port: 8443 } }), { ok: true });
});

test("an HTTPS probe does not check the certificate and reads the status the same way", async () => {
  assert.equal(await run({ httpGet: { scheme: "HTTPS", path: "/ok", port: 8443 } }), { ok: true });
  assert.equal(await run({ httpGet: { scheme: "HTTPS", path: "/fail", port: 8443 } }), {
    ok: false,
    message: "HTTP probe failed with statuscode: 503",
  });
});

test("an HTTPS probe of a plain HTTP port fails instead of passing", async () => {
  const out = await run({ httpGet: { scheme: "HTTPS", path: "/ok", port: 8080 } });
  assert.is("ok" in out && out.ok, false);
  assert.match("message" in out ? out.message : "", /^Get "https:\/\/127\.0\.0\.1:8080\/ok": /);
});

test("the probe sends the kubelet's User-Agent and the pod's own headers", async () => {
  serverOut = "";
  await run({
    httpGet: { path: "/ok", port: 8080, httpHeaders: [{ name: "X-Probe", value: "yes" }] },
  });
  // The server prints before it answers, but its output may reach us after the answer.
  await until(() => serverOut.includes('"url":"/ok"'));
  const seen = JSON.parse(serverOut.trim().split("\n").at(-1)!);
  assert.is(seen.url, "/ok");
  assert.is(seen.headers["user-agent"], "kube-probe/1.32");
  assert.is(seen.headers["x-probe"], "yes");
});

test("a server that does not answer in time fails the probe with Go's timeout message", async () => {
  const t0 = Date.now();
  const out = await run({ httpGet: { path: "/slow", port: 8080 } });
  const took = Date.now() - t0;
  assert.equal(out, {
    ok: false,
    message:
      'Get "http://127.0.0.1:8080/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)',
  });
  assert.ok(took >= 900 && took < 3000, `took ${took} ms`);
});

test("a server that hangs up before answering fails the probe with EOF", async () => {
  assert.equal(await run({ httpGet: { path: "/close", port: 8080 } }), {
    ok: false,
    message: 'Get "http://127.0.0.1:8080/close": EOF',
  });
});

test("a refused HTTP or TCP probe reads like the kubelet's", async () => {
  assert.equal(await run({ httpGet: { path: "/", port: 9 } }), {
    ok: false,
    message: 'Get "http://127.0.0.1:9/": dial tcp 127.0.0.1:9: connect: connection refused',
  });
  assert.equal(await run({ tcpSocket: { port: 9 } }), {
    ok: false,
    message: "dial tcp 127.0.0.1:9: connect: connection refused",
  });
  assert.equal(await run({ tcpSocket: { port: "web" } }), { ok: true });
});

test("a probe without a host stays inside the pod; one with a host dials from the node", async () => {
  // Only the node listens on DECOY_PORT.
  assert.equal(await run({ tcpSocket: { port: DECOY_PORT } }), {
    ok: false,
    message: `dial tcp 127.0.0.1:${DECOY_PORT}: connect: connection refused`,
  });
  assert.equal(await run({ tcpSocket: { host: "127.0.0.1", port: DECOY_PORT } }), { ok: true });
});

test("a pod whose sandbox is gone makes the probe error, not fail", async () => {
  const gone = { ...POD, metadata: { ...POD.metadata, uid: "gone" } };
  const out = await run({ tcpSocket: { port: 8080 } }, gone);
  assert.equal(out, { error: "sandbox gone not found" });
  sandboxes.set("removed", join(tmp, "no-such-netns"));
  const removed = { ...POD, metadata: { ...POD.metadata, uid: "removed" } };
  const out2 = await run({ httpGet: { path: "/", port: 8080 } }, removed);
  assert.ok(
    "error" in out2 && /network namespace .*no-such-netns: no such file/.test(out2.error),
    JSON.stringify(out2),
  );
});

test("a preStop-style httpOnce reaches the pod through a named port", async () => {
  serverOut = "";
  const pod = { ...POD, spec: { containers: [C] } };
  assert.equal(await probes.httpOnce(pod, { path: "/ok?hook=preStop", port: "web" }, 2), { ok: true });
  await until(() => serverOut.includes('"url":"/ok?hook=preStop"'));
  assert.equal(await probes.httpOnce(pod, { path: "/", port: "nope" }, 2), { error: "unknown port nope" });
});

test.run();
