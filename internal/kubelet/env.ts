// A container's environment as the kubelet computes it: envFrom first, then env in
// order, each value expanded with $(VAR) against what came before; plus the
// downward API (fieldRef, resourceFieldRef) shared with downwardAPI volumes.
import { parseQuantity } from "../api/validation/quantity";

type Obj = Record<string, any>;

/** A configuration problem that will not fix itself until the user acts (CreateContainerConfigError). */
export class ConfigError extends Error {}

export interface EnvSources {
  configMap(name: string): Promise<Obj | undefined>;
  secret(name: string): Promise<Obj | undefined>;
}

/**
 * Expands $(VAR) references as Kubernetes does: $$ escapes a $, an unknown
 * reference stays as written.
 */
export function expand(s: string, vars: (name: string) => string | undefined): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== "$" || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[i + 1];
    if (n === "$") {
      out += "$";
      i++;
    } else if (n === "(") {
      const end = s.indexOf(")", i + 2);
      if (end < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, end);
      const v = vars(name);
      out += v ?? `$(${name})`;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

/** Downward API field values; undefined for a path Kubernetes does not support. */
export function podFieldValue(pod: Obj, path: string): string | undefined {
  const m = pod.metadata ?? {};
  const fmtMap = (o: Record<string, string> | undefined) =>
    Object.keys(o ?? {})
      .sort()
      .map((k) => `${k}=${JSON.stringify(o![k])}`)
      .join("\n");
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (keyed) return m[keyed[1]]?.[keyed[2]] ?? "";
  switch (path) {
    case "metadata.name":
      return m.name ?? "";
    case "metadata.namespace":
      return m.namespace ?? "";
    case "metadata.uid":
      return m.uid ?? "";
    case "metadata.labels":
      return fmtMap(m.labels);
    case "metadata.annotations":
      return fmtMap(m.annotations);
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "status.podIP":
      return pod.status?.podIP ?? "";
    case "status.podIPs":
      return (pod.status?.podIPs ?? []).map((p: Obj) => p.ip).join(",");
    case "status.hostIP":
      return pod.status?.hostIP ?? "";
    case "status.hostIPs":
      return (pod.status?.hostIPs ?? []).map((p: Obj) => p.ip).join(",");
    default:
      return undefined;
  }
}

/**
 * resourceFieldRef: the container's limit (or, without one, the node's allocatable)
 * or request, divided by `divisor` and rounded up, as the kubelet does.
 */
export function resourceFieldValue(
  pod: Obj,
  ref: { containerName?: string; resource: string; divisor?: string },
  defaultContainer: string | undefined,
  nodeAllocatable: Record<string, string>,
): string | undefined {
  const name = ref.containerName || defaultContainer;
  const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
    (x: Obj) => x.name === name,
  );
  if (!c) return undefined;
  const [kind, res] = ref.resource.split(".");
  if (!res || (kind !== "limits" && kind !== "requests")) return undefined;
  let q = c.resources?.[kind]?.[res];
  if (q === undefined && kind === "limits") q = nodeAllocatable[res];
  if (q === undefined && kind === "requests") q = "0";
  const v = parseQuantity(q);
  const d = parseQuantity(ref.divisor ?? (res === "cpu" ? "1" : "1")) || 1;
  if (v === undefined) return undefined;
  return String(Math.ceil(v / d - 1e-9));
}

/** The environment as KEY=VALUE strings, in Kubernetes order (envFrom, then env). */
export async function buildEnv(
  pod: Obj,
  container: Obj,
  sources: EnvSources,
  nodeAllocatable: Record<string, string>,
): Promise<string[]> {
  const vars = new Map<string, string>();
  for (const ef of container.envFrom ?? []) {
    const prefix: string = ef.prefix ?? "";
    let data: Record<string, string> = {};
    if (ef.configMapRef) {
      const cm = await sources.configMap(ef.configMapRef.name);
      if (!cm) {
        if (ef.configMapRef.optional) continue;
        throw new ConfigError(`configmap "${ef.configMapRef.name}" not found`);
      }
      data = { ...(cm.data ?? {}) };
    } else if (ef.secretRef) {
      const s = await sources.secret(ef.secretRef.name);
      if (!s) {
        if (ef.secretRef.optional) continue;
        throw new ConfigError(`secret "${ef.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries<string>(s.data ?? {}))
        data[k] = Buffer.from(v, "base64").toString("utf8");
    }
    // Keys that are not valid variable names are skipped, as the kubelet does.
    for (const [k, v] of Object.entries(data))
      if (/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(prefix + k)) vars.set(prefix + k, v);
  }
  for (const e of container.env ?? []) {
    let value: string;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.configMapKeyRef) {
        const r = vf.configMapKeyRef;
        const cm = await sources.configMap(r.name);
        const v = cm?.data?.[r.key];
        if (v === undefined) {
          if (r.optional) continue;
          throw new ConfigError(
            cm
              ? `couldn't find key ${r.key} in ConfigMap ${pod.metadata?.namespace}/${r.name}`
              : `configmap "${r.name}" not found`,
          );
        }
        value = v;
      } else if (vf.secretKeyRef) {
        const r = vf.secretKeyRef;
        const s = await sources.secret(r.name);
        const v = s?.data?.[r.key];
        if (v === undefined) {
          if (r.optional) continue;
          throw new ConfigError(
            s
              ? `couldn't find key ${r.key} in Secret ${pod.metadata?.namespace}/${r.name}`
              : `secret "${r.name}" not found`,
          );
        }
        value = Buffer.from(v, "base64").toString("utf8");
      } else if (vf.fieldRef) {
        const v = podFieldValue(pod, vf.fieldRef.fieldPath);
        if (v === undefined) throw new ConfigError(`unsupported fieldRef ${vf.fieldRef.fieldPath}`);
        value = v;
      } else if (vf.resourceFieldRef) {
        const v = resourceFieldValue(pod, vf.resourceFieldRef, container.name, nodeAllocatable);
        if (v === undefined)
          throw new ConfigError(`unsupported resourceFieldRef ${vf.resourceFieldRef.resource}`);
        value = v;
      } else {
        throw new ConfigError(`env ${e.name}: valueFrom has no source`);
      }
    } else {
      value = expand(e.value ?? "", (n) => vars.get(n));
    }
    vars.set(e.name, value);
  }
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

/** command/args with $(VAR) expanded against the container's environment. */
export function expandCommand(list: string[] | undefined, env: string[]): string[] | undefined {
  if (!list) return undefined;
  const m = new Map(env.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
  return list.map((s) => expand(s, (n) => m.get(n)));
}
