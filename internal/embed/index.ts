// Where native parts and built-in manifests come from.
//
// Development (running the TypeScript with tsx): the files node-gyp built under
// native/build/Release and the manifests/ folder.
// Single executable (dist/tsk): the build embeds them; on first use each native file is
// written to <data-dir>/data/<sha256>/NAME (temporary name, fsync, then rename, so a
// crash never leaves a half-written file under the final name) and loaded from there.
// The content hash in the path keeps two versions of tsk from ever mixing files.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { bundle, type EmbeddedBundle } from "./embedded";

export const DEFAULT_DATA_DIR = "/var/lib/tsk";

let dataDir = DEFAULT_DATA_DIR;
const loaded = new Map<string, unknown>();

/**
 * Sets the data dir under which the executable unpacks its native files. Commands call it
 * with their --data-dir value before anything opens the store or loads native code.
 */
export function setDataDir(dir: string): void {
  if (dir === "") throw new Error("data dir must not be empty");
  dataDir = dir;
}

export function getDataDir(): string {
  return dataDir;
}

/** True inside the built single executable, false when running from source. */
export function isSingleExecutable(): boolean {
  return bundle !== undefined;
}

/** Names of the native files carried by this executable (empty from source). */
export function embeddedFileNames(): string[] {
  return bundle ? Object.keys(bundle.files).sort() : [];
}

function devBuildDir(): string {
  return join(__dirname, "..", "..", "native", "build", "Release");
}

/**
 * Writes an embedded file to <data-dir>/data/<sha256>/NAME unless it is already there
 * and returns its path.
 */
export function unpack(name: string): string {
  const file = requireBundle().files[name];
  if (!file) throw new Error(`${name} is not included in this build of tsk`);
  const dir = join(dataDir, "data", file.sha256);
  const path = join(dir, name);
  try {
    if (statSync(path).size === file.bytes.length) return path;
  } catch {
    // not unpacked yet
  }
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    makeDirs(dir);
    const fd = openSync(tmp, "wx", file.executable ? 0o755 : 0o644);
    try {
      let off = 0;
      while (off < file.bytes.length) off += writeSync(fd, file.bytes, off, file.bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // Another tsk starting at the same moment may win the rename: both wrote the same bytes.
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing written
    }
    throw new Error(`unpacking ${name} to ${path}: ${(err as Error).message}`);
  }
  return path;
}

/**
 * mkdir -p. Not fs.mkdirSync's `recursive`: Node 20 and 22 loop forever on some paths
 * (e.g. under /proc) instead of failing.
 */
function makeDirs(dir: string): void {
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    if (code !== "ENOENT" || dirname(dir) === dir) throw err;
    makeDirs(dirname(dir));
    try {
      mkdirSync(dir, { mode: 0o755 });
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== "EEXIST") throw again;
    }
  }
}

function requireBundle(): EmbeddedBundle {
  if (!bundle) throw new Error("not running as the single executable");
  return bundle;
}

function dlopen(name: string, path: string): unknown {
  const mod = { exports: {} as unknown };
  try {
    process.dlopen(mod, path);
  } catch (err) {
    throw new Error(`loading ${name} from ${path}: ${(err as Error).message}`);
  }
  return mod.exports;
}

/** Loads an embedded Node-API module by name, once (single executable only). */
export function loadEmbeddedModule<T = unknown>(name: string): T {
  let m = loaded.get(name);
  if (m === undefined) {
    m = dlopen(name, unpack(name));
    loaded.set(name, m);
  }
  return m as T;
}

/**
 * A stand-in for an embedded Node-API module that loads it on first property access.
 * Libraries such as classic-level load their binding when they are imported, which is
 * before a command has parsed --data-dir; deferring the load to first use lets it land
 * under the data dir the user chose.
 */
export function lazyEmbeddedModule(name: string): Record<string, unknown> {
  return new Proxy({} as Record<string, unknown>, {
    get: (_target, key) => (loadEmbeddedModule(name) as Record<string | symbol, unknown>)[key],
    has: (_target, key) => key in (loadEmbeddedModule(name) as object),
  });
}

/**
 * The string extractor cbor-x takes from its optional native helper cbor-extract, loaded on
 * first use. If the native file cannot be loaded (say, a read-only data dir), decoding goes
 * on in JavaScript: cbor-x accepts a plain string for the one string it asked for, and a
 * UTF-16 string is never longer than the UTF-8 bytes it came from.
 */
export function lazyCborExtractStrings(name: string) {
  type Extract = (position: number, end: number, length: number, src: Uint8Array) => string | string[];
  let native: Extract | null | undefined;
  return (position: number, end: number, length: number, src: Uint8Array): string | string[] => {
    if (native === undefined) {
      try {
        native = loadEmbeddedModule<{ extractStrings: Extract }>(name).extractStrings;
      } catch {
        native = null;
      }
    }
    if (native) return native(position, end, length, src);
    return Buffer.from(src.buffer, src.byteOffset, src.byteLength).toString(
      "utf8",
      position,
      position + length,
    );
  };
}

/** Loads the Node-API addon (tsk_native.node) once. */
export function loadNativeAddon<T = any>(): T {
  if (bundle) return loadEmbeddedModule<T>("tsk_native.node");
  let m = loaded.get("tsk_native.node");
  if (m === undefined) {
    const path = join(devBuildDir(), "tsk_native.node");
    if (!existsSync(path))
      throw new Error(`native addon not built: ${path} is missing (run npm run build:native)`);
    m = dlopen("tsk_native.node", path);
    loaded.set("tsk_native.node", m);
  }
  return m as T;
}

/** Path of a native helper executable that travels with tsk, e.g. the container monitor. */
export function helperPath(name: "tsk-monitor"): string {
  if (bundle) return unpack(name);
  const path = join(devBuildDir(), name);
  if (!existsSync(path))
    throw new Error(`native helper not built: ${path} is missing (run npm run build:native)`);
  return path;
}

/** The manifests the server deploys by itself: manifests/*.yaml, sorted by name. */
export function embeddedManifests(): { name: string; content: string }[] {
  if (bundle) return bundle.manifests.map((m) => ({ ...m }));
  const dir = join(__dirname, "..", "..", "manifests");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  return names
    .filter((n) => n.endsWith(".yaml") || n.endsWith(".yml"))
    .sort()
    .map((name) => ({ name, content: readFileSync(join(dir, name), "utf8") }));
}
