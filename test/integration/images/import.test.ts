import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as zlib from "node:zlib";
import { gzipSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openImageStore } from "../../../internal/images";
import {
  type BuiltImage,
  buildBusyboxDockerArchive,
  buildBusyboxOciArchive,
  buildImage,
  sha256,
  tarLayer,
  WHITEOUT_LAYERS,
  writeOciArchive,
} from "../../support/images";
import { diskUsage, removeDir, storeFiles, tempDir, tsk } from "./helpers";

const work = tempDir("images-import");
const dockerTar = join(work, "busybox-docker.tar");
const ociTar = join(work, "busybox-oci.tar");
let dockerImg: BuiltImage;
let ociImg: BuiltImage;
const dirs: string[] = [];

function dataDir(): string {
  const d = tempDir("images-data");
  dirs.push(d);
  return d;
}

test.before(async () => {
  dockerImg = await buildBusyboxDockerArchive(dockerTar, { name: "busybox:latest" });
  ociImg = await buildBusyboxOciArchive(ociTar, {
    name: "busybox:layered",
    extraLayers: WHITEOUT_LAYERS,
    config: { Entrypoint: ["/bin/sh", "-c"], WorkingDir: "/data" },
  });
});

test.after(() => {
  for (const d of dirs) removeDir(d);
  removeDir(work);
});

test("a docker save archive imports and resolves by short name, full name, id and id prefix", async () => {
  const store = await openImageStore({ dataDir: dataDir() });
  const [img] = await store.importArchive(dockerTar);
  assert.equal(img.names, ["docker.io/library/busybox:latest"]);
  assert.is(img.id, dockerImg.configDigest);
  for (const ref of [
    "busybox",
    "busybox:latest",
    "docker.io/library/busybox:latest",
    img.id,
    img.id.slice(7, 19),
    img.id.slice(7, 11),
  ]) {
    const r = await store.resolve(ref);
    assert.is(r.id, dockerImg.configDigest, ref);
  }
  const r = await store.resolve("busybox");
  assert.is(r.layers.length, 1);
  assert.ok(statSync(join(r.layers[0], "bin", "busybox")).size > 1_000_000, "busybox binary unpacked");
  assert.equal(r.config.Cmd, ["sh"]);
});

test("an OCI archive imports with its layers, run config and names", async () => {
  const store = await openImageStore({ dataDir: dataDir() });
  const [img] = await store.importArchive(ociTar);
  assert.equal(img.names, ["docker.io/library/busybox:layered"]);
  assert.is(img.manifestDigest, ociImg.manifestDigest, "the archive's manifest is kept as is");
  const r = await store.resolve("busybox:layered");
  assert.is(r.layers.length, 3);
  assert.equal(r.config.Entrypoint, ["/bin/sh", "-c"]);
  assert.is(r.config.WorkingDir, "/data");
  assert.is(readFileSync(join(r.layers[1], "data", "keep.txt"), "utf8"), "keep\n");
});

test("tsk images import and ls show repository, tag, id and size", async () => {
  const d = dataDir();
  const imp = await tsk(["images", "import", "--data-dir", d, dockerTar, ociTar]);
  assert.is(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, "Loaded image: busybox:latest");
  assert.match(imp.stdout, "Loaded image: busybox:layered");
  const ls = await tsk(["images", "ls", "--data-dir", d]);
  assert.is(ls.code, 0, ls.stderr);
  const lines = ls.stdout.trimEnd().split("\n");
  assert.match(lines[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  const latest = lines.find((l) => /^busybox\s+latest\s/.test(l));
  const layered = lines.find((l) => /^busybox\s+layered\s/.test(l));
  assert.ok(latest && layered, ls.stdout);
  assert.match(latest, new RegExp(`\\s${dockerImg.configDigest.slice(7, 19)}\\s`));
  assert.match(latest, /\s2\.1\dMB$/, "busybox is about 2 MB uncompressed");
  assert.match(layered, new RegExp(`\\s${ociImg.configDigest.slice(7, 19)}\\s`));
});

test("images that share a base layer store it once", async () => {
  const d = dataDir();
  const store = await openImageStore({ dataDir: d });
  const [a] = await store.importArchive(dockerTar);
  const [b] = await store.importArchive(ociTar);
  assert.is(a.layers[0], b.layers[0], "same base layer");
  assert.is(storeFiles(d).layers.length, 3, "1 shared + 2 of the layered image");
  const layersDisk = diskUsage(join(d, "agent", "layers"));
  assert.ok(
    layersDisk < a.size + b.size,
    `layers use ${layersDisk} bytes, less than the images' sum ${a.size + b.size}`,
  );
  assert.ok(layersDisk > statSync("/bin/busybox").size, "the base layer is there");
});

test("tsk images rm removes the image and prunes its unused layers but keeps shared ones", async () => {
  const d = dataDir();
  const store = await openImageStore({ dataDir: d });
  await store.importArchive(dockerTar);
  const [layered] = await store.importArchive(ociTar);
  const rm = await tsk(["images", "rm", "--data-dir", d, "busybox:layered"]);
  assert.is(rm.code, 0, rm.stderr);
  assert.match(rm.stdout, "Untagged: busybox:layered");
  assert.match(rm.stdout, `Deleted: ${layered.id}`);
  const files = storeFiles(d);
  assert.equal(files.layers, [dockerImg.layers[0].diffId.slice(7)], "only the shared base layer is left");
  assert.not.ok(files.blobs.includes(ociImg.manifestDigest.slice(7)), "manifest blob removed");
  const r = await store.resolve("busybox");
  assert.ok(statSync(join(r.layers[0], "bin", "busybox")).isFile(), "the other image still works");
  const rm2 = await tsk(["images", "rm", "-d", d, dockerImg.configDigest.slice(7, 15)]);
  assert.is(rm2.code, 0, rm2.stderr);
  assert.equal(storeFiles(d).layers, []);
  assert.equal(storeFiles(d).blobs, []);
  assert.is((await tsk(["images", "ls", "-d", d])).stdout.trimEnd().split("\n").length, 1, "only the header");
});

test("removing one of two names of an image only untags it", async () => {
  const d = dataDir();
  const multi = join(work, "two-names.tar");
  await buildBusyboxDockerArchive(multi, { name: ["busybox:latest", "127.0.0.1:5000/tools/bb:v1"] });
  const store = await openImageStore({ dataDir: d });
  await store.importArchive(multi);
  const r = await store.remove("127.0.0.1:5000/tools/bb:v1");
  assert.equal(r.untagged, ["127.0.0.1:5000/tools/bb:v1"]);
  assert.is(r.deleted, undefined);
  assert.is((await store.resolve("busybox")).names.length, 1);
  assert.is(storeFiles(d).layers.length, 1);
});

test("an unknown image is NotFound with a message naming it", async () => {
  const d = dataDir();
  const store = await openImageStore({ dataDir: d });
  await store.importArchive(dockerTar);
  try {
    await store.resolve("alpine:3.19");
    assert.unreachable("resolved a missing image");
  } catch (err) {
    assert.is((err as { code?: string }).code, "NotFound");
    assert.match((err as Error).message, "alpine:3.19");
  }
  const out = await tsk(["images", "rm", "-d", d, "alpine"]);
  assert.is(out.code, 1);
  assert.match(out.stderr, /image "alpine" not found/);
});

test("layers pinned by a container survive removal of their image until unpinned", async () => {
  const d = dataDir();
  const store = await openImageStore({ dataDir: d });
  await store.importArchive(ociTar);
  const img = await store.resolve("busybox:layered");
  await store.pin("ctr-1", img);
  await store.remove("busybox:layered");
  for (const l of img.layers)
    assert.ok(statSync(join(l, "..", "meta.json")).isFile(), `${l} kept while pinned`);
  await store.unpin("ctr-1");
  await store.prune();
  assert.equal(storeFiles(d).layers, []);
});

test("a docker save archive from Docker 25+ (manifest.json over an OCI blobs/ layout) imports", async () => {
  const img = buildImage([await tarLayer([{ path: "new-docker", content: "v25\n" }])]);
  const hex = (d: string) => d.slice(7);
  const path = join(work, "docker25.tar");
  writeFileSync(
    path,
    await tarLayer([
      { path: "blobs" },
      { path: "blobs/sha256" },
      { path: `blobs/sha256/${hex(img.layers[0].digest)}`, content: img.layers[0].data },
      { path: `blobs/sha256/${hex(img.configDigest)}`, content: img.config },
      { path: `blobs/sha256/${hex(img.manifestDigest)}`, content: img.manifest },
      { path: "oci-layout", content: JSON.stringify({ imageLayoutVersion: "1.0.0" }) },
      {
        path: "index.json",
        content: JSON.stringify({
          schemaVersion: 2,
          manifests: [
            {
              mediaType: "application/vnd.oci.image.manifest.v1+json",
              digest: img.manifestDigest,
              size: img.manifest.length,
              annotations: { "io.containerd.image.name": "docker.io/library/new:25" },
            },
          ],
        }),
      },
      {
        path: "manifest.json",
        content: JSON.stringify([
          {
            Config: `blobs/sha256/${hex(img.configDigest)}`,
            RepoTags: ["new:25"],
            Layers: [`blobs/sha256/${hex(img.layers[0].digest)}`],
          },
        ]),
      },
    ]),
  );
  const store = await openImageStore({ dataDir: dataDir() });
  const [r] = await store.importArchive(path);
  assert.equal(r.names, ["docker.io/library/new:25"]);
  const resolved = await store.resolve("new:25");
  assert.is(readFileSync(join(resolved.layers[0], "new-docker"), "utf8"), "v25\n");
});

test("an image whose manifest was lost from the store does not break the others; prune drops it", async () => {
  const d = dataDir();
  const store = await openImageStore({ dataDir: d });
  await store.importArchive(dockerTar);
  const [layered] = await store.importArchive(ociTar);
  rmSync(join(d, "agent", "content", "blobs", "sha256", layered.manifestDigest.slice(7)));
  const ls = await tsk(["images", "ls", "-d", d]);
  assert.is(ls.code, 0, ls.stderr);
  assert.match(ls.stdout, /busybox\s+latest/);
  assert.not.match(ls.stdout, /layered/);
  assert.is((await store.resolve("busybox")).layers.length, 1);
  await store.prune();
  assert.not.match(readFileSync(join(d, "agent", "content", "index.json"), "utf8"), layered.manifestDigest);
  assert.is(storeFiles(d).layers.length, 1, "the lost image's own layers are pruned, the shared one kept");
});

test("a gzip-compressed docker save archive imports", async () => {
  const gz = join(work, "busybox.tar.gz");
  writeFileSync(gz, gzipSync(readFileSync(dockerTar), { level: 1 }));
  const store = await openImageStore({ dataDir: dataDir() });
  const [img] = await store.importArchive(gz);
  assert.is(img.id, dockerImg.configDigest);
});

test("a zstd-compressed OCI layer imports where Node has zstd, and is refused clearly where it has not", async () => {
  const tars = [await tarLayer([{ path: "z", content: "zstd layer\n" }])];
  const img = buildImage(tars);
  const zst = execFileSync("zstd", ["-q", "-c"], { input: tars[0] });
  img.layers[0] = {
    data: zst,
    digest: sha256(zst),
    diffId: img.layers[0].diffId,
    mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
  };
  img.manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: img.configDigest,
        size: img.config.length,
      },
      layers: [{ mediaType: img.layers[0].mediaType, digest: img.layers[0].digest, size: zst.length }],
    }),
  );
  img.manifestDigest = sha256(img.manifest);
  const path = join(work, "zstd.tar");
  await writeOciArchive(path, [{ image: img, names: ["zstd:latest"] }]);
  const store = await openImageStore({ dataDir: dataDir() });
  if (typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === "function") {
    await store.importArchive(path);
    const r = await store.resolve("zstd");
    assert.is(readFileSync(join(r.layers[0], "z"), "utf8"), "zstd layer\n");
  } else {
    try {
      await store.importArchive(path);
      assert.unreachable("imported zstd without zstd support");
    } catch (err) {
      if (err instanceof assert.Assertion) throw err;
      assert.is((err as { code?: string }).code, "Unsupported");
      assert.match((err as Error).message, /zstd-compressed layers need Node 22\.15/);
    }
  }
});

test("prune running while an import is in flight leaves the import's layers alone", async () => {
  const d = dataDir();
  const store = await openImageStore({ dataDir: d });
  let importing = true;
  let prunes = 0;
  const pruneLoop = (async () => {
    while (importing) {
      await store.prune();
      prunes++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  try {
    await store.importArchive(ociTar);
  } finally {
    importing = false;
    await pruneLoop;
  }
  assert.ok(prunes > 0, "prune ran during the import");
  const r = await store.resolve("busybox:layered");
  for (const l of r.layers) assert.ok(statSync(l).isDirectory(), l);
  assert.is(storeFiles(d).layers.length, 3);
});

test("importDropFolder imports every archive in agent/images and reports a bad one without stopping", async () => {
  const d = dataDir();
  const store = await openImageStore({ dataDir: d });
  copyFileSync(dockerTar, join(d, "agent", "images", "a-busybox.tar"));
  writeFileSync(join(d, "agent", "images", "b-broken.tar"), "not an archive");
  copyFileSync(ociTar, join(d, "agent", "images", "c-layered.tar"));
  const results = await store.importDropFolder();
  assert.is(results.length, 3);
  assert.ok(results[0].images && results[2].images);
  assert.is((results[1].error as { code?: string }).code, "InvalidArchive");
  assert.equal((await store.list()).map((i) => i.names[0]).sort(), [
    "docker.io/library/busybox:latest",
    "docker.io/library/busybox:layered",
  ]);
});

test("at the next start unchanged drop-folder archives are skipped, removed images and changed files imported again", async () => {
  const d = dataDir();
  const store = await openImageStore({ dataDir: d });
  copyFileSync(dockerTar, join(d, "agent", "images", "a-busybox.tar"));
  copyFileSync(ociTar, join(d, "agent", "images", "c-layered.tar"));
  await store.importDropFolder();
  const again = await store.importDropFolder();
  assert.equal(
    again.map((r) => r.skipped),
    [true, true],
  );
  await store.remove("busybox:layered");
  const third = await store.importDropFolder();
  assert.equal(
    third.map((r) => Boolean(r.skipped)),
    [true, false],
    "the removed image comes back from its archive",
  );
  assert.is((await store.resolve("busybox:layered")).layers.length, 3);
});

test.run();
