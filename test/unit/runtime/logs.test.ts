// Reading rotated CRI logs: file order, the chain by inode, and readLog on real
// files in a temp dir where the test itself plays the monitor's rotation.
import {
  appendFileSync,
  mkdtempSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { logFileOrder, nextInChain, readLog } from "../../../internal/runtime/logs";
import type { LogEntry, LogOptions } from "../../../internal/runtime/types";

const dirs: string[] = [];
function tempLog(): string {
  const dir = mkdtempSync(join(tmpdir(), "tsk-logs-"));
  dirs.push(dir);
  return join(dir, "container.log");
}
test.after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
process.on("exit", () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function line(n: number, stream = "stdout"): string {
  const t = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString().replace("Z", "123456Z");
  return `${t} ${stream} F line ${n}\n`;
}
function lines(from: number, to: number): string {
  let s = "";
  for (let i = from; i <= to; i++) s += line(i);
  return s;
}
/** What the monitor does: shift .1 -> .2 ... (dropping the oldest past `keep`), log -> .1, fresh log. */
function rotate(path: string, keep: number): void {
  try {
    unlinkSync(`${path}.${keep - 1}`);
  } catch {}
  for (let i = keep - 2; i >= 1; i--) {
    try {
      renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    } catch {}
  }
  renameSync(path, `${path}.1`);
  writeFileSync(path, "");
}
async function all(path: string, opts: LogOptions = {}): Promise<string[]> {
  const out: string[] = [];
  for await (const e of readLog(path, opts, () => true)) out.push(e.text);
  return out;
}
function numbers(from: number, to: number): string[] {
  return Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);
}

test("rotated files are ordered oldest first, then the current log; other names are ignored", () => {
  assert.equal(
    logFileOrder("container.log", [
      "container.log.1",
      "config",
      "container.log",
      "container.log.10",
      "container.log.2",
      "container.log.tmp",
      "container.log.0",
      "container.log.1.gz",
    ]),
    ["container.log.10", "container.log.2", "container.log.1", "container.log"],
  );
  assert.equal(logFileOrder("container.log", ["container.log.1"]), ["container.log.1"]);
  assert.equal(logFileOrder("container.log", []), []);
});

test("the file after a rotated one is found by inode; a deleted one leads to the oldest left", () => {
  const chain = [{ ino: 5n }, { ino: 7n }, { ino: 9n }];
  assert.equal(nextInChain(chain, 5n), { ino: 7n });
  assert.equal(nextInChain(chain, 7n), { ino: 9n });
  assert.is(nextInChain(chain, 9n), undefined);
  assert.equal(nextInChain(chain, 3n), { ino: 5n });
  assert.is(nextInChain([], 3n), undefined);
});

test("logs of a rotated container are read across its files in order", async () => {
  const path = tempLog();
  writeFileSync(`${path}.2`, lines(1, 10));
  writeFileSync(`${path}.1`, lines(11, 20));
  writeFileSync(path, lines(21, 25));
  assert.equal(await all(path), numbers(1, 25));
});

test("tail takes the last lines across file boundaries", async () => {
  const path = tempLog();
  writeFileSync(`${path}.2`, lines(1, 10));
  writeFileSync(`${path}.1`, lines(11, 20));
  writeFileSync(path, lines(21, 22));
  assert.equal(await all(path, { tail: 5 }), numbers(18, 22));
  assert.equal(await all(path, { tail: 0 }), []);
  assert.equal(await all(path, { tail: 100 }), numbers(1, 22));
});

test("since skips older lines in rotated files too", async () => {
  const path = tempLog();
  writeFileSync(`${path}.1`, lines(1, 10));
  writeFileSync(path, lines(11, 20));
  assert.equal(await all(path, { since: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, 8)) }), numbers(8, 20));
});

test("a rotated log whose current file is not created yet is still read", async () => {
  const path = tempLog();
  writeFileSync(`${path}.1`, lines(1, 3));
  assert.equal(await all(path), numbers(1, 3));
});

test("follow reads every line exactly once while the log is rotated underneath it", async () => {
  const path = tempLog();
  writeFileSync(path, "");
  let finished = false;
  const got: LogEntry[] = [];
  const reader = (async () => {
    for await (const e of readLog(path, { follow: true }, () => finished)) got.push(e);
  })();
  await new Promise((r) => setTimeout(r, 100));
  let n = 0;
  for (let round = 0; round < 12; round++) {
    for (let i = 0; i < 40; i++) appendFileSync(path, line(++n));
    // Sometimes twice in a row before the reader looks: it must walk the chain.
    rotate(path, 50);
    if (round % 3 === 0) {
      for (let i = 0; i < 5; i++) appendFileSync(path, line(++n));
      rotate(path, 50);
    }
    await new Promise((r) => setTimeout(r, round % 2 ? 0 : 300));
  }
  for (let i = 0; i < 10; i++) appendFileSync(path, line(++n));
  finished = true;
  await reader;
  assert.equal(
    got.map((e) => e.text),
    numbers(1, n),
  );
});

test("follow from an offset starts in the current file there", async () => {
  const path = tempLog();
  writeFileSync(`${path}.1`, lines(1, 5));
  writeFileSync(path, lines(6, 8));
  const start = Buffer.byteLength(lines(6, 7));
  const got: string[] = [];
  for await (const e of readLog(path, { follow: true }, () => true, start)) got.push(e.text);
  assert.equal(got, ["line 8"]);
});

test("a start taken with the file's inode survives a rotation before the reader begins", async () => {
  const path = tempLog();
  writeFileSync(path, lines(1, 5));
  const st = statSync(path, { bigint: true });
  const start = { ino: st.ino, offset: Number(st.size) };
  appendFileSync(path, lines(6, 7));
  rotate(path, 5);
  appendFileSync(path, lines(8, 9));
  const got: string[] = [];
  for await (const e of readLog(path, { follow: true }, () => true, start)) got.push(e.text);
  assert.equal(got, numbers(6, 9));
});

test.run();
