// Pod volumes prepared as host directories that the runtime binds into containers:
// emptyDir, hostPath, configMap, secret (on tmpfs, never on disk), downwardAPI and
// projected. Imports: runtime (the native addon, for tmpfs mounts), api (quantities). It knows pods as
// plain objects; the kubelet hands it lookups for ConfigMaps and Secrets.
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, normalize } from "node:path";
import { parseQuantity } from "../api/validation/quantity";
import { native } from "../runtime/native";

/** Why a volume could not be prepared; the kubelet reports it as a FailedMount event. */
export class VolumeError extends Error {
  constructor(
    readonly volume: string,
    message: string,
  ) {
    super(message);
  }
}

export interface VolumeSources {
  /** The ConfigMap's object, or undefined when it does not exist. */
  configMap(namespace: string, name: string): Promise<Record<string, any> | undefined>;
  secret(namespace: string, name: string): Promise<Record<string, any> | undefined>;
  /** Value of a downward API field path (metadata.name, metadata.labels, ...). */
  fieldRef(path: string): string | undefined;
  /** Value of a resourceFieldRef (limits.cpu, requests.memory ...) for a container. */
  resourceFieldRef(ref: { containerName?: string; resource: string; divisor?: string }): string | undefined;
}

/** <data-dir>/agent/pods/<uid>: everything a pod owns on the node's disk. */
export function podDir(dataDir: string, uid: string): string {
  return join(dataDir, "agent", "pods", uid);
}

function volumeDir(pd: string, plugin: string, name: string): string {
  return join(pd, "volumes", plugin, name);
}

function isMountPoint(path: string): boolean {
  const mi = readFileSync("/proc/self/mountinfo", "utf8");
  return mi.split("\n").some((l) => l.split(" ")[4] === path);
}

/** One file a volume projects: relative path, content, mode. */
interface ProjectedFile {
  path: string;
  data: Buffer;
  mode?: number;
}

function checkRelPath(volume: string, p: string): string {
  const n = normalize(p);
  if (!p || p.startsWith("/") || n.startsWith("..") || n.split("/").includes(".."))
    throw new VolumeError(volume, `invalid path "${p}" in volume ${volume}: must be relative, without ".."`);
  return n;
}

/**
 * Writes the files and removes what is no longer projected; only changed files are
 * rewritten so that a running container sees an update but never a half-written file.
 */
function syncFiles(volume: string, dir: string, files: ProjectedFile[], defaultMode: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const want = new Set<string>();
  for (const f of files) {
    const rel = checkRelPath(volume, f.path);
    want.add(rel);
    const full = join(dir, rel);
    mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
    let same = false;
    try {
      same = readFileSync(full).equals(f.data) && (statSync(full).mode & 0o7777) === (f.mode ?? defaultMode);
    } catch {}
    if (same) continue;
    const tmp = `${full}.tsk-tmp`;
    writeFileSync(tmp, f.data, { mode: f.mode ?? defaultMode });
    // rename keeps the update atomic for readers in the container
    renameSync(tmp, full);
    chmodSync(full, f.mode ?? defaultMode);
  }
  const prune = (d: string, rel: string) => {
    for (const e of readdirSync(d)) {
      const r = rel ? `${rel}/${e}` : e;
      const full = join(d, e);
      if (lstatSync(full).isDirectory()) {
        prune(full, r);
        if (readdirSync(full).length === 0 && ![...want].some((w) => w.startsWith(`${r}/`))) rmSync(full);
      } else if (!want.has(r)) rmSync(full, { force: true });
    }
  };
  prune(dir, "");
}

function keyFiles(
  volume: string,
  data: Record<string, Buffer>,
  items: Array<{ key: string; path: string; mode?: number }> | undefined,
  what: string,
  optional: boolean,
): ProjectedFile[] {
  if (!items?.length) return Object.entries(data).map(([k, v]) => ({ path: k, data: v }));
  const out: ProjectedFile[] = [];
  for (const it of items) {
    const v = data[it.key];
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeError(volume, `configuration key "${it.key}" not found in ${what}`);
    }
    out.push({ path: it.path, data: v, mode: it.mode });
  }
  return out;
}

function configMapData(cm: Record<string, any>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries<string>(cm.data ?? {})) out[k] = Buffer.from(v);
  for (const [k, v] of Object.entries<string>(cm.binaryData ?? {})) out[k] = Buffer.from(v, "base64");
  return out;
}

function secretData(s: Record<string, any>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries<string>(s.data ?? {})) out[k] = Buffer.from(v, "base64");
  for (const [k, v] of Object.entries<string>(s.stringData ?? {})) out[k] = Buffer.from(v);
  return out;
}

async function configMapFiles(
  volume: string,
  ns: string,
  src: Record<string, any>,
  sources: VolumeSources,
): Promise<ProjectedFile[]> {
  const cm = await sources.configMap(ns, src.name);
  if (!cm) {
    if (src.optional) return [];
    throw new VolumeError(volume, `configmap "${src.name}" not found`);
  }
  return keyFiles(volume, configMapData(cm), src.items, `configmap "${src.name}"`, !!src.optional);
}

async function secretFiles(
  volume: string,
  ns: string,
  src: Record<string, any>,
  sources: VolumeSources,
): Promise<ProjectedFile[]> {
  const name = src.secretName ?? src.name;
  const s = await sources.secret(ns, name);
  if (!s) {
    if (src.optional) return [];
    throw new VolumeError(volume, `secret "${name}" not found`);
  }
  return keyFiles(volume, secretData(s), src.items, `secret "${name}"`, !!src.optional);
}

function downwardFiles(volume: string, src: Record<string, any>, sources: VolumeSources): ProjectedFile[] {
  const out: ProjectedFile[] = [];
  for (const it of src.items ?? []) {
    let v: string | undefined;
    if (it.fieldRef) v = sources.fieldRef(it.fieldRef.fieldPath);
    else if (it.resourceFieldRef) v = sources.resourceFieldRef(it.resourceFieldRef);
    if (v === undefined)
      throw new VolumeError(volume, `downward API item "${it.path}": unsupported or empty field`);
    out.push({ path: it.path, data: Buffer.from(v), mode: it.mode });
  }
  return out;
}

/** Mounts a tmpfs (once) on dir; `sizeBytes` caps it (emptyDir.sizeLimit with medium Memory). */
function mountTmpfs(dir: string, sizeBytes?: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  if (isMountPoint(dir)) return;
  const n = native();
  const size = sizeBytes ? `,size=${Math.max(4096, Math.floor(sizeBytes))}` : "";
  n.mount("tmpfs", dir, "tmpfs", n.constants.MS_NOSUID | n.constants.MS_NODEV, `mode=0755${size}`);
}

/**
 * Prepares every volume of the pod and returns volume name → host directory (or
 * file, for a hostPath of a file). Safe to call on every sync: it only writes what
 * changed. Throws VolumeError naming the volume that failed.
 */
export async function setupVolumes(
  pod: Record<string, any>,
  pd: string,
  sources: VolumeSources,
): Promise<Map<string, string>> {
  const ns: string = pod.metadata?.namespace ?? "default";
  const out = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    const name: string = v.name;
    if (v.emptyDir) {
      const dir = volumeDir(pd, "empty-dir", name);
      if (v.emptyDir.medium === "Memory") mountTmpfs(dir, parseQuantity(v.emptyDir.sizeLimit));
      else mkdirSync(dir, { recursive: true, mode: 0o777 });
      // emptyDir is world-writable as in Kubernetes, so non-root containers can use it
      chmodSync(dir, 0o777);
      out.set(name, dir);
    } else if (v.hostPath) {
      const p: string = v.hostPath.path;
      const type: string = v.hostPath.type ?? "";
      if (!p?.startsWith("/")) throw new VolumeError(name, `hostPath ${p}: must be an absolute path`);
      if (type === "DirectoryOrCreate" && !existsSync(p)) mkdirSync(p, { recursive: true, mode: 0o755 });
      else if (type === "FileOrCreate" && !existsSync(p)) {
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, "", { mode: 0o644 });
      }
      if (!existsSync(p)) throw new VolumeError(name, `hostPath type check failed: ${p} does not exist`);
      const st = statSync(p);
      if ((type === "Directory" || type === "DirectoryOrCreate") && !st.isDirectory())
        throw new VolumeError(name, `hostPath type check failed: ${p} is not a directory`);
      if ((type === "File" || type === "FileOrCreate") && !st.isFile())
        throw new VolumeError(name, `hostPath type check failed: ${p} is not a file`);
      out.set(name, p);
    } else if (v.configMap) {
      const dir = volumeDir(pd, "configmap", name);
      syncFiles(
        name,
        dir,
        await configMapFiles(name, ns, v.configMap, sources),
        v.configMap.defaultMode ?? 0o644,
      );
      out.set(name, dir);
    } else if (v.secret) {
      const dir = volumeDir(pd, "secret", name);
      const files = await secretFiles(name, ns, v.secret, sources);
      mountTmpfs(dir);
      syncFiles(name, dir, files, v.secret.defaultMode ?? 0o644);
      out.set(name, dir);
    } else if (v.downwardAPI) {
      const dir = volumeDir(pd, "downward-api", name);
      syncFiles(name, dir, downwardFiles(name, v.downwardAPI, sources), v.downwardAPI.defaultMode ?? 0o644);
      out.set(name, dir);
    } else if (v.projected) {
      const dir = volumeDir(pd, "projected", name);
      const files: ProjectedFile[] = [];
      for (const s of v.projected.sources ?? []) {
        if (s.configMap) files.push(...(await configMapFiles(name, ns, s.configMap, sources)));
        else if (s.secret) files.push(...(await secretFiles(name, ns, s.secret, sources)));
        else if (s.downwardAPI) files.push(...downwardFiles(name, s.downwardAPI, sources));
        else if (s.serviceAccountToken)
          throw new VolumeError(name, "serviceAccountToken projections are not supported by this node yet");
        else throw new VolumeError(name, "unsupported projected volume source");
      }
      // Secrets may be among the sources: keep the whole volume off the disk.
      mountTmpfs(dir);
      syncFiles(name, dir, files, v.projected.defaultMode ?? 0o644);
      out.set(name, dir);
    } else {
      const kind = Object.keys(v).find((k) => k !== "name") ?? "unknown";
      throw new VolumeError(name, `volume type ${kind} is not supported by this node`);
    }
  }
  return out;
}

const PLUGIN_DIRS: Record<string, string> = {
  emptyDir: "empty-dir",
  configMap: "configmap",
  secret: "secret",
  downwardAPI: "downward-api",
  projected: "projected",
};

/**
 * Where each volume of the pod lives on the host, without preparing anything: used
 * when a running pod's source went away (a deleted ConfigMap) so that what was
 * projected last stays in place, as in Kubernetes.
 */
export function volumePaths(pod: Record<string, any>, pd: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of pod.spec?.volumes ?? []) {
    if (v.hostPath?.path) out.set(v.name, v.hostPath.path);
    for (const [k, dir] of Object.entries(PLUGIN_DIRS)) if (v[k]) out.set(v.name, volumeDir(pd, dir, v.name));
  }
  return out;
}

/** Unmounts every tmpfs under the pod's directory and removes it. */
export function teardownVolumes(pd: string): void {
  if (!existsSync(pd)) return;
  const mounts = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && (m === pd || m.startsWith(`${pd}/`)))
    .sort((a, b) => b.length - a.length);
  const n = native();
  for (const m of mounts) {
    try {
      n.umount(m, n.constants.MNT_DETACH);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EINVAL" && code !== "ENOENT") throw err;
    }
  }
  rmSync(pd, { recursive: true, force: true });
}

/**
 * Host path for a volumeMount: the volume's directory, or with subPath the path
 * inside it (created as a directory when missing, as the kubelet does).
 */
export function mountSource(volumes: Map<string, string>, vm: { name: string; subPath?: string }): string {
  const base = volumes.get(vm.name);
  if (base === undefined) throw new VolumeError(vm.name, `volume "${vm.name}" is not defined by the pod`);
  if (!vm.subPath) return base;
  const rel = checkRelPath(vm.name, vm.subPath);
  const full = join(base, rel);
  if (!existsSync(full)) mkdirSync(full, { recursive: true, mode: 0o755 });
  return full;
}
