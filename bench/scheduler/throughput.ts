// Scheduler throughput (issue 5): 100 Node objects registered through the API (no
// agents), then 1,000 pending pods created at once by 32 HTTPS clients; a watch records
// when each pod gets its node.
//   node --import tsx bench/scheduler/throughput.ts [--nodes 100] [--pods 1000] [--binary dist/tsk]
// Reports pods bound per second from the first create to the last bind (what a user
// waits for, including the API's create rate) and over the binding window alone
// (first bind to last bind), once with the nodes there first and once with all pods
// already pending when the nodes arrive (the scheduler's own rate), and the decision rate alone:
// the same pods placed on a snapshot of the same nodes in this process, no API calls.
import { Agent, request } from "node:https";
import { SchedulerCache } from "../../internal/scheduler/cache";
import { schedulePod } from "../../internal/scheduler/scheduler";
import { startServer, type TestServer } from "../../test/support/cluster";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const NODES = Number(arg("nodes", "100"));
const PODS = Number(arg("pods", "1000"));
const binary = arg("binary", "");
/** Another name creates pods nobody schedules: the API's bare create rate, for comparison. */
const SCHEDULER = arg("scheduler-name", "default-scheduler");
const NS = "bench";

function call(s: TestServer, agent: Agent, method: string, path: string, body?: unknown, type?: string) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${s.url}${path}`,
      {
        method,
        agent,
        headers: {
          Authorization: `Bearer ${s.token}`,
          ...(payload
            ? {
                "Content-Type": type ?? "application/json",
                "Content-Length": String(Buffer.byteLength(payload)),
              }
            : {}),
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

async function parallel(count: number, clients: number, f: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        await f(i);
      }
    }),
  );
}

async function registerNodes(s: TestServer, agent: Agent): Promise<void> {
  const ts = `${new Date().toISOString().slice(0, 19)}Z`;
  // As a kubelet registers: the Node with its capacity and conditions in one create.
  await parallel(NODES, 16, async (i) => {
    const name = `bench-node-${i}`;
    const r = await call(s, agent, "POST", "/api/v1/nodes", nodeObject(name, ALLOC, ts));
    if (r.status !== 201) throw new Error(`create node ${name}: ${r.status} ${r.text}`);
  });
}

/** Streams pod watch events; resolves each pod's bind time. */
function watchBinds(s: TestServer, onBound: (name: string, node: string) => void): { close(): void } {
  const req = request(
    `${s.url}/api/v1/namespaces/${NS}/pods?watch=1`,
    { headers: { Authorization: `Bearer ${s.token}` }, ca: s.caPem },
    (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        buf += c;
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf("\n");
          if (!line.trim()) continue;
          const ev = JSON.parse(line);
          const node = ev.object?.spec?.nodeName;
          if (node) onBound(ev.object.metadata.name, node);
        }
      });
    },
  );
  req.on("error", () => {});
  req.end();
  return { close: () => req.destroy() };
}

function nodeObject(name: string, alloc: Record<string, string>, ts: string) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name, "kubernetes.io/os": "linux" } },
    status: {
      capacity: alloc,
      allocatable: alloc,
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: ts }],
    },
  };
}

const ALLOC = { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "100Gi" };

function podObject(i: number) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `pod-${i}`, namespace: NS, uid: `uid-${i}`, labels: { app: `a${i % 10}` } },
    spec: {
      schedulerName: SCHEDULER,
      containers: [
        {
          name: "c",
          image: "registry.local/pause:1",
          resources: { requests: { cpu: "100m", memory: "64Mi" } },
        },
      ],
    },
  };
}

/** Filters and scores only: the same pods on a snapshot of the same nodes. */
function decisionRate(): number {
  const ts = `${new Date().toISOString().slice(0, 19)}Z`;
  const run = () => {
    const cache = new SchedulerCache();
    for (let i = 0; i < NODES; i++) cache.setNode(nodeObject(`bench-node-${i}`, ALLOC, ts));
    const pods = Array.from({ length: PODS }, (_, i) => podObject(i));
    const t = performance.now();
    for (const p of pods) {
      const r = schedulePod(p, cache.nodes());
      if (!("node" in r)) throw new Error(r.error);
      cache.assume(r.facts, r.node);
    }
    return (PODS * 1000) / (performance.now() - t);
  };
  run(); // warm-up
  return Math.max(run(), run(), run());
}

/**
 * nodes first: pods are bound while they are being created (what a user sees).
 * pods first: all pods are pending (failed for lack of nodes) before the nodes are
 * registered, so the binding window is the scheduler's own work.
 */
async function scenario(podsFirst: boolean): Promise<void> {
  const s = await startServer({ binary: binary || undefined });
  const agent = new Agent({ keepAlive: true, maxSockets: 32, ca: s.caPem });
  try {
    const ns = await call(s, agent, "POST", "/api/v1/namespaces", { metadata: { name: NS } });
    if (ns.status !== 201) throw new Error(`namespace: ${ns.status} ${ns.text}`);
    const bound = new Map<string, { at: number; node: string }>();
    let allBound!: () => void;
    const done = new Promise<void>((r) => (allBound = r));
    const w = watchBinds(s, (name, node) => {
      if (bound.has(name)) return;
      bound.set(name, { at: performance.now(), node });
      if (bound.size === PODS) allBound();
    });
    await new Promise((r) => setTimeout(r, 500));
    const register = async () => {
      const t = performance.now();
      await registerNodes(s, agent);
      console.log(`  registered ${NODES} nodes in ${(performance.now() - t).toFixed(0)} ms`);
    };
    const createPods = async () => {
      const t = performance.now();
      await parallel(PODS, 32, async (i) => {
        const { uid: _uid, ...metadata } = podObject(i).metadata;
        const r = await call(s, agent, "POST", `/api/v1/namespaces/${NS}/pods`, {
          ...podObject(i),
          metadata,
        });
        if (r.status !== 201) throw new Error(`create pod-${i}: ${r.status} ${r.text}`);
      });
      const ms = performance.now() - t;
      console.log(
        `  created ${PODS} pods in ${ms.toFixed(0)} ms (${((PODS * 1000) / ms).toFixed(0)} creates/s)`,
      );
    };
    let start: number;
    if (podsFirst) {
      await createPods();
      // Let the scheduler finish marking them unschedulable.
      await new Promise((r) => setTimeout(r, 3000));
      if (bound.size) throw new Error("pods were bound with no nodes registered");
      start = performance.now();
      await register();
    } else {
      await register();
      if (SCHEDULER !== "default-scheduler") {
        await createPods();
        console.log("  none scheduled (another scheduler name)");
        return;
      }
      start = performance.now();
      await createPods();
    }
    const timeout = setTimeout(() => {
      console.error(`only ${bound.size}/${PODS} bound after 60 s\n${s.logs().slice(-4000)}`);
      process.exit(1);
    }, 60_000);
    await done;
    clearTimeout(timeout);
    w.close();
    const times = [...bound.values()].map((b) => b.at);
    const first = Math.min(...times);
    const last = Math.max(...times);
    const perNode = new Map<string, number>();
    for (const b of bound.values()) perNode.set(b.node, (perNode.get(b.node) ?? 0) + 1);
    const counts = [...perNode.values()];
    const what = podsFirst ? "first node registered" : "first create";
    console.log(
      `  ${what} to last bound: ${(last - start).toFixed(0)} ms → ${((PODS * 1000) / (last - start)).toFixed(0)} pods/s`,
    );
    console.log(
      `  first bound to last bound: ${(last - first).toFixed(0)} ms → ${((PODS * 1000) / Math.max(1, last - first)).toFixed(0)} pods/s`,
    );
    console.log(
      `  spread: ${perNode.size} nodes used, ${Math.min(...counts)}..${Math.max(...counts)} pods per node`,
    );
    const lines = s
      .logs()
      .split("\n")
      .filter((l) => l.includes("scheduler:"));
    if (lines.length) console.log(`  scheduler log lines: ${lines.length}; first: ${lines[0].slice(0, 200)}`);
  } finally {
    agent.destroy();
    await s.stop();
  }
}

async function main() {
  console.log(`server: ${binary || "TypeScript sources (tsx)"}; nodes: ${NODES}; pods: ${PODS}`);
  console.log("nodes first, then pods created by 32 clients:");
  await scenario(false);
  if (SCHEDULER === "default-scheduler") {
    console.log("pods first (pending, no nodes), then nodes registered:");
    await scenario(true);
  }
  console.log(
    `decisions alone (filters + scores on a ${NODES}-node snapshot, no API): ${decisionRate().toFixed(0)} pods/s`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
