// Pod status as the kubelet computes it, from what the runtime reports: container
// states, phase and conditions. Pure functions; the sync loop feeds them.
import type { ContainerStatus } from "../runtime/types";

type Obj = Record<string, any>;

/** What the kubelet knows about one container of the pod. */
export interface ContainerView {
  name: string;
  image: string;
  imageID: string;
  /** the newest runtime container for this name, if any */
  current?: ContainerStatus;
  /** the one before it (for lastState) */
  previous?: ContainerStatus;
  restartCount: number;
  /** why it is not running, when the kubelet holds it back (ErrImagePull, CrashLoopBackOff ...) */
  waiting?: { reason: string; message?: string };
  /** readiness probe result (true when there is no readiness probe) */
  ready: boolean;
  /** startup probe passed (true when there is none) */
  started: boolean;
}

export function runtimeId(id: string): string {
  return `tsk://${id}`;
}

function terminated(c: ContainerStatus): Obj {
  const t: Obj = {
    exitCode: c.exitCode ?? (c.signal ? 128 + c.signal : 0),
    reason: c.reason ?? (c.exitCode === 0 ? "Completed" : "Error"),
    startedAt: c.startedAt ?? null,
    finishedAt: c.finishedAt ?? null,
    containerID: runtimeId(c.id),
  };
  if (c.signal) t.signal = c.signal;
  if (c.message) t.message = c.message;
  return t;
}

/** core/v1 ContainerStatus for one container. */
export function containerStatus(v: ContainerView): Obj {
  const s: Obj = {
    name: v.name,
    image: v.image,
    imageID: v.imageID,
    ready: false,
    restartCount: v.restartCount,
    started: false,
    state: {},
    lastState: {},
  };
  const c = v.current;
  if (c) s.containerID = runtimeId(c.id);
  if (v.waiting) {
    s.state = {
      waiting: { reason: v.waiting.reason, ...(v.waiting.message ? { message: v.waiting.message } : {}) },
    };
    if (c?.state === "exited") s.lastState = { terminated: terminated(c) };
    else if (v.previous?.state === "exited") s.lastState = { terminated: terminated(v.previous) };
  } else if (c?.state === "running") {
    s.state = { running: { startedAt: c.startedAt ?? c.createdAt } };
    s.started = v.started;
    s.ready = v.ready && v.started;
    if (v.previous?.state === "exited") s.lastState = { terminated: terminated(v.previous) };
  } else if (c?.state === "exited") {
    s.state = { terminated: terminated(c) };
    if (v.previous?.state === "exited") s.lastState = { terminated: terminated(v.previous) };
  } else {
    s.state = { waiting: { reason: "ContainerCreating" } };
  }
  return s;
}

/** Pending/Running/Succeeded/Failed, as the kubelet's getPhase computes it. */
export function podPhase(spec: Obj, initStatuses: Obj[], statuses: Obj[]): string {
  const policy = spec.restartPolicy ?? "Always";
  // Init containers: a failed one with restartPolicy Never fails the pod; until all succeed it is Pending.
  for (const s of initStatuses) {
    const t = s.state?.terminated;
    if (t && t.exitCode === 0) continue;
    if (t && policy === "Never") return "Failed";
    if (s.lastState?.terminated && s.lastState.terminated.exitCode !== 0 && policy === "Never")
      return "Failed";
    return "Pending";
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of statuses) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else waiting++;
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (policy === "OnFailure") return "Running";
    return "Failed";
  }
  return "Pending";
}

function condition(old: Obj[] | undefined, type: string, ok: boolean, now: string, reason?: string): Obj {
  const status = ok ? "True" : "False";
  const prev = old?.find((c) => c.type === type);
  const c: Obj = {
    type,
    status,
    lastProbeTime: null,
    lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now,
  };
  if (!ok && reason) c.reason = reason;
  return c;
}

/** The pod's conditions, keeping transition times that did not change. */
export function podConditions(
  pod: Obj,
  opts: { sandboxReady: boolean; initStatuses: Obj[]; statuses: Obj[]; phase: string; now: string },
): Obj[] {
  const old: Obj[] | undefined = pod.status?.conditions;
  const initialized = opts.initStatuses.every((s) => s.state?.terminated?.exitCode === 0);
  const allReady = opts.statuses.length > 0 && opts.statuses.every((s) => s.ready);
  const terminal = opts.phase === "Succeeded" || opts.phase === "Failed";
  const containersReady = allReady && !terminal;
  const notReady = terminal ? "PodCompleted" : "ContainersNotReady";
  const conds = [
    condition(old, "PodReadyToStartContainers", opts.sandboxReady, opts.now),
    condition(
      old,
      "Initialized",
      initialized || terminal,
      opts.now,
      initialized ? undefined : "ContainersNotInitialized",
    ),
    condition(old, "Ready", containersReady, opts.now, notReady),
    condition(old, "ContainersReady", containersReady, opts.now, notReady),
  ];
  const sched = old?.find((c) => c.type === "PodScheduled");
  conds.push(
    sched ?? { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: opts.now },
  );
  // Messages as the kubelet writes them: which containers are not ready.
  const notReadyNames = opts.statuses.filter((s) => !s.ready).map((s) => s.name);
  for (const c of conds)
    if ((c.type === "Ready" || c.type === "ContainersReady") && c.status === "False" && !terminal)
      c.message = `containers with unready status: [${notReadyNames.join(" ")}]`;
  const notInit = opts.initStatuses.filter((s) => s.state?.terminated?.exitCode !== 0).map((s) => s.name);
  for (const c of conds)
    if (c.type === "Initialized" && c.status === "False")
      c.message = `containers with incomplete status: [${notInit.join(" ")}]`;
  return conds;
}

/** Guaranteed, Burstable or BestEffort from the containers' requests and limits. */
export function qosClass(spec: Obj): string {
  const cs: Obj[] = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of cs) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) any = true;
    for (const r of ["cpu", "memory"]) {
      if (lim[r] === undefined) guaranteed = false;
      else if (req[r] !== undefined && req[r] !== lim[r]) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}

/** Whether a container that exited with `exitCode` is restarted under the pod's policy. */
export function shouldRestart(policy: string | undefined, exitCode: number): boolean {
  if (policy === "Never") return false;
  if (policy === "OnFailure") return exitCode !== 0;
  return true;
}

/** Crash-loop back-off: 10 s doubling to 5 min, reset after 10 min of running. */
export class Backoff {
  private readonly entries = new Map<string, { delayMs: number; at: number }>();
  constructor(
    readonly initialMs = 10_000,
    readonly maxMs = 300_000,
  ) {}

  /** ms left before `key` may restart (0: may restart now). */
  remaining(key: string, now: number): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.at + e.delayMs - now);
  }

  /** The current delay of `key` and when it started, if it is backing off. */
  entry(key: string): { delayMs: number; at: number } | undefined {
    return this.entries.get(key);
  }

  /** Records a restart at `now` and returns the delay the next restart must wait. */
  next(key: string, now: number): number {
    const e = this.entries.get(key);
    if (!e || now - e.at > 2 * this.maxMs) {
      this.entries.set(key, { delayMs: this.initialMs, at: now });
      return this.initialMs;
    }
    const delayMs = Math.min(this.maxMs, e.delayMs * 2);
    this.entries.set(key, { delayMs, at: now });
    return delayMs;
  }

  forgetPrefix(prefix: string): void {
    for (const k of [...this.entries.keys()]) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}
