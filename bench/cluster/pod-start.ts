// Pod start latency and agent memory (issue 5): a `tsk server --disable-agent` on
// loopback and one `tsk agent` process joined to it (busybox image already in its
// store). 100 single-container pods pinned to that node are created at once; a watch
// records when each one is first Running (its container started). Prints p50/p99 of
// create → Running, and the agent's RSS idle and with the 100 pods running.
//   node --import tsx bench/cluster/pod-start.ts [--pods 100] [--binary dist/tsk]
// Needs root (real containers).
import { mkdtempSync, rmSync } from "node:fs";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type TestServer } from "../../test/support/cluster";
import { buildBusyboxDockerArchive } from "../../test/support/images";
import {
  type AgentProcess,
  argOf,
  call,
  cgroupRss,
  cpuMs,
  percentile,
  rssMiB,
  serverPid,
  sleep,
  startAgentProcess,
  watch,
} from "./common";

const PODS = Number(argOf("pods", "100"));
const binary = argOf("binary", "");
const SETTLE_MS = 5_000;

async function main() {
  if (process.getuid?.() !== 0) throw new Error("needs root (real containers)");
  const tmp = mkdtempSync(join(tmpdir(), "tsk-bench-podstart-"));
  const node = `bench-podstart-${process.pid}`;
  let server: TestServer | undefined;
  let agentProc: AgentProcess | undefined;
  let stopWatch = () => {};
  try {
    const archive = join(tmp, "busybox.tar");
    await buildBusyboxDockerArchive(archive, { name: "busybox:latest" });
    server = await startServer({ dataDir: join(tmp, "server"), binary: binary || undefined });
    const s = server;
    agentProc = await startAgentProcess(s, {
      binary,
      node,
      dataDir: join(tmp, "agent"),
      imageArchive: archive,
    });
    console.log(`binary: ${binary || "TypeScript sources under tsx"}; node ${node}; ${PODS} pods`);
    await sleep(SETTLE_MS);
    const idle = rssMiB(agentProc.pid);
    const serverIdle = rssMiB(serverPid(s));
    console.log(`agent RSS, 0 pods:        ${idle.toFixed(1)} MiB   (server ${serverIdle.toFixed(1)} MiB)`);

    const http = new Agent({ keepAlive: true, maxSockets: 32 });
    const created = new Map<string, number>();
    const running = new Map<string, number>();
    const bound = new Map<string, number>();
    let allRunning: () => void = () => {};
    const done = new Promise<void>((r) => (allRunning = r));
    stopWatch = watch(s, "/api/v1/namespaces/default/pods?labelSelector=bench%3Dpod-start", (ev) => {
      const p = ev.object;
      const name = p?.metadata?.name;
      if (!name || running.has(name)) return;
      if (p.spec?.nodeName && !bound.has(name)) bound.set(name, performance.now());
      if (p.status?.phase === "Running" && p.status.containerStatuses?.[0]?.state?.running) {
        running.set(name, performance.now());
        if (running.size === PODS) allRunning();
      }
    });
    await sleep(500);
    const manifest = (i: number) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: `ps-${i}`, labels: { bench: "pod-start" } },
      spec: {
        nodeSelector: { "kubernetes.io/hostname": node },
        terminationGracePeriodSeconds: 0,
        containers: [
          { name: "c", image: "busybox:latest", imagePullPolicy: "IfNotPresent", command: ["sleep", "3600"] },
        ],
      },
    });
    const sPid = serverPid(s);
    const cpu0 = { agent: cpuMs(agentProc.pid), server: cpuMs(sPid) };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: PODS }, async (_, i) => {
        created.set(`ps-${i}`, performance.now());
        const r = await call(s, http, "POST", "/api/v1/namespaces/default/pods", manifest(i));
        if (r.status !== 201) throw new Error(`create ps-${i}: ${r.status} ${r.text}`);
      }),
    );
    const createdAll = performance.now() - t0;
    const timeout = sleep(180_000).then(() => "timeout");
    if ((await Promise.race([done, timeout])) === "timeout")
      throw new Error(`only ${running.size}/${PODS} pods Running after 180 s`);
    console.log(
      `CPU used until all Running: agent ${(cpuMs(agentProc.pid) - cpu0.agent).toFixed(0)} ms, server ${(cpuMs(sPid) - cpu0.server).toFixed(0)} ms`,
    );
    const lat = [...running.entries()].map(([n, t]) => t - created.get(n)!).sort((a, b) => a - b);
    const last = Math.max(...running.values()) - t0;
    console.log(
      `created ${PODS} pods in ${createdAll.toFixed(0)} ms; all Running ${last.toFixed(0)} ms after the first create`,
    );
    console.log(
      `create → Running:  p50 ${percentile(lat, 50).toFixed(0)} ms   p90 ${percentile(lat, 90).toFixed(0)} ms   p99 ${percentile(lat, 99).toFixed(0)} ms   max ${lat[lat.length - 1].toFixed(0)} ms   (target p99 < 1000 ms)`,
    );
    const toBind = [...bound.entries()].map(([n, t]) => t - created.get(n)!).sort((a, b) => a - b);
    const toRun = [...running.entries()].map(([n, t]) => t - (bound.get(n) ?? t)).sort((a, b) => a - b);
    console.log(
      `  of which create → bound p50 ${percentile(toBind, 50).toFixed(0)} ms p99 ${percentile(toBind, 99).toFixed(0)} ms; bound → Running p50 ${percentile(toRun, 50).toFixed(0)} ms p99 ${percentile(toRun, 99).toFixed(0)} ms`,
    );
    await sleep(SETTLE_MS);
    const busy = rssMiB(agentProc.pid);
    const pods = cgroupRss(`tsk/${node}`);
    console.log(
      `agent RSS, ${PODS} pods:      ${busy.toFixed(1)} MiB   (server ${rssMiB(serverPid(s)).toFixed(1)} MiB)`,
    );
    console.log(
      `node cgroup tsk/${node}: ${pods.procs} processes (containers), ${pods.mib.toFixed(1)} MiB RSS in all`,
    );
    stopWatch();
    const d0 = performance.now();
    await call(s, http, "DELETE", "/api/v1/namespaces/default/pods?labelSelector=bench%3Dpod-start");
    for (;;) {
      const r = await call(s, http, "GET", "/api/v1/namespaces/default/pods?labelSelector=bench%3Dpod-start");
      if (JSON.parse(r.text).items.length === 0 && cgroupRss(`tsk/${node}`).procs === 0) break;
      if (performance.now() - d0 > 120_000) throw new Error("pods not gone after 120 s");
      await sleep(500);
    }
    console.log(
      `deleted ${PODS} pods (gone from the API and no container process left) in ${(performance.now() - d0).toFixed(0)} ms`,
    );
    http.destroy();
  } finally {
    stopWatch();
    await agentProc?.stop().catch((e) => console.error(e));
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
