// Everything `tsk server` needs from this part on start-up, in one call, in the
// order k3s does it: CA and serving certificate, join token, admin token, kubeconfig.
import { join } from "node:path";
import { TokenAuthenticator } from "./auth";
import { ensureServerPKI, type ServerPKI } from "./certs";
import { ensureJoinSecret, writeJoinToken } from "./jointoken";
import { writeKubeconfig } from "./kubeconfig";

export interface ServerCredentialsOptions {
  dataDir: string;
  /** Hostname, localhost, 127.0.0.1, node IPs and --tls-san extras. */
  sans: string[];
  /** --token (bare secret or full token); random and persisted when absent. */
  token?: string;
  /** --write-kubeconfig; undefined writes none. */
  kubeconfigPath?: string;
  /** URL written into the kubeconfig, e.g. https://127.0.0.1:6443 */
  kubeconfigServer: string;
}

export interface ServerCredentials {
  pki: ServerPKI;
  /** Full join token, as written to <data-dir>/server/token. */
  joinToken: string;
  /** The secret part of the join token, which agents present on first join. */
  joinSecret: string;
  adminToken: string;
  authenticator: TokenAuthenticator;
}

export function tlsDir(dataDir: string): string {
  return join(dataDir, "server", "tls");
}

export async function ensureServerCredentials(opts: ServerCredentialsOptions): Promise<ServerCredentials> {
  const pki = await ensureServerPKI({ tlsDir: tlsDir(opts.dataDir), sans: opts.sans });
  const joinSecret = await ensureJoinSecret(opts.dataDir, opts.token, pki.caCertPem);
  const joinToken = await writeJoinToken(opts.dataDir, pki.caCertPem, joinSecret);
  const { authenticator, adminToken } = await TokenAuthenticator.open(opts.dataDir);
  if (opts.kubeconfigPath !== undefined) {
    await writeKubeconfig(opts.kubeconfigPath, {
      server: opts.kubeconfigServer,
      caPem: pki.caCertPem,
      token: adminToken,
    });
  }
  return { pki, joinToken, joinSecret, adminToken, authenticator };
}
