// `kubectl get events`: core/v1 and events.k8s.io/v1 Events share one printer upstream (both
// are stored as the internal core Event), so an events.k8s.io object is read through the core
// field names first.

import { formatAge } from "../duration";
import { col, int, str } from "./common";
import { doc } from "./descriptions";
import type { Printer } from "./types";

/** events.k8s.io/v1 Event fields under their core/v1 names. */
export function coreEventFromEventsV1(ev: any): any {
  return {
    metadata: ev?.metadata,
    involvedObject: ev?.regarding ?? {},
    reason: ev?.reason,
    message: ev?.note,
    source: ev?.deprecatedSource ?? {},
    firstTimestamp: ev?.deprecatedFirstTimestamp,
    lastTimestamp: ev?.deprecatedLastTimestamp,
    count: ev?.deprecatedCount,
    type: ev?.type,
    eventTime: ev?.eventTime,
    series: ev?.series,
    action: ev?.action,
    related: ev?.related,
    reportingComponent: ev?.reportingController,
    reportingInstance: ev?.reportingInstance,
  };
}

/** formatEventSource: "component, host", each falling back to the reporting controller/instance. */
function eventSource(ev: any): string {
  const component = str(ev?.source?.component) || str(ev?.reportingComponent);
  const instance = str(ev?.source?.host) || str(ev?.reportingInstance);
  return instance ? `${component}, ${instance}` : component;
}

function eventRow(ev: any, now: number): unknown[] {
  const first = ev?.firstTimestamp ? formatAge(ev.firstTimestamp, now) : formatAge(ev?.eventTime, now);
  let last = ev?.lastTimestamp ? formatAge(ev.lastTimestamp, now) : first;
  let count = int(ev?.count);
  if (ev?.series) {
    last = formatAge(ev.series.lastObservedTime, now);
    count = int(ev.series.count);
  } else if (count === 0) {
    // Singleton events of the new API carry no count.
    count = 1;
  }
  const kind = str(ev?.involvedObject?.kind).toLowerCase();
  const objName = str(ev?.involvedObject?.name);
  return [
    last,
    str(ev?.type),
    str(ev?.reason),
    objName ? `${kind}/${objName}` : kind,
    str(ev?.involvedObject?.fieldPath),
    eventSource(ev),
    str(ev?.message).trim(),
    first,
    count,
    str(ev?.metadata?.name),
  ];
}

const columns = [
  col("Last Seen", "string", doc("Event.lastTimestamp")),
  col("Type", "string", doc("Event.type")),
  col("Reason", "string", doc("Event.reason")),
  col("Object", "string", doc("Event.involvedObject")),
  col("Subobject", "string", doc("ObjectReference.fieldPath"), 1),
  col("Source", "string", doc("Event.source"), 1),
  col("Message", "string", doc("Event.message")),
  col("First Seen", "string", doc("Event.firstTimestamp"), 1),
  col("Count", "string", doc("Event.count"), 1),
  { name: "Name", type: "string", format: "name", description: doc("ObjectMeta.name"), priority: 1 },
];

export const eventPrinter: Printer = { columns, row: eventRow };

export const eventsV1Printer: Printer = {
  columns,
  row: (ev, now) => eventRow(coreEventFromEventsV1(ev), now),
};
