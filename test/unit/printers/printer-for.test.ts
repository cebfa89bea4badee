import { test } from "uvu";
import * as assert from "uvu/assert";
import { printerFor } from "../../../internal/api/printers";
import { RESOURCES } from "../../../internal/api/resources";

const NOW = Date.parse("2024-06-01T12:00:00Z");

test("every served resource has a printer whose rows fill every column, even for a bare object", () => {
  for (const info of RESOURCES) {
    const printer = printerFor(info);
    const label = `${info.group}/${info.plural}`;
    assert.ok(printer.columns.length >= 2, label);
    assert.is(printer.columns.filter((c) => c.format === "name").length, 1, label);
    const bare = {
      apiVersion: info.version,
      kind: info.kind,
      metadata: { name: "x", creationTimestamp: "2024-06-01T11:00:00Z" },
    };
    const row = printer.row(bare, NOW);
    assert.is(row.length, printer.columns.length, label);
    const nameAt = printer.columns.findIndex((c) => c.format === "name");
    assert.is(row[nameAt], "x", label);
    for (const cell of row)
      assert.ok(["string", "number", "boolean"].includes(typeof cell), `${label}: ${String(cell)}`);
  }
});

test("a row of an object without metadata still prints instead of throwing", () => {
  for (const info of RESOURCES) {
    const row = printerFor(info).row({}, NOW);
    assert.is(row.length, printerFor(info).columns.length, info.plural);
  }
});

test("cells of integer columns are numbers, as upstream sends int64", () => {
  for (const info of RESOURCES) {
    const printer = printerFor(info);
    const row = printer.row({ metadata: { name: "x" } }, NOW);
    printer.columns.forEach((c, i) => {
      if (c.type === "integer") assert.type(row[i], "number", `${info.plural} ${c.name}`);
    });
  }
});

test.run();
