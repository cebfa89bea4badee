// The kubelet's event recorder: repeats bump a count, and events leave at a bounded rate.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Client } from "../../../internal/client";
import { EventRecorder } from "../../../internal/kubelet/events";

type Obj = Record<string, any>;

function fakeClient() {
  const created: { at: number; ev: Obj }[] = [];
  const patched: Obj[] = [];
  const client = {
    create: async (_r: unknown, _ns: string, ev: Obj) => {
      created.push({ at: Date.now(), ev });
      return ev;
    },
    patch: async (_r: unknown, _ns: string, _name: string, _type: string, body: Obj) => {
      patched.push(body);
      return body;
    },
  } as unknown as Client;
  return { client, created, patched };
}

const pod = (name: string) => ({ metadata: { name, namespace: "default", uid: `uid-${name}` }, spec: {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("events beyond the burst wait for the rate, in the order they were recorded", async () => {
  const { client, created } = fakeClient();
  const rec = new EventRecorder(client, "n1", () => {}, { qps: 20, burst: 5 });
  const t0 = Date.now();
  for (let i = 0; i < 10; i++) rec.record(pod(`p${i}`), "Normal", "Started", "Started container c", "c");
  await sleep(20);
  assert.ok(created.length >= 5 && created.length < 10, `${created.length} sent at once`);
  assert.ok(created[4].at - t0 < 100, "the burst leaves at once");
  await sleep(600);
  assert.is(created.length, 10);
  assert.equal(
    created.map((c) => c.ev.involvedObject.name),
    Array.from({ length: 10 }, (_, i) => `p${i}`),
  );
  // 5 more tokens at 20/s take about 250 ms.
  assert.ok(created[9].at - t0 >= 200, `last event after ${created[9].at - t0} ms`);
});

test("a repeated event bumps the count of the first one instead of creating another", async () => {
  const { client, created, patched } = fakeClient();
  const rec = new EventRecorder(client, "n1", () => {});
  rec.record(pod("a"), "Warning", "BackOff", "Back-off restarting failed container", "c");
  await sleep(10);
  rec.record(pod("a"), "Warning", "BackOff", "Back-off restarting failed container", "c");
  await sleep(10);
  assert.is(created.length, 1);
  assert.is(created[0].ev.count, 1);
  assert.is(patched.length, 1);
  assert.is(patched[0].count, 2);
});

test.run();
