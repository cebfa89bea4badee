// Core and small API group kinds: services, endpoints, nodes, namespaces, configmaps, secrets,
// serviceaccounts, persistent volumes and claims, resource quotas, leases, storage classes and
// endpoint slices, as upstream's printers.go prints them.

import { formatLabels } from "../selectors";
import { age, ageCol, arr, col, int, isDeleting, name, nameCol, str } from "./common";
import { doc } from "./descriptions";
import type { Printer } from "./types";

/**
 * Load balancer addresses, de-duplicated and sorted. Upstream clips them to 16 bytes only in
 * non-wide output, and the API server always prints wide.
 */
function loadBalancerIngress(svc: any): string {
  const seen = new Set<string>();
  for (const i of arr(svc?.status?.loadBalancer?.ingress)) {
    if (i?.ip) seen.add(str(i.ip));
    else if (i?.hostname) seen.add(str(i.hostname));
  }
  return [...seen].sort().join(",");
}

/** getServiceExternalIP. */
export function serviceExternalIP(svc: any): string {
  const externalIPs = arr<string>(svc?.spec?.externalIPs);
  switch (serviceType(svc)) {
    case "ClusterIP":
    case "NodePort":
      return externalIPs.length > 0 ? externalIPs.join(",") : "<none>";
    case "LoadBalancer": {
      const lb = loadBalancerIngress(svc);
      if (externalIPs.length > 0) return [...(lb ? lb.split(",") : []), ...externalIPs].join(",");
      return lb || "<pending>";
    }
    case "ExternalName":
      return str(svc?.spec?.externalName);
    default:
      return "<unknown>";
  }
}

/** The API defaults an unset type to ClusterIP. */
function serviceType(svc: any): string {
  return str(svc?.spec?.type) || "ClusterIP";
}

/** makePortString: "80/TCP", "80:30080/TCP", comma-joined. */
export function servicePorts(ports: unknown): string {
  return arr(ports)
    .map((p) => {
      const proto = str(p?.protocol) || "TCP";
      return int(p?.nodePort) > 0
        ? `${int(p?.port)}:${int(p.nodePort)}/${proto}`
        : `${int(p?.port)}/${proto}`;
    })
    .join(",");
}

export const servicePrinter: Printer = {
  columns: [
    nameCol(),
    col("Type", "string", doc("ServiceSpec.type")),
    col("Cluster-IP", "string", doc("ServiceSpec.clusterIP")),
    col("External-IP", "string", doc("ServiceSpec.externalIPs")),
    col("Port(s)", "string", doc("ServiceSpec.ports")),
    ageCol(),
    col("Selector", "string", doc("ServiceSpec.selector"), 1),
  ],
  row(svc, now) {
    const clusterIPs = arr<string>(svc?.spec?.clusterIPs);
    const clusterIP = clusterIPs.length > 0 ? str(clusterIPs[0]) : str(svc?.spec?.clusterIP);
    return [
      name(svc),
      serviceType(svc),
      clusterIP || "<none>",
      serviceExternalIP(svc),
      servicePorts(svc?.spec?.ports) || "<none>",
      age(svc, now),
      formatLabels(svc?.spec?.selector),
    ];
  },
};

/** net.JoinHostPort: IPv6 addresses in brackets. */
function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** formatEndpoints: up to three "ip:port", then "+ N more...". */
export function formatEndpoints(ep: any): string {
  const subsets = arr(ep?.subsets);
  if (subsets.length === 0) return "<none>";
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addresses = arr(ss?.addresses);
    const ports = arr(ss?.ports);
    if (ports.length === 0) {
      // Headless services may have no ports.
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(str(a?.ip));
      }
      continue;
    }
    for (const p of ports) {
      count += addresses.length;
      for (const a of addresses) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(joinHostPort(str(a?.ip), int(p?.port)));
      }
    }
  }
  const ret = list.join(",");
  return more ? `${ret} + ${count - max} more...` : ret;
}

export const endpointsPrinter: Printer = {
  columns: [nameCol(), col("Endpoints", "string", doc("Endpoints.subsets")), ageCol()],
  row(ep, now) {
    return [name(ep), formatEndpoints(ep), age(ep, now)];
  },
};

const NODE_ROLE_PREFIX = "node-role.kubernetes.io/";
const NODE_ROLE_LABEL = "kubernetes.io/role";

/** findNodeRoles: node-role.kubernetes.io/<role> keys and the kubernetes.io/role value, sorted. */
export function nodeRoles(node: any): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries((node?.metadata?.labels ?? {}) as Record<string, string>)) {
    if (k.startsWith(NODE_ROLE_PREFIX)) {
      const role = k.slice(NODE_ROLE_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === NODE_ROLE_LABEL && v !== "") {
      roles.add(v);
    }
  }
  return [...roles].sort();
}

/** "Ready", "NotReady", "Unknown", with ",SchedulingDisabled" for a cordoned node. */
export function nodeStatus(node: any): string {
  const status: string[] = [];
  // The last condition of a type wins, as in upstream's condition map.
  const ready = arr(node?.status?.conditions)
    .filter((c) => c?.type === "Ready")
    .pop();
  if (ready) status.push(ready.status === "True" ? "Ready" : "NotReady");
  if (status.length === 0) status.push("Unknown");
  if (node?.spec?.unschedulable === true) status.push("SchedulingDisabled");
  return status.join(",");
}

function nodeAddress(node: any, type: string): string {
  const a = arr(node?.status?.addresses).find((x) => x?.type === type);
  return a ? str(a.address) : "<none>";
}

export const nodePrinter: Printer = {
  columns: [
    nameCol(),
    col("Status", "string", "The status of the node"),
    col("Roles", "string", "The roles of the node"),
    ageCol(),
    col("Version", "string", doc("NodeSystemInfo.kubeletVersion")),
    col("Internal-IP", "string", doc("NodeStatus.addresses"), 1),
    col("External-IP", "string", doc("NodeStatus.addresses"), 1),
    col("OS-Image", "string", doc("NodeSystemInfo.osImage"), 1),
    col("Kernel-Version", "string", doc("NodeSystemInfo.kernelVersion"), 1),
    col("Container-Runtime", "string", doc("NodeSystemInfo.containerRuntimeVersion"), 1),
  ],
  row(node, now) {
    const info = node?.status?.nodeInfo ?? {};
    return [
      name(node),
      nodeStatus(node),
      nodeRoles(node).join(",") || "<none>",
      age(node, now),
      str(info.kubeletVersion),
      nodeAddress(node, "InternalIP"),
      nodeAddress(node, "ExternalIP"),
      str(info.osImage) || "<unknown>",
      str(info.kernelVersion) || "<unknown>",
      str(info.containerRuntimeVersion) || "<unknown>",
    ];
  },
};

export const namespacePrinter: Printer = {
  columns: [nameCol(), col("Status", "string", "The status of the namespace"), ageCol()],
  row(ns, now) {
    return [name(ns), str(ns?.status?.phase), age(ns, now)];
  },
};

function keyCount(v: unknown): number {
  return v && typeof v === "object" ? Object.keys(v).length : 0;
}

export const configMapPrinter: Printer = {
  columns: [nameCol(), col("Data", "string", doc("ConfigMap.data")), ageCol()],
  row(cm, now) {
    return [name(cm), keyCount(cm?.data) + keyCount(cm?.binaryData), age(cm, now)];
  },
};

export const secretPrinter: Printer = {
  columns: [
    nameCol(),
    col("Type", "string", doc("Secret.type")),
    col("Data", "string", doc("Secret.data")),
    ageCol(),
  ],
  row(s, now) {
    return [name(s), str(s?.type), keyCount(s?.data), age(s, now)];
  },
};

export const serviceAccountPrinter: Printer = {
  columns: [nameCol(), col("Secrets", "string", doc("ServiceAccount.secrets")), ageCol()],
  row(sa, now) {
    return [name(sa), arr(sa?.secrets).length, age(sa, now)];
  },
};

/** GetAccessModesAsString: RWO, ROX, RWX, RWOP in that order. */
export function accessModes(modes: unknown): string {
  const have = new Set(arr<string>(modes));
  const out: string[] = [];
  if (have.has("ReadWriteOnce")) out.push("RWO");
  if (have.has("ReadOnlyMany")) out.push("ROX");
  if (have.has("ReadWriteMany")) out.push("RWX");
  if (have.has("ReadWriteOncePod")) out.push("RWOP");
  return out.join(",");
}

const BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class";

/** The beta storage-class annotation wins over spec.storageClassName. */
function storageClassOf(obj: any): string {
  const annotations = obj?.metadata?.annotations ?? {};
  if (Object.hasOwn(annotations, BETA_STORAGE_CLASS_ANNOTATION))
    return str(annotations[BETA_STORAGE_CLASS_ANNOTATION]);
  return str(obj?.spec?.storageClassName);
}

function quantity(v: unknown): string {
  return v === undefined || v === null || v === "" ? "0" : String(v);
}

export const persistentVolumePrinter: Printer = {
  columns: [
    nameCol(),
    col("Capacity", "string", doc("PersistentVolumeSpec.capacity")),
    col("Access Modes", "string", doc("PersistentVolumeSpec.accessModes")),
    col("Reclaim Policy", "string", doc("PersistentVolumeSpec.persistentVolumeReclaimPolicy")),
    col("Status", "string", doc("PersistentVolumeStatus.phase")),
    col("Claim", "string", doc("PersistentVolumeSpec.claimRef")),
    col("StorageClass", "string", "StorageClass of the pv"),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pv"),
    col("Reason", "string", doc("PersistentVolumeStatus.reason")),
    ageCol(),
    col("VolumeMode", "string", doc("PersistentVolumeSpec.volumeMode"), 1),
  ],
  row(pv, now) {
    const spec = pv?.spec ?? {};
    const claim = spec.claimRef ? `${str(spec.claimRef.namespace)}/${str(spec.claimRef.name)}` : "";
    return [
      name(pv),
      quantity(spec.capacity?.storage),
      accessModes(spec.accessModes),
      str(spec.persistentVolumeReclaimPolicy),
      isDeleting(pv) ? "Terminating" : str(pv?.status?.phase),
      claim,
      storageClassOf(pv),
      spec.volumeAttributesClassName != null ? str(spec.volumeAttributesClassName) : "<unset>",
      str(pv?.status?.reason),
      age(pv, now),
      spec.volumeMode != null ? str(spec.volumeMode) : "<unset>",
    ];
  },
};

export const persistentVolumeClaimPrinter: Printer = {
  columns: [
    nameCol(),
    col("Status", "string", doc("PersistentVolumeClaimStatus.phase")),
    col("Volume", "string", doc("PersistentVolumeClaimSpec.volumeName")),
    col("Capacity", "string", doc("PersistentVolumeClaimStatus.capacity")),
    col("Access Modes", "string", doc("PersistentVolumeClaimStatus.accessModes")),
    col("StorageClass", "string", "StorageClass of the pvc"),
    col("VolumeAttributesClass", "string", "VolumeAttributesClass of the pvc"),
    ageCol(),
    col("VolumeMode", "string", doc("PersistentVolumeClaimSpec.volumeMode"), 1),
  ],
  row(pvc, now) {
    const spec = pvc?.spec ?? {};
    const bound = str(spec.volumeName) !== "";
    return [
      name(pvc),
      isDeleting(pvc) ? "Terminating" : str(pvc?.status?.phase),
      str(spec.volumeName),
      bound ? quantity(pvc?.status?.capacity?.storage) : "",
      bound ? accessModes(pvc?.status?.accessModes) : "",
      storageClassOf(pvc),
      spec.volumeAttributesClassName != null ? str(spec.volumeAttributesClassName) : "<unset>",
      age(pvc, now),
      spec.volumeMode != null ? str(spec.volumeMode) : "<unset>",
    ];
  },
};

export const resourceQuotaPrinter: Printer = {
  columns: [
    nameCol(),
    ageCol(),
    col(
      "Request",
      "string",
      "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    col(
      "Limit",
      "string",
      "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
  ],
  row(rq, now) {
    const hard = (rq?.status?.hard ?? {}) as Record<string, unknown>;
    const used = (rq?.status?.used ?? {}) as Record<string, unknown>;
    const requests: string[] = [];
    const limits: string[] = [];
    for (const r of Object.keys(hard).sort()) {
      const pieces = r.split(".");
      const target = pieces.length > 1 && pieces[0] === "limits" ? limits : requests;
      target.push(`${r}: ${quantity(used[r])}/${quantity(hard[r])}`);
    }
    return [name(rq), age(rq, now), requests.join(", "), limits.join(", ")];
  },
};

export const leasePrinter: Printer = {
  columns: [nameCol(), col("Holder", "string", doc("LeaseSpec.holderIdentity")), ageCol()],
  row(lease, now) {
    return [name(lease), str(lease?.spec?.holderIdentity), age(lease, now)];
  },
};

function isDefaultClass(sc: any): boolean {
  const a = sc?.metadata?.annotations ?? {};
  return (
    a["storageclass.kubernetes.io/is-default-class"] === "true" ||
    a["storageclass.beta.kubernetes.io/is-default-class"] === "true"
  );
}

export const storageClassPrinter: Printer = {
  columns: [
    nameCol(),
    col("Provisioner", "string", doc("StorageClass.provisioner")),
    col("ReclaimPolicy", "string", doc("StorageClass.reclaimPolicy")),
    col("VolumeBindingMode", "string", doc("StorageClass.volumeBindingMode")),
    col("AllowVolumeExpansion", "string", doc("StorageClass.allowVolumeExpansion")),
    ageCol(),
  ],
  row(sc, now) {
    return [
      isDefaultClass(sc) ? `${name(sc)} (default)` : name(sc),
      str(sc?.provisioner),
      str(sc?.reclaimPolicy) || "Delete",
      str(sc?.volumeBindingMode) || "Immediate",
      sc?.allowVolumeExpansion === true,
      age(sc, now),
    ];
  },
};

/** listWithMoreString: up to three, "+ N more...", "<unset>" when empty. */
function listWithMore(all: string[]): string {
  const max = 3;
  const ret = all.slice(0, max).join(",");
  if (all.length > max) return `${ret} + ${all.length - max} more...`;
  return ret || "<unset>";
}

export const endpointSlicePrinter: Printer = {
  columns: [
    nameCol(),
    col("AddressType", "string", doc("EndpointSlice.addressType")),
    col("Ports", "string", doc("EndpointSlice.ports")),
    col("Endpoints", "string", doc("EndpointSlice.endpoints")),
    ageCol(),
  ],
  row(es, now) {
    const ports = arr(es?.ports).map((p) =>
      p?.port != null ? String(int(p.port)) : p?.name != null ? str(p.name) : "*",
    );
    const addresses = arr(es?.endpoints).flatMap((e) => arr<string>(e?.addresses).map(str));
    return [name(es), str(es?.addressType), listWithMore(ports), listWithMore(addresses), age(es, now)];
  },
};
