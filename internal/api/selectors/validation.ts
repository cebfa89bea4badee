// Label key and value validation with apimachinery's messages (util/validation), as the label
// selector parser reports them. One implementation serves both the selector parser and
// object validation.
export { isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from "../validation/names";

/** Go's %q for the strings that reach these messages (printable text; JSON escapes agree). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's %#v of a []string, as field.Invalid prints a bad value list. */
export function goStringSlice(values: string[]): string {
  return `[]string{${values.map(goQuote).join(", ")}}`;
}

/** field.Invalid(path, value, detail).Error(). */
export function invalidValue(path: string, value: string, detail: string): string {
  return `${path}: Invalid value: ${value}: ${detail}`;
}
