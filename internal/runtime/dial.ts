// TCP connections into a pod's network namespace, made by this process itself: the
// addon creates the socket inside the namespace (a socket keeps the namespace it was
// created in for its whole life) and Node connects and uses it like any other. No
// helper process and no relay: probes and port-forward reach the pod's loopback
// directly, at the speed of loopback.
import { closeSync } from "node:fs";
import { isIP, Socket } from "node:net";
import { native } from "./native";

/** Go's wording of the errno values a connect can end with (net.OpError's text). */
const GO_TEXT: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset by peer",
  ECONNABORTED: "software caused connection abort",
  ENETUNREACH: "network is unreachable",
  EHOSTUNREACH: "no route to host",
  EADDRNOTAVAIL: "cannot assign requested address",
  ETIMEDOUT: "connection timed out",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EAFNOSUPPORT: "address family not supported by protocol",
  EMFILE: "too many open files",
  ENFILE: "too many open files in system",
  ENOBUFS: "no buffer space available",
};

/** A dial that failed; `message` reads as Go's ("dial tcp 127.0.0.1:80: connect: connection refused"). */
export class DialError extends Error {
  constructor(
    message: string,
    /** errno name: ECONNREFUSED ..., ETIMEDOUT for the deadline, ENOENT/EINVAL for an unusable namespace */
    readonly code: string,
  ) {
    super(message);
    this.name = "DialError";
  }
}

/** The namespace could not be entered (no such file, not a network namespace, no permission). */
export class NetnsError extends DialError {
  constructor(message: string, code: string) {
    super(message, code);
    this.name = "NetnsError";
  }
}

export interface DialOptions {
  /** Gives up after this long (Go's "i/o timeout"); none by default, like net.Dial. */
  timeoutMs?: number;
  /** Aborting stops the dial and destroys the socket. */
  signal?: AbortSignal;
  /** The network named in messages: Go's "tcp" (probes) or "tcp4"/"tcp6" (port-forward). */
  network?: "tcp" | "tcp4" | "tcp6";
}

/** "127.0.0.1:80" or "[::1]:80", as Go prints an address. */
export function joinHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Connects to host:port from inside the network namespace bound at `netns` (a file
 * such as a sandbox's `net` handle or /run/netns/NAME). `host` must be an IP address:
 * names would be resolved with this node's resolver, not the pod's. Resolves with the
 * connected socket; rejects with a DialError.
 */
export function dialInNetns(
  netns: string,
  host: string,
  port: number,
  opts: DialOptions = {},
): Promise<Socket> {
  const family = isIP(host);
  if (family === 0) return Promise.reject(new TypeError(`dial: host must be an IP address, not "${host}"`));
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return Promise.reject(new TypeError(`dial: invalid port ${port}`));
  const where = `dial ${opts.network ?? "tcp"} ${joinHostPort(host, port)}`;
  if (opts.signal?.aborted)
    return Promise.reject(new DialError(`${where}: operation was canceled`, "ABORT_ERR"));
  let fd: number;
  try {
    fd = native().socketInNetns(netns, family === 6 ? 6 : 4);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // socket() itself failed (no IPv6 in that namespace, out of descriptors).
    if (e.syscall?.startsWith("socket") && e.code)
      return Promise.reject(new DialError(`${where}: socket: ${GO_TEXT[e.code] ?? e.code}`, e.code));
    return Promise.reject(netnsError(netns, e));
  }
  let socket: Socket;
  try {
    socket = new Socket({ fd });
  } catch (err) {
    closeSync(fd);
    return Promise.reject(err);
  }
  // The socket was opened unconnected and the Socket constructor already asked
  // libuv to read from it. With an IP address, connect() reaches the kernel before
  // the event loop polls again, so the first poll sees a connecting socket, never
  // an unconnected one (which would read ENOTCONN).
  return connectWithin(socket, host, port, where, opts);
}

/**
 * Connects to host:port from this process's own network namespace (the node's, for
 * the agent), with the same options and error wording as dialInNetns. `host` may be a
 * name; it is resolved with this node's resolver.
 */
export function dialTcp(host: string, port: number, opts: DialOptions = {}): Promise<Socket> {
  if (!host) return Promise.reject(new TypeError("dial: empty host"));
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return Promise.reject(new TypeError(`dial: invalid port ${port}`));
  const where = `dial ${opts.network ?? "tcp"} ${joinHostPort(host, port)}`;
  if (opts.signal?.aborted)
    return Promise.reject(new DialError(`${where}: operation was canceled`, "ABORT_ERR"));
  return connectWithin(new Socket(), host, port, where, opts);
}

function connectWithin(
  socket: Socket,
  host: string,
  port: number,
  where: string,
  opts: DialOptions,
): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: DialError) => {
      clearTimeout(timer);
      socket.off("error", onError);
      opts.signal?.removeEventListener("abort", onAbort);
      if (!err) return resolve(socket);
      socket.destroy();
      reject(err);
    };
    const onError = (err: NodeJS.ErrnoException) => {
      const code = err.code ?? "EIO";
      if (code === "ENOTFOUND" || code === "EAI_AGAIN")
        return finish(new DialError(`dial ${opts.network ?? "tcp"}: lookup ${host}: no such host`, code));
      finish(new DialError(`${where}: connect: ${GO_TEXT[code] ?? err.message}`, code));
    };
    const onAbort = () => finish(new DialError(`${where}: operation was canceled`, "ABORT_ERR"));
    socket.once("error", onError);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.timeoutMs !== undefined)
      timer = setTimeout(() => finish(new DialError(`${where}: i/o timeout`, "ETIMEDOUT")), opts.timeoutMs);
    socket.connect({ host, port }, () => finish());
  });
}

/** The namespace could not be entered: say which file and why, in words. */
function netnsError(netns: string, err: NodeJS.ErrnoException): Error {
  const why =
    err.code === "ENOENT"
      ? "no such file"
      : err.code === "EINVAL"
        ? "not a network namespace (was the pod's sandbox removed?)"
        : err.code === "EPERM"
          ? "entering it needs CAP_SYS_ADMIN"
          : err.message;
  if (!err.code) return err;
  return new NetnsError(`network namespace ${netns}: ${why}`, err.code);
}
