// Builds native/ (the Node-API addon tsk_native.node and the tsk-monitor helper) with
// node-gyp. The addon targets Node-API, which is ABI-stable, so building it against this
// machine's Node headers (npm's nodedir=/usr) gives a file the Node 22 executable loads.
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** node-gyp: the project's own devDependency if there is one, else the copy npm bundles. */
export function findNodeGyp(root) {
  const candidates = [];
  try {
    candidates.push(createRequire(join(root, "package.json")).resolve("node-gyp/bin/node-gyp.js"));
  } catch {
    // not a devDependency
  }
  if (process.env.npm_execpath) {
    candidates.push(
      join(dirname(dirname(process.env.npm_execpath)), "node_modules", "node-gyp", "bin", "node-gyp.js"),
    );
  }
  candidates.push("/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
  candidates.push("/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js");
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new Error(
      `node-gyp not found (looked in ${candidates.join(", ")}); install it with npm install --save-dev node-gyp`,
    );
  return found;
}

function run(cmd, args, cwd, env) {
  const r = spawnSync(cmd, args, { cwd, env, stdio: "inherit" });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0)
    throw new Error(`${[cmd, ...args].join(" ")} in ${cwd} failed with exit code ${r.status ?? r.signal}`);
}

/**
 * Builds the native targets in `dir` when it has a binding.gyp. Configures only when
 * there is no Makefile yet or binding.gyp changed since, so rebuilds are incremental.
 * Returns the paths of the built files that exist, or undefined when there is nothing
 * to build.
 */
export function buildNative(root, dir) {
  const gyp = join(dir, "binding.gyp");
  if (!existsSync(gyp)) return undefined;
  const nodeGyp = findNodeGyp(root);
  const env = { ...process.env };
  // Outside `npm run` the npmrc's nodedir is not in the environment; the headers of the
  // system Node are where Debian puts them.
  if (!env.npm_config_nodedir && existsSync("/usr/include/node/common.gypi")) env.npm_config_nodedir = "/usr";
  const makefile = join(dir, "build", "Makefile");
  if (!existsSync(makefile) || statSync(makefile).mtimeMs < statSync(gyp).mtimeMs) {
    run(process.execPath, [nodeGyp, "configure", "--loglevel=warn"], dir, env);
  }
  run(
    process.execPath,
    [nodeGyp, "build", "--loglevel=warn", `--jobs=${process.env.TSK_BUILD_JOBS ?? "2"}`],
    dir,
    env,
  );
  const release = join(dir, "build", "Release");
  const out = {};
  for (const [key, name] of [
    ["addon", "tsk_native.node"],
    ["monitor", "tsk-monitor"],
  ]) {
    const p = join(release, name);
    if (existsSync(p)) out[key] = p;
  }
  return out;
}
