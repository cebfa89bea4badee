// Liveness, readiness and startup probes: one worker per (container, probe kind),
// keyed by the runtime container id so a restarted container starts over. Results
// are kept here; the sync loop reads them when it computes status and restarts a
// container whose liveness failed.
import { request } from "node:http";
import { isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { Runtime } from "../runtime";
import { DialError, dialInNetns, dialTcp, joinHostPort, NetnsError } from "../runtime/dial";
import type { ContainerStatus } from "../runtime/types";
import type { EventRecorder } from "./events";

type Obj = Record<string, any>;

/** The User-Agent the kubelet's prober sends ("kube-probe/<major>.<minor>"). */
const PROBE_USER_AGENT = "kube-probe/1.32";
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
    if (probe.httpGet) {
      const port = resolvePort(c, probe.httpGet.port);
      if (!port) return { error: `unknown port ${probe.httpGet.port}` };
      const t = this.target(pod, probe.httpGet.host);
      if ("error" in t) return t;
      return httpGet(t, port, probe.httpGet, timeoutMs);
    }
    if (probe.tcpSocket) {
      const port = resolvePort(c, probe.tcpSocket.port);
      if (!port) return { error: `unknown port ${probe.tcpSocket.port}` };
      const t = this.target(pod, probe.tcpSocket.host);
      if ("error" in t) return t;
      try {
        (await dial(t, port, timeoutMs)).destroy();
        return { ok: true };
      } catch (err) {
        if (err instanceof NetnsError || !(err instanceof DialError))
          return { error: (err as Error).message };
        return { ok: false, message: err.message };
      }
    }
    if (probe.grpc) return { error: "gRPC probes are not supported" };
    return { error: "probe has no handler" };
  }

  /**
   * Where a probe or hook connects. The kubelet dials the pod's IP from the node; a
   * pod outside the host network has no address the node can route to here (no pod
   * network yet), so the connection is made from inside the pod's own network
   * namespace, to its IP once it has one and to its loopback until then. An explicit
   * `host` is dialed from the node, as the kubelet does (it is some other machine).
   */
  private target(pod: Obj, host: string | undefined): Target | { error: string } {
    if (host) return { host };
    // Host network pods listen on the node's addresses; loopback reaches them.
    if (pod.spec?.hostNetwork) return { host: "127.0.0.1" };
    let netns: string;
    try {
      netns = this.runtime.getSandbox(pod.metadata.uid).netns;
    } catch (err) {
      return { error: (err as Error).message };
    }
    const ip = pod.status?.podIP;
    return { host: typeof ip === "string" && isIP(ip) ? ip : "127.0.0.1", netns };
  }

  /**
   * One HTTP GET for a lifecycle hook (preStop, postStart), reaching the pod as probes
   * do. `c` resolves a named port. The outcome says whether the hook failed and why.
   */
  async httpOnce(pod: Obj, g: Obj, timeoutSeconds: number, c?: Obj): Promise<ProbeOutcome> {
    // Without the container, a named port is looked up in every container of the pod.
    const port = resolvePort(
      c ?? { ports: (pod.spec?.containers ?? []).flatMap((x: Obj) => x.ports ?? []) },
      g.port ?? "",
    );
    if (!port) return { error: `unknown port ${g.port}` };
    const t = this.target(pod, g.host);
    if ("error" in t) return t;
    return httpGet(t, port, g, timeoutSeconds * 1000);
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

function cap(s: string): string {
  return s[0].toUpperCase() + s.slice(1);
}

/** Where to connect: `netns` set means from inside that network namespace. */
interface Target {
  host: string;
  netns?: string;
}

function dial(t: Target, port: number, timeoutMs: number): Promise<Socket> {
  return t.netns ? dialInNetns(t.netns, t.host, port, { timeoutMs }) : dialTcp(t.host, port, { timeoutMs });
}

/**
 * The kubelet's HTTP probe: GET with kube-probe's headers, no keep-alive, certificates
 * not checked; 200-399 passes. Redirects to the same host are followed (at most 10);
 * a redirect elsewhere passes without being followed, as the kubelet does (it only
 * warns). Messages are the kubelet's (Go's net/http wording).
 */
async function httpGet(t: Target, port: number, g: Obj, timeoutMs: number): Promise<ProbeOutcome> {
  const scheme = g.scheme === "HTTPS" ? "https" : "http";
  const path = typeof g.path === "string" && g.path ? (g.path.startsWith("/") ? g.path : `/${g.path}`) : "/";
  const headers: Record<string, string> = {
    "User-Agent": PROBE_USER_AGENT,
    Accept: "*/*",
    Connection: "close",
  };
  for (const h of g.httpHeaders ?? []) if (h?.name) headers[h.name] = String(h.value ?? "");
  const endAt = Date.now() + timeoutMs;
  let url = `${scheme}://${joinHostPort(t.host, port)}${path}`;
  let hop: Hop = { target: t, port, https: scheme === "https", path };
  for (let redirects = 0; ; redirects++) {
    const r = await getOnce(hop, url, headers, endAt);
    if ("outcome" in r) return r.outcome;
    if (REDIRECTS.has(r.status) && r.location) {
      let next: URL;
      try {
        next = new URL(r.location, url);
      } catch {
        return { ok: false, message: `Get "${url}": failed to parse Location header "${r.location}"` };
      }
      const host = next.hostname.replace(/^\[(.*)\]$/, "$1");
      if (host !== hop.target.host || (next.protocol !== "http:" && next.protocol !== "https:"))
        return { ok: true };
      if (redirects >= 10) return { ok: false, message: `Get "${next.href}": stopped after 10 redirects` };
      const https = next.protocol === "https:";
      hop = {
        target: hop.target,
        port: Number(next.port) || (https ? 443 : 80),
        https,
        path: next.pathname + next.search,
      };
      url = next.href;
      continue;
    }
    if (r.status >= 200 && r.status < 400) return { ok: true };
    return { ok: false, message: `HTTP probe failed with statuscode: ${r.status}` };
  }
}

/** Statuses Go's client follows when they carry a Location. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

interface Hop {
  target: Target;
  port: number;
  https: boolean;
  path: string;
}

/** One GET on a fresh connection; `endAt` is the probe's deadline (Date.now() time). */
async function getOnce(
  hop: Hop,
  url: string,
  headers: Record<string, string>,
  endAt: number,
): Promise<{ status: number; location?: string } | { outcome: ProbeOutcome }> {
  const deadline = `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`;
  const { target: t, port } = hop;
  let sock: Socket;
  try {
    sock = await dial(t, port, Math.max(0, endAt - Date.now()));
  } catch (err) {
    if (err instanceof NetnsError || !(err instanceof DialError))
      return { outcome: { error: (err as Error).message } };
    return {
      outcome: { ok: false, message: err.code === "ETIMEDOUT" ? deadline : `Get "${url}": ${err.message}` },
    };
  }
  const conn: Socket = hop.https
    ? tlsConnect({ socket: sock, rejectUnauthorized: false, servername: isIP(t.host) ? undefined : t.host })
    : sock;
  return new Promise((resolve) => {
    let done = false;
    const finish = (out: { status: number; location?: string } | { outcome: ProbeOutcome }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      conn.destroy();
      resolve(out);
    };
    const req = request(
      {
        host: t.host,
        port,
        path: hop.path,
        method: "GET",
        headers,
        // Our connection (no agent): made in the pod's namespace when there is one.
        createConnection: () => conn,
      },
      (res) => {
        res.resume();
        finish({ status: res.statusCode ?? 0, location: res.headers.location });
      },
    );
    const timer = setTimeout(
      () => finish({ outcome: { ok: false, message: deadline } }),
      Math.max(0, endAt - Date.now()),
    );
    req.on("error", (err: NodeJS.ErrnoException) => {
      // Go reports a connection closed before the response as EOF.
      const why = err.code === "ECONNRESET" && err.message === "socket hang up" ? "EOF" : err.message;
      finish({ outcome: { ok: false, message: `Get "${url}": ${why}` } });
    });
    req.end();
  });
}
