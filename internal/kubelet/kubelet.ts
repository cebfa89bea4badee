// The kubelet's pod loop: an informer on the pods bound to this node feeds a work
// queue of pod keys; sync(key) compares the pod's spec with what the runtime runs
// (found by the pod uid and container name labels) and closes the gap one step at a
// time, then reports status. Everything it needs after a restart is in the runtime's
// state and the API: nothing is remembered that a restart could lose, except
// back-off timers and probe results, which start over as in Kubernetes.
import { setMaxListeners } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import { RESOURCES } from "../api/resources";
import { parseQuantity } from "../api/validation/quantity";
import { Informer, isReason, type KObject, keyOf, runWorkers, WorkQueue } from "../client";
import type { ResolvedImage } from "../images";
import { native } from "../runtime/native";
import type { ContainerSpec, ContainerStatus, Sandbox } from "../runtime/types";
import {
  mountSource,
  podDir,
  setupVolumes,
  teardownVolumes,
  VolumeError,
  type VolumeSources,
  volumePaths,
} from "../volumes";
import type { KubeletConfig, KubeletDeps } from "./config";
import { buildEnv, ConfigError, expandCommand, podFieldValue, resourceFieldValue } from "./env";
import { EventRecorder } from "./events";
import { machineCapacity, nodeAddress } from "./node";
import { ProbeManager, type ProbeOutcome } from "./probes";
import {
  Backoff,
  type ContainerView,
  containerStatus,
  podConditions,
  podPhase,
  qosClass,
  shouldRestart,
} from "./status";

type Obj = Record<string, any>;

export const PODS = RESOURCES.find((r) => r.group === "" && r.plural === "pods")!;
const CONFIGMAPS = RESOURCES.find((r) => r.group === "" && r.plural === "configmaps")!;
const SECRETS = RESOURCES.find((r) => r.group === "" && r.plural === "secrets")!;

/** Labels the kubelet puts on runtime containers to find them again. */
export const LABEL = {
  uid: "io.kubernetes.pod.uid",
  name: "io.kubernetes.pod.name",
  namespace: "io.kubernetes.pod.namespace",
  container: "io.kubernetes.container.name",
  attempt: "io.kubernetes.container.attempt",
  init: "tsk.init",
  imageId: "tsk.image.id",
} as const;

class WaitingError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

function attemptOf(c: ContainerStatus): number {
  return Number(c.labels[LABEL.attempt] ?? 0);
}

/** Runtime container names are unique per node: <uid>_<container>_<attempt>. */
function runtimeName(uid: string, name: string, attempt: number): string {
  return `${uid}_${name}_${attempt}`;
}

/** spec.hostname, else the pod's name cut to a valid hostname (63 characters), as the kubelet does. */
function sandboxHostname(pod: Obj): string {
  let h = String(pod.spec?.hostname || pod.metadata?.name || "pod")
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, "-")
    .slice(0, 63);
  h = h.replace(/^[^a-z0-9]+/, "").replace(/[^a-z0-9]+$/, "");
  return h || "pod";
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class Kubelet {
  readonly informer: Informer;
  readonly queue = new WorkQueue(200, 30_000);
  readonly events: EventRecorder;
  private readonly backoff: Backoff;
  private readonly pullBackoff: Backoff;
  /** last pull error per uid/container/pull, shown with ImagePullBackOff */
  private readonly pullErrors = new Map<string, string>();
  /** pod key → uid last seen, so a pod that vanished can still be cleaned up */
  private readonly known = new Map<string, string>();
  /** containers whose exit we are waiting for */
  private readonly watched = new Set<string>();
  /** waiting reasons kept between syncs (uid/name → reason) */
  private readonly waiting = new Map<string, { reason: string; message?: string }>();
  readonly probes: ProbeManager;
  private readonly hostIP: string;
  private readonly allocatable: Record<string, string>;
  private readonly abort = new AbortController();
  private index?: Map<string, Set<string>>;

  constructor(
    readonly config: KubeletConfig,
    readonly deps: KubeletDeps,
  ) {
    this.informer = new Informer(
      deps.client,
      PODS,
      { fieldSelector: `spec.nodeName=${config.nodeName}` },
      (m) => deps.log(`kubelet: ${m}`),
    );
    this.events = new EventRecorder(deps.client, config.nodeName, (m) => deps.log(`kubelet: ${m}`));
    this.backoff = new Backoff(config.backoffInitialMs ?? 10_000, config.backoffMaxMs ?? 300_000);
    this.pullBackoff = new Backoff(config.backoffInitialMs ?? 10_000, config.backoffMaxMs ?? 300_000);
    this.hostIP = nodeAddress(config) ?? "127.0.0.1";
    // one listener per running container's exit wait
    setMaxListeners(0, this.abort.signal);
    this.allocatable = machineCapacity(config.dataDir);
    this.probes = new ProbeManager(deps.runtime, (key) => this.queue.add(key), this.events);
  }

  private log(msg: string): void {
    this.deps.log(`kubelet: ${msg}`);
  }

  /** Starts the informer and workers; resolves once the cache has synced and orphans are gone. */
  async run(signal: AbortSignal): Promise<{ ready: Promise<void>; stopped: Promise<void> }> {
    const enqueue = (o: KObject) => this.queue.add(keyOf(o));
    this.informer.on({ add: enqueue, update: (_o, n) => enqueue(n), delete: enqueue });
    this.informer.start();
    const ready = (async () => {
      await this.informer.waitForSync();
      await this.removeOrphans();
    })();
    const workers = ready.then(() =>
      runWorkers(
        this.queue,
        this.config.workers ?? 32,
        (k) => this.sync(k),
        (m) => this.log(m),
      ),
    );
    const resync = setInterval(() => {
      for (const p of this.informer.list()) this.queue.add(keyOf(p));
    }, this.config.resyncIntervalMs ?? 10_000);
    const stopped = new Promise<void>((resolve) => {
      const stop = async () => {
        clearInterval(resync);
        this.abort.abort();
        this.informer.stop();
        this.probes.stopAll();
        this.queue.shutdown();
        await workers.catch(() => {});
        resolve();
      };
      if (signal.aborted) void stop();
      else signal.addEventListener("abort", () => void stop(), { once: true });
    });
    return { ready, stopped };
  }

  // ---- runtime views ----

  /**
   * The pod's runtime containers. An index of ids per pod uid (built from one full
   * list at start, kept as we create and remove) spares a scan of every container on
   * the node at each sync; the statuses themselves are always read fresh.
   */
  private podContainers(uid: string): ContainerStatus[] {
    if (!this.index) {
      this.index = new Map();
      for (const c of this.deps.runtime.list()) this.indexAdd(c.labels[LABEL.uid], c.id);
    }
    const out: ContainerStatus[] = [];
    for (const id of this.index.get(uid) ?? []) {
      try {
        out.push(this.deps.runtime.status(id));
      } catch {
        this.indexRemove(uid, id);
      }
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  private indexAdd(uid: string | undefined, id: string): void {
    if (!uid || !this.index) return;
    const set = this.index.get(uid) ?? new Set<string>();
    this.index.set(uid, set);
    set.add(id);
  }

  private indexRemove(uid: string, id: string): void {
    const set = this.index?.get(uid);
    set?.delete(id);
    if (set && set.size === 0) this.index?.delete(uid);
  }

  private hasSandbox(uid: string): boolean {
    try {
      this.deps.runtime.getSandbox(uid);
      return true;
    } catch {
      return false;
    }
  }

  /** Newest and previous runtime container for one pod container name. */
  private history(all: ContainerStatus[], name: string, init: boolean) {
    const mine = all
      .filter((c) => c.labels[LABEL.container] === name && (c.labels[LABEL.init] === "true") === init)
      .sort((a, b) => attemptOf(b) - attemptOf(a));
    return { current: mine[0], previous: mine[1], older: mine.slice(2) };
  }

  /** Orphans: runtime containers and sandboxes of pods that are not bound here any more. */
  async removeOrphans(): Promise<void> {
    const live = new Set(this.informer.list().map((p) => p.metadata?.uid as string));
    const rt = this.deps.runtime;
    const uids = new Set<string>();
    for (const c of rt.list()) {
      const uid = c.labels[LABEL.uid];
      if (uid && !live.has(uid)) uids.add(uid);
    }
    for (const sb of rt.listSandboxes())
      if (!live.has(sb.id) && /^[0-9a-f-]{36}$/.test(sb.id)) uids.add(sb.id);
    for (const uid of uids) {
      this.log(`removing orphaned pod ${uid}`);
      await this.killPod(uid, 0).catch((err) =>
        this.log(`removing orphan ${uid}: ${(err as Error).message}`),
      );
    }
  }

  // ---- the sync loop ----

  async sync(key: string): Promise<void> {
    const pod = this.informer.get(key) as Obj | undefined;
    const knownUid = this.known.get(key);
    if (!pod || pod.spec?.nodeName !== this.config.nodeName) {
      if (knownUid) {
        await this.killPod(knownUid, 0);
        this.known.delete(key);
      }
      return;
    }
    const uid: string = pod.metadata.uid;
    if (knownUid && knownUid !== uid) await this.killPod(knownUid, 0);
    this.known.set(key, uid);
    if (pod.metadata.deletionTimestamp) {
      await this.terminatePod(pod);
      return;
    }
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") {
      // Terminal: nothing runs again. Stop what may still run (a restart mid-way).
      for (const c of this.podContainers(uid))
        if (c.state === "running") await this.deps.runtime.stop(c.id, this.grace(pod));
      this.probes.removePod(uid);
      return;
    }
    const deadline = pod.spec.activeDeadlineSeconds;
    if (deadline !== undefined && pod.status?.startTime) {
      const left = new Date(pod.status.startTime).getTime() + deadline * 1000 - Date.now();
      if (left <= 0) {
        await this.failPod(
          pod,
          "DeadlineExceeded",
          "Pod was active on the node longer than the specified deadline",
        );
        return;
      }
      this.queue.addAfter(key, left + 50);
    }
    await this.syncRunning(pod);
  }

  /** Stops the pod's containers and marks it Failed with a reason (activeDeadlineSeconds). */
  private async failPod(pod: Obj, reason: string, message: string): Promise<void> {
    const uid: string = pod.metadata.uid;
    this.probes.removePod(uid);
    this.events.record(pod, "Warning", reason, message);
    const grace = pod.spec.terminationGracePeriodSeconds ?? 30;
    await Promise.all(
      this.podContainers(uid)
        .filter((c) => c.state === "running")
        .map((c) => this.deps.runtime.stop(c.id, grace)),
    );
    await this.writeStatus(pod, this.hasSandbox(uid) ? this.deps.runtime.getSandbox(uid) : undefined, {
      reason,
      message,
    });
  }

  private grace(pod: Obj): number {
    return pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  private volumeSources(pod: Obj): VolumeSources {
    return {
      configMap: (n, name) => this.getOptional(CONFIGMAPS, n, name),
      secret: (n, name) => this.getOptional(SECRETS, n, name),
      fieldRef: (path) => podFieldValue(this.withIPs(pod), path),
      resourceFieldRef: (ref) =>
        resourceFieldValue(pod, ref, ref.containerName, this.allocatable) ?? undefined,
    };
  }

  private async getOptional(info: typeof PODS, ns: string, name: string): Promise<Obj | undefined> {
    try {
      return await this.deps.client.get(info, ns, name);
    } catch (err) {
      if (isReason(err, "NotFound")) return undefined;
      throw err;
    }
  }

  /** The pod with the IPs the kubelet reports, for the downward API before status is written. */
  private withIPs(pod: Obj): Obj {
    const ip = this.podIP(pod);
    return { ...pod, status: { ...pod.status, hostIP: this.hostIP, podIP: ip, podIPs: ip ? [{ ip }] : [] } };
  }

  private podIP(pod: Obj): string {
    // Pods outside the host network have only loopback until the pod network arrives.
    return pod.spec?.hostNetwork ? this.hostIP : "";
  }

  private async syncRunning(pod: Obj): Promise<void> {
    const uid: string = pod.metadata.uid;
    const key = keyOf(pod);
    const pd = podDir(this.config.dataDir, uid);
    let volumes: Map<string, string>;
    try {
      volumes = await setupVolumes(pod, pd, this.volumeSources(pod));
    } catch (err) {
      if (!(err instanceof VolumeError)) throw err;
      this.events.record(
        pod,
        "Warning",
        "FailedMount",
        `MountVolume.SetUp failed for volume "${err.volume}" : ${err.message}`,
      );
      this.queue.addAfter(key, 5_000);
      if (!this.hasSandbox(uid)) {
        await this.writeStatus(pod, undefined);
        return;
      }
      // Already running: keep what was projected last and carry on.
      volumes = volumePaths(pod, pd);
    }
    const sb = await this.ensureSandbox(pod, pd);
    const all = this.podContainers(uid);
    const policy = pod.spec.restartPolicy ?? "Always";
    let initDone = true;
    for (const c of pod.spec.initContainers ?? []) {
      const h = this.history(all, c.name, true);
      await this.prune(uid, h.older);
      const cur = h.current;
      if (cur?.state === "exited" && cur.exitCode === 0) continue;
      initDone = false;
      if (cur && (cur.state === "created" || cur.state === "unknown")) {
        await this.replace(key, uid, cur);
        await this.startContainer(pod, c, true, attemptOf(cur) + 1, sb, volumes);
        break;
      }
      if (cur?.state === "running") {
        this.watchExit(key, cur.id);
        break;
      }
      if (cur?.state === "exited") {
        if (policy === "Never") break;
        await this.restartWithBackoff(pod, c, true, cur, sb, volumes);
        break;
      }
      await this.startContainer(pod, c, true, cur ? attemptOf(cur) + 1 : 0, sb, volumes);
      break;
    }
    if (initDone) {
      for (const c of pod.spec.containers ?? []) {
        const h = this.history(all, c.name, false);
        await this.prune(uid, h.older);
        const cur = h.current;
        if (!cur) {
          await this.startContainer(pod, c, false, 0, sb, volumes);
          continue;
        }
        if (cur.state === "running") {
          this.watchExit(key, cur.id);
          this.probes.ensure(pod, c, cur, key);
          if (this.probes.livenessFailed(uid, c.name, cur.id)) {
            this.events.record(
              pod,
              "Normal",
              "Killing",
              `Container ${c.name} failed liveness probe, will be restarted`,
              c.name,
            );
            await this.deps.runtime.stop(cur.id, pod.spec.terminationGracePeriodSeconds ?? 30);
            this.queue.add(key);
          }
          continue;
        }
        if (cur.state === "created" || cur.state === "unknown") {
          await this.replace(key, uid, cur);
          await this.startContainer(pod, c, false, attemptOf(cur) + 1, sb, volumes);
          continue;
        }
        if (cur.state === "exited" && shouldRestart(policy, cur.exitCode ?? 1))
          await this.restartWithBackoff(pod, c, false, cur, sb, volumes);
      }
    }
    await this.writeStatus(pod, sb);
  }

  /** Removes containers older than the previous attempt (only the last one is kept, for lastState). */
  private async prune(uid: string, older: ContainerStatus[]): Promise<void> {
    for (const old of older) {
      await this.deps.runtime.remove(old.id, { force: true }).catch(() => {});
      this.indexRemove(uid, old.id);
    }
  }

  /**
   * Created but never started (a kubelet stopped in between), or its monitor is gone (a
   * reboot, a kill): nobody will report its exit, so it is removed and started again.
   */
  private async replace(key: string, uid: string, cur: ContainerStatus): Promise<void> {
    const name = cur.labels[LABEL.container];
    this.log(`replacing container ${name} of ${key} (${cur.state}${cur.message ? `: ${cur.message}` : ""})`);
    await this.deps.runtime.remove(cur.id, { force: true });
    this.indexRemove(uid, cur.id);
  }

  private async restartWithBackoff(
    pod: Obj,
    c: Obj,
    init: boolean,
    cur: ContainerStatus,
    sb: Sandbox,
    volumes: Map<string, string>,
  ): Promise<void> {
    const uid = pod.metadata.uid;
    const bkey = `${uid}/${c.name}`;
    const left = this.backoff.remaining(bkey, Date.now());
    if (left > 0) {
      const msg = `back-off ${Math.round(this.backoffDelay(bkey) / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${uid})`;
      if (this.waiting.get(bkey)?.reason !== "CrashLoopBackOff")
        this.events.record(pod, "Warning", "BackOff", "Back-off restarting failed container", c.name);
      this.waiting.set(bkey, { reason: "CrashLoopBackOff", message: msg });
      this.queue.addAfter(keyOf(pod), left + 50);
      return;
    }
    this.backoff.next(bkey, Date.now());
    this.probes.removeContainer(uid, c.name);
    await this.startContainer(pod, c, init, attemptOf(cur) + 1, sb, volumes);
  }

  private backoffDelay(bkey: string): number {
    return this.backoff.entry(bkey)?.delayMs ?? 0;
  }

  private watchExit(key: string, id: string): void {
    if (this.watched.has(id)) return;
    this.watched.add(id);
    this.deps.runtime
      .wait(id, this.abort.signal)
      .then(
        () => this.queue.add(key),
        // The monitor died without recording the exit: the sync replaces the container.
        () => {
          if (!this.abort.signal.aborted) this.queue.add(key);
        },
      )
      .finally(() => this.watched.delete(id));
  }

  // ---- sandbox ----

  private async ensureSandbox(pod: Obj, pd: string): Promise<Sandbox> {
    const rt = this.deps.runtime;
    const uid: string = pod.metadata.uid;
    // Written before the sandbox exists, so a sandbox never lacks them.
    if (!existsSync(join(pd, "etc", "resolv.conf"))) await this.writePodFiles(pod, pd);
    try {
      return rt.getSandbox(uid);
    } catch {}
    const sb = await rt.createSandbox({
      id: uid,
      hostname: pod.spec.hostNetwork ? this.hostname() : sandboxHostname(pod),
      resources: podLimits(pod.spec),
    });
    if (pod.spec.hostNetwork) {
      // Host network: the sandbox's network handle points at the node's own namespace
      // (this process's, so an agent in its own netns gives its pods that one).
      try {
        const n = native();
        n.umount(sb.netns, n.constants.MNT_DETACH);
        n.mount(`/proc/${process.pid}/ns/net`, sb.netns, "", n.constants.MS_BIND, "");
      } catch (err) {
        await rt.removeSandbox(sb.id).catch(() => {});
        throw new Error(`joining the host network for pod ${keyOf(pod)}: ${(err as Error).message}`);
      }
    }
    return sb;
  }

  private hostname(): string {
    const h = require("node:os").hostname() as string;
    return /^[a-zA-Z0-9][a-zA-Z0-9.-]{0,62}$/.test(h) ? h : this.config.nodeName.slice(0, 63);
  }

  /** /etc/hosts and /etc/resolv.conf for the pod, under its directory. */
  private async writePodFiles(pod: Obj, pd: string): Promise<void> {
    const etc = join(pd, "etc");
    const spec = pod.spec;
    const ns = pod.metadata.namespace;
    const domain = this.config.clusterDomain ?? "cluster.local";
    let hosts: string;
    if (spec.hostNetwork) {
      hosts = await readOr("/etc/hosts", "127.0.0.1\tlocalhost\n");
    } else {
      const name = sandboxHostname(pod);
      const fqdn = spec.subdomain ? `${name}.${spec.subdomain}.${ns}.svc.${domain}\t` : "";
      hosts =
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" +
        "fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
        // The pod's own address once the pod network gives it one; loopback until then.
        `${this.podIP(pod) || "127.0.1.1"}\t${fqdn}${name}\n`;
    }
    for (const ha of spec.hostAliases ?? []) hosts += `${ha.ip}\t${(ha.hostnames ?? []).join("\t")}\n`;
    const policy = spec.dnsPolicy ?? "ClusterFirst";
    let resolv: string;
    const cf = spec.dnsConfig ?? {};
    if (policy === "Default" || (policy === "ClusterFirst" && spec.hostNetwork)) {
      resolv = await readOr("/etc/resolv.conf", "");
    } else if (policy === "None") {
      resolv = "";
    } else {
      resolv = `search ${ns}.svc.${domain} svc.${domain} ${domain}\nnameserver ${this.config.clusterDNS ?? "10.43.0.10"}\noptions ndots:5\n`;
    }
    if (cf.nameservers?.length)
      resolv += `${cf.nameservers.map((n: string) => `nameserver ${n}`).join("\n")}\n`;
    if (cf.searches?.length) resolv += `search ${cf.searches.join(" ")}\n`;
    if (cf.options?.length)
      resolv += `options ${cf.options.map((o: Obj) => (o.value !== undefined ? `${o.name}:${o.value}` : o.name)).join(" ")}\n`;
    // resolv.conf last: its presence tells ensureSandbox both files are written.
    await native().fsBatch([
      ["mkdirp", etc],
      ["create", join(etc, "hosts"), hosts],
      ["create", join(etc, "resolv.conf"), resolv],
    ]);
  }

  // ---- containers ----

  private async ensureImage(pod: Obj, c: Obj): Promise<ResolvedImage> {
    const images = this.deps.images;
    const ref: string = c.image;
    const uid = pod.metadata.uid;
    const tagLatest = !/@sha256:/.test(ref) && (!/:[^/]+$/.test(ref) || ref.endsWith(":latest"));
    const policy: string = c.imagePullPolicy ?? (tagLatest ? "Always" : "IfNotPresent");
    const present = await images.resolve(ref).catch(() => undefined);
    if (policy === "Never") {
      if (present) return present;
      const msg = `Container image "${ref}" is not present with pull policy of Never`;
      this.events.record(pod, "Warning", "ErrImageNeverPull", msg, c.name);
      throw new WaitingError("ErrImageNeverPull", msg);
    }
    if (present && policy === "IfNotPresent") {
      this.events.record(
        pod,
        "Normal",
        "Pulled",
        `Container image "${ref}" already present on machine`,
        c.name,
      );
      return present;
    }
    const bkey = `${uid}/${c.name}/pull`;
    const now = Date.now();
    const left = this.pullBackoff.remaining(bkey, now);
    if (left > 0) {
      const e = this.pullBackoff.entry(bkey)!;
      const lastErr = this.pullErrors.get(bkey) ?? "";
      // As on a real node, ErrImagePull shows for a while before the back-off does.
      const half = e.at + e.delayMs / 2;
      if (now < half) {
        this.queue.addAfter(keyOf(pod), half - now + 50);
        throw new WaitingError("ErrImagePull", lastErr);
      }
      this.events.record(pod, "Normal", "BackOff", `Back-off pulling image "${ref}"`, c.name);
      this.queue.addAfter(keyOf(pod), left + 50);
      throw new WaitingError("ImagePullBackOff", `Back-off pulling image "${ref}": ErrImagePull: ${lastErr}`);
    }
    this.events.record(pod, "Normal", "Pulling", `Pulling image "${ref}"`, c.name);
    const t0 = Date.now();
    try {
      await images.pull(ref);
      const img = await images.resolve(ref);
      this.events.record(
        pod,
        "Normal",
        "Pulled",
        `Successfully pulled image "${ref}" in ${((Date.now() - t0) / 1000).toFixed(3)}s`,
        c.name,
      );
      this.pullBackoff.forgetPrefix(bkey);
      this.pullErrors.delete(bkey);
      return img;
    } catch (err) {
      const msg = `Failed to pull image "${ref}": ${(err as Error).message}`;
      this.events.record(pod, "Warning", "Failed", msg, c.name);
      this.events.record(pod, "Warning", "Failed", "Error: ErrImagePull", c.name);
      const delay = this.pullBackoff.next(bkey, Date.now());
      this.pullErrors.set(bkey, msg);
      this.queue.addAfter(keyOf(pod), delay / 2 + 50);
      throw new WaitingError("ErrImagePull", msg);
    }
  }

  private async containerSpec(
    pod: Obj,
    c: Obj,
    init: boolean,
    attempt: number,
    sb: Sandbox,
    volumes: Map<string, string>,
    image: ResolvedImage,
  ): Promise<ContainerSpec> {
    const ns = pod.metadata.namespace;
    let env: string[];
    try {
      env = await buildEnv(
        this.withIPs(pod),
        c,
        {
          configMap: (n) => this.getOptional(CONFIGMAPS, ns, n),
          secret: (n) => this.getOptional(SECRETS, ns, n),
        },
        this.allocatable,
      );
    } catch (err) {
      if (err instanceof ConfigError) throw new WaitingError("CreateContainerConfigError", err.message);
      throw err;
    }
    const envAll = [...(image.config.Env ?? []), ...env];
    const mounts: ContainerSpec["mounts"] = [];
    const pd = podDir(this.config.dataDir, pod.metadata.uid);
    const targets = new Set<string>();
    for (const vm of c.volumeMounts ?? []) {
      try {
        mounts.push({
          hostPath: mountSource(volumes, vm),
          containerPath: vm.mountPath,
          readOnly: !!vm.readOnly,
        });
        targets.add(vm.mountPath);
      } catch (err) {
        if (err instanceof VolumeError) throw new WaitingError("CreateContainerConfigError", err.message);
        throw err;
      }
    }
    if (!targets.has("/etc/hosts"))
      mounts.push({ hostPath: join(pd, "etc", "hosts"), containerPath: "/etc/hosts" });
    if (!targets.has("/etc/resolv.conf"))
      mounts.push({ hostPath: join(pd, "etc", "resolv.conf"), containerPath: "/etc/resolv.conf" });
    const tmp = c.terminationMessagePath || "/dev/termination-log";
    if (!targets.has(tmp)) {
      // One file per attempt, read back by withMessage once the container has exited.
      const f = join(pd, "containers", `${c.name}-${attempt}`, "termination-log");
      await native().fsBatch([
        ["mkdirp", join(f, "..")],
        ["create", f, ""],
      ]);
      mounts.push({ hostPath: f, containerPath: tmp });
    }
    const sc = { ...(pod.spec.securityContext ?? {}), ...(c.securityContext ?? {}) };
    let user: string | undefined;
    if (sc.runAsUser !== undefined)
      user = sc.runAsGroup !== undefined ? `${sc.runAsUser}:${sc.runAsGroup}` : `${sc.runAsUser}`;
    else if (sc.runAsGroup !== undefined)
      user = `${(image.config.User ?? "0").split(":")[0] || "0"}:${sc.runAsGroup}`;
    if (sc.runAsNonRoot) {
      const name = (user ?? image.config.User ?? "").split(":")[0];
      if (!/^\d+$/.test(name) && name !== "")
        throw new WaitingError(
          "CreateContainerConfigError",
          `container has runAsNonRoot and image has non-numeric user (${name}), cannot verify user is non-root`,
        );
      if (name === "" || Number(name) === 0)
        throw new WaitingError(
          "CreateContainerConfigError",
          "container has runAsNonRoot and image will run as root",
        );
    }
    const resources: NonNullable<ContainerSpec["resources"]> = {};
    const lim = c.resources?.limits ?? {};
    const req = c.resources?.requests ?? {};
    const cpuLim = parseQuantity(lim.cpu);
    if (cpuLim) resources.cpuMillis = Math.round(cpuLim * 1000);
    const cpuReq = parseQuantity(req.cpu ?? lim.cpu);
    resources.cpuShares = cpuReq ? Math.max(2, Math.round(cpuReq * 1024)) : 2;
    const mem = parseQuantity(lim.memory);
    if (mem) resources.memoryBytes = Math.round(mem);
    return {
      name: runtimeName(pod.metadata.uid, c.name, attempt),
      image: c.image,
      imageId: image.id,
      layers: image.layers,
      config: image.config,
      command: expandCommand(c.command, envAll),
      args: expandCommand(c.args, envAll),
      env,
      workingDir: c.workingDir || undefined,
      user,
      mounts,
      resources,
      tty: !!c.tty,
      stdin: !!c.stdin,
      // As containerd reads a securityContext: capabilities from Docker's default set, and
      // no_new_privs only when allowPrivilegeEscalation is false.
      privileged: !!sc.privileged,
      capAdd: sc.capabilities?.add ?? [],
      capDrop: sc.capabilities?.drop ?? [],
      readOnlyRootfs: !!sc.readOnlyRootFilesystem,
      noNewPrivileges: sc.allowPrivilegeEscalation === false,
      sandboxId: sb.id,
      labels: {
        [LABEL.uid]: pod.metadata.uid,
        [LABEL.name]: pod.metadata.name,
        [LABEL.namespace]: ns,
        [LABEL.container]: c.name,
        [LABEL.attempt]: String(attempt),
        [LABEL.imageId]: image.id,
        ...(init ? { [LABEL.init]: "true" } : {}),
      },
    };
  }

  private async startContainer(
    pod: Obj,
    c: Obj,
    init: boolean,
    attempt: number,
    sb: Sandbox,
    volumes: Map<string, string>,
  ): Promise<void> {
    const uid = pod.metadata.uid;
    const wkey = `${uid}/${c.name}`;
    let id: string | undefined;
    try {
      const image = await this.ensureImage(pod, c);
      const spec = await this.containerSpec(pod, c, init, attempt, sb, volumes, image);
      await this.deps.images.pin(`pod-${uid}-${c.name}`, image).catch(() => {});
      this.podContainers(uid); // builds the index before the first create
      id = await this.deps.runtime.create(spec);
      this.indexAdd(uid, id);
      this.events.record(pod, "Normal", "Created", `Created container ${c.name}`, c.name);
      await this.deps.runtime.start(id);
      this.events.record(pod, "Normal", "Started", `Started container ${c.name}`, c.name);
      this.waiting.delete(wkey);
      this.watchExit(keyOf(pod), id);
      await this.postStart(pod, c, id);
    } catch (err) {
      if (err instanceof WaitingError) {
        this.waiting.set(wkey, { reason: err.reason, message: err.message });
        if (err.reason === "CreateContainerConfigError") {
          this.events.record(pod, "Warning", "Failed", `Error: ${err.message}`, c.name);
          this.queue.addAfter(keyOf(pod), 5_000);
        }
        return;
      }
      const msg = (err as Error).message;
      this.events.record(pod, "Warning", "Failed", `Error: ${msg}`, c.name);
      if (id === undefined) {
        this.waiting.set(wkey, { reason: "CreateContainerError", message: msg });
        this.queue.addAfter(keyOf(pod), 5_000);
      }
      // A start error leaves an exited container (reason StartError) that restart policy handles.
      this.backoff.next(wkey, Date.now());
    }
  }

  private async postStart(pod: Obj, c: Obj, id: string): Promise<void> {
    const h = c.lifecycle?.postStart;
    let failure: string | undefined;
    if (h?.exec?.command) {
      const code = await this.deps.runtime.exec(id, h.exec.command).exited.catch(() => -1);
      if (code !== 0) failure = `PostStartHook failed: exit code ${code}`;
    } else if (h?.httpGet) {
      const out = await this.probes.httpOnce(pod, h.httpGet, pod.spec.terminationGracePeriodSeconds ?? 30, c);
      failure = httpHookFailure(pod, c.name, h.httpGet, out);
    } else if (h?.sleep?.seconds) {
      await sleep(h.sleep.seconds * 1000);
    }
    if (failure === undefined) return;
    // As the kubelet does: the event, then the container is killed and restart policy decides.
    this.events.record(pod, "Warning", "FailedPostStartHook", failure, c.name);
    await this.deps.runtime.stop(id, pod.spec.terminationGracePeriodSeconds ?? 30);
  }

  // ---- status ----

  private async views(pod: Obj, init: boolean, all: ContainerStatus[]): Promise<ContainerView[]> {
    const uid = pod.metadata.uid;
    const list: Obj[] = init ? (pod.spec.initContainers ?? []) : (pod.spec.containers ?? []);
    const out: ContainerView[] = [];
    for (const c of list) {
      const h = this.history(all, c.name, init);
      let waiting = this.waiting.get(`${uid}/${c.name}`);
      if (h.current?.state === "running") waiting = undefined;
      if (waiting?.reason === "CrashLoopBackOff" && h.current?.state !== "exited") waiting = undefined;
      if (pod.metadata.deletionTimestamp) waiting = undefined;
      out.push({
        name: c.name,
        image: c.image,
        imageID: h.current ? this.imageIdOf(h.current) : "",
        current: h.current && (await this.withMessage(pod, c, h.current)),
        previous: h.previous && (await this.withMessage(pod, c, h.previous)),
        restartCount: h.current ? attemptOf(h.current) : 0,
        waiting,
        ready: init ? false : this.probes.ready(uid, c, h.current),
        started: init ? false : this.probes.started(uid, c, h.current),
      });
    }
    return out;
  }

  /**
   * The termination message of an exited container: the file at terminationMessagePath,
   * or with FallbackToLogsOnError and a failure, the end of its log (as the kubelet does).
   */
  private async withMessage(pod: Obj, c: Obj, rc: ContainerStatus): Promise<ContainerStatus> {
    if (rc.state !== "exited" || rc.message) return rc;
    const f = join(
      podDir(this.config.dataDir, pod.metadata.uid),
      "containers",
      `${c.name}-${attemptOf(rc)}`,
      "termination-log",
    );
    let msg = "";
    try {
      msg = readFileSync(f, "utf8").slice(0, 4096);
    } catch {}
    if (!msg && c.terminationMessagePolicy === "FallbackToLogsOnError" && rc.exitCode !== 0) {
      const lines: string[] = [];
      try {
        for await (const e of this.deps.runtime.logs(rc.id, { tail: 80 })) lines.push(e.text);
      } catch {}
      msg = lines.join("\n").slice(-2048);
    }
    return msg ? { ...rc, message: msg } : rc;
  }

  private imageIdOf(c: ContainerStatus): string {
    return c.labels[LABEL.imageId] ?? "";
  }

  /** Computes the pod's status from the runtime and writes it when it changed. */
  async writeStatus(
    pod: Obj,
    sb: Sandbox | undefined,
    failed?: { reason: string; message: string },
  ): Promise<void> {
    const now = `${new Date().toISOString().slice(0, 19)}Z`;
    const all = this.podContainers(pod.metadata.uid);
    const initStatuses = (await this.views(pod, true, all)).map(containerStatus);
    const statuses = (await this.views(pod, false, all)).map(containerStatus);
    const phase = failed ? "Failed" : podPhase(pod.spec, initStatuses, statuses);
    const ip = this.podIP(pod);
    const status: Obj = {
      phase,
      conditions: podConditions(pod, { sandboxReady: !!sb, initStatuses, statuses, phase, now }),
      hostIP: this.hostIP,
      hostIPs: [{ ip: this.hostIP }],
      podIP: ip || null,
      podIPs: ip ? [{ ip }] : null,
      startTime: pod.status?.startTime ?? now,
      qosClass: pod.status?.qosClass ?? qosClass(pod.spec),
      containerStatuses: statuses,
    };
    if (initStatuses.length) status.initContainerStatuses = initStatuses;
    if (failed) Object.assign(status, failed);
    if (phase === "Succeeded" || phase === "Failed") this.probes.removePod(pod.metadata.uid);
    const old = pod.status ?? {};
    const same = (
      [
        "phase",
        "conditions",
        "containerStatuses",
        "initContainerStatuses",
        "podIP",
        "hostIP",
        "startTime",
        "qosClass",
        "reason",
        "message",
      ] as const
    ).every((k) => JSON.stringify(old[k] ?? null) === JSON.stringify(status[k] ?? null));
    if (same) return;
    try {
      await this.deps.client.patch(
        PODS,
        pod.metadata.namespace,
        pod.metadata.name,
        "merge",
        { status },
        "status",
      );
    } catch (err) {
      if (isReason(err, "NotFound")) return;
      throw err;
    }
  }

  // ---- termination ----

  /** Graceful deletion: preStop, SIGTERM, the grace period, SIGKILL; then cleanup and the final DELETE. */
  private async terminatePod(pod: Obj): Promise<void> {
    const uid: string = pod.metadata.uid;
    const deadline = new Date(pod.metadata.deletionTimestamp).getTime();
    const grace = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    const running = this.podContainers(uid).filter((c) => c.state === "running");
    this.probes.removePod(uid);
    await Promise.all(
      running.map(async (rc) => {
        const name = rc.labels[LABEL.container];
        const c = [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])].find(
          (x: Obj) => x.name === name,
        );
        this.events.record(pod, "Normal", "Killing", `Stopping container ${name}`, name);
        const start = Date.now();
        const pre = c?.lifecycle?.preStop;
        if (pre && grace > 0) await this.runPreStop(pod, rc, pre, grace);
        const left = Math.max(0, grace - Math.floor((Date.now() - start) / 1000));
        await this.deps.runtime.stop(rc.id, left > 0 ? left : grace > 0 ? 2 : 0);
      }),
    );
    await this.writeStatus(this.informer.get(keyOf(pod)) ?? pod, undefined).catch(() => {});
    await this.cleanupPod(uid);
    try {
      await this.deps.client.delete(PODS, pod.metadata.namespace, pod.metadata.name, {
        gracePeriodSeconds: 0,
        preconditions: { uid },
      });
    } catch (err) {
      if (!isReason(err, "NotFound") && !isReason(err, "Conflict")) throw err;
    }
  }

  private async runPreStop(pod: Obj, rc: ContainerStatus, pre: Obj, grace: number): Promise<void> {
    const timeout = sleep(grace * 1000);
    if (pre.exec?.command) {
      try {
        const p = this.deps.runtime.exec(rc.id, pre.exec.command);
        await Promise.race([p.exited, timeout]);
        p.process.kill("SIGKILL");
      } catch (err) {
        this.events.record(
          pod,
          "Warning",
          "FailedPreStopHook",
          `PreStopHook failed: ${(err as Error).message}`,
          rc.labels[LABEL.container],
        );
      }
    } else if (pre.sleep?.seconds) {
      await Promise.race([sleep(pre.sleep.seconds * 1000), timeout]);
    } else if (pre.httpGet) {
      const c = (pod.spec.containers ?? []).find((x: Obj) => x.name === rc.labels[LABEL.container]);
      const out = await Promise.race([
        this.probes.httpOnce(pod, pre.httpGet, grace, c),
        timeout.then(() => ({ ok: true }) as const),
      ]).catch((err) => ({ error: (err as Error).message }));
      const failure = httpHookFailure(pod, rc.labels[LABEL.container], pre.httpGet, out);
      if (failure)
        this.events.record(pod, "Warning", "FailedPreStopHook", failure, rc.labels[LABEL.container]);
    }
  }

  /** Stops and removes everything of a pod: containers, sandbox (namespaces, cgroup), volumes. */
  async killPod(uid: string, graceSeconds: number): Promise<void> {
    const rt = this.deps.runtime;
    this.probes.removePod(uid);
    for (const c of this.podContainers(uid))
      if (c.state === "running") await rt.stop(c.id, graceSeconds).catch(() => {});
    await this.cleanupPod(uid);
  }

  private async cleanupPod(uid: string): Promise<void> {
    const rt = this.deps.runtime;
    const names = new Set<string>();
    for (const c of this.podContainers(uid)) {
      names.add(c.labels[LABEL.container]);
      await rt.remove(c.id, { force: true });
      this.indexRemove(uid, c.id);
    }
    try {
      rt.getSandbox(uid);
      await rt.removeSandbox(uid);
    } catch (err) {
      if ((err as { code?: string }).code !== "NotFound") throw err;
    }
    teardownVolumes(podDir(this.config.dataDir, uid));
    for (const n of names) await this.deps.images.unpin(`pod-${uid}-${n}`).catch(() => {});
    this.backoff.forgetPrefix(`${uid}/`);
    this.pullBackoff.forgetPrefix(`${uid}/`);
    for (const k of [...this.waiting.keys()]) if (k.startsWith(`${uid}/`)) this.waiting.delete(k);
    for (const k of [...this.pullErrors.keys()]) if (k.startsWith(`${uid}/`)) this.pullErrors.delete(k);
    this.events.forget(uid);
  }
}

/**
 * The pod cgroup's limits, as the kubelet sets them: a resource is limited only when
 * every container limits it; the pod's value is the larger of the containers' sum and
 * the biggest init container's (init containers run one at a time, before the others).
 */
export function podLimits(spec: Obj): NonNullable<ContainerSpec["resources"]> {
  const total = (res: string, unit: number): number | undefined => {
    const cs: Obj[] = spec.containers ?? [];
    const vals = cs.map((c) => parseQuantity(c.resources?.limits?.[res]));
    if (!cs.length || vals.some((v) => !v)) return undefined;
    let sum = (vals as number[]).reduce((a, b) => a + b, 0);
    for (const ic of spec.initContainers ?? []) {
      const v = parseQuantity(ic.resources?.limits?.[res]);
      if (!v) return undefined;
      sum = Math.max(sum, v);
    }
    return Math.round(sum * unit);
  };
  const out: NonNullable<ContainerSpec["resources"]> = {};
  const mem = total("memory", 1);
  if (mem) out.memoryBytes = mem;
  const cpu = total("cpu", 1000);
  if (cpu) out.cpuMillis = cpu;
  return out;
}

function readOr(path: string, fallback: string): Promise<string> {
  return fsp.readFile(path, "utf8").catch(() => fallback);
}

/** The kubelet's words for an httpGet lifecycle hook that did not succeed; undefined when it did. */
function httpHookFailure(pod: Obj, container: string, g: Obj, out: ProbeOutcome): string | undefined {
  if ("ok" in out && out.ok) return undefined;
  const m = pod.metadata;
  const why = "error" in out ? out.error : out.message;
  return `HTTP lifecycle hook (${g.path ?? ""}) for Container "${container}" in Pod "${m.name}_${m.namespace}(${m.uid})" failed - error: ${why}`;
}
