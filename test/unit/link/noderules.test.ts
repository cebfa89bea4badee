// The node authorization rules as a pure function of (node, request, pod index).
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  type NodeRequestAttributes,
  nodeMayDo,
  PodIndex,
  podReferences,
  selectorEquals,
} from "../../../internal/apiserver/noderules";

const podA = {
  metadata: { namespace: "default", name: "pa" },
  spec: {
    nodeName: "a",
    imagePullSecrets: [{ name: "pull" }],
    volumes: [
      { name: "v1", secret: { secretName: "vol-secret" } },
      { name: "v2", configMap: { name: "vol-cm" } },
      { name: "v3", persistentVolumeClaim: { claimName: "data" } },
      {
        name: "v4",
        projected: { sources: [{ secret: { name: "proj-secret" } }, { configMap: { name: "proj-cm" } }] },
      },
    ],
    initContainers: [
      { name: "i", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "init-secret", key: "k" } } }] },
    ],
    containers: [
      {
        name: "c",
        env: [{ name: "Y", valueFrom: { configMapKeyRef: { name: "env-cm", key: "k" } } }],
        envFrom: [{ secretRef: { name: "envfrom-secret" } }, { configMapRef: { name: "envfrom-cm" } }],
      },
    ],
  },
};
const podB = {
  metadata: { namespace: "default", name: "pb" },
  spec: {
    nodeName: "b",
    volumes: [{ name: "v", secret: { secretName: "b-secret" } }],
    containers: [{ name: "c" }],
  },
};

function index() {
  const i = new PodIndex();
  i.set(podA);
  i.set(podB);
  return i;
}

const at = (
  a: Partial<NodeRequestAttributes> & { verb: string; resource: string },
): NodeRequestAttributes => ({
  group: "",
  ...a,
});

test("a pod's references cover volumes, projected sources, env, envFrom and pull secrets", () => {
  assert.equal(
    podReferences(podA).sort(),
    [
      "configmaps/default/envfrom-cm",
      "configmaps/default/env-cm",
      "configmaps/default/proj-cm",
      "configmaps/default/vol-cm",
      "persistentvolumeclaims/default/data",
      "secrets/default/envfrom-secret",
      "secrets/default/init-secret",
      "secrets/default/proj-secret",
      "secrets/default/pull",
      "secrets/default/vol-secret",
    ].sort(),
  );
});

test("a node reads the secrets and configmaps its own pods use, and not another node's", () => {
  const i = index();
  for (const name of ["vol-secret", "proj-secret", "init-secret", "envfrom-secret", "pull"])
    assert.ok(nodeMayDo("a", at({ verb: "get", resource: "secrets", namespace: "default", name }), i), name);
  assert.ok(
    nodeMayDo("a", at({ verb: "get", resource: "configmaps", namespace: "default", name: "env-cm" }), i),
  );
  assert.not.ok(
    nodeMayDo("a", at({ verb: "get", resource: "secrets", namespace: "default", name: "b-secret" }), i),
  );
  assert.ok(
    nodeMayDo("b", at({ verb: "get", resource: "secrets", namespace: "default", name: "b-secret" }), i),
  );
  assert.not.ok(
    nodeMayDo("a", at({ verb: "get", resource: "secrets", namespace: "other", name: "vol-secret" }), i),
  );
  assert.not.ok(nodeMayDo("a", at({ verb: "list", resource: "secrets", namespace: "default" }), i));
  assert.ok(
    nodeMayDo(
      "a",
      at({ verb: "watch", resource: "secrets", namespace: "default", fieldSelector: "metadata.name=pull" }),
      i,
    ),
  );
  assert.not.ok(
    nodeMayDo("a", at({ verb: "update", resource: "secrets", namespace: "default", name: "pull" }), i),
  );
});

test("access to a secret ends when the pod using it is deleted or moves", () => {
  const i = index();
  i.remove(podA);
  assert.not.ok(
    nodeMayDo("a", at({ verb: "get", resource: "secrets", namespace: "default", name: "vol-secret" }), i),
  );
  // Two pods sharing a secret: removing one keeps access through the other.
  const p1 = {
    metadata: { namespace: "ns", name: "p1" },
    spec: { nodeName: "a", imagePullSecrets: [{ name: "s" }] },
  };
  const p2 = {
    metadata: { namespace: "ns", name: "p2" },
    spec: { nodeName: "a", imagePullSecrets: [{ name: "s" }] },
  };
  i.set(p1);
  i.set(p2);
  i.remove(p1);
  assert.ok(nodeMayDo("a", at({ verb: "get", resource: "secrets", namespace: "ns", name: "s" }), i));
  i.set({ ...p2, spec: { ...p2.spec, nodeName: "b" } });
  assert.not.ok(nodeMayDo("a", at({ verb: "get", resource: "secrets", namespace: "ns", name: "s" }), i));
});

test("a node writes only its own Node, Node status and Lease", () => {
  const i = index();
  assert.ok(nodeMayDo("a", at({ verb: "create", resource: "nodes", name: "a" }), i));
  assert.ok(nodeMayDo("a", at({ verb: "patch", resource: "nodes", name: "a" }), i));
  assert.ok(nodeMayDo("a", at({ verb: "update", resource: "nodes", subresource: "status", name: "a" }), i));
  assert.not.ok(nodeMayDo("a", at({ verb: "patch", resource: "nodes", name: "b" }), i));
  assert.not.ok(
    nodeMayDo("a", at({ verb: "update", resource: "nodes", subresource: "status", name: "b" }), i),
  );
  assert.not.ok(nodeMayDo("a", at({ verb: "delete", resource: "nodes", name: "a" }), i));
  const lease = { group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease" };
  assert.ok(nodeMayDo("a", { ...lease, verb: "update", name: "a" }, i));
  assert.ok(nodeMayDo("a", { ...lease, verb: "create", name: "a" }, i));
  assert.not.ok(nodeMayDo("a", { ...lease, verb: "update", name: "b" }, i));
  assert.not.ok(nodeMayDo("a", { ...lease, verb: "update", name: "a", namespace: "default" }, i));
});

test("a node lists its own pods only and updates only their status", () => {
  const i = index();
  assert.ok(nodeMayDo("a", at({ verb: "watch", resource: "pods", fieldSelector: "spec.nodeName=a" }), i));
  assert.not.ok(nodeMayDo("a", at({ verb: "list", resource: "pods" }), i));
  assert.not.ok(nodeMayDo("a", at({ verb: "list", resource: "pods", fieldSelector: "spec.nodeName=b" }), i));
  assert.not.ok(nodeMayDo("a", at({ verb: "list", resource: "pods", fieldSelector: "spec.nodeName!=a" }), i));
  assert.ok(nodeMayDo("a", at({ verb: "get", resource: "pods", namespace: "default", name: "pa" }), i));
  assert.not.ok(nodeMayDo("a", at({ verb: "get", resource: "pods", namespace: "default", name: "pb" }), i));
  assert.ok(
    nodeMayDo(
      "a",
      at({ verb: "patch", resource: "pods", subresource: "status", namespace: "default", name: "pa" }),
      i,
    ),
  );
  assert.not.ok(
    nodeMayDo(
      "a",
      at({ verb: "patch", resource: "pods", subresource: "status", namespace: "default", name: "pb" }),
      i,
    ),
  );
  assert.not.ok(
    nodeMayDo("a", at({ verb: "update", resource: "pods", namespace: "default", name: "pa" }), i),
  );
  assert.ok(nodeMayDo("a", at({ verb: "delete", resource: "pods", namespace: "default", name: "pa" }), i));
  assert.not.ok(
    nodeMayDo("a", at({ verb: "delete", resource: "pods", namespace: "default", name: "pb" }), i),
  );
  assert.not.ok(
    nodeMayDo(
      "a",
      at({ verb: "create", resource: "pods", subresource: "exec", namespace: "default", name: "pa" }),
      i,
    ),
  );
});

test("a node reads services, endpoints, slices and its namespace; creates events; nothing else", () => {
  const i = index();
  assert.ok(nodeMayDo("a", at({ verb: "watch", resource: "services" }), i));
  assert.ok(nodeMayDo("a", at({ verb: "list", resource: "endpoints" }), i));
  assert.ok(nodeMayDo("a", { group: "discovery.k8s.io", resource: "endpointslices", verb: "watch" }, i));
  assert.ok(nodeMayDo("a", at({ verb: "get", resource: "namespaces", name: "default" }), i));
  assert.ok(nodeMayDo("a", at({ verb: "create", resource: "events", namespace: "default" }), i));
  assert.ok(
    nodeMayDo("a", { group: "events.k8s.io", resource: "events", verb: "create", namespace: "x" }, i),
  );
  assert.not.ok(nodeMayDo("a", at({ verb: "create", resource: "services", namespace: "default" }), i));
  assert.not.ok(nodeMayDo("a", at({ verb: "delete", resource: "namespaces", name: "default" }), i));
  assert.not.ok(nodeMayDo("a", { group: "apps", resource: "deployments", verb: "list" }, i));
  assert.not.ok(
    nodeMayDo("a", { group: "rbac.authorization.k8s.io", resource: "clusterroles", verb: "get" }, i),
  );
});

test("field selector equality is read exactly; conflicting terms match nothing", () => {
  assert.is(selectorEquals("spec.nodeName=a", "spec.nodeName"), "a");
  assert.is(selectorEquals("metadata.namespace=x, spec.nodeName==a", "spec.nodeName"), "a");
  assert.is(selectorEquals("spec.nodeName!=a", "spec.nodeName"), undefined);
  assert.is(selectorEquals("spec.nodeName=a,spec.nodeName=b", "spec.nodeName"), undefined);
  assert.is(selectorEquals(undefined, "spec.nodeName"), undefined);
});

test.run();
