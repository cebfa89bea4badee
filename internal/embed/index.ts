// Where native parts come from. In development they are the files node-gyp built under
// native/build/Release; in the single executable they are embedded and written out
// to <data-dir>/data/<sha256>/ on first use (the build work extends this module).
import { existsSync } from "node:fs";
import { join } from "node:path";

let addon: unknown;

function devBuildDir(): string {
  return join(__dirname, "..", "..", "native", "build", "Release");
}

/** Loads the Node-API addon (tsk_native.node) once. */
export function loadNativeAddon<T = any>(): T {
  if (addon === undefined) {
    const path = join(devBuildDir(), "tsk_native.node");
    if (!existsSync(path)) throw new Error(`native addon not built: ${path} is missing (run npm run build)`);
    const mod = { exports: {} as unknown };
    process.dlopen(mod, path);
    addon = mod.exports;
  }
  return addon as T;
}

/** Path of a native helper executable that travels with tsk, e.g. the container monitor. */
export function helperPath(name: "tsk-monitor"): string {
  const path = join(devBuildDir(), name);
  if (!existsSync(path)) throw new Error(`native helper not built: ${path} is missing (run npm run build)`);
  return path;
}
