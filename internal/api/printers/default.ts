// The API server's default table (apiserver registry/rest defaultTableConvertor), used for
// kinds without a dedicated printer: Name and the creation time as an RFC 3339 date.

import { parseTimestamp } from "../duration";
import { name, nameCol } from "./common";
import { doc } from "./descriptions";
import type { Printer } from "./types";

/** time.Time.UTC().Format(time.RFC3339): second precision, "Z"; Go's zero time when unset. */
export function formatCreatedAt(ts: unknown): string {
  const t = parseTimestamp(ts);
  if (t === undefined) return "0001-01-01T00:00:00Z";
  return `${new Date(Math.floor(t / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

export const defaultPrinter: Printer = {
  columns: [
    nameCol(),
    {
      name: "Created At",
      type: "date",
      format: "",
      description: doc("ObjectMeta.creationTimestamp"),
      priority: 0,
    },
  ],
  row(obj) {
    return [name(obj), formatCreatedAt(obj?.metadata?.creationTimestamp)];
  },
};
