// Server memory with 100 nodes (issue 5): a `tsk server --disable-agent` on loopback,
// then 100 nodes register, then their Leases are renewed every 10 s as kubelets do.
// Prints the server's RSS before, right after, and after 30 s of heartbeats.
//   node --import tsx bench/cluster/server-rss.ts [--nodes 100] [--mode link|api] [--binary dist/tsk]
// --mode link (default): each node joins with the token like `tsk agent` (its own node
//   credential), opens its own agent link (one WebSocket each, CBOR calls), creates
//   its Node and Lease over it and keeps a watch on its pods, as the kubelet does; the
//   100 links live in this process, no containers run.
// --mode api: Node and Lease objects created and renewed over plain HTTPS with the
//   admin token (the objects' cost alone, no links).
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RESOURCES } from "../../internal/api/resources";
import { LinkClient } from "../../internal/link/client";
import { joinCluster } from "../../internal/link/join";
import { startServer, type TestServer } from "../../test/support/cluster";
import { argOf, call, rssMiB, serverPid, sleep, tskCommand } from "./common";

const NODES_N = Number(argOf("nodes", "100"));
const MODE = argOf("mode", "link");
const binary = argOf("binary", "");
const HEARTBEAT_MS = 10_000;
const NODES = RESOURCES.find((r) => r.group === "" && r.plural === "nodes")!;
const LEASES = RESOURCES.find((r) => r.group === "coordination.k8s.io" && r.plural === "leases")!;
const PODS = RESOURCES.find((r) => r.group === "" && r.plural === "pods")!;

function nodeObject(name: string) {
  const now = new Date().toISOString();
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux" } },
    status: {
      capacity: { cpu: "4", memory: "8Gi", pods: "110" },
      allocatable: { cpu: "4", memory: "8Gi", pods: "110" },
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "bench",
          lastHeartbeatTime: now,
          lastTransitionTime: now,
        },
      ],
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
      nodeInfo: { kubeletVersion: "v1.32.2+tsk", operatingSystem: "linux", architecture: "amd64" },
    },
  };
}

function leaseObject(name: string) {
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name, namespace: "kube-node-lease" },
    spec: {
      holderIdentity: name,
      leaseDurationSeconds: 40,
      renewTime: new Date().toISOString().replace("Z", "000Z"),
    },
  };
}

interface Registered {
  renew(): Promise<void>;
  close(): void;
}

async function viaLink(s: TestServer, tmp: string, joinToken: string, name: string): Promise<Registered> {
  const dataDir = join(tmp, name);
  const id = await joinCluster({ server: s.url, token: joinToken, dataDir, node: name });
  const client = new LinkClient({ server: id.server, caPem: id.caPem, token: id.token });
  await client.start();
  await client.create(NODES, undefined, nodeObject(name));
  let lease = await client.create(LEASES, "kube-node-lease", leaseObject(name));
  const pods = await client.list(PODS, undefined, { fieldSelector: `spec.nodeName=${name}` });
  const w = await client.watch(
    PODS,
    undefined,
    { resourceVersion: pods.resourceVersion, fieldSelector: `spec.nodeName=${name}` },
    () => {},
    () => {},
  );
  return {
    async renew() {
      lease = await client.update(LEASES, "kube-node-lease", {
        ...lease,
        spec: { ...lease.spec, renewTime: new Date().toISOString().replace("Z", "000Z") },
      });
    },
    close() {
      w.cancel();
      client.close();
    },
  };
}

async function viaApi(s: TestServer, http: Agent, name: string): Promise<Registered> {
  const n = await call(s, http, "POST", "/api/v1/nodes", nodeObject(name));
  if (n.status !== 201) throw new Error(`create node ${name}: ${n.status} ${n.text}`);
  const l = await call(
    s,
    http,
    "POST",
    "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
    leaseObject(name),
  );
  if (l.status !== 201) throw new Error(`create lease ${name}: ${l.status} ${l.text}`);
  let lease = JSON.parse(l.text);
  return {
    async renew() {
      const r = await call(
        s,
        http,
        "PUT",
        `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`,
        { ...lease, spec: { ...lease.spec, renewTime: new Date().toISOString().replace("Z", "000Z") } },
      );
      if (r.status === 200) lease = JSON.parse(r.text);
    },
    close() {},
  };
}

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), "tsk-bench-serverrss-"));
  let server: TestServer | undefined;
  const nodes: Registered[] = [];
  const http = new Agent({ keepAlive: true, maxSockets: 16 });
  try {
    server = await startServer({ dataDir: join(tmp, "server"), binary: binary || undefined });
    const s = server;
    const pid = serverPid(s);
    const { spawnSync } = await import("node:child_process");
    const tok = spawnSync(...tskCommand(binary, ["token", "--data-dir", s.dataDir]), {
      encoding: "utf8",
      cwd: join(__dirname, "..", ".."),
    });
    const joinToken = tok.stdout.trim();
    console.log(`binary: ${binary || "TypeScript sources under tsx"}; ${NODES_N} nodes via ${MODE}`);
    // Same 30 s of quiet the 100-node figure gets, so both are steady states.
    await sleep(30_000);
    const idle = rssMiB(pid);
    console.log(`server RSS, 0 nodes:                    ${idle.toFixed(1)} MiB`);
    const t0 = performance.now();
    // Ten at a time, as agents joining over a few seconds would.
    for (let i = 0; i < NODES_N; i += 10) {
      const batch = Array.from({ length: Math.min(10, NODES_N - i) }, (_, k) => `bench-node-${i + k}`);
      nodes.push(
        ...(await Promise.all(
          batch.map((n) => (MODE === "link" ? viaLink(s, tmp, joinToken, n) : viaApi(s, http, n))),
        )),
      );
    }
    console.log(`${NODES_N} nodes registered in ${(performance.now() - t0).toFixed(0)} ms`);
    console.log(`server RSS, ${NODES_N} nodes just registered:   ${rssMiB(pid).toFixed(1)} MiB`);
    for (let round = 0; round < 3; round++) {
      await sleep(HEARTBEAT_MS);
      await Promise.all(nodes.map((n) => n.renew()));
    }
    const list = await call(s, http, "GET", "/api/v1/nodes");
    const count = JSON.parse(list.text).items.length;
    console.log(`server RSS, ${count} nodes after 30 s of lease renewals: ${rssMiB(pid).toFixed(1)} MiB`);
    console.log(
      `  difference: ${(rssMiB(pid) - idle).toFixed(1)} MiB (${((rssMiB(pid) - idle) / NODES_N).toFixed(2)} MiB per node; RSS moves with the GC)`,
    );
  } finally {
    for (const n of nodes) n.close();
    http.destroy();
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
