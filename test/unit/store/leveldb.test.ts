// The conformance suite against the LevelDB store, plus what only LevelDB has:
// group commit counters, the bounded change log, a missing backend.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openStore, type StoreConfig } from "../../../internal/store";
import { bytes, collector, type StoreBackend, storeConformance } from "./conformance";

function levelBackend(defaults: Partial<StoreConfig> = {}): Promise<StoreBackend & { path: string }> {
  const dir = mkdtempSync(join(tmpdir(), "tsk-store-"));
  const path = join(dir, "db");
  return Promise.resolve({
    path,
    open: (opts) => openStore({ ...defaults, backend: "leveldb", path, ...opts }),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  });
}

storeConformance("leveldb store", () => levelBackend()).run();
// The same with no event values kept in memory: replays and old values come from disk.
storeConformance("leveldb store, history on disk only", () => levelBackend({ historyCacheBytes: 0 })).run();

async function withStore<T>(fn: (b: StoreBackend & { path: string }) => Promise<T>): Promise<T> {
  const b = await levelBackend();
  try {
    return await fn(b);
  } finally {
    await b.destroy();
  }
}

test("concurrent writers share fsyncs: fewer durable batches than writes", () =>
  withStore(async (b) => {
    const store = await b.open();
    try {
      await Promise.all(Array.from({ length: 500 }, (_, i) => store.create(`/g/${i}`, bytes("x"))));
      const s = store.stats!();
      assert.is(s.writes, 500);
      assert.ok(s.batches < 100, `500 concurrent writes took ${s.batches} batches`);
      assert.ok(s.largestBatch > 1);
    } finally {
      await store.close();
    }
  }));

test("the change log on disk stays within the history window, across restarts", () =>
  withStore(async (b) => {
    const logRecords = async () => {
      const db = new Level<Buffer, Buffer>(b.path, { keyEncoding: "buffer", valueEncoding: "buffer" });
      try {
        return (await db.keys({ gte: Buffer.from("l"), lt: Buffer.from("m") }).all()).length;
      } finally {
        await db.close();
      }
    };
    let store = await b.open({ historyWindow: 50 });
    for (let i = 0; i < 3; i++) await store.create(`/k${i}`, bytes("0"));
    for (let i = 0; i < 300; i++) await store.update(`/k${i % 3}`, bytes(String(i)));
    await store.close();
    // The window, plus the entries the last batch pushed out (deleted with the next batch).
    assert.is(await logRecords(), 51);
    store = await b.open({ historyWindow: 20 });
    try {
      assert.is(store.revision, 303);
      assert.is(store.stats!().historyEvents, 20);
      assert.is(store.oldestRevision, 284);
    } finally {
      await store.close();
    }
    assert.is(await logRecords(), 20);
  }));

test("bad arguments are refused with clear errors and the store keeps working", () =>
  withStore(async (b) => {
    const store = await b.open();
    try {
      const refused = async (p: Promise<unknown>, what: string) => {
        const err = await p.then(
          () => undefined,
          (e: Error) => e,
        );
        assert.instance(err, TypeError, what);
        return err!.message;
      };
      assert.match(await refused(store.create("", bytes("x")), "empty key"), "key");
      assert.match(
        await refused(store.create("/a", "text" as unknown as Uint8Array), "string value"),
        "Uint8Array",
      );
      assert.match(
        await refused(store.update("/a", bytes("x"), -1), "negative revision"),
        "expectedModRevision",
      );
      assert.match(await refused(store.list("/", { limit: -5 }), "negative limit"), "limit");
      assert.throws(() => store.watch("/", -1, () => {}), /fromRevision/);
      assert.is((await store.create("/a", bytes("x"))).modRevision, 1);
    } finally {
      await store.close();
    }
  }));

test("history values in memory stay within historyCacheBytes; older ones replay from disk", () =>
  withStore(async (b) => {
    const store = await b.open({ historyCacheBytes: 64 * 1024 });
    try {
      const big = (i: number) => new Uint8Array(10_000).fill(i);
      for (let i = 0; i < 50; i++) await store.create(`/big/${i}`, big(i));
      const s = store.stats!();
      assert.ok(s.historyCachedBytes <= 64 * 1024, `${s.historyCachedBytes} bytes cached`);
      assert.ok(s.historyCachedBytes > 0);
      const c = collector();
      const w = store.watch("/big/", 0, c.on);
      const evs = await c.until(50);
      evs.forEach((ev, i) => {
        assert.ok(ev.type === "put" && ev.kv.value.length === 10_000 && ev.kv.value[0] === i, `event ${i}`);
      });
      w.cancel();
    } finally {
      await store.close();
    }
  }));

test("an unknown backend is an error naming it", async () => {
  try {
    await openStore({ backend: "etcd", path: "/nonexistent" } as unknown as StoreConfig);
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, 'unknown backend "etcd"');
  }
});

test("a second open of the same directory fails with a clear error", () =>
  withStore(async (b) => {
    const store = await b.open();
    try {
      await b.open().then(
        () => assert.unreachable("opened twice"),
        (err: Error) => assert.match(err.message, "opening store at"),
      );
    } finally {
      await store.close();
    }
  }));

test("watchers of one prefix get each batch in one call", () =>
  withStore(async (b) => {
    const store = await b.open();
    try {
      const c = collector();
      const w = store.watch("/b/", 0, c.on);
      await Promise.all(Array.from({ length: 100 }, (_, i) => store.create(`/b/${i}`, bytes("x"))));
      await c.until(100);
      assert.ok(c.calls < 100, `${c.calls} callbacks for 100 grouped writes`);
      w.cancel();
    } finally {
      await store.close();
    }
  }));

test.run();
