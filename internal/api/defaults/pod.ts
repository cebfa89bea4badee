// Pod defaults from k8s.io/kubernetes pkg/apis/core/v1/defaults.go and the
// generated defaulters that apply them to every PodSpec (pods and the templates of
// workloads alike).

import { VOLUME_SOURCES } from "../volume-sources";

export type Obj = Record<string, any>;

export const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);

/** obj[key] as an object, created when absent. */
export function child(obj: Obj, key: string): Obj {
  if (!isObj(obj[key])) obj[key] = {};
  return obj[key];
}

export function setDefault(obj: Obj, key: string, value: unknown): void {
  if (obj[key] === undefined) obj[key] = value;
}

export const items = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

/**
 * imagePullPolicy by tag, as SetDefaults_Container decides it: Always when the tag is
 * "latest" (which is also what a reference with neither tag nor digest means),
 * IfNotPresent otherwise (a pinned tag, a digest, or an image that does not parse).
 */
export function pullPolicyFor(image: string): "Always" | "IfNotPresent" {
  if (!image || image !== image.trim()) return "IfNotPresent";
  const at = image.indexOf("@");
  const name = at >= 0 ? image.slice(0, at) : image;
  const lastSlash = name.lastIndexOf("/");
  const colon = name.indexOf(":", lastSlash + 1);
  const tag = colon >= 0 ? name.slice(colon + 1) : at >= 0 ? "" : "latest";
  return tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultHTTPGet(h: unknown): void {
  if (!isObj(h)) return;
  setDefault(h, "path", "/");
  setDefault(h, "scheme", "HTTP");
}

function defaultProbe(p: unknown): void {
  if (!isObj(p)) return;
  setDefault(p, "timeoutSeconds", 1);
  setDefault(p, "periodSeconds", 10);
  setDefault(p, "successThreshold", 1);
  setDefault(p, "failureThreshold", 3);
  defaultHTTPGet(p.httpGet);
  if (isObj(p.grpc)) setDefault(p.grpc, "service", "");
}

function defaultLifecycle(l: unknown): void {
  if (!isObj(l)) return;
  for (const h of [l.postStart, l.preStop]) if (isObj(h)) defaultHTTPGet(h.httpGet);
}

function defaultEnv(env: unknown): void {
  for (const e of items(env)) {
    if (isObj(e.valueFrom) && isObj(e.valueFrom.fieldRef))
      setDefault(e.valueFrom.fieldRef, "apiVersion", "v1");
  }
}

function defaultContainer(c: Obj, hostNetwork: boolean): void {
  setDefault(c, "terminationMessagePath", "/dev/termination-log");
  setDefault(c, "terminationMessagePolicy", "File");
  if (c.imagePullPolicy === undefined || c.imagePullPolicy === "") {
    c.imagePullPolicy = pullPolicyFor(String(c.image ?? ""));
  }
  for (const port of items(c.ports)) {
    setDefault(port, "protocol", "TCP");
    if (hostNetwork && port.hostPort === undefined) port.hostPort = port.containerPort;
  }
  defaultEnv(c.env);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultLifecycle(c.lifecycle);
  if (c.resources === undefined) c.resources = {};
}

/** 0644, the mode kubelet gives projected files unless told otherwise. */
const DEFAULT_MODE = 0o644;

function defaultVolume(v: Obj): void {
  if (!VOLUME_SOURCES.some((k) => v[k] !== undefined)) v.emptyDir = {};
  if (isObj(v.secret)) setDefault(v.secret, "defaultMode", DEFAULT_MODE);
  if (isObj(v.configMap)) setDefault(v.configMap, "defaultMode", DEFAULT_MODE);
  if (isObj(v.downwardAPI)) {
    setDefault(v.downwardAPI, "defaultMode", DEFAULT_MODE);
    for (const it of items(v.downwardAPI.items))
      if (isObj(it.fieldRef)) setDefault(it.fieldRef, "apiVersion", "v1");
  }
  if (isObj(v.projected)) {
    setDefault(v.projected, "defaultMode", DEFAULT_MODE);
    for (const src of items(v.projected.sources)) {
      if (isObj(src.serviceAccountToken)) setDefault(src.serviceAccountToken, "expirationSeconds", 3600);
      if (isObj(src.downwardAPI)) {
        for (const it of items(src.downwardAPI.items))
          if (isObj(it.fieldRef)) setDefault(it.fieldRef, "apiVersion", "v1");
      }
    }
  }
  if (isObj(v.hostPath)) setDefault(v.hostPath, "type", "");
  if (isObj(v.iscsi)) setDefault(v.iscsi, "iscsiInterface", "default");
  if (
    isObj(v.ephemeral) &&
    isObj(v.ephemeral.volumeClaimTemplate) &&
    isObj(v.ephemeral.volumeClaimTemplate.spec)
  ) {
    setDefault(v.ephemeral.volumeClaimTemplate.spec, "volumeMode", "Filesystem");
  }
}

/** SetDefaults_PodSpec plus the defaults of everything a PodSpec holds. */
export function defaultPodSpec(spec: Obj): void {
  setDefault(spec, "dnsPolicy", "ClusterFirst");
  setDefault(spec, "restartPolicy", "Always");
  if (!isObj(spec.securityContext)) spec.securityContext = {};
  setDefault(spec, "terminationGracePeriodSeconds", 30);
  setDefault(spec, "schedulerName", "default-scheduler");
  const hostNetwork = spec.hostNetwork === true;
  for (const c of items(spec.containers)) defaultContainer(c, hostNetwork);
  for (const c of items(spec.initContainers)) defaultContainer(c, hostNetwork);
  for (const c of items(spec.ephemeralContainers)) defaultContainer(c, hostNetwork);
  for (const v of items(spec.volumes)) defaultVolume(v);
}

/** A pod template: its spec gets the PodSpec defaults. */
export function defaultPodTemplate(template: unknown): void {
  if (!isObj(template)) return;
  defaultPodSpec(child(template, "spec"));
}

/**
 * SetDefaults_Pod: for a Pod (not a template), service links on, requests copied
 * from limits where only limits are given, and the priority the Priority admission
 * plugin assigns when no PriorityClass applies.
 */
export function defaultPod(pod: Obj): void {
  const spec = child(pod, "spec");
  defaultPodSpec(spec);
  setDefault(spec, "enableServiceLinks", true);
  if (spec.priorityClassName === undefined) setDefault(spec, "priority", 0);
  setDefault(spec, "preemptionPolicy", "PreemptLowerPriority");
  for (const c of [...items(spec.containers), ...items(spec.initContainers)]) {
    const res = isObj(c.resources) ? c.resources : undefined;
    if (!res || !isObj(res.limits)) continue;
    const requests = child(res, "requests");
    for (const [name, q] of Object.entries(res.limits)) setDefault(requests, name, q);
  }
}
