import { test } from "uvu";
import * as assert from "uvu/assert";
import { SchedulingQueue } from "../../../internal/scheduler/queue";

test("higher priority pods are popped first, then the earlier ones", async () => {
  let t = 0;
  const q = new SchedulingQueue({ now: () => t++ });
  q.add("default/low", 0);
  q.add("default/high", 1000);
  q.add("default/low2", 0);
  const order = [await q.pop(), await q.pop(), await q.pop()];
  assert.equal(order, ["default/high", "default/low", "default/low2"]);
  q.shutdown();
});

test("an unschedulable pod waits for a cluster change, then for its back-off", async () => {
  const q = new SchedulingQueue({ initialBackoffMs: 50 });
  q.add("default/p");
  const k = (await q.pop())!;
  q.failed(k);
  assert.equal(q.pending, { active: 0, backoff: 0, unschedulable: 1 });
  q.moveAllToActiveOrBackoff();
  assert.equal(q.pending, { active: 0, backoff: 1, unschedulable: 0 });
  const started = Date.now();
  assert.is(await q.pop(), "default/p");
  assert.ok(Date.now() - started >= 40);
  q.shutdown();
});

test("a change during the attempt sends the failed pod to back-off, not to wait forever", async () => {
  const q = new SchedulingQueue({ initialBackoffMs: 10 });
  q.add("default/p");
  const k = (await q.pop())!;
  q.moveAllToActiveOrBackoff();
  q.failed(k);
  assert.equal(q.pending, { active: 0, backoff: 1, unschedulable: 0 });
  assert.is(await q.pop(), "default/p");
  q.shutdown();
});

test("unschedulable pods are retried after the flush interval without any change", async () => {
  const q = new SchedulingQueue({ initialBackoffMs: 1, unschedulableFlushMs: 30 });
  q.add("default/p");
  q.failed((await q.pop())!);
  // The queue's own timer does not hold the process open.
  const keepAlive = setTimeout(() => {}, 5_000);
  assert.is(await q.pop(), "default/p");
  clearTimeout(keepAlive);
  q.shutdown();
});

test("a deleted pod leaves the queue", async () => {
  const q = new SchedulingQueue();
  q.add("default/a");
  q.add("default/b");
  q.delete("default/a");
  assert.is(await q.pop(), "default/b");
  q.shutdown();
  assert.is(await q.pop(), undefined);
});

test("a pod whose bind failed comes back after a growing back-off", async () => {
  const q = new SchedulingQueue({ initialBackoffMs: 30 });
  q.bindFailed("default/p");
  assert.equal(q.pending, { active: 0, backoff: 1, unschedulable: 0 });
  let t = Date.now();
  assert.is(await q.pop(), "default/p");
  assert.ok(Date.now() - t >= 25);
  q.done("default/p");
  q.bindFailed("default/p");
  t = Date.now();
  assert.is(await q.pop(), "default/p");
  assert.ok(Date.now() - t >= 55, "second failure waits twice as long");
  q.shutdown();
});

test.run();
