// Serializes changes to the store across processes (the agent importing its drop
// folder while a user runs `tsk images rm`): a lock directory holding the owner's
// pid, taken over when that process is gone. Leases name content an import is still
// writing so that a concurrent prune does not remove it before the index points at it.
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import type { Layout } from "./layout";

const LOCK_TIMEOUT_MS = 120_000;

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

let inProcess: Promise<unknown> = Promise.resolve();

/** Runs fn while holding the store lock (in this process and against other processes). */
export function withLock<T>(layout: Layout, fn: () => Promise<T>): Promise<T> {
  const next = inProcess.then(() => holdLock(layout, fn));
  inProcess = next.catch(() => undefined);
  return next;
}

async function holdLock<T>(layout: Layout, fn: () => Promise<T>): Promise<T> {
  const dir = join(layout.root, "lock");
  const started = Date.now();
  for (;;) {
    try {
      await fsp.mkdir(dir);
      await fsp.writeFile(join(dir, "pid"), String(process.pid));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const owner = Number(await fsp.readFile(join(dir, "pid"), "utf8").catch(() => ""));
      // A lock without a pid file may be one being taken right now: give it a moment.
      if ((owner !== 0 && !alive(owner)) || (owner === 0 && Date.now() - started > 5000)) {
        await fsp.rm(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() - started > LOCK_TIMEOUT_MS) {
        throw new Error(`image store is locked by process ${owner} (${dir})`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

let leaseSeq = 0;

export interface Lease {
  add(...digests: string[]): Promise<void>;
  release(): Promise<void>;
}

/** Protects the digests added to it from prune until released. */
export async function createLease(layout: Layout): Promise<Lease> {
  const path = join(layout.leases, `${process.pid}-${++leaseSeq}.json`);
  const held = new Set<string>();
  await fsp.writeFile(path, "[]");
  return {
    async add(...digests: string[]) {
      for (const d of digests) held.add(d);
      // Replaced whole by a rename: prune never reads a half-written lease.
      await fsp.writeFile(`${path}.tmp`, JSON.stringify([...held]));
      await fsp.rename(`${path}.tmp`, path);
    },
    async release() {
      await fsp.rm(path, { force: true });
    },
  };
}

/** Digests held by live leases; leases of dead processes are removed. */
export async function leasedDigests(layout: Layout): Promise<Set<string>> {
  const out = new Set<string>();
  for (const name of await fsp.readdir(layout.leases).catch(() => [] as string[])) {
    const path = join(layout.leases, name);
    const pid = Number(name.split("-")[0]);
    if (!alive(pid)) {
      await fsp.rm(path, { force: true });
      continue;
    }
    if (name.endsWith(".tmp")) continue;
    try {
      for (const d of JSON.parse(await fsp.readFile(path, "utf8")) as string[]) out.add(d);
    } catch {
      // removed by its owner since the readdir
    }
  }
  return out;
}
