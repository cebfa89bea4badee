// link: the agent ↔ server connection. Imports: api (resource table), client (types,
// informer), pki (token checks, credential files), apiserver (server end only), ws, cbor-x.
export { LinkClient, type LinkClientOptions } from "./client";
export {
  agentDir,
  checkJoinToken,
  fetchCA,
  JoinError,
  type JoinOptions,
  joinCluster,
  type NodeIdentity,
  requestCredential,
} from "./join";
export {
  CACERTS_PATH,
  credentialPath,
  decodeFrame,
  encodeFrame,
  type Frame,
  LINK_PATH,
  ProtocolError,
  type StreamKind,
} from "./protocol";
export { createLinkServer, type LinkServer, type LinkServerOptions, type NodeCredentials } from "./server";
export { LinkStream, MAX_CHUNK, STREAM_WINDOW, StreamClosedError, StreamTable } from "./streams";
