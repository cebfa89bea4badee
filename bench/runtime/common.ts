// Shared bench helpers: a busybox rootfs and percentiles.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { native } from "../../internal/runtime";
import { busyboxLayer } from "../../test/integration/runtime/support";

export function makeLayer(): { dir: string; layer: string } {
  const dir = mkdtempSync(join(tmpdir(), "tsk-bench-"));
  return { dir, layer: busyboxLayer(dir) };
}

export function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function summary(name: string, ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  return `${name.padEnd(44)} median ${percentile(s, 50).toFixed(2)} ms   p90 ${percentile(s, 90).toFixed(2)} ms   (n=${s.length})`;
}

/**
 * crun (and podman, which runs crun) refuse this machine's hybrid cgroups unless a
 * v1 hugetlb hierarchy is mounted at /sys/fs/cgroup/hugetlb. Mounting it takes the
 * controller from the v2 mount; unmountHugetlb gives it back.
 */
export function mountHugetlb(): void {
  if (!existsSync("/sys/fs/cgroup/hugetlb")) mkdirSync("/sys/fs/cgroup/hugetlb");
  native().mount("cgroup", "/sys/fs/cgroup/hugetlb", "cgroup", 0, "hugetlb");
}

/**
 * The v1 hierarchy is only released when its last cgroup is gone, which just-deleted
 * cgroups may delay: wait, and if the controller has not come back to the v2 mount,
 * mount and unmount the hierarchy again.
 */
export async function unmountHugetlb(): Promise<void> {
  const n = native();
  const back = () => readFileSync("/sys/fs/cgroup/unified/cgroup.controllers", "utf8").includes("hugetlb");
  const settle = async () => {
    for (let i = 0; i < 40 && !back(); i++) await new Promise((r) => setTimeout(r, 100));
  };
  removeChildCgroups("/sys/fs/cgroup/hugetlb");
  n.umount("/sys/fs/cgroup/hugetlb", 0);
  await settle();
  for (let attempt = 0; attempt < 3 && !back(); attempt++) {
    n.mount("cgroup", "/sys/fs/cgroup/hugetlb", "cgroup", 0, "hugetlb");
    removeChildCgroups("/sys/fs/cgroup/hugetlb");
    n.umount("/sys/fs/cgroup/hugetlb", 0);
    await settle();
  }
  rmdirSync("/sys/fs/cgroup/hugetlb");
  console.log(back() ? "hugetlb is back on the v2 mount" : "WARNING: hugetlb did not return to the v2 mount");
}

/** Removes the (empty) cgroups below dir, deepest first; busy ones stay. */
export function removeChildCgroups(dir: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
  } catch {
    return;
  }
  for (const name of entries) {
    removeChildCgroups(join(dir, name));
    try {
      rmdirSync(join(dir, name));
    } catch {}
  }
}
