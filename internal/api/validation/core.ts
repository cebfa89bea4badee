// Validation of the non-workload kinds after pkg/apis/core/validation (Service,
// ConfigMap, Secret, Namespace, PersistentVolumeClaim, Node) and the smaller groups.
import {
  type Cause,
  deepEqual,
  duplicate,
  forbidden,
  GoValue,
  goStringSlice,
  invalid,
  notSupported,
  type Path,
  required,
  root,
  tooLong,
} from "./field";
import {
  isConfigMapKey,
  isValidPortName,
  isValidPortNum,
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validateLabels,
  validateQualifiedName,
} from "./names";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const objOf = (v: unknown): Obj => (isObj(v) ? v : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

const IPV4 =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

function isIP(s: string): boolean {
  if (IPV4.test(s)) return true;
  return s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s) && (s.match(/::/g) ?? []).length <= 1;
}

function validateIP(p: Path, ip: string): Cause[] {
  return isIP(ip) ? [] : [invalid(p, ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")];
}

/** The clusterIPs the strategy derives from clusterIP when only that is given. */
function clusterIPsOf(spec: Obj): string[] {
  if (Array.isArray(spec.clusterIPs) && spec.clusterIPs.length) return spec.clusterIPs;
  return spec.clusterIP ? [spec.clusterIP] : [];
}

function servicePortKey(protocol: string, port: number): GoValue {
  return new GoValue(
    `core.ServicePort{Name:"", Protocol:${JSON.stringify(protocol)}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`,
  );
}

export function validateServiceSpec(spec: Obj, p: Path): Cause[] {
  const out: Cause[] = [];
  const ips = clusterIPsOf(spec);
  const headless = ips.length === 1 && ips[0] === "None";
  const type = spec.type;
  const ports = arr(spec.ports);
  if (ports.length === 0 && !headless && type !== "ExternalName") out.push(required(p.child("ports")));
  if ((type === "LoadBalancer" || type === "NodePort") && headless) {
    out.push(
      invalid(p.child("clusterIPs").index(0), "None", `may not be set to 'None' for ${type} services`),
    );
  }
  if (type === "ExternalName") {
    if (spec.clusterIPs?.length || spec.clusterIP)
      out.push(forbidden(p.child("clusterIPs"), "may not be set for ExternalName services"));
    const cname = String(spec.externalName ?? "").replace(/\.$/, "");
    if (cname) out.push(...validateDNS1123Subdomain(cname, p.child("externalName")));
    else out.push(required(p.child("externalName")));
  }
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const pp = p.child("ports").index(i);
    if (ports.length > 1 && !port.name) out.push(required(pp.child("name")));
    else if (port.name) {
      out.push(...validateDNS1123Label(port.name, pp.child("name")));
      if (names.has(port.name)) out.push(duplicate(pp.child("name"), port.name));
      else names.add(port.name);
    }
    for (const m of isValidPortNum(port.port ?? 0)) out.push(invalid(pp.child("port"), port.port ?? 0, m));
    if (!port.protocol) out.push(required(pp.child("protocol")));
    else if (!["SCTP", "TCP", "UDP"].includes(port.protocol))
      out.push(notSupported(pp.child("protocol"), port.protocol, ["SCTP", "TCP", "UDP"]));
    const tp = port.targetPort;
    if (typeof tp === "number")
      for (const m of isValidPortNum(tp)) out.push(invalid(pp.child("targetPort"), tp, m));
    else if (typeof tp === "string")
      for (const m of isValidPortName(tp)) out.push(invalid(pp.child("targetPort"), tp, m));
    if (port.appProtocol !== undefined)
      out.push(...validateQualifiedName(port.appProtocol, pp.child("appProtocol")));
    if (port.nodePort !== undefined && port.nodePort !== 0) {
      for (const m of isValidPortNum(port.nodePort))
        out.push(invalid(pp.child("nodePort"), port.nodePort, m));
    }
  });
  if (spec.selector !== undefined) out.push(...validateLabels(spec.selector, p.child("selector")));
  const sa = spec.sessionAffinity;
  if (!sa) out.push(required(p.child("sessionAffinity")));
  else if (sa !== "ClientIP" && sa !== "None")
    out.push(notSupported(p.child("sessionAffinity"), sa, ["ClientIP", "None"]));
  if (sa === "None" && spec.sessionAffinityConfig !== undefined) {
    out.push(forbidden(p.child("sessionAffinityConfig"), "must not be set when session affinity is None"));
  }
  ips.forEach((ip, i) => {
    if (i === 0 && ip === "None") return;
    out.push(...validateIP(p.child("clusterIPs").index(i), ip));
  });
  if (
    spec.clusterIP &&
    Array.isArray(spec.clusterIPs) &&
    spec.clusterIPs.length &&
    spec.clusterIPs[0] !== spec.clusterIP
  ) {
    out.push(
      invalid(p.child("clusterIPs"), goStringSlice(spec.clusterIPs), "first value must match `clusterIP`"),
    );
  }
  (Array.isArray(spec.externalIPs) ? spec.externalIPs : []).forEach((ip: unknown, i: number) => {
    out.push(...validateIP(p.child("externalIPs").index(i), String(ip)));
  });
  const types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
  if (!type) out.push(required(p.child("type")));
  else if (!types.includes(type)) out.push(notSupported(p.child("type"), type, types));
  if (type === "ClusterIP") {
    ports.forEach((port, i) => {
      if (port.nodePort)
        out.push(
          forbidden(
            p.child("ports").index(i).child("nodePort"),
            "may not be used when `type` is 'ClusterIP'",
          ),
        );
    });
  }
  const nodePorts = new Set<string>();
  ports.forEach((port, i) => {
    if (!port.nodePort) return;
    const key = `${port.protocol}/${port.nodePort}`;
    if (nodePorts.has(key)) out.push(duplicate(p.child("ports").index(i).child("nodePort"), port.nodePort));
    nodePorts.add(key);
  });
  const seen = new Set<string>();
  ports.forEach((port, i) => {
    const key = `${port.protocol}/${port.port}`;
    if (seen.has(key))
      out.push(duplicate(p.child("ports").index(i), servicePortKey(port.protocol ?? "", port.port ?? 0)));
    seen.add(key);
  });
  const external = type === "NodePort" || type === "LoadBalancer";
  const etp = spec.externalTrafficPolicy;
  if (!external) {
    if (etp)
      out.push(
        invalid(p.child("externalTrafficPolicy"), etp, "may only be set for externally-accessible services"),
      );
  } else if (!etp) out.push(required(p.child("externalTrafficPolicy")));
  else if (etp !== "Cluster" && etp !== "Local")
    out.push(notSupported(p.child("externalTrafficPolicy"), etp, ["Cluster", "Local"]));
  const itp = spec.internalTrafficPolicy;
  if (itp === undefined && (type === "ClusterIP" || type === "NodePort" || type === "LoadBalancer"))
    out.push(required(p.child("internalTrafficPolicy")));
  if (itp !== undefined && itp !== "Cluster" && itp !== "Local")
    out.push(notSupported(p.child("internalTrafficPolicy"), itp, ["Cluster", "Local"]));
  if (spec.allocateLoadBalancerNodePorts !== undefined && type !== "LoadBalancer") {
    out.push(
      forbidden(p.child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"),
    );
  }
  if (type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts === undefined)
    out.push(required(root("allocateLoadBalancerNodePorts")));
  if (spec.loadBalancerClass !== undefined && type !== "LoadBalancer") {
    out.push(forbidden(p.child("loadBalancerClass"), "may only be used when `type` is 'LoadBalancer'"));
  }
  return out;
}

/** A Service update may not change an allocated cluster IP (an empty one is kept by the server). */
export function validateServiceUpdate(spec: Obj, old: Obj, p: Path): Cause[] {
  if (spec.type === "ExternalName" || old.type === "ExternalName") return [];
  const n = clusterIPsOf(spec);
  const o = clusterIPsOf(old);
  if (n.length === 0) return [];
  if (o.length === 1 && o[0] === "None" && n.length === 1 && n[0] === "None") return [];
  const out: Cause[] = [];
  if (n.length === o.length) {
    o.forEach((ip, i) => {
      if (ip !== n[i])
        out.push(invalid(p.child("clusterIPs").index(i), goStringSlice(n), "may not change once set"));
    });
  } else if (o.length > 0 && n[0] !== o[0]) {
    out.push(invalid(p.child("clusterIPs").index(0), goStringSlice(n), "may not change once set"));
  }
  return out;
}

const MAX_SECRET_SIZE = 1024 * 1024;

function dataSize(values: unknown, decode: boolean): number {
  let n = 0;
  for (const v of Object.values(objOf(values))) {
    const s = String(v ?? "");
    n += decode ? Buffer.from(s, "base64").length : Buffer.byteLength(s);
  }
  return n;
}

export function validateConfigMap(obj: Obj): Cause[] {
  const out: Cause[] = [];
  const data = objOf(obj.data);
  const binary = objOf(obj.binaryData);
  for (const key of Object.keys(data)) {
    for (const m of isConfigMapKey(key)) out.push(invalid(root("data").key(key), key, m));
    if (key in binary)
      out.push(invalid(root("data").key(key), key, "duplicate of key present in binaryData"));
  }
  for (const key of Object.keys(binary))
    for (const m of isConfigMapKey(key)) out.push(invalid(root("binaryData").key(key), key, m));
  if (dataSize(data, false) + dataSize(binary, true) > MAX_SECRET_SIZE)
    out.push(tooLong(root(), MAX_SECRET_SIZE));
  return out;
}

function validateImmutableData(obj: Obj, old: Obj, fields: string[]): Cause[] {
  if (old.immutable !== true) return [];
  const out: Cause[] = [];
  if (obj.immutable !== true)
    out.push(forbidden(root("immutable"), "field is immutable when `immutable` is set"));
  for (const f of fields) {
    if (!deepEqual(obj[f], old[f]))
      out.push(forbidden(root(f), "field is immutable when `immutable` is set"));
  }
  return out;
}

export function validateConfigMapUpdate(obj: Obj, old: Obj): Cause[] {
  return validateImmutableData(obj, old, ["data", "binaryData"]);
}

export function validateSecret(obj: Obj): Cause[] {
  const out: Cause[] = [];
  const data = objOf(obj.data);
  const dp = root("data");
  for (const key of Object.keys(data))
    for (const m of isConfigMapKey(key)) out.push(invalid(dp.key(key), key, m));
  if (dataSize(data, true) > MAX_SECRET_SIZE) out.push(tooLong(dp, MAX_SECRET_SIZE));
  const has = (k: string) => Object.hasOwn(data, k);
  switch (obj.type) {
    case "kubernetes.io/service-account-token":
      if (!objOf(objOf(obj.metadata).annotations)["kubernetes.io/service-account.name"]) {
        out.push(required(root("metadata", "annotations").key("kubernetes.io/service-account.name")));
      }
      break;
    case "kubernetes.io/dockercfg":
      if (!has(".dockercfg")) out.push(required(dp.key(".dockercfg")));
      break;
    case "kubernetes.io/dockerconfigjson":
      if (!has(".dockerconfigjson")) out.push(required(dp.key(".dockerconfigjson")));
      break;
    case "kubernetes.io/basic-auth":
      if (!has("username") && !has("password"))
        out.push(required(dp.key("username")), required(dp.key("password")));
      break;
    case "kubernetes.io/ssh-auth":
      if (!data["ssh-privatekey"]) out.push(required(dp.key("ssh-privatekey")));
      break;
    case "kubernetes.io/tls":
      if (!has("tls.crt")) out.push(required(dp.key("tls.crt")));
      if (!has("tls.key")) out.push(required(dp.key("tls.key")));
      break;
  }
  return out;
}

export function validateSecretUpdate(obj: Obj, old: Obj): Cause[] {
  const out: Cause[] = [];
  if ((obj.type ?? "") !== (old.type ?? ""))
    out.push(invalid(root("type"), obj.type ?? "", "field is immutable"));
  out.push(...validateImmutableData(obj, old, ["data"]));
  return out;
}

export function validateNamespaceSpec(obj: Obj): Cause[] {
  const out: Cause[] = [];
  const standard = ["kubernetes", "orphan", "foregroundDeletion"];
  for (const f of objOf(obj.spec).finalizers ?? []) {
    const fp = root("spec", "finalizers");
    out.push(...validateQualifiedName(String(f), fp));
    if (!String(f).includes("/") && !standard.includes(String(f))) {
      out.push(invalid(fp, String(f), "name is neither a standard finalizer name nor is it fully qualified"));
    }
  }
  return out;
}

const ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];

export function validatePVCSpec(spec: Obj, p: Path): Cause[] {
  const out: Cause[] = [];
  const modes: unknown[] = Array.isArray(spec.accessModes) ? spec.accessModes : [];
  if (modes.length === 0) out.push(required(p.child("accessModes"), "at least 1 access mode is required"));
  for (const m of modes)
    if (!ACCESS_MODES.includes(String(m)))
      out.push(notSupported(p.child("accessModes"), String(m), ACCESS_MODES));
  if (modes.includes("ReadWriteOncePod") && modes.length > 1) {
    out.push(forbidden(p.child("accessModes"), "may not use ReadWriteOncePod with other access modes"));
  }
  if (spec.selector !== undefined && !isObj(spec.selector))
    out.push(invalid(p.child("selector"), null, "invalid label selector"));
  const requests = objOf(objOf(spec.resources).requests);
  if (requests.storage === undefined) out.push(required(p.child("resources").key("storage")));
  if (spec.volumeMode !== undefined && spec.volumeMode !== "Block" && spec.volumeMode !== "Filesystem") {
    out.push(notSupported(p.child("volumeMode"), spec.volumeMode, ["Block", "Filesystem"]));
  }
  if (spec.storageClassName !== undefined && spec.storageClassName !== "") {
    out.push(...validateDNS1123Subdomain(spec.storageClassName, p.child("storageClassName")));
  }
  return out;
}

/** A claim's spec is fixed once created, except a larger storage request and the volume name set once. */
export function validatePVCUpdate(obj: Obj, old: Obj): Cause[] {
  const spec = { ...objOf(obj.spec) };
  const oldSpec = { ...objOf(old.spec) };
  if (!oldSpec.volumeName) oldSpec.volumeName = spec.volumeName;
  const bound = objOf(obj.status).phase === "Bound";
  if (bound) {
    const req = {
      ...objOf(objOf(spec.resources).requests),
      storage: objOf(objOf(oldSpec.resources).requests).storage,
    };
    spec.resources = { ...objOf(spec.resources), requests: req };
    spec.volumeAttributesClassName = oldSpec.volumeAttributesClassName;
  }
  if (deepEqual(spec, oldSpec)) return [];
  return [
    forbidden(
      root("spec"),
      "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    ),
  ];
}

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

export function validateNodeSpec(spec: Obj, p: Path): Cause[] {
  const out: Cause[] = [];
  const seen = new Set<string>();
  arr(spec.taints).forEach((t, i) => {
    const tp = p.child("taints").index(i);
    out.push(...validateQualifiedName(t.key ?? "", tp.child("key")));
    if (!t.effect) out.push(required(tp.child("effect")));
    else if (!TAINT_EFFECTS.includes(t.effect))
      out.push(notSupported(tp.child("effect"), t.effect, TAINT_EFFECTS));
    const key = `${t.effect}/${t.key}`;
    if (seen.has(key))
      out.push({
        ...duplicate(tp, null),
        message: "Duplicate value: taints must be unique by key and effect pair",
      });
    seen.add(key);
  });
  return out;
}

export function validateHPASpec(spec: Obj, p: Path): Cause[] {
  const out: Cause[] = [];
  const ref = objOf(spec.scaleTargetRef);
  const rp = p.child("scaleTargetRef");
  if (!ref.kind) out.push(required(rp.child("kind")));
  if (!ref.name) out.push(required(rp.child("name")));
  if (spec.minReplicas !== undefined && spec.minReplicas < 1) {
    out.push(invalid(p.child("minReplicas"), spec.minReplicas, "must be greater than or equal to 1"));
  }
  if (typeof spec.maxReplicas !== "number" || spec.maxReplicas < 1) {
    out.push(invalid(p.child("maxReplicas"), spec.maxReplicas ?? 0, "must be greater than 0"));
  }
  if (
    typeof spec.maxReplicas === "number" &&
    spec.minReplicas !== undefined &&
    spec.maxReplicas < spec.minReplicas
  ) {
    out.push(
      invalid(p.child("maxReplicas"), spec.maxReplicas, "must be greater than or equal to `minReplicas`"),
    );
  }
  return out;
}

export function validateStorageClass(obj: Obj): Cause[] {
  const out: Cause[] = [];
  if (!obj.provisioner) out.push(required(root("provisioner")));
  else out.push(...validateQualifiedName(String(obj.provisioner).toLowerCase(), root("provisioner")));
  if (obj.reclaimPolicy !== undefined && obj.reclaimPolicy !== "Delete" && obj.reclaimPolicy !== "Retain") {
    out.push(notSupported(root("reclaimPolicy"), obj.reclaimPolicy, ["Delete", "Retain"]));
  }
  if (
    obj.volumeBindingMode !== undefined &&
    !["Immediate", "WaitForFirstConsumer"].includes(obj.volumeBindingMode)
  ) {
    out.push(
      notSupported(root("volumeBindingMode"), obj.volumeBindingMode, ["Immediate", "WaitForFirstConsumer"]),
    );
  }
  return out;
}

export function validateEndpointSlice(obj: Obj): Cause[] {
  const types = ["FQDN", "IPv4", "IPv6"];
  if (!obj.addressType) return [required(root("addressType"))];
  if (!types.includes(obj.addressType)) return [notSupported(root("addressType"), obj.addressType, types)];
  return [];
}
