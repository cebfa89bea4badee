// native().fsBatch: file system steps in order on one pool thread, stopping at the first failure.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { native } from "../../../internal/runtime/native";

const dir = mkdtempSync(join(tmpdir(), "tsk-fsbatch-"));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test("makes directories, creates and rewrites files, in order", async () => {
  const d = join(dir, "a", "b", "c");
  await native().fsBatch([
    ["mkdirp", d],
    ["mkdir", d], // already there: fine
    ["create", join(d, "f"), "first version, longer"],
    ["create", join(d, "f"), "second"],
    ["write", join(d, "f"), "2nd"],
  ]);
  assert.ok(statSync(d).isDirectory());
  assert.is(readFileSync(join(d, "f"), "utf8"), "2ndond"); // "write" does not truncate, as for cgroup files
});

test("stops at the first failure and names the step, the path and the errno", async () => {
  const d = join(dir, "stop");
  try {
    await native().fsBatch([
      ["mkdirp", d],
      ["write", join(d, "missing"), "1"],
      ["create", join(d, "never"), "x"],
    ]);
    assert.unreachable("should have failed");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    assert.is(e.code, "ENOENT");
    assert.is(e.message, `write 1 to ${join(d, "missing")}: ENOENT`);
  }
  assert.throws(() => statSync(join(d, "never")));
});

test("refuses malformed steps with a TypeError before touching anything", () => {
  assert.throws(() => native().fsBatch([["create", "", "x"]]), /non-empty/);
  assert.throws(() => native().fsBatch("nope" as never), /array/);
});

test("an unknown step kind fails with EINVAL", async () => {
  try {
    await native().fsBatch([["rmrf" as "mkdir", join(dir, "x")]]);
    assert.unreachable();
  } catch (err) {
    assert.is((err as NodeJS.ErrnoException).code, "EINVAL");
  }
});

test.run();
