// SPDY/3.1 framing and header compression as kubectl port-forward uses them.
import { constants, createInflate } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  controlFrame,
  dataFrame,
  decodeHeaderBlock,
  encodeHeaderBlock,
  FLAG_FIN,
  FrameReader,
  HeaderCodec,
  RST_STREAM,
  rstStream,
  SYN_STREAM,
} from "../../../internal/streams/spdy";

test("frames split across messages at any byte are reassembled", () => {
  const bytes = Buffer.concat([
    controlFrame(SYN_STREAM, 0, Buffer.from("0123456789abcdef")),
    dataFrame(3, 0, Buffer.from("hello")),
    dataFrame(3, FLAG_FIN, Buffer.alloc(0)),
    rstStream(3, 5),
  ]);
  for (let cut = 1; cut < bytes.length; cut++) {
    const r = new FrameReader();
    const frames = [...r.push(bytes.subarray(0, cut)), ...r.push(bytes.subarray(cut))];
    assert.is(frames.length, 4, `cut at ${cut}`);
    const [syn, data, fin, rst] = frames;
    assert.ok(syn.control && syn.type === SYN_STREAM);
    assert.ok(!data.control && data.streamId === 3 && data.data.toString() === "hello" && data.flags === 0);
    assert.ok(!fin.control && fin.flags === FLAG_FIN && fin.data.length === 0);
    assert.ok(rst.control && rst.type === RST_STREAM && rst.payload.readUInt32BE(4) === 5);
  }
});

test("a frame of another SPDY version is an error, not a crash", () => {
  const f = controlFrame(SYN_STREAM, 0, Buffer.alloc(4));
  f.writeUInt16BE(0x8002, 0);
  assert.throws(() => new FrameReader().push(f), /SPDY version 2/);
});

test("header blocks round-trip, names lower-cased", () => {
  const b = encodeHeaderBlock({ StreamType: "data", port: "8080", requestid: "0" });
  assert.equal(decodeHeaderBlock(b), { streamtype: "data", port: "8080", requestid: "0" });
  assert.throws(() => decodeHeaderBlock(b.subarray(0, b.length - 2)), /truncated/);
});

test("compressed header blocks share one zlib stream per direction", async () => {
  const sender = new HeaderCodec();
  const receiver = new HeaderCodec();
  try {
    const blocks = await Promise.all([
      sender.encode({ streamtype: "error", port: "80", requestid: "0" }),
      sender.encode({ streamtype: "data", port: "80", requestid: "0" }),
      sender.encode({}),
    ]);
    // The second block continues the first's zlib stream (no header of its own): alone it is unreadable.
    const fresh = createInflate({ finishFlush: constants.Z_SYNC_FLUSH });
    const failed = await new Promise<boolean>((resolve) => {
      fresh.on("error", () => resolve(true));
      fresh.on("data", () => {});
      fresh.end(blocks[1], () => resolve(false));
    });
    assert.ok(failed, "a block decoded without the stream's dictionary and history");
    assert.equal(await receiver.decode(blocks[0]), { streamtype: "error", port: "80", requestid: "0" });
    assert.equal(await receiver.decode(blocks[1]), { streamtype: "data", port: "80", requestid: "0" });
    assert.equal(await receiver.decode(blocks[2]), {});
  } finally {
    sender.close();
    receiver.close();
  }
});

test.run();
