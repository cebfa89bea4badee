// The Kubernetes schema extensions that the TypeScript declarations in
// `kubernetes-types` do not carry: patch strategies and merge keys
// (`+patchStrategy`/`+patchMergeKey` tags), list and map types (`+listType`,
// `+listMapKey`, `+mapType`, `+structType`) and 64-bit integers. They are taken
// from the tags in k8s.io/api and k8s.io/apimachinery (v1.30) and applied by the
// generator, so the generated schemas carry them exactly where upstream does.

export interface FieldExtension {
  /** x-kubernetes-patch-strategy ("merge", "retainKeys" or "merge,retainKeys"). */
  strategy?: string;
  /** x-kubernetes-patch-merge-key. */
  key?: string;
  /** x-kubernetes-list-type. */
  list?: "atomic" | "set" | "map";
  /** x-kubernetes-list-map-keys. */
  mapKeys?: string[];
  /** x-kubernetes-map-type on a map or struct field. */
  map?: "atomic" | "granular";
}

const merge = (key: string, mapKeys: string[] = [key], list: "map" | "atomic" = "map"): FieldExtension => ({
  strategy: "merge",
  key,
  list,
  mapKeys: list === "map" ? mapKeys : undefined,
});
const atomic: FieldExtension = { list: "atomic" };
const set: FieldExtension = { list: "set" };
const conditions = merge("type");

const CORE = "io.k8s.api.core.v1.";
const META = "io.k8s.apimachinery.pkg.apis.meta.v1.";

/** Field extensions by definition name, then by property name. */
export const FIELD_EXTENSIONS: Record<string, Record<string, FieldExtension>> = {
  [`${META}ObjectMeta`]: {
    finalizers: { strategy: "merge", list: "set" },
    ownerReferences: merge("uid"),
    managedFields: atomic,
  },
  [`${META}LabelSelector`]: { matchExpressions: atomic },
  [`${META}LabelSelectorRequirement`]: { values: atomic },
  [`${META}StatusDetails`]: { causes: atomic },
  [`${META}DeleteOptions`]: { dryRun: atomic },
  [`${META}APIResource`]: { verbs: atomic, shortNames: atomic, categories: atomic },

  [`${CORE}PodSpec`]: {
    volumes: { ...merge("name"), strategy: "merge,retainKeys" },
    initContainers: merge("name"),
    containers: merge("name"),
    ephemeralContainers: merge("name"),
    imagePullSecrets: merge("name"),
    tolerations: atomic,
    hostAliases: merge("ip"),
    readinessGates: atomic,
    topologySpreadConstraints: merge("topologyKey", ["topologyKey", "whenUnsatisfiable"]),
    schedulingGates: merge("name"),
    resourceClaims: { ...merge("name"), strategy: "merge,retainKeys" },
  },
  [`${CORE}PodStatus`]: {
    conditions,
    podIPs: merge("ip"),
    hostIPs: merge("ip", ["ip"], "atomic"),
    initContainerStatuses: atomic,
    containerStatuses: atomic,
    ephemeralContainerStatuses: atomic,
    resourceClaimStatuses: { ...merge("name"), strategy: "merge,retainKeys" },
  },
  [`${CORE}Container`]: containerFields(),
  [`${CORE}EphemeralContainer`]: containerFields(),
  [`${CORE}ResourceRequirements`]: { claims: { list: "map", mapKeys: ["name"] } },
  [`${CORE}PodDNSConfig`]: { nameservers: atomic, searches: atomic, options: atomic },
  [`${CORE}PodSecurityContext`]: { supplementalGroups: atomic, sysctls: atomic },
  [`${CORE}Capabilities`]: { add: atomic, drop: atomic },
  [`${CORE}ExecAction`]: { command: atomic },
  [`${CORE}HTTPGetAction`]: { httpHeaders: atomic },
  [`${CORE}ConfigMapVolumeSource`]: { items: atomic },
  [`${CORE}SecretVolumeSource`]: { items: atomic },
  [`${CORE}ConfigMapProjection`]: { items: atomic },
  [`${CORE}SecretProjection`]: { items: atomic },
  [`${CORE}ProjectedVolumeSource`]: { sources: atomic },
  [`${CORE}DownwardAPIVolumeSource`]: { items: atomic },
  [`${CORE}NodeSelector`]: { nodeSelectorTerms: atomic },
  [`${CORE}NodeSelectorTerm`]: { matchExpressions: atomic, matchFields: atomic },
  [`${CORE}NodeSelectorRequirement`]: { values: atomic },
  [`${CORE}NodeAffinity`]: { preferredDuringSchedulingIgnoredDuringExecution: atomic },
  [`${CORE}PodAffinity`]: {
    requiredDuringSchedulingIgnoredDuringExecution: atomic,
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  [`${CORE}PodAntiAffinity`]: {
    requiredDuringSchedulingIgnoredDuringExecution: atomic,
    preferredDuringSchedulingIgnoredDuringExecution: atomic,
  },
  [`${CORE}PodAffinityTerm`]: { namespaces: atomic, matchLabelKeys: atomic, mismatchLabelKeys: atomic },
  [`${CORE}TopologySpreadConstraint`]: { matchLabelKeys: atomic },
  [`${CORE}ServiceSpec`]: {
    ports: merge("port", ["port", "protocol"]),
    clusterIPs: atomic,
    externalIPs: atomic,
    loadBalancerSourceRanges: atomic,
    ipFamilies: atomic,
  },
  [`${CORE}ServiceStatus`]: { conditions },
  [`${CORE}LoadBalancerStatus`]: { ingress: atomic },
  [`${CORE}LoadBalancerIngress`]: { ports: atomic },
  [`${CORE}ServiceAccount`]: { secrets: merge("name"), imagePullSecrets: atomic },
  [`${CORE}NodeSpec`]: { podCIDRs: { strategy: "merge", list: "set" }, taints: atomic },
  [`${CORE}NodeStatus`]: {
    conditions,
    addresses: merge("type"),
    volumesInUse: atomic,
    volumesAttached: atomic,
    images: atomic,
  },
  [`${CORE}ContainerImage`]: { names: atomic },
  [`${CORE}NamespaceSpec`]: { finalizers: atomic },
  [`${CORE}NamespaceStatus`]: { conditions },
  [`${CORE}PersistentVolumeClaimSpec`]: { accessModes: atomic },
  [`${CORE}PersistentVolumeClaimStatus`]: { conditions, accessModes: atomic },
  [`${CORE}PersistentVolumeSpec`]: { accessModes: atomic, mountOptions: atomic },
  [`${CORE}Endpoints`]: { subsets: atomic },
  [`${CORE}EndpointSubset`]: { addresses: atomic, notReadyAddresses: atomic, ports: atomic },
  [`${CORE}LimitRangeSpec`]: { limits: atomic },
  [`${CORE}ResourceQuotaSpec`]: { scopes: atomic },
  [`${CORE}ScopeSelector`]: { matchExpressions: atomic },
  [`${CORE}ScopedResourceSelectorRequirement`]: { values: atomic },

  "io.k8s.api.apps.v1.DeploymentSpec": { strategy: { strategy: "retainKeys" } },
  "io.k8s.api.apps.v1.DeploymentStatus": { conditions },
  "io.k8s.api.apps.v1.ReplicaSetStatus": { conditions },
  "io.k8s.api.apps.v1.DaemonSetStatus": { conditions },
  "io.k8s.api.apps.v1.StatefulSetSpec": { volumeClaimTemplates: atomic },
  "io.k8s.api.apps.v1.StatefulSetStatus": { conditions },
  "io.k8s.api.batch.v1.JobStatus": { conditions: merge("type", ["type"], "atomic") },
  "io.k8s.api.batch.v1.CronJobStatus": { active: atomic },
  "io.k8s.api.batch.v1.PodFailurePolicy": { rules: atomic },
  "io.k8s.api.batch.v1.PodFailurePolicyRule": { onPodConditions: atomic },
  "io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement": { values: set },
  "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerSpec": { metrics: atomic },
  "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus": {
    currentMetrics: atomic,
    conditions,
  },
  "io.k8s.api.autoscaling.v2.HPAScalingRules": { policies: atomic },
  "io.k8s.api.discovery.v1.EndpointSlice": { endpoints: atomic, ports: atomic },
  "io.k8s.api.discovery.v1.Endpoint": { addresses: set },
  "io.k8s.api.storage.v1.StorageClass": { mountOptions: atomic, allowedTopologies: atomic },
};

function containerFields(): Record<string, FieldExtension> {
  return {
    ports: merge("containerPort", ["containerPort", "protocol"]),
    env: merge("name"),
    envFrom: atomic,
    volumeMounts: merge("mountPath"),
    volumeDevices: merge("devicePath"),
    command: atomic,
    args: atomic,
    resizePolicy: atomic,
  };
}

/** Structs that upstream marks `+structType=atomic` (replaced whole by a patch). */
export const ATOMIC_STRUCTS: string[] = [
  `${META}LabelSelector`,
  `${META}OwnerReference`,
  `${CORE}ObjectReference`,
  `${CORE}LocalObjectReference`,
  `${CORE}TypedLocalObjectReference`,
  `${CORE}NodeSelector`,
  `${CORE}NodeSelectorTerm`,
  `${CORE}TopologySelectorTerm`,
  `${CORE}ConfigMapKeySelector`,
  `${CORE}SecretKeySelector`,
  `${CORE}ObjectFieldSelector`,
  `${CORE}ResourceFieldSelector`,
  `${CORE}ConfigMapEnvSource`,
  `${CORE}SecretEnvSource`,
];

/**
 * Numbers are int32 in the declarations unless listed here as int64 (Go int64 in
 * k8s.io/api). kubernetes-types writes both as `number`.
 */
export const INT64_FIELDS: Record<string, string[]> = {
  [`${META}ObjectMeta`]: ["generation", "deletionGracePeriodSeconds"],
  [`${META}ListMeta`]: ["remainingItemCount"],
  [`${META}DeleteOptions`]: ["gracePeriodSeconds"],
  [`${CORE}PodSpec`]: ["terminationGracePeriodSeconds", "activeDeadlineSeconds"],
  [`${CORE}Probe`]: ["terminationGracePeriodSeconds"],
  [`${CORE}PodSecurityContext`]: ["runAsUser", "runAsGroup", "fsGroup", "supplementalGroups"],
  [`${CORE}SecurityContext`]: ["runAsUser", "runAsGroup"],
  [`${CORE}ContainerStateTerminated`]: [],
  [`${CORE}ServiceAccountTokenProjection`]: ["expirationSeconds"],
  [`${CORE}NamespaceCondition`]: [],
  "io.k8s.api.apps.v1.DeploymentStatus": ["observedGeneration"],
  "io.k8s.api.apps.v1.ReplicaSetStatus": ["observedGeneration"],
  "io.k8s.api.apps.v1.DaemonSetStatus": ["observedGeneration"],
  "io.k8s.api.apps.v1.StatefulSetStatus": ["observedGeneration"],
  "io.k8s.api.apps.v1.ControllerRevision": ["revision"],
  "io.k8s.api.batch.v1.JobSpec": ["activeDeadlineSeconds"],
  "io.k8s.api.batch.v1.CronJobSpec": ["startingDeadlineSeconds"],
  "io.k8s.api.autoscaling.v2.HorizontalPodAutoscalerStatus": ["observedGeneration"],
  "io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerStatus": ["observedGeneration"],
  [`${META}Condition`]: ["observedGeneration"],
};

/**
 * Field defaults the schemas declare (`default`), as upstream's OpenAPI does for the
 * keys of list maps: server-side apply treats an omitted protocol as "TCP".
 */
export const FIELD_DEFAULTS: Record<string, Record<string, unknown>> = {
  [`${CORE}ContainerPort`]: { protocol: "TCP" },
  [`${CORE}ServicePort`]: { protocol: "TCP" },
  [`${CORE}EndpointPort`]: { protocol: "TCP" },
};

/**
 * Closed sets of values (upstream's `+enum` types), which kube-openapi publishes as
 * `enum` and `kubectl explain` lists. Validation reports other values itself with
 * upstream's NotSupported message, so ajv does not check these.
 */
export const FIELD_ENUMS: Record<string, Record<string, string[]>> = {
  [`${CORE}PodSpec`]: {
    restartPolicy: ["Always", "Never", "OnFailure"],
    dnsPolicy: ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
    preemptionPolicy: ["Never", "PreemptLowerPriority"],
  },
  [`${CORE}Container`]: {
    imagePullPolicy: ["Always", "IfNotPresent", "Never"],
    terminationMessagePolicy: ["FallbackToLogsOnError", "File"],
  },
  [`${CORE}EphemeralContainer`]: {
    imagePullPolicy: ["Always", "IfNotPresent", "Never"],
    terminationMessagePolicy: ["FallbackToLogsOnError", "File"],
  },
  [`${CORE}ContainerPort`]: { protocol: ["SCTP", "TCP", "UDP"] },
  [`${CORE}ServicePort`]: { protocol: ["SCTP", "TCP", "UDP"] },
  [`${CORE}ServiceSpec`]: {
    type: ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    sessionAffinity: ["ClientIP", "None"],
    externalTrafficPolicy: ["Cluster", "Local"],
    internalTrafficPolicy: ["Cluster", "Local"],
  },
  [`${CORE}Toleration`]: {
    operator: ["Equal", "Exists"],
    effect: ["NoExecute", "NoSchedule", "PreferNoSchedule"],
  },
  [`${CORE}Taint`]: { effect: ["NoExecute", "NoSchedule", "PreferNoSchedule"] },
  [`${CORE}PersistentVolumeClaimSpec`]: { volumeMode: ["Block", "Filesystem"] },
  [`${CORE}PodStatus`]: { phase: ["Failed", "Pending", "Running", "Succeeded", "Unknown"] },
  [`${CORE}NamespaceStatus`]: { phase: ["Active", "Terminating"] },
  [`${CORE}PersistentVolumeClaimStatus`]: { phase: ["Bound", "Lost", "Pending"] },
  "io.k8s.api.apps.v1.DeploymentStrategy": { type: ["Recreate", "RollingUpdate"] },
  "io.k8s.api.apps.v1.DaemonSetUpdateStrategy": { type: ["OnDelete", "RollingUpdate"] },
  "io.k8s.api.apps.v1.StatefulSetUpdateStrategy": { type: ["OnDelete", "RollingUpdate"] },
  "io.k8s.api.apps.v1.StatefulSetSpec": { podManagementPolicy: ["OrderedReady", "Parallel"] },
  "io.k8s.api.batch.v1.JobSpec": {
    completionMode: ["Indexed", "NonIndexed"],
    podReplacementPolicy: ["Failed", "TerminatingOrFailed"],
  },
  "io.k8s.api.batch.v1.CronJobSpec": { concurrencyPolicy: ["Allow", "Forbid", "Replace"] },
};
