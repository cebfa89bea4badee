// Bundles cmd/tsk/main.ts and everything it imports into one CommonJS file for Node 22.
// A Node single executable can `require` only Node's built-in modules, so nothing may be
// left to load from node_modules at run time:
//  - internal/embed/embedded.ts is swapped for a generated module that carries the
//    native files as bytes and the manifests as text;
//  - classic-level finds its binding with node-gyp-build in its package folder; that call
//    is pointed at our loader, which unpacks the embedded copy under the data dir;
//  - cbor-x's optional native helper cbor-extract is embedded the same way, with a
//    JavaScript fallback when it cannot be loaded.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import * as esbuild from "esbuild";

/** Native files from node_modules that the bundled libraries load. */
export function libraryNativeFiles(root) {
  const req = createRequire(join(root, "package.json"));
  const classicLevel = dirname(req.resolve("classic-level/package.json"));
  const files = {
    "classic-level.node": join(
      classicLevel,
      "prebuilds",
      `${process.platform}-${process.arch}`,
      "classic-level.node",
    ),
  };
  // cbor-extract ships its prebuilt files in a per-platform package; the Node-API build
  // works with any Node version.
  try {
    const cborExtract = dirname(
      req.resolve(`@cbor-extract/cbor-extract-${process.platform}-${process.arch}/package.json`),
    );
    files["cbor-extract.node"] = join(cborExtract, "node.napi.glibc.node");
  } catch {
    // optional: cbor-x decodes in JavaScript without it
  }
  for (const [name, path] of Object.entries(files)) {
    if (!existsSync(path)) {
      if (name === "cbor-extract.node") delete files[name];
      else throw new Error(`${name}: ${path} is missing (is node_modules installed with npm ci?)`);
    }
  }
  return files;
}

export function readManifests(root) {
  const dir = join(root, "manifests");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith(".yaml") || n.endsWith(".yml"))
    .sort()
    .map((name) => ({ name, content: readFileSync(join(dir, name), "utf8") }));
}

function embeddedModuleSource(files, manifests) {
  const lines = [];
  const entries = [];
  Object.entries(files).forEach(([name, f], i) => {
    lines.push(`import f${i} from ${JSON.stringify(`tsk-embed-file:${f.path}`)};`);
    entries.push(
      `${JSON.stringify(name)}: { bytes: f${i}, sha256: ${JSON.stringify(f.sha256)}, executable: ${f.executable} }`,
    );
  });
  lines.push(
    `export const bundle = { files: { ${entries.join(", ")} }, manifests: ${JSON.stringify(manifests)} };`,
  );
  return lines.join("\n");
}

function embedPlugin(root, files, manifests) {
  const embedIndex = join(root, "internal", "embed", "index.ts");
  const classicLevelDir = `${sep}node_modules${sep}classic-level${sep}`;
  return {
    name: "tsk-embed",
    setup(build) {
      build.onResolve({ filter: /^\.\/embedded$/ }, (args) =>
        args.importer === embedIndex ? { path: "embedded", namespace: "tsk-embedded" } : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: "tsk-embedded" }, () => ({
        contents: embeddedModuleSource(files, manifests),
        loader: "js",
        resolveDir: root,
      }));
      build.onResolve({ filter: /^tsk-embed-file:/ }, (args) => ({
        path: args.path.slice("tsk-embed-file:".length),
        namespace: "tsk-embed-file",
      }));
      build.onLoad({ filter: /.*/, namespace: "tsk-embed-file" }, (args) => ({
        contents: readFileSync(args.path),
        loader: "binary",
      }));

      build.onResolve({ filter: /^node-gyp-build$/ }, (args) =>
        args.importer.includes(classicLevelDir)
          ? { path: "classic-level", namespace: "tsk-native-shim" }
          : undefined,
      );
      build.onResolve({ filter: /^cbor-extract$/ }, () => ({
        path: "cbor-extract",
        namespace: "tsk-native-shim",
      }));
      build.onLoad({ filter: /.*/, namespace: "tsk-native-shim" }, (args) => {
        const embed = `require(${JSON.stringify(embedIndex)})`;
        let contents;
        if (args.path === "classic-level") {
          contents = `module.exports = () => ${embed}.lazyEmbeddedModule("classic-level.node");`;
        } else if (files["cbor-extract.node"]) {
          contents = `module.exports = { extractStrings: ${embed}.lazyCborExtractStrings("cbor-extract.node") };`;
        } else {
          // cbor-x catches this and decodes in JavaScript.
          contents = `throw new Error("cbor-extract is not included in this build");`;
        }
        return { contents, loader: "js", resolveDir: root };
      });
    },
  };
}

/**
 * Bundles the CLI into `outfile`. `native` maps embedded names to paths on disk;
 * `executables` lists the names written with their run bit.
 */
export async function bundle({ root, entry, outfile, native, executables }) {
  const files = {};
  for (const [name, path] of Object.entries(native)) {
    const bytes = readFileSync(path);
    files[name] = {
      path,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      executable: executables.includes(name),
      size: bytes.length,
    };
  }
  const manifests = readManifests(root);
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: true,
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
    plugins: [embedPlugin(root, files, manifests)],
  });
  // Any other .node file or unbundled package would fail at run time in the executable.
  for (const input of Object.keys(result.metafile.inputs)) {
    if (input.endsWith(".node") && !input.startsWith("tsk-embed-file:"))
      throw new Error(`unhandled native file in the bundle: ${input}`);
  }
  // The executable's `require` reaches Node's built-in modules only; anything else left
  // in the bundle must sit in a try/catch of an optional dependency (ws's bufferutil, say).
  const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
  const leftover = new Set();
  for (const out of Object.values(result.metafile.outputs)) {
    for (const imp of out.imports) if (imp.external && !builtins.has(imp.path)) leftover.add(imp.path);
  }
  if (leftover.size) {
    console.log(
      `build: note: not bundled, so unavailable in the executable (must be optional): ${[...leftover].join(", ")}`,
    );
  }
  return { files, manifests, metafile: result.metafile };
}
