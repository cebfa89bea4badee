// Reverse streams over the link: the server opens them (kubectl logs/exec/attach/
// port-forward reach the kubelet this way, so agents behind NAT work), the agent
// serves them. Each side may have at most the other's granted credit in flight, and
// grants more only once its consumer has taken the data, so memory stays bounded
// end to end however slow either party is.
import type { Frame, StreamKind } from "./protocol";

/** Bytes a receiver lets the sender have in flight per stream. */
export const STREAM_WINDOW = 256 * 1024;
/** Largest sdata payload; larger writes are split. */
export const MAX_CHUNK = 32 * 1024;

export type DataHandler = (ch: number, data: Uint8Array) => void | Promise<void>;

export class StreamClosedError extends Error {
  readonly code = "STREAM_CLOSED";
}

export class LinkStream {
  private credit: number;
  private creditWaiters: Array<() => void> = [];
  private localDone = false;
  private remoteDone = false;
  private failed?: Error;
  private dataHandler?: DataHandler;
  private buffered: Array<{ ch: number; data: Uint8Array }> = [];
  /** The other end closed while data still waited for a handler. */
  private endPending = false;
  private endHandlers: Array<(error?: string) => void> = [];
  private resizeHandler?: (width: number, height: number) => void;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly sid: number,
    readonly kind: StreamKind,
    readonly params: Record<string, unknown>,
    private readonly send: (f: Frame) => void,
    initialCredit: number,
    private readonly forget: (sid: number) => void,
  ) {
    this.credit = initialCredit;
  }

  /** Data from the other end. Credit is granted back when the handler (or its promise) is done. */
  onData(h: DataHandler): void {
    this.dataHandler = h;
    for (const b of this.buffered.splice(0)) this.deliver(b.ch, b.data);
    if (this.endPending) {
      this.endPending = false;
      this.endAfterData();
    }
  }

  /** Called once, when the other end closed its half (error undefined) or aborted. */
  onEnd(h: (error?: string) => void): void {
    if (this.remoteDone || this.failed) h(this.failed?.message);
    else this.endHandlers.push(h);
  }

  onResize(h: (width: number, height: number) => void): void {
    this.resizeHandler = h;
  }

  get closed(): boolean {
    return (this.localDone && this.remoteDone) || this.failed !== undefined;
  }

  /** Sends `data` on channel `ch`, waiting for credit as needed. */
  async write(ch: number, data: Uint8Array): Promise<void> {
    let off = 0;
    do {
      if (this.failed) throw this.failed;
      if (this.localDone) throw new StreamClosedError(`stream ${this.sid}: write after close`);
      while (this.credit <= 0 && data.length > 0) {
        await new Promise<void>((r) => this.creditWaiters.push(r));
        if (this.failed) throw this.failed;
      }
      const n = Math.min(data.length - off, MAX_CHUNK, this.credit);
      this.credit -= n;
      this.send({ t: "sdata", sid: this.sid, ch, data: data.subarray(off, off + n) });
      off += n;
    } while (off < data.length);
  }

  resize(width: number, height: number): void {
    if (!this.closed) this.send({ t: "sresize", sid: this.sid, width, height });
  }

  /** Ends this side's data (like shutdown(SHUT_WR)); the other side may still send. */
  close(): void {
    if (this.localDone || this.failed) return;
    this.localDone = true;
    this.send({ t: "sclose", sid: this.sid });
    this.maybeForget();
  }

  /** Ends the whole stream at once, telling the other end why. */
  abort(error: string): void {
    if (this.failed || (this.localDone && this.remoteDone)) return;
    this.send({ t: "sclose", sid: this.sid, error });
    this.fail(new StreamClosedError(error));
  }

  /** The link is gone or the peer aborted: wake every waiter and end. */
  fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    for (const w of this.creditWaiters.splice(0)) w();
    for (const h of this.endHandlers.splice(0)) h(err.message);
    this.forget(this.sid);
  }

  /** Routes one frame of this stream. */
  handle(f: Frame): void {
    switch (f.t) {
      case "sdata":
        if (this.remoteDone) return;
        if (this.dataHandler) this.deliver(f.ch, f.data);
        else this.buffered.push({ ch: f.ch, data: f.data });
        return;
      case "scredit":
        this.credit += f.n;
        for (const w of this.creditWaiters.splice(0)) w();
        return;
      case "sresize":
        this.resizeHandler?.(f.width, f.height);
        return;
      case "sclose":
        if (f.error !== undefined) {
          this.fail(new StreamClosedError(f.error));
          return;
        }
        // Data already queued for the handler is delivered before the end; data still
        // waiting for a handler (onData not yet called) too, so the end never overtakes it.
        if (this.dataHandler || this.buffered.length === 0) this.endAfterData();
        else this.endPending = true;
        return;
    }
  }

  private endAfterData(): void {
    this.queue = this.queue.then(() => {
      this.remoteDone = true;
      for (const h of this.endHandlers.splice(0)) h(undefined);
      this.maybeForget();
    });
  }

  private deliver(ch: number, data: Uint8Array): void {
    const h = this.dataHandler!;
    this.queue = this.queue.then(async () => {
      if (this.failed) return;
      try {
        await h(ch, data);
      } catch (err) {
        this.abort((err as Error).message);
        return;
      }
      if (!this.failed && !this.remoteDone) this.send({ t: "scredit", sid: this.sid, n: data.length });
    });
  }

  private maybeForget(): void {
    if (this.localDone && this.remoteDone) this.forget(this.sid);
  }
}

/**
 * The streams of one link connection. The server side opens (`open`), the agent side
 * accepts through `onOpen`; both route incoming stream frames with `handle`.
 */
export class StreamTable {
  private readonly streams = new Map<number, LinkStream>();
  private readonly pendingOpens = new Map<
    number,
    {
      kind: StreamKind;
      params: Record<string, unknown>;
      resolve(s: LinkStream): void;
      reject(e: Error): void;
    }
  >();
  private nextSid = 1;
  private opener?: (s: LinkStream) => void;

  constructor(private readonly send: (f: Frame) => void) {}

  get size(): number {
    return this.streams.size;
  }

  /** Agent side: called for each stream the server opens (already accepted); abort() refuses it. */
  onOpen(h: (s: LinkStream) => void): void {
    this.opener = h;
  }

  /** Server side: opens a stream and resolves once the agent accepted it. */
  open(kind: StreamKind, params: Record<string, unknown>, timeoutMs = 30_000): Promise<LinkStream> {
    const sid = this.nextSid++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.pendingOpens.delete(sid)) {
          this.send({ t: "sclose", sid, error: "timed out waiting for the agent" });
          reject(new StreamClosedError(`agent did not answer stream ${kind} in ${timeoutMs} ms`));
        }
      }, timeoutMs);
      this.pendingOpens.set(sid, {
        kind,
        params,
        resolve: (s) => {
          clearTimeout(timer);
          resolve(s);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.send({ t: "sopen", sid, kind, params, credit: STREAM_WINDOW });
    });
  }

  /** Routes a stream frame; returns false when it is not one. */
  handle(f: Frame): boolean {
    switch (f.t) {
      case "sopen": {
        if (this.streams.has(f.sid)) {
          this.send({ t: "sclose", sid: f.sid, error: `stream ${f.sid} is already open` });
          return true;
        }
        if (!this.opener) {
          this.send({ t: "sclose", sid: f.sid, error: "this agent serves no streams" });
          return true;
        }
        // Accepted once the handler returns or first sends, so a handler that refuses
        // at once (abort) makes the server's open() reject with its reason.
        let accepted = false;
        const accept = () => {
          if (accepted) return;
          accepted = true;
          this.send({ t: "saccept", sid: f.sid, credit: STREAM_WINDOW });
        };
        const send = (out: Frame) => {
          if (!(out.t === "sclose" && out.error !== undefined)) accept();
          this.send(out);
        };
        const s = new LinkStream(f.sid, f.kind, f.params, send, f.credit, (sid) => this.streams.delete(sid));
        this.streams.set(f.sid, s);
        try {
          this.opener(s);
        } catch (err) {
          s.abort((err as Error).message);
        }
        if (!s.closed) accept();
        return true;
      }
      case "saccept": {
        const p = this.pendingOpens.get(f.sid);
        if (!p) return true;
        this.pendingOpens.delete(f.sid);
        const s = new LinkStream(f.sid, p.kind, p.params, this.send, f.credit, (sid) =>
          this.streams.delete(sid),
        );
        this.streams.set(f.sid, s);
        p.resolve(s);
        return true;
      }
      case "sclose": {
        const p = this.pendingOpens.get(f.sid);
        if (p) {
          this.pendingOpens.delete(f.sid);
          p.reject(new StreamClosedError(f.error ?? "the agent closed the stream"));
          return true;
        }
        this.streams.get(f.sid)?.handle(f);
        return true;
      }
      case "sdata":
      case "scredit":
      case "sresize":
        this.streams.get(f.sid)?.handle(f);
        return true;
      default:
        return false;
    }
  }

  /** The connection is gone: every stream and pending open fails. */
  failAll(reason: string): void {
    for (const p of this.pendingOpens.values()) p.reject(new StreamClosedError(reason));
    this.pendingOpens.clear();
    for (const s of [...this.streams.values()]) s.fail(new StreamClosedError(reason));
    this.streams.clear();
  }
}
