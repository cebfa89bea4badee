// Store bench: durable write throughput of the LevelDB store with 1, 16 and 256
// concurrent writers, the same puts against a real etcd (Debian's etcd-server) on
// loopback, list latency over 10,000 keys, and memory.
//
//   node --import tsx bench/store/writes.ts [--seconds N] [--no-etcd]
//
// etcd is driven through its v3 JSON gateway (POST /v3/kv/put, base64 key and value)
// over HTTP keep-alive with one socket per writer. That path costs etcd JSON, base64,
// HTTP and the in-process gateway's gRPC hop: the client overhead counts against etcd.
// Both sides write the same keys and 256-byte values, one put per request, and wait for
// each acknowledgement (etcd acknowledges after its WAL fsync, we after our batch fsync).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encode } from "cbor-x";
import { openStore, type Store } from "../../internal/store";

const args = process.argv.slice(2);
const SECONDS = Number(args[args.indexOf("--seconds") + 1] || 0) || 3;
const WITH_ETCD = !args.includes("--no-etcd");
const CONCURRENCY = [1, 16, 256];
const VALUE = new Uint8Array(256).map((_, i) => (i * 31) & 0xff);

type Put = (key: string) => Promise<void>;

/** Runs `writers` loops of puts for `seconds`; returns puts per second. */
async function throughput(writers: number, seconds: number, put: Put, prefix: string): Promise<number> {
  const deadline = Date.now() + seconds * 1000;
  let done = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; Date.now() < deadline; i++) {
        await put(`${prefix}/${w}/${i}`);
        done++;
      }
    }),
  );
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  return done / elapsed;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}

interface Etcd {
  put: Put;
  stop(): void;
  version: string;
}

async function startEtcd(dir: string): Promise<Etcd> {
  const [client, peer] = [await freePort(), await freePort()];
  const probe = spawnSync("etcd", ["--version"], { encoding: "utf8" });
  if (probe.error) {
    throw new Error(
      `etcd not found (${probe.error.message}): apt-get install -y etcd-server, or run with --no-etcd`,
    );
  }
  const version = probe.stdout.split("\n")[0];
  const child: ChildProcess = spawn(
    "etcd",
    [
      "--name=bench",
      `--data-dir=${join(dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${client}`,
      `--advertise-client-urls=http://127.0.0.1:${client}`,
      `--listen-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peer}`,
      `--initial-cluster=bench=http://127.0.0.1:${peer}`,
      "--log-level=error",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  process.on("exit", stop);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const request = (path: string, body: string) =>
    new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: client,
          path,
          method: "POST",
          agent,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          let data = "";
          res.setEncoding("utf8");
          res.on("data", (c) => {
            data += c;
          });
          res.on("end", () =>
            res.statusCode === 200
              ? resolve(data)
              : reject(new Error(`etcd ${path}: ${res.statusCode} ${data}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const value = Buffer.from(VALUE).toString("base64");
  const put: Put = async (key) => {
    await request("/v3/kv/put", `{"key":"${Buffer.from(key).toString("base64")}","value":"${value}"}`);
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await put("/bench/ready");
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        stop();
        throw new Error(`etcd did not start: ${(err as Error).message}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { put, stop, version };
}

function podValue(i: number): Uint8Array {
  const now = new Date().toISOString();
  const rnd = () => Math.random().toString(36).slice(2);
  return encode({
    metadata: {
      name: `pod-${i}`,
      namespace: "default",
      uid: `${rnd()}-${rnd()}`,
      labels: { app: "web", "pod-template-hash": "5d8f7c9b4" },
      resourceVersion: String(i),
      creationTimestamp: now,
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-5d8f7c9b4", uid: rnd(), controller: true },
      ],
    },
    spec: {
      nodeName: "node-1",
      restartPolicy: "Always",
      containers: [0, 1].map((c) => ({
        name: `c${c}`,
        image: "nginx:1.25",
        ports: [{ containerPort: 80 }],
        resources: { requests: { cpu: "100m", memory: "128Mi" } },
        env: Array.from({ length: 10 }, (_, e) => ({ name: `ENV_${e}`, value: rnd() })),
      })),
    },
    status: {
      phase: "Running",
      podIP: `10.42.${(i >> 8) & 255}.${i & 255}`,
      conditions: ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({
        type,
        status: "True",
        lastTransitionTime: now,
      })),
    },
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function listLatency(store: Store): Promise<void> {
  // Pod-sized values: a CBOR-encoded pod as the API server stores it (about 1.6 KiB).
  const keys = Array.from(
    { length: 10_000 },
    (_, i) => `/registry/pods/default/pod-${String(i).padStart(5, "0")}`,
  );
  for (let i = 0; i < keys.length; i += 500) {
    await Promise.all(keys.slice(i, i + 500).map((k, j) => store.create(k, podValue(i + j))));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const time = async (fn: () => Promise<unknown>, n: number) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await fn();
      ms.push(performance.now() - t);
    }
    return ms.sort((a, b) => a - b);
  };
  const all = await time(async () => {
    const l = await store.list("/registry/pods/");
    if (l.kvs.length !== 10_000) throw new Error(`listed ${l.kvs.length} pods`);
  }, 30);
  console.log(
    `list 10,000 pods (1.6 KiB each), one call:     p50 ${percentile(all, 50).toFixed(1)} ms, p99 ${percentile(all, 99).toFixed(1)} ms`,
  );
  const paged = await time(async () => {
    let after: string | undefined;
    let revision: number | undefined;
    let n = 0;
    for (;;) {
      const page = await store.list("/registry/pods/", { limit: 500, after, revision });
      n += page.kvs.length;
      if (!page.nextKey) break;
      after = page.nextKey;
      revision = page.revision;
    }
    if (n !== 10_000) throw new Error(`paged ${n} pods`);
  }, 10);
  console.log(`list 10,000 pods in pages of 500 (20 calls): p50 ${percentile(paged, 50).toFixed(1)} ms`);
  // A continuation at an older revision, with 1,000 writes since: undone from the window.
  const first = await store.list("/registry/pods/", { limit: 500 });
  for (let i = 0; i < 1000; i += 250) {
    await Promise.all(keys.slice(i, i + 250).map((k, j) => store.update(k, podValue(i + j))));
  }
  const old = await time(
    () => store.list("/registry/pods/", { after: first.nextKey, revision: first.revision }),
    10,
  );
  console.log(`list 9,500 pods at a revision 1,000 writes old: p50 ${percentile(old, 50).toFixed(1)} ms`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "tsk-bench-store-"));
  let etcd: Etcd | undefined;
  try {
    const store = await openStore({ backend: "leveldb", path: join(dir, "db") });
    if (WITH_ETCD) etcd = await startEtcd(dir);
    console.log(`durable puts, 256-byte values, ${SECONDS}s per run`);
    console.log(
      etcd ? `etcd: ${etcd.version}, via its v3 JSON gateway over HTTP keep-alive` : "etcd: skipped",
    );
    console.log("writers   tsk store puts/s   etcd puts/s   ratio");
    for (const c of CONCURRENCY) {
      const before = store.stats!();
      const ours = await throughput(
        c,
        SECONDS,
        (k) => store.create(k, VALUE).then(() => undefined),
        `/bench/${c}`,
      );
      const after = store.stats!();
      const perBatch = (after.writes - before.writes) / (after.batches - before.batches);
      const theirs = etcd ? await throughput(c, SECONDS, etcd.put, `/bench/${c}`) : Number.NaN;
      console.log(
        `${String(c).padStart(7)}   ${ours.toFixed(0).padStart(16)}   ${theirs.toFixed(0).padStart(11)}   ${(ours / theirs).toFixed(2).padStart(5)}` +
          `   (${perBatch.toFixed(1)} writes per fsync)`,
      );
    }
    etcd?.stop();
    etcd = undefined;
    await store.close();

    // Lists on a store of their own, so that LevelDB is not still compacting the
    // writes above while they are timed.
    const listPath = join(dir, "list-db");
    const listStore = await openStore({ backend: "leveldb", path: listPath });
    await listLatency(listStore);
    const s = listStore.stats!();
    await listStore.close();

    // Memory of a store reopened over everything written above, in a fresh process:
    // idle after open, then after one list of the 10,000 pods.
    const probe = spawnSync(
      process.execPath,
      [
        "--expose-gc",
        "-r",
        "tsx/cjs",
        "-e",
        `const {openStore}=require(${JSON.stringify(join(__dirname, "../../internal/store"))});
         const settle=async()=>{global.gc();await new Promise(r=>setTimeout(r,500));global.gc();return process.memoryUsage()};
         (async()=>{const base=(await settle()).rss;
         const st=await openStore({backend:"leveldb",path:${JSON.stringify(listPath)}});
         const idle=await settle();await st.list("/registry/pods/");const listed=await settle();
         console.log(JSON.stringify({base,idle:idle.rss,heap:idle.heapUsed,listed:listed.rss,stats:st.stats()}));
         await st.close();})()`,
      ],
      { encoding: "utf8" },
    );
    if (probe.status !== 0) throw new Error(`memory probe failed: ${probe.stderr}`);
    const mem = JSON.parse(probe.stdout.trim().split("\n").pop()!);
    const mib = (n: number) => (n / 1048576).toFixed(1);
    console.log(
      `memory, store reopened in a fresh process (${s.keys} keys, ${mem.stats.historyEvents} changes in the window, ` +
        `${mib(mem.stats.historyCachedBytes)} MiB of them cached): node+tsx alone ${mib(mem.base)} MiB RSS; ` +
        `store open and idle ${mib(mem.idle)} MiB RSS (+${mib(mem.idle - mem.base)}), heap ${mib(mem.heap)} MiB; ` +
        `after listing 10,000 pods ${mib(mem.listed)} MiB RSS`,
    );
  } finally {
    etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
