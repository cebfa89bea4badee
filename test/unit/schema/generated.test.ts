// The generated files are committed so that a build needs no generation; these
// tests fail when they no longer match what the generators make from the resource
// table and kubernetes-types (run `npm run gen:schemas` and commit the result).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { generate } from "../../../internal/api/schema/generate";
import { generateValidators } from "../../../internal/api/validation/generate";

const root = join(__dirname, "..", "..", "..");

test("generated/definitions.json is what the generator makes", () => {
  const committed = JSON.parse(
    readFileSync(join(root, "internal/api/schema/generated/definitions.json"), "utf8"),
  );
  assert.equal(committed, generate());
});

test("generated/validators.js is what the generator makes", () => {
  const committed = readFileSync(join(root, "internal/api/validation/generated/validators.js"), "utf8");
  assert.ok(committed === generateValidators(), "validators.js is stale: run npm run gen:schemas");
});

test.run();
