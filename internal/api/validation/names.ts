// Name, label, annotation and key syntax with apimachinery's messages
// (k8s.io/apimachinery/pkg/util/validation), and object metadata validation
// (pkg/api/validation/objectmeta.go).
import { type Cause, forbidden, goLabelSelector, invalid, type Path, required, tooLong } from "./field";

/** RegexError: msg (e.g. 'a',  or 'b', regex used for validation is 'fmt'). Upstream's double space included. */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  let s = `${msg} (e.g. `;
  examples.forEach((e, i) => {
    if (i > 0) s += " or ";
    s += `'${e}', `;
  });
  return `${s}regex used for validation is '${fmt}')`;
}

const maxLenError = (n: number) => `must be no more than ${n} characters`;
export const inclusiveRangeError = (lo: number, hi: number) => `must be between ${lo} and ${hi}, inclusive`;

const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?";
const QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_VALUE_FMT = `(${QNAME_FMT})?`;
const CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+";
const ENV_VAR_FMT = "[-._a-zA-Z][-._a-zA-Z0-9]*";

const whole = (fmt: string) => new RegExp(`^${fmt}$`);
const dns1123LabelRe = whole(DNS1123_LABEL_FMT);
const dns1123SubdomainRe = whole(DNS1123_SUBDOMAIN_FMT);
const dns1035LabelRe = whole(DNS1035_LABEL_FMT);
const qnameRe = whole(QNAME_FMT);
const labelValueRe = whole(LABEL_VALUE_FMT);
const configKeyRe = whole(CONFIG_KEY_FMT);
const envVarRe = whole(ENV_VAR_FMT);

const QNAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export function isDNS1123Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!dns1123LabelRe.test(v)) {
    if (dns1123SubdomainRe.test(v)) errs.push("must not contain dots");
    else
      errs.push(
        regexError(
          "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
          DNS1123_LABEL_FMT,
          "my-name",
          "123-abc",
        ),
      );
  }
  return errs;
}

export function isDNS1123Subdomain(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!dns1123SubdomainRe.test(v)) {
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        "example.com",
      ),
    );
  }
  return errs;
}

export function isDNS1035Label(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!dns1035LabelRe.test(v)) {
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        "my-name",
        "abc-123",
      ),
    );
  }
  return errs;
}

/** Label keys and annotation keys: [prefix/]name. */
export function isQualifiedName(v: string): string[] {
  const errs: string[] = [];
  const parts = v.split("/");
  let name: string;
  if (parts.length === 1) name = parts[0];
  else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else for (const m of isDNS1123Subdomain(prefix)) errs.push(`prefix part ${m}`);
  } else {
    return [
      `a qualified name ${regexError(QNAME_MSG, QNAME_FMT, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (name.length > 63) errs.push(`name part ${maxLenError(63)}`);
  if (!qnameRe.test(name))
    errs.push(`name part ${regexError(QNAME_MSG, QNAME_FMT, "MyName", "my.name", "123-abc")}`);
  return errs;
}

export function isValidLabelValue(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 63) errs.push(maxLenError(63));
  if (!labelValueRe.test(v)) {
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE_FMT,
        "MyValue",
        "my_value",
        "12345",
      ),
    );
  }
  return errs;
}

function hasChDirPrefix(v: string): string[] {
  if (v === ".") return ["must not be '.'"];
  if (v === "..") return ["must not be '..'"];
  if (v.startsWith("..")) return ["must not start with '..'"];
  return [];
}

/** ConfigMap and Secret data keys. */
export function isConfigMapKey(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 253) errs.push(maxLenError(253));
  if (!configKeyRe.test(v)) {
    errs.push(
      regexError(
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.'",
        CONFIG_KEY_FMT,
        "key.name",
        "KEY_NAME",
        "key-name",
      ),
    );
  }
  return [...errs, ...hasChDirPrefix(v)];
}

export function isEnvVarName(v: string): string[] {
  const errs: string[] = [];
  if (!envVarRe.test(v)) {
    errs.push(
      regexError(
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
        ENV_VAR_FMT,
        "my.env-name",
        "MY_ENV.NAME",
        "MyEnvName1",
      ),
    );
  }
  return [...errs, ...hasChDirPrefix(v)];
}

/** IANA_SVC_NAME: container and service port names. */
export function isValidPortName(v: string): string[] {
  const errs: string[] = [];
  if (v.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(v))
    errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!/[a-z]/.test(v)) errs.push("must contain at least one letter (a-z)");
  if (v.includes("--")) errs.push("must not contain consecutive hyphens");
  if (v.length > 0 && (v.startsWith("-") || v.endsWith("-")))
    errs.push("must not begin or end with a hyphen");
  return errs;
}

export function isValidPortNum(n: number): string[] {
  return n >= 1 && n <= 65535 ? [] : [inclusiveRangeError(1, 65535)];
}

/** A name validation function: (name, prefix) → messages; prefix = generateName, trailing "-" allowed. */
export type NameFn = (name: string, prefix: boolean) => string[];

const maskTrailingDash = (name: string) =>
  name.length > 1 && name.endsWith("-") ? `${name.slice(0, -2)}a` : name;

export const nameIsDNSSubdomain: NameFn = (n, prefix) => isDNS1123Subdomain(prefix ? maskTrailingDash(n) : n);
export const nameIsDNSLabel: NameFn = (n, prefix) => isDNS1123Label(prefix ? maskTrailingDash(n) : n);
export const nameIsDNS1035Label: NameFn = (n, prefix) => isDNS1035Label(prefix ? maskTrailingDash(n) : n);

export function validateDNS1123Label(v: string, p: Path): Cause[] {
  return isDNS1123Label(v).map((m) => invalid(p, v, m));
}

export function validateDNS1123Subdomain(v: string, p: Path): Cause[] {
  return isDNS1123Subdomain(v).map((m) => invalid(p, v, m));
}

export function validateQualifiedName(v: string, p: Path): Cause[] {
  return isQualifiedName(v).map((m) => invalid(p, v, m));
}

/** ValidateLabels: every key a qualified name, every value a label value; errors on the map's path. */
export function validateLabels(labels: unknown, p: Path): Cause[] {
  const out: Cause[] = [];
  if (!labels || typeof labels !== "object") return out;
  for (const [k, v] of Object.entries(labels as Record<string, unknown>)) {
    out.push(...validateQualifiedName(k, p));
    const value = typeof v === "string" ? v : String(v ?? "");
    for (const m of isValidLabelValue(value)) out.push(invalid(p, value, m));
  }
  return out;
}

const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

/** ValidateAnnotations: keys are qualified names (case-insensitive); all together at most 256 KiB. */
export function validateAnnotations(annotations: unknown, p: Path): Cause[] {
  const out: Cause[] = [];
  if (!annotations || typeof annotations !== "object") return out;
  let size = 0;
  for (const [k, v] of Object.entries(annotations as Record<string, unknown>)) {
    for (const m of isQualifiedName(k.toLowerCase())) out.push(invalid(p, k, m));
    size += Buffer.byteLength(k) + Buffer.byteLength(String(v ?? ""));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) out.push(tooLong(p, TOTAL_ANNOTATION_SIZE_LIMIT));
  return out;
}

export function validateNonnegative(v: unknown, p: Path): Cause[] {
  return typeof v === "number" && v < 0 ? [invalid(p, v, "must be greater than or equal to 0")] : [];
}

type Meta = {
  name?: string;
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  generation?: number;
  finalizers?: string[];
  ownerReferences?: {
    apiVersion?: string;
    kind?: string;
    name?: string;
    uid?: string;
    controller?: boolean;
  }[];
};

/** ValidateObjectMeta for create and update alike. */
export function validateObjectMeta(
  meta: Meta | undefined,
  namespaced: boolean,
  nameFn: NameFn,
  p: Path,
): Cause[] {
  const m = meta ?? {};
  const out: Cause[] = [];
  if (m.generateName)
    for (const msg of nameFn(m.generateName, true))
      out.push(invalid(p.child("generateName"), m.generateName, msg));
  if (!m.name) out.push(required(p.child("name"), "name or generateName is required"));
  else for (const msg of nameFn(m.name, false)) out.push(invalid(p.child("name"), m.name, msg));
  if (namespaced) {
    if (!m.namespace) out.push(required(p.child("namespace")));
    else
      for (const msg of isDNS1123Label(m.namespace))
        out.push(invalid(p.child("namespace"), m.namespace, msg));
  } else if (m.namespace) {
    out.push(forbidden(p.child("namespace"), "not allowed on this type"));
  }
  out.push(...validateNonnegative(m.generation, p.child("generation")));
  out.push(...validateLabels(m.labels, p.child("labels")));
  out.push(...validateAnnotations(m.annotations, p.child("annotations")));
  out.push(...validateOwnerReferences(m.ownerReferences, p.child("ownerReferences")));
  out.push(...validateFinalizers(m.finalizers, p.child("finalizers")));
  return out;
}

function validateOwnerReferences(refs: Meta["ownerReferences"], p: Path): Cause[] {
  const out: Cause[] = [];
  let controllers = 0;
  for (const r of refs ?? []) {
    if (!r.apiVersion)
      out.push(invalid(p.child("apiVersion"), r.apiVersion ?? "", "version must not be empty"));
    if (!r.kind) out.push(invalid(p.child("kind"), r.kind ?? "", "kind must not be empty"));
    if (!r.name) out.push(invalid(p.child("name"), r.name ?? "", "name must not be empty"));
    if (!r.uid) out.push(invalid(p.child("uid"), r.uid ?? "", "uid must not be empty"));
    if (r.controller) controllers++;
  }
  if (controllers > 1) out.push(invalid(p, null, "Only one reference can have Controller set to true"));
  return out;
}

function validateFinalizers(finalizers: string[] | undefined, p: Path): Cause[] {
  const out: Cause[] = [];
  // Upstream only warns about finalizers that are not domain-qualified; their syntax is checked.
  for (const f of finalizers ?? []) out.push(...validateQualifiedName(f, p));
  return out;
}

/** ValidateObjectMetaUpdate: the identity fields may not change. */
export function validateObjectMetaUpdate(meta: Meta | undefined, old: Meta | undefined, p: Path): Cause[] {
  const out: Cause[] = [];
  const n = meta ?? {};
  const o = old ?? {};
  if ((n.name ?? "") !== (o.name ?? ""))
    out.push(invalid(p.child("name"), n.name ?? "", "field is immutable"));
  if ((n.namespace ?? "") !== (o.namespace ?? ""))
    out.push(invalid(p.child("namespace"), n.namespace ?? "", "field is immutable"));
  return out;
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: { key?: string; operator?: string; values?: string[] | null }[] | null;
}

/** ValidateLabelSelector (metav1 validation). */
export function validateLabelSelector(sel: LabelSelectorObject | undefined | null, p: Path): Cause[] {
  const out: Cause[] = [];
  if (!sel) return out;
  (sel.matchExpressions ?? []).forEach((e, i) => {
    const ep = p.child("matchExpressions").index(i);
    const values = e.values ?? [];
    switch (e.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0)
          out.push(required(ep.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0)
          out.push(
            forbidden(
              ep.child("values"),
              "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            ),
          );
        break;
      default:
        out.push(invalid(ep.child("operator"), e.operator ?? "", "not a valid selector operator"));
    }
    out.push(...validateQualifiedName(e.key ?? "", ep.child("key")));
  });
  out.push(...validateLabels(sel.matchLabels, p.child("matchLabels")));
  return out;
}

/** Whether a label selector object selects the given labels (an empty selector selects everything). */
export function selectorMatches(
  sel: LabelSelectorObject,
  labels: Record<string, string> | undefined,
): boolean {
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key !== undefined && Object.hasOwn(l, e.key);
    const value = e.key !== undefined ? l[e.key] : undefined;
    switch (e.operator) {
      case "In":
        if (!has || !(e.values ?? []).includes(value as string)) return false;
        break;
      case "NotIn":
        if (has && (e.values ?? []).includes(value as string)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

export function selectorIsEmpty(sel: LabelSelectorObject): boolean {
  return Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0;
}

export { goLabelSelector };
