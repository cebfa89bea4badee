import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openImageStore, type ResolvedImage } from "../../../internal/images";
import { lgetxattr } from "../../../internal/images/native";
import { buildBusyboxOciArchive, type LayerEntry, WHITEOUT_LAYERS } from "../../support/images";
import { removeDir, tempDir } from "./helpers";

const work = tempDir("images-whiteout");
const OLD = new Date("2020-02-02T02:02:02Z");
const META_LAYER: LayerEntry[] = [
  { path: "meta", mode: 0o750, uid: 123, gid: 456, mtime: OLD },
  { path: "meta/owned", content: "x", mode: 0o640, uid: 1000, gid: 1001, mtime: OLD },
  { path: "meta/setuid", content: "#!/bin/sh\n", mode: 0o4755 },
  { path: "meta/hard", type: "link", target: "meta/owned" },
  { path: "meta/abs-link", target: "/data/keep.txt" },
  { path: "meta/rel-link", target: "../data/keep.txt" },
  { path: "meta/pipe", type: "fifo", mode: 0o600 },
  // A long name needs a PAX or GNU header in the tar.
  { path: `meta/${"long-name-".repeat(20)}end`, content: "long\n" },
];
let image: ResolvedImage;

test.before(async () => {
  const archive = join(work, "layered.tar");
  await buildBusyboxOciArchive(archive, {
    name: "busybox:layered",
    extraLayers: [...WHITEOUT_LAYERS, META_LAYER],
  });
  const store = await openImageStore({ dataDir: join(work, "data") });
  await store.importArchive(archive);
  image = await store.resolve("busybox:layered");
});

test.after(() => removeDir(work));

test("a file deleted in an upper layer is absent from the overlay-mounted rootfs, an opaque dir hides lower entries", () => {
  const mnt = join(work, "mnt");
  for (const d of ["upper", "work", "merged"]) mkdirSync(join(mnt, d), { recursive: true });
  const lower = [...image.layers].reverse().join(":");
  const merged = join(mnt, "merged");
  execFileSync("mount", [
    "-t",
    "overlay",
    "overlay",
    "-o",
    `lowerdir=${lower},upperdir=${mnt}/upper,workdir=${mnt}/work`,
    merged,
  ]);
  try {
    assert.is(readFileSync(join(merged, "data", "keep.txt"), "utf8"), "keep\n");
    assert.not.ok(existsSync(join(merged, "data", "gone.txt")), "whited-out file is gone");
    assert.equal(readdirSync(join(merged, "data")), ["keep.txt"]);
    assert.equal(
      readdirSync(join(merged, "olddir")),
      ["new"],
      "opaque dir shows only the upper layer's entries",
    );
    assert.ok(statSync(join(merged, "bin", "busybox")).isFile(), "base layer visible");
    assert.is(readFileSync(join(merged, "meta", "hard"), "utf8"), "x");
  } finally {
    execFileSync("umount", [merged]);
  }
});

test("whiteouts are stored as 0:0 character devices and opaque dirs carry trusted.overlay.opaque=y", () => {
  const top = image.layers[2];
  const wh = lstatSync(join(top, "data", "gone.txt"));
  assert.ok(wh.isCharacterDevice(), "whiteout is a character device");
  assert.is(wh.rdev, 0);
  assert.not.ok(existsSync(join(top, "data", ".wh.gone.txt")), "no OCI marker file left");
  assert.not.ok(existsSync(join(top, "olddir", ".wh..wh..opq")));
  assert.is(lgetxattr(join(top, "olddir"), "trusted.overlay.opaque")?.toString(), "y");
  assert.is(
    lgetxattr(join(top, "data"), "trusted.overlay.opaque"),
    undefined,
    "only the opaque dir is marked",
  );
});

test("modes, owners, mtimes, symlinks, hardlinks, FIFOs and long names are kept", () => {
  const m = join(image.layers[3], "meta");
  const dir = statSync(m);
  assert.is(dir.mode & 0o7777, 0o750);
  assert.is(dir.uid, 123);
  assert.is(dir.gid, 456);
  assert.is(dir.mtime.getTime(), OLD.getTime(), "directory mtime set after its children were written");
  const owned = statSync(join(m, "owned"));
  assert.is(owned.mode & 0o7777, 0o640);
  assert.equal([owned.uid, owned.gid], [1000, 1001]);
  assert.is(owned.mtime.getTime(), OLD.getTime());
  assert.is(statSync(join(m, "setuid")).mode & 0o7777, 0o4755, "setuid bit survives chown");
  assert.is(statSync(join(m, "hard")).ino, owned.ino, "hardlink shares the inode");
  assert.is(readlinkSync(join(m, "abs-link")), "/data/keep.txt", "absolute symlink kept as written");
  assert.is(readlinkSync(join(m, "rel-link")), "../data/keep.txt");
  assert.ok(lstatSync(join(m, "pipe")).isFIFO());
  assert.is(readFileSync(join(m, `${"long-name-".repeat(20)}end`), "utf8"), "long\n");
});

test.run();
