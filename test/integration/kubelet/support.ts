// A node for kubelet tests: a real API registry on LevelDB in a temp dir (in-process,
// through admission, as the server's own components use it), a busybox image imported
// into a real image store, a real Runtime with its own node name, and the kubelet.
// cleanup() removes every container, sandbox, mount and cgroup even when a test failed.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RESOURCES } from "../../../internal/api/resources";
import { bootstrap, LocalClient, Registry } from "../../../internal/apiserver";
import { KubernetesAdmission } from "../../../internal/apiserver/admission";
import type { Client, KObject } from "../../../internal/client";
import { type ImageStore, openImageStore } from "../../../internal/images";
import { type KubeletConfig, startKubelet } from "../../../internal/kubelet";
import { native, Runtime } from "../../../internal/runtime";
import { openStore } from "../../../internal/store";
import type { Store } from "../../../internal/store/types";
import { buildBusyboxDockerArchive } from "../../support/images";

export const PODS = RESOURCES.find((r) => r.group === "" && r.plural === "pods")!;
export const CONFIGMAPS = RESOURCES.find((r) => r.group === "" && r.plural === "configmaps")!;
export const SECRETS = RESOURCES.find((r) => r.group === "" && r.plural === "secrets")!;
export const EVENTS = RESOURCES.find((r) => r.group === "" && r.plural === "events")!;
export const NODES = RESOURCES.find((r) => r.group === "" && r.plural === "nodes")!;
export const LEASES = RESOURCES.find((r) => r.group === "coordination.k8s.io" && r.plural === "leases")!;

export interface TestNode {
  dir: string;
  dataDir: string;
  nodeName: string;
  client: Client;
  runtime: Runtime;
  images: ImageStore;
  logs: string[];
  /** Starts (or starts again) the kubelet; resolves once it is ready. */
  startKubelet(extra?: Partial<KubeletConfig>): Promise<void>;
  /** Stops the kubelet as a SIGTERM would: containers keep running. */
  stopKubelet(): Promise<void>;
  cleanup(): Promise<void>;
}

function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4])
    .filter((m): m is string => !!m && m.startsWith(dir))
    .sort((a, b) => b.length - a.length);
}

/**
 * A node with its own temp dir. Without `opts.client`, an in-process registry on LevelDB
 * serves it (node.client is then an admin client); with it (e.g. a LinkClient joined to a
 * real server), the kubelet uses that client and the caller creates objects its own way.
 */
export async function makeNode(
  tag: string,
  opts: { client?: (nodeName: string, dir: string) => Promise<Client> } = {},
): Promise<TestNode> {
  if (process.getuid?.() !== 0) throw new Error("kubelet tests need root (containers, mounts, cgroups)");
  const dir = mkdtempSync(join(tmpdir(), `tsk-kubelet-${tag}-`));
  const dataDir = join(dir, "data");
  const nodeName = `kl-${tag}-${process.pid}`;
  let store: Store | undefined;
  let client: Client;
  if (opts.client) {
    client = await opts.client(nodeName, dir);
  } else {
    store = await openStore({ backend: "leveldb", path: join(dir, "db") });
    const registry = new Registry(store, new KubernetesAdmission());
    await bootstrap(registry);
    client = new LocalClient(
      registry,
      { username: "system:admin", groups: ["system:masters", "system:authenticated"] },
      "kubelet-test",
    );
  }
  const archive = join(dir, "busybox.tar");
  await buildBusyboxDockerArchive(archive, { name: "busybox:latest" });
  const images = await openImageStore({ dataDir });
  await images.importArchive(archive);
  const runtime = new Runtime({ dataDir, nodeName, runDir: join(dir, "run") });
  const logs: string[] = [];
  let ac: AbortController | undefined;
  let stopped: Promise<void> | undefined;
  let cleaned = false;
  const cleanupSync = () => {
    if (cleaned) return;
    cleaned = true;
    ac?.abort();
    for (const c of runtime.list()) {
      if (c.pid > 0) {
        try {
          process.kill(c.pid, "SIGKILL");
        } catch {}
      }
    }
    try {
      runtime.cgroups.remove(`tsk/${nodeName}`);
    } catch {}
    const n = native();
    for (const m of mountsUnder(dir)) {
      try {
        n.umount(m, n.constants.MNT_DETACH);
      } catch {}
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", cleanupSync);
  for (const sig of ["SIGINT", "SIGTERM"] as const)
    process.once(sig, () => {
      cleanupSync();
      process.exit(130);
    });
  const node: TestNode = {
    dir,
    dataDir,
    nodeName,
    client,
    runtime,
    images,
    logs,
    async startKubelet(extra = {}) {
      ac = new AbortController();
      const k = await startKubelet(
        {
          nodeName,
          dataDir,
          nodeIP: "127.0.0.1",
          labels: {},
          taints: [],
          isControlPlane: false,
          resyncIntervalMs: 2_000,
          backoffInitialMs: 2_000,
          backoffMaxMs: 8_000,
          ...extra,
        },
        { client, runtime, images, log: (m) => logs.push(m) },
        ac.signal,
      );
      stopped = k.stopped;
      await k.ready;
    },
    async stopKubelet() {
      ac?.abort();
      await stopped;
    },
    async cleanup() {
      await node.stopKubelet().catch(() => {});
      if (process.env.TSK_TEST_LOGS) process.stderr.write(`${logs.join("\n")}\n`);
      // Let the kubelet remove what it can; then force the rest.
      cleanupSync();
      await store?.close().catch(() => {});
    },
  };
  return node;
}

/** Polls `f` until it returns a truthy value. */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A pod bound to the node, busybox image, imagePullPolicy IfNotPresent. */
export function pod(
  node: TestNode,
  name: string,
  spec: Record<string, any>,
  meta: Record<string, any> = {},
): KObject {
  const containers = (spec.containers ?? []).map((c: Record<string, any>) => ({
    image: "busybox:latest",
    imagePullPolicy: "IfNotPresent",
    ...c,
  }));
  const initContainers = spec.initContainers?.map((c: Record<string, any>) => ({
    image: "busybox:latest",
    imagePullPolicy: "IfNotPresent",
    ...c,
  }));
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", ...meta },
    spec: {
      nodeName: node.nodeName,
      terminationGracePeriodSeconds: 5,
      ...spec,
      containers,
      ...(initContainers ? { initContainers } : {}),
    },
  };
}

export async function getPod(node: TestNode, name: string): Promise<KObject | undefined> {
  try {
    return await node.client.get(PODS, "default", name);
  } catch {
    return undefined;
  }
}

/** Waits until the pod is Running with every container running, and returns it. */
export async function runningPod(node: TestNode, name: string): Promise<KObject> {
  return until(`${name} Running`, async () => {
    const p = await getPod(node, name);
    return p?.status?.phase === "Running" && p.status.containerStatuses?.every((c: any) => c.state.running)
      ? p
      : undefined;
  });
}

/** Runs a command in the pod's container through the runtime and returns its stdout. */
export async function execIn(node: TestNode, containerId: string, cmd: string[]): Promise<string> {
  const id = containerId.replace(/^tsk:\/\//, "");
  const p = node.runtime.exec(id, cmd);
  let out = "";
  p.process.stdout?.on("data", (d) => (out += d));
  p.process.stdin?.end();
  const code = await p.exited;
  if (code !== 0) throw new Error(`${cmd.join(" ")} exited ${code}: ${out}`);
  return out;
}

export async function eventsFor(node: TestNode, name: string): Promise<KObject[]> {
  const l = await node.client.list(EVENTS, "default");
  return l.items.filter((e) => e.involvedObject?.name === name);
}
