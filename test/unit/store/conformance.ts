// The behaviour every Store implementation must show. A backend's test file calls
// storeConformance with a factory and runs the returned suite.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  type KeyValue,
  type Store,
  type StoreConfig,
  StoreError,
  type StoreErrorCode,
  type WatchEvent,
} from "../../../internal/store";

export interface StoreBackend {
  /** Opens the backend's store; after close(), open() again sees the same data (a restart). */
  open(opts?: Partial<Omit<StoreConfig, "backend" | "path">>): Promise<Store>;
  /** Removes everything the backend created. */
  destroy(): Promise<void>;
}

export type BackendFactory = () => Promise<StoreBackend>;

const enc = new TextEncoder();
const dec = new TextDecoder();
export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => dec.decode(b);

export async function expectStoreError(
  p: Promise<unknown> | (() => unknown),
  code: StoreErrorCode,
): Promise<StoreError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (err) {
    assert.instance(err, StoreError, `expected StoreError ${code}, got ${err}`);
    assert.is((err as StoreError).code, code);
    return err as StoreError;
  }
  assert.unreachable(`expected StoreError ${code}, but it succeeded`);
  throw new Error("unreachable");
}

/** Collects watch events; `until(n)` waits until n have arrived. */
export function collector() {
  const events: WatchEvent[] = [];
  let calls = 0;
  let wake: (() => void) | undefined;
  return {
    events,
    get calls() {
      return calls;
    },
    on: (evs: WatchEvent[]) => {
      calls++;
      events.push(...evs);
      wake?.();
    },
    async until(n: number, ms = 5000): Promise<WatchEvent[]> {
      const deadline = Date.now() + ms;
      while (events.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`watch: got ${events.length} events, expected ${n}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, left);
        });
      }
      return events;
    },
  };
}

const keyOf = (ev: WatchEvent) => (ev.type === "put" ? ev.kv.key : ev.key);
const settle = () => new Promise((r) => setTimeout(r, 30));

interface Ctx {
  backend: StoreBackend;
  store: Store;
}

export function storeConformance(name: string, factory: BackendFactory) {
  const test = suite<Ctx>(name, {} as Ctx);

  test.before.each(async (ctx) => {
    ctx.backend = await factory();
    ctx.store = await ctx.backend.open();
  });
  test.after.each(async (ctx) => {
    await ctx.store.close();
    await ctx.backend.destroy();
  });

  test("a fresh store is at revision 0 and empty", async ({ store }) => {
    assert.is(store.revision, 0);
    assert.is(await store.get("/a"), undefined);
    const l = await store.list("/");
    assert.equal(l.kvs, []);
    assert.is(l.revision, 0);
  });

  test("create stores the bytes and stamps create and mod revision with the next revision", async ({
    store,
  }) => {
    const value = new Uint8Array([0, 1, 2, 255, 0]);
    const kv = await store.create("/pods/a", value);
    assert.is(kv.createRevision, 1);
    assert.is(kv.modRevision, 1);
    assert.is(store.revision, 1);
    const got = await store.get("/pods/a");
    assert.ok(got);
    assert.equal([...got.value], [0, 1, 2, 255, 0]);
    assert.is(got.createRevision, 1);
    assert.is(got.modRevision, 1);
    const empty = await store.create("/pods/empty", new Uint8Array(0));
    assert.is((await store.get("/pods/empty"))?.value.length, 0);
    assert.is(empty.modRevision, 2);
  });

  test("create of an existing key fails with AlreadyExists naming the key and carrying it", async ({
    store,
  }) => {
    await store.create("/k", bytes("one"));
    const err = await expectStoreError(store.create("/k", bytes("two")), "AlreadyExists");
    assert.match(err.message, "/k");
    assert.is(text(err.current!.value), "one");
    assert.is(text((await store.get("/k"))!.value), "one");
    assert.is(store.revision, 1, "a failed write takes no revision");
  });

  test("update keeps createRevision and moves modRevision to the global revision", async ({ store }) => {
    await store.create("/a", bytes("1"));
    await store.create("/b", bytes("1"));
    const kv = await store.update("/a", bytes("2"));
    assert.is(kv.createRevision, 1);
    assert.is(kv.modRevision, 3);
    assert.is(text((await store.get("/a"))!.value), "2");
    assert.is((await store.get("/b"))!.modRevision, 2);
  });

  test("update and delete of a missing key fail with NotFound naming the key", async ({ store }) => {
    const u = await expectStoreError(store.update("/nope", bytes("x")), "NotFound");
    assert.match(u.message, "/nope");
    await expectStoreError(store.delete("/nope"), "NotFound");
    assert.is(store.revision, 0);
  });

  test("update with a stale expectedModRevision fails with Conflict and the current value", async ({
    store,
  }) => {
    const v1 = await store.create("/c", bytes("v1"));
    const v2 = await store.update("/c", bytes("v2"), v1.modRevision);
    const err = await expectStoreError(store.update("/c", bytes("v3"), v1.modRevision), "Conflict");
    assert.match(err.message, "/c");
    assert.is(err.current!.modRevision, v2.modRevision);
    assert.is(text(err.current!.value), "v2");
    const v3 = await store.update("/c", bytes("v3"), v2.modRevision);
    assert.is(v3.modRevision, v2.modRevision + 1);
  });

  test("delete returns what was deleted, honours expectedModRevision, and re-create starts over", async ({
    store,
  }) => {
    const a = await store.create("/d", bytes("x"));
    await store.update("/d", bytes("y"));
    await expectStoreError(store.delete("/d", a.modRevision), "Conflict");
    const gone = await store.delete("/d", 2);
    assert.is(text(gone.value), "y");
    assert.is(gone.modRevision, 2);
    assert.is(store.revision, 3);
    assert.is(await store.get("/d"), undefined);
    const again = await store.create("/d", bytes("z"));
    assert.is(again.createRevision, 4);
  });

  test("list returns the keys under the prefix in key order, nothing else", async ({ store }) => {
    for (const k of ["/pods/ns1/b", "/pods/ns1/a", "/pods/ns2/a", "/pods/ns1x", "/services/ns1/a"]) {
      await store.create(k, bytes(k));
    }
    const l = await store.list("/pods/ns1/");
    assert.equal(
      l.kvs.map((kv) => kv.key),
      ["/pods/ns1/a", "/pods/ns1/b"],
    );
    assert.is(text(l.kvs[0].value), "/pods/ns1/a");
    assert.is(l.revision, 5);
    assert.is(l.nextKey, undefined);
    assert.is((await store.list("/pods/")).kvs.length, 4);
    assert.is((await store.list("")).kvs.length, 5);
  });

  test("paging with limit and after walks every key once and counts the rest", async ({ store }) => {
    const keys: string[] = [];
    for (let i = 0; i < 25; i++) keys.push(`/cm/${String(i).padStart(3, "0")}`);
    await Promise.all(keys.map((k) => store.create(k, bytes(k))));
    await store.create("/cn/other", bytes("x"));
    const seen: string[] = [];
    let after: string | undefined;
    let revision: number | undefined;
    const remainings: Array<number | undefined> = [];
    for (;;) {
      const page = await store.list("/cm/", { limit: 10, after, revision });
      seen.push(...page.kvs.map((kv) => kv.key));
      remainings.push(page.remaining);
      revision = page.revision;
      if (!page.nextKey) break;
      after = page.nextKey;
    }
    assert.equal(seen, keys);
    assert.equal(remainings, [15, 5, undefined]);
    const exact = await store.list("/cm/", { limit: 25 });
    assert.is(exact.nextKey, undefined, "no continuation when the page holds the last key");
  });

  test("a continuation at a revision sees the state of that revision, not later writes", async ({
    store,
  }) => {
    for (let i = 0; i < 6; i++) await store.create(`/p/${i}`, bytes(`v${i}`));
    const first = await store.list("/p/", { limit: 2 });
    assert.equal(
      first.kvs.map((kv) => kv.key),
      ["/p/0", "/p/1"],
    );
    assert.is(first.remaining, 4);
    // Later writes: a delete, an update, a create, all after the first page's key.
    await store.delete("/p/3");
    await store.update("/p/4", bytes("changed"));
    await store.create("/p/2a", bytes("new"));
    await store.delete("/p/0");
    const rest = await store.list("/p/", { after: first.nextKey, revision: first.revision });
    assert.equal(
      rest.kvs.map((kv) => `${kv.key}=${text(kv.value)}`),
      ["/p/2=v2", "/p/3=v3", "/p/4=v4", "/p/5=v5"],
    );
    assert.is(rest.revision, first.revision);
    const mid = await store.list("/p/", { after: first.nextKey, revision: first.revision, limit: 2 });
    assert.equal(
      mid.kvs.map((kv) => kv.key),
      ["/p/2", "/p/3"],
    );
    assert.is(mid.remaining, 2);
    const now = await store.list("/p/");
    assert.equal(
      now.kvs.map((kv) => `${kv.key}=${text(kv.value)}`),
      ["/p/1=v1", "/p/2=v2", "/p/2a=new", "/p/4=changed", "/p/5=v5"],
    );
  });

  test("a list at a compacted revision fails with TooOld", async ({ store }) => {
    for (let i = 0; i < 5; i++) await store.create(`/t/${i}`, bytes("x"));
    const page = await store.list("/t/", { limit: 2 });
    await store.update("/t/4", bytes("y"));
    await store.compact(store.revision);
    await expectStoreError(store.list("/t/", { after: page.nextKey, revision: page.revision }), "TooOld");
    assert.is((await store.list("/t/")).kvs.length, 5);
  });

  test("watch delivers every change after fromRevision in order, with prev values", async ({ store }) => {
    const c = collector();
    const w = store.watch("/w/", 0, c.on);
    await store.create("/w/a", bytes("1"));
    await store.create("/other", bytes("1"));
    await store.update("/w/a", bytes("2"));
    await store.delete("/w/a");
    const evs = await c.until(3);
    assert.equal(
      evs.map((e) => [e.type, e.revision, keyOf(e)]),
      [
        ["put", 1, "/w/a"],
        ["put", 3, "/w/a"],
        ["delete", 4, "/w/a"],
      ],
    );
    const upd = evs[1];
    assert.ok(upd.type === "put" && upd.prev && text(upd.prev.value) === "1");
    assert.ok(evs[0].type === "put" && evs[0].prev === undefined, "a create has no prev");
    const del = evs[2];
    assert.ok(del.type === "delete");
    assert.is(text(del.prev.value), "2");
    assert.is(del.prev.modRevision, 3);
    w.cancel();
  });

  test("watch from a past revision replays history then continues live, no gaps or repeats", async ({
    store,
  }) => {
    for (let i = 0; i < 20; i++) await store.create(`/r/${i}`, bytes(String(i)));
    const c = collector();
    const w = store.watch("/r/", 7, c.on);
    const writes: Promise<KeyValue>[] = [];
    for (let i = 0; i < 30; i++) writes.push(store.update(`/r/${i % 20}`, bytes(`u${i}`)));
    await Promise.all(writes);
    const evs = await c.until(43);
    await settle();
    assert.is(c.events.length, 43);
    assert.equal(
      evs.map((e) => e.revision),
      Array.from({ length: 43 }, (_, i) => i + 8),
    );
    w.cancel();
  });

  test("a watch started from the current revision sees only later changes", async ({ store }) => {
    await store.create("/n/a", bytes("1"));
    const c = collector();
    const w = store.watch("/n/", store.revision, c.on);
    await settle();
    assert.is(c.events.length, 0);
    await store.update("/n/a", bytes("2"));
    assert.equal(
      (await c.until(1)).map((e) => e.revision),
      [2],
    );
    w.cancel();
  });

  test("a cancelled watch receives nothing more", async ({ store }) => {
    const c = collector();
    const w = store.watch("", 0, c.on);
    await store.create("/x", bytes("1"));
    await c.until(1);
    w.cancel();
    await store.update("/x", bytes("2"));
    await settle();
    assert.is(c.events.length, 1);
  });

  test("watch from before a compaction fails with TooOld; from the compaction point works", async ({
    store,
  }) => {
    for (let i = 0; i < 10; i++) await store.create(`/z/${i}`, bytes("x"));
    await store.compact(6);
    assert.is(store.oldestRevision, 6);
    await expectStoreError(() => store.watch("/z/", 4, () => {}), "TooOld");
    const c = collector();
    const w = store.watch("/z/", 5, c.on);
    assert.equal(
      (await c.until(5)).map((e) => e.revision),
      [6, 7, 8, 9, 10],
    );
    w.cancel();
  });

  test("watch beyond the history window fails with TooOld", async ({ backend, store }) => {
    await store.close();
    const small = await backend.open({ historyWindow: 5 });
    try {
      for (let i = 0; i < 12; i++) await small.create(`/h/${i}`, bytes("x"));
      assert.is(small.oldestRevision, 8);
      await expectStoreError(() => small.watch("", 3, () => {}), "TooOld");
      const c = collector();
      const w = small.watch("", 7, c.on);
      assert.equal(
        (await c.until(5)).map((e) => e.revision),
        [8, 9, 10, 11, 12],
      );
      w.cancel();
    } finally {
      await small.close();
    }
  });

  test("concurrent compare-and-swap increments from many writers lose no update", async ({ store }) => {
    await store.create("/counter", bytes("0"));
    const writers = 200;
    let conflicts = 0;
    async function increment() {
      for (;;) {
        const cur = (await store.get("/counter"))!;
        try {
          await store.update("/counter", bytes(String(Number(text(cur.value)) + 1)), cur.modRevision);
          return;
        } catch (err) {
          if (!(err instanceof StoreError) || err.code !== "Conflict") throw err;
          conflicts++;
        }
      }
    }
    await Promise.all(Array.from({ length: writers }, increment));
    const final = (await store.get("/counter"))!;
    assert.is(text(final.value), String(writers));
    assert.is(final.modRevision, writers + 1);
    assert.ok(conflicts > 0, "writers raced");
  });

  test("of many concurrent creates of one key exactly one wins", async ({ store }) => {
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => store.create("/once", bytes(`${i}`))),
    );
    const won = results.filter((r) => r.status === "fulfilled");
    assert.is(won.length, 1);
    for (const r of results) {
      if (r.status === "rejected") assert.is((r.reason as StoreError).code, "AlreadyExists");
    }
  });

  test("after a restart the revision, the data and the watch history are all back", async ({
    backend,
    store,
  }) => {
    await store.create("/s/a", bytes("1"));
    await store.create("/s/b", bytes("1"));
    await store.update("/s/a", bytes("2"));
    await store.delete("/s/b");
    await store.close();
    const again = await backend.open();
    try {
      assert.is(again.revision, 4);
      assert.is(text((await again.get("/s/a"))!.value), "2");
      assert.is((await again.get("/s/a"))!.createRevision, 1);
      assert.is(await again.get("/s/b"), undefined);
      await expectStoreError(again.create("/s/a", bytes("x")), "AlreadyExists");
      const page = await again.list("/s/", { limit: 1 });
      assert.equal(
        page.kvs.map((kv) => kv.key),
        ["/s/a"],
      );
      assert.is(page.nextKey, undefined);
      const c = collector();
      const w = again.watch("/s/", 1, c.on);
      const evs = await c.until(3);
      assert.equal(
        evs.map((e) => [e.type, e.revision, keyOf(e)]),
        [
          ["put", 2, "/s/b"],
          ["put", 3, "/s/a"],
          ["delete", 4, "/s/b"],
        ],
      );
      const del = evs[2];
      assert.ok(del.type === "delete" && text(del.prev.value) === "1");
      const next = await again.create("/s/c", bytes("1"));
      assert.is(next.modRevision, 5);
      assert.equal(
        (await c.until(4)).map((e) => e.revision),
        [2, 3, 4, 5],
      );
      w.cancel();
    } finally {
      await again.close();
    }
  });

  test("a closed store refuses every call with Closed", async ({ store }) => {
    await store.create("/q", bytes("1"));
    await store.close();
    await expectStoreError(store.get("/q"), "Closed");
    await expectStoreError(store.list("/"), "Closed");
    await expectStoreError(store.create("/q2", bytes("1")), "Closed");
    await expectStoreError(store.update("/q", bytes("1")), "Closed");
    await expectStoreError(store.delete("/q"), "Closed");
    await expectStoreError(() => store.watch("/", 0, () => {}), "Closed");
  });

  test("writes queued before close still complete", async ({ store }) => {
    const writes = Array.from({ length: 20 }, (_, i) => store.create(`/late/${i}`, bytes("x")));
    const closing = store.close();
    const done = await Promise.allSettled(writes);
    await closing;
    assert.ok(done.every((r) => r.status === "fulfilled"));
  });

  return test;
}
