import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  formatLabelSelector,
  formatLabels,
  labelSelectorObjectString,
  labelSelectorString,
  matchLabels,
  parseLabelSelector,
  SelectorError,
  selectorFromLabelSelectorObject,
} from "../../../internal/api/selectors";

const web = { app: "web", tier: "front", version: "3" };
const db = { app: "db", tier: "back" };
const bare = {};

function selects(s: string): [boolean, boolean, boolean] {
  const sel = parseLabelSelector(s);
  return [matchLabels(sel, web), matchLabels(sel, db), matchLabels(sel, bare)];
}

test("equality, inequality and set-based requirements select as kubectl -l does", () => {
  assert.equal(selects("app=web"), [true, false, false]);
  assert.equal(selects("app==web"), [true, false, false]);
  assert.equal(selects("app!=web"), [false, true, true]);
  assert.equal(selects("tier in (front, back)"), [true, true, false]);
  assert.equal(selects("tier notin (front)"), [false, true, true]);
  assert.equal(selects("app"), [true, true, false]);
  assert.equal(selects("!version"), [false, true, true]);
  assert.equal(selects("app,tier=back"), [false, true, false]);
  assert.equal(selects("version>2"), [true, false, false]);
  assert.equal(selects("version<3"), [false, false, false]);
  assert.equal(selects(""), [true, true, true]);
});

test("an empty value matches only an empty label", () => {
  const sel = parseLabelSelector("app=");
  assert.ok(matchLabels(sel, { app: "" }));
  assert.not.ok(matchLabels(sel, { app: "web" }));
  assert.not.ok(matchLabels(sel, {}));
  assert.equal(parseLabelSelector("env in (,a)").requirements[0].values, ["", "a"]);
  assert.equal(parseLabelSelector("env in ()").requirements[0].values, [""]);
  assert.equal(parseLabelSelector("env in (a,,b)").requirements[0].values, ["", "a", "b"]);
  assert.equal(parseLabelSelector("env in (a,,)").requirements[0].values, ["", "a"]);
});

test("the parsed selector prints in canonical form, requirements sorted by key, values sorted", () => {
  assert.is(
    labelSelectorString(parseLabelSelector(" tier in ( b , a ),app = web,!canary ,release")),
    "app=web,!canary,release,tier in (a,b)",
  );
  assert.is(
    labelSelectorString(parseLabelSelector("a==1,b!=2,c notin (y,x),d>5,e<7")),
    "a==1,b!=2,c notin (x,y),d>5,e<7",
  );
  assert.is(labelSelectorString(parseLabelSelector("")), "");
});

test("keywords are ordinary names in key and value positions", () => {
  assert.ok(matchLabels(parseLabelSelector("in=notin"), { in: "notin" }));
  assert.ok(matchLabels(parseLabelSelector("k in (in,notin)"), { k: "in" }));
  assert.ok(matchLabels(parseLabelSelector("example.com/role=db"), { "example.com/role": "db" }));
});

function parseError(s: string): string {
  try {
    parseLabelSelector(s);
  } catch (e) {
    assert.instance(e, SelectorError);
    assert.is((e as SelectorError).code, "BadRequest");
    return (e as Error).message;
  }
  throw new Error(`${s} parsed`);
}

test("malformed selectors are rejected with the API server's messages", () => {
  assert.is(parseError("app=a b"), "found 'b', expected: ',' or 'end of string'");
  assert.is(parseError("app in a"), "unable to parse requirement: found 'a' expected: '('");
  assert.is(parseError("app in (a"), "unable to parse requirement: found '', expected: ',' or ')'");
  assert.is(
    parseError("app x"),
    "unable to parse requirement: found 'x', expected: in, notin, =, ==, !=, gt, lt",
  );
  assert.is(parseError("app,"), "found '', expected: identifier after ','");
  assert.is(parseError(",app"), "found ',', expected: !, identifier, or 'end of string'");
  assert.is(parseError("!=x"), "found '!=', expected: !, identifier, or 'end of string'");
  assert.is(parseError("app=(x"), "unable to parse requirement: found '(', expected: identifier");
  assert.is(parseError("!app=x"), "found '=', expected: ',' or 'end of string'");
});

test("invalid keys and values name the rule they break", () => {
  assert.is(
    parseError("-app=x"),
    `unable to parse requirement: <nil>: Invalid value: "-app": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
  );
  assert.is(
    parseError("app=a@b"),
    `unable to parse requirement: values[0][app]: Invalid value: "a@b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
  );
  assert.is(
    parseError("Example.com/app=x"),
    `unable to parse requirement: <nil>: Invalid value: "Example.com/app": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
  );
  assert.is(
    parseError(`app=${"v".repeat(64)}`),
    `unable to parse requirement: values[0][app]: Invalid value: "${"v".repeat(64)}": must be no more than 63 characters`,
  );
  assert.is(
    parseError("n>x"),
    `unable to parse requirement: values[0]: Invalid value: "x": for 'Gt', 'Lt' operators, the value must be an integer`,
  );
});

test("a metav1.LabelSelector matches like the equivalent string", () => {
  const sel = selectorFromLabelSelectorObject({
    matchLabels: { app: "web" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["front", "edge"] },
      { key: "canary", operator: "DoesNotExist" },
      { key: "version", operator: "Exists" },
      { key: "zone", operator: "NotIn", values: ["b"] },
    ],
  });
  assert.ok(matchLabels(sel, web));
  assert.not.ok(matchLabels(sel, { ...web, canary: "true" }));
  assert.not.ok(matchLabels(sel, { ...web, zone: "b" }));
  assert.not.ok(matchLabels(sel, db));
  assert.is(labelSelectorString(sel), "app=web,!canary,tier in (edge,front),version,zone notin (b)");
});

test("a missing selector object selects nothing, an empty one everything", () => {
  assert.not.ok(matchLabels(selectorFromLabelSelectorObject(undefined), web));
  assert.not.ok(matchLabels(selectorFromLabelSelectorObject(null), bare));
  assert.ok(matchLabels(selectorFromLabelSelectorObject({}), web));
  assert.ok(matchLabels(selectorFromLabelSelectorObject({ matchLabels: {}, matchExpressions: [] }), bare));
});

test("invalid selector objects are rejected with upstream's messages", () => {
  const err = (obj: any) => {
    try {
      selectorFromLabelSelectorObject(obj);
    } catch (e) {
      assert.instance(e, SelectorError);
      return (e as Error).message;
    }
    throw new Error("accepted");
  };
  assert.is(
    err({ matchExpressions: [{ key: "a", operator: "Foo" }] }),
    `"Foo" is not a valid label selector operator`,
  );
  assert.is(
    err({ matchExpressions: [{ key: "a", operator: "In", values: [] }] }),
    "values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty",
  );
  assert.is(
    err({ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }),
    `values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist`,
  );
  assert.match(
    err({ matchLabels: { "bad key": "x" } }),
    /^key: Invalid value: "bad key": name part must consist/,
  );
});

test("selector cells: <none> for empty, <error> for invalid; Scale keeps the bare string", () => {
  assert.is(formatLabelSelector(undefined), "<none>");
  assert.is(formatLabelSelector({}), "<none>");
  assert.is(formatLabelSelector({ matchLabels: { app: "web", tier: "front" } }), "app=web,tier=front");
  assert.is(formatLabelSelector({ matchExpressions: [{ key: "a", operator: "Bogus" }] }), "<error>");
  assert.is(labelSelectorObjectString({}), "");
  assert.is(labelSelectorObjectString({ matchLabels: { app: "web" } }), "app=web");
  assert.is(formatLabels({ b: "2", a: "1" }), "a=1,b=2");
  assert.is(formatLabels({}), "<none>");
  assert.is(formatLabels(undefined), "<none>");
});

test.run();
