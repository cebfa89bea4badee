// Building blocks shared by the printers: column definitions and the cells several kinds
// print the same way.

import { formatAge } from "../duration";
import { doc } from "./descriptions";
import type { TableColumnDefinition } from "./types";

export function col(name: string, type: string, description: string, priority = 0): TableColumnDefinition {
  return { name, type, format: "", description, priority };
}

/** The Name column (format "name", which kubectl uses for `-o name` and sorting). */
export function nameCol(): TableColumnDefinition {
  return { name: "Name", type: "string", format: "name", description: doc("ObjectMeta.name"), priority: 0 };
}

export function ageCol(): TableColumnDefinition {
  return col("Age", "string", doc("ObjectMeta.creationTimestamp"));
}

export const CONTAINERS_DESC = "Names of each container in the template.";
export const IMAGES_DESC = "Images referenced by each container in the template.";

/** Wide Containers and Images columns. */
export function templateCols(): TableColumnDefinition[] {
  return [col("Containers", "string", CONTAINERS_DESC, 1), col("Images", "string", IMAGES_DESC, 1)];
}

export function name(obj: any): string {
  return str(obj?.metadata?.name);
}

export function age(obj: any, now: number): string {
  return formatAge(obj?.metadata?.creationTimestamp, now);
}

export function str(v: unknown): string {
  return typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
}

/** An int32/int64 cell: a JSON number, 0 when unset. */
export function int(v: unknown): number {
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : 0;
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

export function arr<T = any>(v: unknown): T[] {
  return Array.isArray(v) ? (v as T[]) : [];
}

export function isDeleting(obj: any): boolean {
  return typeof obj?.metadata?.deletionTimestamp === "string" && obj.metadata.deletionTimestamp !== "";
}

/** layoutContainerCells: container names and images, comma-joined. */
export function containerCells(containers: unknown): [string, string] {
  const list = arr(containers);
  return [list.map((c) => str(c?.name)).join(","), list.map((c) => str(c?.image)).join(",")];
}

/** Whether a condition of this type is present and "True" (the first of that type decides). */
export function hasCondition(conditions: unknown, type: string): boolean {
  const c = arr(conditions).find((x) => x?.type === type);
  return c !== undefined && c.status === "True";
}

/** The elements of a list, or "<none>" (many cells print that for nothing). */
export function orNone(s: string): string {
  return s === "" ? "<none>" : s;
}
