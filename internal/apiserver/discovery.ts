// Discovery documents (/api, /apis, per group-version, aggregated v2), all derived
// from the resource table and built once.
import { apiGroups, RESOURCES, type ResourceInfo, type Subresource } from "../api/resources";

interface SubresourceShape {
  group: string;
  version: string;
  kind: string | ((info: ResourceInfo) => string);
  verbs: string[];
}

const SUBRESOURCES: Record<Subresource, SubresourceShape> = {
  status: { group: "", version: "", kind: (i) => i.kind, verbs: ["get", "patch", "update"] },
  scale: { group: "autoscaling", version: "v1", kind: "Scale", verbs: ["get", "patch", "update"] },
  binding: { group: "", version: "v1", kind: "Binding", verbs: ["create"] },
  eviction: { group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] },
  log: { group: "", version: "v1", kind: "Pod", verbs: ["get"] },
  exec: { group: "", version: "v1", kind: "PodExecOptions", verbs: ["create", "get"] },
  attach: { group: "", version: "v1", kind: "PodAttachOptions", verbs: ["create", "get"] },
  portforward: { group: "", version: "v1", kind: "PodPortForwardOptions", verbs: ["create", "get"] },
  proxy: {
    group: "",
    version: "v1",
    kind: "NodeProxyOptions",
    verbs: ["create", "delete", "get", "patch", "update"],
  },
};

/** Extra resources served outside the storage table (reviews); each gets a discovery entry. */
export interface VirtualResource {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  verbs: string[];
}

export class Discovery {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly serverAddress: () => string,
    private readonly extra: VirtualResource[] = [],
  ) {}

  private groups(): { group: string; versions: string[] }[] {
    const gs = apiGroups();
    for (const v of this.extra) {
      let g = gs.find((x) => x.group === v.group);
      if (!g) gs.push((g = { group: v.group, versions: [] }));
      if (!g.versions.includes(v.version)) g.versions.push(v.version);
    }
    return gs;
  }

  private once(key: string, build: () => unknown): string {
    let s = this.cache.get(key);
    if (s === undefined) {
      s = JSON.stringify(build());
      this.cache.set(key, s);
    }
    return s;
  }

  /** GET /api (legacy). */
  coreVersions(): string {
    return JSON.stringify({
      kind: "APIVersions",
      versions: ["v1"],
      serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: this.serverAddress() }],
    });
  }

  /** GET /apis (legacy). */
  groupList(): string {
    return this.once("groups", () => ({
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: this.groups()
        .filter((g) => g.group !== "")
        .map((g) => this.groupShape(g.group, g.versions)),
    }));
  }

  /** GET /apis/<group>, or undefined when the group is not served. */
  group(name: string): string | undefined {
    const g = this.groups().find((x) => x.group === name && name !== "");
    if (!g) return undefined;
    return this.once(`group/${name}`, () => ({
      kind: "APIGroup",
      apiVersion: "v1",
      ...this.groupShape(g.group, g.versions),
    }));
  }

  private groupShape(group: string, versions: string[]) {
    const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
    return { name: group, versions: vs, preferredVersion: vs[0] };
  }

  /** GET /api/v1 or /apis/<group>/<version>. */
  resourceList(group: string, version: string): string | undefined {
    const rows = RESOURCES.filter((r) => r.group === group && r.version === version);
    const extras = this.extra.filter((r) => r.group === group && r.version === version);
    if (!rows.length && !extras.length) return undefined;
    return this.once(`rl/${group}/${version}`, () => {
      const resources: unknown[] = [];
      for (const r of rows) {
        resources.push({
          name: r.plural,
          singularName: r.singular,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: r.verbs,
          ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
          ...(r.categories.length ? { categories: r.categories } : {}),
        });
        for (const s of r.subresources) {
          const shape = SUBRESOURCES[s];
          const kind = typeof shape.kind === "function" ? shape.kind(r) : shape.kind;
          resources.push({
            name: `${r.plural}/${s}`,
            singularName: "",
            namespaced: r.namespaced,
            ...(s === "status" ? {} : { group: shape.group, version: shape.version }),
            kind,
            verbs: shape.verbs,
          });
        }
      }
      for (const e of extras)
        resources.push({
          name: e.plural,
          singularName: e.kind.toLowerCase(),
          namespaced: e.namespaced,
          kind: e.kind,
          verbs: e.verbs,
        });
      return {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: group ? `${group}/${version}` : version,
        resources,
      };
    });
  }

  /** Aggregated discovery (apidiscovery.k8s.io v2 or v2beta1) for /api (core) or /apis (the rest). */
  aggregated(core: boolean, version: "v2" | "v2beta1"): string {
    return this.once(`agg/${core}/${version}`, () => ({
      kind: "APIGroupDiscoveryList",
      apiVersion: `apidiscovery.k8s.io/${version}`,
      metadata: {},
      items: this.groups()
        .filter((g) => (g.group === "") === core)
        .map((g) => ({
          metadata: { name: g.group },
          versions: g.versions.map((v) => ({
            version: v,
            freshness: "Current",
            resources: [
              ...RESOURCES.filter((r) => r.group === g.group && r.version === v).map((r) => ({
                resource: r.plural,
                responseKind: { group: r.group, version: r.version, kind: r.kind },
                scope: r.namespaced ? "Namespaced" : "Cluster",
                singularResource: r.singular,
                verbs: r.verbs,
                ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
                ...(r.categories.length ? { categories: r.categories } : {}),
                ...(r.subresources.length
                  ? {
                      subresources: r.subresources.map((s) => {
                        const shape = SUBRESOURCES[s];
                        const kind = typeof shape.kind === "function" ? shape.kind(r) : shape.kind;
                        return {
                          subresource: s,
                          responseKind:
                            s === "status"
                              ? { group: r.group, version: r.version, kind }
                              : { group: shape.group, version: shape.version, kind },
                          verbs: shape.verbs,
                        };
                      }),
                    }
                  : {}),
              })),
              ...this.extra
                .filter((e) => e.group === g.group && e.version === v)
                .map((e) => ({
                  resource: e.plural,
                  responseKind: { group: e.group, version: e.version, kind: e.kind },
                  scope: e.namespaced ? "Namespaced" : "Cluster",
                  singularResource: e.kind.toLowerCase(),
                  verbs: e.verbs,
                })),
            ],
          })),
        })),
    }));
  }
}

/** Which aggregated discovery version the Accept header asks for, if any. */
export function wantsAggregated(accept: string | undefined): "v2" | "v2beta1" | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(",")) {
    const params = mediaParams(part);
    if (
      params.type !== "application/json" ||
      params.g !== "apidiscovery.k8s.io" ||
      params.as !== "APIGroupDiscoveryList"
    )
      continue;
    if (params.v === "v2" || params.v === "v2beta1") return params.v;
  }
  return undefined;
}

/** Splits "application/json;as=Table;v=v1" into its type and parameters. */
export function mediaParams(part: string): Record<string, string> & { type: string } {
  const [type, ...params] = part.split(";").map((s) => s.trim());
  const out: Record<string, string> & { type: string } = { type: (type ?? "").toLowerCase() };
  for (const p of params) {
    const i = p.indexOf("=");
    if (i > 0)
      out[p.slice(0, i).trim()] = p
        .slice(i + 1)
        .trim()
        .replace(/^"|"$/g, "");
  }
  return out;
}
