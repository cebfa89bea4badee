// Real `tsk agent` processes for the link tests, and an in-process joined LinkClient
// for tests that need to look at what an agent receives. Everything started here is
// stopped by stopAll(), which tests call in `after` even when they fail.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LinkClient } from "../../../internal/link/client";
import { joinCluster } from "../../../internal/link/join";
import { removeCgroupTree } from "../../support/multinode";

const ROOT = join(__dirname, "..", "..", "..");

export interface AgentProcess {
  child: ChildProcess;
  dataDir: string;
  logs(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  waitForLog(re: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const children = new Set<AgentProcess>();
const dirs: string[] = [];
const clients: LinkClient[] = [];

export function tempDir(prefix = "tsk-link-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Node names agents ran as: their /run/tsk/<node> and cgroups are removed by stopAll(). */
const nodeNames = new Set<string>();

export function startAgentProcess(args: string[], dataDir = tempDir()): AgentProcess {
  const i = args.indexOf("--node-name");
  if (i >= 0 && args[i + 1]) nodeNames.add(args[i + 1]);
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(ROOT, "cmd/tsk/main.ts"), "agent", "--data-dir", dataDir, ...args],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  const a: AgentProcess = {
    child,
    dataDir,
    logs: () => output,
    exited,
    waitForLog(re, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (re.test(output)) {
            clearTimeout(timer);
            child.stdout!.off("data", check);
            child.stderr!.off("data", check);
            resolve();
          }
        };
        const timer = setTimeout(
          () => reject(new Error(`agent log never matched ${re} in ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
        child.stdout!.on("data", check);
        child.stderr!.on("data", check);
        void exited.then(() =>
          setTimeout(() => {
            check();
            clearTimeout(timer);
            reject(new Error(`agent exited before its log matched ${re}:\n${output}`));
          }, 50),
        );
        check();
      });
    },
    async stop(signal = "SIGTERM") {
      if (!done) {
        child.kill(signal);
        const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(t);
      }
      children.delete(a);
      return exited;
    },
  };
  children.add(a);
  return a;
}

/** Joins as `node` in this process and opens the link; the client is closed by stopAll(). */
export async function joinInProcess(
  server: string,
  token: string,
  node: string,
  opts: { backoff?: { initialMs: number; maxMs: number }; dataDir?: string } = {},
): Promise<LinkClient> {
  const id = await joinCluster({ server, token, dataDir: opts.dataDir ?? tempDir(), node });
  const client = new LinkClient({
    server: id.server,
    caPem: id.caPem,
    token: id.token,
    backoff: opts.backoff,
  });
  clients.push(client);
  await client.start();
  return client;
}

export async function stopAll(): Promise<void> {
  for (const c of clients.splice(0)) c.close();
  await Promise.all([...children].map((a) => a.stop("SIGKILL")));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const n of nodeNames) {
    rmSync(join("/run/tsk", n), { recursive: true, force: true });
    removeCgroupTree(`tsk/${n}`);
  }
  nodeNames.clear();
}

export async function eventually<T>(
  f: () => T | Promise<T>,
  timeoutMs = 20_000,
  what = "condition",
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`${what} not met in ${timeoutMs} ms${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
