// The committed field tables are exactly what the generator derives from kubectl 1.32's
// embedded k8s.io/api descriptors and struct tags (nobody edited them by hand, and the
// derivation still works on the binary CI has).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_KUBECTL, generate } from "../../../internal/api/protobuf/generate";
import { MESSAGES } from "../../../internal/api/protobuf/messages";
import { F_INLINE, F_OMITEMPTY, F_POINTER } from "../../../internal/api/protobuf/table";

const ROOT = join(__dirname, "..", "..", "..");

test("messages.ts matches what the generator reads from kubectl 1.32", () => {
  assert.ok(existsSync(DEFAULT_KUBECTL), `${DEFAULT_KUBECTL} is missing`);
  const dir = mkdtempSync(join(tmpdir(), "tsk-pb-tables-"));
  try {
    const file = join(dir, "messages.ts");
    writeFileSync(
      file,
      generate(DEFAULT_KUBECTL, ROOT).replace(
        'from "./table"',
        `from ${JSON.stringify(join(ROOT, "internal/api/protobuf/table"))}`,
      ),
    );
    const fresh = require(file).MESSAGES;
    assert.equal(fresh, MESSAGES);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const field = (message: string, name: string) => {
  const rows = MESSAGES[message];
  assert.ok(rows && rows !== "special", `${message} missing`);
  const row = (rows as readonly any[]).find((r) => r[1] === name);
  assert.ok(row, `${message}.${name} missing`);
  return row;
};

test("field numbers and Go shapes agree with upstream generated.proto and types.go", () => {
  // DeploymentSpec: replicas = 1 (*int32), progressDeadlineSeconds = 9; PodSpec: resources = 40.
  assert.is(field("k8s.io.api.apps.v1.DeploymentSpec", "replicas")[0], 1);
  assert.ok(field("k8s.io.api.apps.v1.DeploymentSpec", "replicas")[3] & F_POINTER);
  assert.is(field("k8s.io.api.apps.v1.DeploymentSpec", "progressDeadlineSeconds")[0], 9);
  assert.is(field("k8s.io.api.core.v1.PodSpec", "resources")[0], 40);
  // Container.name is `json:"name"` (no omitempty); ObjectMeta.name is omitempty.
  assert.not.ok(field("k8s.io.api.core.v1.Container", "name")[3] & F_OMITEMPTY);
  assert.ok(field("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", "name")[3] & F_OMITEMPTY);
  // Volume embeds VolumeSource inline; UserInfo numbers as in authentication/v1.
  assert.ok(
    (MESSAGES["k8s.io.api.core.v1.Volume"] as readonly any[]).some(
      (r) => r[3] & F_INLINE && r[4] === "k8s.io.api.core.v1.VolumeSource",
    ),
  );
  assert.equal(
    (MESSAGES["k8s.io.api.authentication.v1.UserInfo"] as readonly any[]).map((r) => [r[0], r[1]]),
    [
      [1, "username"],
      [2, "uid"],
      [3, "groups"],
      [4, "extra"],
    ],
  );
});

test.run();
