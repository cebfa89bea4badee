// Defaulting: the values real Kubernetes fills in when a manifest leaves them out
// (pkg/apis/*/v1/defaults.go and their generated defaulters), applied in place to
// an object before it is validated and stored. Also what decoding does on the way
// in: `null` fields are dropped and a Secret's stringData is folded into data.
import type { ResourceInfo } from "../resources";
import { child, defaultPod, defaultPodTemplate, isObj, items, type Obj, setDefault } from "./pod";

export { pullPolicyFor } from "./pod";

/** Drops null-valued fields (Go decoding leaves them unset), recursively, in place. */
export function dropNulls(v: unknown): void {
  if (Array.isArray(v)) {
    for (const x of v) dropNulls(x);
  } else if (isObj(v)) {
    for (const [k, x] of Object.entries(v)) {
      if (x === null) delete v[k];
      else dropNulls(x);
    }
  }
}

function defaultPVCSpec(spec: Obj): void {
  setDefault(spec, "volumeMode", "Filesystem");
}

function defaultDeployment(obj: Obj): void {
  const spec = child(obj, "spec");
  setDefault(spec, "replicas", 1);
  const strategy = child(spec, "strategy");
  setDefault(strategy, "type", "RollingUpdate");
  if (strategy.type === "RollingUpdate") {
    const ru = child(strategy, "rollingUpdate");
    setDefault(ru, "maxUnavailable", "25%");
    setDefault(ru, "maxSurge", "25%");
  }
  setDefault(spec, "revisionHistoryLimit", 10);
  setDefault(spec, "progressDeadlineSeconds", 600);
  defaultPodTemplate(child(spec, "template"));
}

function defaultReplicaSet(obj: Obj): void {
  const spec = child(obj, "spec");
  setDefault(spec, "replicas", 1);
  defaultPodTemplate(child(spec, "template"));
}

function defaultDaemonSet(obj: Obj): void {
  const spec = child(obj, "spec");
  const us = child(spec, "updateStrategy");
  setDefault(us, "type", "RollingUpdate");
  if (us.type === "RollingUpdate") {
    const ru = child(us, "rollingUpdate");
    setDefault(ru, "maxUnavailable", 1);
    setDefault(ru, "maxSurge", 0);
  }
  setDefault(spec, "revisionHistoryLimit", 10);
  defaultPodTemplate(child(spec, "template"));
}

function defaultStatefulSet(obj: Obj): void {
  const spec = child(obj, "spec");
  setDefault(spec, "podManagementPolicy", "OrderedReady");
  const us = child(spec, "updateStrategy");
  setDefault(us, "type", "RollingUpdate");
  if (us.type === "RollingUpdate") setDefault(child(us, "rollingUpdate"), "partition", 0);
  setDefault(spec, "replicas", 1);
  setDefault(spec, "revisionHistoryLimit", 10);
  const retention = child(spec, "persistentVolumeClaimRetentionPolicy");
  setDefault(retention, "whenDeleted", "Retain");
  setDefault(retention, "whenScaled", "Retain");
  for (const pvc of items(spec.volumeClaimTemplates)) {
    defaultPVCSpec(child(pvc, "spec"));
    setDefault(child(pvc, "status"), "phase", "Pending");
  }
  defaultPodTemplate(child(spec, "template"));
}

/**
 * A Job's generated selector (the job strategy's generateSelector): unless
 * manualSelector is true, the pods are selected by the job's uid and labelled with
 * it and the job's name. Needs metadata.uid, so the server assigns the uid first.
 */
function generateJobSelector(obj: Obj): void {
  const spec = child(obj, "spec");
  const meta = child(obj, "metadata");
  if (spec.manualSelector === true || spec.selector !== undefined || typeof meta.uid !== "string") return;
  const labels = child(child(child(spec, "template"), "metadata"), "labels");
  const uid = meta.uid;
  const name = String(meta.name ?? "");
  setDefault(labels, "batch.kubernetes.io/controller-uid", uid);
  setDefault(labels, "batch.kubernetes.io/job-name", name);
  setDefault(labels, "controller-uid", uid);
  setDefault(labels, "job-name", name);
  spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
}

function defaultJob(obj: Obj): void {
  generateJobSelector(obj);
  const spec = child(obj, "spec");
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  setDefault(spec, "parallelism", 1);
  setDefault(spec, "backoffLimit", spec.backoffLimitPerIndex !== undefined ? 2147483647 : 6);
  setDefault(spec, "completionMode", "NonIndexed");
  setDefault(spec, "suspend", false);
  setDefault(
    spec,
    "podReplacementPolicy",
    spec.podFailurePolicy !== undefined ? "Failed" : "TerminatingOrFailed",
  );
  defaultPodTemplate(child(spec, "template"));
  const templateLabels = child(spec, "template").metadata?.labels;
  const meta = child(obj, "metadata");
  if (isObj(templateLabels) && (!isObj(meta.labels) || Object.keys(meta.labels).length === 0))
    meta.labels = { ...templateLabels };
}

function defaultCronJob(obj: Obj): void {
  const spec = child(obj, "spec");
  setDefault(spec, "concurrencyPolicy", "Allow");
  setDefault(spec, "suspend", false);
  setDefault(spec, "successfulJobsHistoryLimit", 3);
  setDefault(spec, "failedJobsHistoryLimit", 1);
  const jobSpec = child(child(spec, "jobTemplate"), "spec");
  defaultPodTemplate(child(jobSpec, "template"));
}

function defaultService(obj: Obj): void {
  const spec = child(obj, "spec");
  setDefault(spec, "sessionAffinity", "None");
  if (spec.sessionAffinity === "ClientIP") {
    setDefault(child(child(spec, "sessionAffinityConfig"), "clientIP"), "timeoutSeconds", 10800);
  }
  setDefault(spec, "type", "ClusterIP");
  for (const port of items(spec.ports)) {
    setDefault(port, "protocol", "TCP");
    if (port.targetPort === undefined || port.targetPort === 0 || port.targetPort === "")
      port.targetPort = port.port;
  }
  if (spec.type === "NodePort" || spec.type === "LoadBalancer")
    setDefault(spec, "externalTrafficPolicy", "Cluster");
  if (spec.type !== "ExternalName") setDefault(spec, "internalTrafficPolicy", "Cluster");
  if (spec.type === "LoadBalancer") setDefault(spec, "allocateLoadBalancerNodePorts", true);
}

/** The decoder folds stringData into data (base64) and drops it; the type defaults to Opaque. */
function defaultSecret(obj: Obj): void {
  setDefault(obj, "type", "Opaque");
  if (isObj(obj.stringData)) {
    const data = child(obj, "data");
    for (const [k, v] of Object.entries(obj.stringData))
      data[k] = Buffer.from(String(v), "utf8").toString("base64");
  }
  delete obj.stringData;
}

function defaultNamespace(obj: Obj): void {
  const meta = child(obj, "metadata");
  if (typeof meta.name === "string" && meta.name)
    child(meta, "labels")["kubernetes.io/metadata.name"] = meta.name;
  const spec = child(obj, "spec");
  if (!Array.isArray(spec.finalizers)) spec.finalizers = ["kubernetes"];
  setDefault(child(obj, "status"), "phase", "Active");
}

function defaultHPA(obj: Obj): void {
  const spec = child(obj, "spec");
  setDefault(spec, "minReplicas", 1);
  if (!Array.isArray(spec.metrics) || spec.metrics.length === 0) {
    spec.metrics = [
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
      },
    ];
  }
  if (isObj(spec.behavior)) {
    const up = child(spec.behavior, "scaleUp");
    setDefault(up, "stabilizationWindowSeconds", 0);
    setDefault(up, "selectPolicy", "Max");
    setDefault(up, "policies", [
      { type: "Pods", value: 4, periodSeconds: 15 },
      { type: "Percent", value: 100, periodSeconds: 15 },
    ]);
    const down = child(spec.behavior, "scaleDown");
    setDefault(down, "stabilizationWindowSeconds", 300);
    setDefault(down, "selectPolicy", "Max");
    setDefault(down, "policies", [{ type: "Percent", value: 100, periodSeconds: 15 }]);
  }
}

/**
 * Applies, in place, the defaults Kubernetes applies to a freshly decoded object
 * of `info`'s kind. Idempotent: defaulting a defaulted object changes nothing.
 */
export function applyDefaults(info: ResourceInfo, obj: object): void {
  const o = obj as Obj;
  dropNulls(o);
  switch (`${info.group}/${info.kind}`) {
    case "/Pod":
      defaultPod(o);
      break;
    case "/Service":
      defaultService(o);
      break;
    case "/Secret":
      defaultSecret(o);
      break;
    case "/Namespace":
      defaultNamespace(o);
      break;
    case "/PersistentVolumeClaim":
      defaultPVCSpec(child(o, "spec"));
      setDefault(child(o, "status"), "phase", "Pending");
      break;
    case "/PersistentVolume": {
      const spec = child(o, "spec");
      setDefault(spec, "persistentVolumeReclaimPolicy", "Retain");
      setDefault(spec, "volumeMode", "Filesystem");
      setDefault(child(o, "status"), "phase", "Pending");
      break;
    }
    case "/Endpoints":
      for (const subset of items(o.subsets))
        for (const port of items(subset.ports)) setDefault(port, "protocol", "TCP");
      break;
    case "/Node": {
      const status = o.status;
      if (isObj(status) && isObj(status.capacity) && status.allocatable === undefined)
        status.allocatable = { ...status.capacity };
      break;
    }
    case "apps/Deployment":
      defaultDeployment(o);
      break;
    case "apps/ReplicaSet":
      defaultReplicaSet(o);
      break;
    case "apps/DaemonSet":
      defaultDaemonSet(o);
      break;
    case "apps/StatefulSet":
      defaultStatefulSet(o);
      break;
    case "batch/Job":
      defaultJob(o);
      break;
    case "batch/CronJob":
      defaultCronJob(o);
      break;
    case "autoscaling/HorizontalPodAutoscaler":
      defaultHPA(o);
      break;
    case "discovery.k8s.io/EndpointSlice":
      for (const port of items(o.ports)) {
        setDefault(port, "protocol", "TCP");
        setDefault(port, "name", "");
      }
      break;
    case "storage.k8s.io/StorageClass":
      setDefault(o, "reclaimPolicy", "Delete");
      setDefault(o, "volumeBindingMode", "Immediate");
      break;
  }
}
