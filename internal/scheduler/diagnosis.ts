// The message of a pod that fits nowhere, as kube-scheduler 1.32 writes it in the
// PodScheduled condition and the FailedScheduling event: a histogram of the filters'
// reasons, sorted as strings, then what preemption concluded, e.g.
//   0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..
import type { FilterResult } from "./filters";

export const PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling";
export const NO_VICTIMS = "No preemption victims found for incoming pod";

function histogram(items: string[]): string {
  const counts = new Map<string, number>();
  for (const r of items) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts]
    .map(([r, n]) => `${n} ${r}`)
    .sort()
    .join(", ");
}

/**
 * `failures` holds one result per filtered-out node. Preemption is not implemented:
 * nodes refused for a reason preemption cannot resolve say so, the others report that
 * no victims were found (true while every pod has the same priority).
 */
export function fitErrorMessage(numNodes: number, failures: FilterResult[]): string {
  let msg = `0/${numNodes} nodes are available:`;
  const reasons = histogram(failures.flatMap((f) => f.reasons));
  if (reasons) msg += ` ${reasons}.`;
  const preemption = histogram(failures.map((f) => (f.unresolvable ? PREEMPTION_NOT_HELPFUL : NO_VICTIMS)));
  // Preemption's own message ends with a period and is then added as a sentence, so a
  // 1.32 scheduler's message ends with two ("...for incoming pod..").
  return `${msg} preemption: 0/${numNodes} nodes are available: ${preemption}..`;
}
