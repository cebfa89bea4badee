// Helpers for runtime tests: a busybox rootfs as a single layer, a Runtime on a temp
// data dir with its own node name, and a cleanup that removes every container,
// sandbox and cgroup it created even when a test failed.
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native, Runtime } from "../../../internal/runtime";

export const BUSYBOX = ["/bin/busybox", "/usr/bin/busybox"].find((p) => existsSync(p)) ?? "/bin/busybox";

/** A directory holding a static busybox with its applets as symlinks, /etc/passwd and /etc/group. */
export function busyboxLayer(parent: string): string {
  const root = join(parent, "busybox-layer");
  for (const d of ["bin", "etc", "tmp", "root", "home/user"]) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX, join(root, "bin/busybox"));
  execFileSync("chmod", ["755", join(root, "bin/busybox")]);
  const applets = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n").filter(Boolean);
  for (const a of applets) if (a !== "busybox") symlinkSync("busybox", join(root, "bin", a));
  writeFileSync(
    join(root, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n",
  );
  writeFileSync(join(root, "etc/group"), "root:x:0:\nuser:x:1000:\nextra:x:2000:user\n");
  writeFileSync(join(root, "etc/image-file"), "from the image\n");
  return root;
}

export interface Env {
  dir: string;
  layer: string;
  rt: Runtime;
  nodeName: string;
  cleanup(): Promise<void>;
}

export function makeEnv(tag: string): Env {
  const dir = mkdtempSync(join(tmpdir(), `tsk-rt-${tag}-`));
  const layer = busyboxLayer(dir);
  const nodeName = `t-${tag}-${process.pid}`;
  const rt = new Runtime({ dataDir: join(dir, "data"), nodeName, runDir: join(dir, "run") });
  let cleaned = false;
  // Synchronous so that it also runs from process.on("exit") when a test crashed the file.
  const cleanupSync = () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of rt.list()) {
      if (c.pid > 0) {
        try {
          process.kill(c.pid, "SIGKILL");
        } catch {}
      }
    }
    rt.cgroups.remove(`tsk/${nodeName}`);
    const n = native();
    for (const m of mountsContaining(dir).reverse()) {
      try {
        n.umount(m, n.constants.MNT_DETACH);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", cleanupSync);
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => {
      cleanupSync();
      process.exit(130);
    });
  return {
    dir,
    layer,
    rt,
    nodeName,
    cleanup: async () => cleanupSync(),
  };
}

export interface CtrEnv {
  dir: string;
  dataDir: string;
  nodeName: string;
  /** the runtime over the same data dir and node name, to inspect what the CLI left */
  rt: Runtime;
  /** `tsk ctr SUB ARGS...` as a new process over this data dir, with `input` on its stdin */
  ctr(input: string | undefined, ...args: string[]): { code: number; out: string; err: string };
}

/**
 * A data dir and node name for `tsk ctr` commands, each run as a new tsk process as a user
 * types them; containers, cgroups and files are removed when the test process exits.
 */
export function ctrEnv(tag: string): CtrEnv {
  const root = join(__dirname, "..", "..", "..");
  const dir = mkdtempSync(join(tmpdir(), `tsk-ctr-${tag}-`));
  const dataDir = join(dir, "data");
  const nodeName = `t-${tag}-${process.pid}`;
  const rt = new Runtime({ dataDir, nodeName });
  process.on("exit", () => {
    for (const c of rt.list()) {
      if (c.pid > 0) {
        try {
          process.kill(c.pid, "SIGKILL");
        } catch {}
      }
    }
    rt.cgroups.remove(`tsk/${nodeName}`);
    rmSync(rt.runDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });
  const ctr = (input: string | undefined, ...args: string[]) => {
    const [sub, ...rest] = args;
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        join(root, "cmd/tsk/main.ts"),
        "ctr",
        sub,
        "--data-dir",
        dataDir,
        "--node-name",
        nodeName,
        ...rest,
      ],
      { encoding: "utf8", timeout: 60_000, input },
    );
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
  };
  return { dir, dataDir, nodeName, rt, ctr };
}

/** Mount points whose path contains `needle`, from the host's mount table. */
export function mountsContaining(needle: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m) => m?.includes(needle));
}

export async function collectLogs(rt: Runtime, id: string): Promise<string> {
  let out = "";
  for await (const e of rt.logs(id)) out += `${e.stream}: ${e.text}\n`;
  return out;
}

/** Like assert.rejects (which uvu lacks): the promise must reject with a message matching re. */
export async function rejects(p: Promise<unknown>, re: RegExp): Promise<Error> {
  try {
    await p;
  } catch (err) {
    if (!re.test((err as Error).message))
      throw new Error(`expected rejection matching ${re}, got: ${(err as Error).message}`);
    return err as Error;
  }
  throw new Error(`expected rejection matching ${re}, but it resolved`);
}
