// `tsk ctr` as a user runs it: each command is a new tsk process over the same
// --data-dir, with images imported from archives built from busybox-static.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openImageStore } from "../../../internal/images";
import { buildBusyboxDockerArchive, buildBusyboxOciArchive, WHITEOUT_LAYERS } from "../../support/images";
import { ctrEnv } from "./support";

const { dir, dataDir, rt, ctr } = ctrEnv("cli");
const tsk = (...args: string[]) => ctr(undefined, ...args);
const tskInput = ctr;

test.before(async () => {
  const store = await openImageStore({ dataDir });
  await buildBusyboxDockerArchive(join(dir, "bb.tar"), { name: "busybox:latest" });
  await buildBusyboxOciArchive(join(dir, "layered.tar"), { name: "layered:1", extraLayers: WHITEOUT_LAYERS });
  await store.importArchive(join(dir, "bb.tar"));
  await store.importArchive(join(dir, "layered.tar"));
});

test("run prints the container's output, returns its exit code and --rm leaves nothing", () => {
  const r = tsk("run", "--rm", "busybox", "sh", "-c", "echo to-out; echo to-err >&2; exit 3");
  assert.is(r.code, 3, r.err);
  assert.is(r.out, "to-out\n");
  assert.is(r.err, "to-err\n");
  assert.equal(rt.list(), []);
});

test("run -i feeds our stdin to the container and ends it at EOF", () => {
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i}`).join("\n");
  const r = tskInput(`${lines}\n`, "run", "-i", "--rm", "busybox", "sh", "-c", "wc -l; echo done");
  assert.is(r.code, 0, r.err);
  assert.is(r.out, "5000\ndone\n");
});

test("files deleted in an upper image layer are absent and opaque directories hide the lower ones", () => {
  const r = tsk("run", "--rm", "layered:1", "sh", "-c", "ls /data; ls /olddir");
  assert.is(r.out, "keep.txt\nnew\n", r.err);
});

test("run -d, ps, logs, exec, stop and rm work across tsk processes", () => {
  const started = tsk(
    "run",
    "-d",
    "--name",
    "web",
    "-e",
    "GREETING=hi",
    "busybox",
    "sh",
    "-c",
    "echo $GREETING; exec sleep 100",
  );
  assert.is(started.code, 0, started.err);
  assert.match(started.out, /^[0-9a-f]{64}\n$/);
  const ps = tsk("ps");
  assert.match(ps.out, /CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+NAMES/);
  assert.match(ps.out, /busybox\s+"sh -c echo \$GREETIN…"\s+.* ago\s+Up .*\s+web\n/);
  assert.is(tsk("logs", "web").out, "hi\n");
  const ex = tsk("exec", "web", "sh", "-c", "echo $GREETING; ps -o pid,comm | grep sleep");
  assert.is(ex.code, 0, ex.err);
  assert.match(ex.out, /^hi\n\s+1 sleep\n$/);
  assert.is(tsk("stop", "-t", "1", "web").out, "web\n");
  assert.match(tsk("ps", "-a").out, /Exited \(137\) .* ago\s+web/);
  assert.is(tsk("ps").out.trim().split("\n").length, 1);
  assert.is(tsk("rm", "web").code, 0);
  assert.not.match(tsk("ps", "-a").out, /web/);
});

test("a volume's writes land on the host", () => {
  const vol = join(dir, "vol");
  mkdirSync(vol);
  const r = tsk("run", "--rm", "-v", `${vol}:/out`, "busybox", "sh", "-c", "hostname > /out/name");
  assert.is(r.code, 0, r.err);
  assert.match(readFileSync(join(vol, "name"), "utf8"), /^[0-9a-f]{12}\n$/);
});

test("a memory hog beyond --memory is OOM-killed and reported", () => {
  const r = tsk(
    "run",
    "--rm",
    "--memory",
    "16m",
    "busybox",
    "sh",
    "-c",
    "x=0123456789abcdef; while true; do x=$x$x; done",
  );
  assert.is(r.code, 137);
  assert.match(r.err, /OOMKilled/);
});

test("--pids-limit stops a fork bomb", () => {
  const r = tsk(
    "run",
    "--rm",
    "--pids-limit",
    "10",
    "busybox",
    "sh",
    "-c",
    "(while true; do sleep 5 & done) 2>/dev/null; c=0; for p in /proc/[0-9]*; do c=$((c+1)); done; echo $c",
  );
  assert.is(r.code, 0, r.err);
  assert.ok(Number(r.out) <= 10 && Number(r.out) > 2, r.out);
});

test("unknown images and bad flags get clear errors", () => {
  const r = tsk("run", "--rm", "nope:1", "true");
  assert.is(r.code, 125);
  assert.match(r.err, /image "nope:1" not found/);
  const m = tsk("run", "--memory", "lots", "busybox", "true");
  assert.is(m.code, 2);
  assert.match(m.err, /--memory: invalid size "lots"/);
  const v = tsk("run", "-v", "relative:/x", "busybox", "true");
  assert.match(v.err, /host path must be absolute/);
  assert.match(tsk("logs", "missing").err, /no such container: missing/);
});

test.run();
