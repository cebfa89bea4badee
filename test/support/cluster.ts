// Starts a real `tsk server` in a child process on a loopback port with its own data
// dir and kubeconfig, and runs the real kubectl against it. Everything it creates is
// removed by stop(), which tests call in `finally`/`after` even when they fail.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { load } from "js-yaml";

const ROOT = join(__dirname, "..", "..");

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  kubeconfig: string;
  token: string;
  caPem: string;
  logs(): string;
  kubectl(
    args: string[],
    opts?: { input?: string; env?: Record<string, string>; timeoutMs?: number },
  ): KubectlResult;
  /** An HTTPS request to the API with the admin token (or `token`), body as JSON when an object. */
  api(
    method: string,
    path: string,
    body?: unknown,
    opts?: { token?: string | null; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    text: string;
    json: any;
  }>;
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  dataDir?: string;
  args?: string[];
  /** Use dist/tsk instead of the TypeScript sources. */
  binary?: string;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const tmp = mkdtempSync(join(tmpdir(), "tsk-test-"));
  const dataDir = opts.dataDir ?? join(tmp, "data");
  const kubeconfig = join(tmp, "kubeconfig.yaml");
  const cacheDir = join(tmp, "kube-cache");
  const args = [
    "server",
    "--data-dir",
    dataDir,
    "--https-listen-port",
    "0",
    "--bind-address",
    "127.0.0.1",
    "--write-kubeconfig",
    kubeconfig,
    "--disable-agent",
    ...(opts.args ?? []),
  ];
  const child: ChildProcess = opts.binary
    ? spawn(opts.binary, args, { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(process.execPath, ["--import", "tsx", join(ROOT, "cmd/tsk/main.ts"), ...args], {
        stdio: ["ignore", "pipe", "pipe"],
        cwd: ROOT,
      });
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`tsk server did not become ready in 30 s:\n${output}`)),
      30_000,
    );
    const check = () => {
      const m = /ready at (https:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", check);
    child.stderr!.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`tsk server exited with ${code} before it was ready:\n${output}`));
    });
  });
  const port = Number(new URL(url).port);
  const kc = load(readFileSync(kubeconfig, "utf8")) as any;
  const token: string = kc.users[0].user.token;
  const caPem = Buffer.from(kc.clusters[0].cluster["certificate-authority-data"], "base64").toString();
  let exited = false;
  child.once("exit", () => (exited = true));
  const kill = async (signal: NodeJS.Signals = "SIGKILL") => {
    if (exited) return;
    const done = new Promise<boolean>((r) => child.once("exit", () => r(true)));
    child.kill(signal);
    const ok = await Promise.race([done, new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    if (!ok) throw new Error(`tsk server did not exit on ${signal}`);
  };
  return {
    url,
    port,
    dataDir,
    kubeconfig,
    token,
    caPem,
    logs: () => output,
    kubectl(kargs, o = {}) {
      const r = spawnSync("/usr/bin/kubectl", kargs, {
        input: o.input,
        encoding: "utf8",
        timeout: o.timeoutMs ?? 60_000,
        env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: cacheDir, HOME: tmp, ...o.env },
      });
      return { code: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
    },
    api(method, path, body, o = {}) {
      return new Promise((resolve, reject) => {
        const headers: Record<string, string> = { ...(o.headers ?? {}) };
        const tok = o.token === undefined ? token : o.token;
        if (tok) headers.Authorization = `Bearer ${tok}`;
        let payload: string | undefined;
        if (body !== undefined) {
          payload = typeof body === "string" ? body : JSON.stringify(body);
          headers["Content-Type"] ??= "application/json";
          headers["Content-Length"] = String(Buffer.byteLength(payload));
        }
        const req = request(`${url}${path}`, { method, headers, ca: caPem }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (c) => (text += c));
          res.on("end", () => {
            let json: any;
            try {
              json = JSON.parse(text);
            } catch {}
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        });
        req.on("error", reject);
        req.end(payload);
      });
    },
    async stop() {
      await kill("SIGTERM").catch(() => {});
      await kill("SIGKILL").catch(() => {});
      rmSync(tmp, { recursive: true, force: true });
    },
    kill,
  };
}
