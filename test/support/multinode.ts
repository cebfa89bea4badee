// A real multi-node cluster for end-to-end tests: `tsk server` with its embedded agent
// (node `<prefix>-server`), plus agents that each run in their own network namespace
// with a veth pair to the host (10.231.<n>.1 on the host, 10.231.<n>.2 inside), their
// own data dir and node name, joined with the server's token. Every node has the
// busybox test image in its `<data-dir>/agent/images/` drop folder before it starts.
//
//   const c = await startCluster({ agents: [{ name: "a1", labels: ["zone=a"] }] });
//   try { c.kubectl(["get", "nodes"]) } finally { await c.cleanup() }
//
// Agents run under `nsenter --net=/run/netns/NS`, not `ip netns exec`: the latter also
// unshares the mount namespace and remounts /sys, which hides /sys/fs/cgroup from the
// agent (its containers need cgroups) and would strand its mounts in a namespace the
// restarted agent cannot see. Entering only the network namespace is what a machine
// with its own network looks like.
//
// cleanup() removes everything even after a failure: processes (agents, server,
// containers via cgroup.kill), mounts under the temp dir, cgroups tsk/<node>,
// /run/tsk/<node>, netns, veths and the temp dir. It is also wired to process exit.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";
import { buildBusyboxDockerArchive, requireBusybox } from "./images";

const ROOT = join(__dirname, "..", "..");
const CGROUP_ROOT = "/sys/fs/cgroup/";

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface AgentSpec {
  /** Short suffix; the node is `<prefix>-<name>`. */
  name: string;
  labels?: string[];
  taints?: string[];
}

export interface AgentNode {
  node: string;
  netns: string;
  /** The agent's address inside its namespace, and the host's end of the veth. */
  ip: string;
  hostIp: string;
  dataDir: string;
  pid(): number | undefined;
  logs(): string;
  /** Starts the agent process; resolves once its Node is Ready. */
  start(): Promise<void>;
  /** Sends `signal` and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface Cluster {
  prefix: string;
  /** Temp dir removed by cleanup(); put extra data dirs here. */
  tmp: string;
  url: string;
  port: number;
  dataDir: string;
  kubeconfig: string;
  adminToken: string;
  joinToken: string;
  caPem: string;
  serverNode: string;
  agents: AgentNode[];
  serverLogs(): string;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Result;
  /** Runs `tsk <args>` (e.g. a second agent meant to be refused), optionally inside `netns`. */
  tsk(args: string[], opts?: { netns?: string; timeoutMs?: number }): Promise<Result>;
  /** HTTPS request to the API server with `token` (default: admin). */
  api(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; json: any; text: string }>;
  /** Every node's name: the server's first, then the agents'. */
  nodes(): string[];
  /** Have cleanup() also remove cgroups and /run/tsk state of another node name. */
  track(nodeName: string): void;
  cleanup(): Promise<void>;
}

function sh(cmd: string, args: string[], allowFail = false): Result {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 30_000 });
  const res = { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  if (!allowFail && res.code !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${res.code}): ${res.stderr}`);
  return res;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function tskArgv(args: string[], netns?: string): [string, string[]] {
  const node = [process.execPath, "--import", "tsx", join(ROOT, "cmd/tsk/main.ts"), ...args];
  if (!netns) return [node[0], node.slice(1)];
  return ["nsenter", [`--net=/run/netns/${netns}`, "--", ...node]];
}

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Every cgroup hierarchy mounted under /sys/fs/cgroup (v2, or each v1 controller and the hybrid unified one). */
function cgroupRoots(): string[] {
  const roots = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && m.startsWith(CGROUP_ROOT));
  return [...new Set(roots)];
}

/**
 * Kills every process in the cgroup subtree `rel` (e.g. "tsk/<node>") in every
 * hierarchy and removes the cgroups, deepest first.
 */
export function removeCgroupTree(rel: string): void {
  const dirs = cgroupRoots()
    .map((r) => join(r, rel))
    .filter((d) => existsSync(d));
  const subdirs = (d: string): string[] => {
    try {
      return readdirSync(d, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => join(d, e.name));
    } catch {
      return [];
    }
  };
  const pidsOf = (d: string): number[] => {
    let own: number[] = [];
    try {
      own = readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {}
    return [...own, ...subdirs(d).flatMap(pidsOf)];
  };
  for (let round = 0; round < 3; round++) {
    for (const d of dirs) {
      try {
        writeFileSync(join(d, "cgroup.kill"), "1");
      } catch {}
      for (const pid of pidsOf(d)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
    }
  }
  const rmTree = (d: string) => {
    for (const s of subdirs(d)) rmTree(s);
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(d);
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
        // Killed processes take a moment to leave their cgroup.
        spawnSync("sleep", ["0.1"]);
      }
    }
  };
  for (const d of dirs) rmTree(d);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes what an earlier run left when it was killed before it could clean up (the
 * test runner SIGKILLs a file that times out): everything here is named after the
 * pid of the run that made it, and only runs whose process is gone are swept.
 */
export function sweepStale(): void {
  const dead = (name: string, re: RegExp) => {
    const m = re.exec(name);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  };
  const nodes = new Set<string>();
  for (const root of cgroupRoots()) {
    try {
      for (const n of readdirSync(join(root, "tsk"))) if (dead(n, /^e2e(\d+)-/)) nodes.add(n);
    } catch {}
  }
  try {
    for (const n of readdirSync("/run/tsk")) if (dead(n, /^e2e(\d+)-/)) nodes.add(n);
  } catch {}
  for (const n of nodes) {
    removeCgroupTree(`tsk/${n}`);
    for (const m of mountsUnder(join("/run/tsk", n))) sh("umount", ["-l", m], true);
    rmSync(join("/run/tsk", n), { recursive: true, force: true });
  }
  for (const ns of sh("ip", ["netns", "list"], true)
    .stdout.split("\n")
    .map((l) => l.split(" ")[0])) {
    if (ns && dead(ns, /^e2e(\d+)-n\d+$/)) sh("ip", ["netns", "del", ns], true);
  }
  for (const l of sh("ip", ["-o", "link", "show"], true).stdout.split("\n")) {
    const name = /^\d+: (tske\d+h\d+)[@:]/.exec(l)?.[1];
    if (name && dead(name, /^tske(\d+)h/)) sh("ip", ["link", "del", name], true);
  }
  for (const d of readdirSync(tmpdir())) {
    if (!dead(d, /^tsk-e2e-(\d+)-/)) continue;
    const dir = join(tmpdir(), d);
    for (const m of mountsUnder(dir)) sh("umount", ["-l", m], true);
    rmSync(dir, { recursive: true, force: true });
  }
}

function spawnLogged(argv: [string, string[]]): {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number>;
} {
  const child = spawn(argv[0], argv[1], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  const exited = new Promise<number>((r) => child.once("exit", (code, sig) => r(code ?? (sig ? 128 : -1))));
  return { child, out: () => out, exited };
}

async function killChild(
  child: ChildProcess | undefined,
  exited: Promise<number> | undefined,
  signal: NodeJS.Signals,
) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const ok = await Promise.race([exited!.then(() => true), sleep(15_000).then(() => false)]);
  if (!ok) {
    child.kill("SIGKILL");
    await exited;
  }
}

export async function startCluster(opts: { agents: AgentSpec[]; serverArgs?: string[] }): Promise<Cluster> {
  if (process.getuid?.() !== 0) throw new Error("cluster e2e tests need root (netns, containers, cgroups)");
  requireBusybox();
  if (!existsSync("/usr/bin/kubectl")) throw new Error("/usr/bin/kubectl is missing");
  const prefix = `e2e${process.pid}`;
  sweepStale();
  const tmp = mkdtempSync(join(tmpdir(), `tsk-e2e-${process.pid}-`));
  const kubeconfig = join(tmp, "kubeconfig.yaml");
  const cacheDir = join(tmp, "kube-cache");
  const serverData = join(tmp, "server");
  const serverNode = `${prefix}-server`;
  const archive = join(tmp, "busybox.tar");
  await buildBusyboxDockerArchive(archive, { name: "busybox:latest" });
  const seedImages = (dataDir: string) => {
    mkdirSync(join(dataDir, "agent", "images"), { recursive: true });
    copyFileSync(archive, join(dataDir, "agent", "images", "busybox.tar"));
  };

  const netnses: string[] = [];
  const veths: string[] = [];
  const nodeNames = [serverNode, ...opts.agents.map((a) => `${prefix}-${a.name}`)];
  let server: ReturnType<typeof spawnLogged> | undefined;
  const agents: AgentNode[] = [];
  const agentProcs = new Map<string, ReturnType<typeof spawnLogged>>();
  let cleaned = false;

  const cleanupSync = () => {
    if (cleaned) return;
    cleaned = true;
    for (const p of agentProcs.values()) p.child.kill("SIGKILL");
    server?.child.kill("SIGKILL");
    for (const n of nodeNames) removeCgroupTree(`tsk/${n}`);
    for (const m of mountsUnder(tmp)) sh("umount", ["-l", m], true);
    for (const n of nodeNames) {
      for (const m of mountsUnder(join("/run/tsk", n))) sh("umount", ["-l", m], true);
      rmSync(join("/run/tsk", n), { recursive: true, force: true });
    }
    for (const v of veths) sh("ip", ["link", "del", v], true);
    for (const ns of netnses) sh("ip", ["netns", "del", ns], true);
    rmSync(tmp, { recursive: true, force: true });
  };
  process.on("exit", cleanupSync);
  const onSignal = () => {
    cleanupSync();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const kubectl = (args: string[], o: { input?: string; timeoutMs?: number } = {}): Result => {
    const r = spawnSync("/usr/bin/kubectl", args, {
      input: o.input,
      encoding: "utf8",
      timeout: o.timeoutMs ?? 60_000,
      env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: cacheDir, HOME: tmp },
    });
    return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  };

  const nodeReady = (name: string): boolean =>
    kubectl([
      "get",
      "node",
      name,
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]).stdout.trim() === "True";
  const waitReady = async (name: string, out: () => string) => {
    const deadline = Date.now() + 60_000;
    while (!nodeReady(name)) {
      if (Date.now() > deadline) throw new Error(`node ${name} not Ready in 60 s:\n${out()}`);
      await sleep(500);
    }
  };

  try {
    // Network namespaces first: the server's certificate must name the host-side addresses.
    const hostIps: string[] = [];
    opts.agents.forEach((_, i) => {
      const ns = `${prefix}-n${i}`;
      const host = `tske${process.pid}h${i}`;
      const peer = `tske${process.pid}p${i}`;
      const net = `10.231.${(process.pid % 200) + i}`;
      sh("ip", ["netns", "add", ns]);
      netnses.push(ns);
      sh("ip", ["link", "add", host, "type", "veth", "peer", "name", peer]);
      veths.push(host);
      sh("ip", ["link", "set", peer, "netns", ns]);
      sh("ip", ["addr", "add", `${net}.1/30`, "dev", host]);
      sh("ip", ["link", "set", host, "up"]);
      sh("ip", ["-n", ns, "addr", "add", `${net}.2/30`, "dev", peer]);
      sh("ip", ["-n", ns, "link", "set", peer, "up"]);
      sh("ip", ["-n", ns, "link", "set", "lo", "up"]);
      hostIps.push(`${net}.1`);
    });

    seedImages(serverData);
    server = spawnLogged(
      tskArgv([
        "server",
        "--data-dir",
        serverData,
        "--https-listen-port",
        "0",
        "--bind-address",
        "0.0.0.0",
        "--node-name",
        serverNode,
        "--write-kubeconfig",
        kubeconfig,
        ...hostIps.flatMap((ip) => ["--tls-san", ip]),
        ...(opts.serverArgs ?? []),
      ]),
    );
    const srv = server;
    const readyUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`tsk server not ready in 60 s:\n${srv.out()}`)),
        60_000,
      );
      const check = () => {
        const m = /ready at (https:\/\/\S+)/.exec(srv.out());
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      };
      srv.child.stdout!.on("data", check);
      srv.child.stderr!.on("data", check);
      void srv.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`tsk server exited with ${code}:\n${srv.out()}`));
      });
    });
    const port = Number(new URL(readyUrl).port);
    const kc = load(readFileSync(kubeconfig, "utf8")) as any;
    const adminToken: string = kc.users[0].user.token;
    const caPem = Buffer.from(kc.clusters[0].cluster["certificate-authority-data"], "base64").toString();
    const tok = sh(
      tskArgv(["token", "--data-dir", serverData])[0],
      tskArgv(["token", "--data-dir", serverData])[1],
    );
    const joinToken = tok.stdout.trim();
    await waitReady(serverNode, srv.out);

    opts.agents.forEach((spec, i) => {
      const node = `${prefix}-${spec.name}`;
      const dataDir = join(tmp, spec.name);
      seedImages(dataDir);
      const ip = hostIps[i].replace(/\.1$/, ".2");
      const agent: AgentNode = {
        node,
        netns: netnses[i],
        ip,
        hostIp: hostIps[i],
        dataDir,
        pid: () => agentProcs.get(node)?.child.pid,
        logs: () => agentProcs.get(node)?.out() ?? "",
        async start() {
          const p = spawnLogged(
            tskArgv(
              [
                "agent",
                "--join",
                `https://${hostIps[i]}:${port}`,
                "--token",
                joinToken,
                "--data-dir",
                dataDir,
                "--node-name",
                node,
                "--node-ip",
                ip,
                ...(spec.labels ?? []).flatMap((l) => ["--node-label", l]),
                ...(spec.taints ?? []).flatMap((t) => ["--node-taint", t]),
              ],
              netnses[i],
            ),
          );
          agentProcs.set(node, p);
          await Promise.race([
            waitReady(node, p.out),
            p.exited.then((code) => {
              throw new Error(`agent ${node} exited with ${code}:\n${p.out()}`);
            }),
          ]);
        },
        async kill(signal = "SIGTERM") {
          const p = agentProcs.get(node);
          await killChild(p?.child, p?.exited, signal);
        },
      };
      agents.push(agent);
    });
    await Promise.all(agents.map((a) => a.start()));

    const cluster: Cluster = {
      prefix,
      tmp,
      url: `https://127.0.0.1:${port}`,
      port,
      dataDir: serverData,
      kubeconfig,
      adminToken,
      joinToken,
      caPem,
      serverNode,
      agents,
      serverLogs: () => srv.out(),
      kubectl,
      async tsk(args, o = {}) {
        const p = spawnLogged(tskArgv(args, o.netns));
        const timeout = sleep(o.timeoutMs ?? 30_000).then(() => {
          p.child.kill("SIGKILL");
          return -2;
        });
        const code = await Promise.race([p.exited, timeout]);
        await p.exited;
        return { code, stdout: p.out(), stderr: "" };
      },
      api(method, path, body, token = adminToken) {
        return new Promise((resolve, reject) => {
          const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
          let payload: string | undefined;
          if (body !== undefined) {
            payload = JSON.stringify(body);
            headers["Content-Type"] = "application/json";
          }
          const req = request(`https://127.0.0.1:${port}${path}`, { method, headers, ca: caPem }, (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (c) => (text += c));
            res.on("end", () => {
              let json: any;
              try {
                json = JSON.parse(text);
              } catch {}
              resolve({ status: res.statusCode ?? 0, json, text });
            });
          });
          req.on("error", reject);
          req.end(payload);
        });
      },
      nodes: () => nodeNames,
      track: (n) => void nodeNames.push(n),
      async cleanup() {
        if (process.env.TSK_TEST_LOGS) {
          process.stderr.write(`--- server\n${srv.out()}\n`);
          for (const [n, p] of agentProcs) process.stderr.write(`--- ${n}\n${p.out()}\n`);
        }
        // Let the agents and server stop as they would on SIGTERM, then force the rest.
        await Promise.all([...agentProcs.values()].map((p) => killChild(p.child, p.exited, "SIGTERM")));
        await killChild(srv.child, srv.exited, "SIGTERM");
        cleanupSync();
        process.off("exit", cleanupSync);
      },
    };
    return cluster;
  } catch (err) {
    if (process.env.TSK_TEST_LOGS) {
      process.stderr.write(`--- server\n${server?.out()}\n`);
      for (const [n, p] of agentProcs) process.stderr.write(`--- ${n}\n${p.out()}\n`);
    }
    cleanupSync();
    throw err;
  }
}
