import { encode } from "cbor-x";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeFrame, encodeFrame, type Frame, ProtocolError } from "../../../internal/link/protocol";

const FRAMES: Frame[] = [
  { t: "call", id: 1, verb: "get", r: { g: "", v: "v1", p: "secrets" }, ns: "default", name: "s" },
  {
    t: "call",
    id: 2,
    verb: "patch",
    r: { g: "", v: "v1", p: "nodes" },
    name: "n1",
    sub: "status",
    ptype: "merge",
    body: { status: { conditions: [{ type: "Ready", status: "True" }] } },
  },
  {
    t: "call",
    id: 3,
    verb: "list",
    r: { g: "", v: "v1", p: "pods" },
    opts: { fieldSelector: "spec.nodeName=n1" },
  },
  { t: "result", id: 1, body: { kind: "Secret", data: { k: "dg==" }, n: 1.5, nested: [null, true, "x"] } },
  {
    t: "error",
    id: 1,
    status: { code: 403, reason: "Forbidden", message: "no", details: { kind: "secrets" } },
  },
  { t: "watch", id: 4, r: { g: "", v: "v1", p: "pods" }, rv: "41", fs: "spec.nodeName=n1" },
  { t: "event", id: 4, type: "MODIFIED", obj: { metadata: { name: "p", resourceVersion: "42" } } },
  { t: "unwatch", id: 4 },
  {
    t: "wclose",
    id: 4,
    status: { code: 410, reason: "Expired", message: "too old resource version: 1 (5)" },
  },
  { t: "sopen", sid: 7, kind: "exec", params: { command: ["sh"], tty: true }, credit: 262144 },
  { t: "saccept", sid: 7, credit: 1024 },
  { t: "sdata", sid: 7, ch: 1, data: new Uint8Array([0, 1, 2, 255]) },
  { t: "sresize", sid: 7, width: 80, height: 24 },
  { t: "scredit", sid: 7, n: 4 },
  { t: "sclose", sid: 7 },
  { t: "sclose", sid: 7, error: "container not found" },
];

test("every frame type survives an encode/decode round trip", () => {
  for (const f of FRAMES) {
    const back = decodeFrame(encodeFrame(f));
    if (f.t === "sdata") {
      assert.equal(Buffer.from((back as typeof f).data), Buffer.from(f.data));
      assert.equal({ ...back, data: undefined }, { ...f, data: undefined });
    } else assert.equal(back, f, f.t);
  }
});

test("stream data stays binary (a CBOR byte string, not an array of numbers)", () => {
  const data = new Uint8Array(100_000).fill(7);
  const bytes = encodeFrame({ t: "sdata", sid: 1, ch: 0, data });
  assert.ok(bytes.length < 100_100, `encoded size ${bytes.length}`);
});

const BAD: Array<[string, unknown]> = [
  ["not a map", [1, 2, 3]],
  ["no type", { id: 1 }],
  ["unknown type", { t: "hello", id: 1 }],
  ["call without id", { t: "call", verb: "get", r: { g: "", v: "v1", p: "pods" } }],
  ["call with negative id", { t: "call", id: -1, verb: "get", r: { g: "", v: "v1", p: "pods" } }],
  ["call with unknown verb", { t: "call", id: 1, verb: "escalate", r: { g: "", v: "v1", p: "pods" } }],
  ["call without resource", { t: "call", id: 1, verb: "get" }],
  [
    "call with other subresource",
    { t: "call", id: 1, verb: "get", r: { g: "", v: "v1", p: "pods" }, sub: "exec" },
  ],
  ["call with numeric name", { t: "call", id: 1, verb: "get", r: { g: "", v: "v1", p: "pods" }, name: 5 }],
  ["error without status", { t: "error", id: 1 }],
  ["event of unknown type", { t: "event", id: 1, type: "BOOKMARKED", obj: {} }],
  ["watch without rv", { t: "watch", id: 1, r: { g: "", v: "v1", p: "pods" } }],
  ["sopen of unknown kind", { t: "sopen", sid: 1, kind: "shell", params: {}, credit: 1 }],
  ["sdata with text data", { t: "sdata", sid: 1, ch: 0, data: "abc" }],
  ["scredit with fractional n", { t: "scredit", sid: 1, n: 1.5 }],
];

for (const [what, value] of BAD) {
  test(`a malformed frame is refused with a protocol error: ${what}`, () => {
    assert.throws(
      () => decodeFrame(encode(value)),
      (e: unknown) => e instanceof ProtocolError,
    );
  });
}

test("bytes that are not CBOR are refused with a protocol error", () => {
  assert.throws(
    () => decodeFrame(new Uint8Array([0xff, 0xff, 0x1c])),
    (e: unknown) => e instanceof ProtocolError,
  );
});

test.run();
