import { test } from "uvu";
import * as assert from "uvu/assert";
import { PatchError } from "../../../internal/api/patch/errors";
import { NO_PATCH_META } from "../../../internal/api/patch/meta";
import { applyStrategicMergePatch } from "../../../internal/api/patch/strategic";
import { CONFIGMAP_META, DEPLOYMENT_META, POD_META, SERVICE_META } from "./fixture-meta";

// The Deployment of the "Update API Objects in Place Using kubectl patch" task.
const patchDemo = () => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "patch-demo" },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: "nginx" } },
    template: {
      metadata: { labels: { app: "nginx" } },
      spec: {
        containers: [{ name: "patch-demo-ctr", image: "nginx" }],
        tolerations: [{ effect: "NoSchedule", key: "dedicated", value: "test-team" }],
      },
    },
  },
});

type Obj = Record<string, any>;
const smp = (obj: unknown, patch: unknown, meta = DEPLOYMENT_META) =>
  applyStrategicMergePatch(obj, patch, meta) as Obj;
const podSpec = (d: Obj) => d.spec.template.spec;

function failure(obj: unknown, patch: unknown, meta = DEPLOYMENT_META): PatchError {
  try {
    applyStrategicMergePatch(obj, patch, meta);
  } catch (e) {
    assert.instance(e, PatchError);
    return e as PatchError;
  }
  throw new Error("patch applied but should have failed");
}

test("kubectl patch task: a container in the patch is added and the new one comes first", () => {
  const out = smp(patchDemo(), {
    spec: { template: { spec: { containers: [{ name: "patch-demo-ctr-2", image: "redis" }] } } },
  });
  assert.equal(podSpec(out).containers, [
    { name: "patch-demo-ctr-2", image: "redis" },
    { name: "patch-demo-ctr", image: "nginx" },
  ]);
});

test("kubectl patch task: tolerations have no patch strategy, so the list is replaced", () => {
  const out = smp(patchDemo(), {
    spec: { template: { spec: { tolerations: [{ effect: "NoSchedule", key: "disktype", value: "ssd" }] } } },
  });
  assert.equal(podSpec(out).tolerations, [{ effect: "NoSchedule", key: "disktype", value: "ssd" }]);
  assert.equal(podSpec(out).containers, [{ name: "patch-demo-ctr", image: "nginx" }]);
});

const retainKeysDemo = () => ({
  ...patchDemo(),
  spec: { ...patchDemo().spec, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "30%" } } },
});

test("kubectl patch task: without $retainKeys, rollingUpdate stays when type changes", () => {
  const out = smp(retainKeysDemo(), { spec: { strategy: { type: "Recreate" } } });
  assert.equal(out.spec.strategy, { type: "Recreate", rollingUpdate: { maxSurge: "30%" } });
});

test("kubectl patch task: $retainKeys [type] clears rollingUpdate", () => {
  const out = smp(retainKeysDemo(), { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } });
  assert.equal(out.spec.strategy, { type: "Recreate" });
});

test("$retainKeys must name every key the patch sets", () => {
  const e = failure(retainKeysDemo(), {
    spec: { strategy: { $retainKeys: ["type"], rollingUpdate: { maxSurge: 1 } } },
  });
  assert.is(e.code, "BadRequest");
  assert.is(e.message, "invalid patch format of retainKeys");
});

test("a volume switched from emptyDir to configMap with $retainKeys loses emptyDir", () => {
  const pod = {
    spec: {
      volumes: [
        { name: "v", emptyDir: {} },
        { name: "w", emptyDir: {} },
      ],
    },
  };
  const out = smp(
    pod,
    { spec: { volumes: [{ name: "v", $retainKeys: ["configMap", "name"], configMap: { name: "cm" } }] } },
    POD_META,
  );
  assert.equal(out.spec.volumes, [
    { name: "v", configMap: { name: "cm" } },
    { name: "w", emptyDir: {} },
  ]);
});

test("null deletes a field; other keys of the map stay", () => {
  const live = { metadata: { name: "p", labels: { app: "web", tier: "fe" } } };
  assert.equal(smp(live, { metadata: { labels: { tier: null } } }), {
    metadata: { name: "p", labels: { app: "web" } },
  });
});

test("$patch: delete in a list removes the item with that merge key", () => {
  const live = patchDemo();
  podSpec(live).containers.push({ name: "log-tailer", image: "busybox" });
  const out = smp(live, {
    spec: { template: { spec: { containers: [{ $patch: "delete", name: "log-tailer" }] } } },
  });
  assert.equal(podSpec(out).containers, [{ name: "patch-demo-ctr", image: "nginx" }]);
});

test("$patch: replace as a list item replaces the whole list", () => {
  const out = smp(patchDemo(), {
    spec: {
      template: { spec: { containers: [{ name: "nginx", image: "nginx-1.0" }, { $patch: "replace" }] } },
    },
  });
  assert.equal(podSpec(out).containers, [{ name: "nginx", image: "nginx-1.0" }]);
});

test("$patch: replace in a map takes the patch's map literally", () => {
  const out = smp(patchDemo(), {
    spec: { template: { metadata: { labels: { $patch: "replace", run: "x" } } } },
  });
  assert.equal(out.spec.template.metadata.labels, { run: "x" });
});

test("$patch: delete in a map empties it, as the API server does", () => {
  const out = smp(retainKeysDemo(), { spec: { strategy: { rollingUpdate: { $patch: "delete" } } } });
  assert.equal(out.spec.strategy, { type: "RollingUpdate", rollingUpdate: {} });
});

test("$patch: merge is refused in a list, as the server refuses it", () => {
  const e = failure(patchDemo(), { spec: { template: { spec: { containers: [{ $patch: "merge" }] } } } });
  assert.is(e.code, "BadRequest");
  assert.is(e.message, "merging lists cannot yet be specified in the patch");
});

test("an unknown $patch directive in a map is refused", () => {
  const e = failure(patchDemo(), { spec: { $patch: "frob" } });
  assert.is(e.code, "BadRequest");
  assert.match(e.message, /^unknown patch type: frob in map: map\[/);
});

test("a list item without its merge key is refused", () => {
  const e = failure(patchDemo(), { spec: { template: { spec: { containers: [{ image: "x" }] } } } });
  assert.is(e.code, "BadRequest");
  assert.is(e.message, "map: map[image:x] does not contain declared merge key: name");
});

const abc = () => ({
  metadata: { name: "p", finalizers: ["a", "b", "c"] },
  spec: {
    containers: [
      { name: "a", image: "1" },
      { name: "b", image: "2" },
      { name: "c", image: "3" },
    ],
  },
});

test("$setElementOrder reorders a list of maps by merge key (SMP doc example)", () => {
  const out = smp(
    abc(),
    { spec: { "$setElementOrder/containers": [{ name: "b" }, { name: "c" }, { name: "a" }] } },
    POD_META,
  );
  assert.equal(
    out.spec.containers.map((c: Obj) => c.name),
    ["b", "c", "a"],
  );
  assert.equal(out.spec.containers[0], { name: "b", image: "2" });
});

test("$setElementOrder reorders a primitive list (SMP doc example)", () => {
  const out = smp(abc(), { metadata: { "$setElementOrder/finalizers": ["b", "c", "a"] } }, POD_META);
  assert.equal(out.metadata.finalizers, ["b", "c", "a"]);
});

test("$setElementOrder places an added item where the order says", () => {
  const out = smp(
    abc(),
    {
      spec: {
        "$setElementOrder/containers": [{ name: "a" }, { name: "x" }, { name: "b" }, { name: "c" }],
        containers: [{ name: "x", image: "9" }],
      },
    },
    POD_META,
  );
  assert.equal(
    out.spec.containers.map((c: Obj) => c.name),
    ["a", "x", "b", "c"],
  );
});

test("$setElementOrder that contradicts the patch list is refused", () => {
  const e = failure(
    abc(),
    {
      spec: {
        "$setElementOrder/containers": [{ name: "a" }, { name: "b" }],
        containers: [{ name: "b" }, { name: "a" }],
      },
    },
    POD_META,
  );
  assert.is(e.code, "BadRequest");
  assert.match(e.message, /^The order in patch list:/);
});

test("$deleteFromPrimitiveList removes values from finalizers (SMP doc example)", () => {
  const out = smp(abc(), { metadata: { "$deleteFromPrimitiveList/finalizers": ["b", "c"] } }, POD_META);
  assert.equal(out.metadata.finalizers, ["a"]);
});

test("$deleteFromPrimitiveList of a missing list adds nothing", () => {
  const out = smp(
    { metadata: { name: "p" } },
    { metadata: { "$deleteFromPrimitiveList/finalizers": ["b"] } },
    POD_META,
  );
  assert.equal(out.metadata, { name: "p" });
});

test("finalizers (merge strategy) merge as a set: new values first, no duplicates", () => {
  const out = smp(abc(), { metadata: { finalizers: ["d", "a"] } }, POD_META);
  assert.equal(out.metadata.finalizers, ["d", "a", "b", "c"]);
});

test("a primitive list without merge strategy (args) is replaced", () => {
  const live = { spec: { containers: [{ name: "a", args: ["x", "y"] }] } };
  const out = smp(live, { spec: { containers: [{ name: "a", args: ["z"] }] } }, POD_META);
  assert.equal(out.spec.containers, [{ name: "a", args: ["z"] }]);
});

test("container ports merge by containerPort and env by name", () => {
  const live = {
    spec: {
      containers: [
        {
          name: "a",
          ports: [{ containerPort: 80 }],
          env: [
            { name: "E1", value: "1" },
            { name: "E2", value: "2" },
          ],
        },
      ],
    },
  };
  const out = smp(
    live,
    {
      spec: {
        containers: [
          {
            name: "a",
            ports: [{ containerPort: 443 }],
            env: [
              { name: "E2", value: "two" },
              { name: "E3", value: "3" },
            ],
          },
        ],
      },
    },
    POD_META,
  );
  assert.equal(out.spec.containers[0].ports, [{ containerPort: 443 }, { containerPort: 80 }]);
  assert.equal(out.spec.containers[0].env, [
    { name: "E1", value: "1" },
    { name: "E2", value: "two" },
    { name: "E3", value: "3" },
  ]);
});

test("kubectl apply's three-way patch removes an env var, a port, a container and a label", () => {
  // The body kubectl 1.32 sent (kubectl-wire.md §3), against the object it came from.
  const live = {
    metadata: { name: "web", labels: { app: "web", tier: "fe" } },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: "a",
              image: "nginx",
              env: [
                { name: "E1", value: "1" },
                { name: "E2", value: "2" },
              ],
              ports: [{ containerPort: 80 }, { containerPort: 443 }],
            },
            { name: "b", image: "redis" },
          ],
        },
      },
    },
  };
  const patch = {
    metadata: {
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}\n" },
      labels: { tier: null },
    },
    spec: {
      template: {
        spec: {
          "$setElementOrder/containers": [{ name: "a" }],
          containers: [
            {
              name: "a",
              "$setElementOrder/env": [{ name: "E2" }],
              "$setElementOrder/ports": [{ containerPort: 80 }],
              env: [{ $patch: "delete", name: "E1" }],
              ports: [{ $patch: "delete", containerPort: 443 }],
            },
            { $patch: "delete", name: "b" },
          ],
        },
      },
    },
  };
  assert.equal(smp(live, patch), {
    metadata: {
      name: "web",
      labels: { app: "web" },
      annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}\n" },
    },
    spec: {
      template: {
        spec: {
          containers: [
            { name: "a", image: "nginx", env: [{ name: "E2", value: "2" }], ports: [{ containerPort: 80 }] },
          ],
        },
      },
    },
  });
});

test("directives and nulls inside a field the object lacks are not stored", () => {
  const out = smp(
    { metadata: { name: "p" } },
    {
      metadata: { labels: { a: "1", b: null } },
      spec: {
        containers: [
          {
            name: "a",
            env: [
              { name: "X", value: "1" },
              { $patch: "delete", name: "Y" },
            ],
          },
        ],
      },
    },
    POD_META,
  );
  assert.equal(out, {
    metadata: { name: "p", labels: { a: "1" } },
    spec: { containers: [{ name: "a", env: [{ name: "X", value: "1" }] }] },
  });
});

test("service ports merge by port", () => {
  const live = { spec: { ports: [{ port: 80, targetPort: 8080 }], selector: { app: "web" } } };
  const out = smp(live, { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] } }, SERVICE_META);
  assert.equal(out.spec.ports, [{ port: 80, targetPort: 9090 }, { port: 443 }]);
});

test("configmap data merges key by key and null removes a key", () => {
  const live = { data: { a: "1", b: "2" } };
  assert.equal(smp(live, { data: { b: null, c: "3" } }, CONFIGMAP_META), { data: { a: "1", c: "3" } });
});

test("without patch metadata lists are replaced and maps merged, like a merge patch", () => {
  const out = smp(
    { spec: { items: [1, 2], m: { a: 1 } } },
    { spec: { items: [3], m: { b: 2 } } },
    NO_PATCH_META,
  );
  assert.equal(out, { spec: { items: [3], m: { a: 1, b: 2 } } });
});

test("a list of mixed element types is refused", () => {
  const e = failure(abc(), { metadata: { finalizers: [1] } }, POD_META);
  assert.is(e.code, "BadRequest");
  assert.match(e.message, /^list element types are not identical/);
});

test("a patch that is not an object is a BadRequest", () => {
  const e = failure(abc(), [1]);
  assert.is(e.code, "BadRequest");
  assert.is(e.message, "json: cannot unmarshal array into Go value of type map[string]interface {}");
});

test("the input object is left untouched", () => {
  const live = patchDemo();
  smp(live, { spec: { replicas: 5, template: { spec: { containers: [{ name: "x" }] } } } });
  assert.equal(live, patchDemo());
});

test("an empty patch changes nothing", () => {
  assert.equal(smp(patchDemo(), {}), patchDemo());
});

test.run();
