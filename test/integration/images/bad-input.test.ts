import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type ImageStore, openImageStore } from "../../../internal/images";
import {
  type BuiltImage,
  buildBusyboxDockerArchive,
  buildImage,
  type LayerEntry,
  tarLayer,
  writeDockerArchive,
  writeOciArchive,
} from "../../support/images";
import { removeDir, storeFiles, tempDir, tsk } from "./helpers";

const work = tempDir("images-bad");
const victim = tempDir("images-victim");
const victimFile = join(victim, "victim.txt");
const up = "../".repeat(24);
let goodTar: string;
let counter = 0;

test.before(async () => {
  writeFileSync(victimFile, "original\n");
  goodTar = join(work, "good.tar");
  await buildBusyboxDockerArchive(goodTar);
});

test.after(() => {
  removeDir(work);
  removeDir(victim);
});

/** An image whose first layer is fine (and unique) and whose second layer holds `evil`. */
async function evilImage(evil: LayerEntry[]): Promise<BuiltImage> {
  const good = await tarLayer([
    { path: "fine" },
    { path: `fine/file-${++counter}`, content: `ok ${counter}\n` },
  ]);
  return buildImage([good, await tarLayer(evil)]);
}

async function evilArchive(evil: LayerEntry[]): Promise<string> {
  const path = join(work, `evil-${++counter}.tar`);
  await writeDockerArchive(path, [{ image: await evilImage(evil), names: ["evil:latest"] }]);
  return path;
}

function victimState(): string {
  const names = readdirSync(victim).sort();
  return JSON.stringify({
    names,
    content: readFileSync(victimFile, "utf8"),
    mtime: statSync(victimFile).mtimeMs,
  });
}

/** A store holding busybox, for checking that a refused import changes nothing in it. */
async function storeWithBusybox(): Promise<{ store: ImageStore; dir: string }> {
  const dir = join(work, `data-${++counter}`);
  const store = await openImageStore({ dataDir: dir });
  await store.importArchive(goodTar);
  return { store, dir };
}

async function assertRefused(archive: string, code: string, message: RegExp): Promise<void> {
  const { store, dir } = await storeWithBusybox();
  const before = storeFiles(dir);
  const victimBefore = victimState();
  try {
    await store.importArchive(archive);
    assert.unreachable("the archive was imported");
  } catch (err) {
    if (err instanceof assert.Assertion) throw err;
    assert.is((err as { code?: string }).code, code, (err as Error).message);
    assert.match((err as Error).message, message);
  }
  assert.equal(storeFiles(dir), before, "nothing half-imported is left in the store");
  assert.equal(
    (await store.list()).map((i) => i.names),
    [["docker.io/library/busybox:latest"]],
  );
  assert.is(victimState(), victimBefore, "host files untouched");
  assert.ok((await store.resolve("busybox")).layers.length === 1, "the store still works");
}

test("a truncated archive is refused and leaves nothing behind", async () => {
  const data = readFileSync(goodTar);
  const cut = join(work, "truncated.tar");
  writeFileSync(cut, data.subarray(0, Math.floor(data.length / 2) + 100));
  await assertRefused(cut, "InvalidArchive", /truncated\.tar/);
});

test("tsk images import of a broken archive exits 1 naming the file and the problem", async () => {
  const data = readFileSync(goodTar);
  const cut = join(work, "cli-truncated.tar");
  writeFileSync(cut, data.subarray(0, 3000));
  const dir = join(work, `data-${++counter}`);
  const out = await tsk(["images", "import", "--data-dir", dir, cut]);
  assert.is(out.code, 1);
  assert.match(out.stderr, /^tsk images import: .*cli-truncated\.tar is not a valid image archive/);
  assert.equal(storeFiles(dir).layers, []);
  const missing = await tsk(["images", "import", "--data-dir", dir, join(work, "does-not-exist.tar")]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /does-not-exist\.tar: no such file/);
});

test("a file that is not an archive is refused", async () => {
  const junk = join(work, "junk.tar");
  writeFileSync(junk, "this is not a tar file at all, just some text that goes on for a while\n".repeat(20));
  await assertRefused(junk, "InvalidArchive", /not a valid image archive/);
});

test("an archive without manifest.json or index.json is refused", async () => {
  const path = join(work, "plain.tar");
  writeFileSync(path, await tarLayer([{ path: "hello.txt", content: "hi" }]));
  await assertRefused(path, "InvalidArchive", /neither a docker save archive/);
});

test("a manifest.json naming a layer the archive lacks is refused", async () => {
  const path = join(work, "missing-layer.tar");
  writeFileSync(
    path,
    await tarLayer([
      {
        path: "manifest.json",
        content: JSON.stringify([{ Config: "c.json", RepoTags: ["x:1"], Layers: ["nope/layer.tar"] }]),
      },
      {
        path: "c.json",
        content: JSON.stringify({ rootfs: { type: "layers", diff_ids: [`sha256:${"0".repeat(64)}`] } }),
      },
    ]),
  );
  await assertRefused(path, "InvalidArchive", /layer "nope\/layer\.tar" is missing/);
});

test("a docker save layer whose content does not match the config's diff_id is refused", async () => {
  const img = await evilImage([{ path: "x", content: "x" }]);
  img.layers[1] = { ...img.layers[1], data: await tarLayer([{ path: "x", content: "tampered" }]) };
  const path = join(work, "tampered.tar");
  await writeDockerArchive(path, [{ image: img, names: ["tampered:latest"] }]);
  await assertRefused(path, "DigestMismatch", /digest mismatch/);
});

test("an OCI layer blob whose digest does not match is refused", async () => {
  const good = await tarLayer([{ path: "fine-oci", content: "ok" }]);
  const img = buildImage([good, await tarLayer([{ path: "y", content: "y" }])], { gzip: true });
  const { gzipSync } = await import("node:zlib");
  img.layers[1] = { ...img.layers[1], data: gzipSync(await tarLayer([{ path: "y", content: "changed" }])) };
  const path = join(work, "tampered-oci.tar");
  await writeOciArchive(path, [{ image: img, names: ["tampered:oci"] }]);
  await assertRefused(path, "DigestMismatch", new RegExp(`expected ${img.layers[1].digest}`));
});

test("a gzip layer cut short is refused", async () => {
  const img = buildImage([await tarLayer([{ path: "big", content: Buffer.alloc(200_000, 7) }])], {
    gzip: true,
  });
  img.layers[0] = { ...img.layers[0], data: img.layers[0].data.subarray(0, img.layers[0].data.length - 20) };
  const path = join(work, "short-gzip.tar");
  await writeOciArchive(path, [{ image: img, names: ["short:gz"] }]);
  await assertRefused(path, "InvalidArchive", /corrupt or truncated|not a valid tar/);
});

test("a layer entry climbing out with ../ is refused and the host file is untouched", async () => {
  const path = await evilArchive([{ path: `${up}${victim.slice(1)}/escaped.txt`, content: "pwned" }]);
  await assertRefused(path, "UnsafePath", /escapes the image root/);
});

test("a layer entry with an absolute path is refused", async () => {
  const path = await evilArchive([{ path: `${victim}/absolute.txt`, content: "pwned" }]);
  await assertRefused(path, "UnsafePath", /absolute path/);
});

test("a symlink pointing out of the layer and then written through is refused", async () => {
  const path = await evilArchive([
    { path: "evil", target: victim },
    { path: "evil/victim.txt", content: "pwned" },
  ]);
  await assertRefused(path, "UnsafePath", /written through the symlink "evil"/);
});

test("a relative symlink climbing out and then written through is refused", async () => {
  const path = await evilArchive([
    { path: "a" },
    { path: "a/evil", target: `${up}${victim.slice(1)}` },
    { path: "a/evil/new.txt", content: "pwned" },
  ]);
  await assertRefused(path, "UnsafePath", /symlink "a\/evil"/);
});

test("a hardlink to a file outside the layer is refused", async () => {
  for (const target of [`${up}${victimFile.slice(1)}`, victimFile]) {
    const path = await evilArchive([
      { path: "h", type: "link", target },
      { path: "h", content: "pwned" },
    ]);
    await assertRefused(path, "UnsafePath", /hardlink "h" points outside/);
  }
});

test("a hardlink through a symlink to the host is refused", async () => {
  const path = await evilArchive([
    { path: "s", target: victim },
    { path: "h", type: "link", target: "s/victim.txt" },
  ]);
  await assertRefused(path, "UnsafePath", /"s" is not a directory of this layer/);
});

test("a layer carrying overlay's own xattrs is refused", async () => {
  const { pack } = await import("tar-stream");
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => p.on("end", () => r()));
  p.entry({
    name: "dir",
    type: "directory",
    pax: { "SCHILY.xattr.trusted.overlay.redirect": "/etc" },
  } as never);
  p.finalize();
  await ended;
  const img = buildImage([await tarLayer([{ path: "fine-x", content: "x" }]), Buffer.concat(chunks)]);
  const path = join(work, "xattr.tar");
  await writeDockerArchive(path, [{ image: img, names: ["xattr:latest"] }]);
  await assertRefused(path, "UnsafePath", /overlay attribute trusted\.overlay\.redirect/);
});

test.run();
