// Kill -9 at random points while a child process writes as fast as it can: every
// write the child saw acknowledged must be there, with its value, after reopening.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openStore, type WatchEvent } from "../../../internal/store";
import { valueFor } from "./crash-writer";

const ROUNDS = 5;
const dec = new TextDecoder();

interface Acked {
  creates: Array<{ key: string; rev: number }>;
  counters: Map<string, { rev: number; n: number }>;
  lastRev: number;
}

/** Runs the writer until it has acknowledged something, then SIGKILLs it after `delayMs`. */
async function runAndKill(
  path: string,
  round: number,
  delayMs: number,
  children: Set<ChildProcess>,
): Promise<Acked> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(__dirname, "crash-writer.ts"), path, String(round)],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.add(child);
  const acked: Acked = { creates: [], counters: new Map(), lastRev: 0 };
  let buf = "";
  let stderr = "";
  let firstAck: (() => void) | undefined;
  const started = new Promise<void>((resolve) => {
    firstAck = resolve;
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split("\n");
    buf = lines.pop()!;
    for (const line of lines) {
      const [kind, key, rev, n] = line.split(" ");
      if (kind === "c") acked.creates.push({ key, rev: Number(rev) });
      else if (kind === "u") acked.counters.set(key, { rev: Number(rev), n: Number(n) });
      else continue;
      acked.lastRev = Math.max(acked.lastRev, Number(rev));
      firstAck?.();
    }
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.on("exit", (code, signal) => resolve(signal ?? code)),
  );
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      started,
      exited.then((how) => {
        throw new Error(`writer exited (${how}) before writing: ${stderr}`);
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`writer never acknowledged: ${stderr}`)), 30_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  await new Promise((r) => setTimeout(r, delayMs));
  child.kill("SIGKILL");
  const how = await exited;
  children.delete(child);
  assert.is(how, "SIGKILL", `writer died on its own: ${stderr}`);
  return acked;
}

test("every acknowledged write survives SIGKILL at random points, and the revision never goes back", async () => {
  const dir = mkdtempSync(join(tmpdir(), "tsk-crash-"));
  const path = join(dir, "db");
  const children = new Set<ChildProcess>();
  try {
    let lastRevision = 0;
    let total = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const acked = await runAndKill(path, round, 100 + Math.floor(Math.random() * 900), children);
      assert.ok(acked.creates.length > 0);
      total += acked.creates.length;
      const store = await openStore({ backend: "leveldb", path });
      try {
        assert.ok(
          store.revision >= acked.lastRev,
          `revision ${store.revision} < last acknowledged ${acked.lastRev}`,
        );
        assert.ok(store.revision >= lastRevision, "revision went back after a crash");
        lastRevision = store.revision;
        for (const { key, rev } of acked.creates) {
          const kv = await store.get(key);
          assert.ok(kv, `acknowledged ${key} (revision ${rev}) is missing after kill -9 in round ${round}`);
          assert.is(dec.decode(kv.value), valueFor(key));
          assert.is(kv.modRevision, rev);
        }
        for (const [key, { rev, n }] of acked.counters) {
          const kv = (await store.get(key))!;
          assert.ok(kv.modRevision >= rev, `${key}: revision ${kv.modRevision} < acknowledged ${rev}`);
          assert.ok(Number(dec.decode(kv.value)) >= n, `${key}: value older than acknowledged ${n}`);
        }
        // The change log survived too: a watch resumes from before the crash, gap-free.
        const from = Math.max(store.oldestRevision - 1, store.revision - 500);
        const seen: WatchEvent[] = [];
        const w = store.watch("", from, (evs) => seen.push(...evs));
        for (let i = 0; i < 100 && seen.length < store.revision - from; i++)
          await new Promise((r) => setTimeout(r, 20));
        w.cancel();
        assert.equal(
          seen.map((e) => e.revision),
          Array.from({ length: store.revision - from }, (_, i) => from + 1 + i),
        );
        for (const ev of seen) {
          if (
            ev.type === "put" &&
            !ev.kv.key.startsWith("/crash/counter/") &&
            !ev.kv.key.startsWith("/crash/after/")
          ) {
            assert.is(dec.decode(ev.kv.value), valueFor(ev.kv.key));
          }
        }
        // The store still takes writes at the next revision after recovery.
        const next = await store.create(`/crash/after/${round}`, new Uint8Array([round]));
        assert.is(next.modRevision, lastRevision + 1);
        lastRevision = next.modRevision;
      } finally {
        await store.close();
      }
    }
    assert.ok(total > 100, `only ${total} acknowledged writes in ${ROUNDS} rounds`);
    console.log(`  ${total} acknowledged writes checked over ${ROUNDS} kills; revision ${lastRevision}`);
  } finally {
    for (const c of children) c.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
