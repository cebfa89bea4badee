// A container's environment: envFrom, env, $(VAR) expansion, downward API, errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  buildEnv,
  ConfigError,
  expand,
  expandCommand,
  podFieldValue,
  resourceFieldValue,
} from "../../../internal/kubelet/env";

const b64 = (s: string) => Buffer.from(s).toString("base64");
const sources = {
  configMap: async (n: string) => (n === "cm" ? { data: { a: "1", "bad key": "x", b: "2" } } : undefined),
  secret: async (n: string) => (n === "s" ? { data: { pw: b64("hunter2") } } : undefined),
};
const pod = {
  metadata: { name: "p", namespace: "ns", uid: "u-1", labels: { b: "2", a: "1" }, annotations: { x: "y" } },
  spec: {
    nodeName: "n1",
    serviceAccountName: "sa",
    containers: [{ name: "c", resources: { limits: { memory: "128Mi" }, requests: { cpu: "250m" } } }],
  },
  status: { podIP: "10.42.0.5", hostIP: "192.168.1.2" },
};

test("$(VAR) expands known names, keeps unknown ones, and $$ escapes", () => {
  const vars = (n: string) => ({ A: "x", B: "y" })[n];
  assert.is(expand("$(A)-$(B)", vars), "x-y");
  assert.is(expand("$(C)", vars), "$(C)");
  assert.is(expand("$$(A)", vars), "$(A)");
  assert.is(expand("a$b$", vars), "a$b$");
  assert.is(expand("$(A", vars), "$(A");
});

test("envFrom comes first, env overrides it, and later values see earlier ones", async () => {
  const env = await buildEnv(
    pod,
    {
      name: "c",
      envFrom: [{ configMapRef: { name: "cm" } }, { secretRef: { name: "s" }, prefix: "S_" }],
      env: [
        { name: "a", value: "override" },
        { name: "GREET", value: "hi-$(a)-$(S_pw)" },
      ],
    },
    sources,
    {},
  );
  assert.equal(env, ["a=override", "b=2", "S_pw=hunter2", "GREET=hi-override-hunter2"]);
});

test("valueFrom: configMap, secret, fieldRef and resourceFieldRef", async () => {
  const env = await buildEnv(
    pod,
    {
      name: "c",
      env: [
        { name: "A", valueFrom: { configMapKeyRef: { name: "cm", key: "a" } } },
        { name: "PW", valueFrom: { secretKeyRef: { name: "s", key: "pw" } } },
        { name: "IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
        { name: "SA", valueFrom: { fieldRef: { fieldPath: "spec.serviceAccountName" } } },
        { name: "L", valueFrom: { fieldRef: { fieldPath: "metadata.labels['a']" } } },
        { name: "MEM", valueFrom: { resourceFieldRef: { resource: "limits.memory", divisor: "1Mi" } } },
        { name: "CPU", valueFrom: { resourceFieldRef: { resource: "requests.cpu", divisor: "1m" } } },
        { name: "CPULIM", valueFrom: { resourceFieldRef: { resource: "limits.cpu" } } },
      ],
    },
    sources,
    { cpu: "4", memory: "8Gi" },
  );
  assert.equal(env, ["A=1", "PW=hunter2", "IP=10.42.0.5", "SA=sa", "L=1", "MEM=128", "CPU=250", "CPULIM=4"]);
});

test("a missing ConfigMap or key is a config error unless optional", async () => {
  const run = (env: any[]) => buildEnv(pod, { name: "c", env }, sources, {});
  try {
    await run([{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "a" } } }]);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, ConfigError);
    assert.match((err as Error).message, /configmap "nope" not found/);
  }
  try {
    await run([{ name: "X", valueFrom: { secretKeyRef: { name: "s", key: "nokey" } } }]);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /couldn't find key nokey in Secret ns\/s/);
  }
  assert.equal(
    await run([{ name: "X", valueFrom: { configMapKeyRef: { name: "nope", key: "a", optional: true } } }]),
    [],
  );
});

test("downward API fields format labels as the kubelet does", () => {
  assert.is(podFieldValue(pod, "metadata.labels"), 'a="1"\nb="2"');
  assert.is(podFieldValue(pod, "metadata.uid"), "u-1");
  assert.is(podFieldValue(pod, "status.hostIP"), "192.168.1.2");
  assert.is(podFieldValue(pod, "spec.bogus"), undefined);
  assert.is(resourceFieldValue(pod, { resource: "limits.memory" }, "c", {}), String(128 * 1024 * 1024));
});

test("command and args expand against the container's environment", () => {
  assert.equal(expandCommand(["echo", "$(A)", "$(NOPE)"], ["A=1=2"]), ["echo", "1=2", "$(NOPE)"]);
  assert.is(expandCommand(undefined, []), undefined);
});

test.run();
