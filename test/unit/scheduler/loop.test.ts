// The scheduling loop against an in-memory client (list, watch, create, patch, bind):
// what it writes for bound and unschedulable pods and when it tries again.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ResourceInfo } from "../../../internal/api/resources";
import type { Client, KObject, WatchEvent } from "../../../internal/client";
import { Scheduler } from "../../../internal/scheduler";
import { node, pod } from "./fixtures";

class FakeClient {
  rv = 1;
  readonly objects = new Map<string, Map<string, KObject>>();
  readonly watchers = new Map<string, Array<(ev: WatchEvent) => void>>();
  readonly binds: Array<[string, string]> = [];
  bindFailures = 0;

  private table(plural: string): Map<string, KObject> {
    let t = this.objects.get(plural);
    if (!t) {
      t = new Map();
      this.objects.set(plural, t);
    }
    return t;
  }

  private readonly log: Array<{ plural: string; rv: number; ev: WatchEvent }> = [];

  private emit(plural: string, type: WatchEvent["type"], object: KObject): void {
    this.log.push({ plural, rv: this.rv, ev: { type, object: structuredClone(object) } });
    for (const w of this.watchers.get(plural) ?? []) w({ type, object: structuredClone(object) });
  }

  put(plural: string, obj: KObject): KObject {
    const key = `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name}`;
    const t = this.table(plural);
    const type = t.has(key) ? "MODIFIED" : "ADDED";
    obj.metadata = { ...obj.metadata, resourceVersion: String(++this.rv) };
    t.set(key, obj);
    this.emit(plural, type, obj);
    return obj;
  }

  all(plural: string): KObject[] {
    return [...this.table(plural).values()];
  }

  client(): Client {
    const self = this;
    const find = (info: ResourceInfo, ns: string | undefined, name: string) => {
      const o = self.table(info.plural).get(`${ns ?? ""}/${name}`);
      if (!o) throw Object.assign(new Error("not found"), { reason: "NotFound" });
      return o;
    };
    return {
      async get(info, ns, name) {
        return structuredClone(find(info, ns, name));
      },
      async list(info) {
        return {
          items: self.all(info.plural).map((o) => structuredClone(o)),
          resourceVersion: String(self.rv),
        };
      },
      async watch(info, _ns, opts, onEvent) {
        // Events since the list's revision, then live ones.
        for (const e of self.log)
          if (e.plural === info.plural && e.rv > Number(opts.resourceVersion)) onEvent(structuredClone(e.ev));
        const list = self.watchers.get(info.plural) ?? [];
        list.push(onEvent);
        self.watchers.set(info.plural, list);
        return { cancel: () => list.splice(list.indexOf(onEvent), 1) };
      },
      async create(info, ns, obj) {
        return structuredClone(
          self.put(info.plural, { ...obj, metadata: { ...obj.metadata, namespace: ns } }),
        );
      },
      async update(info, ns, obj) {
        return structuredClone(
          self.put(info.plural, { ...obj, metadata: { ...obj.metadata, namespace: ns } }),
        );
      },
      async patch(info, ns, name, _type, patch: any) {
        const cur = structuredClone(find(info, ns, name));
        if (info.plural === "pods") {
          const conds = (cur.status?.conditions ?? []).filter(
            (c: any) => !patch.status.conditions.some((p: any) => p.type === c.type),
          );
          cur.status = { ...cur.status, conditions: [...conds, ...patch.status.conditions] };
        } else Object.assign(cur, patch);
        return structuredClone(self.put(info.plural, cur));
      },
      bind: (ns, name, node) => self.bind(ns, name, node),
      async delete(info, ns, name) {
        const o = find(info, ns, name);
        self.table(info.plural).delete(`${ns ?? ""}/${name}`);
        self.rv++;
        self.emit(info.plural, "DELETED", o);
        return o;
      },
    };
  }

  async bind(ns: string, name: string, nodeName: string): Promise<void> {
    if (this.bindFailures > 0) {
      this.bindFailures--;
      throw Object.assign(new Error("etcdserver: request timed out"), { reason: "InternalError" });
    }
    const cur = structuredClone(this.table("pods").get(`${ns}/${name}`)!);
    if (cur.spec.nodeName) throw Object.assign(new Error("already assigned"), { reason: "Conflict" });
    cur.spec.nodeName = nodeName;
    this.binds.push([name, nodeName]);
    this.put("pods", cur);
  }
}

async function until<T>(what: string, f: () => T | undefined, ms = 3000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function start(fake: FakeClient, opts = {}) {
  const ac = new AbortController();
  const s = new Scheduler(
    fake.client(),
    (ns, n, node) => fake.bind(ns, n, node),
    () => {},
    {
      initialBackoffMs: 10,
      ...opts,
    },
  );
  const done = s.run(ac.signal);
  return {
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

function events(fake: FakeClient, reason: string): KObject[] {
  return fake.all("events").filter((e) => e.reason === reason);
}

test("a pending pod is bound to the node it fits and gets a Scheduled event", async () => {
  const fake = new FakeClient();
  fake.put("nodes", node("small", { cpu: "1" }));
  fake.put("nodes", node("big", { cpu: "8" }));
  const s = start(fake);
  try {
    fake.put("pods", pod("web-1", { cpu: "2" }));
    await until("the bind", () => fake.binds.length > 0);
    assert.equal(fake.binds, [["web-1", "big"]]);
    const ev = await until("the Scheduled event", () => events(fake, "Scheduled")[0]);
    assert.is(ev.message, "Successfully assigned default/web-1 to big");
    assert.is(ev.type, "Normal");
    assert.is(ev.source.component, "default-scheduler");
    assert.equal(ev.involvedObject.name, "web-1");
  } finally {
    await s.stop();
  }
});

test("a pod that fits nowhere is marked Unschedulable with a FailedScheduling event, then bound when a node fits", async () => {
  const fake = new FakeClient();
  fake.put("nodes", node("a", { memory: "1Gi" }));
  const s = start(fake);
  try {
    fake.put("pods", pod("big", { memory: "2Gi" }));
    const ev = await until("FailedScheduling", () => events(fake, "FailedScheduling")[0]);
    const msg =
      "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod..";
    assert.is(ev.message, msg);
    assert.is(ev.type, "Warning");
    const cond = fake.all("pods")[0].status.conditions.find((c: any) => c.type === "PodScheduled");
    assert.equal([cond.status, cond.reason, cond.message], ["False", "Unschedulable", msg]);
    // Our own status write must not make it try again and again.
    await new Promise((r) => setTimeout(r, 100));
    assert.is(events(fake, "FailedScheduling").length, 1);
    fake.put("nodes", node("b", { memory: "4Gi" }));
    await until("the bind to the new node", () => fake.binds.length > 0);
    assert.equal(fake.binds, [["big", "b"]]);
  } finally {
    await s.stop();
  }
});

test("a repeated failure counts on the same event instead of adding one", async () => {
  const fake = new FakeClient();
  fake.put("nodes", node("a", { memory: "1Gi" }));
  const s = start(fake);
  try {
    fake.put("pods", pod("big", { memory: "2Gi" }));
    await until("FailedScheduling", () => events(fake, "FailedScheduling")[0]);
    // A node change that does not help: the pod is tried again and fails the same way.
    const n = fake.all("nodes")[0];
    fake.put("nodes", { ...n, metadata: { ...n.metadata, labels: { ...n.metadata!.labels, x: "y" } } });
    await until("a second attempt", () => events(fake, "FailedScheduling")[0].count === 2);
    assert.is(events(fake, "FailedScheduling").length, 1);
  } finally {
    await s.stop();
  }
});

test("pods of other schedulers, gated pods and pods being deleted are left alone", async () => {
  const fake = new FakeClient();
  fake.put("nodes", node("a"));
  const s = start(fake);
  try {
    const other = pod("other");
    other.spec.schedulerName = "my-scheduler";
    const gated = pod("gated");
    gated.spec.schedulingGates = [{ name: "example.com/wait" }];
    const deleting = pod("deleting");
    deleting.metadata!.deletionTimestamp = "2026-01-01T00:00:00Z";
    for (const p of [other, gated, deleting]) fake.put("pods", p);
    fake.put("pods", pod("mine"));
    await until("the bind of mine", () => fake.binds.length > 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fake.binds, [["mine", "a"]]);
    // Removing the gate lets it through.
    const g = structuredClone(fake.all("pods").find((p) => p.metadata?.name === "gated")!);
    g.spec.schedulingGates = [];
    fake.put("pods", g);
    await until("the bind of gated", () => fake.binds.length === 2);
  } finally {
    await s.stop();
  }
});

test("a bind that fails for a transient reason is retried", async () => {
  const fake = new FakeClient();
  fake.bindFailures = 2;
  fake.put("nodes", node("a"));
  const s = start(fake);
  try {
    fake.put("pods", pod("p"));
    await until("the bind", () => fake.binds.length > 0, 5000);
    assert.equal(fake.binds, [["p", "a"]]);
  } finally {
    await s.stop();
  }
});

test("a bound pod's requests count against its node for the next pods", async () => {
  const fake = new FakeClient();
  fake.put("nodes", node("a", { cpu: "2" }));
  fake.put("nodes", node("b", { cpu: "2" }));
  fake.put("pods", pod("running", { cpu: "1500m", nodeName: "a" }));
  const s = start(fake);
  try {
    fake.put("pods", pod("new", { cpu: "1" }));
    await until("the bind", () => fake.binds.length > 0);
    assert.equal(fake.binds, [["new", "b"]]);
  } finally {
    await s.stop();
  }
});

test.run();
