// Field selectors as apimachinery parses them (pkg/fields): comma-separated terms
// `field=value`, `field==value`, `field!=value`, with `\,` `\=` `\\` escapes in values. Which
// fields a resource supports, and the values they carry, follow each upstream registry's
// GetAttrs/field label conversion (pods' spec.nodeName, events' source...).

import type { ResourceInfo } from "../resources";
import { SelectorError } from "./errors";
import { goQuote } from "./validation";

export interface FieldRequirement {
  field: string;
  /** "==" parses to "=". */
  op: "=" | "!=";
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
}

/** Terms split on unescaped commas; escapes stay in the term for UnescapeValue. */
function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === "\\") inSlash = true;
    else if (c === ",") {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

const TERM_OPERATORS = ["!=", "==", "="] as const;

/** The first operator in the term splits it; the left side has no escaping. */
function splitTerm(
  term: string,
): { lhs: string; op: (typeof TERM_OPERATORS)[number]; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of TERM_OPERATORS) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/** fields.UnescapeValue. */
function unescapeValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = "";
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === "\\" || c === "," || c === "=") out += c;
      else throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === "\\") inSlash = true;
    else if (c === "," || c === "=") {
      // Upstream formats the rune with %v, which prints its code point (61 for "=").
      throw new SelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    } else out += c;
  }
  if (inSlash) throw new SelectorError("invalid field selector: invalid escape sequence: \\");
  return out;
}

/** fields.EscapeValue: the inverse, for printing a selector back. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/**
 * Parses a `fieldSelector` query. The empty string selects everything. With `info`, the fields
 * are also checked against what the resource supports (see validateFieldSelector).
 * Throws SelectorError (code BadRequest) with upstream's message.
 */
export function parseFieldSelector(s: string, info?: ResourceInfo): FieldSelector {
  const terms = splitTerms(s).sort();
  const requirements: FieldRequirement[] = [];
  for (const term of terms) {
    if (term === "") continue;
    const parts = splitTerm(term);
    if (!parts) throw new SelectorError(`invalid selector: '${s}'; can't understand '${term}'`);
    const value = unescapeValue(parts.rhs);
    requirements.push({ field: parts.lhs, op: parts.op === "!=" ? "!=" : "=", value });
  }
  const sel = { requirements };
  return info ? validateFieldSelector(info, sel) : sel;
}

/** Old field names the API still accepts, per resource kind (pods' `spec.host`). */
const FIELD_ALIASES: Record<string, Record<string, string>> = {
  "/Pod": { "spec.host": "spec.nodeName" },
};

function kindKey(info: Pick<ResourceInfo, "group" | "kind">): string {
  return `${info.group}/${info.kind}`;
}

/** The field names a resource's selectors accept. */
export function supportedFields(info: ResourceInfo): string[] {
  return ["metadata.name", "metadata.namespace", ...info.selectableFields];
}

/**
 * Checks every field against the resource and rewrites accepted aliases. An unknown field is
 * a SelectorError with the message the API server gives: kinds with their own field label
 * conversion say "field label not supported: f"; the others use the generic metadata-only text.
 */
export function validateFieldSelector(info: ResourceInfo, sel: FieldSelector): FieldSelector {
  const supported = new Set(supportedFields(info));
  const aliases = FIELD_ALIASES[kindKey(info)] ?? {};
  const requirements = sel.requirements.map((r) => {
    const field = Object.hasOwn(aliases, r.field) ? aliases[r.field] : r.field;
    if (supported.has(field)) return field === r.field ? r : { ...r, field };
    if (info.selectableFields.length > 0) throw new SelectorError(`field label not supported: ${r.field}`);
    throw new SelectorError(
      `${goQuote(r.field)} is not a known field selector: only ${goQuote("metadata.name")}, ${goQuote("metadata.namespace")}`,
    );
  });
  return { requirements };
}

function pathValue(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function str(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (typeof v === "string") return v;
  if (typeof v === "boolean" || typeof v === "number" || typeof v === "bigint") return String(v);
  return "";
}

function bool(v: unknown): string {
  return v === true ? "true" : "false";
}

type Extractor = (obj: any) => string;

/**
 * Fields whose value is not simply the string at that path: Go booleans print "true"/"false"
 * even when unset, a pod's IP is its first podIPs entry, an event's source falls back to the
 * reporting controller.
 */
const EXTRACTORS: Record<string, Record<string, Extractor>> = {
  "/Pod": {
    "spec.hostNetwork": (o) => bool(o?.spec?.hostNetwork),
    "status.podIP": (o) => str(o?.status?.podIPs?.[0]?.ip ?? o?.status?.podIP),
  },
  "/Node": {
    "spec.unschedulable": (o) => bool(o?.spec?.unschedulable),
  },
  "/Event": {
    source: (o) => str(o?.source?.component) || str(o?.reportingComponent),
  },
  "events.k8s.io/Event": {
    source: (o) => str(o?.deprecatedSource?.component) || str(o?.reportingController),
    reportingComponent: (o) => str(o?.reportingController),
  },
  "batch/Job": {
    "status.successful": (o) => String(Number(o?.status?.succeeded ?? 0)),
  },
  "apps/ReplicaSet": {
    "status.replicas": (o) => String(Number(o?.status?.replicas ?? 0)),
  },
};

/**
 * The field set selectors match against: metadata.name and metadata.namespace always, plus
 * the resource's selectable fields read from the object.
 */
export function fieldsOf(info: ResourceInfo, obj: any): Record<string, string> {
  const out: Record<string, string> = {
    "metadata.name": str(obj?.metadata?.name),
    "metadata.namespace": str(obj?.metadata?.namespace),
  };
  const extractors = EXTRACTORS[kindKey(info)] ?? {};
  for (const f of info.selectableFields) {
    out[f] = Object.hasOwn(extractors, f) ? extractors[f](obj) : str(pathValue(obj, f));
  }
  return out;
}

/** Whether every term holds; a field missing from the set reads as "". */
export function matchFields(sel: FieldSelector, fields: Readonly<Record<string, string>>): boolean {
  for (const r of sel.requirements) {
    const v = Object.hasOwn(fields, r.field) ? fields[r.field] : "";
    if (r.op === "=" ? v !== r.value : v === r.value) return false;
  }
  return true;
}

/** The selector's string form, e.g. "metadata.name=web,status.phase!=Failed". */
export function fieldSelectorString(sel: FieldSelector): string {
  return sel.requirements.map((r) => `${r.field}${r.op}${escapeFieldValue(r.value)}`).join(",");
}

/** If the selector pins `field` with "=", that value (lets a list use a narrower key range). */
export function requiredFieldValue(sel: FieldSelector, field: string): string | undefined {
  return sel.requirements.find((r) => r.field === field && r.op === "=")?.value;
}
