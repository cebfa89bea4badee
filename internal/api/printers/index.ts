// Table printers for `kubectl get` (as=Table): one per served kind, columns and cells as a
// Kubernetes 1.32 API server prints them (pkg/printers/internalversion). Imports: ../resources
// (types), ../duration, ../selectors.

import type { ResourceInfo } from "../resources";
import {
  configMapPrinter,
  endpointSlicePrinter,
  endpointsPrinter,
  leasePrinter,
  namespacePrinter,
  nodePrinter,
  persistentVolumeClaimPrinter,
  persistentVolumePrinter,
  resourceQuotaPrinter,
  secretPrinter,
  serviceAccountPrinter,
  servicePrinter,
  storageClassPrinter,
} from "./core";
import { defaultPrinter, formatCreatedAt } from "./default";
import { eventPrinter, eventsV1Printer } from "./events";
import { podPrinter } from "./pods";
import type { Printer } from "./types";
import {
  controllerRevisionPrinter,
  cronJobPrinter,
  daemonSetPrinter,
  deploymentPrinter,
  hpaPrinter,
  jobPrinter,
  replicaSetPrinter,
  statefulSetPrinter,
} from "./workloads";

export { nodeRoles, nodeStatus } from "./core";
export { podStatusCells } from "./pods";
export type { Printer, TableColumnDefinition, TableRowCondition } from "./types";
export { jobStatus } from "./workloads";
export { defaultPrinter, formatCreatedAt };

const PRINTERS: Record<string, Printer> = {
  "/Pod": podPrinter,
  "/Service": servicePrinter,
  "/Endpoints": endpointsPrinter,
  "/Node": nodePrinter,
  "/Namespace": namespacePrinter,
  "/ConfigMap": configMapPrinter,
  "/Secret": secretPrinter,
  "/ServiceAccount": serviceAccountPrinter,
  "/PersistentVolume": persistentVolumePrinter,
  "/PersistentVolumeClaim": persistentVolumeClaimPrinter,
  "/ResourceQuota": resourceQuotaPrinter,
  "/Event": eventPrinter,
  "apps/Deployment": deploymentPrinter,
  "apps/ReplicaSet": replicaSetPrinter,
  "apps/DaemonSet": daemonSetPrinter,
  "apps/StatefulSet": statefulSetPrinter,
  "apps/ControllerRevision": controllerRevisionPrinter,
  "batch/Job": jobPrinter,
  "batch/CronJob": cronJobPrinter,
  "autoscaling/HorizontalPodAutoscaler": hpaPrinter,
  "coordination.k8s.io/Lease": leasePrinter,
  "discovery.k8s.io/EndpointSlice": endpointSlicePrinter,
  "storage.k8s.io/StorageClass": storageClassPrinter,
  "events.k8s.io/Event": eventsV1Printer,
};

/**
 * The printer for a resource. Kinds upstream has no printer for (LimitRange, and anything
 * else) get the API server's default table: Name and "Created At".
 */
export function printerFor(info: Pick<ResourceInfo, "group" | "kind">): Printer {
  return PRINTERS[`${info.group}/${info.kind}`] ?? defaultPrinter;
}
