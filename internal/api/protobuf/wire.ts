// The protobuf wire format, read only: varints, length-delimited fields, fixed32/64.
// Every malformed input becomes a ProtobufError (code "BadRequest"), never a crash.

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** A body that is not valid protobuf (or not the message it claims to be). */
export class ProtobufError extends Error {
  readonly code = "BadRequest";
  constructor(message: string) {
    super(message);
    this.name = "ProtobufError";
  }
}

export interface WireField {
  number: number;
  wireType: number;
  /** For varint fields: the value (as bigint, to keep all 64 bits). */
  varint?: bigint;
  /** For length-delimited and fixed fields: the raw bytes. */
  bytes?: Buffer;
}

const MAX_DEPTH = 100;

export class Reader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly where: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  private fail(what: string): never {
    throw new ProtobufError(`protobuf: ${what} at byte ${this.pos} of ${this.where}`);
  }

  /** A varint that fits in 28 bits (keys, lengths, most values), without BigInt; else -1. */
  private smallVarint(): number {
    const buf = this.buf;
    let p = this.pos;
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (p >= buf.length) return -1;
      const b = buf[p++];
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        this.pos = p;
        return result;
      }
    }
    return -1;
  }

  varint(): bigint {
    const small = this.smallVarint();
    if (small >= 0) return BigInt(small);
    return this.bigVarint();
  }

  /** A length or key: a non-negative number. */
  private length(): number {
    const small = this.smallVarint();
    if (small >= 0) return small;
    const big = this.bigVarint();
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${big} too large`);
    return Number(big);
  }

  private bigVarint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.length) this.fail("truncated varint");
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) {
        if (i === 9 && b > 1) this.fail("varint overflows 64 bits");
        return result;
      }
      shift += 7n;
    }
    return this.fail("varint longer than 10 bytes");
  }

  private take(n: number, what: string): Buffer {
    if (n > this.buf.length - this.pos)
      this.fail(`truncated ${what} (needs ${n} bytes, ${this.buf.length - this.pos} left)`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next field, or undefined at the end of the buffer. */
  next(): WireField | undefined {
    if (this.done) return undefined;
    const key = this.length();
    const number = Math.floor(key / 8);
    const wireType = key % 8;
    if (number === 0 || number > 0x1fffffff) this.fail(`invalid field number ${number}`);
    switch (wireType) {
      case WIRE_VARINT:
        return { number, wireType, varint: this.varint() };
      case WIRE_FIXED64:
        return { number, wireType, bytes: this.take(8, "fixed64") };
      case WIRE_FIXED32:
        return { number, wireType, bytes: this.take(4, "fixed32") };
      case WIRE_BYTES: {
        const len = this.length();
        if (len > this.buf.length) this.fail(`length ${len} past the end of the data`);
        return { number, wireType, bytes: this.take(len, "length-delimited field") };
      }
      case WIRE_START_GROUP:
        this.skipGroup(number, 0);
        return this.next();
      default:
        return this.fail(`invalid wire type ${wireType} for field ${number}`);
    }
  }

  // Groups are obsolete, but a decoder that skips unknown fields must skip them too.
  private skipGroup(number: number, depth: number): void {
    if (depth > MAX_DEPTH) this.fail("groups nested too deeply");
    for (;;) {
      if (this.done) this.fail(`unterminated group ${number}`);
      const key = this.varint();
      const n = Number(key >> 3n);
      const wt = Number(key & 7n);
      if (wt === WIRE_END_GROUP) {
        if (n !== number) this.fail(`group ${number} closed by ${n}`);
        return;
      }
      if (wt === WIRE_VARINT) this.varint();
      else if (wt === WIRE_FIXED64) this.take(8, "fixed64");
      else if (wt === WIRE_FIXED32) this.take(4, "fixed32");
      else if (wt === WIRE_BYTES) this.take(Number(this.varint()), "length-delimited field");
      else if (wt === WIRE_START_GROUP) this.skipGroup(n, depth + 1);
      else this.fail(`invalid wire type ${wt}`);
    }
  }

  /** Every field, in order. */
  all(): WireField[] {
    const out: WireField[] = [];
    for (let f = this.next(); f; f = this.next()) out.push(f);
    return out;
  }
}

/** Packed repeated varints (proto3 style); proto2 k8s messages use unpacked, but accept both. */
export function packedVarints(bytes: Buffer, where: string): bigint[] {
  const r = new Reader(bytes, where);
  const out: bigint[] = [];
  while (!r.done) out.push(r.varint());
  return out;
}
