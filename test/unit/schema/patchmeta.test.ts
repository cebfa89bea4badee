import { test } from "uvu";
import * as assert from "uvu/assert";
import { patchMetaFor } from "../../../internal/api/schema";

const pod = patchMetaFor("", "v1", "Pod");
const deploy = patchMetaFor("apps", "v1", "Deployment");

test("containers, init containers and volumes merge by name", () => {
  for (const f of ["containers", "initContainers", "volumes", "imagePullSecrets"]) {
    const m = pod.lookup(["spec", f]);
    assert.is(m?.patchMergeKey, "name", f);
    assert.match(String(m?.patchStrategy), /^merge/, f);
    assert.is(m?.listType, "map", f);
    assert.equal(m?.listMapKeys, ["name"], f);
  }
  assert.is(pod.lookup(["spec", "volumes"])?.patchStrategy, "merge,retainKeys");
});

test("a deployment's template containers merge by name, their ports by containerPort with protocol TCP", () => {
  assert.is(deploy.lookup(["spec", "template", "spec", "containers"])?.patchMergeKey, "name");
  const ports = deploy.lookup(["spec", "template", "spec", "containers", "ports"]);
  assert.equal(ports, {
    type: "array",
    patchStrategy: "merge",
    patchMergeKey: "containerPort",
    listType: "map",
    listMapKeys: ["containerPort", "protocol"],
    listMapKeyDefaults: { protocol: "TCP" },
  });
});

test("env merges by name and volumeMounts by mountPath", () => {
  assert.is(pod.lookup(["spec", "containers", "env"])?.patchMergeKey, "name");
  assert.is(pod.lookup(["spec", "containers", "volumeMounts"])?.patchMergeKey, "mountPath");
  assert.is(pod.lookup(["spec", "containers", "volumeDevices"])?.patchMergeKey, "devicePath");
});

test("service ports merge by port; owner references by uid; conditions by type", () => {
  const svc = patchMetaFor("", "v1", "Service");
  assert.is(svc.lookup(["spec", "ports"])?.patchMergeKey, "port");
  assert.equal(svc.lookup(["spec", "ports"])?.listMapKeys, ["port", "protocol"]);
  assert.is(svc.lookup(["metadata", "ownerReferences"])?.patchMergeKey, "uid");
  assert.is(deploy.lookup(["status", "conditions"])?.patchMergeKey, "type");
  assert.is(pod.lookup(["status", "conditions"])?.patchMergeKey, "type");
});

test("atomic lists and structs are marked atomic; finalizers are a merged set", () => {
  assert.is(pod.lookup(["spec", "tolerations"])?.listType, "atomic");
  assert.is(pod.lookup(["spec", "containers", "command"])?.listType, "atomic");
  assert.is(pod.lookup(["spec", "containers", "args"])?.listType, "atomic");
  assert.is(deploy.lookup(["spec", "selector"])?.mapType, "atomic");
  assert.is(pod.lookup(["spec", "containers", "env", "valueFrom", "configMapKeyRef"])?.mapType, "atomic");
  const fin = pod.lookup(["metadata", "finalizers"]);
  assert.is(fin?.listType, "set");
  assert.is(fin?.patchStrategy, "merge");
});

test("a deployment's strategy retains keys", () => {
  assert.is(deploy.lookup(["spec", "strategy"])?.patchStrategy, "retainKeys");
});

test("maps step into their values; unknown paths are undefined", () => {
  assert.is(deploy.lookup(["metadata", "labels"])?.type, "object");
  assert.is(deploy.lookup(["metadata", "labels", "app"])?.type, "primitive");
  assert.is(pod.lookup(["spec", "containers", "resources", "limits", "cpu"])?.type, "primitive");
  assert.is(pod.lookup(["spec", "nope"]), undefined);
  assert.is(pod.lookup(["spec", "containers", "name", "deeper"]), undefined);
  assert.is(pod.lookup([])?.type, "object");
});

test("a kind that is not served has no patch metadata", () => {
  assert.throws(() => patchMetaFor("example.com", "v1", "Widget"), /no schema/);
});

test.run();
