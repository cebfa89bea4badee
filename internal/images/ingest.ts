// Takes one layer blob as a stream (from an archive or a registry), verifies its
// digests while unpacking it, and puts the blob and the unpacked directory in place
// only when everything checked out. gzip, zstd (when this Node has it) and plain tar
// are told apart by their first bytes, as docker and containerd do.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { join } from "node:path";
import { pipeline, type Readable, Transform, type TransformCallback } from "node:stream";
import * as zlib from "node:zlib";
import { ImageError } from "./errors";
import { type Layout, MEDIA } from "./layout";
import { type Lease, withLock } from "./lock";
import { applyLayer } from "./unpack";

export interface LayerMeta {
  diffId: string;
  /** Uncompressed size in bytes (what `tsk images ls` adds up). */
  size: number;
  blobDigest: string;
  blobSize: number;
  mediaType: string;
}

export interface IngestOptions {
  /** Expected digest of the bytes as they arrive (OCI manifests and registries know it). */
  blobDigest?: string;
  /** Expected digest of the uncompressed tar (the image config's rootfs.diff_ids entry). */
  diffId: string;
  /** Called with the number of blob bytes read so far. */
  onBytes?: (n: number) => void;
  /** The descriptor's size: a source sending more is cut off (a registry cannot fill the disk). */
  maxBytes?: number;
  lease: Lease;
  /** What the source is, for error messages ("layer 2 of busybox.tar"). */
  what: string;
}

type Compression = "gzip" | "zstd" | "none";

function detect(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return "zstd";
  return "none";
}

function decompressor(c: Compression): Transform | undefined {
  if (c === "gzip") return zlib.createGunzip();
  if (c === "zstd") {
    const z = zlib as unknown as { createZstdDecompress?: () => Transform };
    if (typeof z.createZstdDecompress !== "function") {
      throw new ImageError(
        "Unsupported",
        `zstd-compressed layers need Node 22.15 or newer (this is ${process.version})`,
      );
    }
    return z.createZstdDecompress();
  }
  return undefined;
}

class Digester extends Transform {
  readonly hash = createHash("sha256");
  bytes = 0;
  constructor(
    private readonly sink?: number,
    private readonly onBytes?: (n: number) => void,
    private readonly maxBytes?: number,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    if (this.maxBytes !== undefined && this.bytes > this.maxBytes) {
      cb(
        new ImageError(
          "DigestMismatch",
          `layer is larger than the ${this.maxBytes} bytes its descriptor says`,
        ),
      );
      return;
    }
    if (this.sink !== undefined) {
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(this.sink, chunk, off, chunk.length - off);
    }
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }
  digest(): string {
    return `sha256:${this.hash.digest("hex")}`;
  }
}

/** Resolves with the first bytes of a stream and puts them back, so the stream reads whole. */
function peek(stream: Readable, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let len = 0;
    const done = (err?: Error) => {
      stream.off("readable", onReadable);
      stream.off("end", onEnd);
      stream.off("error", done);
      if (err) return reject(err);
      const head = Buffer.concat(chunks);
      if (head.length > 0) stream.unshift(head);
      resolve(head);
    };
    const onReadable = () => {
      while (len < n) {
        const c = stream.read() as Buffer | null;
        if (c === null) break;
        chunks.push(c);
        len += c.length;
      }
      if (len >= n) done();
    };
    const onEnd = () => done();
    stream.on("readable", onReadable);
    stream.on("end", onEnd);
    stream.on("error", done);
  });
}

/**
 * Unpacks a layer blob into layers/sha256/<diff-id>/ and stores the blob. Throws (and
 * leaves nothing behind) on a digest mismatch, a broken stream or an unsafe entry.
 */
export async function ingestLayer(layout: Layout, source: Readable, opts: IngestOptions): Promise<LayerMeta> {
  const tmpDir = layout.tmpName("layer");
  const blobTmp = layout.tmpName("blob");
  fs.mkdirSync(join(tmpDir, "fs"), { recursive: true, mode: 0o755 });
  let blobFd: number | undefined = fs.openSync(blobTmp, "wx", 0o644);
  try {
    const head = await peek(source, 4);
    if (head.length === 0) throw new ImageError("InvalidArchive", `${opts.what}: layer is empty`);
    const compression = detect(head);
    const outer = new Digester(blobFd, opts.onBytes, opts.maxBytes);
    const inner = new Digester();
    const unzip = decompressor(compression);
    const streams: NodeJS.ReadWriteStream[] = unzip ? [outer, unzip, inner] : [outer, inner];
    let pipeErr: Error | undefined;
    const tail = pipeline([source, ...streams] as unknown as [Readable, Transform], (err) => {
      if (err) pipeErr = err;
    }) as unknown as Readable;
    try {
      await applyLayer(tail, join(tmpDir, "fs"));
    } catch (err) {
      throw annotate(err, opts.what);
    }
    if (pipeErr) throw annotate(pipeErr, opts.what);
    const blobDigest = outer.digest();
    const diffId = inner.digest();
    if (opts.blobDigest !== undefined && blobDigest !== opts.blobDigest) {
      throw new ImageError(
        "DigestMismatch",
        `${opts.what}: digest mismatch: expected ${opts.blobDigest}, content is ${blobDigest}`,
      );
    }
    if (diffId !== opts.diffId) {
      throw new ImageError(
        "DigestMismatch",
        `${opts.what}: uncompressed digest mismatch: the image config says ${opts.diffId}, content is ${diffId}`,
      );
    }
    const meta: LayerMeta = {
      diffId,
      size: inner.bytes,
      blobDigest,
      blobSize: outer.bytes,
      mediaType:
        compression === "gzip"
          ? MEDIA.ociLayerGzip
          : compression === "zstd"
            ? MEDIA.ociLayerZstd
            : MEDIA.ociLayer,
    };
    fs.writeFileSync(join(tmpDir, "meta.json"), JSON.stringify(meta));
    fs.fsyncSync(blobFd);
    fs.closeSync(blobFd);
    blobFd = undefined;
    // Under the store lock so that a prune cannot take a same-named leftover away
    // between our rename and its reading of the leases.
    await withLock(layout, async () => {
      await opts.lease.add(diffId, blobDigest);
      await renameInto(blobTmp, layout.blobPath(blobDigest));
      await renameInto(tmpDir, layout.layerDir(diffId));
    });
    return meta;
  } finally {
    if (blobFd !== undefined) fs.closeSync(blobFd);
    await fs.promises.rm(tmpDir, { recursive: true, force: true });
    await fs.promises.rm(blobTmp, { force: true });
  }
}

/** Renames into place; when another import got there first, its copy (the same content) wins. */
async function renameInto(from: string, to: string): Promise<void> {
  try {
    await fs.promises.rename(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== "EEXIST" && code !== "ENOTEMPTY" && code !== "EISDIR") throw err;
  }
}

function annotate(err: unknown, what: string): Error {
  if (err instanceof ImageError) {
    if (!err.message.startsWith(what)) err.message = `${what}: ${err.message}`;
    return err;
  }
  const e = err as Error;
  if (
    (e as NodeJS.ErrnoException).code?.startsWith("Z_") ||
    /unexpected end of file|incorrect header/i.test(e.message)
  ) {
    return new ImageError("InvalidArchive", `${what}: compressed data is corrupt or truncated: ${e.message}`);
  }
  return new Error(`${what}: ${e.message}`);
}

export async function readLayerMeta(layout: Layout, diffId: string): Promise<LayerMeta | undefined> {
  try {
    return JSON.parse(
      await fs.promises.readFile(join(layout.layerDir(diffId), "meta.json"), "utf8"),
    ) as LayerMeta;
  } catch {
    return undefined;
  }
}
