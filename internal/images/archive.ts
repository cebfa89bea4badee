// Reads `docker save` archives (manifest.json + repositories, older per-layer
// folders or the newer blobs/ layout) and OCI image layout archives (oci-layout +
// index.json, as skopeo and buildah write them). A first pass lists the archive's
// entries and keeps the small ones (JSON) in memory; layers are then read straight
// from their offsets in the file, so nothing is copied out before it is verified.
import * as fs from "node:fs";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import * as zlib from "node:zlib";
import { extract } from "tar-stream";
import { ImageError } from "./errors";
import {
  checkDigest,
  type Descriptor,
  MEDIA,
  NAME_ANNOTATION,
  type OciConfig,
  type OciIndex,
  type OciManifest,
  REF_ANNOTATION,
  sha256,
} from "./layout";
import { normalizeName } from "./reference";

const KEEP_IN_MEMORY = 64 << 10;
const MAX_JSON = 32 << 20;

interface Entry {
  name: string;
  offset: number;
  size: number;
  data?: Buffer;
  symlink?: string;
}

export interface ArchiveLayer {
  /** Known for OCI archives and docker's newer blobs/ layout; computed while reading otherwise. */
  blobDigest?: string;
  diffId: string;
  size: number;
  open(): Readable;
}

export interface ArchiveImage {
  names: string[];
  config: Buffer;
  configDigest: string;
  /** The archive's own manifest for OCI archives (its digest is kept); undefined for docker save. */
  manifest?: Buffer;
  layers: ArchiveLayer[];
}

export class Archive {
  private constructor(
    readonly path: string,
    private readonly entries: Map<string, Entry>,
  ) {}

  /** Lists an uncompressed tar archive. A truncated or malformed tar is an InvalidArchive error. */
  static async open(path: string): Promise<Archive> {
    const entries = new Map<string, Entry>();
    const ex = extract();
    const input = fs.createReadStream(path);
    const done = new Promise<void>((resolve, reject) => {
      ex.on("entry", (h, stream, next) => {
        // A cut-off archive fails the entry stream too; the extractor reports the same error.
        stream.on("error", () => undefined);
        const name = posix
          .normalize(h.name)
          .replace(/^(\.\/)+/, "")
          .replace(/\/+$/, "");
        if (h.type === "symlink") {
          entries.set(name, { name, offset: 0, size: 0, symlink: h.linkname });
          stream.resume();
          next();
          return;
        }
        if (h.type !== "file" && h.type !== "contiguous-file") {
          stream.resume();
          next();
          return;
        }
        // tar-stream records where the entry's data starts in the file (after any PAX
        // or GNU long-name headers); Source.offset is where its header starts.
        const dataOffset = (h as { byteOffset?: number }).byteOffset;
        if (typeof dataOffset !== "number") {
          next(new Error("tar reader did not report entry offsets"));
          return;
        }
        const e: Entry = { name, offset: dataOffset, size: h.size };
        entries.set(name, e);
        if (h.size <= KEEP_IN_MEMORY) {
          const chunks: Buffer[] = [];
          stream.on("data", (c) => chunks.push(c as Buffer));
          stream.on("end", () => {
            e.data = Buffer.concat(chunks);
            next();
          });
        } else {
          stream.on("end", () => next());
          stream.resume();
        }
      });
      ex.on("finish", resolve);
      ex.on("error", reject);
      input.on("error", reject);
    });
    input.pipe(ex);
    try {
      await done;
    } catch (err) {
      input.destroy();
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        throw new ImageError("NotFound", `${path}: no such file`);
      throw new ImageError(
        "InvalidArchive",
        `${path} is not a valid image archive: ${(err as Error).message}`,
      );
    }
    if (entries.size === 0)
      throw new ImageError("InvalidArchive", `${path} is not a valid image archive: it holds no files`);
    return new Archive(path, entries);
  }

  private lookup(name: string, from = ""): Entry | undefined {
    let cur = posix.normalize(posix.join(from, name)).replace(/^(\.\/)+/, "");
    for (let hops = 0; hops < 16; hops++) {
      const e = this.entries.get(cur);
      if (e?.symlink === undefined) return e;
      cur = posix.normalize(posix.join(posix.dirname(cur), e.symlink));
    }
    return undefined;
  }

  private need(name: string, why: string): Entry {
    const e = this.lookup(name);
    if (!e)
      throw new ImageError("InvalidArchive", `${this.path}: ${why} "${name}" is missing from the archive`);
    return e;
  }

  private read(e: Entry): Buffer {
    if (e.data) return e.data;
    if (e.size > MAX_JSON)
      throw new ImageError("InvalidArchive", `${this.path}: "${e.name}" is too large (${e.size} bytes)`);
    const buf = Buffer.alloc(e.size);
    const fd = fs.openSync(this.path, "r");
    try {
      let off = 0;
      while (off < e.size) {
        const n = fs.readSync(fd, buf, off, e.size - off, e.offset + off);
        if (n === 0) throw new ImageError("InvalidArchive", `${this.path}: "${e.name}" is truncated`);
        off += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return buf;
  }

  private json<T>(e: Entry, what: string): T {
    try {
      return JSON.parse(this.read(e).toString("utf8")) as T;
    } catch (err) {
      if (err instanceof ImageError) throw err;
      throw new ImageError("InvalidArchive", `${this.path}: ${what} "${e.name}" is not valid JSON`);
    }
  }

  private stream(e: Entry): () => Readable {
    return () =>
      fs.createReadStream(this.path, { start: e.offset, end: e.offset + e.size - 1, highWaterMark: 1 << 20 });
  }

  /** The images the archive holds, checked for consistency; nothing is written. */
  images(): ArchiveImage[] {
    if (this.lookup("manifest.json")) return this.dockerImages();
    if (this.lookup("oci-layout") && this.lookup("index.json")) return this.ociImages();
    throw new ImageError(
      "InvalidArchive",
      `${this.path} is neither a docker save archive (manifest.json) nor an OCI archive (oci-layout, index.json)`,
    );
  }

  private dockerImages(): ArchiveImage[] {
    const list = this.json<unknown>(this.need("manifest.json", "file"), "file");
    if (!Array.isArray(list) || list.length === 0) {
      throw new ImageError("InvalidArchive", `${this.path}: manifest.json lists no images`);
    }
    return list.map((m: { Config?: unknown; RepoTags?: unknown; Layers?: unknown }, i) => {
      if (typeof m?.Config !== "string" || !Array.isArray(m.Layers)) {
        throw new ImageError(
          "InvalidArchive",
          `${this.path}: manifest.json entry ${i} lacks Config or Layers`,
        );
      }
      const config = this.read(this.need(m.Config, "image config"));
      const diffIds = this.diffIds(config, m.Config);
      if (diffIds.length !== m.Layers.length) {
        throw new ImageError(
          "InvalidArchive",
          `${this.path}: image config lists ${diffIds.length} layers but manifest.json lists ${m.Layers.length}`,
        );
      }
      const layers = (m.Layers as unknown[]).map((p, j): ArchiveLayer => {
        if (typeof p !== "string")
          throw new ImageError("InvalidArchive", `${this.path}: manifest.json layer ${j} is not a path`);
        const e = this.need(p, "layer");
        const fromPath = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(e.name);
        return {
          diffId: diffIds[j],
          blobDigest: fromPath ? `sha256:${fromPath[1]}` : undefined,
          size: e.size,
          open: this.stream(e),
        };
      });
      const tags = Array.isArray(m.RepoTags) ? (m.RepoTags as unknown[]) : [];
      return { names: tags.map((t) => this.name(String(t))), config, configDigest: sha256(config), layers };
    });
  }

  private ociImages(): ArchiveImage[] {
    const index = this.json<OciIndex>(this.need("index.json", "file"), "file");
    if (!Array.isArray(index?.manifests) || index.manifests.length === 0) {
      throw new ImageError("InvalidArchive", `${this.path}: index.json lists no manifests`);
    }
    const byManifest = new Map<string, ArchiveImage>();
    for (const d of index.manifests) {
      const names: string[] = [];
      const full = d.annotations?.[NAME_ANNOTATION];
      const ref = d.annotations?.[REF_ANNOTATION];
      if (full) names.push(this.name(full));
      else if (ref && /[/:]/.test(ref)) names.push(this.name(ref));
      const manifestDesc = this.pickPlatform(d);
      const manifest = this.blob(manifestDesc, "manifest");
      const prior = byManifest.get(manifestDesc.digest);
      if (prior) {
        for (const n of names) if (!prior.names.includes(n)) prior.names.push(n);
        continue;
      }
      const m = JSON.parse(manifest.toString("utf8")) as OciManifest;
      if (!m?.config || !Array.isArray(m.layers)) {
        throw new ImageError(
          "InvalidArchive",
          `${this.path}: manifest ${manifestDesc.digest} lacks config or layers`,
        );
      }
      const config = this.blob(m.config, "image config");
      const diffIds = this.diffIds(config, m.config.digest);
      if (diffIds.length !== m.layers.length) {
        throw new ImageError(
          "InvalidArchive",
          `${this.path}: image config lists ${diffIds.length} layers but its manifest ${m.layers.length}`,
        );
      }
      const layers = m.layers.map((l, j): ArchiveLayer => {
        const digest = checkDigest(l.digest, `${this.path}: layer ${j}`);
        const e = this.need(`blobs/sha256/${digest.slice(7)}`, "layer blob");
        return { diffId: diffIds[j], blobDigest: digest, size: e.size, open: this.stream(e) };
      });
      byManifest.set(manifestDesc.digest, { names, config, configDigest: m.config.digest, manifest, layers });
    }
    return [...byManifest.values()];
  }

  /** Follows an index (multi-platform image) down to its linux/amd64 manifest. */
  private pickPlatform(d: Descriptor): Descriptor {
    let cur = d;
    for (let depth = 0; depth < 4; depth++) {
      if (cur.mediaType !== MEDIA.ociIndex && cur.mediaType !== MEDIA.dockerList) return cur;
      const idx = JSON.parse(this.blob(cur, "index").toString("utf8")) as OciIndex;
      const next = choosePlatform(idx.manifests ?? []);
      if (!next)
        throw new ImageError("NotFound", `${this.path}: index ${cur.digest} has no linux/amd64 image`);
      cur = next;
    }
    throw new ImageError("InvalidArchive", `${this.path}: indexes nested too deep`);
  }

  private blob(d: Descriptor, what: string): Buffer {
    const digest = checkDigest(d?.digest, `${this.path}: ${what}`);
    const data = this.read(this.need(`blobs/sha256/${digest.slice(7)}`, what));
    const actual = sha256(data);
    if (actual !== digest)
      throw new ImageError("DigestMismatch", `${this.path}: ${what} ${digest}: content digest is ${actual}`);
    return data;
  }

  private diffIds(config: Buffer, where: string): string[] {
    let c: OciConfig;
    try {
      c = JSON.parse(config.toString("utf8")) as OciConfig;
    } catch {
      throw new ImageError("InvalidArchive", `${this.path}: image config ${where} is not valid JSON`);
    }
    const ids = c?.rootfs?.diff_ids;
    if (!Array.isArray(ids))
      throw new ImageError("InvalidArchive", `${this.path}: image config ${where} has no rootfs.diff_ids`);
    return ids.map((d, i) => checkDigest(d, `${this.path}: diff_ids[${i}]`));
  }

  private name(n: string): string {
    try {
      return normalizeName(n);
    } catch (err) {
      throw new ImageError("InvalidArchive", `${this.path}: ${(err as Error).message}`);
    }
  }
}

/** linux/amd64 from a list of platform manifests (the first without a platform if none says so). */
export function choosePlatform(manifests: Descriptor[]): Descriptor | undefined {
  return (
    manifests.find((m) => m.platform?.os === "linux" && m.platform?.architecture === "amd64") ??
    manifests.find(
      (m) => m.platform === undefined && m.mediaType !== MEDIA.ociIndex && m.mediaType !== MEDIA.dockerList,
    )
  );
}

/** A gzip-compressed archive (`docker save | gzip`) is decompressed to `tmpPath` first. */
export async function decompressIfNeeded(path: string, tmpPath: string): Promise<string | undefined> {
  const fd = await fs.promises.open(path, "r").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") throw new ImageError("NotFound", `${path}: no such file`);
    throw err;
  });
  const head = Buffer.alloc(2);
  try {
    await fd.read(head, 0, 2, 0);
  } finally {
    await fd.close();
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) return undefined;
  const { pipeline } = await import("node:stream/promises");
  try {
    await pipeline(
      fs.createReadStream(path),
      zlib.createGunzip(),
      fs.createWriteStream(tmpPath, { flags: "wx" }),
    );
  } catch (err) {
    await fs.promises.rm(tmpPath, { force: true });
    throw new ImageError(
      "InvalidArchive",
      `${path}: gzip data is corrupt or truncated: ${(err as Error).message}`,
    );
  }
  return tmpPath;
}
