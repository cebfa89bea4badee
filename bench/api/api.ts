// API server figures (issue 2): create throughput with 32 clients, listing 10,000 pods,
// watch fan-out to 100 watchers, cold start and idle memory.
//   node --import tsx bench/api/api.ts [--binary dist/tsk] [--objects 10000]
// Uses dist/tsk when it exists (the shipped executable), else the TypeScript sources.
import { existsSync, readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { startServer, type TestServer } from "../../test/support/cluster";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const ROOT = join(__dirname, "..", "..");
const binary = arg("binary", existsSync(join(ROOT, "dist/tsk")) ? join(ROOT, "dist/tsk") : "");
const N = Number(arg("objects", "10000"));

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

function call(
  s: TestServer,
  agent: Agent,
  method: string,
  path: string,
  body?: unknown,
  accept?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${s.url}${path}`,
      {
        method,
        agent,
        ca: s.caPem,
        headers: {
          Authorization: `Bearer ${s.token}`,
          ...(payload
            ? { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(payload)) }
            : {}),
          ...(accept ? { Accept: accept } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

async function createMany(
  s: TestServer,
  path: string,
  make: (i: number) => unknown,
  count: number,
  clients: number,
) {
  const agent = new Agent({ keepAlive: true, maxSockets: clients, ca: s.caPem });
  const lat: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const t = performance.now();
        const r = await call(s, agent, "POST", path, make(i));
        if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${r.text}`);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - started) / 1000;
  agent.destroy();
  return { rate: count / secs, p50: pct(lat, 50), p99: pct(lat, 99), secs };
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function main() {
  console.log(`server: ${binary || "TypeScript sources (tsx)"}; objects: ${N}`);
  // Cold start: a fresh data dir each time (CA, keys, LevelDB created), median of 5.
  const starts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    const s = await startServer({ binary: binary || undefined });
    starts.push(performance.now() - t);
    await s.stop();
  }
  console.log(
    `cold start to ready (fresh data dir, spawn to ready line): median ${pct(starts, 50).toFixed(0)} ms (runs: ${starts.map((x) => x.toFixed(0)).join(", ")})`,
  );

  const s = await startServer({ binary: binary || undefined });
  try {
    const pid = Number(/pid (\d+)/.exec(s.logs())?.[1] ?? 0) || findPid(s);
    await new Promise((r) => setTimeout(r, 3000));
    console.log(`idle RSS after start: ${rssMiB(pid).toFixed(1)} MiB`);

    const cm = await createMany(
      s,
      "/api/v1/namespaces/default/configmaps",
      (i) => ({ metadata: { name: `cm-${i}` }, data: { k: "v".repeat(64) } }),
      N,
      32,
    );
    console.log(
      `create ${N} ConfigMaps, 32 clients over HTTPS: ${cm.rate.toFixed(0)} req/s, p50 ${cm.p50.toFixed(1)} ms, p99 ${cm.p99.toFixed(1)} ms`,
    );

    const pods = await createMany(
      s,
      "/api/v1/namespaces/default/pods",
      (i) => ({
        metadata: { name: `pod-${i}`, labels: { app: `a${i % 10}` } },
        spec: {
          containers: [
            {
              name: "c",
              image: "busybox:1.36",
              command: ["sleep", "3600"],
              resources: { requests: { cpu: "10m", memory: "16Mi" } },
            },
          ],
        },
      }),
      N,
      32,
    );
    console.log(
      `create ${N} Pods, 32 clients: ${pods.rate.toFixed(0)} req/s, p50 ${pods.p50.toFixed(1)} ms, p99 ${pods.p99.toFixed(1)} ms`,
    );
    console.log(`RSS with ${N} ConfigMaps + ${N} Pods stored: ${rssMiB(pid).toFixed(1)} MiB`);

    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: s.caPem });
    const lists: number[] = [];
    const tables: number[] = [];
    for (let i = 0; i < 11; i++) {
      let t = performance.now();
      const r = await call(s, agent, "GET", "/api/v1/namespaces/default/pods");
      lists.push(performance.now() - t);
      if (JSON.parse(r.text).items.length !== N) throw new Error("list returned the wrong count");
      t = performance.now();
      await call(
        s,
        agent,
        "GET",
        "/api/v1/pods?limit=500",
        undefined,
        "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
      );
      tables.push(performance.now() - t);
    }
    console.log(
      `list ${N} pods (JSON, one request): p50 ${pct(lists.slice(1), 50).toFixed(0)} ms, max ${Math.max(...lists.slice(1)).toFixed(0)} ms`,
    );
    console.log(
      `kubectl-style first page (limit=500, as=Table, all namespaces): p50 ${pct(tables.slice(1), 50).toFixed(1)} ms`,
    );

    // Fan-out: 100 watchers on configmaps; 30 writes, latency from sending the write to each watcher's receipt.
    const W = 100;
    const arrivals = new Map<string, number[]>();
    const watchers: Array<() => void> = [];
    const rv = JSON.parse((await call(s, agent, "GET", "/api/v1/namespaces/default/configmaps?limit=1")).text)
      .metadata.resourceVersion;
    await Promise.all(
      Array.from(
        { length: W },
        () =>
          new Promise<void>((ready, reject) => {
            const req = request(
              `${s.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
              { headers: { Authorization: `Bearer ${s.token}` }, ca: s.caPem, agent: false },
              (res) => {
                ready();
                let buf = "";
                res.on("data", (c) => {
                  const now = performance.now();
                  buf += c;
                  let j: number;
                  while ((j = buf.indexOf("\n")) >= 0) {
                    const name = JSON.parse(buf.slice(0, j)).object.metadata.name;
                    buf = buf.slice(j + 1);
                    let a = arrivals.get(name);
                    if (!a) arrivals.set(name, (a = []));
                    a.push(now);
                  }
                });
              },
            );
            req.on("error", (e) => ((e as any).code === "ECONNRESET" ? undefined : reject(e)));
            req.end();
            watchers.push(() => req.destroy());
          }),
      ),
    );
    const lat: number[] = [];
    for (let i = 0; i < 30; i++) {
      const name = `fan-${i}`;
      const t = performance.now();
      await call(s, agent, "POST", "/api/v1/namespaces/default/configmaps", { metadata: { name }, data: {} });
      const end = Date.now() + 5000;
      while ((arrivals.get(name)?.length ?? 0) < W && Date.now() < end)
        await new Promise((r) => setTimeout(r, 1));
      const a = arrivals.get(name) ?? [];
      if (a.length < W) throw new Error(`only ${a.length} watchers saw ${name}`);
      for (const x of a) lat.push(x - t);
    }
    for (const w of watchers) w();
    console.log(
      `watch fan-out, ${W} watchers x 30 writes (write sent -> event received): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`,
    );
    agent.destroy();
  } finally {
    await s.stop();
  }
}

function findPid(s: TestServer): number {
  // The server's pid: the process listening on its port.
  const inode = readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .find((l) => l.includes(`:${s.port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 0A`))
    ?.trim()
    .split(/\s+/)[9];
  for (const p of require("node:fs").readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      for (const fd of require("node:fs").readdirSync(`/proc/${p}/fd`)) {
        if (require("node:fs").readlinkSync(`/proc/${p}/fd/${fd}`) === `socket:[${inode}]`) return Number(p);
      }
    } catch {}
  }
  throw new Error("server pid not found");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
