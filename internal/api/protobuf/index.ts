// Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`): the `k8s\0`
// envelope around a runtime.Unknown, whose `raw` is the k8s.io/api message. Decoded into
// exactly the object the JSON body of the same request would carry, so the rest of the
// API server never knows which encoding the client chose.
// Imports: only its own files (the api part imports no other part).
import { MESSAGES } from "./messages";
import { F_INLINE, F_MAP, F_OMITEMPTY, F_POINTER, F_REPEATED, type FieldRow, type FieldType } from "./table";
import {
  ProtobufError,
  Reader,
  WIRE_BYTES,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_VARINT,
  type WireField,
} from "./wire";

export { ProtobufError } from "./wire";

export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

/** The four bytes every Kubernetes protobuf body starts with. */
export const PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const META = "k8s.io.apimachinery.pkg.apis.meta.v1";
const MAX_DEPTH = 64;

/**
 * Decodes a Kubernetes protobuf body into its JSON form: apiVersion, kind and the object
 * with the JSON field names, zero values left out where Go's omitempty leaves them out,
 * `creationTimestamp: null`, int-or-string, quantities and times as strings, []byte as
 * base64. Throws a ProtobufError (code "BadRequest") on anything malformed.
 */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < PROTOBUF_MAGIC.length || !body.subarray(0, 4).equals(PROTOBUF_MAGIC))
    throw new ProtobufError(
      "the body is not a Kubernetes protobuf object (it must start with the bytes k8s\\x00)",
    );
  const unknown = decodeUnknown(body.subarray(4));
  if (unknown.contentEncoding)
    throw new ProtobufError(`protobuf content encoding "${unknown.contentEncoding}" is not supported`);
  if (!unknown.kind)
    throw new ProtobufError("the protobuf object has no kind (runtime.Unknown.typeMeta.kind is empty)");
  if (!unknown.apiVersion)
    throw new ProtobufError(
      "the protobuf object has no apiVersion (runtime.Unknown.typeMeta.apiVersion is empty)",
    );
  const message = messageFor(unknown.apiVersion, unknown.kind);
  if (!message)
    throw new ProtobufError(`no kind "${unknown.kind}" is registered for version "${unknown.apiVersion}"`);
  return { apiVersion: unknown.apiVersion, kind: unknown.kind, ...decodeMessage(unknown.raw, message, 0) };
}

/** The proto message name for a kind: "apps/v1" Deployment → k8s.io.api.apps.v1.Deployment. */
export function messageFor(apiVersion: string, kind: string): string | undefined {
  const slash = apiVersion.indexOf("/");
  const group = slash < 0 ? "" : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  if (!/^[a-z0-9.-]*$/.test(group) || !/^v[0-9a-z]+$/.test(version) || !/^[A-Za-z0-9]+$/.test(kind))
    return undefined;
  // The package is the group's first DNS label ("rbac.authorization.k8s.io" → rbac), core is "core".
  const pkg = group === "" ? "core" : group.split(".")[0];
  const candidates = [`k8s.io.api.${pkg}.${version}.${kind}`];
  if (kind === "DeleteOptions") candidates.push(`${META}.DeleteOptions`);
  for (const c of candidates) {
    const rows = MESSAGES[c];
    if (rows && rows !== "special" && rows.some((r) => r[1] === "metadata" || kind === "DeleteOptions"))
      return c;
  }
  return undefined;
}

interface Unknown {
  apiVersion: string;
  kind: string;
  raw: Buffer;
  contentEncoding: string;
}

function decodeUnknown(buf: Buffer): Unknown {
  const out: Unknown = { apiVersion: "", kind: "", raw: Buffer.alloc(0), contentEncoding: "" };
  for (const f of new Reader(buf, "runtime.Unknown").all()) {
    if (f.number === 1) {
      expectWire(f, WIRE_BYTES, "runtime.Unknown.typeMeta");
      for (const t of new Reader(f.bytes!, "runtime.TypeMeta").all()) {
        if (t.number === 1) out.apiVersion = scalar(t, "string", "TypeMeta.apiVersion") as string;
        if (t.number === 2) out.kind = scalar(t, "string", "TypeMeta.kind") as string;
      }
    } else if (f.number === 2) {
      expectWire(f, WIRE_BYTES, "runtime.Unknown.raw");
      out.raw = f.bytes!;
    } else if (f.number === 3)
      out.contentEncoding = scalar(f, "string", "runtime.Unknown.contentEncoding") as string;
  }
  return out;
}

function expectWire(f: WireField, wireType: number, where: string): void {
  if (f.wireType !== wireType)
    throw new ProtobufError(
      `protobuf: field ${f.number} (${where}) has wire type ${f.wireType}, expected ${wireType}`,
    );
}

function shortName(message: string): string {
  return message.split(".").slice(-2).join(".");
}

function rowsOf(message: string): readonly FieldRow[] {
  const rows = MESSAGES[message];
  if (!rows || rows === "special") throw new Error(`protobuf tables have no message ${message}`);
  return rows;
}

interface Compiled {
  rows: readonly FieldRow[];
  byNumber: Map<number, FieldRow>;
  /** "ConfigMap.data": how errors name each field. */
  at: Map<number, string>;
  where: string;
}

const compiled = new Map<string, Compiled>();

function compile(message: string): Compiled {
  let c = compiled.get(message);
  if (!c) {
    const rows = rowsOf(message);
    const where = shortName(message);
    c = { rows, where, byNumber: new Map(), at: new Map() };
    for (const r of rows) {
      c.byNumber.set(r[0], r);
      c.at.set(r[0], `${where}.${r[1] || r[4]?.split(".").pop()}`);
    }
    compiled.set(message, c);
  }
  return c;
}

/** A message in its JSON form. */
function decodeMessage(buf: Buffer, message: string, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new ProtobufError(`protobuf: objects nested deeper than ${MAX_DEPTH} levels`);
  const { rows, byNumber, at: names, where } = compile(message);
  const values = new Map<number, unknown>();
  for (const f of new Reader(buf, where).all()) {
    const row = byNumber.get(f.number);
    if (!row) continue; // unknown fields are skipped, as Go's decoder skips them
    const [, , type, flags, ref] = row;
    const at = names.get(f.number)!;
    if (flags & F_MAP) {
      expectWire(f, WIRE_BYTES, at);
      const map = (values.get(f.number) as Record<string, unknown> | undefined) ?? {};
      const [k, v] = decodeMapEntry(f.bytes!, ref!, depth + 1, at);
      // A key named __proto__ must stay a key, as JSON.parse keeps it.
      if (k === "__proto__")
        Object.defineProperty(map, k, { value: v, enumerable: true, writable: true, configurable: true });
      else map[k] = v;
      values.set(f.number, map);
    } else if (flags & F_REPEATED) {
      const list = (values.get(f.number) as unknown[] | undefined) ?? [];
      if (f.wireType === WIRE_BYTES && isPackable(type)) list.push(...unpack(f.bytes!, type, at));
      else list.push(fieldValue(f, type, ref, depth, at));
      values.set(f.number, list);
    } else {
      values.set(f.number, fieldValue(f, type, ref, depth, at));
    }
  }
  const out: Record<string, unknown> = {};
  for (const [number, name, type, flags, ref] of rows) {
    const present = values.has(number);
    let v = values.get(number);
    if (flags & (F_MAP | F_REPEATED)) {
      if (present) out[name] = v;
      else if (!(flags & F_OMITEMPTY)) out[name] = null;
      continue;
    }
    if (type === "message") {
      if (!present) {
        // Absent non-pointer struct: Go's JSON still writes its zero value.
        if (flags & F_POINTER) {
          if (!(flags & F_OMITEMPTY)) out[name] = null;
          continue;
        }
        v = decodeValue(Buffer.alloc(0), ref!, depth + 1);
      }
      if (flags & F_INLINE) Object.assign(out, v as Record<string, unknown>);
      else out[name] = v;
      continue;
    }
    if (!present) {
      if (flags & F_OMITEMPTY) continue;
      out[name] = flags & F_POINTER ? null : zeroOf(type);
      continue;
    }
    if (isZero(v) && flags & F_OMITEMPTY && !(flags & F_POINTER)) continue;
    out[name] = v;
  }
  return out;
}

function decodeMapEntry(buf: Buffer, entry: string, depth: number, at: string): [string, unknown] {
  const { byNumber } = compile(entry);
  const keyRow = byNumber.get(1)!;
  const valueRow = byNumber.get(2)!;
  let key: unknown = zeroOf(keyRow[2]);
  let value: unknown;
  for (const f of new Reader(buf, at).all()) {
    if (f.number === 1) key = fieldValue(f, keyRow[2], keyRow[4], depth, `${at} key`);
    else if (f.number === 2) value = fieldValue(f, valueRow[2], valueRow[4], depth, `${at} value`);
  }
  if (value === undefined)
    value =
      valueRow[2] === "message" ? decodeValue(Buffer.alloc(0), valueRow[4]!, depth + 1) : zeroOf(valueRow[2]);
  return [String(key), value];
}

const PACKABLE = new Set<FieldType>([
  "bool",
  "int32",
  "int64",
  "uint32",
  "uint64",
  "sint32",
  "sint64",
  "fixed32",
  "fixed64",
  "sfixed32",
  "sfixed64",
  "double",
  "float",
]);

function isPackable(type: FieldType): boolean {
  return PACKABLE.has(type);
}

function unpack(buf: Buffer, type: FieldType, at: string): unknown[] {
  const out: unknown[] = [];
  const size =
    type === "fixed32" || type === "sfixed32" || type === "float"
      ? 4
      : type === "fixed64" || type === "sfixed64" || type === "double"
        ? 8
        : 0;
  if (size) {
    if (buf.length % size)
      throw new ProtobufError(`protobuf: packed ${at} has ${buf.length} bytes, not a multiple of ${size}`);
    for (let i = 0; i < buf.length; i += size)
      out.push(
        scalar(
          { number: 0, wireType: size === 4 ? WIRE_FIXED32 : WIRE_FIXED64, bytes: buf.subarray(i, i + size) },
          type,
          at,
        ),
      );
    return out;
  }
  const r = new Reader(buf, at);
  while (!r.done) out.push(scalar({ number: 0, wireType: WIRE_VARINT, varint: r.varint() }, type, at));
  return out;
}

function fieldValue(
  f: WireField,
  type: FieldType,
  ref: string | undefined,
  depth: number,
  at: string,
): unknown {
  if (type === "message" || type === "map") {
    expectWire(f, WIRE_BYTES, at);
    return decodeValue(f.bytes!, ref!, depth + 1);
  }
  return scalar(f, type, at);
}

function scalar(f: WireField, type: FieldType, at: string): unknown {
  switch (type) {
    case "string":
      expectWire(f, WIRE_BYTES, at);
      return f.bytes!.toString("utf8");
    case "bytes":
      expectWire(f, WIRE_BYTES, at);
      return f.bytes!.toString("base64");
    case "bool":
      expectWire(f, WIRE_VARINT, at);
      return f.varint !== 0n;
    case "int32":
      expectWire(f, WIRE_VARINT, at);
      return Number(BigInt.asIntN(32, f.varint!));
    case "uint32":
      expectWire(f, WIRE_VARINT, at);
      return Number(BigInt.asUintN(32, f.varint!));
    case "int64":
      expectWire(f, WIRE_VARINT, at);
      return Number(BigInt.asIntN(64, f.varint!));
    case "uint64":
      expectWire(f, WIRE_VARINT, at);
      return Number(f.varint!);
    case "sint32":
    case "sint64": {
      expectWire(f, WIRE_VARINT, at);
      const n = f.varint!;
      return Number((n >> 1n) ^ -(n & 1n));
    }
    case "fixed32":
      expectWire(f, WIRE_FIXED32, at);
      return f.bytes!.readUInt32LE(0);
    case "sfixed32":
      expectWire(f, WIRE_FIXED32, at);
      return f.bytes!.readInt32LE(0);
    case "float":
      expectWire(f, WIRE_FIXED32, at);
      return f.bytes!.readFloatLE(0);
    case "fixed64":
      expectWire(f, WIRE_FIXED64, at);
      return Number(f.bytes!.readBigUInt64LE(0));
    case "sfixed64":
      expectWire(f, WIRE_FIXED64, at);
      return Number(f.bytes!.readBigInt64LE(0));
    case "double":
      expectWire(f, WIRE_FIXED64, at);
      return f.bytes!.readDoubleLE(0);
    default:
      throw new Error(`protobuf tables: unexpected type ${type} at ${at}`);
  }
}

function zeroOf(type: FieldType): unknown {
  if (type === "string" || type === "bytes") return "";
  if (type === "bool") return false;
  return 0;
}

function isZero(v: unknown): boolean {
  return v === "" || v === 0 || v === false;
}

/** A message-typed value: the types with their own JSON form, or a plain message. */
function decodeValue(buf: Buffer, message: string, depth: number): unknown {
  if (MESSAGES[message] !== "special") {
    if (message.endsWith(".ExtraValue"))
      return (decodeMessage(buf, message, depth).items as string[] | null) ?? [];
    return decodeMessage(buf, message, depth);
  }
  const fields = new Reader(buf, shortName(message)).all();
  const get = (n: number) => fields.filter((f) => f.number === n).pop();
  const at = shortName(message);
  switch (message) {
    case `${META}.Time`:
    case `${META}.MicroTime`: {
      if (buf.length === 0) return null;
      const s = get(1);
      const n = get(2);
      const seconds = s ? (scalar(s, "int64", `${at}.seconds`) as number) : 0;
      const nanos = n ? (scalar(n, "int32", `${at}.nanos`) as number) : 0;
      return formatTime(seconds, nanos, message.endsWith("MicroTime"), at);
    }
    case `${META}.Duration`: {
      const d = get(1);
      if (!d) return goDuration(0n);
      expectWire(d, WIRE_VARINT, at);
      return goDuration(BigInt.asIntN(64, d.varint!));
    }
    case "k8s.io.apimachinery.pkg.util.intstr.IntOrString": {
      const t = get(1);
      const type = t ? (scalar(t, "int64", `${at}.type`) as number) : 0;
      if (type === 1) {
        const s = get(3);
        return s ? scalar(s, "string", `${at}.strVal`) : "";
      }
      const i = get(2);
      return i ? scalar(i, "int32", `${at}.intVal`) : 0;
    }
    case "k8s.io.apimachinery.pkg.api.resource.Quantity": {
      const s = get(1);
      const q = s ? (scalar(s, "string", `${at}.string`) as string) : "";
      return q === "" ? "0" : q;
    }
    case "k8s.io.apimachinery.pkg.runtime.RawExtension":
    case `${META}.FieldsV1`: {
      const raw = get(1);
      if (!raw) return null;
      expectWire(raw, WIRE_BYTES, at);
      if (raw.bytes!.length === 0) return null;
      try {
        return JSON.parse(raw.bytes!.toString("utf8"));
      } catch {
        throw new ProtobufError(`protobuf: ${at} does not hold a JSON document`);
      }
    }
    default:
      throw new Error(`protobuf: no decoder for special message ${message}`);
  }
}

/** Go's time.Time JSON as metav1.Time (seconds) or metav1.MicroTime (microseconds) writes it, in UTC. */
function formatTime(seconds: number, nanos: number, micro: boolean, at: string): string {
  const ms = seconds * 1000;
  const d = new Date(ms);
  if (!Number.isFinite(ms) || Number.isNaN(d.getTime()) || nanos < 0 || nanos > 999_999_999)
    throw new ProtobufError(`protobuf: ${at} is not a valid time (${seconds}s ${nanos}ns)`);
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new ProtobufError(`protobuf: ${at} year ${y} is outside [0,9999]`);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const base = `${p(y, 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return micro ? `${base}.${p(Math.floor(nanos / 1000), 6)}Z` : `${base}Z`;
}

/** time.Duration.String(): "1h2m3.5s", "150ms", "0s". */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  let out: string;
  if (u < 1_000_000_000n) {
    const [unit, div] = u < 1000n ? ["ns", 1n] : u < 1_000_000n ? ["µs", 1000n] : ["ms", 1_000_000n];
    out = `${fraction(u, div)}${unit}`;
  } else {
    const h = u / 3_600_000_000_000n;
    u -= h * 3_600_000_000_000n;
    const m = u / 60_000_000_000n;
    u -= m * 60_000_000_000n;
    out = `${fraction(u, 1_000_000_000n)}s`;
    if (h > 0n) out = `${h}h${m}m${out}`;
    else if (m > 0n) out = `${m}m${out}`;
  }
  return neg ? `-${out}` : out;
}

function fraction(v: bigint, div: bigint): string {
  const whole = v / div;
  const rest = v % div;
  if (rest === 0n) return String(whole);
  const digits = String(div).length - 1;
  return `${whole}.${String(rest).padStart(digits, "0").replace(/0+$/, "")}`;
}
