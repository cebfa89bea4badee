// On-disk layout of the image store under <data-dir>/agent:
//
//   content/oci-layout, content/index.json   OCI image layout; index.json names the images
//   content/blobs/sha256/<hex>               manifests, configs and layer blobs
//   layers/sha256/<diff-id hex>/fs           a layer unpacked once (overlay lowerdir)
//   layers/sha256/<diff-id hex>/meta.json    its uncompressed size
//   tmp/                                     work in progress; renamed into place when complete
//   leases/<pid>-<n>.json                    digests an import in flight holds against prune
//   images/                                  the air-gap drop folder, imported at agent start
//
// Everything becomes visible by a rename of a finished file or directory, and the
// index is written last, so a crash leaves at worst unreferenced content that prune
// removes, never an image that points at something incomplete.
import { createHash, randomBytes } from "node:crypto";
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { ImageError } from "./errors";

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface OciConfig {
  architecture?: string;
  os?: string;
  created?: string;
  config?: Record<string, unknown>;
  rootfs?: { type: string; diff_ids: string[] };
}

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

/** Index annotation holding the full image name (containerd uses the same key). */
export const NAME_ANNOTATION = "io.containerd.image.name";
export const REF_ANNOTATION = "org.opencontainers.image.ref.name";

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function checkDigest(d: unknown, what: string): string {
  if (typeof d !== "string" || !DIGEST_RE.test(d)) {
    throw new ImageError("InvalidArchive", `${what}: bad digest ${JSON.stringify(d)} (want sha256:<64 hex>)`);
  }
  return d;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export function hexOf(digest: string): string {
  return digest.slice("sha256:".length);
}

export class Layout {
  readonly root: string;
  readonly content: string;
  readonly blobs: string;
  readonly layers: string;
  readonly tmp: string;
  readonly leases: string;
  readonly pins: string;
  /** content/index.json: the names and manifests of the images in the store */
  readonly indexFile: string;
  readonly dropFolder: string;

  constructor(dataDir: string) {
    this.root = join(dataDir, "agent");
    this.content = join(this.root, "content");
    this.blobs = join(this.content, "blobs", "sha256");
    this.layers = join(this.root, "layers", "sha256");
    this.tmp = join(this.root, "tmp");
    this.leases = join(this.root, "leases");
    this.pins = join(this.root, "pins");
    this.indexFile = join(this.content, "index.json");
    this.dropFolder = join(this.root, "images");
  }

  async init(): Promise<void> {
    for (const d of [this.blobs, this.layers, this.tmp, this.leases, this.pins, this.dropFolder]) {
      await fsp.mkdir(d, { recursive: true, mode: 0o700 });
    }
    const layoutFile = join(this.content, "oci-layout");
    try {
      await fsp.access(layoutFile);
    } catch {
      await writeFileAtomic(this, layoutFile, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    }
  }

  blobPath(digest: string): string {
    return join(this.blobs, hexOf(digest));
  }

  layerDir(diffId: string): string {
    return join(this.layers, hexOf(diffId));
  }

  /** The directory overlayfs stacks for a layer. */
  layerFs(diffId: string): string {
    return join(this.layerDir(diffId), "fs");
  }

  /** A fresh name under tmp/ (same file system as the final place, so rename is atomic). */
  tmpName(prefix: string): string {
    return join(this.tmp, `${prefix}-${process.pid}-${randomBytes(6).toString("hex")}`);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async hasLayer(diffId: string): Promise<boolean> {
    return exists(join(this.layerDir(diffId), "meta.json"));
  }

  async readBlob(digest: string): Promise<Buffer> {
    try {
      return await fsp.readFile(this.blobPath(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new ImageError("NotFound", `content ${digest} is missing from the store`);
      }
      throw err;
    }
  }

  async readJsonBlob<T>(digest: string): Promise<T> {
    return JSON.parse((await this.readBlob(digest)).toString("utf8")) as T;
  }

  /** Stores a small blob after checking it hashes to `digest` (or computes the digest). */
  async putBlob(data: Buffer, digest?: string): Promise<string> {
    const actual = sha256(data);
    if (digest !== undefined && digest !== actual) {
      throw new ImageError("DigestMismatch", `content digest mismatch: expected ${digest}, got ${actual}`);
    }
    if (!(await this.hasBlob(actual))) await writeFileAtomic(this, this.blobPath(actual), data);
    return actual;
  }

  async readIndex(): Promise<OciIndex> {
    try {
      const idx = JSON.parse(await fsp.readFile(this.indexFile, "utf8")) as OciIndex;
      if (!Array.isArray(idx.manifests)) throw new Error("manifests is not a list");
      return idx;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT")
        return { schemaVersion: 2, mediaType: MEDIA.ociIndex, manifests: [] };
      throw new Error(`reading ${this.indexFile}: ${(err as Error).message}`);
    }
  }

  async writeIndex(idx: OciIndex): Promise<void> {
    await writeFileAtomic(this, this.indexFile, `${JSON.stringify(idx, null, 1)}\n`);
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes a file under tmp/ and renames it into place, fsyncing the data first unless `sync` is false. */
export async function writeFileAtomic(
  layout: Layout,
  path: string,
  data: Buffer | string,
  opts: { sync?: boolean } = {},
): Promise<void> {
  const tmp = layout.tmpName("file");
  const fh = await fsp.open(tmp, "wx", 0o644);
  try {
    await fh.writeFile(data);
    if (opts.sync !== false) await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fsp.rename(tmp, path);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}
