// Workload controllers: deployments, replicasets, daemonsets, statefulsets, jobs, cronjobs,
// controllerrevisions and horizontalpodautoscalers, as upstream's printers.go prints them.

import { humanDuration, parseTimestamp } from "../duration";
import { formatLabelSelector, formatLabels, labelSelectorObjectString, SelectorError } from "../selectors";
import {
  age,
  ageCol,
  arr,
  CONTAINERS_DESC,
  col,
  containerCells,
  hasCondition,
  IMAGES_DESC,
  int,
  isDeleting,
  name,
  nameCol,
  str,
  templateCols,
} from "./common";
import { doc } from "./descriptions";
import type { Printer } from "./types";

export const deploymentPrinter: Printer = {
  columns: [
    nameCol(),
    col("Ready", "string", "Number of the pod with ready state"),
    col("Up-to-date", "string", doc("DeploymentStatus.updatedReplicas")),
    col("Available", "string", doc("DeploymentStatus.availableReplicas")),
    ageCol(),
    ...templateCols(),
    col("Selector", "string", doc("DeploymentSpec.selector"), 1),
  ],
  row(d, now) {
    let selector: string;
    try {
      selector = labelSelectorObjectString(d?.spec?.selector);
    } catch (e) {
      if (!(e instanceof SelectorError)) throw e;
      selector = "<invalid>";
    }
    const status = d?.status ?? {};
    return [
      name(d),
      `${int(status.readyReplicas)}/${int(d?.spec?.replicas)}`,
      int(status.updatedReplicas),
      int(status.availableReplicas),
      age(d, now),
      ...containerCells(d?.spec?.template?.spec?.containers),
      selector,
    ];
  },
};

export const replicaSetPrinter: Printer = {
  columns: [
    nameCol(),
    col("Desired", "integer", doc("ReplicaSetSpec.replicas")),
    col("Current", "integer", doc("ReplicaSetStatus.replicas")),
    col("Ready", "integer", doc("ReplicaSetStatus.readyReplicas")),
    ageCol(),
    ...templateCols(),
    col("Selector", "string", doc("ReplicaSetSpec.selector"), 1),
  ],
  row(rs, now) {
    return [
      name(rs),
      int(rs?.spec?.replicas),
      int(rs?.status?.replicas),
      int(rs?.status?.readyReplicas),
      age(rs, now),
      ...containerCells(rs?.spec?.template?.spec?.containers),
      formatLabelSelector(rs?.spec?.selector),
    ];
  },
};

export const daemonSetPrinter: Printer = {
  columns: [
    nameCol(),
    col("Desired", "integer", doc("DaemonSetStatus.desiredNumberScheduled")),
    col("Current", "integer", doc("DaemonSetStatus.currentNumberScheduled")),
    col("Ready", "integer", doc("DaemonSetStatus.numberReady")),
    col("Up-to-date", "integer", doc("DaemonSetStatus.updatedNumberScheduled")),
    col("Available", "integer", doc("DaemonSetStatus.numberAvailable")),
    col("Node Selector", "string", doc("PodSpec.nodeSelector")),
    ageCol(),
    ...templateCols(),
    col("Selector", "string", doc("DaemonSetSpec.selector"), 1),
  ],
  row(ds, now) {
    const s = ds?.status ?? {};
    return [
      name(ds),
      int(s.desiredNumberScheduled),
      int(s.currentNumberScheduled),
      int(s.numberReady),
      int(s.updatedNumberScheduled),
      int(s.numberAvailable),
      formatLabels(ds?.spec?.template?.spec?.nodeSelector),
      age(ds, now),
      ...containerCells(ds?.spec?.template?.spec?.containers),
      formatLabelSelector(ds?.spec?.selector),
    ];
  },
};

export const statefulSetPrinter: Printer = {
  columns: [
    nameCol(),
    col("Ready", "string", "Number of the pod with ready state"),
    ageCol(),
    col("Containers", "string", CONTAINERS_DESC, 1),
    col("Images", "string", IMAGES_DESC, 1),
  ],
  row(sts, now) {
    return [
      name(sts),
      `${int(sts?.status?.readyReplicas)}/${int(sts?.spec?.replicas)}`,
      age(sts, now),
      ...containerCells(sts?.spec?.template?.spec?.containers),
    ];
  },
};

/** The Job Status cell, in upstream's order of precedence. */
export function jobStatus(job: any): string {
  const conditions = job?.status?.conditions;
  if (hasCondition(conditions, "Complete")) return "Complete";
  if (hasCondition(conditions, "Failed")) return "Failed";
  if (isDeleting(job)) return "Terminating";
  if (hasCondition(conditions, "Suspended")) return "Suspended";
  if (hasCondition(conditions, "FailureTarget")) return "FailureTarget";
  if (hasCondition(conditions, "SuccessCriteriaMet")) return "SuccessCriteriaMet";
  return "Running";
}

export const jobPrinter: Printer = {
  columns: [
    nameCol(),
    col("Status", "string", "Status of the job."),
    col("Completions", "string", doc("JobStatus.succeeded")),
    col("Duration", "string", "Time required to complete the job."),
    ageCol(),
    ...templateCols(),
    col("Selector", "string", doc("JobSpec.selector"), 1),
  ],
  row(job, now) {
    const succeeded = int(job?.status?.succeeded);
    let completions: string;
    if (job?.spec?.completions != null) {
      completions = `${succeeded}/${int(job.spec.completions)}`;
    } else {
      const parallelism = int(job?.spec?.parallelism);
      completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
    }
    const start = parseTimestamp(job?.status?.startTime);
    const end = parseTimestamp(job?.status?.completionTime);
    let duration = "";
    if (start !== undefined) duration = humanDuration((end ?? now) - start);
    return [
      name(job),
      jobStatus(job),
      completions,
      duration,
      age(job, now),
      ...containerCells(job?.spec?.template?.spec?.containers),
      formatLabelSelector(job?.spec?.selector),
    ];
  },
};

/** printBoolPtr: "True"/"False", "<unset>" when the field is absent. */
function boolPtr(v: unknown): string {
  if (v === undefined || v === null) return "<unset>";
  return v === true ? "True" : "False";
}

export const cronJobPrinter: Printer = {
  columns: [
    nameCol(),
    col("Schedule", "string", doc("CronJobSpec.schedule")),
    col("Timezone", "string", doc("CronJobSpec.timeZone")),
    col("Suspend", "boolean", doc("CronJobSpec.suspend")),
    col("Active", "integer", doc("CronJobStatus.active")),
    col("Last Schedule", "string", doc("CronJobStatus.lastScheduleTime")),
    ageCol(),
    ...templateCols(),
    col("Selector", "string", doc("JobSpec.selector"), 1),
  ],
  row(cj, now) {
    const last = parseTimestamp(cj?.status?.lastScheduleTime);
    const jobSpec = cj?.spec?.jobTemplate?.spec;
    return [
      name(cj),
      str(cj?.spec?.schedule),
      cj?.spec?.timeZone != null ? str(cj.spec.timeZone) : "<none>",
      boolPtr(cj?.spec?.suspend),
      arr(cj?.status?.active).length,
      last === undefined ? "<none>" : humanDuration(now - last),
      age(cj, now),
      ...containerCells(jobSpec?.template?.spec?.containers),
      formatLabelSelector(jobSpec?.selector),
    ];
  },
};

/** "kind.group/name" of the controlling owner, lower-cased, as formatResourceName prints it. */
function controllerOf(obj: any): string {
  const ref = arr(obj?.metadata?.ownerReferences).find((r) => r?.controller === true);
  if (!ref) return "<none>";
  const apiVersion = str(ref.apiVersion);
  const slash = apiVersion.indexOf("/");
  const group = slash >= 0 ? apiVersion.slice(0, slash) : "";
  const kind = str(ref.kind);
  if (kind === "" && group === "") return str(ref.name);
  const groupKind = group ? `${kind}.${group}` : kind;
  return `${groupKind.toLowerCase()}/${str(ref.name)}`;
}

export const controllerRevisionPrinter: Printer = {
  columns: [
    nameCol(),
    col("Controller", "string", "Controller of the object"),
    col("Revision", "string", doc("ControllerRevision.revision")),
    ageCol(),
  ],
  row(cr, now) {
    return [name(cr), controllerOf(cr), int(cr?.revision), age(cr, now)];
  },
};

function quantity(v: unknown): string {
  // Quantities arrive in their serialized (canonical) form; an absent one is Go's zero, "0".
  return v === undefined || v === null || v === "" ? "0" : String(v);
}

/** formatHPAMetrics: "cpu: 40%/80%", "<unknown>/500m", at most two then "+ N more...". */
export function formatHPAMetrics(specs: unknown, statuses: unknown): string {
  const spec = arr(specs);
  const status = arr(statuses);
  if (spec.length === 0) return "<none>";
  const list: string[] = [];
  spec.forEach((m, i) => {
    const st = status[i];
    switch (m?.type) {
      case "External": {
        const target = m.external?.target ?? {};
        if (target.averageValue != null) {
          const cur = st?.external?.current?.averageValue;
          list.push(`${cur != null ? quantity(cur) : "<unknown>"}/${quantity(target.averageValue)} (avg)`);
        } else {
          const cur = st?.external ? quantity(st.external.current?.value) : "<unknown>";
          list.push(`${cur}/${quantity(target.value)}`);
        }
        break;
      }
      case "Pods": {
        const cur = st?.pods ? quantity(st.pods.current?.averageValue) : "<unknown>";
        list.push(`${cur}/${quantity(m.pods?.target?.averageValue)}`);
        break;
      }
      case "Object": {
        const target = m.object?.target ?? {};
        if (target.averageValue != null) {
          const cur = st?.object?.current?.averageValue;
          list.push(`${cur != null ? quantity(cur) : "<unknown>"}/${quantity(target.averageValue)} (avg)`);
        } else {
          const cur = st?.object ? quantity(st.object.current?.value) : "<unknown>";
          list.push(`${cur}/${quantity(target.value)}`);
        }
        break;
      }
      case "Resource":
      case "ContainerResource": {
        const key = m.type === "Resource" ? "resource" : "containerResource";
        const src = m[key] ?? {};
        const target = src.target ?? {};
        if (target.averageValue != null) {
          const cur = st?.[key] ? quantity(st[key].current?.averageValue) : "<unknown>";
          list.push(`${str(src.name)}: ${cur}/${quantity(target.averageValue)}`);
        } else {
          const util = st?.[key]?.current?.averageUtilization;
          const cur = util != null ? `${int(util)}%` : "<unknown>";
          const want = target.averageUtilization != null ? `${int(target.averageUtilization)}%` : "<auto>";
          list.push(`${str(src.name)}: ${cur}/${want}`);
        }
        break;
      }
      default:
        list.push("<unknown type>");
    }
  });
  const max = 2;
  if (list.length > max) return `${list.slice(0, max).join(", ")} + ${list.length - max} more...`;
  return list.join(", ");
}

export const hpaPrinter: Printer = {
  columns: [
    nameCol(),
    col("Reference", "string", doc("HorizontalPodAutoscalerSpec.scaleTargetRef")),
    col("Targets", "string", doc("HorizontalPodAutoscalerSpec.metrics")),
    col("MinPods", "string", doc("HorizontalPodAutoscalerSpec.minReplicas")),
    col("MaxPods", "string", doc("HorizontalPodAutoscalerSpec.maxReplicas")),
    col("Replicas", "string", doc("HorizontalPodAutoscalerStatus.currentReplicas")),
    ageCol(),
  ],
  row(hpa, now) {
    const spec = hpa?.spec ?? {};
    return [
      name(hpa),
      `${str(spec.scaleTargetRef?.kind)}/${str(spec.scaleTargetRef?.name)}`,
      formatHPAMetrics(spec.metrics, hpa?.status?.currentMetrics),
      spec.minReplicas != null ? String(int(spec.minReplicas)) : "<unset>",
      int(spec.maxReplicas),
      int(hpa?.status?.currentReplicas),
      age(hpa, now),
    ];
  },
};
