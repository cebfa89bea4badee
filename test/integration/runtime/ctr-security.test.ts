// `tsk ctr run` security flags as a docker user types them: --privileged, --read-only,
// --cap-add, --cap-drop, --security-opt no-new-privileges. Each command is a new tsk process.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseSecurityOpts } from "../../../internal/cli/ctr";
import { openImageStore } from "../../../internal/images";
import { buildBusyboxDockerArchive } from "../../support/images";
import { ctrEnv } from "./support";

const { dir, dataDir, rt, ctr } = ctrEnv("ctrsec");
const tsk = (...args: string[]) => ctr(undefined, ...args);

test.before(async () => {
  if (process.getuid?.() !== 0) throw new Error("ctr tests need root");
  const store = await openImageStore({ dataDir });
  await buildBusyboxDockerArchive(join(dir, "bb.tar"), { name: "busybox:latest" });
  await store.importArchive(join(dir, "bb.tar"));
});

const STATUS = "grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status";

test("--cap-add and --cap-drop change the container's capabilities", () => {
  const r = tsk(
    "run",
    "--rm",
    "--cap-add",
    "NET_ADMIN",
    "--cap-drop",
    "chown",
    "busybox",
    "sh",
    "-c",
    STATUS,
  );
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^CapEff:\s+00000000a80435fa$/m);
  assert.match(r.out, /^NoNewPrivs:\s+0$/m, "off by default, as docker");
});

test("--privileged lets the container mount and drops the seccomp filter", () => {
  const r = tsk(
    "run",
    "--rm",
    "--privileged",
    "busybox",
    "sh",
    "-c",
    `${STATUS}; mkdir -p /m && mount -t tmpfs x /m && echo mounted`,
  );
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^Seccomp:\s+0$/m);
  assert.match(r.out, /^mounted$/m);
});

test("--read-only refuses writes to the rootfs but not to a volume", () => {
  const vol = join(dir, "vol");
  mkdirSync(vol, { recursive: true });
  const r = tsk(
    "run",
    "--rm",
    "--read-only",
    "-v",
    `${vol}:/v`,
    "busybox",
    "sh",
    "-c",
    "touch /x; touch /v/y && echo vol-ok",
  );
  assert.match(r.err, /Read-only file system/);
  assert.match(r.out, /vol-ok/);
});

test("--security-opt no-new-privileges sets no_new_privs", () => {
  const r = tsk("run", "--rm", "--security-opt", "no-new-privileges", "busybox", "sh", "-c", STATUS);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^NoNewPrivs:\s+1$/m);
});

test("an unknown capability fails with exit code 125 and names it; nothing is left", () => {
  const r = tsk("run", "--rm", "--cap-add", "FLY", "busybox", "true");
  assert.is(r.code, 125);
  assert.match(r.err, /unknown capability "FLY"/);
  assert.equal(rt.list(), []);
});

test("--security-opt values docker has but this runtime lacks are refused", () => {
  assert.equal(parseSecurityOpts(["no-new-privileges:false"]), { noNewPrivileges: false });
  assert.equal(parseSecurityOpts(["no-new-privileges=true"]), { noNewPrivileges: true });
  assert.throws(() => parseSecurityOpts(["seccomp=unconfined"]), /unsupported option "seccomp=unconfined"/);
});

test.run();
