// Each invalid manifest gets the message a real cluster gives, byte for byte.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { create, deployment, job, pod, service } from "./helpers";

const SUBDOMAIN =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

test("a pod named Bad_Name is rejected with the RFC 1123 subdomain message", () => {
  const r = create(pod({}, { name: "Bad_Name" }));
  assert.is(r.message, `Pod "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": ${SUBDOMAIN}`);
  assert.equal(r.causes, [
    {
      reason: "FieldValueInvalid",
      field: "metadata.name",
      message: `Invalid value: "Bad_Name": ${SUBDOMAIN}`,
    },
  ]);
});

test("a namespace name must be an RFC 1123 label", () => {
  const r = create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team.a" } });
  assert.is(
    r.message,
    'Namespace "team.a" is invalid: metadata.name: Invalid value: "team.a": must not contain dots',
  );
  const r2 = create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "Team" } });
  assert.is(r2.message, `Namespace "Team" is invalid: metadata.name: Invalid value: "Team": ${LABEL}`);
});

test("a service name must be a DNS-1035 label", () => {
  const r = create(service({}, { name: "1web" }));
  assert.is(
    r.message,
    `Service "1web" is invalid: metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
  );
});

test("a name longer than 253 characters is reported with its length limit", () => {
  const name = "a".repeat(254);
  const r = create(pod({}, { name }));
  assert.is(r.causes[0].message, `Invalid value: "${name}": must be no more than 253 characters`);
});

test("label keys and values are checked with apimachinery's messages", () => {
  const r = create(pod({}, { labels: { "bad key": "ok", app: "-bad-" } }));
  assert.is(
    r.message,
    `Pod "p" is invalid: [metadata.labels: Invalid value: "bad key": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), metadata.labels: Invalid value: "-bad-": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')]`,
  );
  const long = create(pod({}, { labels: { app: "x".repeat(64) } }));
  assert.is(long.causes[0].message, `Invalid value: "${"x".repeat(64)}": must be no more than 63 characters`);
  const prefix = create(pod({}, { labels: { "Example.com/app": "x" } }));
  assert.is(prefix.causes[0].message, `Invalid value: "Example.com/app": prefix part ${SUBDOMAIN}`);
});

test("annotation keys must be qualified names; values are free", () => {
  const r = create(pod({}, { annotations: { "a/b/c": "x", "example.com/Note": "anything at all" } }));
  assert.is(
    r.message,
    `Pod "p" is invalid: metadata.annotations: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
  );
});

test("annotations larger than 256 KiB are too long", () => {
  const r = create(pod({}, { annotations: { big: "x".repeat(262145) } }));
  assert.is(r.message, 'Pod "p" is invalid: metadata.annotations: Too long: must have at most 262144 bytes');
  assert.is(r.causes[0].reason, "FieldValueTooLong");
});

test("a pod without containers: spec.containers: Required value", () => {
  const r = create(pod({ containers: [] }));
  assert.is(r.message, 'Pod "p" is invalid: spec.containers: Required value');
  assert.equal(r.causes, [
    { reason: "FieldValueRequired", field: "spec.containers", message: "Required value" },
  ]);
});

test("a container without an image: spec.containers[0].image: Required value", () => {
  const r = create(pod({ containers: [{ name: "app" }] }));
  assert.is(r.message, 'Pod "p" is invalid: spec.containers[0].image: Required value');
});

test("container names are RFC 1123 labels and unique", () => {
  const r = create(pod({ containers: [{ name: "Web_1", image: "nginx" }] }));
  assert.is(r.message, `Pod "p" is invalid: spec.containers[0].name: Invalid value: "Web_1": ${LABEL}`);
  const dup = create(
    pod({
      containers: [
        { name: "web", image: "nginx" },
        { name: "web", image: "redis" },
      ],
    }),
  );
  assert.is(dup.message, 'Pod "p" is invalid: spec.containers[1].name: Duplicate value: "web"');
  assert.is(dup.causes[0].reason, "FieldValueDuplicate");
  const init = create(pod({ initContainers: [{ name: "app", image: "busybox" }] }));
  assert.is(init.message, 'Pod "p" is invalid: spec.initContainers[0].name: Duplicate value: "app"');
});

test("container ports are 1-65535 with unique names", () => {
  const r = create(
    pod({
      containers: [
        {
          name: "app",
          image: "nginx",
          ports: [
            { containerPort: 70000, name: "http" },
            { containerPort: 81, name: "http" },
            { containerPort: 82, name: "Bad--Name" },
          ],
        },
      ],
    }),
  );
  assert.is(
    r.message,
    'Pod "p" is invalid: [spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive, spec.containers[0].ports[1].name: Duplicate value: "http", spec.containers[0].ports[2].name: Invalid value: "Bad--Name": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-), spec.containers[0].ports[2].name: Invalid value: "Bad--Name": must not contain consecutive hyphens]',
  );
});

test("restartPolicy must be one of the supported values", () => {
  const r = create(pod({ restartPolicy: "Sometimes" }));
  assert.is(
    r.message,
    'Pod "p" is invalid: spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  );
  assert.is(r.causes[0].reason, "FieldValueNotSupported");
});

test("a container port protocol must be TCP, UDP or SCTP", () => {
  const r = create(
    pod({ containers: [{ name: "app", image: "nginx", ports: [{ containerPort: 80, protocol: "HTTP" }] }] }),
  );
  assert.is(r.causes[0].message, 'Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"');
});

test("a volume mount must name a volume of the pod", () => {
  const r = create(
    pod({
      containers: [{ name: "app", image: "nginx", volumeMounts: [{ name: "data", mountPath: "/data" }] }],
    }),
  );
  assert.is(r.message, 'Pod "p" is invalid: spec.containers[0].volumeMounts[0].name: Not found: "data"');
});

test("env var names follow the C-identifier-like rule", () => {
  const r = create(pod({ containers: [{ name: "app", image: "nginx", env: [{ name: "1X", value: "v" }] }] }));
  assert.is(
    r.causes[0].message,
    `Invalid value: "1X": a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')`,
  );
});

test("requests may not exceed limits", () => {
  const r = create(
    pod({
      containers: [
        { name: "app", image: "nginx", resources: { requests: { cpu: "2" }, limits: { cpu: "1" } } },
      ],
    }),
  );
  assert.is(
    r.message,
    'Pod "p" is invalid: spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
  );
});

test("a deployment whose selector does not match its template labels", () => {
  const r = create(
    deployment({
      template: { metadata: { labels: { app: "x" } }, spec: { containers: [{ name: "a", image: "nginx" }] } },
    }),
  );
  assert.is(
    r.message,
    'Deployment.apps "web" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
  );
});

test("a deployment without a selector is told both what is missing and that nothing matches", () => {
  const d = deployment();
  delete d.spec.selector;
  const r = create(d);
  assert.is(
    r.message,
    'Deployment.apps "web" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`]',
  );
});

test("an empty deployment selector is invalid", () => {
  const r = create(deployment({ selector: {} }));
  assert.is(
    r.message,
    'Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
  );
});

test("replicas may not be negative", () => {
  const r = create(deployment({ replicas: -1 }));
  assert.is(
    r.message,
    'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
  );
});

test("a deployment's pods must restart Always", () => {
  const d = deployment();
  d.spec.template.spec.restartPolicy = "Never";
  assert.is(
    create(d).message,
    'Deployment.apps "web" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"',
  );
});

test("maxSurge and maxUnavailable may not both be 0", () => {
  const r = create(
    deployment({ strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: "0%" } } }),
  );
  assert.is(
    r.message,
    'Deployment.apps "web" is invalid: spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0%: may not be 0 when `maxSurge` is 0',
  );
});

test("a job's pods must not restart Always (the default)", () => {
  const j = job();
  delete j.spec.template.spec.restartPolicy;
  assert.is(
    create(j).message,
    'Job.batch "pi" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"',
  );
});

test("a statefulset and a daemonset need a selector that matches", () => {
  const sts = {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "default" },
    spec: {
      selector: { matchLabels: { app: "db" } },
      template: {
        metadata: { labels: { app: "x" } },
        spec: { containers: [{ name: "db", image: "postgres" }] },
      },
    },
  };
  assert.is(
    create(sts).message,
    'StatefulSet.apps "db" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: `selector` does not match template `labels`',
  );
  const ds = {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "db", namespace: "default" },
    spec: {
      selector: {},
      template: {
        metadata: { labels: { app: "x" } },
        spec: { containers: [{ name: "db", image: "postgres" }] },
      },
    },
  };
  assert.is(
    create(ds).message,
    'DaemonSet.apps "db" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for daemonset',
  );
});

test("a cronjob needs a five-field schedule and a short name", () => {
  const cj = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "n".repeat(53), namespace: "default" },
    spec: {
      schedule: "*/5 * * *",
      jobTemplate: {
        spec: {
          template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox" }] } },
        },
      },
    },
  };
  assert.is(
    create(cj).message,
    `CronJob.batch "${"n".repeat(53)}" is invalid: [metadata.name: Invalid value: "${"n".repeat(53)}": must be no more than 52 characters, spec.schedule: Invalid value: "*/5 * * *": expected exactly 5 fields, found 4: [*/5 * * *]]`,
  );
  cj.metadata.name = "tick";
  cj.spec.schedule = "*/5 * * * *";
  assert.is(create(cj).message, "");
});

test("service ports: range, names when several, protocol, duplicates", () => {
  // targetPort defaults to port, so a port of 0 is reported twice, as upstream does.
  assert.is(
    create(service({ ports: [{ port: 0 }] })).message,
    'Service "web" is invalid: [spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive, spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive]',
  );
  assert.is(
    create(service({ ports: [{ port: 80 }, { port: 443 }] })).message,
    'Service "web" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]',
  );
  assert.is(
    create(
      service({
        ports: [
          { port: 80, name: "a" },
          { port: 80, name: "b" },
        ],
      }),
    ).message,
    'Service "web" is invalid: spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
  );
  assert.is(
    create(
      service({
        ports: [
          { port: 80, name: "a" },
          { port: 81, name: "a" },
        ],
      }),
    ).message,
    'Service "web" is invalid: spec.ports[1].name: Duplicate value: "a"',
  );
});

test("a service type must be one of the four", () => {
  assert.is(
    create(service({ type: "Internal" })).message,
    'Service "web" is invalid: spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
  );
});

test("a ClusterIP service may not ask for a node port", () => {
  assert.is(
    create(service({ ports: [{ port: 80, nodePort: 30080 }] })).message,
    "Service \"web\" is invalid: spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
  );
});

test("configmap and secret keys are config keys", () => {
  const cm = create({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "default" },
    data: { "bad key": "x", ok: "y" },
  });
  assert.is(
    cm.message,
    `ConfigMap "c" is invalid: data[bad key]: Invalid value: "bad key": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
  );
  const s = create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "s", namespace: "default" },
    data: { "..": "eA==" },
  });
  assert.is(s.message, 'Secret "s" is invalid: data[..]: Invalid value: "..": must not be \'..\'');
  const dup = create({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "c", namespace: "default" },
    data: { a: "x" },
    binaryData: { a: "eA==" },
  });
  assert.is(
    dup.message,
    'ConfigMap "c" is invalid: data[a]: Invalid value: "a": duplicate of key present in binaryData',
  );
});

test("a TLS secret needs tls.crt and tls.key", () => {
  const s = create({
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/tls",
    metadata: { name: "s", namespace: "default" },
    data: {},
  });
  assert.is(
    s.message,
    'Secret "s" is invalid: [data[tls.crt]: Required value, data[tls.key]: Required value]',
  );
});

test("a claim needs an access mode and a storage request", () => {
  const r = create({
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data", namespace: "default" },
    spec: {},
  });
  assert.is(
    r.message,
    'PersistentVolumeClaim "data" is invalid: [spec.accessModes: Required value: at least 1 access mode is required, spec.resources[storage]: Required value]',
  );
});

test("valid manifests of the common kinds pass", () => {
  assert.is(create(pod()).message, "");
  assert.is(create(deployment()).message, "");
  assert.is(create(service()).message, "");
  assert.is(create(job()).message, "");
  assert.is(create({ apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a" } }).message, "");
  assert.is(
    create({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", namespace: "default" },
      data: { "app.conf": "x" },
    }).message,
    "",
  );
  assert.is(
    create({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "default" },
      stringData: { password: "x" },
    }).message,
    "",
  );
  assert.is(
    create({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: "data", namespace: "default" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    }).message,
    "",
  );
  assert.is(
    create({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "sa", namespace: "default" } })
      .message,
    "",
  );
});

test.run();
