// Label selectors with apimachinery's grammar, validation, error messages and string form
// (pkg/labels): "app=web,tier in (a,b),!canary,env!=prod,release". The same requirement type
// backs metav1.LabelSelector objects (matchLabels + matchExpressions) so a Deployment's selector
// and a `-l` query match labels the same way.

import type { LabelSelector as LabelSelectorObject } from "kubernetes-types/meta/v1";
import { SelectorError } from "./errors";
import { goQuote, goStringSlice, invalidValue, isQualifiedName, isValidLabelValue } from "./validation";

export type { LabelSelectorObject };

export type LabelOperator = "in" | "notin" | "=" | "==" | "!=" | "exists" | "!" | "gt" | "lt";

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted and de-duplicated for parsed selectors; as given for selector objects. */
  values: string[];
}

/** A parsed selector: requirements ANDed, sorted by key. `nothing` matches no object at all. */
export interface LabelSelector {
  requirements: LabelRequirement[];
  nothing?: boolean;
}

export type Labels = Readonly<Record<string, string>> | undefined | null;

// ---------------------------------------------------------------------------------------------
// Lexer (labels.Lexer): special symbols = ! ( ) , > <; identifiers run to a symbol or blank.

enum Tok {
  Error = 1,
  End,
  ClosedPar,
  Comma,
  DoesNotExist,
  DoubleEquals,
  Equals,
  GreaterThan,
  Identifier,
  In,
  LessThan,
  NotEquals,
  NotIn,
  OpenPar,
}

const STRING_TO_TOKEN: Record<string, Tok> = {
  ")": Tok.ClosedPar,
  ",": Tok.Comma,
  "!": Tok.DoesNotExist,
  "==": Tok.DoubleEquals,
  "=": Tok.Equals,
  ">": Tok.GreaterThan,
  in: Tok.In,
  "<": Tok.LessThan,
  "!=": Tok.NotEquals,
  notin: Tok.NotIn,
  "(": Tok.OpenPar,
};

function tokenFor(s: string): Tok | undefined {
  return Object.hasOwn(STRING_TO_TOKEN, s) ? STRING_TO_TOKEN[s] : undefined;
}

function isWhitespace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\r" || ch === "\n";
}

function isSpecialSymbol(ch: string): boolean {
  return "=!(),><".includes(ch);
}

interface Item {
  tok: Tok;
  lit: string;
}

function lex(s: string): Item[] {
  const items: Item[] = [];
  let pos = 0;
  for (;;) {
    while (pos < s.length && isWhitespace(s[pos])) pos++;
    if (pos >= s.length) {
      items.push({ tok: Tok.End, lit: "" });
      return items;
    }
    if (isSpecialSymbol(s[pos])) {
      // Longest run of symbols that is still a token ("!=" not "!" then "=").
      let buf = "";
      let last: Item | undefined;
      while (pos < s.length && isSpecialSymbol(s[pos])) {
        buf += s[pos];
        const t = tokenFor(buf);
        if (t !== undefined) {
          last = { tok: t, lit: buf };
          pos++;
        } else if (last) {
          break;
        } else {
          pos++;
        }
      }
      items.push(last ?? { tok: Tok.Error, lit: `error expected: keyword found '${buf}'` });
      continue;
    }
    let buf = "";
    while (pos < s.length && !isSpecialSymbol(s[pos]) && !isWhitespace(s[pos])) buf += s[pos++];
    items.push({ tok: tokenFor(buf) ?? Tok.Identifier, lit: buf });
  }
}

// ---------------------------------------------------------------------------------------------
// Parser (labels.Parser)

const BINARY_OPERATORS = ["in", "notin", "=", "==", "!=", "gt", "lt"];

class ParseError extends Error {}

class Parser {
  private pos = 0;
  constructor(private readonly items: Item[]) {}

  /** In a value position "in" and "notin" are plain identifiers. */
  private view(item: Item, values: boolean): Item {
    if (values && (item.tok === Tok.In || item.tok === Tok.NotIn))
      return { tok: Tok.Identifier, lit: item.lit };
    return item;
  }
  lookahead(values = true): Item {
    return this.view(this.items[this.pos], values);
  }
  consume(values = true): Item {
    const item = this.items[this.pos];
    if (this.pos < this.items.length - 1) this.pos++;
    return this.view(item, values);
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const { tok, lit } = this.lookahead();
      if (tok === Tok.Identifier || tok === Tok.DoesNotExist) {
        try {
          reqs.push(this.parseRequirement());
        } catch (e) {
          if (e instanceof ParseError) throw new ParseError(`unable to parse requirement: ${e.message}`);
          throw e;
        }
        const next = this.consume();
        if (next.tok === Tok.End) return reqs;
        if (next.tok === Tok.Comma) {
          const after = this.lookahead();
          if (after.tok !== Tok.Identifier && after.tok !== Tok.DoesNotExist) {
            throw new ParseError(`found '${after.lit}', expected: identifier after ','`);
          }
          continue;
        }
        throw new ParseError(`found '${next.lit}', expected: ',' or 'end of string'`);
      }
      if (tok === Tok.End) return reqs;
      throw new ParseError(`found '${lit}', expected: !, identifier, or 'end of string'`);
    }
  }

  private parseRequirement(): LabelRequirement {
    const { key, operator: inferred } = this.parseKeyAndInferOperator();
    if (inferred) return newRequirement(key, inferred, [], true);
    const operator = this.parseOperator();
    const values = operator === "in" || operator === "notin" ? this.parseValues() : this.parseExactValue();
    return newRequirement(key, operator, [...values].sort(), true);
  }

  private parseKeyAndInferOperator(): { key: string; operator?: LabelOperator } {
    let operator: LabelOperator | undefined;
    let item = this.consume();
    if (item.tok === Tok.DoesNotExist) {
      operator = "!";
      item = this.consume();
    }
    if (item.tok !== Tok.Identifier) throw new ParseError(`found '${item.lit}', expected: identifier`);
    const errs = isQualifiedName(item.lit);
    // The parser validates the key with no field path, which Go prints as "<nil>".
    if (errs.length > 0) throw new ParseError(invalidValue("<nil>", goQuote(item.lit), errs.join("; ")));
    const next = this.lookahead().tok;
    if ((next === Tok.End || next === Tok.Comma) && operator !== "!") operator = "exists";
    return { key: item.lit, operator };
  }

  private parseOperator(): LabelOperator {
    const { tok, lit } = this.consume(false);
    switch (tok) {
      case Tok.In:
        return "in";
      case Tok.Equals:
        return "=";
      case Tok.DoubleEquals:
        return "==";
      case Tok.GreaterThan:
        return "gt";
      case Tok.LessThan:
        return "lt";
      case Tok.NotIn:
        return "notin";
      case Tok.NotEquals:
        return "!=";
      default:
        throw new ParseError(`found '${lit}', expected: ${BINARY_OPERATORS.join(", ")}`);
    }
  }

  private parseValues(): Set<string> {
    const open = this.consume();
    if (open.tok !== Tok.OpenPar) throw new ParseError(`found '${open.lit}' expected: '('`);
    const { tok, lit } = this.lookahead();
    if (tok === Tok.Identifier || tok === Tok.Comma) {
      const s = this.parseIdentifiersList();
      if (this.consume().tok !== Tok.ClosedPar) throw new ParseError(`found '${lit}', expected: ')'`);
      return s;
    }
    if (tok === Tok.ClosedPar) {
      this.consume();
      return new Set([""]);
    }
    throw new ParseError(`found '${lit}', expected: ',', ')' or identifier`);
  }

  private parseIdentifiersList(): Set<string> {
    const s = new Set<string>();
    for (;;) {
      const { tok, lit } = this.consume();
      if (tok === Tok.Identifier) {
        s.add(lit);
        const next = this.lookahead();
        if (next.tok === Tok.Comma) continue;
        if (next.tok === Tok.ClosedPar) return s;
        throw new ParseError(`found '${next.lit}', expected: ',' or ')'`);
      }
      if (tok === Tok.Comma) {
        // "(,a" / "a,)" / "a,,b" each carry an empty value.
        if (s.size === 0) s.add("");
        const next = this.lookahead().tok;
        if (next === Tok.ClosedPar) {
          s.add("");
          return s;
        }
        if (next === Tok.Comma) s.add("");
        continue;
      }
      throw new ParseError(`found '${lit}', expected: ',', or identifier`);
    }
  }

  private parseExactValue(): Set<string> {
    const ahead = this.lookahead().tok;
    if (ahead === Tok.End || ahead === Tok.Comma) return new Set([""]);
    const { tok, lit } = this.consume();
    if (tok === Tok.Identifier) return new Set([lit]);
    throw new ParseError(`found '${lit}', expected: identifier`);
  }
}

/**
 * labels.NewRequirement: validates the key, the value count for the operator and each value.
 * `fromParser` only changes the error type so the parser can prefix its message.
 */
function newRequirement(
  key: string,
  operator: LabelOperator,
  values: string[],
  fromParser = false,
): LabelRequirement {
  const errs: string[] = [];
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) errs.push(invalidValue("key", goQuote(key), keyErrs.join("; ")));
  switch (operator) {
    case "in":
    case "notin":
      if (values.length === 0) {
        errs.push(
          invalidValue(
            "values",
            goStringSlice(values),
            "for 'in', 'notin' operators, values set can't be empty",
          ),
        );
      }
      break;
    case "=":
    case "==":
    case "!=":
      if (values.length !== 1) {
        errs.push(
          invalidValue(
            "values",
            goStringSlice(values),
            "exact-match compatibility requires one single value",
          ),
        );
      }
      break;
    case "exists":
    case "!":
      if (values.length !== 0) {
        errs.push(
          invalidValue(
            "values",
            goStringSlice(values),
            "values set must be empty for exists and does not exist",
          ),
        );
      }
      break;
    case "gt":
    case "lt":
      if (values.length !== 1) {
        errs.push(
          invalidValue(
            "values",
            goStringSlice(values),
            "for 'Gt', 'Lt' operators, exactly one value is required",
          ),
        );
      }
      values.forEach((v, i) => {
        if (parseInt64(v) === undefined) {
          errs.push(
            invalidValue(
              `values[${i}]`,
              goQuote(v),
              "for 'Gt', 'Lt' operators, the value must be an integer",
            ),
          );
        }
      });
      break;
  }
  values.forEach((v, i) => {
    const valueErrs = isValidLabelValue(v);
    if (valueErrs.length > 0)
      errs.push(invalidValue(`values[${i}][${key}]`, goQuote(v), valueErrs.join("; ")));
  });
  if (errs.length > 0) {
    const unique = [...new Set(errs)];
    const message = unique.length === 1 ? unique[0] : `[${unique.join(", ")}]`;
    throw fromParser ? new ParseError(message) : new SelectorError(message);
  }
  return { key, operator, values };
}

/** strconv.ParseInt(s, 10, 64) as a bigint, undefined when it is not a decimal int64. */
function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return undefined;
  return n;
}

function byKey(a: LabelRequirement, b: LabelRequirement): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * Parses a `labelSelector` query / `kubectl -l` string. The empty string selects everything.
 * Throws SelectorError (code BadRequest) with upstream's message on bad input.
 */
export function parseLabelSelector(s: string): LabelSelector {
  try {
    const reqs = new Parser(lex(s)).parse();
    return { requirements: reqs.sort(byKey) };
  } catch (e) {
    if (e instanceof ParseError) throw new SelectorError(e.message);
    throw e;
  }
}

/** A selector that matches every object. */
export function everything(): LabelSelector {
  return { requirements: [] };
}

/** Whether one requirement holds for a label set (labels.Requirement.Matches). */
export function matchRequirement(r: LabelRequirement, labels: Labels): boolean {
  const has = labels != null && Object.hasOwn(labels, r.key);
  const value = has ? labels![r.key] : "";
  switch (r.operator) {
    case "in":
    case "=":
    case "==":
      return has && r.values.includes(value);
    case "notin":
    case "!=":
      return !has || !r.values.includes(value);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      if (!has || r.values.length !== 1) return false;
      const actual = parseInt64(value);
      const bound = parseInt64(r.values[0]);
      if (actual === undefined || bound === undefined) return false;
      return r.operator === "gt" ? actual > bound : actual < bound;
    }
  }
}

/** Whether every requirement holds for the labels. */
export function matchLabels(sel: LabelSelector, labels: Labels): boolean {
  if (sel.nothing) return false;
  for (const r of sel.requirements) if (!matchRequirement(r, labels)) return false;
  return true;
}

/** True for a selector that selects everything (no requirements). */
export function isEverything(sel: LabelSelector): boolean {
  return !sel.nothing && sel.requirements.length === 0;
}

function requirementString(r: LabelRequirement): string {
  let out = r.operator === "!" ? `!${r.key}` : r.key;
  switch (r.operator) {
    case "exists":
    case "!":
      return out;
    case "in":
      out += " in ";
      break;
    case "notin":
      out += " notin ";
      break;
    case "gt":
      out += ">";
      break;
    case "lt":
      out += "<";
      break;
    default:
      out += r.operator;
  }
  const values = r.values.length === 1 ? r.values[0] : [...r.values].sort().join(",");
  return r.operator === "in" || r.operator === "notin" ? `${out}(${values})` : out + values;
}

/** The selector's canonical string ("app=web,tier in (a,b)"); "" for everything and nothing. */
export function labelSelectorString(sel: LabelSelector): string {
  if (sel.nothing) return "";
  return sel.requirements.map(requirementString).join(",");
}

/**
 * metav1.LabelSelectorAsSelector: a missing selector matches nothing, an empty one everything;
 * matchLabels are equality requirements. Throws SelectorError on an invalid selector.
 */
export function selectorFromLabelSelectorObject(obj: LabelSelectorObject | null | undefined): LabelSelector {
  if (obj == null) return { requirements: [], nothing: true };
  const matchLabels = obj.matchLabels ?? {};
  const exprs = obj.matchExpressions ?? [];
  // Stored objects passed schema validation; this only keeps a malformed one from crashing a caller.
  if (typeof obj !== "object" || typeof matchLabels !== "object" || !Array.isArray(exprs)) {
    throw new SelectorError("invalid label selector");
  }
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(matchLabels)) reqs.push(newRequirement(k, "=", [String(v)]));
  for (const e of exprs) {
    let op: LabelOperator;
    switch (e?.operator) {
      case "In":
        op = "in";
        break;
      case "NotIn":
        op = "notin";
        break;
      case "Exists":
        op = "exists";
        break;
      case "DoesNotExist":
        op = "!";
        break;
      default:
        throw new SelectorError(
          `${goQuote(String(e?.operator ?? ""))} is not a valid label selector operator`,
        );
    }
    const values: unknown = e.values ?? [];
    if (!Array.isArray(values)) throw new SelectorError("invalid label selector");
    reqs.push(newRequirement(String(e.key ?? ""), op, values.map(String)));
  }
  return { requirements: reqs.sort(byKey) };
}

/**
 * metav1.FormatLabelSelector, the wide Selector column: the string form, "<none>" when it
 * selects everything or nothing, "<error>" when it is invalid.
 */
export function formatLabelSelector(obj: LabelSelectorObject | null | undefined): string {
  let s: string;
  try {
    s = labelSelectorString(selectorFromLabelSelectorObject(obj));
  } catch (e) {
    if (e instanceof SelectorError) return "<error>";
    throw e;
  }
  return s === "" ? "<none>" : s;
}

/**
 * The string a Scale's status.selector and a Deployment's wide Selector column carry:
 * LabelSelectorAsSelector(...).String(), "" for an empty selector. Throws on an invalid one.
 */
export function labelSelectorObjectString(obj: LabelSelectorObject | null | undefined): string {
  return labelSelectorString(selectorFromLabelSelectorObject(obj));
}

/** labels.FormatLabels: "a=1,b=2" in key order, "<none>" when empty (Service/DaemonSet cells). */
export function formatLabels(labels: Labels): string {
  if (labels == null) return "<none>";
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return "<none>";
  return keys.map((k) => `${k}=${labels[k]}`).join(",");
}
