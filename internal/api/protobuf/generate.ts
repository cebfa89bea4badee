// Development tool, not part of the server: writes messages.ts, the field tables the
// protobuf decoder runs on, from upstream's own data instead of hand-copied numbers.
//
// Every Kubernetes Go binary carries, for each k8s.io/api generated.proto, the gzipped
// FileDescriptorProto that protoc produced (field numbers, proto types, map entries and
// the gogoproto options: `nullable=false` marks a non-pointer Go field, `customname` the
// Go field name). It also carries each struct field's tag (`json:"replicas,omitempty"
// protobuf:"varint,1,opt,name=replicas"`) next to the Go field name. Together they say
// everything the JSON form needs: the JSON name, omitempty, pointer or not, inline.
// Where a tag is shared by fields that disagree on omitempty, the kubernetes-types
// declarations (optional = omitempty) decide.
//
//   npx tsx internal/api/protobuf/generate.ts [/path/to/kubectl-1.32]
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, constants as zconst } from "node:zlib";
import { Reader } from "./wire";

export const DEFAULT_KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32";

/** The kinds a client may send; the tables hold everything reachable from them. */
const ROOTS = [
  "k8s.io.apimachinery.pkg.runtime.Unknown",
  ...[
    "ConfigMap",
    "Secret",
    "Namespace",
    "ServiceAccount",
    "Service",
    "Pod",
    "PodTemplate",
    "Endpoints",
    "Event",
    "Node",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "LimitRange",
    "ResourceQuota",
    "ReplicationController",
    "Binding",
  ].map((k) => `k8s.io.api.core.v1.${k}`),
  ...["Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ControllerRevision"].map(
    (k) => `k8s.io.api.apps.v1.${k}`,
  ),
  "k8s.io.api.batch.v1.Job",
  "k8s.io.api.batch.v1.CronJob",
  "k8s.io.api.autoscaling.v1.HorizontalPodAutoscaler",
  "k8s.io.api.autoscaling.v1.Scale",
  "k8s.io.api.autoscaling.v2.HorizontalPodAutoscaler",
  "k8s.io.api.authentication.v1.TokenRequest",
  "k8s.io.api.authentication.v1.TokenReview",
  "k8s.io.api.authentication.v1.SelfSubjectReview",
  "k8s.io.api.authorization.v1.SelfSubjectAccessReview",
  "k8s.io.api.authorization.v1.SubjectAccessReview",
  "k8s.io.api.authorization.v1.LocalSubjectAccessReview",
  "k8s.io.api.authorization.v1.SelfSubjectRulesReview",
  "k8s.io.api.policy.v1.Eviction",
  "k8s.io.api.policy.v1.PodDisruptionBudget",
  "k8s.io.api.networking.v1.Ingress",
  "k8s.io.api.networking.v1.IngressClass",
  "k8s.io.api.networking.v1.NetworkPolicy",
  "k8s.io.api.scheduling.v1.PriorityClass",
  ...["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"].map((k) => `k8s.io.api.rbac.v1.${k}`),
  "k8s.io.api.coordination.v1.Lease",
  "k8s.io.api.discovery.v1.EndpointSlice",
  "k8s.io.api.storage.v1.StorageClass",
  "k8s.io.api.events.v1.Event",
  "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
];

/** Types whose JSON form is not their message shape; the decoder handles them by name. */
const SPECIAL = new Set([
  "k8s.io.apimachinery.pkg.apis.meta.v1.Time",
  "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
  "k8s.io.apimachinery.pkg.apis.meta.v1.Duration",
  "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
  "k8s.io.apimachinery.pkg.util.intstr.IntOrString",
  "k8s.io.apimachinery.pkg.api.resource.Quantity",
  "k8s.io.apimachinery.pkg.runtime.RawExtension",
  "k8s.io.apimachinery.pkg.runtime.Unknown",
]);

/**
 * omitempty for the few fields whose tag the binary shares with fields that disagree and
 * that kubernetes-types does not declare, as upstream's types.go has them.
 */
const OMITEMPTY: Record<string, boolean> = {
  "k8s.io.api.core.v1.EphemeralContainerCommon.name": false, // json:"name"
  "k8s.io.api.core.v1.LinuxContainerUser.uid": false, // json:"uid"
  "k8s.io.api.core.v1.ResourceStatus.name": false, // json:"name"
  "k8s.io.api.authorization.v1.ResourceRule.resources": true, // json:"resources,omitempty"
  "k8s.io.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement.key": false, // json:"key"
  "k8s.io.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement.operator": false, // json:"operator"
  "k8s.io.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement.values": true, // json:"values,omitempty"
  // ExtraValue is a named []string: its JSON is the list itself, decoded by name.
  "k8s.io.api.authentication.v1.ExtraValue.items": true,
  "k8s.io.api.authorization.v1.ExtraValue.items": true,
};

// descriptor.proto type numbers → our short names.
const SCALARS: Record<number, string> = {
  1: "double",
  2: "float",
  3: "int64",
  4: "uint64",
  5: "int32",
  6: "fixed64",
  7: "fixed32",
  8: "bool",
  9: "string",
  12: "bytes",
  13: "uint32",
  15: "sfixed32",
  16: "sfixed64",
  17: "sint32",
  18: "sint64",
};

interface DescField {
  name: string;
  number: number;
  repeated: boolean;
  type: number;
  typeName: string;
  nullable: boolean;
  goName: string;
}

interface DescMessage {
  fullName: string;
  mapEntry: boolean;
  fields: DescField[];
}

function str(b: Buffer | undefined): string {
  return b ? b.toString("utf8") : "";
}

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function parseField(b: Buffer): DescField {
  const f: DescField = {
    name: "",
    number: 0,
    repeated: false,
    type: 0,
    typeName: "",
    nullable: true,
    goName: "",
  };
  for (const x of new Reader(b, "FieldDescriptorProto").all()) {
    if (x.number === 1) f.name = str(x.bytes);
    else if (x.number === 3) f.number = Number(x.varint);
    else if (x.number === 4) f.repeated = Number(x.varint) === 3;
    else if (x.number === 5) f.type = Number(x.varint);
    else if (x.number === 6) f.typeName = str(x.bytes).replace(/^\./, "");
    else if (x.number === 8) {
      for (const o of new Reader(x.bytes!, "FieldOptions").all()) {
        if (o.number === 65001) f.nullable = o.varint !== 0n; // gogoproto.nullable
        if (o.number === 65004) f.goName = str(o.bytes); // gogoproto.customname
      }
    }
  }
  if (!f.goName) f.goName = upperFirst(f.name);
  return f;
}

function parseMessage(b: Buffer, prefix: string, out: Map<string, DescMessage>): void {
  const m: DescMessage = { fullName: "", mapEntry: false, fields: [] };
  const nested: Buffer[] = [];
  for (const x of new Reader(b, "DescriptorProto").all()) {
    if (x.number === 1) m.fullName = `${prefix}.${str(x.bytes)}`;
    else if (x.number === 2) m.fields.push(parseField(x.bytes!));
    else if (x.number === 3) nested.push(x.bytes!);
    else if (x.number === 7)
      for (const o of new Reader(x.bytes!, "MessageOptions").all())
        if (o.number === 7) m.mapEntry = o.varint === 1n;
  }
  out.set(m.fullName, m);
  for (const n of nested) parseMessage(n, m.fullName, out);
}

/** Every gzipped FileDescriptorProto of a generated.proto inside the binary. */
function descriptors(bin: Buffer): Map<string, DescMessage> {
  const messages = new Map<string, DescMessage>();
  const files = new Set<string>();
  for (let i = bin.indexOf(0x1f); i !== -1 && i < bin.length - 3; i = bin.indexOf(0x1f, i + 1)) {
    if (bin[i + 1] !== 0x8b || bin[i + 2] !== 8) continue;
    let fd: Buffer;
    try {
      fd = gunzipSync(bin.subarray(i, i + 4_000_000), { finishFlush: zconst.Z_SYNC_FLUSH });
    } catch {
      continue;
    }
    if (fd[0] !== 0x0a || !str(fd.subarray(2, 2 + fd[1])).endsWith("generated.proto")) continue;
    let pkg = "";
    const msgs: Buffer[] = [];
    for (const x of new Reader(fd, "FileDescriptorProto").all()) {
      if (x.number === 1) files.add(str(x.bytes));
      if (x.number === 2) pkg = str(x.bytes);
      if (x.number === 4) msgs.push(x.bytes!);
    }
    for (const m of msgs) parseMessage(m, pkg, messages);
  }
  if (!files.has("k8s.io/api/core/v1/generated.proto"))
    throw new Error("no k8s.io/api descriptors found in the binary");
  return messages;
}

/**
 * Go struct field names with their tags, as the linker stores them: a flags byte, the
 * name's length and bytes, then the tag's length and bytes. Keyed by "GoName|protobuf tag".
 */
function structTags(bin: Buffer): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const needle = Buffer.from('json:"');
  for (let p = bin.indexOf(needle); p !== -1; p = bin.indexOf(needle, p + 6)) {
    let tag: string | undefined;
    let start = -1;
    for (const vl of [1, 2]) {
      const s = p - vl;
      if (s < 0) continue;
      let len: number;
      if (vl === 1) {
        if (bin[s] & 0x80) continue;
        len = bin[s];
      } else {
        if (!(bin[s] & 0x80) || bin[s + 1] & 0x80) continue;
        len = (bin[s] & 0x7f) | (bin[s + 1] << 7);
      }
      const t = bin.subarray(p, p + len).toString("latin1");
      if (/^json:"[^"]*"( [A-Za-z]+:"[^"]*")*$/.test(t)) {
        tag = t;
        start = s;
        break;
      }
    }
    if (!tag) continue;
    const proto = /protobuf:"([^"]*)"/.exec(tag);
    if (!proto) continue;
    let s = start;
    while (s > 0 && /[A-Za-z0-9_]/.test(String.fromCharCode(bin[s - 1]))) s--;
    let goName: string | undefined;
    for (let k = s; k < start; k++) {
      if (bin[k - 1] === start - k) {
        goName = bin.subarray(k, start).toString("latin1");
        break;
      }
    }
    if (!goName) continue;
    const key = `${goName}|${proto[1]}`;
    const set = out.get(key) ?? new Set<string>();
    out.set(key, set);
    set.add(/json:"([^"]*)"/.exec(tag)![1]);
  }
  return out;
}

/** `interface X { a?: ...; b: ... }` in kubernetes-types: which fields are optional. */
function typesOptional(root: string, fullName: string, jsonName: string): boolean | undefined {
  const m =
    /^k8s\.io\.api\.([a-z0-9]+)\.(v[0-9a-z]+)\.(\w+)$/.exec(fullName) ??
    /^k8s\.io\.apimachinery\.pkg\.apis\.(meta)\.(v1)\.(\w+)$/.exec(fullName);
  if (!m) return undefined;
  let text: string;
  try {
    text = readFileSync(join(root, "node_modules/kubernetes-types", m[1], `${m[2]}.d.ts`), "utf8");
  } catch {
    return undefined;
  }
  const start = text.indexOf(`export interface ${m[3]} {`);
  if (start < 0) return undefined;
  const body = text.slice(start, text.indexOf("\n}", start));
  const f = new RegExp(`\\n\\s+(?:readonly )?${jsonName}(\\??):`).exec(body);
  return f ? f[1] === "?" : undefined;
}

const F_REPEATED = 1;
const F_MAP = 2;
const F_OMITEMPTY = 4;
const F_POINTER = 8;
const F_INLINE = 16;

/** The source of messages.ts, from a kubectl binary; `root` is the repository (for kubernetes-types). */
export function generate(kubectl: string, root: string): string {
  const bin = readFileSync(kubectl);
  const messages = descriptors(bin);
  const tags = structTags(bin);
  const need = new Set<string>();
  const queue = [...ROOTS];
  while (queue.length) {
    const name = queue.pop()!;
    if (need.has(name)) continue;
    const m = messages.get(name);
    if (!m) throw new Error(`message ${name} not found`);
    need.add(name);
    if (SPECIAL.has(name)) continue;
    for (const f of m.fields) if (f.type === 11) queue.push(f.typeName);
  }
  const lines: string[] = [];
  const problems: string[] = [];
  const undecided: string[] = [];
  for (const name of [...need].sort()) {
    const m = messages.get(name)!;
    if (SPECIAL.has(name)) {
      lines.push(`  ${JSON.stringify(name)}: "special",`);
      continue;
    }
    const rows: string[] = [];
    for (const f of m.fields.slice().sort((a, b) => a.number - b.number)) {
      const isMap = f.type === 11 && f.repeated && messages.get(f.typeName)?.mapEntry === true;
      let jsonName = f.name;
      let flags = 0;
      if (f.repeated) flags |= F_REPEATED;
      if (isMap) flags |= F_MAP;
      if (f.nullable && !f.repeated) flags |= F_POINTER;
      if (!m.mapEntry) {
        const candidates = [...tags.entries()].filter(([k]) => {
          const [go, proto] = k.split("|");
          const parts = proto.split(",");
          return (
            go === f.goName &&
            parts[1] === String(f.number) &&
            (parts.includes(`name=${f.name}`) || !parts.some((p) => p.startsWith("name=")))
          );
        });
        const jsonTags = new Set(candidates.flatMap(([, v]) => [...v]));
        if (jsonTags.size === 0) {
          problems.push(`${name}.${f.name}: no struct tag found`);
        } else {
          const names = new Set([...jsonTags].map((t) => t.split(",")[0]));
          if (names.size !== 1)
            problems.push(`${name}.${f.name}: several JSON names ${[...names].join(" ")}`);
          jsonName = [...names][0];
          const opts = [...jsonTags].map((t) => t.split(",").slice(1));
          if (jsonName === "" && opts.every((o) => o.includes("inline"))) flags |= F_INLINE;
          const omit = new Set(opts.map((o) => o.includes("omitempty")));
          if (omit.size === 1) {
            if (omit.has(true)) flags |= F_OMITEMPTY;
          } else {
            const optional = OMITEMPTY[`${name}.${f.name}`] ?? typesOptional(root, name, jsonName);
            if (optional === undefined) undecided.push(`${name}.${f.name}`);
            if (optional !== false) flags |= F_OMITEMPTY;
          }
        }
      }
      const type = f.type === 11 ? (isMap ? "map" : "message") : SCALARS[f.type];
      if (!type) throw new Error(`${name}.${f.name}: unsupported proto type ${f.type}`);
      const ref = f.type === 11 ? `, ${JSON.stringify(f.typeName)}` : "";
      rows.push(`[${f.number}, ${JSON.stringify(jsonName)}, ${JSON.stringify(type)}, ${flags}${ref}]`);
    }
    lines.push(`  ${JSON.stringify(name)}: [${rows.length ? `\n    ${rows.join(",\n    ")},\n  ` : ""}],`);
  }
  if (problems.length) throw new Error(`cannot generate:\n${problems.join("\n")}`);
  if (undecided.length)
    console.warn(`omitempty assumed (tags disagree, no kubernetes-types entry): ${undecided.join(", ")}`);
  return `// GENERATED by internal/api/protobuf/generate.ts from ${kubectl.split("/").pop()}'s embedded
// k8s.io/api descriptors and struct tags. Do not edit; regenerate.
import type { MessageTable } from "./table";

export const MESSAGES: MessageTable = {
${lines.join("\n")}
};
`;
}

if (require.main === module) {
  const root = join(__dirname, "..", "..", "..");
  const out = generate(process.argv[2] ?? DEFAULT_KUBECTL, root);
  writeFileSync(join(__dirname, "messages.ts"), out);
  console.log(`wrote ${join(__dirname, "messages.ts")} (${out.split("\n").length} lines)`);
}
