// Image references the way docker and containerd read them: "busybox" means
// "docker.io/library/busybox:latest"; a first component with a dot, a colon or
// "localhost" is a registry host.
import { ImageError } from "./errors";

export interface Reference {
  /** Registry host as written, e.g. "docker.io", "127.0.0.1:5000". */
  domain: string;
  /** Repository path, e.g. "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
}

const DEFAULT_DOMAIN = "docker.io";
const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^sha256:[0-9a-f]{64}$/;

/** Parses and normalizes a reference; a reference with neither tag nor digest gets ":latest". */
export function parseReference(ref: string): Reference {
  const bad = (why: string) => new ImageError("InvalidReference", `invalid image reference "${ref}": ${why}`);
  if (ref === "" || ref.length > 4096) throw bad("empty or too long");
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw bad("digest must be sha256:<64 hex>");
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf("/");
  const colon = rest.lastIndexOf(":");
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw bad(`bad tag "${tag}"`);
  }
  const parts = rest.split("/");
  let domain = DEFAULT_DOMAIN;
  if (parts.length > 1 && (parts[0].includes(".") || parts[0].includes(":") || parts[0] === "localhost")) {
    domain = parts.shift() as string;
    if (!/^[a-zA-Z0-9.-]+(?::\d+)?$|^\[[0-9a-fA-F:]+\](?::\d+)?$/.test(domain))
      throw bad(`bad registry "${domain}"`);
  }
  if (domain === "index.docker.io") domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && parts.length === 1) parts.unshift("library");
  for (const p of parts) if (!pathComponent.test(p)) throw bad(`bad repository name component "${p}"`);
  if (tag === undefined && digest === undefined) tag = "latest";
  return { domain, path: parts.join("/"), tag, digest };
}

/** "docker.io/library/busybox" */
export function repositoryName(r: Reference): string {
  return `${r.domain}/${r.path}`;
}

/** The fully qualified name: "docker.io/library/busybox:latest" or "...@sha256:...". */
export function formatReference(r: Reference): string {
  let s = repositoryName(r);
  if (r.tag !== undefined) s += `:${r.tag}`;
  if (r.digest !== undefined) s += `@${r.digest}`;
  return s;
}

/** Normalizes a name for storing; a name that does not parse is an error. */
export function normalizeName(ref: string): string {
  return formatReference(parseReference(ref));
}

/** "busybox:latest" for docker.io/library names, as `docker images` shows them. */
export function familiarRepository(r: Reference): string {
  if (r.domain === DEFAULT_DOMAIN)
    return r.path.startsWith("library/") ? r.path.slice("library/".length) : r.path;
  return repositoryName(r);
}

/** The short form docker prints: "busybox:latest", "127.0.0.1:5000/app:v1". */
export function familiarName(name: string): string {
  const r = parseReference(name);
  let s = familiarRepository(r);
  if (r.tag !== undefined) s += `:${r.tag}`;
  if (r.digest !== undefined) s += `@${r.digest}`;
  return s;
}
