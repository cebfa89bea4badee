// Test images built from Debian's busybox-static (`apt-get install -y busybox-static`),
// written the way `docker save` and skopeo/buildah write them, plus a small OCI
// registry served on loopback. Tests across the project use these; keep them simple.
//
//   await buildBusyboxDockerArchive("/tmp/bb.tar", { name: "busybox:latest" });
//   await buildBusyboxOciArchive("/tmp/bb-oci.tar", { name: "busybox:layered", extraLayers: WHITEOUT_LAYERS });
//   const img = await (await openImageStore({ dataDir })).resolve("busybox");
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";

export const BUSYBOX = "/bin/busybox";

/** One entry of a test layer. Paths are relative ("bin/sh"); directories need no trailing slash. */
export interface LayerEntry {
  path: string;
  type?: "file" | "dir" | "symlink" | "link" | "fifo";
  content?: string | Buffer;
  /** Symlink or hardlink target. */
  target?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
}

/** Run configuration written into the image config (docker's field names). */
export interface TestImageConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
}

export interface BuiltLayer {
  /** The layer blob as stored in the archive / served by the registry. */
  data: Buffer;
  digest: string;
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids). */
  diffId: string;
  mediaType: string;
}

export interface BuiltImage {
  config: Buffer;
  configDigest: string;
  layers: BuiltLayer[];
  /** OCI image manifest (JSON) and its digest. */
  manifest: Buffer;
  manifestDigest: string;
}

export interface ImageOptions {
  /** Name(s) to tag, e.g. "busybox:latest" (default) or "127.0.0.1:5000/test/app:v1". */
  name?: string | string[];
  /** Layers stacked on top of busybox, bottom first. */
  extraLayers?: (LayerEntry[] | Buffer)[];
  config?: TestImageConfig;
  /** gzip the layer blobs (default: false for docker save, true for OCI archives). */
  gzip?: boolean;
}

const MTIME = new Date("2024-01-01T00:00:00Z");

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** Fails with the install hint when busybox-static is missing (tests must not skip silently). */
export function requireBusybox(): void {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install -y busybox-static`);
}

/** Builds an uncompressed tar layer from entries, in order. */
export async function tarLayer(entries: LayerEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = new Promise<Buffer>((resolve, reject) => {
    p.on("data", (c) => chunks.push(c as Buffer));
    p.on("end", () => resolve(Buffer.concat(chunks)));
    p.on("error", reject);
  });
  for (const e of entries) {
    const type = e.type ?? (e.target !== undefined ? "symlink" : e.content !== undefined ? "file" : "dir");
    const common = {
      name: e.path,
      mode: e.mode ?? (type === "dir" ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? MTIME,
    };
    if (type === "file") {
      await new Promise<void>((res, rej) =>
        p.entry({ ...common, type: "file" }, e.content ?? "", (err) => (err ? rej(err) : res())),
      );
    } else if (type === "dir") {
      p.entry({ ...common, type: "directory" });
    } else if (type === "symlink") {
      p.entry({ ...common, type: "symlink", linkname: e.target ?? "", mode: 0o777 });
    } else if (type === "link") {
      p.entry({ ...common, type: "link", linkname: e.target ?? "" });
    } else {
      p.entry({ ...common, type: "fifo" });
    }
  }
  p.finalize();
  return done;
}

let applets: string[] | undefined;

/** The busybox base layer's entries: /bin/busybox, a symlink per applet, /etc/passwd and the usual dirs. */
export function busyboxEntries(): LayerEntry[] {
  requireBusybox();
  applets ??= execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" })
    .split("\n")
    .filter((a) => a && a !== "busybox");
  const entries: LayerEntry[] = [
    { path: "bin", mode: 0o755 },
    { path: "bin/busybox", content: readFileSync(BUSYBOX), mode: 0o755 },
    ...applets.map((a) => ({ path: `bin/${a}`, target: "busybox" })),
    { path: "etc" },
    {
      path: "etc/passwd",
      content: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    },
    { path: "etc/group", content: "root:x:0:\nnogroup:x:65534:\n" },
    { path: "tmp", mode: 0o1777 },
    { path: "root", mode: 0o700 },
    { path: "home" },
    { path: "proc", mode: 0o555 },
    { path: "sys", mode: 0o555 },
    { path: "dev" },
    { path: "var" },
    { path: "usr" },
    { path: "usr/bin" },
  ];
  return entries;
}

/**
 * A layer that adds files, then one that deletes some of them: with it on top of
 * busybox, /data/keep.txt is visible, /data/gone.txt is gone (whiteout .wh.gone.txt),
 * and /olddir holds only "new" (opaque .wh..wh..opq hides "a" and "b").
 */
export const WHITEOUT_LAYERS: LayerEntry[][] = [
  [
    { path: "data" },
    { path: "data/keep.txt", content: "keep\n" },
    { path: "data/gone.txt", content: "gone\n" },
    { path: "olddir" },
    { path: "olddir/a", content: "a\n" },
    { path: "olddir/b", content: "b\n" },
  ],
  [
    { path: "data" },
    { path: "data/.wh.gone.txt", content: "" },
    { path: "olddir" },
    { path: "olddir/.wh..wh..opq", content: "" },
    { path: "olddir/new", content: "new\n" },
  ],
];

function layerBlob(tar: Buffer, gzip: boolean): BuiltLayer {
  const data = gzip ? gzipSync(tar, { level: 1 }) : tar;
  return {
    data,
    digest: sha256(data),
    diffId: sha256(tar),
    mediaType: gzip
      ? "application/vnd.oci.image.layer.v1.tar+gzip"
      : "application/vnd.oci.image.layer.v1.tar",
  };
}

/** Assembles an image (config + manifest) from uncompressed layer tars, bottom first. */
export function buildImage(
  tars: Buffer[],
  opts: { config?: TestImageConfig; gzip?: boolean; created?: string } = {},
): BuiltImage {
  const layers = tars.map((t) => layerBlob(t, opts.gzip ?? false));
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: opts.created ?? "2024-01-01T00:00:00Z",
      config: {
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        Cmd: ["sh"],
        ...opts.config,
      },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: "2024-01-01T00:00:00Z", created_by: "test/support/images.ts" })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: sha256(config),
        size: config.length,
      },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.data.length })),
    }),
  );
  return { config, configDigest: sha256(config), layers, manifest, manifestDigest: sha256(manifest) };
}

/** busybox (+ extra layers) as a BuiltImage. */
export async function buildBusyboxImage(opts: ImageOptions = {}): Promise<BuiltImage> {
  const tars = [await tarLayer(busyboxEntries())];
  for (const l of opts.extraLayers ?? []) tars.push(Buffer.isBuffer(l) ? l : await tarLayer(l));
  return buildImage(tars, { config: opts.config, gzip: opts.gzip });
}

function names(opts: ImageOptions): string[] {
  return opts.name === undefined ? ["busybox:latest"] : Array.isArray(opts.name) ? opts.name : [opts.name];
}

function hex(d: string): string {
  return d.slice("sha256:".length);
}

/** Writes images as `docker save` does (legacy layout: <id>/layer.tar, <config>.json, manifest.json, repositories). */
export async function writeDockerArchive(
  path: string,
  images: { image: BuiltImage; names: string[] }[],
): Promise<void> {
  const files: LayerEntry[] = [];
  const seen = new Set<string>();
  const manifest = [];
  const repositories: Record<string, Record<string, string>> = {};
  for (const { image, names: tags } of images) {
    const layerPaths: string[] = [];
    for (const l of image.layers) {
      const dir = hex(l.diffId);
      if (!seen.has(dir)) {
        seen.add(dir);
        files.push(
          { path: dir, type: "dir" },
          { path: `${dir}/VERSION`, content: "1.0" },
          { path: `${dir}/layer.tar`, content: l.data },
        );
      }
      layerPaths.push(`${dir}/layer.tar`);
    }
    files.push({ path: `${hex(image.configDigest)}.json`, content: image.config });
    manifest.push({ Config: `${hex(image.configDigest)}.json`, RepoTags: tags, Layers: layerPaths });
    for (const t of tags) {
      const i = t.lastIndexOf(":");
      repositories[t.slice(0, i)] = {
        ...repositories[t.slice(0, i)],
        [t.slice(i + 1)]: hex(image.layers.at(-1)?.diffId ?? ""),
      };
    }
  }
  files.push(
    { path: "manifest.json", content: JSON.stringify(manifest) },
    { path: "repositories", content: JSON.stringify(repositories) },
  );
  writeFileSync(path, await tarLayer(files));
}

/** Writes images as an OCI image layout archive (oci-layout, index.json, blobs/sha256/*), as skopeo does. */
export async function writeOciArchive(
  path: string,
  images: { image: BuiltImage; names: string[] }[],
): Promise<void> {
  const files: LayerEntry[] = [
    { path: "oci-layout", content: JSON.stringify({ imageLayoutVersion: "1.0.0" }) },
    { path: "blobs" },
    { path: "blobs/sha256" },
  ];
  const seen = new Set<string>();
  const add = (digest: string, data: Buffer) => {
    if (seen.has(digest)) return;
    seen.add(digest);
    files.push({ path: `blobs/sha256/${hex(digest)}`, content: data });
  };
  const manifests = [];
  for (const { image, names: refs } of images) {
    for (const l of image.layers) add(l.digest, l.data);
    add(image.configDigest, image.config);
    add(image.manifestDigest, image.manifest);
    const desc = {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      digest: image.manifestDigest,
      size: image.manifest.length,
    };
    if (refs.length === 0) manifests.push(desc);
    for (const r of refs)
      manifests.push({ ...desc, annotations: { "org.opencontainers.image.ref.name": r } });
  }
  files.push({ path: "index.json", content: JSON.stringify({ schemaVersion: 2, manifests }) });
  writeFileSync(path, await tarLayer(files));
}

/** busybox (+ extraLayers) saved as `docker save` would. Returns the image for its digests. */
export async function buildBusyboxDockerArchive(path: string, opts: ImageOptions = {}): Promise<BuiltImage> {
  const image = await buildBusyboxImage({ ...opts, gzip: opts.gzip ?? false });
  await writeDockerArchive(path, [{ image, names: names(opts) }]);
  return image;
}

/** busybox (+ extraLayers) as an OCI archive with gzip layers (unless gzip: false). */
export async function buildBusyboxOciArchive(path: string, opts: ImageOptions = {}): Promise<BuiltImage> {
  const image = await buildBusyboxImage({ ...opts, gzip: opts.gzip ?? true });
  await writeOciArchive(path, [{ image, names: names(opts) }]);
  return image;
}

export interface TestRegistry {
  /** "127.0.0.1:PORT", to prefix image names with. */
  host: string;
  /** Every request path the registry saw, in order ("GET /v2/test/app/blobs/sha256:..."). */
  requests: string[];
  /** Blob digests served so far. */
  blobsServed(): string[];
  close(): Promise<void>;
}

export interface TestRegistryOptions {
  /** repository:tag -> image, e.g. { "test/app:v1": img }. */
  images: Record<string, BuiltImage>;
  /** Require bearer tokens from /token (given for these credentials, or to anyone when undefined). */
  auth?: { username?: string; password?: string };
  /** Serve HTTPS with this key and certificate (PEM) instead of plain HTTP. */
  tls?: { key: string; cert: string };
  /** Serve each tag as a manifest list with linux/arm64 (bogus) and linux/amd64 entries. */
  manifestList?: boolean;
}

/** A read-only OCI distribution registry on 127.0.0.1 serving the given images. */
export async function startTestRegistry(opts: TestRegistryOptions): Promise<TestRegistry> {
  const token = randomBytes(16).toString("hex");
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { data: Buffer; type: string }>();
  const served: string[] = [];
  const requests: string[] = [];
  for (const [ref, img] of Object.entries(opts.images)) {
    const [repo, tag] = ref.split(":");
    blobs.set(`${repo}@${img.configDigest}`, img.config);
    for (const l of img.layers) blobs.set(`${repo}@${l.digest}`, l.data);
    const m = { data: img.manifest, type: "application/vnd.oci.image.manifest.v1+json" };
    manifests.set(`${repo}@${img.manifestDigest}`, m);
    if (opts.manifestList) {
      const other = Buffer.from(
        JSON.stringify({ schemaVersion: 2, bogus: "arm64 image that must not be chosen" }),
      );
      manifests.set(`${repo}@${sha256(other)}`, { data: other, type: m.type });
      const list = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: [
            {
              mediaType: m.type,
              digest: sha256(other),
              size: other.length,
              platform: { architecture: "arm64", os: "linux" },
            },
            {
              mediaType: m.type,
              digest: img.manifestDigest,
              size: img.manifest.length,
              platform: { architecture: "amd64", os: "linux" },
            },
          ],
        }),
      );
      manifests.set(`${repo}@${sha256(list)}`, {
        data: list,
        type: "application/vnd.oci.image.index.v1+json",
      });
      manifests.set(`${repo}:${tag}`, { data: list, type: "application/vnd.oci.image.index.v1+json" });
    } else {
      manifests.set(`${repo}:${tag}`, m);
    }
  }
  const handler: http.RequestListener = (req, res) => {
    requests.push(`${req.method} ${req.url}`);
    const url = new URL(req.url ?? "/", "http://x");
    const port = (server.address() as AddressInfo).port;
    if (url.pathname === "/token") {
      const want =
        opts.auth?.username !== undefined
          ? `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password ?? ""}`).toString("base64")}`
          : undefined;
      if (want !== undefined && req.headers.authorization !== want) {
        res.writeHead(401).end();
        return;
      }
      res
        .writeHead(200, { "Content-Type": "application/json" })
        .end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (opts.auth && req.headers.authorization !== `Bearer ${token}`) {
      const scope = m ? `repository:${m[1]}:pull` : "registry:catalog:*";
      res.writeHead(401, {
        "WWW-Authenticate": `Bearer realm="${opts.tls ? "https" : "http"}://127.0.0.1:${port}/token",service="tsk-test-registry",scope="${scope}"`,
        "Content-Type": "application/json",
      });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    if (url.pathname === "/v2/" || url.pathname === "/v2") {
      res.writeHead(200).end("{}");
      return;
    }
    const notFound = (code: string) =>
      res
        .writeHead(404, { "Content-Type": "application/json" })
        .end(JSON.stringify({ errors: [{ code, message: "not found" }] }));
    if (!m) return notFound("NAME_UNKNOWN");
    const [, repo, kind, ref] = m;
    if (kind === "manifests") {
      const found = manifests.get(ref.startsWith("sha256:") ? `${repo}@${ref}` : `${repo}:${ref}`);
      if (!found) return notFound("MANIFEST_UNKNOWN");
      res.writeHead(200, {
        "Content-Type": found.type,
        "Docker-Content-Digest": sha256(found.data),
        "Content-Length": found.data.length,
      });
      res.end(req.method === "HEAD" ? undefined : found.data);
      return;
    }
    const blob = blobs.get(`${repo}@${ref}`);
    if (!blob) return notFound("BLOB_UNKNOWN");
    served.push(ref);
    res.writeHead(200, {
      "Content-Type": "application/octet-stream",
      "Content-Length": blob.length,
      "Docker-Content-Digest": ref,
    });
    res.end(blob);
  };
  const server = opts.tls
    ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler)
    : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    blobsServed: () => [...served],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
