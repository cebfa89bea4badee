// The container runtime: plans a container (rootfs layers, mounts, cgroup, env,
// user), writes it to disk and hands it to a tsk-monitor process, which does the
// system calls and outlives us. All state is on disk: a new Runtime on the same
// data dir and node name finds the containers again.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  constants as fsc,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  watch,
  writeSync,
} from "node:fs";
import * as fsp from "node:fs/promises";
import { hostname as osHostname } from "node:os";
import { join } from "node:path";
import { helperPath } from "../embed";
import { CapabilityError, capabilitySet, hostCapabilities } from "./capabilities";
import { type CgroupManager, type CgroupStats, cgroupManager } from "./cgroups";
import { readLog } from "./logs";
import { type FsOp, native } from "./native";
import type {
  ContainerSpec,
  ContainerStatus,
  LogEntry,
  LogOptions,
  LogStart,
  RuntimeConfig,
  Sandbox,
  SandboxSpec,
} from "./types";
import { resolveUser } from "./user";

const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class RuntimeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

interface Record_ {
  id: string;
  name: string;
  image: string;
  command: string[];
  createdAt: string;
  cgroup: string;
  uid: number;
  gid: number;
  env: string[];
  cwd: string;
  tty: boolean;
  stdin: boolean;
  sandboxId?: string;
  labels: Record<string, string>;
  /** what an exec in this container may do: its capability set (hex), no_new_privs, seccomp filter */
  privileges?: { caps: string; noNewPrivs: boolean; seccomp: boolean };
}

interface MonitorStatus {
  status: "created" | "running" | "exited";
  pid: number;
  monitorPid: number;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  signal: number;
  oomKilled: boolean;
  error: string;
}

export interface ExecOptions {
  tty?: boolean;
  env?: string[];
  workingDir?: string;
  user?: string;
  /** stdio of the exec process; "inherit" hands it our terminal. Default: pipes. */
  stdio?: "inherit" | "pipe";
}

export interface ExecProcess {
  process: ChildProcess;
  /** sets the pseudo-terminal's size (tty only) */
  resize(rows: number, cols: number): void;
  /** the command's exit code (128+signal when killed) */
  exited: Promise<number>;
}

export interface Attachment {
  output: AsyncGenerator<LogEntry>;
  /** writes to the container's stdin (containers created with stdin: true) */
  write(data: string | Buffer): void;
  /** ends the container's stdin (EOF), after what was written so far */
  closeStdin(): void;
  resize(rows: number, cols: number): void;
}

/** Validates names of containers and sandboxes the way Docker does. */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;

export class Runtime {
  readonly containersDir: string;
  /** ids whose create is under way (their container.json may not be written yet) */
  private readonly creating = new Set<string>();
  /** names being claimed by creates in this process */
  private readonly claiming = new Set<string>();
  private readonly trashDir: string;
  private readonly namesDir: string;
  readonly runDir: string;
  readonly cgroups: CgroupManager;
  private readonly cgroupBase: string;
  private readonly logMaxSize: number;
  private readonly logMaxFiles: number;

  constructor(readonly config: RuntimeConfig) {
    if (!config.nodeName || !NAME_RE.test(config.nodeName))
      throw new RuntimeError("InvalidArgument", `invalid node name "${config.nodeName}"`);
    this.logMaxSize = config.containerLogMaxSize ?? 10 * 1024 * 1024;
    this.logMaxFiles = config.containerLogMaxFiles ?? 5;
    if (!Number.isSafeInteger(this.logMaxSize) || this.logMaxSize < 0)
      throw new RuntimeError(
        "InvalidArgument",
        `invalid container log max size ${config.containerLogMaxSize}`,
      );
    if (!Number.isSafeInteger(this.logMaxFiles) || this.logMaxFiles < 2)
      throw new RuntimeError(
        "InvalidArgument",
        `invalid container log max files ${config.containerLogMaxFiles}: must be at least 2`,
      );
    this.containersDir = join(config.dataDir, "agent", "containers");
    this.runDir = config.runDir ?? join("/run/tsk", config.nodeName);
    this.cgroups = cgroupManager(config.cgroups ?? "auto");
    this.cgroupBase = `tsk/${config.nodeName}`;
    this.trashDir = join(config.dataDir, "agent", "containers-trash");
    this.namesDir = join(config.dataDir, "agent", "container-names");
    mkdirSync(this.namesDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.containersDir, { recursive: true, mode: 0o711 });
    mkdirSync(this.trashDir, { recursive: true, mode: 0o700 });
    for (const left of readdirSync(this.trashDir)) this.emptyTrash(join(this.trashDir, left));
    mkdirSync(join(this.runDir, "sandboxes"), { recursive: true, mode: 0o711 });
  }

  // ---- sandboxes ----

  /** Creates a pod's network, IPC and UTS namespaces (held by bind mounts, no process) and its cgroup. */
  async createSandbox(spec: SandboxSpec): Promise<Sandbox> {
    const id = spec.id ?? randomBytes(32).toString("hex");
    if (!NAME_RE.test(id)) throw new RuntimeError("InvalidArgument", `invalid sandbox id "${id}"`);
    if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(spec.hostname))
      throw new RuntimeError("InvalidArgument", `invalid hostname "${spec.hostname}"`);
    const dir = join(this.runDir, "sandboxes", id);
    if (existsSync(dir)) throw new RuntimeError("AlreadyExists", `sandbox ${id} already exists`);
    mkdirSync(dir, { recursive: true });
    const sb: Sandbox = {
      id,
      hostname: spec.hostname,
      netns: join(dir, "net"),
      ipcns: join(dir, "ipc"),
      utsns: join(dir, "uts"),
      cgroup: `${this.cgroupBase}/pod-${id}`,
    };
    try {
      await native().fsBatch([sb.netns, sb.ipcns, sb.utsns].map((f): FsOp => ["create", f, ""]));
      await Promise.all([
        // As the kubelet leaves a pod's cgroup: every device, so that a privileged container
        // in it can have them; each container's own cgroup narrows that down.
        this.cgroups.create(sb.cgroup, spec.resources ?? {}, { allDevices: true }),
        runHelper(["sandbox", dir, spec.hostname]),
      ]);
      await native().fsBatch([["create", join(dir, "sandbox.json"), JSON.stringify(sb)]]);
    } catch (err) {
      this.releaseSandbox(sb, dir);
      throw new RuntimeError("SandboxCreate", `creating sandbox ${id}: ${(err as Error).message}`);
    }
    return sb;
  }

  getSandbox(id: string): Sandbox {
    const file = join(this.runDir, "sandboxes", id, "sandbox.json");
    try {
      return JSON.parse(readFileSync(file, "utf8")) as Sandbox;
    } catch {
      throw new RuntimeError("NotFound", `sandbox ${id} not found`);
    }
  }

  listSandboxes(): Sandbox[] {
    const out: Sandbox[] = [];
    for (const id of readdirSync(join(this.runDir, "sandboxes"))) {
      try {
        out.push(this.getSandbox(id));
      } catch {}
    }
    return out;
  }

  /** Removes the sandbox; its containers must be removed first. */
  async removeSandbox(id: string): Promise<void> {
    const sb = this.getSandbox(id);
    const users = this.list().filter((c) => c.sandboxId === id);
    if (users.length)
      throw new RuntimeError(
        "Conflict",
        `sandbox ${id} still has containers: ${users.map((c) => c.name).join(", ")}`,
      );
    this.releaseSandbox(sb, join(this.runDir, "sandboxes", id));
  }

  private releaseSandbox(sb: Sandbox, dir: string): void {
    const n = native();
    for (const f of [sb.netns, sb.ipcns, sb.utsns]) {
      try {
        n.umount(f, n.constants.MNT_DETACH);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "EINVAL" && code !== "ENOENT") throw err;
      }
    }
    this.cgroups.remove(sb.cgroup);
    rmSync(dir, { recursive: true, force: true });
  }

  // ---- containers ----

  /** Creates a container: everything is set up and its process waits for start(). Returns its id. */
  async create(spec: ContainerSpec): Promise<string> {
    const id = randomBytes(32).toString("hex");
    const name = spec.name ?? id.slice(0, 12);
    if (!NAME_RE.test(name)) throw new RuntimeError("InvalidArgument", `invalid container name "${name}"`);
    if (!Array.isArray(spec.layers) || spec.layers.length === 0)
      throw new RuntimeError("InvalidArgument", "a container needs at least one layer");
    for (const l of spec.layers) {
      if (!l.startsWith("/") || /[:,\n\0]/.test(l))
        throw new RuntimeError("InvalidArgument", `invalid layer path "${l}"`);
    }
    for (const m of spec.mounts ?? []) {
      if (
        !m.hostPath.startsWith("/") ||
        !m.containerPath.startsWith("/") ||
        /[\t\0]/.test(m.hostPath + m.containerPath)
      )
        throw new RuntimeError(
          "InvalidArgument",
          `volume ${m.hostPath}:${m.containerPath}: paths must be absolute`,
        );
      if (!existsSync(m.hostPath))
        throw new RuntimeError(
          "InvalidArgument",
          `volume ${m.hostPath}:${m.containerPath}: ${m.hostPath} does not exist`,
        );
    }
    const sandbox = spec.sandboxId ? this.getSandbox(spec.sandboxId) : undefined;
    let caps: bigint;
    try {
      caps = capabilitySet(
        { privileged: spec.privileged, add: spec.capAdd, drop: spec.capDrop },
        hostCapabilities(),
      );
    } catch (err) {
      if (err instanceof CapabilityError) throw new RuntimeError("InvalidArgument", err.message);
      throw err;
    }

    const cfg = spec.config ?? {};
    const entrypoint = spec.command ?? cfg.Entrypoint ?? [];
    const cmdArgs = spec.args ?? (spec.command ? [] : (cfg.Cmd ?? []));
    const argv = [...entrypoint, ...cmdArgs];
    if (argv.length === 0)
      throw new RuntimeError("InvalidArgument", "no command: the image has none and none was given");
    const hostname = sandbox?.hostname ?? spec.hostname ?? id.slice(0, 12);
    const env = mergeEnv(
      [DEFAULT_PATH, `HOSTNAME=${hostname}`, ...(spec.tty ? ["TERM=xterm"] : [])],
      cfg.Env ?? [],
      spec.env ?? [],
    );
    const { uid, gid, groups } = resolveUser(spec.user ?? cfg.User ?? "", spec.layers);
    const cwd = spec.workingDir ?? cfg.WorkingDir ?? "/";

    const dir = join(this.containersDir, id);
    const cgroup = sandbox ? `${sandbox.cgroup}/${id}` : `${this.cgroupBase}/ctr-${id}`;
    const privileges = {
      caps: caps.toString(16),
      noNewPrivs: spec.noNewPrivileges ?? true,
      seccomp: !spec.privileged,
    };
    const rec: Record_ = {
      id,
      name,
      image: spec.image ?? "",
      command: argv,
      createdAt: new Date().toISOString(),
      cgroup,
      uid,
      gid,
      env,
      cwd,
      tty: !!spec.tty,
      stdin: !!spec.stdin,
      sandboxId: sandbox?.id,
      labels: spec.labels ?? {},
      privileges,
    };
    this.creating.add(id);
    try {
      await this.claimName(name, id);
    } catch (err) {
      this.creating.delete(id);
      throw err;
    }
    try {
      const dirs = this.cgroups.dirs(cgroup);
      const kv: string[] = [
        "rootfs",
        join(dir, "rootfs"),
        "overlay",
        `lowerdir=${[...spec.layers].reverse().join(":")},upperdir=${join(dir, "upper")},workdir=${join(dir, "work")}`,
        "hostname",
        hostname,
        "cwd",
        cwd,
        "log",
        join(dir, "container.log"),
        "oom",
        this.cgroups.oomEventsFile(cgroup),
        "uid",
        String(uid),
        "gid",
        String(gid),
        "tty",
        spec.tty ? "1" : "0",
        "stdin",
        spec.stdin ? "1" : "0",
        "log_max_size",
        String(this.logMaxSize),
        "log_max_files",
        String(this.logMaxFiles),
        "caps",
        privileges.caps,
        "privileged",
        spec.privileged ? "1" : "0",
        "readonly_rootfs",
        spec.readOnlyRootfs ? "1" : "0",
        "no_new_privs",
        privileges.noNewPrivs ? "1" : "0",
      ];
      if (sandbox) kv.push("netns", sandbox.netns, "ipcns", sandbox.ipcns, "utsns", sandbox.utsns);
      for (const g of groups) kv.push("group", String(g));
      for (const a of argv) kv.push("arg", a);
      for (const e of env) kv.push("env", e);
      for (const d of dirs) kv.push("cgroup", d);
      for (const m of spec.mounts ?? [])
        kv.push("bind", `${m.hostPath}\t${m.containerPath}\t${m.readOnly ? "ro" : "rw"}`);
      if (kv.some((s) => s.includes("\0")))
        throw new RuntimeError("InvalidArgument", "arguments must not contain NUL bytes");
      // The cgroup and the container's directory and files are independent kernel work,
      // each one batch on libuv's pool.
      await Promise.all([
        this.cgroups.create(cgroup, spec.resources ?? {}, { allDevices: !!spec.privileged }),
        native().fsBatch([
          ["mkdirp", join(dir, "rootfs")],
          ["mkdir", join(dir, "upper")],
          ["mkdir", join(dir, "work")],
          ["create", join(dir, "container.json"), JSON.stringify(rec)],
          ["create", join(dir, "config"), `${kv.join("\0")}\0`],
        ]),
      ]);
      await startMonitor(dir);
    } catch (err) {
      this.cleanup(id, cgroup, name);
      if (err instanceof RuntimeError) throw err;
      throw new RuntimeError("CreateContainerError", `creating container ${name}: ${(err as Error).message}`);
    } finally {
      this.creating.delete(id);
    }
    return id;
  }

  /** Starts a created container; throws StartError when its command cannot be executed. */
  async start(idOrName: string): Promise<void> {
    const rec = this.record(idOrName);
    const dir = join(this.containersDir, rec.id);
    const st = this.monitorStatus(rec.id);
    if (st?.status !== "created")
      throw new RuntimeError("Conflict", `container ${rec.name} is ${st?.status ?? "unknown"}, not created`);
    const fd = openSync(join(dir, "ctl"), fsc.O_WRONLY | fsc.O_NONBLOCK);
    try {
      writeSync(fd, "start\n");
    } finally {
      closeSync(fd);
    }
    const after = await this.waitFor(rec.id, (s) => s.status !== "created");
    if (after.status === "exited" && after.error)
      throw new RuntimeError("StartError", `starting container ${rec.name}: ${after.error}`);
  }

  /** Sends `signal`, waits up to `graceSeconds`, then SIGKILL. Returns once it has exited. */
  async stop(
    idOrName: string,
    graceSeconds = 10,
    signal: NodeJS.Signals = "SIGTERM",
  ): Promise<ContainerStatus> {
    const rec = this.record(idOrName);
    let st = this.monitorStatus(rec.id);
    if (!st || st.status === "exited" || !this.monitorAlive(rec.id, st)) return this.status(rec.id);
    if (st.status === "running" && graceSeconds > 0) {
      killQuiet(st.pid, signal);
      st = await this.waitFor(rec.id, (s) => s.status === "exited", graceSeconds * 1000);
    }
    if (st.status !== "exited") {
      killQuiet(st.pid, "SIGKILL");
      // Processes that left the init's reach (none normally: the PID namespace dies with it).
      for (const pid of this.cgroups.pids(rec.cgroup)) killQuiet(pid, "SIGKILL");
      await this.waitFor(rec.id, (s) => s.status === "exited");
    }
    return this.status(rec.id);
  }

  /** Removes a stopped container (or, with force, stops it first) and everything it left on disk. */
  async remove(idOrName: string, opts: { force?: boolean } = {}): Promise<void> {
    const rec = this.record(idOrName);
    const st = this.monitorStatus(rec.id);
    if (st && st.status !== "exited" && this.monitorAlive(rec.id, st)) {
      if (!opts.force && st.status === "running")
        throw new RuntimeError(
          "Conflict",
          `container ${rec.name} is running: stop it first or force removal`,
        );
      await this.stop(rec.id, 0);
    }
    // The monitor writes the final status and then exits; let it finish.
    if (st) for (let i = 0; i < 200 && this.monitorAlive(rec.id, st); i++) await sleep(5);
    this.cleanup(rec.id, rec.cgroup, rec.name);
  }

  /**
   * Names are claimed with an exclusive create of <data-dir>/agent/container-names/NAME
   * (holding the id): unique even when two creates race, and found without a scan.
   */
  private async claimName(name: string, id: string): Promise<void> {
    // Claims in flight in this process are checked here; the exclusive create settles
    // them against other processes (tsk ctr beside the agent).
    if (this.claiming.has(name))
      throw new RuntimeError("AlreadyExists", `a container named "${name}" already exists`);
    this.claiming.add(name);
    try {
      const file = join(this.namesDir, name);
      try {
        await fsp.writeFile(file, id, { flag: "wx" });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const holder = await fsp.readFile(file, "utf8");
      if (
        holder &&
        (this.creating.has(holder) || existsSync(join(this.containersDir, holder, "container.json")))
      )
        throw new RuntimeError("AlreadyExists", `a container named "${name}" already exists`);
      await fsp.writeFile(file, id); // left behind by a create that crashed
    } finally {
      this.claiming.delete(name);
    }
  }

  private cleanup(id: string, cgroup: string, name: string): void {
    try {
      if (readFileSync(join(this.namesDir, name), "utf8") === id) rmSync(join(this.namesDir, name));
    } catch {}
    this.cgroups.remove(cgroup);
    // The container is gone once its directory is renamed away; its files (the
    // writable layer can be large) are deleted in the background.
    const trash = join(this.trashDir, `${id}-${Date.now()}`);
    try {
      renameSync(join(this.containersDir, id), trash);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    this.emptyTrash(trash);
  }

  private emptyTrash(path: string): void {
    fsp.rm(path, { recursive: true, force: true }).catch((err) => {
      process.stderr.write(`tsk runtime: deleting ${path}: ${(err as Error).message}\n`);
    });
  }

  /** Waits until the container has exited and returns its final status. */
  async wait(idOrName: string, signal?: AbortSignal): Promise<ContainerStatus> {
    const rec = this.record(idOrName);
    await this.waitFor(rec.id, (s) => s.status === "exited", undefined, signal);
    return this.status(rec.id);
  }

  status(idOrName: string): ContainerStatus {
    const rec = this.record(idOrName);
    const st = this.monitorStatus(rec.id);
    const base: ContainerStatus = {
      id: rec.id,
      name: rec.name,
      image: rec.image,
      state: "unknown",
      pid: 0,
      createdAt: rec.createdAt,
      oomKilled: false,
      command: rec.command,
      sandboxId: rec.sandboxId,
      labels: rec.labels,
    };
    if (!st) return base;
    if (st.status !== "exited" && !this.monitorAlive(rec.id, st)) {
      // The monitor was killed: the container may still run, but nobody records its exit.
      return { ...base, state: "unknown", pid: st.pid, message: "container monitor is gone" };
    }
    const out: ContainerStatus = { ...base, state: st.status, pid: st.status === "exited" ? 0 : st.pid };
    if (st.startedAt) out.startedAt = st.startedAt;
    if (st.status === "exited") {
      out.finishedAt = st.finishedAt;
      out.exitCode = st.exitCode;
      out.signal = st.signal;
      out.oomKilled = st.oomKilled;
      out.reason = st.error
        ? "StartError"
        : st.oomKilled
          ? "OOMKilled"
          : st.exitCode === 0
            ? "Completed"
            : "Error";
      if (st.error) out.message = st.error;
    }
    return out;
  }

  list(): ContainerStatus[] {
    const out: ContainerStatus[] = [];
    let ids: string[] = [];
    try {
      ids = readdirSync(this.containersDir);
    } catch {}
    for (const id of ids) {
      try {
        out.push(this.status(id));
      } catch {}
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Resolves an id, a unique id prefix or a name. */
  resolve(idOrName: string): string {
    return this.record(idOrName).id;
  }

  logPath(idOrName: string): string {
    return join(this.containersDir, this.record(idOrName).id, "container.log");
  }

  logs(
    idOrName: string,
    opts: LogOptions = {},
    startOffset: number | LogStart = 0,
  ): AsyncGenerator<LogEntry> {
    const id = this.resolve(idOrName);
    return readLog(
      join(this.containersDir, id, "container.log"),
      opts,
      () => {
        const st = this.monitorStatus(id);
        return !st || (st.status === "exited" && !this.monitorAlive(id, st));
      },
      startOffset,
    );
  }

  stats(idOrName: string): CgroupStats {
    return this.cgroups.stats(this.record(idOrName).cgroup);
  }

  /** Runs a command inside a running container (its namespaces, cgroup, user and environment). */
  exec(idOrName: string, cmd: string[], opts: ExecOptions = {}): ExecProcess {
    const rec = this.record(idOrName);
    const st = this.monitorStatus(rec.id);
    if (st?.status !== "running") throw new RuntimeError("Conflict", `container ${rec.name} is not running`);
    if (cmd.length === 0) throw new RuntimeError("InvalidArgument", "exec needs a command");
    const user = opts.user ? resolveUser(opts.user, this.layersOf(rec.id)) : { uid: rec.uid, gid: rec.gid };
    const args = ["exec", "-p", String(st.pid), "-u", String(user.uid), "-g", String(user.gid)];
    args.push("-w", opts.workingDir ?? rec.cwd);
    if (opts.tty) args.push("-t");
    for (const d of this.cgroups.dirs(rec.cgroup)) args.push("-c", d);
    for (const e of mergeEnv(rec.env, opts.env ?? [])) args.push("-e", e);
    args.push("--", ...cmd);
    // The container's privileges reach the helper's set-up code through its environment
    // (the command itself gets only the -e list); without them it uses the safe defaults.
    const p = rec.privileges;
    const child = spawn(helperPath("tsk-monitor"), args, {
      env: p
        ? { ...process.env, TSK_EXEC_PRIVILEGES: `${p.caps}:${p.noNewPrivs ? 1 : 0}:${p.seccomp ? 1 : 0}` }
        : process.env,
      stdio:
        opts.stdio === "inherit"
          ? ["inherit", "inherit", "inherit", "pipe"]
          : ["pipe", "pipe", "pipe", "pipe"],
    });
    const ctl = child.stdio[3] as NodeJS.WritableStream | null;
    const exited = new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", (code, sig) => resolve(code ?? 128 + signalNumber(sig)));
    });
    return {
      process: child,
      resize: (rows, cols) => ctl?.write(`resize ${rows} ${cols}\n`),
      exited,
    };
  }

  /** Follows the container's output and, for stdin containers, feeds its stdin. */
  attach(idOrName: string, opts: { signal?: AbortSignal } = {}): Attachment {
    const rec = this.record(idOrName);
    const dir = join(this.containersDir, rec.id);
    const send = (file: string, data: string | Buffer) => {
      const fd = openSync(join(dir, file), fsc.O_WRONLY | fsc.O_NONBLOCK);
      try {
        let buf = typeof data === "string" ? Buffer.from(data) : data;
        // The fifo holds 64 KiB; wait for the monitor to drain it rather than drop input.
        for (let tries = 0; buf.length > 0; ) {
          try {
            buf = buf.subarray(writeSync(fd, buf));
            tries = 0;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EAGAIN" || ++tries > 5000) throw err;
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
          }
        }
      } finally {
        closeSync(fd);
      }
    };
    // Output from now on: the log's current end, taken before anything is written to stdin.
    // With the file's inode, so that a rotation before the reader starts loses nothing.
    let end: number | LogStart = 0;
    try {
      const st = statSync(join(dir, "container.log"), { bigint: true });
      end = { ino: st.ino, offset: Number(st.size) };
    } catch {}
    return {
      output: this.logs(rec.id, { follow: true, signal: opts.signal }, end),
      write: (data) => {
        if (!rec.stdin) throw new RuntimeError("Conflict", `container ${rec.name} was created without stdin`);
        send("stdin", data);
      },
      closeStdin: () => send("ctl", "close-stdin\n"),
      resize: (rows, cols) => send("ctl", `resize ${rows} ${cols}\n`),
    };
  }

  private layersOf(id: string): string[] {
    const cfg = readFileSync(join(this.containersDir, id, "config"), "utf8").split("\0");
    const i = cfg.indexOf("overlay");
    const m = /lowerdir=([^,]*)/.exec(cfg[i + 1] ?? "");
    return m ? m[1].split(":").reverse() : [];
  }

  private record(idOrName: string): Record_ {
    if (!idOrName || idOrName.includes("/") || idOrName.startsWith("."))
      throw new RuntimeError("NotFound", `no such container: ${idOrName}`);
    const tryRead = (id: string): Record_ | undefined => {
      try {
        return JSON.parse(readFileSync(join(this.containersDir, id, "container.json"), "utf8")) as Record_;
      } catch {
        return undefined;
      }
    };
    if (/^[0-9a-f]{64}$/.test(idOrName)) {
      const r = tryRead(idOrName);
      if (r) return r;
    }
    try {
      const byName = tryRead(readFileSync(join(this.namesDir, idOrName), "utf8"));
      if (byName && byName.name === idOrName) return byName;
    } catch {}
    const ids = readdirSync(this.containersDir);
    const recs = ids.map(tryRead).filter((r): r is Record_ => r !== undefined);
    const byPrefix = recs.filter((r) => r.id.startsWith(idOrName));
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1)
      throw new RuntimeError("Ambiguous", `container id prefix ${idOrName} is ambiguous`);
    throw new RuntimeError("NotFound", `no such container: ${idOrName}`);
  }

  private monitorStatus(id: string): MonitorStatus | undefined {
    try {
      return JSON.parse(readFileSync(join(this.containersDir, id, "status"), "utf8")) as MonitorStatus;
    } catch {
      return undefined;
    }
  }

  /** Whether the monitor recorded in the status still runs (and is ours, not a reused PID). */
  private monitorAlive(id: string, st: MonitorStatus): boolean {
    try {
      const cmdline = readFileSync(`/proc/${st.monitorPid}/cmdline`, "utf8");
      return cmdline.includes(id);
    } catch {
      return false;
    }
  }

  private waitFor(
    id: string,
    pred: (s: MonitorStatus) => boolean,
    timeoutMs?: number,
    signal?: AbortSignal,
  ): Promise<MonitorStatus> {
    const dir = join(this.containersDir, id);
    return new Promise((resolve, reject) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const watcher = watch(dir, () => check());
      const finish = (err: Error | undefined, st?: MonitorStatus) => {
        if (done) return;
        done = true;
        watcher.close();
        clearTimeout(timer);
        clearInterval(poll);
        signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve(st as MonitorStatus);
      };
      const onAbort = () => finish(new RuntimeError("Aborted", "wait aborted"));
      const check = () => {
        const st = this.monitorStatus(id);
        if (st && pred(st)) return finish(undefined, st);
        if (st && !this.monitorAlive(id, st)) {
          const again = this.monitorStatus(id);
          if (again && pred(again)) return finish(undefined, again);
          finish(
            new RuntimeError("Unknown", `container ${id.slice(0, 12)}: monitor exited without recording it`),
          );
        }
      };
      if (timeoutMs !== undefined)
        timer = setTimeout(() => finish(undefined, this.monitorStatus(id) as MonitorStatus), timeoutMs);
      poll = setInterval(check, 500);
      signal?.addEventListener("abort", onAbort, { once: true });
      check();
    });
  }
}

/** Later lists override earlier ones by key, keeping first-seen order. */
export function mergeEnv(...lists: string[][]): string[] {
  const m = new Map<string, string>();
  for (const list of lists)
    for (const e of list) {
      const i = e.indexOf("=");
      const k = i < 0 ? e : e.slice(0, i);
      m.delete(k);
      m.set(k, e);
    }
  return [...m.values()];
}

function killQuiet(pid: number, sig: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(pid, sig);
  } catch {}
}

function signalNumber(sig: NodeJS.Signals | null): number {
  if (!sig) return 0;
  const n = (require("node:os") as typeof import("node:os")).constants.signals[sig];
  return n ?? 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts `tsk-monitor run DIR` (it daemonizes) and returns the container's PID. */
async function startMonitor(dir: string): Promise<number> {
  return Number(await runHelper(["run", dir]));
}

/**
 * Runs `tsk-monitor ARGS` (posix_spawn off the main thread) and waits for the line it
 * writes on fd 3: "ok [VALUE]" resolves with VALUE, "error MESSAGE" rejects with MESSAGE.
 */
async function runHelper(args: string[]): Promise<string> {
  const line = (await native().spawnReport(helperPath("tsk-monitor"), args)).trim();
  if (line === "ok" || line.startsWith("ok ")) return line.slice(3);
  throw new Error(
    line.startsWith("error ") ? line.slice(6) : `tsk-monitor ${args[0]} failed: ${line || "no answer"}`,
  );
}

export function defaultNodeName(): string {
  return osHostname().toLowerCase();
}
