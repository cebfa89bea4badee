// Stream figures (issue 6): `kubectl exec POD -- true` round trip (median of 50, and
// `kubectl get pod POD` for the kubectl process's own cost), and port-forward
// throughput of a 200 MB transfer against a direct loopback copy.
//   node --import tsx bench/streams/streams.ts [--runs 50] [--mb 200]
// Needs root (a real server with its embedded agent running a busybox pod).
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { type Cluster, startCluster } from "../../test/support/multinode";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const RUNS = Number(arg("runs", "50"));
const MB = Number(arg("mb", "200"));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timed(c: Cluster, kargs: string[]): number {
  const t = process.hrtime.bigint();
  const r = c.kubectl(kargs);
  if (r.code !== 0) throw new Error(`kubectl ${kargs.join(" ")}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Seconds for curl to fetch url into /dev/null, and the bytes it got. */
function fetchTime(url: string): { s: number; bytes: number } {
  const r = spawnSync("curl", ["-sS", "-o", "/dev/null", "-w", "%{time_total} %{size_download}", url], {
    encoding: "utf8",
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`curl ${url}: ${r.stderr}`);
  const [s, bytes] = r.stdout.trim().split(" ").map(Number);
  return { s, bytes };
}

async function main(): Promise<void> {
  const c = await startCluster({ agents: [] });
  let pf: ChildProcess | undefined;
  let direct: ChildProcess | undefined;
  try {
    c.kubectl(["apply", "-f", "-"], {
      input: `apiVersion: v1
kind: Pod
metadata: {name: bench}
spec:
  nodeName: ${c.serverNode}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:latest
    imagePullPolicy: Never
    command: ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && dd if=/dev/zero of=/www/big bs=1M count=${MB} 2>/dev/null && exec httpd -f -p 8080 -h /www"]
`,
    });
    for (;;) {
      const r = c.kubectl(["exec", "bench", "--", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]);
      if (r.code === 0) break;
      await sleep(500);
    }
    // Warm-up: discovery cache, first connections.
    for (let i = 0; i < 3; i++) {
      timed(c, ["get", "pod", "bench"]);
      timed(c, ["exec", "bench", "--", "true"]);
    }
    const get: number[] = [];
    const exec: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      get.push(timed(c, ["get", "pod", "bench"]));
      exec.push(timed(c, ["exec", "bench", "--", "true"]));
    }
    console.log(`kubectl get pod:       median ${median(get).toFixed(1)} ms over ${RUNS}`);
    console.log(`kubectl exec -- true:  median ${median(exec).toFixed(1)} ms over ${RUNS}`);

    // Port-forward throughput.
    const local = await freePort();
    pf = spawn("/usr/bin/kubectl", ["port-forward", "pod/bench", `${local}:8080`], {
      env: { ...process.env, KUBECONFIG: c.kubeconfig, KUBECACHEDIR: join(c.tmp, "kube-cache"), HOME: c.tmp },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    pf.stdout!.on("data", (b) => (out += b));
    while (!out.includes("Forwarding from")) await sleep(100);
    const viaPf = fetchTime(`http://127.0.0.1:${local}/big`);
    // The ceiling: the same file over a direct loopback connection, busybox httpd on the host.
    const dport = await freePort();
    const www = join(c.tmp, "www");
    spawnSync("mkdir", ["-p", www]);
    spawnSync("dd", ["if=/dev/zero", `of=${join(www, "big")}`, "bs=1M", `count=${MB}`], { stdio: "ignore" });
    direct = spawn("/bin/busybox", ["httpd", "-f", "-p", `127.0.0.1:${dport}`, "-h", www], {
      stdio: "ignore",
    });
    await sleep(300);
    const viaLo = fetchTime(`http://127.0.0.1:${dport}/big`);
    const mbps = (x: { s: number; bytes: number }) => (x.bytes / (1 << 20) / x.s).toFixed(0);
    console.log(`port-forward ${MB} MB: ${viaPf.s.toFixed(2)} s, ${mbps(viaPf)} MB/s`);
    console.log(`direct loopback ${MB} MB: ${viaLo.s.toFixed(2)} s, ${mbps(viaLo)} MB/s`);
  } finally {
    pf?.kill("SIGINT");
    direct?.kill("SIGKILL");
    await c.cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
