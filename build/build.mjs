#!/usr/bin/env node
// npm run build: native parts (node-gyp) -> one CommonJS bundle (esbuild) -> dist/tsk
// (pkg SEA mode on Node 22). Runs on a fresh machine after `npm ci` with no download
// beyond the npm registry.
//
//   node build/build.mjs                 everything
//   node build/build.mjs --native-only   only native/ (npm run build:native)
//   node build/build.mjs --native-dir D  take binding.gyp from D instead of native/
//   node build/build.mjs --output F --entry E   another output / entry point (experiments)
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { bundle, libraryNativeFiles } from "./bundle.mjs";
import { buildNative } from "./native.mjs";
import { buildExecutable } from "./sea.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function mib(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function step(name, started) {
  console.log(`build: ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

async function main() {
  const { values } = parseArgs({
    options: {
      "native-only": { type: "boolean", default: false },
      "native-dir": { type: "string", default: join(root, "native") },
      output: { type: "string", default: join(root, "dist", "tsk") },
      entry: { type: "string", default: join(root, "cmd", "tsk", "main.ts") },
    },
  });
  const all = Date.now();
  const nativeDir = resolve(values["native-dir"]);

  let t = Date.now();
  const built = buildNative(root, nativeDir);
  if (built) step(`native (${relative(root, nativeDir) || "."})`, t);
  else
    console.log(
      `build: ${join(relative(root, nativeDir), "binding.gyp")} does not exist yet; the executable carries no tsk native parts`,
    );
  if (values["native-only"]) return;
  for (const name of ["tsk_native.node", "tsk-monitor"]) {
    const key = name === "tsk-monitor" ? "monitor" : "addon";
    if (built && !built[key]) console.log(`build: warning: native build produced no ${name}`);
  }

  t = Date.now();
  const workDir = join(root, "dist", ".build");
  mkdirSync(workDir, { recursive: true });
  // Per-build names, so that two builds at once (several people share this tree) never
  // feed each other half-written files; dist/tsk is replaced by a rename at the end.
  const bundlePath = join(workDir, `tsk-${process.pid}.cjs`);
  process.on("exit", () => rmSync(bundlePath, { force: true }));
  const native = { ...libraryNativeFiles(root) };
  if (built?.addon) native["tsk_native.node"] = built.addon;
  if (built?.monitor) native["tsk-monitor"] = built.monitor;
  const { files, manifests } = await bundle({
    root,
    entry: resolve(values.entry),
    outfile: bundlePath,
    native,
    executables: ["tsk-monitor"],
  });
  step("bundle", t);

  t = Date.now();
  const output = resolve(values.output);
  const partial = `${output}.partial-${process.pid}`;
  let nodeVersion;
  try {
    ({ nodeVersion } = await buildExecutable({
      root,
      bundlePath,
      output: partial,
      workDir: join(workDir, `sea-${process.pid}`),
    }));
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  step(`executable (pkg SEA, Node ${nodeVersion})`, t);

  // pkg does not report a failed blob injection; a Node binary without the blob would
  // answer --version with Node's own version.
  const check = spawnSync(partial, ["--version"], { encoding: "utf8", cwd: workDir });
  if (check.status !== 0 || !check.stdout.startsWith("tsk version")) {
    rmSync(partial, { force: true });
    throw new Error(
      `${output} --version printed ${JSON.stringify(check.stdout + check.stderr)} (exit ${check.status}): the executable is broken`,
    );
  }

  renameSync(partial, output);
  const finalBundle = join(workDir, "tsk.cjs");
  renameSync(bundlePath, finalBundle);

  console.log("build: embedded native files:");
  for (const [name, f] of Object.entries(files))
    console.log(`  ${name.padEnd(20)} ${mib(f.size).padStart(10)}  sha256 ${f.sha256.slice(0, 12)}`);
  console.log(
    `build: embedded manifests: ${manifests.length ? manifests.map((m) => m.name).join(", ") : "none"}`,
  );
  console.log(`build: bundle ${relative(root, finalBundle)} ${mib(statSync(finalBundle).size)}`);
  console.log(`build: ${relative(root, output)} ${mib(statSync(output).size)} (${check.stdout.trim()})`);
  step("done", all);
}

main().catch((err) => {
  console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
