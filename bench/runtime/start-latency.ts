// Container start latency: create+start+wait+delete of /bin/true, timed inside one
// Node process, tsk's runtime side by side with Debian's crun on the same busybox
// rootfs (crun plain, and crun with an overlay mount/unmount around each run, which
// is what tsk does for every container).
//
//   node --import tsx bench/runtime/start-latency.ts [RUNS]
//
// crun refuses this machine's hybrid cgroups unless a v1 hugetlb hierarchy is
// mounted at /sys/fs/cgroup/hugetlb; the bench mounts it for the crun part and
// unmounts it afterwards (the v2 mount gets its hugetlb controller back).
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { native, Runtime } from "../../internal/runtime";
import { makeLayer, mountHugetlb, summary, unmountHugetlb } from "./common";

const RUNS = Number(process.argv[2] ?? 50);

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
    c.on("error", reject);
    c.on("exit", (code) => resolve(code ?? -1));
  });
}

async function main() {
  const { dir, layer } = makeLayer();
  const nodeName = `bench-${process.pid}`;
  const rt = new Runtime({ dataDir: join(dir, "data"), nodeName, runDir: join(dir, "run") });
  const n = native();
  let mountedHugetlb = false;
  try {
    if (!spawnSync("crun", ["--version"]).stdout)
      throw new Error("crun is not installed: apt-get install -y crun");
    mountHugetlb();
    mountedHugetlb = true;
    const bundle = join(dir, "bundle");
    mkdirSync(bundle);
    spawnSync("crun", ["spec"], { cwd: bundle });
    const cfg = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
    cfg.process.terminal = false;
    cfg.process.args = ["/bin/true"];
    cfg.root = { path: layer, readonly: false };
    cfg.linux.namespaces.push({ type: "cgroup" });
    writeFileSync(join(bundle, "config.json"), JSON.stringify(cfg));
    // The same with an overlay rootfs mounted and unmounted around each run.
    const bundleO = join(dir, "bundle-overlay");
    const merged = join(dir, "merged");
    mkdirSync(bundleO);
    mkdirSync(merged);
    writeFileSync(
      join(bundleO, "config.json"),
      JSON.stringify({ ...cfg, root: { path: merged, readonly: false } }),
    );

    // The three are interleaved, one run of each per round, so that the load of a
    // shared machine falls on all of them alike.
    const tsk: number[] = [];
    const crunPlain: number[] = [];
    const crunOverlay: number[] = [];
    for (let i = 0; i < RUNS + 3; i++) {
      let t0 = performance.now();
      const id = await rt.create({ layers: [layer], command: ["/bin/true"] });
      await rt.start(id);
      const st = await rt.wait(id);
      await rt.remove(id);
      const tTsk = performance.now() - t0;
      if (st.exitCode !== 0) throw new Error(`tsk: /bin/true exited ${st.exitCode}`);

      t0 = performance.now();
      let code = await run("crun", ["run", "-b", bundle, `tskbench-${process.pid}-${i}`]);
      const tPlain = performance.now() - t0;
      if (code !== 0) throw new Error(`crun run exited ${code}`);

      t0 = performance.now();
      const c = join(dir, `c${i}`);
      for (const d of ["upper", "work"]) mkdirSync(join(c, d), { recursive: true });
      n.mount("overlay", merged, "overlay", 0, `lowerdir=${layer},upperdir=${c}/upper,workdir=${c}/work`);
      code = await run("crun", ["run", "-b", bundleO, `tskbench-o-${process.pid}-${i}`]);
      n.umount(merged, 0);
      rmSync(c, { recursive: true, force: true });
      const tOverlay = performance.now() - t0;
      if (code !== 0) throw new Error(`crun run (overlay) exited ${code}`);
      if (i >= 3) {
        tsk.push(tTsk);
        crunPlain.push(tPlain);
        crunOverlay.push(tOverlay);
      }
    }
    console.log(summary("tsk create+start+wait+delete (overlay)", tsk));
    console.log(summary("crun run (plain rootfs dir)", crunPlain));
    console.log(summary("crun run + overlay mount/unmount", crunOverlay));
  } finally {
    if (mountedHugetlb) await unmountHugetlb();
    for (const c of rt.list()) await rt.remove(c.id, { force: true }).catch(() => {});
    rt.cgroups.remove(`tsk/${nodeName}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
