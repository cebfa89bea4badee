// Applies one layer (a tar changeset) to an empty directory that overlayfs will stack.
// OCI whiteouts become overlay whiteouts: ".wh.NAME" a 0:0 character device NAME,
// ".wh..wh..opq" the trusted.overlay.opaque=y xattr on its directory.
//
// The directory is built by this process alone, entry by entry, so safety comes from
// never following a link while writing: every parent of an entry must be a real
// directory created from this same layer, files are created O_EXCL|O_NOFOLLOW after
// whatever was at their name is removed, and names and hardlink targets that leave
// the layer's root ("../", absolute) are refused. A symlink may point anywhere: it is
// only ever read inside the container's root.
import * as fs from "node:fs";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import { extract, type Header } from "tar-stream";
import { ImageError } from "./errors";
import { lsetxattr, makeOpaque, makeWhiteout, mknod, S_IFBLK, S_IFCHR, S_IFIFO } from "./native";

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
const euid = process.geteuid?.() ?? -1;
const egid = process.getegid?.() ?? -1;

interface DirMeta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

/** Reads an uncompressed layer tar from `tar` and writes its changeset under `root` (an empty directory). */
export async function applyLayer(tar: Readable, root: string): Promise<void> {
  const applier = new LayerApplier(root);
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on("entry", (header, stream, next) => {
      // A cut-off layer fails the entry stream too; the extractor reports the same error.
      stream.on("error", () => undefined);
      applier.entry(header, stream as unknown as Readable).then(
        () => next(),
        (err) => {
          stream.resume();
          next(err);
        },
      );
    });
    ex.on("finish", resolve);
    ex.on("error", reject);
    tar.on("error", (err) => ex.destroy(err));
  });
  tar.pipe(ex);
  try {
    await done;
  } catch (err) {
    tar.unpipe(ex);
    tar.destroy();
    throw wrapTarError(err);
  }
  applier.finish();
}

function wrapTarError(err: unknown): Error {
  if (err instanceof ImageError) return err;
  const e = err as NodeJS.ErrnoException;
  const msg = e?.message ?? String(err);
  if (
    /Unexpected end|Invalid tar header|Invalid header|unexpected end of file|incorrect header check|invalid/i.test(
      msg,
    )
  ) {
    return new ImageError("InvalidArchive", `layer is not a valid tar stream: ${msg}`);
  }
  return e instanceof Error ? e : new Error(msg);
}

/** Cleans a tar entry name into a path relative to the layer root; "" is the root itself. */
export function cleanEntryPath(name: string): string {
  if (name.includes("\0"))
    throw new ImageError("UnsafePath", `layer entry ${JSON.stringify(name)} contains a NUL byte`);
  if (name.startsWith("/")) {
    throw new ImageError(
      "UnsafePath",
      `layer entry "${name}" is an absolute path; refusing to unpack outside the image root`,
    );
  }
  const norm = posix.normalize(name);
  if (norm === ".." || norm.startsWith("../")) {
    throw new ImageError("UnsafePath", `layer entry "${name}" escapes the image root`);
  }
  return norm === "." || norm === "./" ? "" : norm.replace(/\/+$/, "");
}

class LayerApplier {
  private readonly dirs = new Set<string>([""]);
  private readonly dirMeta = new Map<string, DirMeta>();

  constructor(private readonly root: string) {}

  private abs(rel: string): string {
    return rel === "" ? this.root : `${this.root}/${rel}`;
  }

  async entry(h: Header, data: Readable): Promise<void> {
    const rel = cleanEntryPath(h.name);
    const base = posix.basename(rel);
    const parent = rel.includes("/") ? posix.dirname(rel) : "";
    if (base.startsWith(".wh.")) {
      data.resume();
      this.ensureDir(parent, h.name);
      if (base === ".wh..wh..opq") {
        makeOpaque(this.abs(parent));
        return;
      }
      // Other ".wh..wh." names are aufs bookkeeping (hardlink dirs), not part of the image.
      if (base.startsWith(".wh..wh.")) return;
      const hidden = base.slice(".wh.".length);
      if (hidden === "" || hidden === "." || hidden === "..") {
        throw new ImageError("InvalidArchive", `layer entry "${h.name}" is a whiteout of nothing`);
      }
      const rel2 = parent === "" ? hidden : `${parent}/${hidden}`;
      this.removeExisting(rel2);
      makeWhiteout(this.abs(rel2));
      return;
    }
    if (rel === "") {
      data.resume();
      if (h.type !== "directory")
        throw new ImageError(
          "InvalidArchive",
          `layer entry "${h.name}" names the root but is not a directory`,
        );
      this.dirMeta.set("", meta(h));
      return;
    }
    this.ensureDir(parent, h.name);
    const path = this.abs(rel);
    switch (h.type) {
      case "directory": {
        data.resume();
        const st = lstatOrNull(path);
        if (st && !st.isDirectory()) this.removeExisting(rel);
        if (!st?.isDirectory()) fs.mkdirSync(path, 0o700);
        this.dirs.add(rel);
        this.dirMeta.set(rel, meta(h));
        this.applyXattrs(h, path);
        break;
      }
      case "file":
      case "contiguous-file": {
        const fd = this.createFile(rel);
        try {
          let written = 0;
          for await (const chunk of data) {
            const buf = chunk as Buffer;
            let off = 0;
            while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
            written += buf.length;
          }
          if (written !== h.size)
            throw new ImageError("InvalidArchive", `layer entry "${h.name}" is truncated`);
          // A new file already belongs to us; chown only when it must differ (it also clears setuid bits).
          if (h.uid !== euid || h.gid !== egid) fs.fchownSync(fd, h.uid, h.gid);
          fs.fchmodSync(fd, h.mode & 0o7777);
          fs.futimesSync(fd, h.mtime, h.mtime);
        } finally {
          fs.closeSync(fd);
        }
        this.applyXattrs(h, path);
        break;
      }
      case "symlink": {
        data.resume();
        this.removeExisting(rel);
        fs.symlinkSync(h.linkname, path);
        fs.lchownSync(path, h.uid, h.gid);
        fs.lutimesSync(path, h.mtime, h.mtime);
        break;
      }
      case "link": {
        data.resume();
        const target = this.linkTarget(h);
        if (target === rel) break;
        this.removeExisting(rel);
        fs.linkSync(this.abs(target), path);
        break;
      }
      case "character-device":
      case "block-device":
      case "fifo": {
        data.resume();
        this.removeExisting(rel);
        const kind = h.type === "fifo" ? S_IFIFO : h.type === "block-device" ? S_IFBLK : S_IFCHR;
        mknod(path, kind | (h.mode & 0o7777), h.devmajor ?? 0, h.devminor ?? 0);
        fs.lchownSync(path, h.uid, h.gid);
        fs.chmodSync(path, h.mode & 0o7777);
        fs.lutimesSync(path, h.mtime, h.mtime);
        this.applyXattrs(h, path);
        break;
      }
      default:
        data.resume();
        throw new ImageError("Unsupported", `layer entry "${h.name}" has unsupported type ${String(h.type)}`);
    }
  }

  /** Creates a regular file, replacing whatever the layer put at that name before. */
  private createFile(rel: string): number {
    const flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
    try {
      return fs.openSync(this.abs(rel), flags, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    this.removeExisting(rel);
    return fs.openSync(this.abs(rel), flags, 0o600);
  }

  /** Makes every component of rel a real directory of this layer (created 0755 when missing). */
  private ensureDir(rel: string, entryName: string): void {
    if (this.dirs.has(rel)) return;
    const parts = rel.split("/");
    let cur = "";
    for (const p of parts) {
      cur = cur === "" ? p : `${cur}/${p}`;
      if (this.dirs.has(cur)) continue;
      const st = lstatOrNull(this.abs(cur));
      if (!st) {
        fs.mkdirSync(this.abs(cur), 0o755);
      } else if (st.isSymbolicLink()) {
        throw new ImageError(
          "UnsafePath",
          `layer entry "${entryName}" is written through the symlink "${cur}"; refusing to follow it`,
        );
      } else if (!st.isDirectory()) {
        throw new ImageError("InvalidArchive", `layer entry "${entryName}": "${cur}" is not a directory`);
      }
      this.dirs.add(cur);
    }
  }

  private linkTarget(h: Header): string {
    let target: string;
    try {
      target = cleanEntryPath(h.linkname);
    } catch {
      throw new ImageError(
        "UnsafePath",
        `hardlink "${h.name}" points outside the image root ("${h.linkname}")`,
      );
    }
    if (target === "") throw new ImageError("UnsafePath", `hardlink "${h.name}" points at the image root`);
    const parent = target.includes("/") ? posix.dirname(target) : "";
    let cur = "";
    for (const p of parent === "" ? [] : parent.split("/")) {
      cur = cur === "" ? p : `${cur}/${p}`;
      if (this.dirs.has(cur)) continue;
      const st = lstatOrNull(this.abs(cur));
      if (!st?.isDirectory()) {
        throw new ImageError(
          "UnsafePath",
          `hardlink "${h.name}" -> "${h.linkname}": "${cur}" is not a directory of this layer`,
        );
      }
    }
    const st = lstatOrNull(this.abs(target));
    if (!st)
      throw new ImageError(
        "InvalidArchive",
        `hardlink "${h.name}" -> "${h.linkname}": target is not in the layer`,
      );
    if (st.isDirectory())
      throw new ImageError(
        "InvalidArchive",
        `hardlink "${h.name}" -> "${h.linkname}": target is a directory`,
      );
    return target;
  }

  private removeExisting(rel: string): void {
    const path = this.abs(rel);
    const st = lstatOrNull(path);
    if (!st) return;
    if (st.isDirectory()) {
      fs.rmSync(path, { recursive: true, force: true });
      for (const d of [...this.dirs]) if (d === rel || d.startsWith(`${rel}/`)) this.dirs.delete(d);
      for (const d of [...this.dirMeta.keys()])
        if (d === rel || d.startsWith(`${rel}/`)) this.dirMeta.delete(d);
    } else {
      fs.unlinkSync(path);
    }
  }

  /** PAX SCHILY.xattr.* records, e.g. file capabilities. overlay's own attributes are not taken from images. */
  private applyXattrs(h: Header, path: string): void {
    const pax = h.pax as Record<string, string> | null | undefined;
    if (!pax) return;
    for (const [k, v] of Object.entries(pax)) {
      if (!k.startsWith("SCHILY.xattr.")) continue;
      const name = k.slice("SCHILY.xattr.".length);
      if (name.startsWith("trusted.overlay.")) {
        throw new ImageError("UnsafePath", `layer entry "${h.name}" carries overlay attribute ${name}`);
      }
      // tar-stream hands PAX values over as UTF-8 text; a binary value that did not
      // survive that decoding cannot be restored faithfully, so it is left off rather
      // than written wrong.
      if (v.includes("\uFFFD")) continue;
      lsetxattr(path, name, Buffer.from(v, "utf8"));
    }
  }

  /** Directory metadata goes last, deepest first: adding children changes a directory's mtime. */
  finish(): void {
    const entries = [...this.dirMeta.entries()].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, m] of entries) {
      const path = this.abs(rel);
      fs.lchownSync(path, m.uid, m.gid);
      fs.chmodSync(path, m.mode & 0o7777);
      fs.utimesSync(path, m.mtime, m.mtime);
    }
  }
}

function meta(h: Header): DirMeta {
  return { mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime };
}

function depth(rel: string): number {
  return rel === "" ? 0 : rel.split("/").length;
}

function lstatOrNull(path: string): fs.Stats | null {
  try {
    return fs.lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}
