// Schemas of the served types: definitions, OpenAPI v3 documents and patch metadata.
export { definitionNameFor, definitions, REF_PREFIX, reachable, resolve, schemaFor } from "./definitions";
export { openapiV3Document, openapiV3DocumentJson, openapiV3Root } from "./openapi";
export { OPENAPI_V2_CONTENT_TYPE, OPENAPI_V2_PROTOBUF, openapiV2Protobuf } from "./openapiv2";
export type { PatchFieldMeta, PatchMeta } from "./patchmeta";
export { patchMetaFor } from "./patchmeta";
export type { GroupVersionKind, JsonSchema } from "./types";
