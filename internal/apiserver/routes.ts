// URL → what is being asked for. Kubernetes' paths:
//   /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]
//   /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]
import { findResource, type ResourceInfo } from "../api/resources";

export interface ResourceRequest {
  kind: "resource";
  info: ResourceInfo;
  group: string;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export type Route =
  | ResourceRequest
  | { kind: "discovery-root"; core: boolean }
  | { kind: "discovery-group"; group: string }
  | { kind: "discovery-version"; group: string; version: string }
  | { kind: "unknown-resource"; group: string; version: string; resource: string }
  | { kind: "other"; path: string };

const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

export function route(pathname: string): Route {
  const parts = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "api") {
    if (parts.length === 1) return { kind: "discovery-root", core: true };
    return resourcePath("", parts[1], parts.slice(2), pathname);
  }
  if (parts[0] === "apis") {
    if (parts.length === 1) return { kind: "discovery-root", core: false };
    if (parts.length === 2) return { kind: "discovery-group", group: parts[1] };
    return resourcePath(parts[1], parts[2], parts.slice(3), pathname);
  }
  return { kind: "other", path: pathname };
}

function resourcePath(group: string, version: string, rest: string[], path: string): Route {
  if (rest.length === 0) return { kind: "discovery-version", group, version };
  let namespace: string | undefined;
  let segs = rest;
  if (
    segs[0] === "namespaces" &&
    segs.length >= 3 &&
    !(segs.length === 3 && NAMESPACE_SUBRESOURCES.has(segs[2]))
  ) {
    namespace = segs[1];
    segs = segs.slice(2);
  }
  if (segs.length > 3) return { kind: "other", path };
  const info = findResource(group, version, segs[0]);
  if (!info) return { kind: "unknown-resource", group, version, resource: segs[0] };
  if (namespace !== undefined && !info.namespaced) return { kind: "other", path };
  return { kind: "resource", info, group, version, namespace, name: segs[1], subresource: segs[2] };
}
