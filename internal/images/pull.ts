// Fetching one image from a registry into the store's layout: the manifest (the
// linux/amd64 one from a list), its config, and the layers the store lacks, several
// at once, each verified against its digest while it is unpacked.
import { choosePlatform } from "./archive";
import { ImageError } from "./errors";
import { ingestLayer } from "./ingest";
import {
  checkDigest,
  type Layout,
  MEDIA,
  type OciConfig,
  type OciIndex,
  type OciManifest,
  sha256,
} from "./layout";
import { type Lease, withLock } from "./lock";
import type { Reference } from "./reference";
import { RegistryClient, type RegistryOptions } from "./registry";

export interface FetchOptions extends RegistryOptions {
  onProgress?: (p: { done: number; total: number; message: string }) => void;
  /** Layers fetched at once (default 3). */
  parallel?: number;
  /** Leases the layers and says which the store has already (one step under the store lock). */
  leaseAndCheck: (diffIds: string[]) => Promise<Set<string>>;
}

export interface Fetched {
  manifestDigest: string;
  manifest: OciManifest;
  config: OciConfig;
  configDigest: string;
  /** Layer blobs downloaded. */
  fetched: string[];
}

/** Fetches `r` into the layout; the caller names it in the index. */
export async function fetchImage(
  layout: Layout,
  lease: Lease,
  r: Reference,
  what: string,
  opts: FetchOptions,
): Promise<Fetched> {
  const client = new RegistryClient(r.domain, opts);
  try {
    let { data, mediaType } = await client.manifest(r.path, r.digest ?? (r.tag as string));
    if (r.digest && sha256(data) !== r.digest) {
      throw new ImageError("DigestMismatch", `${what}: registry sent a manifest with digest ${sha256(data)}`);
    }
    if (mediaType === MEDIA.ociIndex || mediaType === MEDIA.dockerList) {
      const idx = JSON.parse(data.toString("utf8")) as OciIndex;
      const pick = choosePlatform(idx.manifests ?? []);
      if (!pick) throw new ImageError("NotFound", `${what}: no linux/amd64 image in its manifest list`);
      const digest = checkDigest(pick.digest, `${what}: manifest list entry`);
      ({ data, mediaType } = await client.manifest(r.path, digest));
      if (sha256(data) !== digest) {
        throw new ImageError("DigestMismatch", `${what}: manifest ${digest} has digest ${sha256(data)}`);
      }
    }
    if (mediaType === "schema1")
      throw new ImageError("Unsupported", `${what}: Docker schema 1 manifests are not supported`);
    const manifest = JSON.parse(data.toString("utf8")) as OciManifest;
    if (!manifest.config || !Array.isArray(manifest.layers)) {
      throw new ImageError("Registry", `${what}: manifest lacks config or layers`);
    }
    const configDigest = checkDigest(manifest.config.digest, `${what}: config`);
    const configBytes = await readSmallBlob(client, r.path, configDigest);
    const config = JSON.parse(configBytes.toString("utf8")) as OciConfig;
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) {
      throw new ImageError(
        "Registry",
        `${what}: config lists ${diffIds.length} layers, manifest ${manifest.layers.length}`,
      );
    }
    for (const [i, d] of diffIds.entries()) checkDigest(d, `${what}: diff_ids[${i}]`);
    const present = await opts.leaseAndCheck(diffIds);
    const missing = diffIds.flatMap((d, i) => (present.has(d) ? [] : [i]));
    const total = missing.reduce((s, i) => s + (manifest.layers[i].size ?? 0), 0);
    const doneBy = new Map<number, number>();
    const report = (message: string) => {
      let done = 0;
      for (const v of doneBy.values()) done += v;
      opts.onProgress?.({ done, total, message });
    };
    const fetched: string[] = [];
    await runLimited(missing, opts.parallel ?? 3, async (i) => {
      const d = manifest.layers[i];
      const digest = checkDigest(d.digest, `${what}: layer ${i}`);
      const { stream } = await client.blob(r.path, digest);
      await ingestLayer(layout, stream, {
        blobDigest: digest,
        maxBytes: typeof d.size === "number" && d.size >= 0 ? d.size : undefined,
        diffId: diffIds[i],
        lease,
        what: `${what}: layer ${digest}`,
        onBytes: (b) => {
          doneBy.set(i, b);
          report(`pulling ${digest.slice(7, 19)}`);
        },
      });
      fetched.push(digest);
    });
    report("done");
    const manifestDigest = sha256(data);
    await withLock(layout, async () => {
      await lease.add(configDigest, manifestDigest);
      await layout.putBlob(configBytes, configDigest);
      await layout.putBlob(data);
    });
    return { manifestDigest, manifest, config, configDigest, fetched };
  } finally {
    client.close();
  }
}

async function readSmallBlob(client: RegistryClient, repo: string, digest: string): Promise<Buffer> {
  const { stream } = await client.blob(repo, digest);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    n += (c as Buffer).length;
    if (n > 32 << 20) {
      stream.destroy();
      throw new ImageError("Registry", `blob ${digest} is too large for an image config`);
    }
    chunks.push(c as Buffer);
  }
  const data = Buffer.concat(chunks);
  if (sha256(data) !== digest)
    throw new ImageError("DigestMismatch", `blob ${digest}: content digest is ${sha256(data)}`);
  return data;
}

/** Runs fn over items, at most `limit` at once; the first failure stops new work and is thrown. */
async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < items.length && failed === undefined) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
}
