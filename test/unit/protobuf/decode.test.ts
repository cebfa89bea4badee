// The decoder on hand-built bodies: the special JSON forms (times, int-or-string,
// quantities, raw JSON) and every kind of malformed input, which must give a
// BadRequest error and never anything else.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  decodeKubernetesProtobuf,
  goDuration,
  messageFor,
  ProtobufError,
} from "../../../internal/api/protobuf";

// A minimal protobuf writer for the tests.
function varint(n: bigint | number): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}
const key = (n: number, wt: number) => varint((n << 3) | wt);
const vint = (n: number, v: bigint | number) => Buffer.concat([key(n, 0), varint(v)]);
const bytes = (n: number, b: Buffer | string) => {
  const buf = typeof b === "string" ? Buffer.from(b) : b;
  return Buffer.concat([key(n, 2), varint(buf.length), buf]);
};
const msg = (n: number, ...parts: Buffer[]) => bytes(n, Buffer.concat(parts));
const entry = (n: number, k: string, v: Buffer | string) => msg(n, bytes(1, k), bytes(2, v));

function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from("k8s\0", "latin1"),
    msg(1, bytes(1, apiVersion), bytes(2, kind)),
    bytes(2, raw),
  ]);
}

function badRequest(body: Buffer, pattern: RegExp): void {
  try {
    decodeKubernetesProtobuf(body);
  } catch (err) {
    assert.instance(err, ProtobufError);
    assert.is((err as ProtobufError).code, "BadRequest");
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable("decoding should have failed");
}

const configMap = Buffer.concat([
  msg(1, bytes(1, "cm"), bytes(3, "ns1"), msg(8)),
  entry(2, "a", "b"),
  entry(2, "c", "d"),
]);

test("a ConfigMap body decodes to its JSON form", () => {
  assert.equal(decodeKubernetesProtobuf(envelope("v1", "ConfigMap", configMap)), {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "cm", namespace: "ns1", creationTimestamp: null },
    data: { a: "b", c: "d" },
  });
});

test("a map key named __proto__ stays an ordinary key, as in JSON.parse", () => {
  const raw = Buffer.concat([msg(1, bytes(1, "cm")), entry(2, "__proto__", "x"), entry(2, "a", "b")]);
  const obj = decodeKubernetesProtobuf(envelope("v1", "ConfigMap", raw));
  assert.equal(obj.data, JSON.parse('{"__proto__":"x","a":"b"}'));
  assert.is(Object.getPrototypeOf(obj.data), Object.prototype);
});

test("unknown fields are skipped, as Go's decoder skips them", () => {
  const raw = Buffer.concat([
    configMap,
    vint(99, 7),
    bytes(98, "x"),
    Buffer.concat([key(97, 5), Buffer.alloc(4)]),
  ]);
  assert.equal(decodeKubernetesProtobuf(envelope("v1", "ConfigMap", raw)).data, { a: "b", c: "d" });
});

test("times: Time in seconds, MicroTime in microseconds, both UTC", () => {
  const ts = 1_767_225_600; // 2026-01-01T00:00:00Z
  const event = Buffer.concat([
    msg(1, bytes(1, "e1")),
    msg(2, bytes(2, "Pod")),
    msg(7, vint(1, ts + 61), vint(2, 5)),
    msg(10, vint(1, ts), vint(2, 123_456_789)),
  ]);
  const obj = decodeKubernetesProtobuf(envelope("v1", "Event", event)) as any;
  assert.is(obj.firstTimestamp, null);
  assert.is(obj.lastTimestamp, "2026-01-01T00:01:01Z");
  assert.is(obj.eventTime, "2026-01-01T00:00:00.123456Z");
  assert.is(obj.metadata.creationTimestamp, null);
});

test("int-or-string: type 0 is a number, type 1 a string; quantities stay strings", () => {
  const svc = Buffer.concat([
    msg(1, bytes(1, "s")),
    msg(
      2,
      msg(1, bytes(1, "a"), vint(3, 80), msg(4, vint(1, 0), vint(2, 8080))),
      msg(1, bytes(1, "b"), vint(3, 443), msg(4, vint(1, 1), bytes(3, "https"))),
    ),
  ]);
  const obj = decodeKubernetesProtobuf(envelope("v1", "Service", svc)) as any;
  assert.equal(
    obj.spec.ports.map((p: any) => p.targetPort),
    [8080, "https"],
  );
  const quota = Buffer.concat([
    msg(1, bytes(1, "q")),
    msg(2, entry(1, "cpu", bytes(1, "1500m")), entry(1, "memory", bytes(1, "1Gi"))),
  ]);
  assert.equal((decodeKubernetesProtobuf(envelope("v1", "ResourceQuota", quota)) as any).spec.hard, {
    cpu: "1500m",
    memory: "1Gi",
  });
});

test("negative int32 values (sign-extended varints) decode as negative numbers", () => {
  const dep = Buffer.concat([msg(1, bytes(1, "d")), msg(2, vint(1, -1))]);
  assert.is((decodeKubernetesProtobuf(envelope("apps/v1", "Deployment", dep)) as any).spec.replicas, -1);
});

test("RawExtension and managedFields carry their JSON through", () => {
  const rev = Buffer.concat([
    msg(
      1,
      bytes(1, "r"),
      msg(
        17,
        bytes(1, "kubectl"),
        bytes(2, "Update"),
        bytes(6, "FieldsV1"),
        msg(7, bytes(1, '{"f:data":{}}')),
      ),
    ),
    msg(2, bytes(1, '{"a":[1,2]}')),
    vint(3, 4),
  ]);
  const obj = decodeKubernetesProtobuf(envelope("apps/v1", "ControllerRevision", rev)) as any;
  assert.equal(obj.data, { a: [1, 2] });
  assert.is(obj.revision, 4);
  assert.equal(obj.metadata.managedFields, [
    { manager: "kubectl", operation: "Update", fieldsType: "FieldsV1", fieldsV1: { "f:data": {} } },
  ]);
});

test("Go durations print as time.Duration.String does", () => {
  assert.is(goDuration(0n), "0s");
  assert.is(goDuration(1_500_000_000n), "1.5s");
  assert.is(goDuration(3_600_000_000_000n), "1h0m0s");
  assert.is(goDuration(150_000_000n), "150ms");
  assert.is(goDuration(-90_000_000_000n), "-1m30s");
});

test("messageFor maps API versions to upstream proto packages", () => {
  assert.is(messageFor("apps/v1", "Deployment"), "k8s.io.api.apps.v1.Deployment");
  assert.is(messageFor("rbac.authorization.k8s.io/v1", "Role"), "k8s.io.api.rbac.v1.Role");
  assert.is(messageFor("v1", "Nope"), undefined);
  assert.is(messageFor("../v1", "Pod"), undefined);
});

test("a body without the k8s\\0 prefix is a BadRequest", () => {
  badRequest(Buffer.from('{"kind":"ConfigMap"}'), /must start with the bytes k8s\\x00/);
  badRequest(Buffer.alloc(0), /must start with the bytes/);
});

test("a truncated varint is a BadRequest", () => {
  badRequest(Buffer.concat([Buffer.from("k8s\0", "latin1"), Buffer.from([0x0a, 0x80])]), /truncated varint/);
});

test("a length past the end of the data is a BadRequest", () => {
  badRequest(
    Buffer.concat([Buffer.from("k8s\0", "latin1"), Buffer.from([0x0a, 0x7f, 0x01])]),
    /truncated length-delimited|past the end/,
  );
});

test("a field with the wrong wire type is a BadRequest naming the field", () => {
  const raw = Buffer.concat([msg(1, bytes(1, "cm")), vint(2, 5)]);
  badRequest(envelope("v1", "ConfigMap", raw), /field 2 \(v1\.ConfigMap\.data\) has wire type 0, expected 2/);
});

test("an unregistered kind is a BadRequest", () => {
  badRequest(
    envelope("v1", "Frobnicator", Buffer.alloc(0)),
    /no kind "Frobnicator" is registered for version "v1"/,
  );
  badRequest(Buffer.concat([Buffer.from("k8s\0", "latin1"), bytes(2, configMap)]), /has no kind/);
});

test("a compressed body (contentEncoding) is refused clearly", () => {
  const body = Buffer.concat([envelope("v1", "ConfigMap", configMap), bytes(3, "gzip")]);
  badRequest(body, /content encoding "gzip" is not supported/);
});

test("invalid JSON inside a RawExtension is a BadRequest", () => {
  badRequest(
    envelope(
      "apps/v1",
      "ControllerRevision",
      Buffer.concat([msg(1, bytes(1, "r")), msg(2, bytes(1, "{nope"))]),
    ),
    /does not hold a JSON document/,
  );
});

test("deeply nested unknown fields are skipped without recursion", () => {
  let inner = Buffer.alloc(0);
  for (let i = 0; i < 2000; i++) inner = msg(50, inner);
  const cm = Buffer.concat([msg(1, bytes(1, "cm")), inner]);
  assert.is((decodeKubernetesProtobuf(envelope("v1", "ConfigMap", cm)).metadata as any).name, "cm");
});

test("every truncation and random corruption of a body gives a result or a BadRequest, never a crash", () => {
  const deployment = Buffer.concat([
    msg(1, bytes(1, "web"), msg(8), entry(11, "app", "web")),
    msg(
      2,
      vint(1, 3),
      msg(2, entry(1, "app", "web")),
      msg(
        3,
        msg(1, msg(8), entry(11, "app", "web")),
        msg(2, msg(2, bytes(1, "nginx"), bytes(2, "nginx"), msg(6, vint(3, 80)), msg(8))),
      ),
      msg(4),
    ),
    msg(3),
  ]);
  const body = envelope("apps/v1", "Deployment", deployment);
  const full = decodeKubernetesProtobuf(body) as any;
  assert.is(full.spec.template.spec.containers[0].ports[0].containerPort, 80);
  let failures = 0;
  const check = (b: Buffer) => {
    try {
      decodeKubernetesProtobuf(b);
    } catch (err) {
      if (!(err instanceof ProtobufError)) throw err;
      failures++;
    }
  };
  for (let n = 0; n < body.length; n++) check(body.subarray(0, n));
  let seed = 42;
  const rand = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(body);
    for (let k = 0; k < 1 + (rand() % 4); k++) b[4 + (rand() % (b.length - 4))] = rand() & 0xff;
    check(b);
  }
  assert.ok(failures > 0);
});

test.run();
