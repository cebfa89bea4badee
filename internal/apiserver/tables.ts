// meta.k8s.io/v1 Table and PartialObjectMetadata responses: what `kubectl get` asks for.
import { printerFor } from "../api/printers";
import type { ResourceInfo } from "../api/resources";
import { mediaParams } from "./discovery";
import type { KObject } from "./objects";

export interface TableOptions {
  table: boolean;
  partial: boolean;
  includeObject: "None" | "Metadata" | "Object";
}

function acceptsAs(accept: string | undefined, as: string): boolean {
  if (!accept) return false;
  return accept.split(",").some((part) => {
    const p = mediaParams(part);
    return (
      p.type === "application/json" &&
      p.as === as &&
      p.g === "meta.k8s.io" &&
      (p.v === "v1" || p.v === "v1beta1")
    );
  });
}

export function wantsTable(accept: string | undefined): boolean {
  return acceptsAs(accept, "Table");
}

export function wantsPartialMetadata(accept: string | undefined): boolean {
  return acceptsAs(accept, "PartialObjectMetadata") || acceptsAs(accept, "PartialObjectMetadataList");
}

export function toPartialMetadata(obj: KObject): KObject {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
}

/** Renders objects as a Table; `noHeaders` leaves the columns out (watch events after the first). */
export function toTable(
  info: ResourceInfo,
  items: KObject[],
  opts: TableOptions,
  listMeta: { resourceVersion?: string; continue?: string; remainingItemCount?: number },
  noHeaders = false,
): KObject {
  const printer = printerFor(info);
  const now = Date.now();
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: {
      ...(listMeta.resourceVersion ? { resourceVersion: listMeta.resourceVersion } : {}),
      ...(listMeta.continue ? { continue: listMeta.continue } : {}),
      ...(listMeta.remainingItemCount !== undefined
        ? { remainingItemCount: listMeta.remainingItemCount }
        : {}),
    },
    columnDefinitions: noHeaders ? [] : printer.columns,
    rows: items.map((obj) => ({
      cells: printer.row(obj, now),
      ...(printer.conditions?.(obj) ? { conditions: printer.conditions(obj) } : {}),
      ...(opts.includeObject === "None"
        ? {}
        : { object: opts.includeObject === "Object" ? obj : toPartialMetadata(obj) }),
    })),
  };
}
