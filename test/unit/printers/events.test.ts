import { test } from "uvu";
import * as assert from "uvu/assert";
import { printerFor } from "../../../internal/api/printers";
import { findResource } from "../../../internal/api/resources";

const NOW = Date.parse("2024-06-01T12:00:00Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const S = 1000;
const M = 60 * S;

const core = printerFor(findResource("", "v1", "events")!);
const v1 = printerFor(findResource("events.k8s.io", "v1", "events")!);

test("event columns: Last Seen, Type, Reason, Object, Message; the rest with -o wide", () => {
  assert.equal(
    core.columns.map((c) => (c.priority > 0 ? `${c.name}*` : c.name)),
    [
      "Last Seen",
      "Type",
      "Reason",
      "Object",
      "Subobject*",
      "Source*",
      "Message",
      "First Seen*",
      "Count*",
      "Name*",
    ],
  );
  assert.is(core.columns.find((c) => c.name === "Name")?.format, "name");
  assert.equal(v1.columns, core.columns);
});

test("a core event prints its object as kind/name and its source", () => {
  const ev = {
    metadata: { name: "web-1.17d", namespace: "default", creationTimestamp: ago(10 * M) },
    involvedObject: { kind: "Pod", name: "web-1", namespace: "default", fieldPath: "spec.containers{app}" },
    reason: "Pulled",
    message: 'Successfully pulled image "nginx"\n',
    source: { component: "kubelet", host: "node-1" },
    firstTimestamp: ago(10 * M),
    lastTimestamp: ago(2 * M),
    count: 4,
    type: "Normal",
  };
  assert.equal(core.row(ev, NOW), [
    "2m",
    "Normal",
    "Pulled",
    "pod/web-1",
    "spec.containers{app}",
    "kubelet, node-1",
    'Successfully pulled image "nginx"',
    "10m",
    4,
    "web-1.17d",
  ]);
});

test("an event with only eventTime and a reporting controller counts once", () => {
  const ev = {
    metadata: { name: "e1", namespace: "default" },
    involvedObject: { kind: "Node", name: "node-1" },
    reason: "RegisteredNode",
    message: "Node node-1 event",
    eventTime: "2024-06-01T11:59:29.876543Z",
    reportingComponent: "node-controller",
    type: "Normal",
  };
  assert.equal(core.row(ev, NOW), [
    "30s",
    "Normal",
    "RegisteredNode",
    "node/node-1",
    "",
    "node-controller",
    "Node node-1 event",
    "30s",
    1,
    "e1",
  ]);
});

test("a series event takes its last time and count from the series", () => {
  const ev = {
    metadata: { name: "e2" },
    involvedObject: { kind: "Pod" },
    reason: "BackOff",
    type: "Warning",
    eventTime: ago(20 * M),
    series: { count: 12, lastObservedTime: ago(45 * S) },
  };
  assert.equal(core.row(ev, NOW).slice(0, 4), ["45s", "Warning", "BackOff", "pod"]);
  assert.equal(core.row(ev, NOW).slice(7, 9), ["20m", 12]);
  assert.equal(core.row({ metadata: { name: "e3" }, involvedObject: {} }, NOW)[0], "<unknown>");
});

test("an events.k8s.io event prints like the core event it is stored as", () => {
  const ev = {
    apiVersion: "events.k8s.io/v1",
    kind: "Event",
    metadata: { name: "web-1.17d", namespace: "default" },
    regarding: { kind: "Pod", name: "web-1", namespace: "default" },
    note: "Started container app",
    reason: "Started",
    type: "Normal",
    eventTime: ago(3 * M),
    reportingController: "kubelet",
    reportingInstance: "node-1",
    deprecatedCount: 2,
    deprecatedFirstTimestamp: ago(9 * M),
    deprecatedLastTimestamp: ago(3 * M),
  };
  assert.equal(v1.row(ev, NOW), [
    "3m",
    "Normal",
    "Started",
    "pod/web-1",
    "",
    "kubelet, node-1",
    "Started container app",
    "9m",
    2,
    "web-1.17d",
  ]);
});

test.run();
