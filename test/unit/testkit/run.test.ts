import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseSummary } from "../../run";

test("the runner reads uvu's closing summary, coloured or not", () => {
  const out = "\n  Total:     5\n  Passed:    4\n  Skipped:   0\n  Duration:  3ms\n";
  assert.equal(parseSummary(out), { total: 5, passed: 4, skipped: 0 });
  assert.equal(parseSummary("\x1b[1m  Total:     2\x1b[0m\n  Passed:    2\n  Skipped:   0\n"), {
    total: 2,
    passed: 2,
    skipped: 0,
  });
});

test("a file that printed no summary has no result", () => {
  assert.is(parseSummary("Error: boom"), undefined);
});

test.run();
