// Liveness, readiness and startup probes: one worker per (container, probe kind),
// keyed by the runtime container id so a restarted container starts over. Results
// are kept here; the sync loop reads them when it computes status and restarts a
// container whose liveness failed.
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import type { Runtime } from "../runtime";
import type { ContainerStatus } from "../runtime/types";
import type { EventRecorder } from "./events";

type Obj = Record<string, any>;
type Kind = "liveness" | "readiness" | "startup";

export type ProbeOutcome = { ok: true } | { ok: false; message: string } | { error: string };

interface Worker {
  kind: Kind;
  containerId: string;
  timer?: NodeJS.Timeout;
  successes: number;
  failures: number;
  /** current result: readiness starts false, liveness and startup start "not failed" */
  result: boolean;
  stopped: boolean;
}

function resolvePort(c: Obj, port: number | string): number | undefined {
  if (typeof port === "number") return port;
  if (/^\d+$/.test(port)) return Number(port);
  for (const p of c.ports ?? []) if (p.name === port) return p.containerPort;
  return undefined;
}

export class ProbeManager {
  /** uid/name/kind → worker */
  private readonly workers = new Map<string, Worker>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly runtime: Runtime,
    private readonly enqueue: (podKey: string) => void,
    private readonly events: EventRecorder,
  ) {}

  /** Makes sure workers run for the container's probes (no-op when they already do). */
  ensure(pod: Obj, c: Obj, cur: ContainerStatus, podKey: string): void {
    const uid = pod.metadata.uid;
    for (const kind of ["startup", "liveness", "readiness"] as Kind[]) {
      const probe = c[`${kind}Probe`];
      if (!probe) continue;
      const k = `${uid}/${c.name}/${kind}`;
      const w = this.workers.get(k);
      if (w && w.containerId === cur.id) continue;
      if (w) this.stop(w);
      const nw: Worker = {
        kind,
        containerId: cur.id,
        successes: 0,
        failures: 0,
        result: kind !== "readiness",
        stopped: false,
      };
      this.workers.set(k, nw);
      this.schedule(pod, c, probe, nw, podKey, (probe.initialDelaySeconds ?? 0) * 1000);
    }
  }

  private schedule(pod: Obj, c: Obj, probe: Obj, w: Worker, podKey: string, delayMs: number): void {
    if (w.stopped) return;
    w.timer = setTimeout(async () => {
      if (w.stopped) return;
      // Liveness and readiness wait until the startup probe has passed.
      const uid = pod.metadata.uid;
      const startup = this.workers.get(`${uid}/${c.name}/startup`);
      const gated =
        w.kind !== "startup" && startup && startup.containerId === w.containerId && startup.successes === 0;
      const startupDone = w.kind === "startup" && w.successes > 0;
      if (!gated && !startupDone) await this.runOnce(pod, c, probe, w, podKey);
      this.schedule(pod, c, probe, w, podKey, (probe.periodSeconds ?? 10) * 1000);
    }, delayMs);
    w.timer.unref?.();
  }

  private async runOnce(pod: Obj, c: Obj, probe: Obj, w: Worker, podKey: string): Promise<void> {
    const out = await this.probe(pod, c, probe, w.containerId);
    if (w.stopped) return;
    if ("error" in out) {
      // A prober error (not a probe failure) leaves the result as it was, as the kubelet does.
      const k = `${pod.metadata.uid}/${c.name}/${w.kind}/err`;
      if (!this.warned.has(k)) {
        this.warned.add(k);
        this.events.record(pod, "Warning", "Unhealthy", `${cap(w.kind)} probe errored: ${out.error}`, c.name);
      }
      return;
    }
    const before = w.result;
    if (out.ok) {
      w.successes++;
      w.failures = 0;
      const threshold = w.kind === "readiness" ? (probe.successThreshold ?? 1) : 1;
      if (w.successes >= threshold) w.result = true;
    } else {
      w.failures++;
      w.successes = 0;
      this.events.record(pod, "Warning", "Unhealthy", `${cap(w.kind)} probe failed: ${out.message}`, c.name);
      if (w.failures >= (probe.failureThreshold ?? 3)) w.result = false;
    }
    if (before !== w.result || (!w.result && w.kind !== "readiness")) this.enqueue(podKey);
  }

  /** Runs one probe: exec in the container, or an HTTP/TCP check against the pod. */
  async probe(pod: Obj, c: Obj, probe: Obj, containerId: string): Promise<ProbeOutcome> {
    const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
    if (probe.exec?.command) {
      let proc: ReturnType<Runtime["exec"]>;
      try {
        proc = this.runtime.exec(containerId, probe.exec.command);
      } catch (err) {
        return { error: (err as Error).message };
      }
      let output = "";
      proc.process.stdout?.on("data", (d) => (output = (output + d).slice(-1024)));
      proc.process.stderr?.on("data", (d) => (output = (output + d).slice(-1024)));
      proc.process.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
      const code = await Promise.race([proc.exited.catch(() => -1), timedOut]);
      clearTimeout(timer);
      if (code === "timeout") {
        proc.process.kill("SIGKILL");
        return { ok: false, message: `command timed out after ${probe.timeoutSeconds ?? 1}s` };
      }
      if (code === 0) return { ok: true };
      return { ok: false, message: output.trim() || `command exited with ${code}` };
    }
    const host = this.probeHost(pod, probe.httpGet?.host ?? probe.tcpSocket?.host);
    if (host === undefined && probe.tcpSocket) {
      // The pod's network namespace is not reachable from the node yet (no pod network,
      // no way to dial from inside): a listening socket on the port, read from the
      // namespace's own socket table, is what a connect would have found.
      const port = resolvePort(c, probe.tcpSocket.port);
      if (!port) return { error: `unknown port ${probe.tcpSocket.port}` };
      let pid = 0;
      try {
        pid = this.runtime.status(containerId).pid;
      } catch (err) {
        return { error: (err as Error).message };
      }
      if (!pid) return { ok: false, message: "container is not running" };
      const listening = listeningPorts(pid);
      if (listening === undefined) return { error: `reading the sockets of process ${pid} failed` };
      return listening.has(port)
        ? { ok: true }
        : { ok: false, message: `dial tcp 127.0.0.1:${port}: connect: connection refused` };
    }
    if (host === undefined)
      return {
        error: "HTTP probes of pods outside the host network need the pod network (not on this node yet)",
      };
    if (probe.httpGet) {
      const port = resolvePort(c, probe.httpGet.port);
      if (!port) return { error: `unknown port ${probe.httpGet.port}` };
      return this.httpGet(host, port, probe.httpGet, timeoutMs);
    }
    if (probe.tcpSocket) {
      const port = resolvePort(c, probe.tcpSocket.port);
      if (!port) return { error: `unknown port ${probe.tcpSocket.port}` };
      return new Promise((resolve) => {
        const s = connect({ host, port, timeout: timeoutMs });
        s.once("connect", () => {
          s.destroy();
          resolve({ ok: true });
        });
        s.once("timeout", () => {
          s.destroy();
          resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
        });
        s.once("error", (err) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${err.message}` }));
      });
    }
    if (probe.grpc) return { error: "gRPC probes are not supported" };
    return { error: "probe has no handler" };
  }

  private probeHost(pod: Obj, host: string | undefined): string | undefined {
    if (host) return host;
    // Host network pods listen on the node's addresses; loopback reaches them.
    return pod.spec?.hostNetwork ? "127.0.0.1" : undefined;
  }

  private httpGet(host: string, port: number, g: Obj, timeoutMs: number): Promise<ProbeOutcome> {
    return new Promise((resolve) => {
      const headers: Record<string, string> = { "User-Agent": "kube-probe/1.32", Accept: "*/*" };
      for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
      const req = (g.scheme === "HTTPS" ? httpsRequest : request)(
        {
          host,
          port,
          path: g.path ?? "/",
          method: "GET",
          headers,
          timeout: timeoutMs,
          rejectUnauthorized: false,
        },
        (res) => {
          res.resume();
          const code = res.statusCode ?? 0;
          if (code >= 200 && code < 400) resolve({ ok: true });
          else resolve({ ok: false, message: `HTTP probe failed with statuscode: ${code}` });
        },
      );
      req.on("timeout", () => {
        req.destroy();
        resolve({
          ok: false,
          message: `Get "http://${host}:${port}${g.path ?? "/"}": context deadline exceeded`,
        });
      });
      req.on("error", (err) =>
        resolve({ ok: false, message: `Get "http://${host}:${port}${g.path ?? "/"}": ${err.message}` }),
      );
      req.end();
    });
  }

  /** One HTTP GET for a preStop hook. */
  async httpOnce(pod: Obj, g: Obj, timeoutSeconds: number): Promise<void> {
    const host = this.probeHost(pod, g.host);
    const port = typeof g.port === "number" ? g.port : Number(g.port);
    if (host === undefined || !port) return;
    await this.httpGet(host, port, g, timeoutSeconds * 1000);
  }

  /** The container has failed its liveness probe (reset once the container is restarted). */
  livenessFailed(uid: string, name: string, containerId: string): boolean {
    for (const kind of ["liveness", "startup"] as Kind[]) {
      const w = this.workers.get(`${uid}/${name}/${kind}`);
      if (w && w.containerId === containerId && !w.result) return true;
    }
    return false;
  }

  ready(uid: string, c: Obj, cur: ContainerStatus | undefined): boolean {
    if (cur?.state !== "running") return false;
    if (!c.readinessProbe) return true;
    const w = this.workers.get(`${uid}/${c.name}/readiness`);
    return !!w && w.containerId === cur.id && w.result;
  }

  started(uid: string, c: Obj, cur: ContainerStatus | undefined): boolean {
    if (cur?.state !== "running") return false;
    if (!c.startupProbe) return true;
    const w = this.workers.get(`${uid}/${c.name}/startup`);
    return !!w && w.containerId === cur.id && w.successes > 0;
  }

  private stop(w: Worker): void {
    w.stopped = true;
    clearTimeout(w.timer);
  }

  removeContainer(uid: string, name: string): void {
    for (const [k, w] of [...this.workers])
      if (k.startsWith(`${uid}/${name}/`)) {
        this.stop(w);
        this.workers.delete(k);
      }
  }

  removePod(uid: string): void {
    for (const [k, w] of [...this.workers])
      if (k.startsWith(`${uid}/`)) {
        this.stop(w);
        this.workers.delete(k);
      }
    for (const k of [...this.warned]) if (k.startsWith(`${uid}/`)) this.warned.delete(k);
  }

  stopAll(): void {
    for (const w of this.workers.values()) this.stop(w);
    this.workers.clear();
  }
}

/** TCP ports in LISTEN state in the network namespace of `pid` (IPv4 and IPv6). */
export function listeningPorts(pid: number): Set<number> | undefined {
  const out = new Set<number>();
  let read = false;
  for (const f of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${f}`, "utf8");
    } catch {
      continue;
    }
    read = true;
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT; state 0A is LISTEN
      if (cols.length > 3 && cols[3] === "0A") out.add(Number.parseInt(cols[1].split(":")[1], 16));
    }
  }
  return read ? out : undefined;
}

function cap(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}
