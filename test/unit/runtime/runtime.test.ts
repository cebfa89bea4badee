import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  cgroupManager,
  mergeEnv,
  parseLogLine,
  resolveUser,
  sharesToWeight,
} from "../../../internal/runtime";

test("CRI log lines are parsed into time, stream, partial flag and text", () => {
  assert.equal(parseLogLine("2026-01-02T03:04:05.123456789Z stdout F hello world"), {
    time: "2026-01-02T03:04:05.123456789Z",
    stream: "stdout",
    full: true,
    text: "hello world",
  });
  assert.equal(parseLogLine("2026-01-02T03:04:05.1Z stderr P "), {
    time: "2026-01-02T03:04:05.1Z",
    stream: "stderr",
    full: false,
    text: "",
  });
  assert.is(parseLogLine("garbage"), undefined);
  assert.is(parseLogLine("t stdin F x"), undefined);
});

test("environment lists override earlier ones by name", () => {
  assert.equal(mergeEnv(["PATH=/bin", "A=1"], ["A=2", "B=3"], ["PATH=/x"]), ["A=2", "B=3", "PATH=/x"]);
});

test("CPU shares convert to cgroup v2 weights like runc", () => {
  assert.is(sharesToWeight(2), 1);
  assert.is(sharesToWeight(1024), 39);
  assert.is(sharesToWeight(262144), 10000);
});

test("users resolve by name or number from the image's passwd and group files", () => {
  const dir = mkdtempSync(join(tmpdir(), "tsk-user-"));
  try {
    mkdirSync(join(dir, "etc"));
    writeFileSync(join(dir, "etc/passwd"), "root:x:0:0::/root:/bin/sh\nweb:x:33:44::/var/www:/bin/sh\n");
    writeFileSync(join(dir, "etc/group"), "root:x:0:\nwww:x:44:\nlogs:x:50:web,other\n");
    assert.equal(resolveUser("", [dir]), { uid: 0, gid: 0, groups: [] });
    assert.equal(resolveUser("web", [dir]), { uid: 33, gid: 44, groups: [50] });
    assert.equal(resolveUser("33", [dir]), { uid: 33, gid: 44, groups: [50] });
    assert.equal(resolveUser("1234:5", [dir]), { uid: 1234, gid: 5, groups: [] });
    assert.equal(resolveUser("web:logs", [dir]).gid, 50);
    assert.throws(() => resolveUser("nobody", [dir]), /not found in the image's \/etc\/passwd/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unknown cgroup manager name is an error", () => {
  assert.throws(() => cgroupManager("v3" as "v1"), /unknown cgroup manager "v3"/);
});

test.run();
