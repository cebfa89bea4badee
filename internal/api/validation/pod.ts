// Pod and pod template validation after pkg/apis/core/validation (ValidatePodSpec,
// validateContainers, ValidatePodUpdate), with upstream's paths and messages.

import { VOLUME_SOURCES } from "../volume-sources";
import {
  type Cause,
  deepEqual,
  duplicate,
  forbidden,
  invalid,
  notFound,
  notSupported,
  type Path,
  required,
} from "./field";
import {
  inclusiveRangeError,
  isConfigMapKey,
  isEnvVarName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  validateAnnotations,
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validateLabels,
  validateQualifiedName,
} from "./names";
import { parseQuantity } from "./quantity";

type Obj = Record<string, any>;

const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

const FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive";

function validateMode(mode: unknown, p: Path): Cause[] {
  if (typeof mode === "number" && (mode < 0 || mode > 0o777)) return [invalid(p, mode, FILE_MODE_ERROR)];
  return [];
}

function validateKeyToPaths(items: unknown, p: Path): Cause[] {
  const out: Cause[] = [];
  arr(items).forEach((it, i) => {
    const ip = p.index(i);
    if (!it.key) out.push(required(ip.child("key")));
    if (!it.path) out.push(required(ip.child("path")));
    out.push(...validateMode(it.mode, ip.child("mode")));
  });
  return out;
}

function validateVolumeSource(v: Obj, p: Path): Cause[] {
  const out: Cause[] = [];
  const present = VOLUME_SOURCES.filter((k) => v[k] !== undefined && v[k] !== null);
  if (present.length === 0) return [required(p, "must specify a volume type")];
  for (const k of present.slice(1))
    out.push(forbidden(p.child(k), "may not specify more than 1 volume type"));
  const src = present[0];
  const s: Obj = isObj(v[src]) ? v[src] : {};
  const sp = p.child(src);
  switch (src) {
    case "configMap":
      if (!s.name) out.push(required(sp.child("name")));
      out.push(
        ...validateMode(s.defaultMode, sp.child("defaultMode")),
        ...validateKeyToPaths(s.items, sp.child("items")),
      );
      break;
    case "secret":
      if (!s.secretName) out.push(required(sp.child("secretName")));
      out.push(
        ...validateMode(s.defaultMode, sp.child("defaultMode")),
        ...validateKeyToPaths(s.items, sp.child("items")),
      );
      break;
    case "hostPath": {
      if (!s.path) out.push(required(sp.child("path")));
      const types = [
        "",
        "BlockDevice",
        "CharDevice",
        "Directory",
        "DirectoryOrCreate",
        "File",
        "FileOrCreate",
        "Socket",
      ];
      if (s.type !== undefined && !types.includes(s.type))
        out.push(notSupported(sp.child("type"), s.type, types));
      break;
    }
    case "persistentVolumeClaim":
      if (!s.claimName) out.push(required(sp.child("claimName")));
      break;
    case "emptyDir": {
      const media = ["", "Memory", "HugePages"];
      if (s.medium !== undefined && !media.includes(s.medium) && !String(s.medium).startsWith("HugePages-")) {
        out.push(notSupported(sp.child("medium"), s.medium, media));
      }
      break;
    }
    case "downwardAPI":
      out.push(...validateMode(s.defaultMode, sp.child("defaultMode")));
      break;
    case "projected":
      out.push(...validateMode(s.defaultMode, sp.child("defaultMode")));
      break;
  }
  return out;
}

function validateVolumes(volumes: unknown, p: Path): { causes: Cause[]; names: Set<string> } {
  const out: Cause[] = [];
  const names = new Set<string>();
  arr(volumes).forEach((v, i) => {
    const ip = p.index(i);
    const np = ip.child("name");
    out.push(...validateVolumeSource(v, ip));
    if (!v.name) out.push(required(np));
    else out.push(...validateDNS1123Label(v.name, np));
    if (names.has(v.name)) out.push(duplicate(np, v.name));
    else names.add(v.name);
  });
  return { causes: out, names };
}

function validateContainerPorts(ports: unknown, p: Path): Cause[] {
  const out: Cause[] = [];
  const names = new Set<string>();
  arr(ports).forEach((port, i) => {
    const ip = p.index(i);
    if (port.name) {
      const msgs = isValidPortName(port.name);
      if (msgs.length) for (const m of msgs) out.push(invalid(ip.child("name"), port.name, m));
      else if (names.has(port.name)) out.push(duplicate(ip.child("name"), port.name));
      else names.add(port.name);
    }
    if (!port.containerPort) out.push(required(ip.child("containerPort")));
    else
      for (const m of isValidPortNum(port.containerPort))
        out.push(invalid(ip.child("containerPort"), port.containerPort, m));
    if (port.hostPort)
      for (const m of isValidPortNum(port.hostPort))
        out.push(invalid(ip.child("hostPort"), port.hostPort, m));
    if (!port.protocol) out.push(required(ip.child("protocol")));
    else if (!["SCTP", "TCP", "UDP"].includes(port.protocol))
      out.push(notSupported(ip.child("protocol"), port.protocol, ["SCTP", "TCP", "UDP"]));
  });
  return out;
}

function validateKeySelector(sel: Obj, p: Path): Cause[] {
  if (!sel.key) return [required(p.child("key"))];
  return isConfigMapKey(sel.key).map((m) => invalid(p.child("key"), sel.key, m));
}

function validateEnv(env: unknown, p: Path): Cause[] {
  const out: Cause[] = [];
  arr(env).forEach((e, i) => {
    const ip = p.index(i);
    if (!e.name) out.push(required(ip.child("name")));
    else for (const m of isEnvVarName(e.name)) out.push(invalid(ip.child("name"), e.name, m));
    if (isObj(e.valueFrom)) {
      const vf = e.valueFrom;
      const vp = ip.child("valueFrom");
      const sources = ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"].filter((k) =>
        isObj(vf[k]),
      );
      if (sources.length === 0) {
        out.push(
          invalid(
            vp,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
          ),
        );
      } else if (e.value) {
        out.push(invalid(vp, "", "may not be specified when `value` is not empty"));
      } else if (sources.length > 1) {
        out.push(invalid(vp, "", "may not have more than one field specified at a time"));
      }
      if (isObj(vf.fieldRef)) {
        if (!vf.fieldRef.apiVersion) out.push(required(vp.child("fieldRef", "apiVersion")));
        else if (!vf.fieldRef.fieldPath) out.push(required(vp.child("fieldRef", "fieldPath")));
      }
      if (isObj(vf.configMapKeyRef))
        out.push(...validateKeySelector(vf.configMapKeyRef, vp.child("configMapKeyRef")));
      if (isObj(vf.secretKeyRef)) out.push(...validateKeySelector(vf.secretKeyRef, vp.child("secretKeyRef")));
    }
  });
  return out;
}

function validateVolumeMounts(mounts: unknown, volumes: Set<string>, p: Path): Cause[] {
  const out: Cause[] = [];
  const paths = new Set<string>();
  arr(mounts).forEach((m, i) => {
    const ip = p.index(i);
    if (!m.name) out.push(required(ip.child("name")));
    if (!volumes.has(m.name)) out.push(notFound(ip.child("name"), m.name ?? ""));
    if (!m.mountPath) out.push(required(ip.child("mountPath")));
    if (paths.has(m.mountPath)) out.push(invalid(ip.child("mountPath"), m.mountPath, "must be unique"));
    paths.add(m.mountPath);
    if (m.subPath && (String(m.subPath).startsWith("/") || String(m.subPath).split("/").includes(".."))) {
      out.push(
        invalid(
          ip.child("subPath"),
          m.subPath,
          String(m.subPath).startsWith("/") ? "must be a relative path" : "must not contain '..'",
        ),
      );
    }
  });
  return out;
}

function validateResources(res: unknown, p: Path): Cause[] {
  const out: Cause[] = [];
  if (!isObj(res)) return out;
  const limits: Obj = isObj(res.limits) ? res.limits : {};
  const requests: Obj = isObj(res.requests) ? res.requests : {};
  for (const [bag, values] of [
    ["limits", limits],
    ["requests", requests],
  ] as const) {
    for (const [name, q] of Object.entries(values)) {
      const v = parseQuantity(q);
      if (v !== undefined && v < 0)
        out.push(invalid(p.child(bag).key(name), String(q), "must be greater than or equal to 0"));
    }
  }
  for (const [name, q] of Object.entries(requests)) {
    if (!(name in limits)) continue;
    const r = parseQuantity(q);
    const l = parseQuantity(limits[name]);
    if (r !== undefined && l !== undefined && r > l) {
      out.push(
        invalid(
          p.child("requests"),
          String(q),
          `must be less than or equal to ${name} limit of ${String(limits[name])}`,
        ),
      );
    }
  }
  return out;
}

const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];

function validateContainerCommon(c: Obj, volumes: Set<string>, p: Path): Cause[] {
  const out: Cause[] = [];
  const np = p.child("name");
  if (!c.name) out.push(required(np));
  else out.push(...validateDNS1123Label(c.name, np));
  if (!c.image) out.push(required(p.child("image")));
  const tmp = c.terminationMessagePolicy;
  if (tmp === undefined || tmp === "") out.push(required(p.child("terminationMessagePolicy")));
  else if (tmp !== "File" && tmp !== "FallbackToLogsOnError")
    out.push(notSupported(p.child("terminationMessagePolicy"), tmp, ["File", "FallbackToLogsOnError"]));
  out.push(...validateContainerPorts(c.ports, p.child("ports")));
  out.push(...validateEnv(c.env, p.child("env")));
  out.push(...validateVolumeMounts(c.volumeMounts, volumes, p.child("volumeMounts")));
  if (c.imagePullPolicy === undefined || c.imagePullPolicy === "")
    out.push(required(p.child("imagePullPolicy")));
  else if (!PULL_POLICIES.includes(c.imagePullPolicy))
    out.push(notSupported(p.child("imagePullPolicy"), c.imagePullPolicy, PULL_POLICIES));
  out.push(...validateResources(c.resources, p.child("resources")));
  return out;
}

function validateProbe(probe: unknown, p: Path): Cause[] {
  const out: Cause[] = [];
  if (!isObj(probe)) return out;
  const handlers = ["exec", "httpGet", "tcpSocket", "grpc"].filter((k) => isObj(probe[k]));
  if (handlers.length === 0) out.push(required(p, "must specify a handler type"));
  for (const k of handlers.slice(1))
    out.push(forbidden(p.child(k), "may not specify more than 1 handler type"));
  for (const f of [
    "initialDelaySeconds",
    "timeoutSeconds",
    "periodSeconds",
    "successThreshold",
    "failureThreshold",
  ]) {
    if (typeof probe[f] === "number" && probe[f] < 0)
      out.push(invalid(p.child(f), probe[f], "must be greater than or equal to 0"));
  }
  if (isObj(probe.httpGet) && typeof probe.httpGet.port === "number") {
    for (const m of isValidPortNum(probe.httpGet.port))
      out.push(invalid(p.child("httpGet", "port"), probe.httpGet.port, m));
  }
  if (isObj(probe.tcpSocket) && typeof probe.tcpSocket.port === "number") {
    for (const m of isValidPortNum(probe.tcpSocket.port))
      out.push(invalid(p.child("tcpSocket", "port"), probe.tcpSocket.port, m));
  }
  return out;
}

const RESTART_POLICIES = ["Always", "OnFailure", "Never"];
const DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];

function validateTolerations(tolerations: unknown, p: Path): Cause[] {
  const out: Cause[] = [];
  arr(tolerations).forEach((t, i) => {
    const ip = p.index(i);
    if (t.key) out.push(...validateQualifiedName(t.key, ip.child("key")));
    if (!t.key && t.operator !== "Exists") {
      out.push(
        invalid(
          ip.child("operator"),
          t.operator ?? "",
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
      out.push(
        invalid(
          ip.child("effect"),
          t.effect ?? "",
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      );
    }
    switch (t.operator) {
      case undefined:
      case "":
      case "Equal": {
        const errs = isValidLabelValue(t.value ?? "");
        if (errs.length) out.push(invalid(ip.child("operator"), t.value ?? "", errs.join(";")));
        break;
      }
      case "Exists":
        if (t.value)
          out.push(invalid(ip.child("operator"), t.value, "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        out.push(notSupported(ip.child("operator"), t.operator, ["Equal", "Exists"]));
    }
    if (t.effect && !["NoSchedule", "PreferNoSchedule", "NoExecute"].includes(t.effect)) {
      out.push(notSupported(ip.child("effect"), t.effect, ["NoSchedule", "PreferNoSchedule", "NoExecute"]));
    }
  });
  return out;
}

/** ValidatePodSpec: the spec of a pod or of a pod template. */
export function validatePodSpec(spec: unknown, p: Path): Cause[] {
  const s: Obj = isObj(spec) ? spec : {};
  const out: Cause[] = [];
  if (s.terminationGracePeriodSeconds === undefined)
    out.push(required(p.child("terminationGracePeriodSeconds")));
  const { causes: volErrs, names: volumes } = validateVolumes(s.volumes, p.child("volumes"));
  out.push(...volErrs);

  const cp = p.child("containers");
  const containers = arr(s.containers);
  const names = new Set<string>();
  if (containers.length === 0) out.push(required(cp));
  containers.forEach((c, i) => {
    const ip = cp.index(i);
    out.push(...validateContainerCommon(c, volumes, ip));
    if (names.has(c.name)) out.push(duplicate(ip.child("name"), c.name));
    else names.add(c.name);
    out.push(...validateProbe(c.livenessProbe, ip.child("livenessProbe")));
    out.push(...validateProbe(c.readinessProbe, ip.child("readinessProbe")));
    out.push(...validateProbe(c.startupProbe, ip.child("startupProbe")));
    if (c.restartPolicy !== undefined)
      out.push(forbidden(ip.child("restartPolicy"), "may not be set for non-init containers"));
  });
  const icp = p.child("initContainers");
  arr(s.initContainers).forEach((c, i) => {
    const ip = icp.index(i);
    out.push(...validateContainerCommon(c, volumes, ip));
    if (names.has(c.name)) out.push(duplicate(ip.child("name"), c.name));
    else names.add(c.name);
    if (c.restartPolicy !== undefined && c.restartPolicy !== "Always")
      out.push(notSupported(ip.child("restartPolicy"), c.restartPolicy, ["Always"]));
    if (c.restartPolicy !== "Always") {
      for (const f of ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"]) {
        if (c[f] !== undefined)
          out.push(forbidden(ip.child(f), "may not be set for init containers without restartPolicy=Always"));
      }
    }
  });

  const rp = s.restartPolicy;
  if (rp === undefined || rp === "") out.push(required(p.child("restartPolicy")));
  else if (!RESTART_POLICIES.includes(rp))
    out.push(notSupported(p.child("restartPolicy"), rp, RESTART_POLICIES));
  const dp = s.dnsPolicy;
  if (dp === undefined || dp === "") out.push(required(p.child("dnsPolicy")));
  else if (!DNS_POLICIES.includes(dp)) out.push(notSupported(p.child("dnsPolicy"), dp, DNS_POLICIES));
  if (dp === "None" && !isObj(s.dnsConfig))
    out.push(required(p.child("dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None"));
  out.push(...validateLabels(s.nodeSelector, p.child("nodeSelector")));
  if (s.serviceAccountName)
    out.push(...validateDNS1123Subdomain(s.serviceAccountName, p.child("serviceAccountName")));
  if (s.nodeName) out.push(...validateDNS1123Subdomain(s.nodeName, p.child("nodeName")));
  if (s.hostname) out.push(...validateDNS1123Label(s.hostname, p.child("hostname")));
  if (s.subdomain) out.push(...validateDNS1123Label(s.subdomain, p.child("subdomain")));
  if (
    s.activeDeadlineSeconds !== undefined &&
    (s.activeDeadlineSeconds < 1 || s.activeDeadlineSeconds > 2147483647)
  ) {
    out.push(
      invalid(p.child("activeDeadlineSeconds"), s.activeDeadlineSeconds, inclusiveRangeError(1, 2147483647)),
    );
  }
  out.push(...validateTolerations(s.tolerations, p.child("tolerations")));
  arr(s.imagePullSecrets).forEach((ref, i) => {
    const extra = Object.keys(ref).filter((k) => k !== "name");
    if (extra.length)
      out.push(invalid(p.child("imagePullSecrets").index(i), JSON.stringify(ref), "only name may be set"));
  });
  return out;
}

/** ValidatePodTemplateSpec: labels and annotations (on the template path itself, as upstream), then the spec. */
export function validatePodTemplateSpec(template: unknown, p: Path): Cause[] {
  const t: Obj = isObj(template) ? template : {};
  const meta: Obj = isObj(t.metadata) ? t.metadata : {};
  const out: Cause[] = [];
  out.push(...validateLabels(meta.labels, p.child("labels")));
  out.push(...validateAnnotations(meta.annotations, p.child("annotations")));
  out.push(...validatePodSpec(t.spec, p.child("spec")));
  if (isObj(t.spec) && arr(t.spec.ephemeralContainers).length > 0) {
    out.push(
      forbidden(p.child("spec", "ephemeralContainers"), "ephemeral containers not allowed in pod template"),
    );
  }
  return out;
}

/** Checks only a pod (not a template) gets: no ephemeral containers on create, images without padding. */
export function validatePodCreate(pod: Obj, p: Path): Cause[] {
  const out: Cause[] = [];
  const spec: Obj = isObj(pod.spec) ? pod.spec : {};
  for (const field of ["containers", "initContainers"]) {
    arr(spec[field]).forEach((c, i) => {
      if (typeof c.image === "string" && c.image !== c.image.trim()) {
        out.push(
          invalid(
            p.child(field).index(i).child("image"),
            c.image,
            "must not have leading or trailing whitespace",
          ),
        );
      }
    });
  }
  if (arr(spec.ephemeralContainers).length > 0)
    out.push(forbidden(p.child("ephemeralContainers"), "cannot be set on create"));
  return out;
}

const UPDATABLE_POD_SPEC_FIELDS = [
  "`spec.containers[*].image`",
  "`spec.initContainers[*].image`",
  "`spec.activeDeadlineSeconds`",
  "`spec.tolerations` (only additions to existing tolerations)",
  "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
];

/**
 * ValidatePodUpdate: only images, activeDeadlineSeconds (down), added tolerations and
 * removed scheduling gates may change. Upstream appends a Go diff of the specs to the
 * Forbidden message; that diff is left out here.
 */
export function validatePodUpdate(pod: Obj, old: Obj, p: Path): Cause[] {
  const out: Cause[] = [];
  const spec: Obj = isObj(pod.spec) ? pod.spec : {};
  const oldSpec: Obj = isObj(old.spec) ? old.spec : {};
  for (const field of ["containers", "initContainers"]) {
    const n = arr(spec[field]);
    const o = arr(oldSpec[field]);
    if (n.length !== o.length)
      return [forbidden(p.child(field), "pod updates may not add or remove containers")];
    n.forEach((c, i) => {
      if (!c.image) out.push(required(p.child(field).index(i).child("image")));
    });
  }
  const ads = spec.activeDeadlineSeconds;
  const oldAds = oldSpec.activeDeadlineSeconds;
  if (ads !== undefined) {
    if (ads < 0 || ads > 2147483647)
      return [...out, invalid(p.child("activeDeadlineSeconds"), ads, inclusiveRangeError(0, 2147483647))];
    if (oldAds !== undefined && oldAds < ads) {
      return [
        ...out,
        invalid(p.child("activeDeadlineSeconds"), ads, "must be less than or equal to previous value"),
      ];
    }
  } else if (oldAds !== undefined) {
    out.push(
      invalid(p.child("activeDeadlineSeconds"), null, "must not update from a positive integer to nil value"),
    );
  }
  for (const t of arr(oldSpec.tolerations)) {
    const found = arr(spec.tolerations).some((n) =>
      deepEqual({ ...t, tolerationSeconds: n.tolerationSeconds }, n),
    );
    if (!found) {
      out.push(
        forbidden(
          p.child("tolerations"),
          "existing toleration can not be modified except its tolerationSeconds",
        ),
      );
      break;
    }
  }
  const oldGates = new Set(arr(oldSpec.schedulingGates).map((g) => g.name));
  arr(spec.schedulingGates).forEach((g, i) => {
    if (!oldGates.has(g.name)) {
      out.push(
        forbidden(
          p.child("schedulingGates").index(i).child("name"),
          `only deletion is allowed, but found new scheduling gate '${g.name}'`,
        ),
      );
    }
  });
  const munged: Obj = { ...spec };
  for (const field of ["containers", "initContainers"]) {
    if (spec[field] !== undefined)
      munged[field] = arr(spec[field]).map((c, i) => ({ ...c, image: arr(oldSpec[field])[i]?.image }));
  }
  munged.activeDeadlineSeconds = oldSpec.activeDeadlineSeconds;
  munged.tolerations = oldSpec.tolerations;
  munged.schedulingGates = oldSpec.schedulingGates;
  if (
    typeof oldSpec.terminationGracePeriodSeconds === "number" &&
    oldSpec.terminationGracePeriodSeconds < 0 &&
    munged.terminationGracePeriodSeconds === 1
  ) {
    munged.terminationGracePeriodSeconds = oldSpec.terminationGracePeriodSeconds;
  }
  if (!deepEqual(munged, oldSpec)) {
    out.push(
      forbidden(p, `pod updates may not change fields other than ${UPDATABLE_POD_SPEC_FIELDS.join(",")}`),
    );
  }
  return out;
}
