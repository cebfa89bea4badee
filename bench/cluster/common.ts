// Shared helpers for the cluster benches: a `tsk agent` process joined to a server on
// loopback, HTTPS calls and watches with the admin token, RSS readings from /proc.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import type { TestServer } from "../../test/support/cluster";
import { removeCgroupTree } from "../../test/support/multinode";

const ROOT = join(__dirname, "..", "..");

export function argOf(name: string, def: string): string {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
}

export function tskCommand(binary: string, args: string[]): [string, string[]] {
  return binary
    ? [binary, args]
    : [process.execPath, ["--import", "tsx", join(ROOT, "cmd/tsk/main.ts"), ...args]];
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resident set size of one process, in MiB. */
export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Sum of RSS (MiB) and count of the processes in a cgroup subtree of the pids hierarchy (v1) or v2. */
export function cgroupRss(rel: string): { mib: number; procs: number } {
  const roots = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"];
  const root = roots.find((r) => existsSync(join(r, rel, "cgroup.procs")));
  if (!root) return { mib: 0, procs: 0 };
  const pids: number[] = [];
  const walk = (d: string) => {
    // A pod's cgroup may go away between listing its parent and reading it.
    try {
      pids.push(...readFileSync(join(d, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  };
  walk(join(root, rel));
  let mib = 0;
  for (const p of pids) {
    try {
      mib += rssMiB(p);
    } catch {}
  }
  return { mib, procs: pids.length };
}

/** CPU time (user + system) a process has used so far, in ms. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name.
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
}

export function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export interface Call {
  status: number;
  text: string;
}

export function call(
  s: TestServer,
  agent: Agent,
  method: string,
  path: string,
  body?: unknown,
): Promise<Call> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${s.url}${path}`,
      {
        method,
        agent,
        headers: {
          Authorization: `Bearer ${s.token}`,
          ...(payload
            ? { "Content-Type": "application/json", "Content-Length": String(Buffer.byteLength(payload)) }
            : {}),
        },
        ca: s.caPem,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

/** A watch (JSON lines) on `path`; `onEvent` gets each event. Returns a stop function. */
export function watch(
  s: TestServer,
  path: string,
  onEvent: (ev: { type: string; object: any }) => void,
): () => void {
  const req = request(
    `${s.url}${path}${path.includes("?") ? "&" : "?"}watch=1`,
    { headers: { Authorization: `Bearer ${s.token}` }, ca: s.caPem },
    (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        buf += c;
        for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
          const line = buf.slice(0, nl).trim();
          buf = buf.slice(nl + 1);
          if (line) onEvent(JSON.parse(line));
        }
      });
    },
  );
  req.on("error", () => {});
  req.end();
  return () => req.destroy();
}

export interface AgentProcess {
  node: string;
  dataDir: string;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `tsk agent` joined to `s` on loopback with the busybox archive in its drop folder. */
export async function startAgentProcess(
  s: TestServer,
  o: { binary: string; node: string; dataDir: string; imageArchive: string },
): Promise<AgentProcess> {
  const tok = spawnSync(...tskCommand(o.binary, ["token", "--data-dir", s.dataDir]), {
    encoding: "utf8",
    cwd: ROOT,
  });
  if (tok.status !== 0) throw new Error(`tsk token: ${tok.stderr}`);
  mkdirSync(join(o.dataDir, "agent", "images"), { recursive: true });
  copyFileSync(o.imageArchive, join(o.dataDir, "agent", "images", "busybox.tar"));
  const [cmd, args] = tskCommand(o.binary, [
    "agent",
    "--join",
    s.url,
    "--token",
    tok.stdout.trim(),
    "--data-dir",
    o.dataDir,
    "--node-name",
    o.node,
    "--node-ip",
    "127.0.0.1",
  ]);
  const child: ChildProcess = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c) => (out += c));
  child.stderr!.on("data", (c) => (out += c));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const agent = new Agent({ keepAlive: true });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await call(s, agent, "GET", `/api/v1/nodes/${o.node}`);
    if (r.status === 200) {
      const n = JSON.parse(r.text);
      if (n.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")) break;
    }
    if (child.exitCode !== null) throw new Error(`agent exited:\n${out}`);
    if (Date.now() > deadline) throw new Error(`agent not Ready in 60 s:\n${out}`);
    await sleep(300);
  }
  agent.destroy();
  return {
    node: o.node,
    dataDir: o.dataDir,
    pid: child.pid!,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await Promise.race([exited, sleep(15_000)]);
        child.kill("SIGKILL");
      }
      removeNodeState(o.node, o.dataDir);
    },
  };
}

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Kills what is left of a node's containers and removes its cgroups, mounts and runtime state. */
export function removeNodeState(node: string, dataDir: string): void {
  removeCgroupTree(`tsk/${node}`);
  for (const d of [dataDir, join("/run/tsk", node)])
    for (const m of mountsUnder(d)) spawnSync("umount", ["-l", m]);
  rmSync(join("/run/tsk", node), { recursive: true, force: true });
}

/** The pid of the server process (startServer does not expose it): found by its data dir. */
export function serverPid(s: TestServer): number {
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, "utf8");
      if (cmd.includes("\0server\0") && cmd.includes(s.dataDir)) return Number(p);
    } catch {}
  }
  throw new Error("server process not found");
}
