// Our archives, skopeo's archives and our test registry against a real third-party
// tool (Debian's skopeo): the formats are the real ones, not a private dialect.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openImageStore } from "../../../internal/images";
import {
  type BuiltImage,
  buildBusyboxDockerArchive,
  buildBusyboxImage,
  buildBusyboxOciArchive,
  startTestRegistry,
  WHITEOUT_LAYERS,
} from "../../support/images";
import { removeDir, tempDir } from "./helpers";

const run = promisify(execFile);
const work = tempDir("images-interop");
let counter = 0;

function skopeo(...args: string[]) {
  if (!existsSync("/usr/bin/skopeo")) throw new Error("skopeo is missing: apt-get install -y skopeo");
  return run("skopeo", ["--insecure-policy", ...args], { cwd: work });
}

function dataDir(): string {
  return join(work, `data-${++counter}`);
}

test.after(() => removeDir(work));

test("an OCI archive written by skopeo imports under its ref name", async () => {
  const src = join(work, "ours-docker.tar");
  const built = await buildBusyboxDockerArchive(src);
  const oci = join(work, "skopeo-oci.tar");
  await skopeo("copy", `docker-archive:${src}`, `oci-archive:${oci}:busybox:sk`);
  const store = await openImageStore({ dataDir: dataDir() });
  const [img] = await store.importArchive(oci);
  assert.equal(img.names, ["docker.io/library/busybox:sk"]);
  // skopeo rewrites the config for OCI (and gzips the layer); the layer content stays.
  assert.equal(
    img.layers,
    built.layers.map((l) => l.diffId),
    "same layers",
  );
});

test("a docker archive written by skopeo from our layered OCI archive keeps its whiteouts", async () => {
  const src = join(work, "ours-oci.tar");
  await buildBusyboxOciArchive(src, { name: "busybox:layered", extraLayers: WHITEOUT_LAYERS });
  const out = join(work, "skopeo-docker.tar");
  await skopeo("copy", `oci-archive:${src}:busybox:layered`, `docker-archive:${out}:busybox:fromskopeo`);
  const store = await openImageStore({ dataDir: dataDir() });
  const [img] = await store.importArchive(out);
  assert.equal(img.names, ["docker.io/library/busybox:fromskopeo"]);
  const r = await store.resolve("busybox:fromskopeo");
  assert.is(r.layers.length, 3);
  const { lstatSync } = await import("node:fs");
  assert.ok(
    lstatSync(join(r.layers[2], "data", "gone.txt")).isCharacterDevice(),
    "whiteout became an overlay whiteout",
  );
});

test("skopeo pulls from the test registry with token auth, as we do", async () => {
  const app: BuiltImage = await buildBusyboxImage({ gzip: true, extraLayers: [WHITEOUT_LAYERS[0]] });
  const reg = await startTestRegistry({
    images: { "test/app:v1": app },
    auth: { username: "ci", password: "s3cret" },
    manifestList: true,
  });
  try {
    const out = join(work, "pulled-by-skopeo.tar");
    await skopeo(
      "copy",
      "--src-tls-verify=false",
      "--src-creds",
      "ci:s3cret",
      "--override-arch",
      "amd64",
      "--override-os",
      "linux",
      `docker://${reg.host}/test/app:v1`,
      `oci-archive:${out}:app:v1`,
    );
    const store = await openImageStore({ dataDir: dataDir() });
    const [fromSkopeo] = await store.importArchive(out);
    assert.is(fromSkopeo.id, app.configDigest);
    const pulled = await store.pull(`${reg.host}/test/app:v1`, { username: "ci", password: "s3cret" });
    assert.is(pulled.id, app.configDigest);
    assert.equal(pulled.fetched, [], "every layer was already there from skopeo's archive");
    assert.ok(readFileSync(join((await store.resolve("app:v1")).layers[1], "data", "keep.txt")));
  } finally {
    await reg.close();
  }
});

test.run();
