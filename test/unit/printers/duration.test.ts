import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatAge, humanDuration, shortHumanDuration } from "../../../internal/api/duration";

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

test("ages read as a real cluster prints them (HumanDuration)", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [999, "0s"],
    [42 * s, "42s"],
    [119 * s, "119s"],
    [2 * m, "2m"],
    [2 * m + 3 * s, "2m3s"],
    [9 * m + 59 * s, "9m59s"],
    [10 * m + 30 * s, "10m"],
    [179 * m, "179m"],
    [3 * h, "3h"],
    [3 * h + 5 * m, "3h5m"],
    [7 * h + 59 * m, "7h59m"],
    [8 * h + 30 * m, "8h"],
    [47 * h, "47h"],
    [2 * d, "2d"],
    [5 * d + 3 * h, "5d3h"],
    [7 * d + 23 * h, "7d23h"],
    [8 * d, "8d"],
    [729 * d, "729d"],
    [730 * d, "2y"],
    [730 * d + 10 * d, "2y10d"],
    [8 * 365 * d, "8y"],
    [20 * 365 * d + 100 * d, "20y"],
  ];
  for (const [ms, want] of cases) assert.is(humanDuration(ms), want, `${ms} ms`);
});

test("a timestamp slightly in the future reads 0s; further ahead is <invalid>", () => {
  assert.is(humanDuration(-1500), "0s");
  assert.is(humanDuration(-1999), "0s");
  assert.is(humanDuration(-2000), "<invalid>");
  assert.is(humanDuration(-5 * m), "<invalid>");
});

test("ShortHumanDuration keeps one unit", () => {
  const cases: [number, string][] = [
    [59 * s, "59s"],
    [61 * s, "1m"],
    [59 * m + 59 * s, "59m"],
    [23 * h, "23h"],
    [3 * d + 4 * h, "3d"],
    [400 * d, "1y"],
    [-1500, "0s"],
    [-3 * s, "<invalid>"],
  ];
  for (const [ms, want] of cases) assert.is(shortHumanDuration(ms), want, `${ms} ms`);
});

test("the Age cell is measured from creationTimestamp, <unknown> when it is unset", () => {
  const now = Date.parse("2024-06-01T12:00:00Z");
  assert.is(formatAge("2024-06-01T11:55:00Z", now), "5m");
  assert.is(formatAge("2024-05-30T09:00:00Z", now), "2d3h");
  assert.is(formatAge(undefined, now), "<unknown>");
  assert.is(formatAge("", now), "<unknown>");
  assert.is(formatAge("not a time", now), "<unknown>");
});

test.run();
