// The JSON Schema / OpenAPI v3 schema objects the generator writes and the
// server reads. Loose on purpose: extensions are keys like "x-kubernetes-...".

export interface JsonSchema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  allOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  $ref?: string;
  [extension: string]: unknown;
}

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}
