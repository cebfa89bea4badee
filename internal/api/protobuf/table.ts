// The shape of the generated field tables (messages.ts).

/** Field flags. */
export const F_REPEATED = 1;
/** A map<string, V>: the entries are messages with key = 1, value = 2. */
export const F_MAP = 2;
/** The Go field's JSON tag has omitempty: a zero value is left out. */
export const F_OMITEMPTY = 4;
/** The Go field is a pointer: present means set, even to zero. */
export const F_POINTER = 8;
/** The Go field is embedded with `json:",inline"`: its fields join the parent's. */
export const F_INLINE = 16;

export type FieldType =
  | "message"
  | "map"
  | "string"
  | "bytes"
  | "bool"
  | "int32"
  | "int64"
  | "uint32"
  | "uint64"
  | "sint32"
  | "sint64"
  | "fixed32"
  | "fixed64"
  | "sfixed32"
  | "sfixed64"
  | "double"
  | "float";

/** [field number, JSON name, type, flags, message name for "message" and "map"]. */
export type FieldRow = readonly [number, string, FieldType, number, string?];

/** Full proto message name → its fields, or "special" for types with their own JSON form. */
export type MessageTable = Readonly<Record<string, readonly FieldRow[] | "special">>;
