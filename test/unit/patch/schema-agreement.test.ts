// The fixture PatchMeta the patch tests use must say what the generated schemas say
// (internal/api/schema), so that what these tests prove holds for the served types.

import { test } from "uvu";
import * as assert from "uvu/assert";
import type { FieldMeta } from "../../../internal/api/patch/meta";
import { patchMetaFor } from "../../../internal/api/schema";
import { CONFIGMAP_TABLE, DEPLOYMENT_TABLE, POD_TABLE, SERVICE_TABLE } from "./fixture-meta";

const kinds: [string, string, string, Record<string, FieldMeta>][] = [
  ["", "v1", "Pod", POD_TABLE],
  ["apps", "v1", "Deployment", DEPLOYMENT_TABLE],
  ["", "v1", "Service", SERVICE_TABLE],
  ["", "v1", "ConfigMap", CONFIGMAP_TABLE],
];

const FACTS: (keyof FieldMeta)[] = [
  "patchStrategy",
  "patchMergeKey",
  "listType",
  "listMapKeys",
  "listMapKeyDefaults",
  "mapType",
];

for (const [group, version, kind, table] of kinds) {
  test(`the ${kind} schema's merge keys and list types agree with the patch test fixture`, () => {
    const meta = patchMetaFor(group, version, kind);
    const mismatches: string[] = [];
    for (const [path, want] of Object.entries(table)) {
      const got = meta.lookup(path.split(".")) ?? {};
      for (const f of FACTS) {
        const g = (got as Record<string, unknown>)[f];
        const w = (want as Record<string, unknown>)[f];
        // An atomic list or map may be stated or left to the default.
        if (w === "atomic" && g === undefined) continue;
        if (JSON.stringify(g) !== JSON.stringify(w))
          mismatches.push(`${path}.${f}: schema ${JSON.stringify(g)}, fixture ${JSON.stringify(w)}`);
      }
    }
    assert.equal(mismatches, []);
  });
}

test.run();
