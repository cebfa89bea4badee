// Size-based log rotation by the monitor (the kubelet's containerLogMaxSize and
// containerLogMaxFiles), and readers that follow the log across rotations.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Runtime } from "../../../internal/runtime";
import { type Env, makeEnv } from "./support";

const MAX_SIZE = 64 * 1024;
const MAX_FILES = 3;
const LINES = 20000;

let env: Env;
let rt: Runtime;
test.before(() => {
  env = makeEnv("logrot");
  // The same data dir, node and cgroups as env.rt (so env.cleanup removes what this creates).
  rt = new Runtime({ ...env.rt.config, containerLogMaxSize: MAX_SIZE, containerLogMaxFiles: MAX_FILES });
});
test.after(async () => {
  await env.cleanup();
});

/** The monitor's own memory: anonymous pages (heap, stack, data). Its static binary's
 * text is file-backed and shared by every monitor on the node. */
function anonKiB(pid: number): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  return Number(/^Anonymous:\s+(\d+) kB/m.exec(text)?.[1] ?? Number.NaN);
}

/** Every number 1..n must appear once, in order, as "line <n> ...". */
function numbersOf(texts: string[]): number[] {
  return texts.map((t) => Number(/^line (\d+) /.exec(t)?.[1] ?? Number.NaN));
}

test("a container printing fast keeps at most 3 bounded files; logs and logs -f see its lines in order", async () => {
  // Bursts of 1000 lines (~90 KiB, more than a file) with a short pause, then it
  // waits for /tmp/done so its monitor can be measured while it still runs.
  const script =
    `i=1; while [ $i -le ${LINES} ]; do echo "line $i padding-padding-padding-padding-padding"; ` +
    `if [ $((i % 1000)) -eq 0 ]; then usleep 50000; fi; i=$((i+1)); done; ` +
    "while [ ! -e /tmp/done ]; do usleep 20000; done";
  const id = await rt.create({ layers: [env.layer], command: ["sh", "-c", script] });
  const dir = join(rt.containersDir, id);

  // The follow reader is running before the container prints anything.
  const followed: string[] = [];
  const reader = (async () => {
    for await (const e of rt.logs(id, { follow: true })) followed.push(e.text);
  })();
  // Samples the directory while it writes: never more than MAX_FILES logs, none over the limit.
  let maxFiles = 0;
  let maxSize = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const logs = readdirSync(dir).filter((n) => n.startsWith("container.log"));
      maxFiles = Math.max(maxFiles, logs.length);
      for (const n of logs) {
        try {
          maxSize = Math.max(maxSize, statSync(join(dir, n)).size);
        } catch {}
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  try {
    await rt.start(id);
    const deadline = Date.now() + 60_000;
    while (followed.length < LINES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const st = JSON.parse(readFileSync(join(dir, "status"), "utf8")) as { monitorPid: number };
    const monitorKiB = anonKiB(st.monitorPid);
    console.log(`monitor anonymous memory after ${LINES} lines and rotations: ${monitorKiB} KiB`);
    assert.ok(monitorKiB < 300, `monitor anonymous memory ${monitorKiB} KiB`);
    assert.is(await rt.exec(id, ["touch", "/tmp/done"]).exited, 0);
    assert.is((await rt.wait(id)).exitCode, 0);
    await reader;
  } finally {
    sampling = false;
    await sampler;
  }

  const followedNumbers = numbersOf(followed);
  assert.is(followedNumbers.length, LINES);
  for (let i = 0; i < LINES; i++)
    if (followedNumbers[i] !== i + 1) assert.unreachable(`line ${i + 1}: got ${followed[i]}`);

  assert.ok(maxFiles >= 1 && maxFiles <= MAX_FILES, `saw ${maxFiles} log files at once`);
  assert.ok(maxSize <= MAX_SIZE, `a log file grew to ${maxSize} bytes`);
  assert.equal(
    readdirSync(dir)
      .filter((n) => n.startsWith("container.log"))
      .sort(),
    ["container.log", "container.log.1", "container.log.2"],
  );

  // What is kept: the newest lines, consecutive, ending with the last one.
  const kept: string[] = [];
  for await (const e of rt.logs(id)) kept.push(e.text);
  const keptNumbers = numbersOf(kept);
  const first = keptNumbers[0];
  assert.ok(first > 1, "the oldest lines were rotated away");
  assert.ok(kept.length > (2 * MAX_SIZE) / 100, `only ${kept.length} lines kept`);
  assert.equal(
    keptNumbers,
    Array.from({ length: LINES - first + 1 }, (_, i) => first + i),
  );

  const tail: string[] = [];
  for await (const e of rt.logs(id, { tail: 5 })) tail.push(e.text);
  assert.equal(numbersOf(tail), [LINES - 4, LINES - 3, LINES - 2, LINES - 1, LINES]);
});

test("a CRI line is never split across two files", async () => {
  // Lines of 3000 bytes against a 4 KiB limit: every file holds whole lines only.
  const small = new Runtime({ ...env.rt.config, containerLogMaxSize: 4096, containerLogMaxFiles: 4 });
  const id = await small.create({
    layers: [env.layer],
    command: ["sh", "-c", 'x=$(printf "%03000d" 0); for i in 1 2 3 4 5 6; do echo "$i$x"; done'],
  });
  await small.start(id);
  assert.is((await small.wait(id)).exitCode, 0);
  const dir = join(small.containersDir, id);
  const names = readdirSync(dir).filter((n) => n.startsWith("container.log"));
  assert.is(names.length, 4);
  for (const n of names) {
    const text = readFileSync(join(dir, n), "utf8");
    assert.ok(text.endsWith("\n"), `${n} ends inside a line`);
    for (const l of text.split("\n").slice(0, -1))
      assert.match(l, /^\S+Z stdout F [1-6]0{3000}$/, `${n} holds a broken line`);
  }
  const all: string[] = [];
  for await (const e of small.logs(id)) all.push(e.text.slice(0, 1));
  assert.equal(all, ["3", "4", "5", "6"]);
});

test("a log file limit below 2 is refused with a clear error", () => {
  assert.throws(
    () => new Runtime({ ...env.rt.config, containerLogMaxFiles: 1 }),
    /log max files 1: must be at least 2/,
  );
  assert.throws(() => new Runtime({ ...env.rt.config, containerLogMaxSize: -1 }), /log max size -1/);
});

test.run();
