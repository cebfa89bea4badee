// Field errors as apimachinery's util/validation/field builds them: a cause type, a
// field path (`spec.containers[0].ports[1].name`, `data[key]`) and a body worded
// exactly as Kubernetes words it ("Required value", `Invalid value: "x": detail`),
// so kubectl prints what a real cluster prints.

export type CauseReason =
  | "FieldValueRequired"
  | "FieldValueInvalid"
  | "FieldValueNotSupported"
  | "FieldValueDuplicate"
  | "FieldValueForbidden"
  | "FieldValueTooLong"
  | "FieldValueTooMany"
  | "FieldValueTypeInvalid"
  | "FieldValueNotFound";

/** One entry of a 422 Status's details.causes. */
export interface Cause {
  reason: CauseReason;
  field: string;
  /** The error body without the field ("Required value", `Invalid value: 70000: must be ...`). */
  message: string;
}

/** A value rendered as Go's %#v would render it (for maps, slices and structs). */
export class GoValue {
  constructor(readonly text: string) {}
}

export type BadValue = string | number | boolean | null | undefined | GoValue;

/** Go's %q for the strings our messages carry (JSON quoting matches for printable text). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** How field.Error renders a bad value: %q for strings, %v for numbers and bools, else %#v. */
export function renderValue(v: BadValue): string {
  if (v === null || v === undefined) return "null";
  if (v instanceof GoValue) return v.text;
  if (typeof v === "string") return goQuote(v);
  return String(v);
}

/** map[string]string{"a":"b"} with sorted keys; a nil map is map[string]string(nil). */
export function goStringMap(m: Record<string, unknown> | null | undefined): GoValue {
  if (m === null || m === undefined) return new GoValue("map[string]string(nil)");
  const body = Object.keys(m)
    .sort()
    .map((k) => `${goQuote(k)}:${goQuote(String(m[k]))}`)
    .join(", ");
  return new GoValue(`map[string]string{${body}}`);
}

/** []string{"a", "b"}; a nil slice is []string(nil). */
export function goStringSlice(a: unknown[] | null | undefined): GoValue {
  if (a === null || a === undefined) return new GoValue("[]string(nil)");
  return new GoValue(`[]string{${a.map((x) => goQuote(String(x))).join(", ")}}`);
}

interface SelectorLike {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key?: string; operator?: string; values?: string[] | null }[] | null;
}

/** v1.LabelSelector{MatchLabels:map[string]string{...}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}. */
export function goLabelSelector(sel: SelectorLike | null | undefined): GoValue {
  if (!sel) return new GoValue("null");
  const exprs = sel.matchExpressions;
  const e = exprs
    ? `[]v1.LabelSelectorRequirement{${exprs
        .map(
          (x) =>
            `v1.LabelSelectorRequirement{Key:${goQuote(x.key ?? "")}, Operator:${goQuote(x.operator ?? "")}, Values:${goStringSlice(x.values).text}}`,
        )
        .join(", ")}}`
    : "[]v1.LabelSelectorRequirement(nil)";
  return new GoValue(
    `v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels).text}, MatchExpressions:${e}}`,
  );
}

/** A value with no faithful Go rendering (a whole pod template): compact JSON. */
export function goJson(v: unknown): GoValue {
  return new GoValue(JSON.stringify(v) ?? "null");
}

/** A field path being built: child names joined by ".", indexes and keys in brackets. */
export class Path {
  constructor(readonly text: string = "") {}
  child(...names: string[]): Path {
    let t = this.text;
    for (const n of names) t = t ? `${t}.${n}` : n;
    return new Path(t);
  }
  index(i: number): Path {
    return new Path(`${this.text}[${i}]`);
  }
  key(k: string): Path {
    return new Path(`${this.text}[${k}]`);
  }
  toString(): string {
    return this.text;
  }
}

export const root = (...names: string[]): Path => new Path().child(...names);

function withDetail(s: string, detail: string): string {
  return detail ? `${s}: ${detail}` : s;
}

export function required(p: Path, detail = ""): Cause {
  return { reason: "FieldValueRequired", field: p.text, message: withDetail("Required value", detail) };
}

export function invalid(p: Path, value: BadValue, detail: string): Cause {
  return {
    reason: "FieldValueInvalid",
    field: p.text,
    message: withDetail(`Invalid value: ${renderValue(value)}`, detail),
  };
}

export function notSupported(p: Path, value: BadValue, valid: string[]): Cause {
  const detail = valid.length ? `supported values: ${valid.map(goQuote).join(", ")}` : "";
  return {
    reason: "FieldValueNotSupported",
    field: p.text,
    message: withDetail(`Unsupported value: ${renderValue(value)}`, detail),
  };
}

export function duplicate(p: Path, value: BadValue): Cause {
  return { reason: "FieldValueDuplicate", field: p.text, message: `Duplicate value: ${renderValue(value)}` };
}

export function notFound(p: Path, value: BadValue): Cause {
  return { reason: "FieldValueNotFound", field: p.text, message: `Not found: ${renderValue(value)}` };
}

export function forbidden(p: Path, detail: string): Cause {
  return { reason: "FieldValueForbidden", field: p.text, message: withDetail("Forbidden", detail) };
}

export function tooLong(p: Path, maxBytes: number): Cause {
  return {
    reason: "FieldValueTooLong",
    field: p.text,
    message: `Too long: must have at most ${maxBytes} bytes`,
  };
}

export function typeInvalid(p: Path, value: BadValue, detail: string): Cause {
  return {
    reason: "FieldValueTypeInvalid",
    field: p.text,
    message: withDetail(`Invalid value: ${renderValue(value)}`, detail),
  };
}

/** apimachinery's ValidateImmutableField: Invalid with "field is immutable" when the values differ. */
export function immutable(
  p: Path,
  newValue: unknown,
  oldValue: unknown,
  render: (v: unknown) => BadValue,
): Cause[] {
  if (deepEqual(newValue, oldValue)) return [];
  return [invalid(p, render(newValue), "field is immutable")];
}

/** Semantic equality of JSON values: absent, null and empty collections are not told apart for maps. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (typeof a === "object" && typeof b === "object") {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
    for (const k of keys) {
      if (!deepEqual(ao[k] ?? undefined, bo[k] ?? undefined)) return false;
    }
    return true;
  }
  return false;
}

/**
 * The Status message of a 422, as apierrors.NewInvalid builds it:
 * `<Kind>[.<group>] "<name>" is invalid: <field>: <body>`; two or more distinct
 * errors are joined with ", " inside brackets (utilerrors.Aggregate).
 */
export function invalidMessage(kind: string, group: string, name: string, causes: Cause[]): string {
  const qualified = group ? `${kind}.${group}` : kind;
  const seen: string[] = [];
  for (const c of causes) {
    const msg = c.field ? `${c.field}: ${c.message}` : c.message;
    if (!seen.includes(msg)) seen.push(msg);
  }
  if (seen.length === 0) return `${qualified} ${goQuote(name)} is invalid`;
  const body = seen.length === 1 ? seen[0] : `[${seen.join(", ")}]`;
  return `${qualified} ${goQuote(name)} is invalid: ${body}`;
}

/** The 422 Status object for a rejected object. */
export function invalidStatus(kind: string, group: string, name: string, causes: Cause[]): object {
  const details: Record<string, unknown> = {
    name,
    kind,
    causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })),
  };
  if (group) details.group = group;
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: invalidMessage(kind, group, name, causes),
    reason: "Invalid",
    details,
    code: 422,
  };
}
