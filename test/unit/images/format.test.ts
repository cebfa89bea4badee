import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatImageTable, humanAge, humanSize } from "../../../internal/cli/images";
import { parseChallenge } from "../../../internal/images/registry";
import { cleanEntryPath } from "../../../internal/images/unpack";

test("sizes print like docker images (decimal units, 3 digits)", () => {
  assert.is(humanSize(512), "512B");
  assert.is(humanSize(2139136), "2.14MB");
  assert.is(humanSize(1_240_000_000), "1.24GB");
  assert.is(humanSize(12_345), "12.3kB");
});

test("ages print like docker's CREATED column", () => {
  const now = new Date("2026-01-01T00:00:00Z");
  assert.is(humanAge(new Date("2025-12-31T23:59:30Z"), now), "30 seconds ago");
  assert.is(humanAge(new Date("2025-12-31T21:00:00Z"), now), "3 hours ago");
  assert.is(humanAge(new Date("2024-01-01T00:00:00Z"), now), "2 years ago");
});

test("the image table has one row per name and <none> for unnamed images", () => {
  const out = formatImageTable(
    [
      {
        id: `sha256:${"ab".repeat(32)}`,
        names: ["docker.io/library/busybox:latest", "127.0.0.1:5000/x/bb:v1"],
        manifestDigest: "",
        size: 2139136,
        layers: [],
      },
      { id: `sha256:${"cd".repeat(32)}`, names: [], manifestDigest: "", size: 10, layers: [] },
    ],
    { now: new Date("2026-01-01T00:00:00Z") },
  );
  const lines = out.trimEnd().split("\n");
  assert.match(lines[0], /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  assert.match(lines[1], /^127\.0\.0\.1:5000\/x\/bb\s+v1\s+abababababab\s+N\/A\s+2\.14MB$/);
  assert.match(lines[2], /^busybox\s+latest\s+abababababab/);
  assert.match(lines[3], /^<none>\s+<none>\s+cdcdcdcdcdcd/);
});

test("a bearer challenge gives realm, service and scope", () => {
  const c = parseChallenge(
    'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
  );
  assert.is(c.scheme, "bearer");
  assert.equal(c.params, {
    realm: "https://auth.docker.io/token",
    service: "registry.docker.io",
    scope: "repository:library/busybox:pull",
  });
});

test("layer entry names that leave the root are refused; others are cleaned", () => {
  assert.is(cleanEntryPath("./etc/passwd"), "etc/passwd");
  assert.is(cleanEntryPath("usr/lib/"), "usr/lib");
  assert.is(cleanEntryPath("./"), "");
  assert.is(cleanEntryPath("a/../b"), "b");
  for (const bad of ["../x", "/etc/passwd", "a/../../x", ".."]) {
    assert.throws(
      () => cleanEntryPath(bad),
      (e: { code?: string }) => e.code === "UnsafePath",
      bad,
    );
  }
});

test.run();
