import { test } from "uvu";
import * as assert from "uvu/assert";
import { familiarName, normalizeName, parseReference } from "../../../internal/images/reference";

test("short docker hub names expand the way docker expands them", () => {
  assert.is(normalizeName("busybox"), "docker.io/library/busybox:latest");
  assert.is(normalizeName("busybox:1.36"), "docker.io/library/busybox:1.36");
  assert.is(normalizeName("docker.io/library/busybox:latest"), "docker.io/library/busybox:latest");
  assert.is(normalizeName("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
  assert.is(normalizeName("rancher/pause:3.6"), "docker.io/rancher/pause:3.6");
});

test("a first component with a dot, a port or localhost is a registry", () => {
  assert.equal(parseReference("127.0.0.1:5000/test/app:v1"), {
    domain: "127.0.0.1:5000",
    path: "test/app",
    tag: "v1",
    digest: undefined,
  });
  assert.equal(parseReference("localhost/app").domain, "localhost");
  assert.equal(parseReference("ghcr.io/x/y").path, "x/y");
});

test("a digest reference keeps its digest and gets no tag", () => {
  const d = `sha256:${"a".repeat(64)}`;
  assert.equal(parseReference(`busybox@${d}`), {
    domain: "docker.io",
    path: "library/busybox",
    tag: undefined,
    digest: d,
  });
});

test("malformed references are refused with the reason", () => {
  for (const bad of ["", "UPPER/case", "busybox@sha256:xyz", "a/../b", "busybox:bad tag"]) {
    try {
      parseReference(bad);
      assert.unreachable(`accepted ${bad}`);
    } catch (err) {
      assert.is((err as { code?: string }).code, "InvalidReference", bad);
    }
  }
});

test("names print in docker's short form", () => {
  assert.is(familiarName("docker.io/library/busybox:latest"), "busybox:latest");
  assert.is(familiarName("docker.io/rancher/pause:3.6"), "rancher/pause:3.6");
  assert.is(familiarName("127.0.0.1:5000/test/app:v1"), "127.0.0.1:5000/test/app:v1");
});

test.run();
