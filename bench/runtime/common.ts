// Shared bench helpers: a busybox rootfs and percentiles.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
