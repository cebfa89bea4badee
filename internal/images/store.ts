// The node's image store: names -> manifests -> configs and unpacked layers. Imports
// and pulls unpack only the layers the store lacks, write blobs and layers by
// rename, and touch the index (content/index.json) last, under the store lock.
import { promises as fsp } from "node:fs";
import { join } from "node:path";
import { Archive, type ArchiveImage, decompressIfNeeded } from "./archive";
import { ImageError } from "./errors";
import { ingestLayer, type LayerMeta, readLayerMeta } from "./ingest";
import {
  type Descriptor,
  Layout,
  MEDIA,
  NAME_ANNOTATION,
  type OciConfig,
  type OciManifest,
  REF_ANNOTATION,
  sha256,
  writeFileAtomic,
} from "./layout";
import { createLease, type Lease, leasedDigests, withLock } from "./lock";
import { fetchImage } from "./pull";
import { formatReference, parseReference } from "./reference";
import type { RegistryOptions } from "./registry";
import type { ImageRunConfig, ResolvedImage } from "./types";

export interface Progress {
  /** Bytes of layer data read so far and in all (0 when nothing needs fetching). */
  done: number;
  total: number;
  /** What is happening, e.g. "unpacking sha256:1234abcd (2/3)". */
  message: string;
}

export interface ProgressOptions {
  onProgress?: (p: Progress) => void;
}

export interface ImageSummary {
  id: string;
  names: string[];
  manifestDigest: string;
  /** Sum of the uncompressed layer sizes, as `docker images` shows. */
  size: number;
  created?: string;
  /** Layer diff ids, bottom first. */
  layers: string[];
}

export interface DropFolderResult {
  file: string;
  images?: ImageSummary[];
  /** Imported at an earlier start and unchanged since. */
  skipped?: boolean;
  error?: Error;
}

export interface PruneResult {
  layers: number;
  blobs: number;
  bytes: number;
}

export interface RemoveResult {
  untagged: string[];
  deleted?: string;
  pruned: PruneResult;
}

export interface PullOptions extends ProgressOptions, RegistryOptions {
  /** Layers fetched at once (default 3). */
  parallel?: number;
}

export interface PullResult extends ImageSummary {
  /** Layer blobs downloaded (those already present are not). */
  fetched: string[];
}

interface Loaded {
  manifestDigest: string;
  manifest: OciManifest;
  config: OciConfig;
  configDigest: string;
  names: string[];
}

export class ImageStore {
  readonly layout: Layout;

  constructor(readonly dataDir: string) {
    this.layout = new Layout(dataDir);
  }

  /** The layout's directories, made once per process (init is called before every operation). */
  private ready?: Promise<void>;
  /** loadAll's last answer and the identity (inode, mtime, size) of the index it was read from. */
  private loaded?: { key: string; all: Loaded[] };

  async init(): Promise<void> {
    this.ready ??= this.layout.init().catch((err) => {
      this.ready = undefined;
      throw err;
    });
    await this.ready;
  }

  /** Finds an image by name ("busybox", "busybox:1.36", "reg:5000/x/y@sha256:..."), id or id prefix. */
  async resolve(ref: string): Promise<ResolvedImage> {
    const img = await this.find(ref);
    const layers: string[] = [];
    for (const d of img.manifestDiffIds) {
      if (!(await this.layout.hasLayer(d))) {
        throw new ImageError(
          "NotFound",
          `image "${ref}": layer ${d} is missing from the store; import or pull the image again`,
        );
      }
      layers.push(this.layout.layerFs(d));
    }
    const c = (img.loaded.config.config ?? {}) as Record<string, unknown>;
    const config: ImageRunConfig = {};
    if (Array.isArray(c.Entrypoint)) config.Entrypoint = c.Entrypoint as string[];
    if (Array.isArray(c.Cmd)) config.Cmd = c.Cmd as string[];
    if (Array.isArray(c.Env)) config.Env = c.Env as string[];
    if (typeof c.WorkingDir === "string" && c.WorkingDir !== "") config.WorkingDir = c.WorkingDir;
    if (typeof c.User === "string" && c.User !== "") config.User = c.User;
    return { id: img.loaded.configDigest, names: img.loaded.names, layers, config };
  }

  async list(): Promise<ImageSummary[]> {
    const out: ImageSummary[] = [];
    for (const l of await this.loadAll()) out.push(await this.summary(l));
    return out;
  }

  /** Imports every image in a `docker save` or OCI archive (optionally gzip-compressed). */
  async importArchive(path: string, opts: ProgressOptions = {}): Promise<ImageSummary[]> {
    await this.init();
    const lease = await createLease(this.layout);
    const unzipped = this.layout.tmpName("archive");
    try {
      const archive = await Archive.open((await decompressIfNeeded(path, unzipped)) ?? path);
      const images = archive.images();
      const results: Loaded[] = [];
      const todo: { image: ArchiveImage; index: number }[] = [];
      let total = 0;
      const present = await this.leaseAndCheck(
        lease,
        images.flatMap((im) => im.layers.map((l) => l.diffId)),
      );
      for (const image of images) {
        for (let i = 0; i < image.layers.length; i++) {
          if (present.has(image.layers[i].diffId)) continue;
          if (todo.some((t) => t.image.layers[t.index].diffId === image.layers[i].diffId)) continue;
          todo.push({ image, index: i });
          total += image.layers[i].size;
        }
      }
      let before = 0;
      for (let n = 0; n < todo.length; n++) {
        const layer = todo[n].image.layers[todo[n].index];
        const message = `unpacking ${layer.diffId.slice(7, 19)} (${n + 1}/${todo.length})`;
        opts.onProgress?.({ done: before, total, message });
        const base = before;
        await ingestLayer(this.layout, layer.open(), {
          blobDigest: layer.blobDigest,
          diffId: layer.diffId,
          lease,
          what: `${path}: layer ${layer.diffId}`,
          onBytes: (b) => opts.onProgress?.({ done: base + b, total, message }),
        });
        before += layer.size;
      }
      opts.onProgress?.({ done: total, total, message: "done" });
      await withLock(this.layout, async () => {
        for (const image of images) results.push(await this.storeManifest(image, lease));
      });
      await this.addNames(results);
      return Promise.all(results.map((r) => this.summary(r)));
    } catch (err) {
      await lease.release();
      await this.cleanupAfterFailure();
      throw err;
    } finally {
      await fsp.rm(unzipped, { force: true });
      await lease.release();
    }
  }

  /**
   * Imports each archive in <data-dir>/agent/images (the air-gap drop folder), in name
   * order, as the agent does at start. An archive imported before and unchanged since
   * (same size and mtime, its images still present) is skipped. A bad archive is
   * reported in its result and does not stop the others.
   */
  async importDropFolder(opts: ProgressOptions = {}): Promise<DropFolderResult[]> {
    await this.init();
    const names = (await fsp.readdir(this.layout.dropFolder))
      .filter((n) => /\.(tar|tar\.gz|tgz)$/.test(n))
      .sort();
    const stateFile = join(this.layout.root, "imported.json");
    const state = JSON.parse(await fsp.readFile(stateFile, "utf8").catch(() => "{}")) as Record<
      string,
      { size: number; mtimeMs: number; ids: string[] }
    >;
    const present = new Set((await this.list()).map((i) => i.id));
    const out: DropFolderResult[] = [];
    for (const n of names) {
      const file = join(this.layout.dropFolder, n);
      const st = await fsp.stat(file);
      const seen = state[n];
      if (
        seen &&
        seen.size === st.size &&
        seen.mtimeMs === st.mtimeMs &&
        seen.ids.every((id) => present.has(id))
      ) {
        out.push({ file, skipped: true });
        continue;
      }
      try {
        const images = await this.importArchive(file, opts);
        state[n] = { size: st.size, mtimeMs: st.mtimeMs, ids: images.map((i) => i.id) };
        out.push({ file, images });
      } catch (err) {
        delete state[n];
        out.push({ file, error: err as Error });
      }
    }
    await writeFileAtomic(this.layout, stateFile, JSON.stringify(state));
    return out;
  }

  /** Pulls an image from an OCI distribution registry, fetching only the layers the store lacks. */
  async pull(ref: string, opts: PullOptions = {}): Promise<PullResult> {
    await this.init();
    const r = parseReference(ref);
    const lease = await createLease(this.layout);
    try {
      const f = await fetchImage(this.layout, lease, r, ref, {
        ...opts,
        leaseAndCheck: (diffIds) => this.leaseAndCheck(lease, diffIds),
      });
      const loaded: Loaded = { ...f, names: [formatReference(r)] };
      await this.addNames([loaded]);
      return { ...(await this.summary(loaded)), fetched: f.fetched };
    } catch (err) {
      await lease.release();
      await this.cleanupAfterFailure();
      throw err;
    } finally {
      await lease.release();
    }
  }

  /**
   * Removes a name; the image goes when its last name does (an id removes the image
   * with all its names). Layers and blobs no image uses any more are pruned.
   */
  async remove(ref: string): Promise<RemoveResult> {
    const img = await this.find(ref);
    const byName = img.matchedName;
    const untagged: string[] = [];
    let deleted: string | undefined;
    await withLock(this.layout, async () => {
      const idx = await this.layout.readIndex();
      const keep: Descriptor[] = [];
      for (const d of idx.manifests) {
        if (d.digest !== img.loaded.manifestDigest) {
          keep.push(d);
          continue;
        }
        const name = d.annotations?.[NAME_ANNOTATION];
        if (byName === undefined || name === byName) {
          if (name) untagged.push(name);
        } else keep.push(d);
      }
      if (!keep.some((d) => d.digest === img.loaded.manifestDigest)) deleted = img.loaded.configDigest;
      idx.manifests = keep;
      await this.layout.writeIndex(idx);
    });
    return { untagged, deleted, pruned: await this.prune() };
  }

  /**
   * Leases layers and tells which are already unpacked, as one step under the store
   * lock: a prune either finished before (and took garbage away) or sees the lease.
   */
  private leaseAndCheck(lease: Lease, diffIds: string[]): Promise<Set<string>> {
    return withLock(this.layout, async () => {
      await lease.add(...diffIds);
      const present = new Set<string>();
      for (const d of diffIds) if (await this.layout.hasLayer(d)) present.add(d);
      return present;
    });
  }

  /** A failed import or pull takes back the layers it had already put in place. */
  private async cleanupAfterFailure(): Promise<void> {
    try {
      await this.prune();
    } catch {
      // the import's own error is the one to report; a later prune retries
    }
  }

  /** Removes layers and blobs that no image, lease or pin refers to, and stale temp files. */
  async prune(): Promise<PruneResult> {
    await this.init();
    return withLock(this.layout, async () => {
      // List first, then read leases and the index: an import puts content in place
      // only after leasing it, so whatever this listing holds is either leased by
      // the time the leases are read, or referenced, or garbage.
      const layerDirs = await fsp.readdir(this.layout.layers);
      const blobFiles = await fsp.readdir(this.layout.blobs);
      const usedBlobs = await leasedDigests(this.layout);
      const usedLayers = new Set<string>(usedBlobs);
      const broken = new Set<string>();
      const images = await this.loadAll(broken);
      if (broken.size > 0) {
        const idx = await this.layout.readIndex();
        idx.manifests = idx.manifests.filter((d) => !broken.has(d.digest));
        await this.layout.writeIndex(idx);
      }
      for (const l of images) {
        usedBlobs.add(l.manifestDigest);
        usedBlobs.add(l.configDigest);
        for (const d of l.manifest.layers) usedBlobs.add(d.digest);
        for (const d of l.config.rootfs?.diff_ids ?? []) usedLayers.add(d);
      }
      for (const d of await this.pinnedLayers()) usedLayers.add(d);
      const result: PruneResult = { layers: 0, blobs: 0, bytes: 0 };
      for (const hex of layerDirs) {
        if (usedLayers.has(`sha256:${hex}`)) continue;
        const meta = await readLayerMeta(this.layout, `sha256:${hex}`);
        await fsp.rm(join(this.layout.layers, hex), { recursive: true, force: true });
        result.layers++;
        result.bytes += meta?.size ?? 0;
      }
      for (const hex of blobFiles) {
        if (usedBlobs.has(`sha256:${hex}`)) continue;
        const path = join(this.layout.blobs, hex);
        const st = await fsp.stat(path).catch(() => undefined);
        await fsp.rm(path, { force: true });
        result.blobs++;
        result.bytes += st?.size ?? 0;
      }
      for (const name of await fsp.readdir(this.layout.tmp)) {
        const pid = Number(name.split("-")[1]);
        if (pid === process.pid || isAlive(pid)) continue;
        await fsp.rm(join(this.layout.tmp, name), { recursive: true, force: true });
      }
      return result;
    });
  }

  /**
   * Keeps an image's layers from being pruned while `owner` (e.g. a container id) uses
   * them, even after the image is removed; survives restarts. unpin releases them.
   */
  async pin(owner: string, image: ResolvedImage): Promise<void> {
    await this.init();
    const diffIds = image.layers.map((p) => `sha256:${p.split("/").at(-2)}`);
    // Not fsynced: pins protect the layers of containers, which do not outlive a reboot either.
    await writeFileAtomic(
      this.layout,
      join(this.layout.pins, `${safeOwner(owner)}.json`),
      JSON.stringify(diffIds),
      { sync: false },
    );
  }

  async unpin(owner: string): Promise<void> {
    await fsp.rm(join(this.layout.pins, `${safeOwner(owner)}.json`), { force: true });
  }

  private async pinnedLayers(): Promise<string[]> {
    const dir = this.layout.pins;
    const out: string[] = [];
    for (const n of await fsp.readdir(dir).catch(() => [] as string[])) {
      try {
        out.push(...(JSON.parse(await fsp.readFile(join(dir, n), "utf8")) as string[]));
      } catch {
        // removed by unpin since the readdir
      }
    }
    return out;
  }

  /** Writes an image's config and manifest blobs; called under the store lock. */
  private async storeManifest(image: ArchiveImage, lease: Lease): Promise<Loaded> {
    await lease.add(image.configDigest);
    await this.layout.putBlob(image.config, image.configDigest);
    let manifestBytes = image.manifest;
    if (!manifestBytes) {
      const layers: Descriptor[] = [];
      for (const l of image.layers) {
        const meta = (await readLayerMeta(this.layout, l.diffId)) as LayerMeta;
        layers.push({ mediaType: meta.mediaType, digest: meta.blobDigest, size: meta.blobSize });
      }
      const m: OciManifest = {
        schemaVersion: 2,
        mediaType: MEDIA.ociManifest,
        config: { mediaType: MEDIA.ociConfig, digest: image.configDigest, size: image.config.length },
        layers,
      };
      manifestBytes = Buffer.from(JSON.stringify(m));
    }
    const manifestDigest = sha256(manifestBytes);
    await lease.add(manifestDigest);
    await this.layout.putBlob(manifestBytes, manifestDigest);
    return {
      manifestDigest,
      manifest: JSON.parse(manifestBytes.toString("utf8")) as OciManifest,
      config: JSON.parse(image.config.toString("utf8")) as OciConfig,
      configDigest: image.configDigest,
      names: image.names,
    };
  }

  /** Points each image's names at it (a name moves from any image that had it). */
  private async addNames(images: Loaded[]): Promise<void> {
    await withLock(this.layout, async () => {
      const idx = await this.layout.readIndex();
      for (const img of images) {
        const desc = (name?: string): Descriptor => ({
          mediaType: img.manifest.mediaType ?? MEDIA.ociManifest,
          digest: img.manifestDigest,
          size: 0,
          ...(name
            ? {
                annotations: {
                  [NAME_ANNOTATION]: name,
                  [REF_ANNOTATION]: name.split(/[:@]/).at(-1) as string,
                },
              }
            : {}),
        });
        for (const name of img.names) {
          idx.manifests = idx.manifests.filter((d) => d.annotations?.[NAME_ANNOTATION] !== name);
          idx.manifests.push(desc(name));
        }
        if (!idx.manifests.some((d) => d.digest === img.manifestDigest)) idx.manifests.push(desc());
        // An unnamed entry is dropped once the image has a name.
        if (img.names.length > 0) {
          idx.manifests = idx.manifests.filter(
            (d) => d.digest !== img.manifestDigest || d.annotations?.[NAME_ANNOTATION],
          );
        }
      }
      for (const d of idx.manifests) {
        d.size = (await fsp.stat(this.layout.blobPath(d.digest))).size;
      }
      await this.layout.writeIndex(idx);
    });
  }

  /**
   * Every image in the index. An entry whose manifest or config is missing or
   * unreadable (a damaged store) is left out, so one broken image does not take
   * listing, resolving or pruning down for the others; prune drops such entries.
   */
  private async loadAll(broken?: Set<string>): Promise<Loaded[]> {
    await this.init();
    // Every pod start resolves its images: while the index file is the same one (another
    // process replaces it by rename), the images read from it last time are still the answer.
    let key: string | undefined;
    if (!broken) {
      key = await fsp.stat(this.layout.indexFile, { bigint: true }).then(
        (st) => `${st.ino}:${st.mtimeNs}:${st.size}`,
        () => "none",
      );
      if (this.loaded?.key === key) return this.loaded.all;
    }
    const idx = await this.layout.readIndex();
    const byDigest = new Map<string, Loaded>();
    for (const d of idx.manifests) {
      let l = byDigest.get(d.digest);
      if (!l) {
        if (broken?.has(d.digest)) continue;
        try {
          const manifest = await this.layout.readJsonBlob<OciManifest>(d.digest);
          const config = await this.layout.readJsonBlob<OciConfig>(manifest.config.digest);
          l = { manifestDigest: d.digest, manifest, config, configDigest: manifest.config.digest, names: [] };
        } catch {
          broken?.add(d.digest);
          continue;
        }
        byDigest.set(d.digest, l);
      }
      const name = d.annotations?.[NAME_ANNOTATION];
      if (name) l.names.push(name);
    }
    const all = [...byDigest.values()];
    if (key) this.loaded = { key, all };
    return all;
  }

  private async find(
    ref: string,
  ): Promise<{ loaded: Loaded; matchedName?: string; manifestDiffIds: string[] }> {
    const all = await this.loadAll();
    const done = (loaded: Loaded, matchedName?: string) => ({
      loaded,
      matchedName,
      manifestDiffIds: loaded.config.rootfs?.diff_ids ?? [],
    });
    let parsed: ReturnType<typeof parseReference> | undefined;
    try {
      parsed = parseReference(ref);
    } catch {
      parsed = undefined;
    }
    if (parsed) {
      const name = formatReference(parsed);
      const hit = all.find((l) => l.names.includes(name));
      if (hit) return done(hit, name);
      if (parsed.digest) {
        const repo = formatReference({ ...parsed, tag: undefined, digest: undefined });
        const byDigest = all.find(
          (l) =>
            l.manifestDigest === parsed?.digest &&
            l.names.some((n) => n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`)),
        );
        if (byDigest) return done(byDigest);
      }
    }
    const m = /^(?:sha256:)?([0-9a-f]{1,64})$/.exec(ref);
    if (m) {
      const hits = all.filter((l) => l.configDigest.slice(7).startsWith(m[1]));
      if (hits.length === 1) return done(hits[0]);
      if (hits.length > 1)
        throw new ImageError(
          "Ambiguous",
          `image id prefix "${ref}" matches ${hits.length} images; give more of the id`,
        );
    }
    const err = new ImageError(
      "NotFound",
      `image "${ref}" not found${parsed ? ` (looked for ${formatReference(parsed)})` : ""}; import it with 'tsk images import' or pull it`,
    );
    throw err;
  }

  private async summary(l: Loaded): Promise<ImageSummary> {
    const layers = l.config.rootfs?.diff_ids ?? [];
    let size = 0;
    for (const d of layers) size += (await readLayerMeta(this.layout, d))?.size ?? 0;
    return {
      id: l.configDigest,
      names: l.names,
      manifestDigest: l.manifestDigest,
      size,
      created: l.config.created,
      layers,
    };
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function safeOwner(owner: string): string {
  if (!/^[A-Za-z0-9_.-]{1,200}$/.test(owner) || owner.startsWith("."))
    throw new Error(`bad pin owner "${owner}"`);
  return owner;
}
