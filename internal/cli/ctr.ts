// `tsk ctr run|ps|logs|exec|stop|rm|start|inspect`: the node's containers from the
// command line, shaped like the docker commands people know. Containers outlive this
// process; every command works on the state under --data-dir and --node-name.
import { hostname } from "node:os";
import { openImageStore } from "../images";
import { type ContainerStatus, type LogEntry, Runtime, type VolumeMount } from "../runtime";
import { type FlagSpec, type FlagValues, parseFlags, UsageError, usage } from "./flags";

const common: FlagSpec[] = [
  { name: "data-dir", type: "string", default: "/var/lib/tsk", help: "folder holding tsk's state" },
  { name: "node-name", type: "string", help: "this machine's node name (default: hostname)" },
  { name: "help", short: "h", type: "bool", help: "show this help" },
];

const subcommands: Record<string, { args: string; summary: string; flags: FlagSpec[] }> = {
  run: {
    args: "IMAGE [COMMAND] [ARG...]",
    summary: "Create and start a container from an imported image.",
    flags: [
      { name: "rm", type: "bool", help: "remove the container when it exits" },
      { name: "detach", short: "d", type: "bool", help: "run in the background and print the container id" },
      { name: "name", type: "string", help: "container name" },
      { name: "env", short: "e", type: "list", help: "set an environment variable (KEY=VALUE)" },
      { name: "volume", short: "v", type: "list", help: "bind mount HOSTDIR:CTRDIR[:ro]" },
      { name: "memory", short: "m", type: "string", help: "memory limit (e.g. 64m, 1g)" },
      { name: "cpus", type: "string", help: "CPU limit in cores (e.g. 0.5)" },
      { name: "pids-limit", type: "int", help: "maximum number of processes" },
      { name: "tty", short: "t", type: "bool", help: "allocate a pseudo-terminal" },
      { name: "interactive", short: "i", type: "bool", help: "keep stdin open" },
      { name: "workdir", short: "w", type: "string", help: "working directory inside the container" },
      { name: "user", short: "u", type: "string", help: "user (name|uid[:group|gid])" },
      { name: "entrypoint", type: "string", help: "override the image's entrypoint" },
      { name: "hostname", type: "string", help: "container hostname" },
      {
        name: "privileged",
        type: "bool",
        help: "every capability, no seccomp filter, the host's devices, /sys writable",
      },
      { name: "read-only", type: "bool", help: "mount the container's root filesystem read-only" },
      { name: "cap-add", type: "list", help: "add a Linux capability (NET_ADMIN, CAP_SYS_TIME, ALL)" },
      { name: "cap-drop", type: "list", help: "drop a Linux capability (CHOWN, ALL)" },
      { name: "security-opt", type: "list", help: "security option: no-new-privileges[:true|false]" },
    ],
  },
  ps: {
    args: "",
    summary: "List containers (running ones unless -a).",
    flags: [
      { name: "all", short: "a", type: "bool", help: "show all containers" },
      { name: "quiet", short: "q", type: "bool", help: "only show ids" },
      { name: "no-trunc", type: "bool", help: "do not truncate output" },
    ],
  },
  logs: {
    args: "CONTAINER",
    summary: "Print a container's output.",
    flags: [
      {
        name: "follow",
        short: "f",
        type: "bool",
        help: "keep printing new output until the container exits",
      },
      { name: "tail", short: "n", type: "string", help: 'number of lines from the end, or "all"' },
      {
        name: "since",
        type: "string",
        help: "only output since a time (RFC 3339) or a duration ago (10s, 5m, 1h)",
      },
      { name: "timestamps", type: "bool", help: "show timestamps" },
    ],
  },
  exec: {
    args: "CONTAINER COMMAND [ARG...]",
    summary: "Run a command in a running container.",
    flags: [
      { name: "tty", short: "t", type: "bool", help: "allocate a pseudo-terminal" },
      { name: "interactive", short: "i", type: "bool", help: "keep stdin open (always on)" },
      { name: "env", short: "e", type: "list", help: "set an environment variable (KEY=VALUE)" },
      { name: "workdir", short: "w", type: "string", help: "working directory" },
      { name: "user", short: "u", type: "string", help: "user (name|uid[:group|gid])" },
    ],
  },
  stop: {
    args: "CONTAINER...",
    summary: "Stop containers: SIGTERM, then SIGKILL after the grace period.",
    flags: [{ name: "time", short: "t", type: "int", default: 10, help: "seconds to wait before killing" }],
  },
  start: { args: "CONTAINER...", summary: "Start created containers.", flags: [] },
  rm: {
    args: "CONTAINER...",
    summary: "Remove containers.",
    flags: [{ name: "force", short: "f", type: "bool", help: "stop running containers first" }],
  },
  inspect: { args: "CONTAINER...", summary: "Print containers' status as JSON.", flags: [] },
};

function help(): string {
  const lines = [
    "Usage: tsk ctr COMMAND [FLAGS]",
    "",
    "Run and manage containers on this machine.",
    "",
    "Commands:",
  ];
  for (const [n, s] of Object.entries(subcommands)) lines.push(`  ${n.padEnd(10)} ${s.summary}`);
  lines.push("", "Run 'tsk ctr COMMAND --help' for a command's flags.");
  return lines.join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    process.stdout.write(`${help()}\n`);
    return sub === undefined ? 1 : 0;
  }
  const spec = subcommands[sub];
  if (!spec) throw new UsageError(`unknown command "${sub}" (want ${Object.keys(subcommands).join(", ")})`);
  const flags = [...spec.flags, ...common];
  const stop = sub === "run" || sub === "exec";
  const { values, rest: args } = parseFlags(flags, rest, process.env, { stopAtPositional: stop });
  if (values.help) {
    process.stdout.write(`${usage(`tsk ctr ${sub} [FLAGS] ${spec.args}`, spec.summary, flags)}\n`);
    return 0;
  }
  const dataDir = String(values["data-dir"] ?? "");
  if (!dataDir) throw new UsageError("--data-dir must not be empty");
  const nodeName = ((values["node-name"] as string | undefined) || hostname()).toLowerCase();
  const rt = new Runtime({ dataDir, nodeName });
  try {
    switch (sub) {
      case "run":
        return await runContainer(rt, dataDir, values, args);
      case "ps":
        return ps(rt, values);
      case "logs":
        return await logs(rt, values, args);
      case "exec":
        return await execIn(rt, values, args);
      case "stop":
        return await each(args, "CONTAINER", async (id) => {
          await rt.stop(id, values.time as number);
          return id;
        });
      case "start":
        return await each(args, "CONTAINER", async (id) => {
          await rt.start(id);
          return id;
        });
      case "rm":
        return await each(args, "CONTAINER", async (id) => {
          const full = rt.resolve(id);
          await rt.remove(full, { force: values.force as boolean });
          await (await openImageStore({ dataDir })).unpin(full);
          return id;
        });
      case "inspect":
        return await each(args, "CONTAINER", async (id) => JSON.stringify(rt.status(id), null, 2));
    }
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e instanceof UsageError) throw e;
    if (!e.code) throw e;
    process.stderr.write(`tsk ctr ${sub}: ${e.message}\n`);
    return e.code === "NotFound" ? 1 : 125;
  }
  return 0;
}

async function each(args: string[], what: string, fn: (arg: string) => Promise<string>): Promise<number> {
  if (args.length === 0) throw new UsageError(`needs at least one ${what}`);
  let rc = 0;
  for (const a of args) {
    try {
      process.stdout.write(`${await fn(a)}\n`);
    } catch (err) {
      const e = err as Error & { code?: string };
      if (!e.code) throw e;
      process.stderr.write(`Error: ${e.message}\n`);
      rc = 1;
    }
  }
  return rc;
}

/** Docker-style sizes: 512, 64k, 64m, 1g (binary units). */
export function parseMemory(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`--memory: invalid size "${s}" (e.g. 64m, 1g)`);
  const mult = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[
    m[2].toLowerCase()
  ] as number;
  const n = Math.floor(Number(m[1]) * mult);
  if (n < 6 * 1024 * 1024) throw new UsageError(`--memory: ${s} is below the minimum of 6m`);
  return n;
}

export function parseCpus(s: string): number {
  const n = Number(s);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--cpus: invalid number "${s}"`);
  return Math.round(n * 1000);
}

export function parseVolume(s: string): VolumeMount {
  const parts = s.split(":");
  if (parts.length < 2 || parts.length > 3)
    throw new UsageError(`--volume: want HOSTDIR:CTRDIR[:ro], got "${s}"`);
  const [hostPath, containerPath, mode] = parts;
  if (!hostPath.startsWith("/")) throw new UsageError(`--volume: host path must be absolute: "${hostPath}"`);
  if (!containerPath.startsWith("/"))
    throw new UsageError(`--volume: container path must be absolute: "${containerPath}"`);
  if (mode !== undefined && mode !== "ro" && mode !== "rw")
    throw new UsageError(`--volume: mode must be ro or rw, got "${mode}"`);
  return { hostPath, containerPath, readOnly: mode === "ro" };
}

/** Docker's `--security-opt` values this runtime has: whether no_new_privs is set (default false, as Docker). */
export function parseSecurityOpts(opts: string[]): { noNewPrivileges: boolean } {
  let noNewPrivileges = false;
  for (const o of opts) {
    const m = /^no-new-privileges(?:[:=](true|false))?$/.exec(o.trim());
    if (!m)
      throw new UsageError(`--security-opt: unsupported option "${o}" (want no-new-privileges[:true|false])`);
    noNewPrivileges = m[1] !== "false";
  }
  return { noNewPrivileges };
}

async function runContainer(rt: Runtime, dataDir: string, v: FlagValues, args: string[]): Promise<number> {
  const [ref, ...cmd] = args;
  if (!ref) throw new UsageError("run needs an IMAGE");
  const env = (v.env as string[] | undefined) ?? [];
  for (const e of env) if (!e.includes("=")) throw new UsageError(`--env: want KEY=VALUE, got "${e}"`);
  const mounts = ((v.volume as string[] | undefined) ?? []).map(parseVolume);
  const security = parseSecurityOpts((v["security-opt"] as string[] | undefined) ?? []);
  const resources = {
    ...(v.memory ? { memoryBytes: parseMemory(v.memory as string) } : {}),
    ...(v.cpus ? { cpuMillis: parseCpus(v.cpus as string) } : {}),
    ...(v["pids-limit"] !== undefined ? { pidsLimit: v["pids-limit"] as number } : {}),
  };
  const store = await openImageStore({ dataDir });
  let image: Awaited<ReturnType<typeof store.resolve>>;
  try {
    image = await store.resolve(ref);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code === "NotFound") {
      process.stderr.write(
        `tsk ctr run: image "${ref}" not found (import it with tsk images import, or tsk images pull)\n`,
      );
      return 125;
    }
    throw err;
  }
  const tty = !!v.tty;
  const interactive = !!v.interactive;
  const id = await rt.create({
    name: v.name as string | undefined,
    image: ref,
    imageId: image.id,
    layers: image.layers,
    config: image.config,
    command: v.entrypoint !== undefined ? [v.entrypoint as string].filter(Boolean) : undefined,
    args: cmd.length ? cmd : undefined,
    env,
    workingDir: v.workdir as string | undefined,
    user: v.user as string | undefined,
    hostname: v.hostname as string | undefined,
    mounts,
    resources,
    tty,
    stdin: interactive,
    privileged: !!v.privileged,
    readOnlyRootfs: !!v["read-only"],
    capAdd: (v["cap-add"] as string[] | undefined) ?? [],
    capDrop: (v["cap-drop"] as string[] | undefined) ?? [],
    ...security,
  });
  await store.pin(id, image);
  const cleanup = async () => {
    if (!v.rm) return;
    await rt.remove(id, { force: true });
    await store.unpin(id);
  };
  if (v.detach) {
    try {
      await rt.start(id);
    } catch (err) {
      await cleanup();
      throw err;
    }
    process.stdout.write(`${id}\n`);
    return 0;
  }
  const ac = new AbortController();
  const attached = rt.attach(id, { signal: ac.signal });
  const stdinTty = tty && interactive && process.stdin.isTTY;
  if (tty && process.stdout.isTTY) {
    attached.resize(process.stdout.rows, process.stdout.columns);
    process.stdout.on("resize", () => attached.resize(process.stdout.rows, process.stdout.columns));
  }
  if (interactive) {
    if (stdinTty) process.stdin.setRawMode(true);
    process.stdin.on("data", (d: Buffer) => attached.write(d));
    if (!stdinTty) process.stdin.on("end", () => attached.closeStdin());
  }
  const forward = (sig: NodeJS.Signals) => () => {
    const pid = rt.status(id).pid;
    if (pid > 0) process.kill(pid, sig);
  };
  const onInt = forward("SIGINT");
  const onTerm = forward("SIGTERM");
  if (!stdinTty) {
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  }
  try {
    const printing = (async () => {
      for await (const e of attached.output) writeEntry(e, tty);
    })();
    try {
      await rt.start(id);
    } catch (err) {
      ac.abort();
      await cleanup();
      throw err;
    }
    const st = await rt.wait(id);
    ac.abort(); // reads what is left in the log, then ends
    await printing;
    if (st.oomKilled)
      process.stderr.write(`tsk ctr run: container ${st.name} was killed: out of memory (OOMKilled)\n`);
    await cleanup();
    return st.exitCode ?? 125;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
    if (interactive) {
      if (stdinTty) process.stdin.setRawMode(false);
      process.stdin.pause();
    }
  }
}

function writeEntry(e: LogEntry, tty: boolean, timestamps = false): void {
  const text = `${timestamps ? `${e.time} ` : ""}${e.text}${e.full ? "\n" : ""}`;
  (e.stream === "stderr" && !tty ? process.stderr : process.stdout).write(text);
}

function ago(iso: string | undefined, now = Date.now()): string {
  if (!iso) return "";
  const s = Math.max(0, Math.round((now - Date.parse(iso.replace(/(\.\d{3})\d*Z$/, "$1Z"))) / 1000));
  if (s < 1) return "Less than a second";
  if (s < 60) return `${s} second${s === 1 ? "" : "s"}`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? "About a minute" : `${m} minutes`;
  const h = Math.round(m / 60);
  if (h < 48) return h === 1 ? "About an hour" : `${h} hours`;
  return `${Math.round(h / 24)} days`;
}

export function statusText(c: ContainerStatus): string {
  switch (c.state) {
    case "created":
      return "Created";
    case "running":
      return `Up ${ago(c.startedAt)}`;
    case "exited":
      return `Exited (${c.exitCode}) ${ago(c.finishedAt)} ago${c.oomKilled ? " (OOMKilled)" : ""}`;
    default:
      return "Unknown";
  }
}

function ps(rt: Runtime, v: FlagValues): number {
  const list = rt.list().filter((c) => v.all || c.state === "running");
  const trunc = !v["no-trunc"];
  if (v.quiet) {
    for (const c of list) process.stdout.write(`${trunc ? c.id.slice(0, 12) : c.id}\n`);
    return 0;
  }
  const rows = [["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"]];
  for (const c of list) {
    let cmd = c.command.join(" ");
    if (trunc && cmd.length > 20) cmd = `${cmd.slice(0, 19)}…`;
    rows.push([
      trunc ? c.id.slice(0, 12) : c.id,
      c.image,
      `"${cmd}"`,
      `${ago(c.createdAt)} ago`,
      statusText(c),
      c.name,
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows)
    process.stdout.write(
      `${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] + 3))).join("")}\n`,
    );
  return 0;
}

export function parseSince(s: string, now = Date.now()): Date {
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
  if (d) return new Date(now - Number(d[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[d[2] as "s"]);
  const t = Date.parse(s);
  if (Number.isNaN(t))
    throw new UsageError(`--since: want a time (RFC 3339) or a duration (10s, 5m, 1h), got "${s}"`);
  return new Date(t);
}

async function logs(rt: Runtime, v: FlagValues, args: string[]): Promise<number> {
  if (args.length !== 1) throw new UsageError("logs needs exactly one CONTAINER");
  let tail: number | undefined;
  if (v.tail !== undefined && v.tail !== "all") {
    tail = Number(v.tail);
    if (!Number.isInteger(tail) || tail < 0)
      throw new UsageError(`--tail: want a number or "all", got "${v.tail}"`);
  }
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.once("SIGINT", onInt);
  try {
    const opts = {
      follow: !!v.follow,
      tail,
      since: v.since ? parseSince(v.since as string) : undefined,
      signal: ac.signal,
    };
    for await (const e of rt.logs(args[0], opts)) writeEntry(e, false, !!v.timestamps);
  } finally {
    process.off("SIGINT", onInt);
  }
  return 0;
}

async function execIn(rt: Runtime, v: FlagValues, args: string[]): Promise<number> {
  const [id, ...cmd] = args;
  if (!id || cmd.length === 0) throw new UsageError("exec needs a CONTAINER and a COMMAND");
  const env = (v.env as string[] | undefined) ?? [];
  for (const e of env) if (!e.includes("=")) throw new UsageError(`--env: want KEY=VALUE, got "${e}"`);
  const tty = !!v.tty;
  const raw = tty && process.stdin.isTTY;
  if (raw) process.stdin.setRawMode(true);
  try {
    const p = rt.exec(id, cmd, {
      tty,
      env,
      workingDir: v.workdir as string | undefined,
      user: v.user as string | undefined,
      stdio: "inherit",
    });
    // The helper forwards signals to the command; we only wait for it.
    const ignore = () => {};
    process.on("SIGINT", ignore);
    try {
      return await p.exited;
    } finally {
      process.off("SIGINT", ignore);
    }
  } finally {
    if (raw) process.stdin.setRawMode(false);
  }
}
