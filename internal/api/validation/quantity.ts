// Just enough of resource.Quantity for validation: the syntax check that decoding
// makes and a numeric value to compare requests with limits.

/** The regular expression resource.ParseQuantity names in its error. */
export const QUANTITY_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const SUFFIX: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The value of a quantity ("500m" → 0.5, "1Gi" → 1073741824), or undefined when it does not parse. */
export function parseQuantity(q: unknown): number | undefined {
  if (typeof q === "number") return Number.isFinite(q) ? q : undefined;
  if (typeof q !== "string") return undefined;
  const m = /^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))(.*)$/.exec(q.trim() === q ? q : "");
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2];
  if (suffix in SUFFIX) return n * SUFFIX[suffix];
  const exp = /^[eE]([-+]?[0-9]+)$/.exec(suffix);
  if (exp) return n * 10 ** Number(exp[1]);
  return undefined;
}
