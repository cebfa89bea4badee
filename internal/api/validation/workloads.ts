// Workload validation after pkg/apis/apps/validation and pkg/apis/batch/validation:
// selectors that match their template, restart policies, strategies, replicas and
// the fields that may not change once set.
import {
  type Cause,
  deepEqual,
  forbidden,
  GoValue,
  goJson,
  goLabelSelector,
  goStringMap,
  invalid,
  notSupported,
  type Path,
  required,
} from "./field";
import {
  type LabelSelectorObject,
  selectorIsEmpty,
  selectorMatches,
  validateLabelSelector,
  validateLabels,
  validateNonnegative,
} from "./names";
import { validatePodTemplateSpec } from "./pod";

type Obj = Record<string, any>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === "object" && !Array.isArray(v);
const objOf = (v: unknown): Obj => (isObj(v) ? v : {});

/** Selector required, well formed and non-empty ("empty selector is invalid for <what>"). */
function validateSelector(spec: Obj, p: Path, what: string): Cause[] {
  const sel = spec.selector;
  if (!isObj(sel)) return [required(p.child("selector"))];
  const out = validateLabelSelector(sel, p.child("selector"));
  if (selectorIsEmpty(sel))
    out.push(invalid(p.child("selector"), goLabelSelector(sel), `empty selector is invalid for ${what}`));
  return out;
}

/** The template's labels must be selected by the (non-empty) selector. */
function validateTemplateMatches(spec: Obj, p: Path): Cause[] {
  const sel = spec.selector as LabelSelectorObject | undefined;
  // A missing selector converts to "nothing", which matches no labels (upstream reports
  // both the Required selector and this mismatch); an empty one selects everything.
  if (isObj(sel) && selectorIsEmpty(sel)) return [];
  const labels = objOf(objOf(spec.template).metadata).labels as Record<string, string> | undefined;
  if (isObj(sel) && selectorMatches(sel, labels)) return [];
  return [
    invalid(
      p.child("template", "metadata", "labels"),
      goStringMap(labels),
      "`selector` does not match template `labels`",
    ),
  ];
}

/** ValidatePodTemplateSpecForReplicaSet: match, template, restartPolicy Always, no activeDeadlineSeconds. */
function validateReplicaTemplate(spec: Obj, p: Path): Cause[] {
  const out = validateTemplateMatches(spec, p);
  const tp = p.child("template");
  out.push(...validatePodTemplateSpec(spec.template, tp));
  const podSpec = objOf(objOf(spec.template).spec);
  if (podSpec.restartPolicy !== "Always")
    out.push(notSupported(tp.child("spec", "restartPolicy"), podSpec.restartPolicy ?? "", ["Always"]));
  if (podSpec.activeDeadlineSeconds !== undefined) {
    out.push(
      forbidden(
        tp.child("spec", "activeDeadlineSeconds"),
        "activeDeadlineSeconds in ReplicaSet is not Supported",
      ),
    );
  }
  return out;
}

/** IntOrString renders through its String() method: 1 or "25%" without quotes. */
const intOrString = (v: unknown) => new GoValue(String(v ?? 0));

function intOrPercentValue(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^[0-9]+%$/.test(v)) return Number(v.slice(0, -1));
  return -1;
}

function validatePositiveIntOrPercent(v: unknown, p: Path): Cause[] {
  if (typeof v === "string") {
    if (!/^[0-9]+%$/.test(v)) {
      return [
        invalid(
          p,
          intOrString(v),
          "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        ),
      ];
    }
    return [];
  }
  return validateNonnegative(v, p);
}

function validateDeploymentStrategy(strategy: unknown, p: Path): Cause[] {
  const s = objOf(strategy);
  switch (s.type) {
    case "Recreate":
      return s.rollingUpdate !== undefined
        ? [forbidden(p.child("rollingUpdate"), "may not be specified when strategy `type` is 'Recreate'")]
        : [];
    case "RollingUpdate": {
      if (!isObj(s.rollingUpdate))
        return [required(p.child("rollingUpdate"), "this should be defaulted and never be nil")];
      const rp = p.child("rollingUpdate");
      const { maxUnavailable, maxSurge } = s.rollingUpdate;
      const out = [
        ...validatePositiveIntOrPercent(maxUnavailable, rp.child("maxUnavailable")),
        ...validatePositiveIntOrPercent(maxSurge, rp.child("maxSurge")),
      ];
      if (intOrPercentValue(maxUnavailable) === 0 && intOrPercentValue(maxSurge) === 0) {
        out.push(
          invalid(
            rp.child("maxUnavailable"),
            intOrString(maxUnavailable),
            "may not be 0 when `maxSurge` is 0",
          ),
        );
      }
      if (typeof maxUnavailable === "string" && intOrPercentValue(maxUnavailable) > 100) {
        out.push(
          invalid(rp.child("maxUnavailable"), intOrString(maxUnavailable), "must not be greater than 100%"),
        );
      }
      return out;
    }
    default: {
      const value = new GoValue(
        `apps.DeploymentStrategy{Type:${JSON.stringify(s.type ?? "")}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}`,
      );
      return [notSupported(p, value, ["Recreate", "RollingUpdate"])];
    }
  }
}

export function validateDeploymentSpec(spec: Obj, p: Path): Cause[] {
  const out = validateNonnegative(spec.replicas, p.child("replicas"));
  out.push(...validateSelector(spec, p, "deployment"));
  out.push(...validateReplicaTemplate(spec, p));
  out.push(...validateDeploymentStrategy(spec.strategy, p.child("strategy")));
  out.push(...validateNonnegative(spec.minReadySeconds, p.child("minReadySeconds")));
  out.push(...validateNonnegative(spec.revisionHistoryLimit, p.child("revisionHistoryLimit")));
  if (spec.progressDeadlineSeconds !== undefined) {
    out.push(...validateNonnegative(spec.progressDeadlineSeconds, p.child("progressDeadlineSeconds")));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      out.push(
        invalid(
          p.child("progressDeadlineSeconds"),
          spec.progressDeadlineSeconds,
          "must be greater than minReadySeconds",
        ),
      );
    }
  }
  return out;
}

export function validateReplicaSetSpec(spec: Obj, p: Path): Cause[] {
  const out = validateNonnegative(spec.replicas, p.child("replicas"));
  out.push(...validateNonnegative(spec.minReadySeconds, p.child("minReadySeconds")));
  // Upstream's ReplicaSet validation shares the Deployment's wording here.
  out.push(...validateSelector(spec, p, "deployment"));
  out.push(...validateReplicaTemplate(spec, p));
  return out;
}

export function validateDaemonSetSpec(spec: Obj, p: Path): Cause[] {
  const out = validateSelector(spec, p, "daemonset");
  out.push(...validateReplicaTemplate(spec, p));
  out.push(...validateNonnegative(spec.minReadySeconds, p.child("minReadySeconds")));
  out.push(...validateNonnegative(spec.revisionHistoryLimit, p.child("revisionHistoryLimit")));
  const us = objOf(spec.updateStrategy);
  if (!us.type) out.push(required(p.child("updateStrategy", "type")));
  else if (us.type !== "OnDelete" && us.type !== "RollingUpdate") {
    out.push(notSupported(p.child("updateStrategy", "type"), us.type, ["OnDelete", "RollingUpdate"]));
  }
  return out;
}

export function validateStatefulSetSpec(spec: Obj, p: Path): Cause[] {
  const out: Cause[] = [];
  const pmp = spec.podManagementPolicy;
  if (!pmp) out.push(required(p.child("podManagementPolicy")));
  else if (pmp !== "OrderedReady" && pmp !== "Parallel")
    out.push(invalid(p.child("podManagementPolicy"), pmp, "must be 'OrderedReady' or 'Parallel'"));
  const us = objOf(spec.updateStrategy);
  if (!us.type) out.push(required(p.child("updateStrategy")));
  else if (us.type === "OnDelete" && us.rollingUpdate !== undefined) {
    out.push(
      invalid(
        p.child("updateStrategy", "rollingUpdate"),
        goJson(us.rollingUpdate),
        "only allowed for updateStrategy 'RollingUpdate'",
      ),
    );
  } else if (us.type !== "OnDelete" && us.type !== "RollingUpdate") {
    out.push(invalid(p.child("updateStrategy"), goJson(us), "must be 'RollingUpdate' or 'OnDelete'"));
  }
  out.push(...validateNonnegative(spec.replicas, p.child("replicas")));
  out.push(...validateSelector(spec, p, "statefulset"));
  out.push(...validateTemplateMatches(spec, p));
  const tp = p.child("template");
  out.push(...validatePodTemplateSpec(spec.template, tp));
  const podSpec = objOf(objOf(spec.template).spec);
  if (podSpec.restartPolicy !== "Always")
    out.push(notSupported(tp.child("spec", "restartPolicy"), podSpec.restartPolicy ?? "", ["Always"]));
  if (podSpec.activeDeadlineSeconds !== undefined)
    out.push(
      invalid(
        tp.child("spec", "activeDeadlineSeconds"),
        podSpec.activeDeadlineSeconds,
        "must not be specified",
      ),
    );
  return out;
}

export function validateSelectorImmutable(spec: Obj, old: Obj, p: Path): Cause[] {
  if (deepEqual(spec.selector, old.selector)) return [];
  return [invalid(p.child("selector"), goLabelSelector(spec.selector), "field is immutable")];
}

export function validateStatefulSetUpdate(spec: Obj, old: Obj, p: Path): Cause[] {
  const mutable = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
  ];
  const strip = (s: Obj) => Object.fromEntries(Object.entries(s).filter(([k]) => !mutable.includes(k)));
  if (deepEqual(strip(spec), strip(old))) return [];
  return [
    forbidden(
      p,
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

export function validateJobSpec(spec: Obj, p: Path, isJobTemplate = false): Cause[] {
  const out: Cause[] = [];
  for (const f of [
    "parallelism",
    "completions",
    "activeDeadlineSeconds",
    "backoffLimit",
    "ttlSecondsAfterFinished",
  ]) {
    out.push(...validateNonnegative(spec[f], p.child(f)));
  }
  if (spec.activeDeadlineSeconds === 0)
    out.push(invalid(p.child("activeDeadlineSeconds"), 0, "must be greater than or equal to 1"));
  if (
    spec.completionMode !== undefined &&
    spec.completionMode !== "NonIndexed" &&
    spec.completionMode !== "Indexed"
  ) {
    out.push(notSupported(p.child("completionMode"), spec.completionMode, ["NonIndexed", "Indexed"]));
  }
  if (spec.completionMode === "Indexed" && spec.completions === undefined) {
    out.push(required(p.child("completions"), "when completion mode is Indexed"));
  }
  if (!isJobTemplate) {
    if (!isObj(spec.selector)) out.push(required(p.child("selector")));
    else out.push(...validateLabelSelector(spec.selector, p.child("selector")));
    out.push(...validateTemplateMatches(spec, p));
  }
  const tp = p.child("template");
  out.push(...validatePodTemplateSpec(spec.template, tp));
  const rp = objOf(objOf(spec.template).spec).restartPolicy;
  if (rp !== "OnFailure" && rp !== "Never")
    out.push(notSupported(tp.child("spec", "restartPolicy"), rp ?? "", ["OnFailure", "Never"]));
  return out;
}

export function validateJobUpdate(spec: Obj, old: Obj, p: Path): Cause[] {
  const out = validateSelectorImmutable(spec, old, p);
  if (!deepEqual(spec.template, old.template) && !(spec.suspend === true && old.suspend === true)) {
    out.push(invalid(p.child("template"), goJson(spec.template), "field is immutable"));
  }
  if (spec.completionMode !== "Indexed" && !deepEqual(spec.completions, old.completions)) {
    out.push(invalid(p.child("completions"), spec.completions ?? null, "field is immutable"));
  }
  if (!deepEqual(spec.completionMode, old.completionMode))
    out.push(invalid(p.child("completionMode"), spec.completionMode ?? "", "field is immutable"));
  return out;
}

const CRON_MACROS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];

/** robfig/cron's ParseStandard, as far as its errors go: five fields or a macro. */
function cronError(schedule: string): string | undefined {
  const s = schedule.replace(/^(CRON_)?TZ=\S+\s*/, "");
  if (s.startsWith("@")) {
    if (CRON_MACROS.includes(s) || s.startsWith("@every ")) return undefined;
    return `unrecognized descriptor: ${s}`;
  }
  const fields = s.split(/\s+/).filter((f) => f.length > 0);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: [${fields.join(" ")}]`;
  const bounds: [number, number][] = [
    [0, 59],
    [0, 23],
    [1, 31],
    [1, 12],
    [0, 6],
  ];
  const names = [
    [],
    [],
    [],
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
  ];
  for (let i = 0; i < 5; i++) {
    for (const part of fields[i].split(",")) {
      const [range, step] = part.split("/");
      if (step !== undefined && !/^[0-9]+$/.test(step))
        return `failed to parse int from ${step}: strconv.Atoi: parsing ${JSON.stringify(step)}: invalid syntax`;
      if (range === "*" || range === "?") continue;
      const ends = range.split("-");
      for (const e of ends) {
        const n = /^[0-9]+$/.test(e) ? Number(e) : names[i].indexOf(e.toLowerCase()) + (i === 3 ? 1 : 0);
        if (!/^[0-9]+$/.test(e) && names[i].indexOf(e.toLowerCase()) < 0) {
          return `failed to parse int from ${e}: strconv.Atoi: parsing ${JSON.stringify(e)}: invalid syntax`;
        }
        if (n < bounds[i][0]) return `beginning of range (${n}) below minimum (${bounds[i][0]}): ${part}`;
        if (n > bounds[i][1] && !(i === 4 && n === 7))
          return `end of range (${n}) above maximum (${bounds[i][1]}): ${part}`;
      }
    }
  }
  return undefined;
}

export function validateCronJobSpec(spec: Obj, p: Path): Cause[] {
  const out: Cause[] = [];
  if (!spec.schedule) out.push(required(p.child("schedule")));
  else {
    const err = cronError(String(spec.schedule));
    if (err) out.push(invalid(p.child("schedule"), spec.schedule, err));
  }
  const cp = spec.concurrencyPolicy;
  if (!cp) out.push(required(p.child("concurrencyPolicy")));
  else if (!["Allow", "Forbid", "Replace"].includes(cp))
    out.push(notSupported(p.child("concurrencyPolicy"), cp, ["Allow", "Forbid", "Replace"]));
  for (const f of ["startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"]) {
    out.push(...validateNonnegative(spec[f], p.child(f)));
  }
  const jt = objOf(spec.jobTemplate);
  const jp = p.child("jobTemplate");
  const meta = objOf(jt.metadata);
  out.push(...validateLabels(meta.labels, jp.child("metadata", "labels")));
  out.push(...validateJobSpec(objOf(jt.spec), jp.child("spec"), true));
  return out;
}
