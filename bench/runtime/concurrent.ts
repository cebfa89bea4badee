// 100 containers started concurrently: total time until all run, then each
// monitor's memory (RSS, and private = Private_Clean + Private_Dirty from
// /proc/PID/smaps_rollup, the part that is this container's alone).
//
//   node --import tsx bench/runtime/concurrent.ts [COUNT]
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Runtime } from "../../internal/runtime";
import { makeLayer, percentile } from "./common";

const COUNT = Number(process.argv[2] ?? 100);

function memKiB(pid: number): { rss: number; priv: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0);
  return { rss: field("Rss"), priv: field("Private_Clean") + field("Private_Dirty") };
}

async function main() {
  const { dir, layer } = makeLayer();
  const nodeName = `bench-c-${process.pid}`;
  const rt = new Runtime({ dataDir: join(dir, "data"), nodeName, runDir: join(dir, "run") });
  try {
    const t0 = performance.now();
    const ids = await Promise.all(
      Array.from({ length: COUNT }, async () => {
        const id = await rt.create({ layers: [layer], command: ["sleep", "600"] });
        await rt.start(id);
        return id;
      }),
    );
    const total = performance.now() - t0;
    const running = ids.filter((id) => rt.status(id).state === "running").length;
    const mem = ids.map((id) => {
      const st = JSON.parse(readFileSync(join(rt.containersDir, id, "status"), "utf8")) as {
        monitorPid: number;
      };
      return memKiB(st.monitorPid);
    });
    const rss = mem.map((m) => m.rss).sort((a, b) => a - b);
    const priv = mem.map((m) => m.priv).sort((a, b) => a - b);
    console.log(
      `${COUNT} containers created and started concurrently in ${total.toFixed(0)} ms (${running} running)`,
    );
    console.log(`monitor RSS      median ${percentile(rss, 50)} KiB   max ${rss.at(-1)} KiB`);
    console.log(`monitor private  median ${percentile(priv, 50)} KiB   max ${priv.at(-1)} KiB`);
    const t1 = performance.now();
    await Promise.all(ids.map((id) => rt.remove(id, { force: true })));
    console.log(
      `${COUNT} containers removed (SIGKILL) concurrently in ${(performance.now() - t1).toFixed(0)} ms`,
    );
  } finally {
    for (const c of rt.list()) await rt.remove(c.id, { force: true }).catch(() => {});
    rt.cgroups.remove(`tsk/${nodeName}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
