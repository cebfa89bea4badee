import { execFileSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openImageStore } from "../../../internal/images";
import {
  type BuiltImage,
  buildBusyboxImage,
  buildImage,
  startTestRegistry,
  type TestRegistry,
  tarLayer,
  WHITEOUT_LAYERS,
} from "../../support/images";
import { removeDir, storeFiles, tempDir, tsk } from "./helpers";

const work = tempDir("images-pull");
let app: BuiltImage;
let tools: BuiltImage;
let registry: TestRegistry;
let counter = 0;

function dataDir(): string {
  return join(work, `data-${++counter}`);
}

test.before(async () => {
  app = await buildBusyboxImage({
    gzip: true,
    extraLayers: [WHITEOUT_LAYERS[0]],
    config: { Cmd: ["echo", "app"] },
  });
  tools = await buildBusyboxImage({
    gzip: true,
    extraLayers: [[{ path: "tools" }, { path: "tools/t.sh", content: "echo tools\n", mode: 0o755 }]],
  });
  registry = await startTestRegistry({
    images: { "test/app:v1": app, "test/tools:v1": tools },
    auth: { username: "ci", password: "s3cret" },
    manifestList: true,
  });
});

test.after(async () => {
  await registry.close();
  removeDir(work);
});

test("pull with bearer-token auth picks linux/amd64 from the manifest list and verifies every digest", async () => {
  const store = await openImageStore({ dataDir: dataDir() });
  const r = await store.pull(`${registry.host}/test/app:v1`, { username: "ci", password: "s3cret" });
  assert.is(r.manifestDigest, app.manifestDigest, "the amd64 manifest was chosen");
  assert.is(r.id, app.configDigest);
  assert.equal(r.fetched.sort(), app.layers.map((l) => l.digest).sort());
  assert.ok(
    registry.requests.some((q) => q.startsWith("GET /token?")),
    "a token was fetched",
  );
  const img = await store.resolve(`${registry.host}/test/app:v1`);
  assert.equal(img.config.Cmd, ["echo", "app"]);
  assert.is(readFileSync(join(img.layers[1], "data", "keep.txt"), "utf8"), "keep\n");
  assert.ok(statSync(join(img.layers[0], "bin", "busybox")).isFile());
});

test("a second image sharing the base layer fetches only its missing layer", async () => {
  const store = await openImageStore({ dataDir: dataDir() });
  await store.pull(`${registry.host}/test/app:v1`, { username: "ci", password: "s3cret" });
  const servedBefore = registry.blobsServed().length;
  const r = await store.pull(`${registry.host}/test/tools:v1`, { username: "ci", password: "s3cret" });
  assert.equal(r.fetched, [tools.layers[1].digest], "only the tools layer was downloaded");
  const served = registry.blobsServed().slice(servedBefore);
  assert.not.ok(served.includes(tools.layers[0].digest), "the shared busybox layer was not requested");
  assert.is(storeFiles(store.dataDir).layers.length, 3);
});

test("tsk images pull prints what it fetched and the image shows in ls", async () => {
  const d = dataDir();
  const out = await tsk([
    "images",
    "pull",
    "--data-dir",
    d,
    "--username",
    "ci",
    "--password",
    "s3cret",
    `${registry.host}/test/tools:v1`,
  ]);
  assert.is(out.code, 0, out.stderr);
  assert.match(out.stdout, `${registry.host}/test/tools:v1: pulled 2 of 2 layer(s)`);
  assert.match(out.stdout, `Digest: ${tools.manifestDigest}`);
  const ls = await tsk(["images", "ls", "-d", d]);
  assert.match(
    ls.stdout,
    new RegExp(
      `${registry.host.replace(/\./g, "\\.")}/test/tools\\s+v1\\s+${tools.configDigest.slice(7, 19)}`,
    ),
  );
});

test("wrong credentials are refused as Unauthorized and nothing is stored", async () => {
  const d = dataDir();
  const store = await openImageStore({ dataDir: d });
  try {
    await store.pull(`${registry.host}/test/app:v1`, { username: "ci", password: "wrong" });
    assert.unreachable("pulled with a wrong password");
  } catch (err) {
    if (err instanceof assert.Assertion) throw err;
    assert.is((err as { code?: string }).code, "Unauthorized");
    assert.match((err as Error).message, /token request .* failed: HTTP 401/);
  }
  assert.equal(await store.list(), []);
  assert.equal(storeFiles(d).layers, []);
});

test("an unknown tag is NotFound", async () => {
  const store = await openImageStore({ dataDir: dataDir() });
  try {
    await store.pull(`${registry.host}/test/app:nope`, { username: "ci", password: "s3cret" });
    assert.unreachable("pulled a missing tag");
  } catch (err) {
    if (err instanceof assert.Assertion) throw err;
    assert.is((err as { code?: string }).code, "NotFound");
    assert.match((err as Error).message, "test/app/manifests/nope");
  }
});

test("a registry serving a layer that does not match its digest is refused with nothing left behind", async () => {
  const good = await tarLayer([{ path: "good", content: "good" }]);
  const img = buildImage([good, await tarLayer([{ path: "x", content: "x" }])], { gzip: true });
  const { gzipSync } = await import("node:zlib");
  img.layers[1] = { ...img.layers[1], data: gzipSync(await tarLayer([{ path: "x", content: "evil" }])) };
  const bad = await startTestRegistry({ images: { "test/bad:v1": img } });
  try {
    const d = dataDir();
    const store = await openImageStore({ dataDir: d });
    try {
      await store.pull(`${bad.host}/test/bad:v1`);
      assert.unreachable("pulled a tampered layer");
    } catch (err) {
      if (err instanceof assert.Assertion) throw err;
      assert.is((err as { code?: string }).code, "DigestMismatch");
    }
    const files = storeFiles(d);
    assert.equal(
      [files.layers, files.blobs, files.tmp],
      [[], [], []],
      "the good layer fetched alongside was taken back",
    );
    assert.equal(await store.list(), []);
  } finally {
    await bad.close();
  }
});

test("pull over HTTPS verifies the registry's certificate", async () => {
  const key = join(work, "tls.key");
  const cert = join(work, "tls.crt");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
  const tls = { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") };
  const secure = await startTestRegistry({ images: { "test/tools:v1": tools }, auth: {}, tls });
  try {
    const store = await openImageStore({ dataDir: dataDir() });
    try {
      await store.pull(`${secure.host}/test/tools:v1`, { plainHttp: false });
      assert.unreachable("trusted an unknown certificate");
    } catch (err) {
      if (err instanceof assert.Assertion) throw err;
      assert.is((err as { code?: string }).code, "Registry");
      assert.match((err as Error).message, /certificate/);
    }
    const r = await store.pull(`${secure.host}/test/tools:v1`, { plainHttp: false, ca: [tls.cert] });
    assert.is(r.manifestDigest, tools.manifestDigest);
    assert.ok(
      secure.requests.some((q) => q.startsWith("GET /token?")),
      "token fetched over https",
    );
  } finally {
    await secure.close();
  }
});

test.run();
