// GET /openapi/v2 in the only form kubectl asks for it: the gnostic OpenAPI v2
// Document as protobuf. kubectl 1.27 and 1.28 run their field-validation probe on
// it (newer ones use /openapi/v3): a path whose `patch` operation carries the
// object's x-kubernetes-group-version-kind and a `fieldValidation` query parameter
// makes them send fieldValidation=Strict. Without the document they refuse to
// apply anything under the default --validate=strict. The document holds those
// paths only; schemas come from v3 (explain) or kubectl's compiled-in types (patches).
import { RESOURCES, type ResourceInfo } from "../resources";

/** What kubectl sends as Accept for the document. */
export const OPENAPI_V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/**
 * The Content-Type of the reply, as kube-openapi sends it: kubectl's media-type
 * parser rejects the "@" of the Accept value above ("mime: unexpected content after
 * media subtype").
 */
export const OPENAPI_V2_CONTENT_TYPE = "application/octet-stream";

/** A tiny protobuf writer: length-delimited fields and strings are all this document needs. */
class Writer {
  private readonly parts: Buffer[] = [];

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = n;
    while (v > 0x7f) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
  }

  bytes(field: number, data: Buffer): this {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    this.parts.push(data);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, "utf8"));
  }

  message(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }

  bool(field: number, b: boolean): this {
    if (b) {
      this.varint(field << 3);
      this.varint(1);
    }
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const w = () => new Writer();

/** NamedAny{name, value: Any{yaml}}: how vendor extensions travel. */
function extension(name: string, yaml: string): Writer {
  return w().string(1, name).message(2, w().string(2, yaml));
}

/** ParametersItem{parameter: Parameter{non_body_parameter: NonBodyParameter{query_parameter_sub_schema}}}. */
function queryParam(name: string, type: string, description: string): Writer {
  const q = w().string(2, "query").string(3, description).string(4, name).string(6, type).bool(20, true);
  return w().message(1, w().message(2, w().message(3, q)));
}

function patchPath(r: ResourceInfo): Writer {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const path = r.namespaced
    ? `${base}/namespaces/{namespace}/${r.plural}/{name}`
    : `${base}/${r.plural}/{name}`;
  const ok = w()
    .string(1, "200")
    .message(2, w().message(1, w().string(1, "OK")));
  const op = w()
    .string(3, `partially update the specified ${r.kind}`)
    .string(5, `patch${r.kind}`)
    .string(6, "application/json")
    .string(7, "application/json-patch+json")
    .string(7, "application/merge-patch+json")
    .string(7, "application/strategic-merge-patch+json")
    .string(7, "application/apply-patch+yaml")
    .message(
      8,
      queryParam("dryRun", "string", "When present, indicates that modifications should not be persisted."),
    )
    .message(
      8,
      queryParam(
        "fieldManager",
        "string",
        "fieldManager is a name associated with the actor or entity that is making these changes.",
      ),
    )
    .message(
      8,
      queryParam(
        "fieldValidation",
        "string",
        "fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields.",
      ),
    )
    .message(8, queryParam("force", "boolean", 'Force is going to "force" Apply requests.'))
    .message(9, w().message(1, ok))
    .message(13, extension("x-kubernetes-action", "patch\n"))
    .message(
      13,
      extension(
        "x-kubernetes-group-version-kind",
        `group: "${r.group}"\nkind: ${r.kind}\nversion: ${r.version}\n`,
      ),
    );
  return w().string(1, path).message(2, w().message(8, op));
}

let cached: Buffer | undefined;

/** The protobuf OpenAPI v2 document (computed once). */
export function openapiV2Protobuf(): Buffer {
  if (cached) return cached;
  const paths = w();
  for (const r of RESOURCES) if (r.verbs.includes("patch")) paths.message(2, patchPath(r));
  cached = w()
    .string(1, "2.0")
    .message(2, w().string(1, "Kubernetes").string(2, "unversioned"))
    .message(8, paths)
    .finish();
  return cached;
}
