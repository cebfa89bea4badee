// pki: cluster CA and serving certificate, join tokens, bearer-token authentication,
// admin kubeconfig. Imports: node:crypto, node:fs, @peculiar/x509, js-yaml. No other part.
export {
  ADMIN_USER,
  AuthError,
  adminTokenPath,
  credDir,
  ensureAdminToken,
  nodeNameOf,
  nodeUser,
  randomToken,
  TokenAuthenticator,
  tokensEqual,
  type UserInfo,
  validNodeName,
} from "./auth";
export {
  ensureServerCredentials,
  type ServerCredentials,
  type ServerCredentialsOptions,
  tlsDir,
} from "./bootstrap";
export {
  CA_CERT_FILE,
  CA_KEY_FILE,
  certSans,
  ensureServerPKI,
  IN_CLUSTER_SANS,
  normalizeSans,
  PKIError,
  SERVING_CERT_FILE,
  SERVING_KEY_FILE,
  type ServerPKI,
} from "./certs";
export {
  bareSecretMessage,
  caHash,
  caMatches,
  caMismatchMessage,
  ensureJoinSecret,
  formatJoinToken,
  type JoinToken,
  JoinTokenError,
  joinTokenPath,
  parseJoinToken,
  readJoinToken,
  writeJoinToken,
} from "./jointoken";
export {
  DEFAULT_KUBECONFIG_PATH,
  type KubeconfigOptions,
  renderKubeconfig,
  writeKubeconfig,
} from "./kubeconfig";
