// The SPDY/3.1 subset kubectl port-forward speaks inside its WebSocket
// (`SPDY/3.1+portforward.k8s.io`): frames are reassembled from a byte stream with
// arbitrary boundaries; header blocks use one continuous zlib stream per direction
// with the SPDY/3 dictionary and a sync flush after each block.
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from "node:zlib";

// The dictionary is data from the SPDY/3 draft; spdy-transport ships it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const DICTIONARY: Buffer = require("spdy-transport/lib/spdy-transport/protocol/spdy/dictionary")["3.1"];

export const SYN_STREAM = 1;
export const SYN_REPLY = 2;
export const RST_STREAM = 3;
export const SETTINGS = 4;
export const PING = 6;
export const GOAWAY = 7;
export const HEADERS = 8;
export const WINDOW_UPDATE = 9;
export const FLAG_FIN = 1;

export type SpdyFrame =
  | { control: true; type: number; flags: number; payload: Buffer }
  | { control: false; streamId: number; flags: number; data: Buffer };

/** Splits a byte stream into frames; `push` returns every frame completed so far. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  /** Largest frame accepted (SPDY lengths are 24 bits). */
  constructor(private readonly maxFrame = 1 << 24) {}

  push(chunk: Buffer): SpdyFrame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: SpdyFrame[] = [];
    while (this.buf.length >= 8) {
      const len = this.buf.readUIntBE(5, 3);
      if (len > this.maxFrame) throw new Error(`SPDY frame of ${len} bytes is too large`);
      if (this.buf.length < 8 + len) break;
      const flags = this.buf[4];
      const payload = this.buf.subarray(8, 8 + len);
      if (this.buf[0] & 0x80) {
        const version = this.buf.readUInt16BE(0) & 0x7fff;
        if (version !== 3) throw new Error(`SPDY version ${version} is not supported`);
        out.push({ control: true, type: this.buf.readUInt16BE(2), flags, payload });
      } else {
        out.push({ control: false, streamId: this.buf.readUInt32BE(0) & 0x7fffffff, flags, data: payload });
      }
      this.buf = this.buf.subarray(8 + len);
    }
    return out;
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h[4] = flags;
  h.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([h, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(streamId & 0x7fffffff, 0);
  h[4] = flags;
  h.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([h, data]);
}

export function rstStream(streamId: number, status: number): Buffer {
  const p = Buffer.alloc(8);
  p.writeUInt32BE(streamId & 0x7fffffff, 0);
  p.writeUInt32BE(status, 4);
  return controlFrame(RST_STREAM, 0, p);
}

export function encodeHeaderBlock(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const n = Buffer.alloc(4);
  n.writeUInt32BE(Object.keys(headers).length);
  parts.push(n);
  for (const [k, v] of Object.entries(headers)) {
    for (const s of [k.toLowerCase(), v]) {
      const b = Buffer.from(s);
      const l = Buffer.alloc(4);
      l.writeUInt32BE(b.length);
      parts.push(l, b);
    }
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  if (b.length < 4) throw new Error("SPDY header block is truncated");
  const count = b.readUInt32BE(0);
  let off = 4;
  const str = () => {
    if (off + 4 > b.length) throw new Error("SPDY header block is truncated");
    const len = b.readUInt32BE(off);
    off += 4;
    if (off + len > b.length) throw new Error("SPDY header block is truncated");
    const s = b.subarray(off, off + len).toString("utf8");
    off += len;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const k = str();
    out[k] = str();
  }
  return out;
}

/** One direction's zlib stream: each call (de)compresses one block, in call order. */
class ZStream {
  private chain: Promise<unknown> = Promise.resolve();
  private chunks: Buffer[] = [];
  constructor(private readonly z: Inflate | Deflate) {
    z.on("data", (c: Buffer) => this.chunks.push(c));
    z.on("error", () => {});
  }
  run(input: Buffer): Promise<Buffer> {
    const p = this.chain.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          this.chunks = [];
          const onErr = (e: Error) => reject(e);
          this.z.once("error", onErr);
          this.z.write(input);
          this.z.flush(constants.Z_SYNC_FLUSH, () => {
            this.z.off("error", onErr);
            // 'data' events for the flushed output have fired by the time the callback runs.
            setImmediate(() => resolve(Buffer.concat(this.chunks)));
          });
        }),
    );
    this.chain = p.catch(() => {});
    return p;
  }
  close(): void {
    this.z.destroy();
  }
}

/** The header compression contexts of one SPDY session. */
export class HeaderCodec {
  private readonly inflater = new ZStream(createInflate({ dictionary: DICTIONARY }));
  private readonly deflater = new ZStream(createDeflate({ dictionary: DICTIONARY }));

  async decode(block: Buffer): Promise<Record<string, string>> {
    return decodeHeaderBlock(await this.inflater.run(block));
  }

  encode(headers: Record<string, string>): Promise<Buffer> {
    return this.deflater.run(encodeHeaderBlock(headers));
  }

  close(): void {
    this.inflater.close();
    this.deflater.close();
  }
}
