// Import throughput and layer sharing of the image store.
//
//   node --import tsx bench/images/import.ts [--mb 200] [--runs 3]
//
// 1. Builds a ~200 MB image of four layers (busybox + random-content files, large
//    and small) as a `docker save` archive (uncompressed) and as an OCI archive
//    (gzip layers), and imports each into a fresh store: MB/s of archive read.
// 2. Builds two images that share a 100 MB base layer and differ in a 25 MB top
//    layer, imports both into one store, and compares its disk use (du) with the
//    sum of each imported alone.
// Timing is in-process (store.importArchive), archives already in the page cache,
// `sync` before each run; GNU tar extracting the same layers gives this disk's floor.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openImageStore } from "../../internal/images";
import {
  buildImage,
  busyboxEntries,
  type LayerEntry,
  tarLayer,
  writeDockerArchive,
  writeOciArchive,
} from "../../test/support/images";

const { values } = parseArgs({
  options: { mb: { type: "string", default: "200" }, runs: { type: "string", default: "3" } },
});
const totalMB = Number(values.mb);
const runs = Number(values.runs);
const work = mkdtempSync(join(tmpdir(), "tsk-bench-images-"));

/** A layer of about `mb` MB: 80% in 1 MiB files, 20% in 4 KiB files, all random. */
function randomLayer(name: string, mb: number): LayerEntry[] {
  const entries: LayerEntry[] = [{ path: name }];
  const bigFiles = Math.round((mb * 0.8 * 1e6) / (1 << 20));
  const smallFiles = Math.round((mb * 0.2 * 1e6) / 4096);
  for (let i = 0; i < bigFiles; i++)
    entries.push({ path: `${name}/big-${i}`, content: randomBytes(1 << 20) });
  entries.push({ path: `${name}/small` });
  for (let i = 0; i < smallFiles; i++)
    entries.push({ path: `${name}/small/f-${i}`, content: randomBytes(4096) });
  return entries;
}

function du(path: string): number {
  return Number(execFileSync("du", ["-s", "-B1", path], { encoding: "utf8" }).split(/\s/)[0]);
}

const mb = (n: number) => (n / 1e6).toFixed(1);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function timeImport(archive: string): Promise<{ ms: number[]; size: number }> {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(work, "store-"));
    const store = await openImageStore({ dataDir: dir });
    execFileSync("sync");
    const t0 = process.hrtime.bigint();
    await store.importArchive(archive);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    rmSync(dir, { recursive: true, force: true });
    execFileSync("sync");
  }
  return { ms, size: statSync(archive).size };
}

/** The floor on this disk: GNU tar extracting the same layer tars (no hashing, no blob copy). */
function timeGnuTar(layerFiles: string[]): number[] {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dir = mkdtempSync(join(work, "gnutar-"));
    execFileSync("sync");
    const t0 = process.hrtime.bigint();
    for (const f of layerFiles) execFileSync("tar", ["-x", "-f", f, "-C", dir]);
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    rmSync(dir, { recursive: true, force: true });
    execFileSync("sync");
  }
  return ms;
}

async function main(): Promise<void> {
  const per = totalMB / 4;
  console.log(`building a ${totalMB} MB, 4-layer image in ${work} ...`);
  const tars = [
    await tarLayer([...busyboxEntries(), ...randomLayer("base", per - 2)]),
    await tarLayer(randomLayer("l1", per)),
    await tarLayer(randomLayer("l2", per)),
    await tarLayer(randomLayer("l3", per)),
  ];
  const dockerTar = join(work, "docker.tar");
  const ociTar = join(work, "oci.tar");
  await writeDockerArchive(dockerTar, [{ image: buildImage(tars), names: ["bench/big:latest"] }]);
  await writeOciArchive(ociTar, [{ image: buildImage(tars, { gzip: true }), names: ["bench/big:oci"] }]);

  for (const [label, archive] of [
    ["docker save (tar layers)", dockerTar],
    ["OCI archive (gzip layers)", ociTar],
  ] as const) {
    const { ms, size } = await timeImport(archive);
    const m = median(ms);
    console.log(
      `import ${label}: ${mb(size)} MB in ${m.toFixed(0)} ms median of ${runs} (${ms.map((x) => x.toFixed(0)).join(", ")}) = ${(size / 1e6 / (m / 1000)).toFixed(0)} MB/s`,
    );
  }

  const layerFiles = tars.map((t, i) => {
    const f = join(work, `layer-${i}.tar`);
    writeFileSync(f, t);
    return f;
  });
  const tarMs = timeGnuTar(layerFiles);
  const tarBytes = tars.reduce((n, t) => n + t.length, 0);
  console.log(
    `reference, GNU tar -x of the same layer tars: ${mb(tarBytes)} MB in ${median(tarMs).toFixed(0)} ms median (${tarMs.map((x) => x.toFixed(0)).join(", ")}) = ${(tarBytes / 1e6 / (median(tarMs) / 1000)).toFixed(0)} MB/s`,
  );

  // Two images sharing a base layer.
  const base = await tarLayer([...busyboxEntries(), ...randomLayer("base", totalMB / 2 - 2)]);
  const a = buildImage([base, await tarLayer(randomLayer("a", totalMB / 8))]);
  const b = buildImage([base, await tarLayer(randomLayer("b", totalMB / 8))]);
  const aTar = join(work, "a.tar");
  const bTar = join(work, "b.tar");
  await writeDockerArchive(aTar, [{ image: a, names: ["bench/a:latest"] }]);
  await writeDockerArchive(bTar, [{ image: b, names: ["bench/b:latest"] }]);
  const alone: number[] = [];
  for (const t of [aTar, bTar]) {
    const dir = mkdtempSync(join(work, "alone-"));
    await (await openImageStore({ dataDir: dir })).importArchive(t);
    alone.push(du(join(dir, "agent")));
    rmSync(dir, { recursive: true, force: true });
  }
  const dir = mkdtempSync(join(work, "shared-"));
  const store = await openImageStore({ dataDir: dir });
  await store.importArchive(aTar);
  await store.importArchive(bTar);
  const shared = du(join(dir, "agent"));
  const layersOnly = du(join(dir, "agent", "layers"));
  const sizes = (await store.list()).map((i) => i.size);
  console.log(
    `two images sharing a ${mb(base.length)} MB base (image sizes ${sizes.map(mb).join(" + ")} MB): ` +
      `store uses ${mb(shared)} MB on disk (unpacked layers ${mb(layersOnly)} MB + blobs) ` +
      `vs ${mb(alone[0])} + ${mb(alone[1])} = ${mb(alone[0] + alone[1])} MB imported apart (${((100 * shared) / (alone[0] + alone[1])).toFixed(0)}%)`,
  );
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => rmSync(work, { recursive: true, force: true }));
