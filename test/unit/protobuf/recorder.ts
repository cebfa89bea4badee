// A tiny recording API server on 127.0.0.1 for capturing the exact bodies the real
// kubectl sends: TLS with a CA written into a kubeconfig with a bearer token, /version
// reporting v1.32 (so /usr/bin/kubectl's dispatcher runs its 1.32), legacy discovery for
// the resources the generator commands touch, and POSTs answered with 201 and what the
// `answer` callback makes of them. Everything lives in a temp dir removed by close().
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureServerPKI } from "../../../internal/pki/certs";

export interface Recorded {
  method: string;
  path: string;
  contentType: string;
  body: Buffer;
}

export interface Recorder {
  url: string;
  dir: string;
  requests: Recorded[];
  /** Runs kubectl (the dispatcher unless told otherwise) against the recorder, asynchronously: the server is in this process. */
  kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export const TOKEN = "recorder-token-0123456789";

const RESOURCES: Record<string, { kind: string; name: string; namespaced: boolean; verbs: string[] }[]> = {
  v1: [
    { kind: "Pod", name: "pods", namespaced: true, verbs: ["create", "get", "list"] },
    { kind: "ConfigMap", name: "configmaps", namespaced: true, verbs: ["create", "get", "list"] },
    { kind: "Secret", name: "secrets", namespaced: true, verbs: ["create", "get", "list"] },
    { kind: "Namespace", name: "namespaces", namespaced: false, verbs: ["create", "get", "list"] },
    { kind: "ServiceAccount", name: "serviceaccounts", namespaced: true, verbs: ["create", "get", "list"] },
    { kind: "TokenRequest", name: "serviceaccounts/token", namespaced: true, verbs: ["create"] },
    { kind: "Service", name: "services", namespaced: true, verbs: ["create", "get", "list"] },
  ],
  "apps/v1": [
    { kind: "Deployment", name: "deployments", namespaced: true, verbs: ["create", "get", "list"] },
    { kind: "Scale", name: "deployments/scale", namespaced: true, verbs: ["get", "update"] },
  ],
  "batch/v1": [
    { kind: "Job", name: "jobs", namespaced: true, verbs: ["create", "get", "list"] },
    { kind: "CronJob", name: "cronjobs", namespaced: true, verbs: ["create", "get", "list"] },
  ],
  "autoscaling/v1": [
    {
      kind: "HorizontalPodAutoscaler",
      name: "horizontalpodautoscalers",
      namespaced: true,
      verbs: ["create", "get"],
    },
  ],
  "autoscaling/v2": [
    {
      kind: "HorizontalPodAutoscaler",
      name: "horizontalpodautoscalers",
      namespaced: true,
      verbs: ["create", "get"],
    },
  ],
  "rbac.authorization.k8s.io/v1": [
    { kind: "Role", name: "roles", namespaced: true, verbs: ["create", "get"] },
    { kind: "ClusterRole", name: "clusterroles", namespaced: false, verbs: ["create", "get"] },
    { kind: "RoleBinding", name: "rolebindings", namespaced: true, verbs: ["create", "get"] },
  ],
  "networking.k8s.io/v1": [
    { kind: "Ingress", name: "ingresses", namespaced: true, verbs: ["create", "get"] },
  ],
  "policy/v1": [
    { kind: "PodDisruptionBudget", name: "poddisruptionbudgets", namespaced: true, verbs: ["create", "get"] },
  ],
  "scheduling.k8s.io/v1": [
    { kind: "PriorityClass", name: "priorityclasses", namespaced: false, verbs: ["create", "get"] },
  ],
  "authorization.k8s.io/v1": [
    {
      kind: "SelfSubjectAccessReview",
      name: "selfsubjectaccessreviews",
      namespaced: false,
      verbs: ["create"],
    },
  ],
  "authentication.k8s.io/v1": [
    { kind: "SelfSubjectReview", name: "selfsubjectreviews", namespaced: false, verbs: ["create"] },
  ],
};

/** A deployment for GETs (kubectl autoscale reads its target first). */
function deployment(name: string, namespace: string): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace,
      uid: "d6b7c3a0-0000-4000-8000-000000000001",
      resourceVersion: "5",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      },
    },
  };
}

/** A cronjob for GETs (`kubectl create job --from=cronjob/x` reads it first). */
function cronJob(name: string, namespace: string): Record<string, unknown> {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name,
      namespace,
      uid: "c0a1b2c3-0000-4000-8000-000000000002",
      resourceVersion: "7",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      schedule: "*/5 * * * *",
      jobTemplate: {
        metadata: { labels: { team: "a" } },
        spec: {
          backoffLimit: 2,
          template: {
            spec: {
              restartPolicy: "OnFailure",
              containers: [
                { name: "c", image: "busybox", command: ["date"], env: [{ name: "TZ", value: "UTC" }] },
              ],
            },
          },
        },
      },
    },
  };
}

export async function startRecorder(
  answer: (r: Recorded) => { status: number; body: unknown } = (r) => ({
    status: 201,
    body: JSON.parse(r.body.toString() || "{}"),
  }),
  /** Which kubectl to run; the dispatcher by default. */
  kubectlPath = "/usr/bin/kubectl",
): Promise<Recorder> {
  const dir = mkdtempSync(join(tmpdir(), "tsk-pb-recorder-"));
  try {
    const pki = await ensureServerPKI({ tlsDir: join(dir, "tls"), sans: ["127.0.0.1", "localhost"] });
    const requests: Recorded[] = [];
    const server: Server = createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const url = new URL(req.url ?? "/", "https://127.0.0.1");
        const rec: Recorded = {
          method: req.method ?? "GET",
          path: url.pathname,
          contentType: String(req.headers["content-type"] ?? ""),
          body: Buffer.concat(chunks),
        };
        requests.push(rec);
        const send = (status: number, body: unknown) => {
          const text = JSON.stringify(body);
          res.writeHead(status, {
            "Content-Type": "application/json",
            "Content-Length": Buffer.byteLength(text),
          });
          res.end(text);
        };
        if (rec.path === "/version")
          return send(200, {
            major: "1",
            minor: "32",
            gitVersion: "v1.32.2",
            gitCommit: "0",
            gitTreeState: "clean",
            platform: "linux/amd64",
          });
        if (req.headers.authorization !== `Bearer ${TOKEN}`)
          return send(401, {
            kind: "Status",
            apiVersion: "v1",
            status: "Failure",
            reason: "Unauthorized",
            code: 401,
          });
        if (rec.path === "/api") return send(200, { kind: "APIVersions", versions: ["v1"] });
        if (rec.path === "/apis") {
          const groups = new Map<string, string[]>();
          for (const gv of Object.keys(RESOURCES).filter((k) => k.includes("/"))) {
            const [g, v] = gv.split("/");
            groups.set(g, [...(groups.get(g) ?? []), v]);
          }
          return send(200, {
            kind: "APIGroupList",
            apiVersion: "v1",
            groups: [...groups].map(([name, vs]) => ({
              name,
              versions: vs.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
              preferredVersion: { groupVersion: `${name}/${vs[vs.length - 1]}`, version: vs[vs.length - 1] },
            })),
          });
        }
        const gv =
          rec.path === "/api/v1" ? "v1" : rec.path.startsWith("/apis/") ? rec.path.slice(6) : undefined;
        if (gv && RESOURCES[gv])
          return send(200, {
            kind: "APIResourceList",
            apiVersion: "v1",
            groupVersion: gv,
            resources: RESOURCES[gv].map((r) => ({
              ...r,
              singularName: r.name.includes("/") ? "" : r.kind.toLowerCase(),
            })),
          });
        const dep = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)$/.exec(rec.path);
        if (rec.method === "GET" && dep) return send(200, deployment(dep[2], dep[1]));
        const cj = /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/cronjobs\/([^/]+)$/.exec(rec.path);
        if (rec.method === "GET" && cj) return send(200, cronJob(cj[2], cj[1]));
        if (rec.method === "POST") {
          try {
            const a = answer(rec);
            return send(a.status, a.body);
          } catch (err) {
            return send(400, {
              kind: "Status",
              apiVersion: "v1",
              status: "Failure",
              message: (err as Error).message,
              reason: "BadRequest",
              code: 400,
            });
          }
        }
        send(404, {
          kind: "Status",
          apiVersion: "v1",
          status: "Failure",
          message: "the server could not find the requested resource",
          reason: "NotFound",
          code: 404,
        });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const url = `https://127.0.0.1:${port}`;
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "rec",
            cluster: {
              server: url,
              "certificate-authority-data": Buffer.from(pki.caCertPem).toString("base64"),
            },
          },
        ],
        users: [{ name: "rec", user: { token: TOKEN } }],
        contexts: [{ name: "rec", context: { cluster: "rec", user: "rec", namespace: "default" } }],
        "current-context": "rec",
      }),
    );
    return {
      url,
      dir,
      requests,
      kubectl(args, input) {
        return new Promise((resolve, reject) => {
          const child = spawn(kubectlPath, args, {
            cwd: dir,
            env: { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: join(dir, "cache"), HOME: dir },
          });
          let stdout = "";
          let stderr = "";
          child.stdout.on("data", (c) => (stdout += c));
          child.stderr.on("data", (c) => (stderr += c));
          const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
          child.on("error", (err) => {
            clearTimeout(timer);
            reject(err);
          });
          child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? -1, stdout, stderr });
          });
          child.stdin.end(input ?? "");
        });
      },
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
