import { test } from "uvu";
import * as assert from "uvu/assert";
import { findResource, RESOURCES } from "../../../internal/api/resources";
import {
  fieldSelectorString,
  fieldsOf,
  matchFields,
  parseFieldSelector,
  SelectorError,
  validateFieldSelector,
} from "../../../internal/api/selectors";

const pods = findResource("", "v1", "pods")!;
const nodes = findResource("", "v1", "nodes")!;
const events = findResource("", "v1", "events")!;
const secrets = findResource("", "v1", "secrets")!;
const configmaps = findResource("", "v1", "configmaps")!;
const namespaces = findResource("", "v1", "namespaces")!;

function pod(name: string, nodeName: string | undefined, phase: string): any {
  return {
    metadata: { name, namespace: "default" },
    spec: {
      nodeName,
      restartPolicy: "Always",
      schedulerName: "default-scheduler",
      serviceAccountName: "default",
    },
    status: { phase, podIP: "10.42.0.5", podIPs: [{ ip: "10.42.0.5" }, { ip: "fd00::5" }] },
  };
}

test("a pod's selectable fields come from its spec and status", () => {
  assert.equal(fieldsOf(pods, pod("web-1", "node-1", "Running")), {
    "metadata.name": "web-1",
    "metadata.namespace": "default",
    "spec.nodeName": "node-1",
    "spec.restartPolicy": "Always",
    "spec.schedulerName": "default-scheduler",
    "spec.serviceAccountName": "default",
    "spec.hostNetwork": "false",
    "status.phase": "Running",
    "status.podIP": "10.42.0.5",
    "status.nominatedNodeName": "",
  });
});

test("describe node's pod query selects the node's pods that have not finished", () => {
  const sel = parseFieldSelector("spec.nodeName=node-1,status.phase!=Succeeded,status.phase!=Failed", pods);
  const pick = (p: any) => matchFields(sel, fieldsOf(pods, p));
  assert.ok(pick(pod("a", "node-1", "Running")));
  assert.ok(pick(pod("b", "node-1", "Pending")));
  assert.not.ok(pick(pod("c", "node-1", "Succeeded")));
  assert.not.ok(pick(pod("d", "node-1", "Failed")));
  assert.not.ok(pick(pod("e", "node-2", "Running")));
  assert.not.ok(pick(pod("f", undefined, "Pending")));
});

test("an unscheduled pod is found with spec.nodeName=", () => {
  const sel = parseFieldSelector("spec.nodeName=", pods);
  assert.ok(matchFields(sel, fieldsOf(pods, pod("f", undefined, "Pending"))));
  assert.not.ok(matchFields(sel, fieldsOf(pods, pod("a", "node-1", "Running"))));
});

test("metadata.name and metadata.namespace work on every resource", () => {
  for (const info of RESOURCES) {
    const sel = parseFieldSelector("metadata.name=web,metadata.namespace==default", info);
    assert.ok(
      matchFields(sel, fieldsOf(info, { metadata: { name: "web", namespace: "default" } })),
      info.plural,
    );
    assert.not.ok(
      matchFields(sel, fieldsOf(info, { metadata: { name: "web2", namespace: "default" } })),
      info.plural,
    );
  }
});

test("events select on the involved object, type and source", () => {
  const ev = {
    metadata: { name: "web-1.17d", namespace: "default" },
    involvedObject: { kind: "Pod", name: "web-1", namespace: "default", uid: "u-1", apiVersion: "v1" },
    reason: "Pulled",
    type: "Normal",
    reportingComponent: "kubelet",
  };
  const f = fieldsOf(events, ev);
  assert.is(f.source, "kubelet");
  assert.is(f["involvedObject.fieldPath"], "");
  const describe = parseFieldSelector(
    "involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.uid=u-1,involvedObject.kind=Pod",
    events,
  );
  assert.ok(matchFields(describe, f));
  assert.not.ok(matchFields(parseFieldSelector("type!=Normal", events), f));
  assert.is(
    fieldsOf(events, { ...ev, source: { component: "default-scheduler" } }).source,
    "default-scheduler",
  );
});

test("nodes, secrets and namespaces expose their own fields", () => {
  assert.is(
    fieldsOf(nodes, { metadata: { name: "n" }, spec: { unschedulable: true } })["spec.unschedulable"],
    "true",
  );
  assert.is(fieldsOf(nodes, { metadata: { name: "n" }, spec: {} })["spec.unschedulable"], "false");
  assert.ok(
    matchFields(
      parseFieldSelector("type=kubernetes.io/tls", secrets),
      fieldsOf(secrets, { type: "kubernetes.io/tls" }),
    ),
  );
  assert.ok(
    matchFields(
      parseFieldSelector("status.phase=Active", namespaces),
      fieldsOf(namespaces, { status: { phase: "Active" } }),
    ),
  );
});

test("escaped commas and equals signs are part of the value", () => {
  const sel = parseFieldSelector("metadata.name=a\\,b\\=c\\\\d");
  assert.equal(sel.requirements, [{ field: "metadata.name", op: "=", value: "a,b=c\\d" }]);
  assert.is(fieldSelectorString(sel), "metadata.name=a\\,b\\=c\\\\d");
  assert.equal(parseFieldSelector("").requirements, []);
  assert.equal(parseFieldSelector("b=2,a!=1").requirements, [
    { field: "a", op: "!=", value: "1" },
    { field: "b", op: "=", value: "2" },
  ]);
});

function err(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.instance(e, SelectorError);
    assert.is((e as SelectorError).code, "BadRequest");
    return (e as Error).message;
  }
  throw new Error("accepted");
}

test("malformed field selectors are rejected with the API server's messages", () => {
  assert.is(
    err(() => parseFieldSelector("foo")),
    "invalid selector: 'foo'; can't understand 'foo'",
  );
  assert.is(
    err(() => parseFieldSelector("a=1,bar")),
    "invalid selector: 'a=1,bar'; can't understand 'bar'",
  );
  assert.is(
    err(() => parseFieldSelector("a=b=c")),
    "invalid field selector: unescaped character in value: 61",
  );
  assert.is(
    err(() => parseFieldSelector("a=b,c=d,e")),
    "invalid selector: 'a=b,c=d,e'; can't understand 'e'",
  );
  assert.is(
    err(() => parseFieldSelector("a=b\\x")),
    "invalid field selector: invalid escape sequence: \\x",
  );
  assert.is(
    err(() => parseFieldSelector("a=b\\")),
    "invalid field selector: invalid escape sequence: \\",
  );
});

test("a field the resource does not support is a BadRequest naming it", () => {
  assert.is(
    err(() => parseFieldSelector("spec.foo=bar", pods)),
    "field label not supported: spec.foo",
  );
  assert.is(
    err(() => parseFieldSelector("status.phase=Running", nodes)),
    "field label not supported: status.phase",
  );
  assert.is(
    err(() => parseFieldSelector("data.key=1", configmaps)),
    `"data.key" is not a known field selector: only "metadata.name", "metadata.namespace"`,
  );
});

test("pods accept the old spec.host name for spec.nodeName", () => {
  const sel = validateFieldSelector(pods, parseFieldSelector("spec.host=node-1"));
  assert.equal(sel.requirements, [{ field: "spec.nodeName", op: "=", value: "node-1" }]);
  assert.ok(matchFields(sel, fieldsOf(pods, pod("a", "node-1", "Running"))));
});

test.run();
