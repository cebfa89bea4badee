// Agent side of kubectl logs/exec/attach/port-forward: serves the reverse streams
// the server opens over the link (kinds and channels: internal/link/protocol.ts).
// Containers are found by the kubelet's labels; a stream the server aborts (kubectl
// went away) stops the log reader, kills the exec'd process, detaches an attach or
// closes the forwarded connection.
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import type { LinkStream } from "../link/streams";
import type { ContainerStatus, LogEntry, Runtime } from "../runtime";
import { DialError, dialInNetns, NetnsError } from "../runtime/dial";

/** The labels the kubelet puts on runtime containers (internal/kubelet LABEL). */
const L = {
  uid: "io.kubernetes.pod.uid",
  name: "io.kubernetes.pod.name",
  namespace: "io.kubernetes.pod.namespace",
  container: "io.kubernetes.container.name",
  attempt: "io.kubernetes.container.attempt",
};

export interface StreamRuntime {
  list: Runtime["list"];
  logs: Runtime["logs"];
  exec: Runtime["exec"];
  attach: Runtime["attach"];
  getSandbox: Runtime["getSandbox"];
}

const str = (v: unknown) => (typeof v === "string" ? v : undefined);
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

/** The pod's runtime containers named `container`, newest attempt first. */
export function instancesOf(rt: Pick<StreamRuntime, "list">, p: Record<string, unknown>): ContainerStatus[] {
  const uid = str(p.uid);
  return rt
    .list()
    .filter(
      (c) =>
        c.labels[L.container] === p.container &&
        (uid ? c.labels[L.uid] === uid : c.labels[L.namespace] === p.namespace && c.labels[L.name] === p.pod),
    )
    .sort((a, b) => Number(b.labels[L.attempt] ?? 0) - Number(a.labels[L.attempt] ?? 0));
}

function findContainer(rt: StreamRuntime, p: Record<string, unknown>, previous = false): ContainerStatus {
  const all = instancesOf(rt, p);
  const c = previous ? all[1] : all[0];
  if (!c) {
    if (previous)
      throw new Error(`previous terminated container "${p.container}" in pod "${p.pod}" not found`);
    throw new Error(`container "${p.container}" in pod "${p.pod}" is waiting to start: ContainerCreating`);
  }
  return c;
}

/** Formats log entries as kubectl expects them; `limitBytes` cuts the output. */
export function formatEntry(e: LogEntry, timestamps: boolean): string {
  return `${timestamps ? `${e.time} ` : ""}${e.text}${e.full ? "\n" : ""}`;
}

/** Writes a readable's chunks on a channel, pausing it while the link has no credit. */
function pump(src: Readable, s: LinkStream, ch: number, filter?: (b: Buffer) => Buffer): Promise<void> {
  return new Promise((resolve) => {
    let writing: Promise<unknown> = Promise.resolve();
    src.on("data", (chunk: Buffer) => {
      const data = filter ? filter(chunk) : chunk;
      if (data.length === 0) return;
      src.pause();
      writing = writing
        .then(() => s.write(ch, data))
        .then(
          () => src.resume(),
          () => src.destroy(),
        );
    });
    const done = () =>
      void writing.then(
        () => resolve(),
        () => resolve(),
      );
    src.on("end", done);
    src.on("close", done);
    src.on("error", done);
  });
}

/** stdin data from the link into a writable, with back-pressure; its end closes the writable. */
function feed(s: LinkStream, dst: Writable | null, ch = 0): void {
  s.onData((c, data) => {
    if (c !== ch || !dst || dst.destroyed) return;
    return new Promise<void>((resolve) => {
      if (dst.write(data)) resolve();
      else {
        dst.once("drain", resolve);
        dst.once("close", resolve);
      }
    });
  });
  dst?.on("error", () => {});
}

function statusJson(code: number): Buffer {
  if (code === 0) return Buffer.from(JSON.stringify({ metadata: {}, status: "Success" }));
  return Buffer.from(
    JSON.stringify({
      metadata: {},
      status: "Failure",
      message: `command terminated with non-zero exit code: error executing command [${code}], exit code ${code}`,
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: String(code) }] },
    }),
  );
}

async function serveLog(rt: StreamRuntime, s: LinkStream): Promise<void> {
  const p = s.params;
  const c = findContainer(rt, p, p.previous === true);
  const ac = new AbortController();
  s.onEnd((err) => {
    if (err !== undefined) ac.abort();
  });
  const sinceSeconds = num(p.sinceSeconds);
  const sinceTime = str(p.sinceTime);
  const since =
    sinceSeconds !== undefined
      ? new Date(Date.now() - sinceSeconds * 1000)
      : sinceTime
        ? new Date(sinceTime)
        : undefined;
  const timestamps = p.timestamps === true;
  let left = num(p.limitBytes) ?? Number.POSITIVE_INFINITY;
  // The previous instance has exited: never follow it.
  const follow = p.follow === true && p.previous !== true;
  const entries = rt.logs(c.id, { follow, tail: num(p.tailLines), since, signal: ac.signal });
  let batch = "";
  const flush = async () => {
    if (!batch) return;
    const b = Buffer.from(batch);
    batch = "";
    await s.write(1, b.length > left ? b.subarray(0, left) : b);
    left -= Math.min(left, b.length);
  };
  try {
    for await (const e of entries) {
      batch += formatEntry(e, timestamps);
      // Following: every line goes out at once; otherwise in 16 KiB writes.
      if (follow || batch.length >= 16 * 1024) await flush();
      if (left <= batch.length) break;
    }
    await flush();
  } finally {
    if (!s.closed) s.close();
  }
}

// tsk-monitor's message when the command cannot be started, and runc's wording for it.
const START_FAILED = /^tsk-monitor exec: exec (.*?): (ENOENT|EACCES|ENOTDIR|ENOEXEC|EPERM)\n/;

export function startFailure(stderr: string): string | undefined {
  const m = START_FAILED.exec(stderr);
  if (!m) return undefined;
  const why =
    m[2] === "ENOENT" || m[2] === "ENOTDIR" ? "executable file not found in $PATH" : "permission denied";
  return `OCI runtime exec failed: exec failed: unable to start container process: exec: "${m[1]}": ${why}: unknown\n`;
}

async function serveExec(rt: StreamRuntime, s: LinkStream): Promise<void> {
  const p = s.params;
  const c = findContainer(rt, p);
  if (c.state !== "running") throw new Error(`container ${p.container} is not running`);
  const command = Array.isArray(p.command) ? p.command.map(String) : [];
  const tty = p.tty === true;
  const proc = rt.exec(c.id, command, { tty });
  const child: ChildProcess = proc.process;
  let finished = false;
  const kill = () => {
    if (finished) return;
    // The monitor forwards SIGHUP to the command; SIGKILL if it ignores it.
    child.kill("SIGHUP");
    setTimeout(() => {
      if (!finished) child.kill("SIGKILL");
    }, 2000).unref();
  };
  if (p.stdin === true) feed(s, child.stdin);
  else child.stdin?.end();
  s.onEnd((err) => {
    if (err !== undefined) kill();
    else child.stdin?.end();
  });
  s.onResize((w, h) => proc.resize(h, w));
  // The first stderr bytes may be the monitor's "could not start" report.
  let first = true;
  let startError: string | undefined;
  const stderrFilter = (b: Buffer) => {
    if (!first) return b;
    first = false;
    const text = b.toString("utf8");
    const msg = startFailure(text);
    if (!msg) return b;
    startError = msg;
    return Buffer.concat([Buffer.from(msg), b.subarray(Buffer.byteLength(text.split("\n")[0]) + 1)]);
  };
  const outs = [
    child.stdout ? pump(child.stdout, s, 1) : Promise.resolve(),
    child.stderr ? pump(child.stderr, s, 2, stderrFilter) : Promise.resolve(),
  ];
  let code = await proc.exited.catch(() => 127);
  finished = true;
  await Promise.all(outs);
  // runc's exit code for a command it could not start.
  if (startError) code = 126;
  if (s.closed) return;
  await s.write(3, statusJson(code)).catch(() => {});
  s.close();
}

async function serveAttach(rt: StreamRuntime, s: LinkStream): Promise<void> {
  const p = s.params;
  const c = findContainer(rt, p);
  if (c.state !== "running") throw new Error(`container ${p.container} is not running`);
  const ac = new AbortController();
  const att = rt.attach(c.id, { signal: ac.signal });
  s.onEnd((err) => {
    // The client went away: detach (the container keeps running).
    if (err !== undefined) ac.abort();
  });
  if (p.stdin === true)
    s.onData((ch, data) => {
      if (ch === 0) att.write(Buffer.from(data));
    });
  s.onResize((w, h) => att.resize(h, w));
  for await (const e of att.output) {
    const ch = e.stream === "stderr" && p.stderr === true ? 2 : 1;
    if ((ch === 1 && p.stdout !== true) || s.closed) continue;
    await s.write(ch, Buffer.from(formatEntry(e, false)));
  }
  if (s.closed) return;
  const st = rt.list().find((x) => x.id === c.id);
  await s.write(3, statusJson(st?.exitCode ?? 0)).catch(() => {});
  s.close();
}

// containerd's per-address dial timeout for port-forward.
const FORWARD_DIAL_TIMEOUT_MS = 5_000;

/**
 * Connects to localhost:port inside the pod's network namespace as containerd does:
 * IPv4 first, then IPv6 (a server may listen on one family only). The error reads
 * like the kubelet's ("error forwarding port 8080 to pod ...: IPv4: dial tcp4
 * 127.0.0.1:8080: connect: connection refused IPv6: ...").
 */
export async function dialLocalhost(
  netns: string,
  port: number,
  who: string,
  signal?: AbortSignal,
): Promise<Socket> {
  const opts = { timeoutMs: FORWARD_DIAL_TIMEOUT_MS, signal };
  let errV4: Error;
  try {
    return await dialInNetns(netns, "127.0.0.1", port, { ...opts, network: "tcp4" });
  } catch (err) {
    errV4 = err as Error;
    // The namespace itself is unusable: IPv6 would fail the same way.
    if (!(err instanceof DialError) || err instanceof NetnsError)
      throw forwardError(port, who, netns, errV4.message);
  }
  try {
    return await dialInNetns(netns, "::1", port, { ...opts, network: "tcp6" });
  } catch (errV6) {
    throw forwardError(port, who, netns, `IPv4: ${errV4.message} IPv6: ${(errV6 as Error).message}`);
  }
}

function forwardError(port: number, who: string, netns: string, why: string): Error {
  return new Error(
    `error forwarding port ${port} to pod ${who}, uid : failed to execute portforward in network namespace "${netns}": ${why}`,
  );
}

async function servePortForward(rt: StreamRuntime, s: LinkStream): Promise<void> {
  const p = s.params;
  const port = num(p.port);
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`invalid port ${JSON.stringify(p.port)}`);
  const uid = str(p.uid);
  const sandbox = uid ? rt.getSandbox(uid) : undefined;
  if (!sandbox) throw new Error(`pod "${p.pod}" has no sandbox on this node`);
  // The client may give up while the dial is still in progress.
  const ac = new AbortController();
  s.onEnd((err) => {
    if (err !== undefined) ac.abort();
  });
  let conn: Socket;
  try {
    conn = await dialLocalhost(sandbox.netns, port, sandbox.id, ac.signal);
  } catch (err) {
    if (s.closed || ac.signal.aborted) return;
    await s.write(1, Buffer.from((err as Error).message)).catch(() => {});
    s.close();
    return;
  }
  conn.setNoDelay(true);
  // Data kubectl sent while we dialed was held by the stream and arrives now, in order.
  feed(s, conn);
  s.onEnd((err) => {
    if (err !== undefined) conn.destroy();
    else conn.end();
  });
  // The pod's end closing ends the forwarded connection, as a socat-style relay does.
  await pump(conn, s, 0);
  conn.destroy();
  if (!s.closed) s.close();
}

/** Serves one stream the server opened; errors abort it with their message. */
export function serveStream(rt: StreamRuntime, s: LinkStream, log?: (msg: string) => void): void {
  const run =
    s.kind === "log"
      ? serveLog
      : s.kind === "exec"
        ? serveExec
        : s.kind === "attach"
          ? serveAttach
          : s.kind === "portforward"
            ? servePortForward
            : undefined;
  if (!run) {
    s.abort(`unknown stream kind ${JSON.stringify(s.kind)}`);
    return;
  }
  // A bad request (no such container, not running) aborts before the stream is
  // accepted, so the server answers kubectl with that reason as a Status.
  try {
    if (s.kind !== "portforward") {
      const c = findContainer(rt, s.params, s.kind === "log" && s.params.previous === true);
      if (s.kind !== "log" && c.state !== "running")
        throw new Error(`container ${s.params.container} is not running`);
    }
  } catch (err) {
    s.abort((err as Error).message);
    return;
  }
  run(rt, s).catch((err: Error) => {
    log?.(`stream ${s.kind} ${s.params.namespace}/${s.params.pod}: ${err.message}`);
    if (!s.closed) s.abort(err.message);
  });
}
