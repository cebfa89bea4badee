// Volume preparation on disk: configMap files and their updates, items and modes,
// downward API files, hostPath type checks, and refused paths.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mountSource, setupVolumes, VolumeError, type VolumeSources } from "../../../internal/volumes";

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), "tsk-vol-"));
});
test.after.each(() => {
  rmSync(dir, { recursive: true, force: true });
});

function sources(cms: Record<string, any>): VolumeSources {
  return {
    configMap: async (_ns, name) => cms[name],
    secret: async () => undefined,
    fieldRef: (p) => (p === "metadata.name" ? "web" : undefined),
    resourceFieldRef: () => undefined,
  };
}

const podWith = (volumes: any[]) => ({ metadata: { namespace: "default", name: "web" }, spec: { volumes } });

test("a configMap volume holds one file per key, and follows updates", async () => {
  const cms: Record<string, any> = { cfg: { data: { a: "1", b: "2" } } };
  const pod = podWith([{ name: "v", configMap: { name: "cfg" } }]);
  const vols = await setupVolumes(pod, dir, sources(cms));
  const d = vols.get("v")!;
  assert.is(readFileSync(join(d, "a"), "utf8"), "1");
  assert.is(statSync(join(d, "a")).mode & 0o777, 0o644);
  cms.cfg = { data: { a: "changed" } };
  await setupVolumes(pod, dir, sources(cms));
  assert.is(readFileSync(join(d, "a"), "utf8"), "changed");
  assert.not.ok(existsSync(join(d, "b")), "a removed key's file is removed");
});

test("items pick keys into paths with their mode", async () => {
  const pod = podWith([
    { name: "v", configMap: { name: "cfg", items: [{ key: "a", path: "sub/dir/x.conf", mode: 0o600 }] } },
  ]);
  const vols = await setupVolumes(pod, dir, sources({ cfg: { data: { a: "1", b: "2" } } }));
  const d = vols.get("v")!;
  assert.is(readFileSync(join(d, "sub/dir/x.conf"), "utf8"), "1");
  assert.is(statSync(join(d, "sub/dir/x.conf")).mode & 0o777, 0o600);
  assert.not.ok(existsSync(join(d, "b")));
});

test("a missing ConfigMap fails the volume unless optional", async () => {
  try {
    await setupVolumes(podWith([{ name: "v", configMap: { name: "nope" } }]), dir, sources({}));
    assert.unreachable();
  } catch (err) {
    assert.instance(err, VolumeError);
    assert.is((err as VolumeError).volume, "v");
    assert.match((err as Error).message, /configmap "nope" not found/);
  }
  const vols = await setupVolumes(
    podWith([{ name: "v", configMap: { name: "nope", optional: true } }]),
    dir,
    sources({}),
  );
  assert.ok(existsSync(vols.get("v")!));
});

test("paths that climb out of the volume are refused", async () => {
  const pod = podWith([
    { name: "v", configMap: { name: "cfg", items: [{ key: "a", path: "../../etc/evil" }] } },
  ]);
  try {
    await setupVolumes(pod, dir, sources({ cfg: { data: { a: "1" } } }));
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /must be relative, without "\.\."/);
  }
  const vols = new Map([["v", dir]]);
  assert.throws(() => mountSource(vols, { name: "v", subPath: "../x" }), /without "\.\."/);
  assert.throws(() => mountSource(vols, { name: "w" }), /volume "w" is not defined/);
});

test("downwardAPI files and hostPath type checks", async () => {
  const vols = await setupVolumes(
    podWith([
      { name: "d", downwardAPI: { items: [{ path: "name", fieldRef: { fieldPath: "metadata.name" } }] } },
      { name: "h", hostPath: { path: join(dir, "made"), type: "DirectoryOrCreate" } },
    ]),
    dir,
    sources({}),
  );
  assert.is(readFileSync(join(vols.get("d")!, "name"), "utf8"), "web");
  assert.ok(statSync(join(dir, "made")).isDirectory());
  try {
    await setupVolumes(
      podWith([{ name: "h", hostPath: { path: join(dir, "absent"), type: "Directory" } }]),
      dir,
      sources({}),
    );
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /hostPath type check failed: .*absent does not exist/);
  }
});

test.run();
