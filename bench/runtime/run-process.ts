// A whole `tsk ctr run --rm IMAGE true` process against `podman run --rm IMAGE true`
// (Debian's podman, which runs crun), the same busybox image loaded into both from
// one docker-save archive. Both without networking beyond loopback (tsk ctr gives a
// container its own network namespace with lo; podman gets --network none).
//
//   node --import tsx bench/runtime/run-process.ts [TSK_BINARY] [RUNS]
//
// TSK_BINARY defaults to dist/tsk (npm run build).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildBusyboxDockerArchive } from "../../test/support/images";
import { mountHugetlb, removeChildCgroups, summary, unmountHugetlb } from "./common";

const TSK = process.argv[2] ?? join(__dirname, "..", "..", "dist", "tsk");
const RUNS = Number(process.argv[3] ?? 20);
const IMAGE = "tskbench/busybox:latest";
// Root here lacks CAP_SYS_RESOURCE: podman's default rlimits (above the hard limits)
// fail, so it gets low explicit ones (crun refuses even the current hard values).

function timed(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    c.stderr.on("data", (d) => {
      err += d;
    });
    c.on("error", reject);
    c.on("exit", (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`));
      else resolve(performance.now() - t0);
    });
  });
}

async function main() {
  if (!existsSync(TSK)) throw new Error(`${TSK} does not exist: npm run build, or pass the binary`);
  const dir = mkdtempSync(join(tmpdir(), "tsk-bench-run-"));
  const dataDir = join(dir, "data");
  const archive = join(dir, "busybox.tar");
  let mounted = false;
  try {
    await buildBusyboxDockerArchive(archive, { name: IMAGE });
    const imp = spawnSync(TSK, ["images", "import", "--data-dir", dataDir, archive], { encoding: "utf8" });
    if (imp.status !== 0) throw new Error(`tsk images import: ${imp.stderr}`);
    const load = spawnSync("podman", ["load", "-i", archive], { encoding: "utf8" });
    if (load.status !== 0) throw new Error(`podman load: ${load.stderr}`);
    mountHugetlb();
    mounted = true;
    const tsk: number[] = [];
    const podman: number[] = [];
    for (let i = 0; i < RUNS + 2; i++) {
      const a = await timed(TSK, ["ctr", "run", "--rm", "--data-dir", dataDir, IMAGE, "true"]);
      const b = await timed("podman", [
        "run",
        "--rm",
        "--network",
        "none",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        IMAGE,
        "true",
      ]);
      if (i >= 2) {
        tsk.push(a);
        podman.push(b);
      }
    }
    console.log(summary("tsk ctr run --rm IMAGE true (whole process)", tsk));
    console.log(
      summary(
        "podman run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 IMAGE true",
        podman,
      ),
    );
  } finally {
    if (mounted) await unmountHugetlb();
    spawnSync("podman", ["rmi", "-f", IMAGE], { stdio: "ignore" });
    // podman (cgroupfs manager) leaves its parent cgroup in every v1 hierarchy.
    for (const c of readdirSync("/sys/fs/cgroup")) {
      const parent = join("/sys/fs/cgroup", c, "libpod_parent");
      if (!existsSync(parent)) continue;
      removeChildCgroups(parent);
      try {
        rmdirSync(parent);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
