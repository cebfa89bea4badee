import { test } from "uvu";
import * as assert from "uvu/assert";
import { printerFor } from "../../../internal/api/printers";
import { findResource } from "../../../internal/api/resources";

const NOW = Date.parse("2024-06-01T12:00:00Z");
const ago = (ms: number) => new Date(NOW - ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const M = 60_000;
const D = 24 * 60 * M;

const p = (group: string, version: string, plural: string) =>
  printerFor(findResource(group, version, plural)!);
const names = (group: string, version: string, plural: string) =>
  p(group, version, plural).columns.map((c) => (c.priority > 0 ? `${c.name}*` : c.name));
const meta = (name: string, extra: any = {}) => ({
  name,
  namespace: "default",
  creationTimestamp: ago(5 * M),
  ...extra,
});

test("services: type, cluster IP, external IP, ports; wide selector", () => {
  assert.equal(names("", "v1", "services"), [
    "Name",
    "Type",
    "Cluster-IP",
    "External-IP",
    "Port(s)",
    "Age",
    "Selector*",
  ]);
  const svc = {
    metadata: meta("web"),
    spec: {
      type: "ClusterIP",
      clusterIP: "10.43.0.10",
      clusterIPs: ["10.43.0.10"],
      selector: { tier: "front", app: "web" },
      ports: [
        { port: 80, protocol: "TCP", targetPort: 8080 },
        { port: 53, protocol: "UDP" },
      ],
    },
  };
  assert.equal(p("", "v1", "services").row(svc, NOW), [
    "web",
    "ClusterIP",
    "10.43.0.10",
    "<none>",
    "80/TCP,53/UDP",
    "5m",
    "app=web,tier=front",
  ]);
});

test("a NodePort service shows port:nodePort", () => {
  const svc = {
    metadata: meta("web"),
    spec: {
      type: "NodePort",
      clusterIP: "10.43.0.11",
      ports: [{ port: 80, nodePort: 30080, protocol: "TCP" }],
    },
  };
  assert.equal(p("", "v1", "services").row(svc, NOW).slice(1, 5), [
    "NodePort",
    "10.43.0.11",
    "<none>",
    "80:30080/TCP",
  ]);
});

test("load balancer, external IPs, headless and ExternalName services", () => {
  const row = (spec: any, status: any = {}) =>
    p("", "v1", "services").row({ metadata: meta("s"), spec, status }, NOW);
  assert.equal(
    row({ type: "LoadBalancer", clusterIPs: ["10.43.0.12"], ports: [{ port: 443, nodePort: 31443 }] }).slice(
      2,
      5,
    ),
    ["10.43.0.12", "<pending>", "443:31443/TCP"],
  );
  assert.equal(
    row(
      { type: "LoadBalancer", clusterIPs: ["10.43.0.12"] },
      { loadBalancer: { ingress: [{ ip: "192.0.2.1" }, { hostname: "lb.example" }] } },
    )[3],
    "192.0.2.1,lb.example",
  );
  assert.equal(
    row(
      { type: "LoadBalancer", externalIPs: ["198.51.100.7"] },
      { loadBalancer: { ingress: [{ ip: "192.0.2.1" }] } },
    )[3],
    "192.0.2.1,198.51.100.7",
  );
  assert.equal(
    row({ type: "ClusterIP", externalIPs: ["198.51.100.7", "198.51.100.8"] })[3],
    "198.51.100.7,198.51.100.8",
  );
  assert.equal(row({ type: "ClusterIP", clusterIP: "None", clusterIPs: ["None"] }).slice(2, 5), [
    "None",
    "<none>",
    "<none>",
  ]);
  assert.equal(row({ type: "ExternalName", externalName: "db.example.com" }).slice(1, 4), [
    "ExternalName",
    "<none>",
    "db.example.com",
  ]);
  assert.equal(row({ type: "ClusterIP" })[6], "<none>");
});

test("endpoints list up to three addresses and count the rest", () => {
  const ep = (subsets: any) => p("", "v1", "endpoints").row({ metadata: meta("web"), subsets }, NOW);
  assert.equal(ep(undefined), ["web", "<none>", "5m"]);
  assert.equal(
    ep([{ addresses: [{ ip: "10.42.0.5" }, { ip: "10.42.0.6" }], ports: [{ port: 8080 }] }])[1],
    "10.42.0.5:8080,10.42.0.6:8080",
  );
  assert.equal(
    ep([{ addresses: [{ ip: "10.42.0.5" }, { ip: "10.42.0.6" }], ports: [{ port: 80 }, { port: 443 }] }])[1],
    "10.42.0.5:80,10.42.0.6:80,10.42.0.5:443 + 1 more...",
  );
  assert.equal(ep([{ addresses: [{ ip: "fd00::5" }], ports: [{ port: 80 }] }])[1], "[fd00::5]:80");
  assert.equal(ep([{ addresses: [{ ip: "10.42.0.7" }] }])[1], "10.42.0.7");
});

test("nodes: status, roles from labels, version; wide addresses and system info", () => {
  assert.equal(names("", "v1", "nodes"), [
    "Name",
    "Status",
    "Roles",
    "Age",
    "Version",
    "Internal-IP*",
    "External-IP*",
    "OS-Image*",
    "Kernel-Version*",
    "Container-Runtime*",
  ]);
  const node = {
    metadata: {
      name: "node-1",
      creationTimestamp: ago(3 * D),
      labels: {
        "node-role.kubernetes.io/master": "true",
        "node-role.kubernetes.io/control-plane": "true",
        "kubernetes.io/hostname": "node-1",
      },
    },
    spec: {},
    status: {
      conditions: [
        { type: "MemoryPressure", status: "False" },
        { type: "Ready", status: "True" },
      ],
      addresses: [
        { type: "InternalIP", address: "192.168.1.10" },
        { type: "Hostname", address: "node-1" },
      ],
      nodeInfo: {
        kubeletVersion: "v1.32.4+tsk1",
        osImage: "Debian GNU/Linux 12 (bookworm)",
        kernelVersion: "6.1.0-18-amd64",
        containerRuntimeVersion: "tsk://0.1.0",
      },
    },
  };
  assert.equal(p("", "v1", "nodes").row(node, NOW), [
    "node-1",
    "Ready",
    "control-plane,master",
    "3d",
    "v1.32.4+tsk1",
    "192.168.1.10",
    "<none>",
    "Debian GNU/Linux 12 (bookworm)",
    "6.1.0-18-amd64",
    "tsk://0.1.0",
  ]);
});

test("a cordoned, unready or new node reads as a real one does", () => {
  const row = (spec: any, conditions: any, labels: any = {}) =>
    p("", "v1", "nodes").row(
      { metadata: { name: "n", creationTimestamp: ago(M), labels }, spec, status: { conditions } },
      NOW,
    );
  assert.equal(row({ unschedulable: true }, [{ type: "Ready", status: "True" }]).slice(1, 3), [
    "Ready,SchedulingDisabled",
    "<none>",
  ]);
  assert.equal(row({}, [{ type: "Ready", status: "Unknown" }])[1], "NotReady");
  assert.equal(row({}, undefined)[1], "Unknown");
  assert.equal(row({}, [], { "kubernetes.io/role": "worker" })[2], "worker");
  assert.equal(row({}, []).slice(7), ["<unknown>", "<unknown>", "<unknown>"]);
});

test("namespaces, configmaps, secrets and serviceaccounts", () => {
  assert.equal(
    p("", "v1", "namespaces").row({ metadata: meta("kube-system"), status: { phase: "Active" } }, NOW),
    ["kube-system", "Active", "5m"],
  );
  assert.equal(names("", "v1", "configmaps"), ["Name", "Data", "Age"]);
  assert.equal(
    p("", "v1", "configmaps").row(
      { metadata: meta("cfg"), data: { a: "1", b: "2" }, binaryData: { c: "AA==" } },
      NOW,
    ),
    ["cfg", 3, "5m"],
  );
  assert.equal(p("", "v1", "configmaps").row({ metadata: meta("empty") }, NOW), ["empty", 0, "5m"]);
  assert.equal(names("", "v1", "secrets"), ["Name", "Type", "Data", "Age"]);
  assert.equal(
    p("", "v1", "secrets").row(
      { metadata: meta("tls"), type: "kubernetes.io/tls", data: { "tls.crt": "", "tls.key": "" } },
      NOW,
    ),
    ["tls", "kubernetes.io/tls", 2, "5m"],
  );
  assert.equal(names("", "v1", "serviceaccounts"), ["Name", "Secrets", "Age"]);
  assert.equal(p("", "v1", "serviceaccounts").row({ metadata: meta("default") }, NOW), ["default", 0, "5m"]);
});

test("persistent volumes and claims", () => {
  const pv = {
    metadata: meta("pv-1", { namespace: undefined }),
    spec: {
      capacity: { storage: "10Gi" },
      accessModes: ["ReadWriteMany", "ReadWriteOnce"],
      persistentVolumeReclaimPolicy: "Retain",
      claimRef: { namespace: "default", name: "data" },
      storageClassName: "local-path",
      volumeMode: "Filesystem",
    },
    status: { phase: "Bound" },
  };
  assert.equal(p("", "v1", "persistentvolumes").row(pv, NOW), [
    "pv-1",
    "10Gi",
    "RWO,RWX",
    "Retain",
    "Bound",
    "default/data",
    "local-path",
    "<unset>",
    "",
    "5m",
    "Filesystem",
  ]);
  const pvc = (spec: any, status: any, extra: any = {}) =>
    p("", "v1", "persistentvolumeclaims").row({ metadata: meta("data", extra), spec, status }, NOW);
  assert.equal(
    pvc(
      { storageClassName: "local-path", resources: { requests: { storage: "1Gi" } } },
      { phase: "Pending" },
    ),
    ["data", "Pending", "", "", "", "local-path", "<unset>", "5m", "<unset>"],
  );
  assert.equal(
    pvc(
      { volumeName: "pv-1", storageClassName: "local-path", volumeMode: "Filesystem" },
      { phase: "Bound", capacity: { storage: "10Gi" }, accessModes: ["ReadWriteOnce"] },
      { deletionTimestamp: ago(1000) },
    ),
    ["data", "Terminating", "pv-1", "10Gi", "RWO", "local-path", "<unset>", "5m", "Filesystem"],
  );
});

test("resource quotas split requests and limits", () => {
  const rq = {
    metadata: meta("quota"),
    status: {
      hard: { pods: "10", "requests.cpu": "2", "limits.memory": "2Gi", "limits.cpu": "4" },
      used: { pods: "3", "requests.cpu": "500m", "limits.cpu": "1" },
    },
  };
  assert.equal(p("", "v1", "resourcequotas").row(rq, NOW), [
    "quota",
    "5m",
    "pods: 3/10, requests.cpu: 500m/2",
    "limits.cpu: 1/4, limits.memory: 0/2Gi",
  ]);
});

test("leases, storage classes and endpoint slices", () => {
  assert.equal(
    p("coordination.k8s.io", "v1", "leases").row(
      { metadata: meta("node-1"), spec: { holderIdentity: "node-1" } },
      NOW,
    ),
    ["node-1", "node-1", "5m"],
  );
  const sc = {
    metadata: meta("local-path", { annotations: { "storageclass.kubernetes.io/is-default-class": "true" } }),
    provisioner: "rancher.io/local-path",
    volumeBindingMode: "WaitForFirstConsumer",
  };
  assert.equal(p("storage.k8s.io", "v1", "storageclasses").row(sc, NOW), [
    "local-path (default)",
    "rancher.io/local-path",
    "Delete",
    "WaitForFirstConsumer",
    false,
    "5m",
  ]);
  const es = {
    metadata: meta("web-abc"),
    addressType: "IPv4",
    ports: [{ port: 80 }, { name: "metrics" }, {}],
    endpoints: [
      { addresses: ["10.42.0.5"] },
      { addresses: ["10.42.0.6"] },
      { addresses: ["10.42.0.7"] },
      { addresses: ["10.42.0.8"] },
    ],
  };
  assert.equal(p("discovery.k8s.io", "v1", "endpointslices").row(es, NOW), [
    "web-abc",
    "IPv4",
    "80,metrics,*",
    "10.42.0.5,10.42.0.6,10.42.0.7 + 1 more...",
    "5m",
  ]);
  assert.equal(
    p("discovery.k8s.io", "v1", "endpointslices")
      .row({ metadata: meta("e"), addressType: "IPv4" }, NOW)
      .slice(2, 4),
    ["<unset>", "<unset>"],
  );
});

test("kinds without an upstream printer get Name and Created At", () => {
  const printer = p("", "v1", "limitranges");
  assert.equal(
    printer.columns.map((c) => [c.name, c.type, c.format]),
    [
      ["Name", "string", "name"],
      ["Created At", "date", ""],
    ],
  );
  assert.equal(
    printer.row({ metadata: meta("limits", { creationTimestamp: "2024-05-01T10:20:30Z" }) }, NOW),
    ["limits", "2024-05-01T10:20:30Z"],
  );
  assert.equal(printerFor({ group: "example.com", kind: "Widget" }), printer);
});

test.run();
