// The admin kubeconfig, shaped like k3s's /etc/rancher/k3s/k3s.yaml: one cluster,
// context and user all named "default", the CA embedded, and a bearer token.
import { dump } from "js-yaml";
import { writeFileAtomic } from "./files";

export const DEFAULT_KUBECONFIG_PATH = "/etc/tsk/tsk.yaml";

export interface KubeconfigOptions {
  /** e.g. https://127.0.0.1:6443 */
  server: string;
  caPem: string;
  token: string;
  clusterName?: string;
  user?: string;
}

export function renderKubeconfig(opts: KubeconfigOptions): string {
  const cluster = opts.clusterName ?? "default";
  const user = opts.user ?? "default";
  const doc = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: cluster,
        cluster: {
          "certificate-authority-data": Buffer.from(opts.caPem, "utf8").toString("base64"),
          server: opts.server,
        },
      },
    ],
    contexts: [{ name: cluster, context: { cluster, user } }],
    "current-context": cluster,
    preferences: {},
    users: [{ name: user, user: { token: opts.token } }],
  };
  return dump(doc, { lineWidth: -1 });
}

/**
 * Writes the kubeconfig atomically (temp file + rename) with mode 0600, creating
 * parent directories (0755, like /etc/rancher/k3s) as needed.
 */
export async function writeKubeconfig(path: string, opts: KubeconfigOptions): Promise<void> {
  await writeFileAtomic(path, renderKubeconfig(opts), 0o600, 0o755);
}
