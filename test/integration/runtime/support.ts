// Helpers for runtime tests: a busybox rootfs as a single layer, a Runtime on a temp
// data dir with its own node name, and a cleanup that removes every container,
// sandbox and cgroup it created even when a test failed.
import { execFileSync } from "node:child_process";
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
import { Runtime } from "../../../internal/runtime";

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
  return {
    dir,
    layer,
    rt,
    nodeName,
    cleanup: async () => {
      for (const c of rt.list()) {
        try {
          await rt.remove(c.id, { force: true });
        } catch (err) {
          process.stderr.write(`cleanup ${c.id}: ${(err as Error).message}\n`);
        }
      }
      for (const s of rt.listSandboxes()) {
        try {
          await rt.removeSandbox(s.id);
        } catch (err) {
          process.stderr.write(`cleanup sandbox ${s.id}: ${(err as Error).message}\n`);
        }
      }
      rt.cgroups.remove(`tsk/${nodeName}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
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
