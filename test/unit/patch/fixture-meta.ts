// A PatchMeta for Pod, Deployment, Service and ConfigMap written from the tags of the
// Kubernetes API types (k8s.io/api core/v1 and apps/v1: patchStrategy, patchMergeKey,
// +listType, +listMapKey, +mapType/+structType). The schemas in internal/api/schema
// carry the same facts; this copy keeps the patch tests independent of them.

import { type FieldMeta, type PatchMeta, patchMetaFromTable } from "../../../internal/api/patch/meta";

const atomicList: FieldMeta = { type: "array", listType: "atomic" };
const atomicMap: FieldMeta = { type: "object", mapType: "atomic" };
const mergeBy = (key: string, extra: Partial<FieldMeta> = {}): FieldMeta => ({
  type: "array",
  patchStrategy: "merge",
  patchMergeKey: key,
  listType: "map",
  listMapKeys: [key],
  ...extra,
});

function objectMeta(prefix: string): Record<string, FieldMeta> {
  return {
    [`${prefix}.finalizers`]: { type: "array", patchStrategy: "merge", listType: "set" },
    [`${prefix}.ownerReferences`]: mergeBy("uid"),
    [`${prefix}.labels`]: { type: "object" },
    [`${prefix}.annotations`]: { type: "object" },
    [`${prefix}.managedFields`]: atomicList,
  };
}

function container(prefix: string): Record<string, FieldMeta> {
  return {
    [prefix]: mergeBy("name"),
    [`${prefix}.ports`]: mergeBy("containerPort", {
      listMapKeys: ["containerPort", "protocol"],
      listMapKeyDefaults: { protocol: "TCP" },
    }),
    [`${prefix}.env`]: mergeBy("name"),
    [`${prefix}.envFrom`]: atomicList,
    [`${prefix}.volumeMounts`]: mergeBy("mountPath"),
    [`${prefix}.volumeDevices`]: mergeBy("devicePath"),
    [`${prefix}.command`]: atomicList,
    [`${prefix}.args`]: atomicList,
    [`${prefix}.resizePolicy`]: atomicList,
    [`${prefix}.resources.claims`]: { type: "array", listType: "map", listMapKeys: ["name"] },
    [`${prefix}.securityContext.capabilities.add`]: atomicList,
    [`${prefix}.securityContext.capabilities.drop`]: atomicList,
  };
}

function podSpec(prefix: string): Record<string, FieldMeta> {
  return {
    ...container(`${prefix}.containers`),
    ...container(`${prefix}.initContainers`),
    ...container(`${prefix}.ephemeralContainers`),
    [`${prefix}.volumes`]: mergeBy("name", { patchStrategy: "merge,retainKeys" }),
    [`${prefix}.volumes.configMap.items`]: atomicList,
    [`${prefix}.volumes.secret.items`]: atomicList,
    [`${prefix}.imagePullSecrets`]: mergeBy("name"),
    [`${prefix}.hostAliases`]: mergeBy("ip"),
    [`${prefix}.hostAliases.hostnames`]: atomicList,
    [`${prefix}.tolerations`]: atomicList,
    [`${prefix}.readinessGates`]: atomicList,
    [`${prefix}.topologySpreadConstraints`]: mergeBy("topologyKey", {
      listMapKeys: ["topologyKey", "whenUnsatisfiable"],
    }),
    [`${prefix}.topologySpreadConstraints.labelSelector`]: atomicMap,
    [`${prefix}.resourceClaims`]: mergeBy("name", { patchStrategy: "merge,retainKeys" }),
    [`${prefix}.schedulingGates`]: mergeBy("name"),
    [`${prefix}.nodeSelector`]: atomicMap,
    [`${prefix}.dnsConfig.nameservers`]: atomicList,
    [`${prefix}.dnsConfig.searches`]: atomicList,
    [`${prefix}.dnsConfig.options`]: atomicList,
    [`${prefix}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`]: atomicMap,
    [`${prefix}.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution`]: atomicList,
  };
}

const condition = mergeBy("type");

export const POD_TABLE: Record<string, FieldMeta> = {
  ...objectMeta("metadata"),
  ...podSpec("spec"),
  "status.conditions": condition,
  "status.podIPs": mergeBy("ip"),
  // Merged by ip for strategic merge patch, but atomic for server-side apply.
  "status.hostIPs": { type: "array", patchStrategy: "merge", patchMergeKey: "ip", listType: "atomic" },
  "status.containerStatuses": atomicList,
  "status.initContainerStatuses": atomicList,
};
export const POD_META: PatchMeta = patchMetaFromTable(POD_TABLE);

export const DEPLOYMENT_TABLE: Record<string, FieldMeta> = {
  ...objectMeta("metadata"),
  "spec.selector": atomicMap,
  "spec.strategy": { type: "object", patchStrategy: "retainKeys" },
  ...objectMeta("spec.template.metadata"),
  ...podSpec("spec.template.spec"),
  "status.conditions": condition,
};
export const DEPLOYMENT_META: PatchMeta = patchMetaFromTable(DEPLOYMENT_TABLE);

export const SERVICE_TABLE: Record<string, FieldMeta> = {
  ...objectMeta("metadata"),
  "spec.ports": mergeBy("port", {
    listMapKeys: ["port", "protocol"],
    listMapKeyDefaults: { protocol: "TCP" },
  }),
  "spec.selector": atomicMap,
  "spec.externalIPs": atomicList,
  "spec.clusterIPs": atomicList,
  "spec.ipFamilies": atomicList,
  "status.conditions": condition,
  "status.loadBalancer.ingress": atomicList,
};
export const SERVICE_META: PatchMeta = patchMetaFromTable(SERVICE_TABLE);

export const CONFIGMAP_TABLE: Record<string, FieldMeta> = {
  ...objectMeta("metadata"),
  data: { type: "object" },
  binaryData: { type: "object" },
};
export const CONFIGMAP_META: PatchMeta = patchMetaFromTable(CONFIGMAP_TABLE);
