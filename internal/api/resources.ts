// The one table of served resources. Routing, discovery, OpenAPI, validation and
// tables are all derived from it: adding a resource is adding a row (plus its
// schema and any special logic).

export type Subresource =
  | "status"
  | "scale"
  | "binding"
  | "eviction"
  | "log"
  | "exec"
  | "attach"
  | "portforward"
  | "proxy";

export interface ResourceInfo {
  /** API group, "" for the core group. */
  group: string;
  version: string;
  kind: string;
  /** URL segment, e.g. "pods". */
  plural: string;
  singular: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  categories: string[];
  subresources: Subresource[];
  /** Field selector keys beyond metadata.name and metadata.namespace. */
  selectableFields: string[];
  /** Objects with a spec get metadata.generation bumped when the spec changes. */
  hasSpec: boolean;
  /**
   * Set on a version served by conversion from another version's storage (autoscaling/v1
   * HorizontalPodAutoscaler is stored as v2, as on a real cluster).
   */
  storageVersion?: string;
}

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function r(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  extra: Partial<Omit<ResourceInfo, "group" | "version" | "kind" | "plural" | "namespaced">> = {},
): ResourceInfo {
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    verbs: ALL_VERBS,
    shortNames: [],
    categories: [],
    subresources: [],
    selectableFields: [],
    hasSpec: true,
    ...extra,
  };
}

export const RESOURCES: readonly ResourceInfo[] = [
  r("", "v1", "Namespace", "namespaces", false, {
    shortNames: ["ns"],
    subresources: ["status"],
    selectableFields: ["status.phase"],
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
  }),
  r("", "v1", "Pod", "pods", true, {
    shortNames: ["po"],
    categories: ["all"],
    subresources: ["status", "binding", "eviction", "log", "exec", "attach", "portforward"],
    selectableFields: [
      "spec.nodeName",
      "spec.restartPolicy",
      "spec.schedulerName",
      "spec.serviceAccountName",
      "spec.hostNetwork",
      "status.phase",
      "status.podIP",
      "status.nominatedNodeName",
    ],
  }),
  r("", "v1", "Service", "services", true, {
    shortNames: ["svc"],
    categories: ["all"],
    subresources: ["status"],
    verbs: ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
  }),
  r("", "v1", "Endpoints", "endpoints", true, { shortNames: ["ep"], singular: "endpoints", hasSpec: false }),
  r("", "v1", "ConfigMap", "configmaps", true, { shortNames: ["cm"], hasSpec: false }),
  r("", "v1", "Secret", "secrets", true, { selectableFields: ["type"], hasSpec: false }),
  r("", "v1", "Node", "nodes", false, {
    shortNames: ["no"],
    subresources: ["status", "proxy"],
    selectableFields: ["spec.unschedulable"],
  }),
  r("", "v1", "Event", "events", true, {
    shortNames: ["ev"],
    hasSpec: false,
    selectableFields: [
      "involvedObject.kind",
      "involvedObject.namespace",
      "involvedObject.name",
      "involvedObject.uid",
      "involvedObject.apiVersion",
      "involvedObject.resourceVersion",
      "involvedObject.fieldPath",
      "reason",
      "reportingComponent",
      "source",
      "type",
    ],
  }),
  r("", "v1", "ServiceAccount", "serviceaccounts", true, { shortNames: ["sa"], hasSpec: false }),
  r("", "v1", "PersistentVolume", "persistentvolumes", false, {
    shortNames: ["pv"],
    subresources: ["status"],
  }),
  r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", true, {
    shortNames: ["pvc"],
    subresources: ["status"],
  }),
  r("", "v1", "LimitRange", "limitranges", true, { shortNames: ["limits"] }),
  r("", "v1", "ResourceQuota", "resourcequotas", true, { shortNames: ["quota"], subresources: ["status"] }),
  r("apps", "v1", "Deployment", "deployments", true, {
    shortNames: ["deploy"],
    categories: ["all"],
    subresources: ["status", "scale"],
  }),
  r("apps", "v1", "ReplicaSet", "replicasets", true, {
    shortNames: ["rs"],
    categories: ["all"],
    subresources: ["status", "scale"],
  }),
  r("apps", "v1", "DaemonSet", "daemonsets", true, {
    shortNames: ["ds"],
    categories: ["all"],
    subresources: ["status"],
  }),
  r("apps", "v1", "StatefulSet", "statefulsets", true, {
    shortNames: ["sts"],
    categories: ["all"],
    subresources: ["status", "scale"],
  }),
  r("apps", "v1", "ControllerRevision", "controllerrevisions", true, { hasSpec: false }),
  r("batch", "v1", "Job", "jobs", true, { categories: ["all"], subresources: ["status"] }),
  r("batch", "v1", "CronJob", "cronjobs", true, {
    shortNames: ["cj"],
    categories: ["all"],
    subresources: ["status"],
  }),
  r("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, {
    shortNames: ["hpa"],
    categories: ["all"],
    subresources: ["status"],
  }),
  r("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, {
    shortNames: ["hpa"],
    categories: ["all"],
    subresources: ["status"],
    storageVersion: "v2",
  }),
  r("coordination.k8s.io", "v1", "Lease", "leases", true),
  r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", true, { hasSpec: false }),
  r("storage.k8s.io", "v1", "StorageClass", "storageclasses", false, { shortNames: ["sc"], hasSpec: false }),
  r("events.k8s.io", "v1", "Event", "events", true, {
    shortNames: ["ev"],
    hasSpec: false,
    selectableFields: [
      "regarding.kind",
      "regarding.namespace",
      "regarding.name",
      "regarding.uid",
      "regarding.apiVersion",
      "regarding.resourceVersion",
      "regarding.fieldPath",
      "reason",
      "reportingController",
      "type",
    ],
  }),
];

/** "v1" for the core group, "apps/v1" otherwise. */
export function groupVersion(info: Pick<ResourceInfo, "group" | "version">): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

export function findResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((x) => x.group === group && x.version === version && x.plural === plural);
}

export function findKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((x) => groupVersion(x) === apiVersion && x.kind === kind);
}

/** The groups in discovery order (core first), each with its versions. */
export function apiGroups(): { group: string; versions: string[] }[] {
  const out: { group: string; versions: string[] }[] = [];
  for (const x of RESOURCES) {
    let g = out.find((o) => o.group === x.group);
    if (!g) out.push((g = { group: x.group, versions: [] }));
    if (!g.versions.includes(x.version)) g.versions.push(x.version);
  }
  return out;
}
