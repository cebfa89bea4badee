// The agent link's wire format: one WebSocket, binary messages, each one CBOR-encoded
// frame. Frames are small maps with a type tag `t` so that both ends can check them
// field by field; anything malformed is a protocol error, never a crash.
//
// Agent → server                      Server → agent
//   call    API verb, request id        result / error   (same id)
//   watch   open a watch, request id    event            (same id, one per change)
//   unwatch end a watch                 wclose           (same id; the watch is over)
//
// Reverse streams (kubectl logs/exec/attach/port-forward), opened by the server:
//   sopen  server → agent   {sid, kind, params, credit}
//   saccept agent → server  {sid, credit}        the agent is serving it
//   sdata  both ways        {sid, ch, data}      ch: 0 stdin, 1 stdout, 2 stderr,
//                                                3 error/status, 4 resize, or a port
//                                                forward's data (0) / error (1) channel
//   sresize server → agent  {sid, width, height}
//   scredit both ways       {sid, n}             the receiver consumed n more bytes
//   sclose  both ways       {sid, error?}        half of the stream is done (no more
//                                                data from the sender); an `error`
//                                                ends the whole stream
// Stream params and channels, by kind (the kubelet side serves them in issue 6):
//   log          {namespace, pod, uid?, container, follow?, tailLines?, sinceSeconds?,
//                 sinceTime?, timestamps?, previous?, limitBytes?}   agent sends ch 1
//   exec         {namespace, pod, uid?, container, command[], stdin, stdout, stderr, tty}
//   attach       {namespace, pod, uid?, container, stdin, stdout, stderr, tty}
//                ch 0 stdin (server→agent), 1 stdout, 2 stderr, 3 the final v1 Status
//                as JSON bytes (exit code in details.causes, as the exec protocol has
//                it); terminal size through sresize; stdin's end is the server's sclose
//   portforward  {namespace, pod, uid?, port}: one stream per connection; ch 0 data both
//                ways, ch 1 an error text from the agent (nothing listens, ...)
// The server maps kubectl's WebSocket/SPDY channels onto these, so the agent never
// speaks kubectl's protocols and agents behind NAT need no listening port.
// Flow control: a sender may have at most `credit` bytes of sdata outstanding; the
// receiver grants more with scredit as its consumer drains, so a slow kubectl never
// makes the other end buffer without bound, and one busy stream cannot starve API calls.
import { Encoder } from "cbor-x";

/** The agent's WebSocket. */
export const LINK_PATH = "/v1-tsk/link";
/** The CA bundle, served without authentication for the join token's hash check. */
export const CACERTS_PATH = "/cacerts";
/** POST with the join secret as bearer: the node's own credential. */
export const credentialPath = (node: string) => `/v1-tsk/nodes/${encodeURIComponent(node)}/credential`;

export type Verb = "get" | "list" | "create" | "update" | "patch" | "delete";
export const VERBS: readonly Verb[] = ["get", "list", "create", "update", "patch", "delete"];

/** A resource named by group/version/plural, resolved against the table on the server. */
export interface ResourceRef {
  g: string;
  v: string;
  p: string;
}

/** Kubernetes Status fields an error carries across the link. */
export interface LinkStatus {
  code: number;
  reason: string;
  message: string;
  details?: Record<string, unknown>;
}

export type StreamKind = "log" | "exec" | "attach" | "portforward";
export const STREAM_KINDS: readonly StreamKind[] = ["log", "exec", "attach", "portforward"];

export type Frame =
  | {
      t: "call";
      id: number;
      verb: Verb;
      r: ResourceRef;
      ns?: string;
      name?: string;
      sub?: "status";
      /** create/update: the object; patch: the patch document. */
      body?: unknown;
      /** patch: json | merge | strategic */
      ptype?: string;
      /** list options or delete options. */
      opts?: Record<string, unknown>;
    }
  | { t: "result"; id: number; body: unknown }
  | { t: "error"; id: number; status: LinkStatus }
  | {
      t: "watch";
      id: number;
      r: ResourceRef;
      ns?: string;
      rv: string;
      ls?: string;
      fs?: string;
    }
  | { t: "event"; id: number; type: "ADDED" | "MODIFIED" | "DELETED"; obj: Record<string, unknown> }
  | { t: "unwatch"; id: number }
  | { t: "wclose"; id: number; status: LinkStatus }
  | { t: "sopen"; sid: number; kind: StreamKind; params: Record<string, unknown>; credit: number }
  | { t: "saccept"; sid: number; credit: number }
  | { t: "sdata"; sid: number; ch: number; data: Uint8Array }
  | { t: "sresize"; sid: number; width: number; height: number }
  | { t: "scredit"; sid: number; n: number }
  | { t: "sclose"; sid: number; error?: string };

export class ProtocolError extends Error {
  readonly code = "LINK_PROTOCOL";
}

// Plain CBOR maps (no cbor-x record extension), so another implementation can read it.
const codec = new Encoder({ useRecords: false, mapsAsObjects: true, pack: false });

export function encodeFrame(f: Frame): Buffer {
  return codec.encode(f);
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === "string";
const optStr = (v: unknown) => v === undefined || typeof v === "string";
const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);

function isRef(v: unknown): v is ResourceRef {
  return isObj(v) && isStr(v.g) && isStr(v.v) && isStr(v.p);
}

function isStatus(v: unknown): v is LinkStatus {
  return isObj(v) && isInt(v.code) && isStr(v.reason) && isStr(v.message);
}

/** Decodes and checks one frame; throws ProtocolError naming what is wrong. */
export function decodeFrame(bytes: Uint8Array): Frame {
  let f: unknown;
  try {
    f = codec.decode(bytes);
  } catch (err) {
    throw new ProtocolError(`undecodable frame: ${(err as Error).message}`);
  }
  if (!isObj(f) || !isStr(f.t)) throw new ProtocolError("frame is not a map with a type");
  const bad = (what: string): never => {
    throw new ProtocolError(`bad ${f.t} frame: ${what}`);
  };
  switch (f.t) {
    case "call":
      if (!isInt(f.id)) bad("id");
      if (!VERBS.includes(f.verb as Verb)) bad(`verb ${String(f.verb)}`);
      if (!isRef(f.r)) bad("resource");
      if (!optStr(f.ns) || !optStr(f.name) || !optStr(f.ptype)) bad("namespace, name or patch type");
      if (f.sub !== undefined && f.sub !== "status") bad("subresource");
      if (f.opts !== undefined && !isObj(f.opts)) bad("options");
      break;
    case "result":
      if (!isInt(f.id)) bad("id");
      break;
    case "error":
    case "wclose":
      if (!isInt(f.id)) bad("id");
      if (!isStatus(f.status)) bad("status");
      break;
    case "watch":
      if (!isInt(f.id)) bad("id");
      if (!isRef(f.r)) bad("resource");
      if (!isStr(f.rv) || !optStr(f.ns) || !optStr(f.ls) || !optStr(f.fs)) bad("options");
      break;
    case "event":
      if (!isInt(f.id)) bad("id");
      if (f.type !== "ADDED" && f.type !== "MODIFIED" && f.type !== "DELETED") bad("event type");
      if (!isObj(f.obj)) bad("object");
      break;
    case "unwatch":
      if (!isInt(f.id)) bad("id");
      break;
    case "sopen":
      if (!isInt(f.sid) || !isInt(f.credit)) bad("stream id or credit");
      if (!STREAM_KINDS.includes(f.kind as StreamKind)) bad(`kind ${String(f.kind)}`);
      if (!isObj(f.params)) bad("params");
      break;
    case "saccept":
      if (!isInt(f.sid) || !isInt(f.credit)) bad("stream id or credit");
      break;
    case "sdata":
      if (!isInt(f.sid) || !isInt(f.ch)) bad("stream id or channel");
      if (!(f.data instanceof Uint8Array)) bad("data");
      break;
    case "sresize":
      if (!isInt(f.sid) || !isInt(f.width) || !isInt(f.height)) bad("size");
      break;
    case "scredit":
      if (!isInt(f.sid) || !isInt(f.n)) bad("credit");
      break;
    case "sclose":
      if (!isInt(f.sid) || !optStr(f.error)) bad("stream id or error");
      break;
    default:
      throw new ProtocolError(`unknown frame type ${JSON.stringify(f.t)}`);
  }
  return f as Frame;
}
