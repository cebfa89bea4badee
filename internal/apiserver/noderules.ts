// Node authorization, after Kubernetes' Node authorizer and NodeRestriction: a node
// (user system:node:<name>, group system:nodes) may read what its own pods need and
// write only its own Node, Lease, its pods' status and Events. Everything else is
// refused with the usual 403.
//
// Which Secrets, ConfigMaps and PVCs a node may read follows from the pods bound to
// it: an informer on pods keeps, per node, the objects those pods reference (volumes,
// projected sources, env valueFrom, envFrom, imagePullSecrets). The rule itself is
// synchronous, as the Authorizer interface is, and reads only that index.
//
// Reads of Nodes are allowed for every node, as Kubernetes' system:node role does:
// node networking needs the other nodes' addresses and pod CIDRs, and a Node holds
// nothing secret. Pods may be listed or watched only with the field selector
// spec.nodeName=<itself> (the kubelet's own query), which the link passes along.
import { findResource } from "../api/resources";
import { Informer } from "../client/informer";
import type { Client, KObject } from "../client/types";
import type { NodeRule } from "./authz";
import type { RequestAttributes } from "./handler";

/** Request attributes as the link (and HTTP, for list/watch) can fill them. */
export type NodeRequestAttributes = RequestAttributes & { fieldSelector?: string };

export interface NodeRules {
  rule: NodeRule;
  /** Fills the pod index from an informer through `client` (a system client); resolves once synced. */
  start(client: Client, signal: AbortSignal): Promise<void>;
  /** True once the index reflects the store (before that, reads of referenced objects are refused). */
  readonly synced: boolean;
}

type RefKind = "secrets" | "configmaps" | "persistentvolumeclaims";

/** The Secrets, ConfigMaps and PVCs a pod references, as "kind/namespace/name". */
export function podReferences(pod: KObject): string[] {
  const ns = pod.metadata?.namespace ?? "default";
  const out = new Set<string>();
  const add = (kind: RefKind, name: unknown) => {
    if (typeof name === "string" && name !== "") out.add(`${kind}/${ns}/${name}`);
  };
  const spec = pod.spec ?? {};
  for (const s of spec.imagePullSecrets ?? []) add("secrets", s?.name);
  for (const v of spec.volumes ?? []) {
    add("secrets", v?.secret?.secretName);
    add("configmaps", v?.configMap?.name);
    add("persistentvolumeclaims", v?.persistentVolumeClaim?.claimName);
    add("persistentvolumeclaims", v?.ephemeral ? `${pod.metadata?.name}-${v.name}` : undefined);
    for (const src of v?.projected?.sources ?? []) {
      add("secrets", src?.secret?.name);
      add("configmaps", src?.configMap?.name);
    }
    // Volume plugins that name a secret for their own credentials.
    for (const plugin of [
      "azureFile",
      "cephfs",
      "cinder",
      "flexVolume",
      "iscsi",
      "rbd",
      "scaleIO",
      "storageos",
    ]) {
      const p = v?.[plugin];
      if (p) add("secrets", plugin === "azureFile" ? p.secretName : p.secretRef?.name);
    }
    add("secrets", v?.csi?.nodePublishSecretRef?.name);
  }
  const containers = [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  for (const c of containers) {
    for (const e of c?.env ?? []) {
      add("secrets", e?.valueFrom?.secretKeyRef?.name);
      add("configmaps", e?.valueFrom?.configMapKeyRef?.name);
    }
    for (const e of c?.envFrom ?? []) {
      add("secrets", e?.secretRef?.name);
      add("configmaps", e?.configMapRef?.name);
    }
  }
  return [...out];
}

/** Index of pods → node and node → referenced objects (with counts, as several pods may share one). */
export class PodIndex {
  private readonly podNode = new Map<string, string>();
  private readonly podRefs = new Map<string, string[]>();
  private readonly refs = new Map<string, Map<string, number>>();

  set(pod: KObject): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    this.remove(pod);
    const node = pod.spec?.nodeName;
    if (typeof node !== "string" || node === "") return;
    const refs = podReferences(pod);
    this.podNode.set(key, node);
    this.podRefs.set(key, refs);
    let m = this.refs.get(node);
    if (!m) {
      m = new Map();
      this.refs.set(node, m);
    }
    for (const r of refs) m.set(r, (m.get(r) ?? 0) + 1);
  }

  remove(pod: KObject): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    const node = this.podNode.get(key);
    if (node === undefined) return;
    const m = this.refs.get(node);
    for (const r of this.podRefs.get(key) ?? []) {
      const n = (m?.get(r) ?? 0) - 1;
      if (n > 0) m!.set(r, n);
      else m?.delete(r);
    }
    if (m?.size === 0) this.refs.delete(node);
    this.podNode.delete(key);
    this.podRefs.delete(key);
  }

  nodeOf(namespace: string | undefined, name: string | undefined): string | undefined {
    return this.podNode.get(`${namespace}/${name}`);
  }

  references(node: string, kind: string, namespace: string | undefined, name: string | undefined): boolean {
    return this.refs.get(node)?.has(`${kind}/${namespace}/${name}`) ?? false;
  }
}

/** The value of `key` in a field selector when it is required exactly (k=v or k==v), else undefined. */
export function selectorEquals(selector: string | undefined, key: string): string | undefined {
  if (!selector) return undefined;
  let found: string | undefined;
  for (const term of selector.split(",")) {
    const m = /^\s*([^!=\s]+)\s*==?\s*(.*?)\s*$/.exec(term);
    if (m && m[1] === key) {
      if (found !== undefined && found !== m[2]) return undefined;
      found = m[2];
    }
  }
  return found;
}

const READ = new Set(["get", "list", "watch"]);
const WRITE_OWN = new Set(["create", "update", "patch"]);

/** The decision, as a pure function of the request and the index. */
export function nodeMayDo(node: string, a: NodeRequestAttributes, index: PodIndex): boolean {
  const { verb, group, resource, subresource: sub } = a;
  if (group === "") {
    switch (resource) {
      case "nodes":
        if (sub === undefined && READ.has(verb)) return true;
        if (sub === undefined && verb === "create") return a.name === node;
        if ((sub === undefined || sub === "status") && (verb === "update" || verb === "patch"))
          return a.name === node;
        if (sub === "status" && verb === "get") return true;
        return false;
      case "pods":
        if (sub === undefined) {
          if (verb === "get" || verb === "delete") return index.nodeOf(a.namespace, a.name) === node;
          if (verb === "list" || verb === "watch")
            return selectorEquals(a.fieldSelector, "spec.nodeName") === node;
          return false;
        }
        if (sub === "status" && (verb === "get" || verb === "update" || verb === "patch"))
          return index.nodeOf(a.namespace, a.name) === node;
        return false;
      case "secrets":
      case "configmaps":
      case "persistentvolumeclaims": {
        if (sub !== undefined || !READ.has(verb)) return false;
        // One object at a time: by name, or a list/watch pinned to its name (the kubelet's
        // watch-based secret and configmap managers ask this way).
        const name = verb === "get" ? a.name : selectorEquals(a.fieldSelector, "metadata.name");
        if (name === undefined || a.namespace === undefined) return false;
        return index.references(node, resource, a.namespace, name);
      }
      case "services":
      case "endpoints":
        return sub === undefined && READ.has(verb);
      case "namespaces":
        return sub === undefined && verb === "get";
      case "events":
        return sub === undefined && (verb === "create" || verb === "update" || verb === "patch");
      default:
        return false;
    }
  }
  if (group === "discovery.k8s.io" && resource === "endpointslices")
    return sub === undefined && READ.has(verb);
  if (group === "events.k8s.io" && resource === "events")
    return sub === undefined && (verb === "create" || verb === "update" || verb === "patch");
  if (group === "coordination.k8s.io" && resource === "leases")
    return (
      sub === undefined &&
      a.namespace === "kube-node-lease" &&
      a.name === node &&
      (verb === "get" || WRITE_OWN.has(verb))
    );
  return false;
}

export function createNodeRule(log: (msg: string) => void = () => {}): NodeRules {
  const index = new PodIndex();
  let informer: Informer | undefined;
  let synced = false;
  return {
    rule: (node, attrs) => nodeMayDo(node, attrs as NodeRequestAttributes, index),
    get synced() {
      return synced;
    },
    async start(client, signal) {
      const pods = findResource("", "v1", "pods")!;
      informer = new Informer(client, pods, {}, log);
      informer.on({
        add: (p) => index.set(p),
        update: (_o, p) => index.set(p),
        delete: (p) => index.remove(p),
      });
      signal.addEventListener("abort", () => informer?.stop(), { once: true });
      informer.start();
      await informer.waitForSync();
      synced = true;
    },
  };
}
