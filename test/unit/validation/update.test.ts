// Fields that may not change once set, with the messages a real cluster gives.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { clone, create, deployment, job, pod, service, update } from "./helpers";

test("a deployment's selector is immutable", () => {
  const old = deployment();
  const changed = deployment({
    selector: { matchLabels: { app: "web2" } },
    template: {
      metadata: { labels: { app: "web2" } },
      spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
    },
  });
  assert.is(
    update(changed, old).message,
    'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
  );
});

test("a deployment update that keeps the selector passes", () => {
  const old = deployment();
  const changed = deployment({ replicas: 5 });
  changed.spec.template.spec.containers[0].image = "nginx:1.28";
  assert.is(update(changed, old).message, "");
});

test("a service's cluster IP may not change once allocated; leaving it out keeps it", () => {
  const old = service({ clusterIP: "10.43.0.20", clusterIPs: ["10.43.0.20"] });
  const changed = service({ clusterIP: "10.43.0.21", clusterIPs: ["10.43.0.21"] });
  assert.is(
    update(changed, old).message,
    'Service "web" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.43.0.21"}: may not change once set',
  );
  assert.is(update(service(), clone(old)).message, "");
});

test("a job's pod template is immutable", () => {
  const old = job();
  create(old);
  const changed = clone(old);
  changed.spec.template.spec.containers[0].image = "perl:5.36";
  const r = update(changed, old);
  assert.is(r.causes.length, 1);
  assert.is(r.causes[0].field, "spec.template");
  assert.match(r.causes[0].message, /^Invalid value: .*: field is immutable$/);
});

test("a job's generated selector matches its pods and survives an update", () => {
  const j = job();
  assert.is(create(j).message, "");
  assert.equal(j.spec.selector, { matchLabels: { "batch.kubernetes.io/controller-uid": j.metadata.uid } });
  const changed = clone(j);
  changed.spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": "other" } };
  assert.match(
    update(changed, j).message,
    /spec\.selector: Invalid value: v1\.LabelSelector\{.*"other".*\}: field is immutable/,
  );
});

test("an immutable configmap's data may not change, nor may it become mutable", () => {
  const old = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "default" },
    data: { a: "1" },
    immutable: true,
  };
  const changed = { ...clone(old), data: { a: "2" } };
  assert.is(
    update(changed, old).message,
    'ConfigMap "c" is invalid: data: Forbidden: field is immutable when `immutable` is set',
  );
  const mutable = { ...clone(old), immutable: false };
  assert.is(
    update(mutable, old).message,
    'ConfigMap "c" is invalid: immutable: Forbidden: field is immutable when `immutable` is set',
  );
  assert.is(update({ ...clone(old), metadata: { ...old.metadata, labels: { a: "b" } } }, old).message, "");
});

test("an immutable secret's data may not change and a secret's type never", () => {
  const old = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s", namespace: "default" },
    data: { a: "MQ==" },
    immutable: true,
  };
  assert.is(
    update({ ...clone(old), data: { a: "Mg==" } }, old).message,
    'Secret "s" is invalid: data: Forbidden: field is immutable when `immutable` is set',
  );
  const typed = { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "default" }, data: {} };
  assert.is(
    update({ ...clone(typed), type: "kubernetes.io/basic-auth", data: { username: "dQ==" } }, typed).message,
    'Secret "s" is invalid: type: Invalid value: "kubernetes.io/basic-auth": field is immutable',
  );
});

test("a claim's spec is immutable except a larger request when bound", () => {
  const old = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data", namespace: "default" },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  };
  const changed = clone(old);
  changed.spec.accessModes = ["ReadWriteMany"];
  assert.is(
    update(changed, old).message,
    'PersistentVolumeClaim "data" is invalid: spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims',
  );
  const bound = { ...clone(old), status: { phase: "Bound" } };
  const bigger = clone(bound);
  bigger.spec.resources.requests.storage = "2Gi";
  assert.is(update(bigger, bound).message, "");
  const named = clone(old);
  (named.spec as Record<string, unknown>).volumeName = "pv-1";
  assert.is(update(named, old).message, "", "the volume name may be set once");
});

test("a pod update may change images but not other fields", () => {
  const old = pod();
  const newImage = clone(old);
  newImage.spec.containers[0].image = "nginx:1.28";
  assert.is(update(newImage, old).message, "");
  const newPort = clone(old);
  newPort.spec.containers[0].ports = [{ containerPort: 8080 }];
  assert.is(
    update(newPort, old).message,
    'Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
  );
  const more = clone(old);
  more.spec.containers.push({ name: "side", image: "busybox" });
  assert.is(
    update(more, old).message,
    'Pod "p" is invalid: spec.containers: Forbidden: pod updates may not add or remove containers',
  );
});

test("a pod update may add tolerations but not change existing ones", () => {
  const old = pod({ tolerations: [{ key: "a", operator: "Exists", effect: "NoSchedule" }] });
  const added = clone(old);
  added.spec.tolerations.push({ key: "b", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 });
  assert.is(update(added, old).message, "");
  const changed = clone(old);
  changed.spec.tolerations[0].effect = "NoExecute";
  assert.is(
    update(changed, old).message,
    'Pod "p" is invalid: spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds',
  );
});

test("a status update is not held to the spec's update rules", () => {
  const old = pod();
  const withStatus = { ...clone(old), status: { phase: "Running" } };
  assert.is(update(withStatus, old, "status").message, "");
});

test("an object's name may not change on update", () => {
  const old = pod();
  const renamed = pod({}, { name: "q" });
  assert.is(
    update(renamed, old).message,
    'Pod "q" is invalid: metadata.name: Invalid value: "q": field is immutable',
  );
});

test.run();
