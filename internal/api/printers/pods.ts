// `kubectl get pods`: the Status cell is the aggregate upstream computes from the phase, the
// init containers, the containers' waiting/terminated reasons and deletion, and Restarts
// carries "(5m ago)" for the last restart (printers.go printPod).

import { humanDuration, parseTimestamp } from "../duration";
import { age, ageCol, arr, col, hasCondition, int, isDeleting, name, nameCol, str } from "./common";
import { doc } from "./descriptions";
import type { Printer, TableRowCondition } from "./types";

/** node.NodeUnreachablePodReason: the node controller's reason for pods on a lost node. */
const NODE_UNREACHABLE_POD_REASON = "NodeLost";

function isRestartableInitContainer(spec: any): boolean {
  return spec?.restartPolicy === "Always";
}

function isTerminalPhase(phase: unknown): boolean {
  return phase === "Failed" || phase === "Succeeded";
}

/** The finish time of a container's previous run, if it has one. */
function lastFinished(status: any): number | undefined {
  const terminated = status?.lastState?.terminated;
  return terminated ? parseTimestamp(terminated.finishedAt) : undefined;
}

function later(a: number | undefined, b: number | undefined): number | undefined {
  if (b === undefined) return a;
  if (a === undefined) return b;
  return b > a ? b : a;
}

/** The Ready, Status and Restarts cells. */
export function podStatusCells(pod: any, now: number): { ready: string; status: string; restarts: string } {
  const spec = pod?.spec ?? {};
  const status = pod?.status ?? {};
  const initSpecs = arr(spec.initContainers);
  let restarts = 0;
  let restartableInitRestarts = 0;
  let totalContainers = arr(spec.containers).length;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let lastRestartableInitRestart: number | undefined;

  const phase = str(status.phase);
  let reason = status.reason ? str(status.reason) : phase;
  for (const c of arr(status.conditions)) {
    if (c?.type === "PodScheduled" && c?.reason === "SchedulingGated") reason = "SchedulingGated";
  }

  const initByName = new Map<string, any>();
  for (const c of initSpecs) {
    initByName.set(str(c?.name), c);
    if (isRestartableInitContainer(c)) totalContainers++;
  }

  let initializing = false;
  const initStatuses = arr(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    const restartable = isRestartableInitContainer(initByName.get(str(c?.name)));
    restarts += int(c?.restartCount);
    lastRestart = later(lastRestart, lastFinished(c));
    if (restartable) {
      restartableInitRestarts += int(c?.restartCount);
      lastRestartableInitRestart = later(lastRestartableInitRestart, lastFinished(c));
    }
    const terminated = c?.state?.terminated;
    const waiting = c?.state?.waiting;
    if (terminated && int(terminated.exitCode) === 0) continue;
    if (restartable && c?.started === true) {
      if (c?.ready === true) readyContainers++;
      continue;
    }
    if (terminated) {
      if (!terminated.reason) {
        reason =
          int(terminated.signal) !== 0
            ? `Init:Signal:${int(terminated.signal)}`
            : `Init:ExitCode:${int(terminated.exitCode)}`;
      } else {
        reason = `Init:${terminated.reason}`;
      }
    } else if (waiting?.reason && waiting.reason !== "PodInitializing") {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(status.conditions, "Initialized")) {
    restarts = restartableInitRestarts;
    lastRestart = lastRestartableInitRestart;
    let hasRunning = false;
    const statuses = arr(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += int(c?.restartCount);
      lastRestart = later(lastRestart, lastFinished(c));
      const waiting = c?.state?.waiting;
      const terminated = c?.state?.terminated;
      if (waiting?.reason) {
        reason = str(waiting.reason);
      } else if (terminated?.reason) {
        reason = str(terminated.reason);
      } else if (terminated) {
        reason =
          int(terminated.signal) !== 0
            ? `Signal:${int(terminated.signal)}`
            : `ExitCode:${int(terminated.exitCode)}`;
      } else if (c?.ready === true && c?.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A pod whose last container completed but which still runs others is not "Completed".
    if (reason === "Completed" && hasRunning) {
      reason = hasCondition(status.conditions, "Ready") ? "Running" : "NotReady";
    }
  }

  if (isDeleting(pod) && status.reason === NODE_UNREACHABLE_POD_REASON) reason = "Unknown";
  else if (isDeleting(pod) && !isTerminalPhase(phase)) reason = "Terminating";

  let restartsCell = String(restarts);
  if (restarts !== 0 && lastRestart !== undefined)
    restartsCell = `${restarts} (${humanDuration(now - lastRestart)} ago)`;
  return { ready: `${readyContainers}/${totalContainers}`, status: reason, restarts: restartsCell };
}

function readinessGates(pod: any): string {
  const gates = arr(pod?.spec?.readinessGates);
  if (gates.length === 0) return "<none>";
  let trueCount = 0;
  for (const g of gates) {
    const c = arr(pod?.status?.conditions).find((x) => x?.type === g?.conditionType);
    if (c?.status === "True") trueCount++;
  }
  return `${trueCount}/${gates.length}`;
}

const SUCCEEDED: TableRowCondition[] = [
  { type: "Completed", status: "True", reason: "Succeeded", message: "The pod has completed successfully." },
];
const FAILED: TableRowCondition[] = [
  { type: "Completed", status: "True", reason: "Failed", message: "The pod failed." },
];

export const podPrinter: Printer = {
  conditions(pod) {
    const phase = pod?.status?.phase;
    return phase === "Succeeded" ? SUCCEEDED : phase === "Failed" ? FAILED : undefined;
  },
  columns: [
    nameCol(),
    col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "string", "The aggregate status of the containers in this pod."),
    col(
      "Restarts",
      "string",
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    ageCol(),
    col("IP", "string", doc("PodStatus.podIP"), 1),
    col("Node", "string", doc("PodSpec.nodeName"), 1),
    col("Nominated Node", "string", doc("PodStatus.nominatedNodeName"), 1),
    col("Readiness Gates", "string", doc("PodSpec.readinessGates"), 1),
  ],
  row(pod, now) {
    const { ready, status, restarts } = podStatusCells(pod, now);
    const ip = str(pod?.status?.podIPs?.[0]?.ip) || str(pod?.status?.podIP) || "<none>";
    return [
      name(pod),
      ready,
      status,
      restarts,
      age(pod, now),
      ip,
      str(pod?.spec?.nodeName) || "<none>",
      str(pod?.status?.nominatedNodeName) || "<none>",
      readinessGates(pod),
    ];
  },
};
