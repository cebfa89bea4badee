// Two StreamTables wired back to back through the real codec, as the link wires them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeFrame, encodeFrame, type Frame } from "../../../internal/link/protocol";
import { type LinkStream, MAX_CHUNK, STREAM_WINDOW, StreamTable } from "../../../internal/link/streams";

function pair() {
  const sent = { server: 0, agent: 0 };
  let server!: StreamTable;
  let agent!: StreamTable;
  // Delivered asynchronously, like a socket.
  const deliver = (to: () => StreamTable, key: "server" | "agent") => (f: Frame) => {
    const bytes = encodeFrame(f);
    sent[key] += f.t === "sdata" ? f.data.length : 0;
    setImmediate(() => to().handle(decodeFrame(bytes)));
  };
  server = new StreamTable(deliver(() => agent, "server"));
  agent = new StreamTable(deliver(() => server, "agent"));
  return { server, agent, sent };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

test("a stream the server opens reaches the agent's handler with its kind and params", async () => {
  const { server, agent } = pair();
  let got: LinkStream | undefined;
  agent.onOpen((s) => (got = s));
  const s = await server.open("log", { pod: "p", container: "c", follow: true });
  assert.ok(got);
  assert.is(got!.kind, "log");
  assert.equal(got!.params, { pod: "p", container: "c", follow: true });
  assert.is(s.kind, "log");
});

test("an agent serving no streams refuses the open with a reason", async () => {
  const { server } = pair();
  try {
    await server.open("exec", {});
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, "serves no streams");
  }
});

test("data flows both ways on several streams at once, each on its channels, in order", async () => {
  const { server, agent } = pair();
  agent.onOpen((s) => {
    s.onData(async (ch, data) => {
      // echo on stdout what came on stdin, tagged with the stream's params
      await s.write(1, Buffer.from(`${s.params.name}:${ch}:${Buffer.from(data)}`));
    });
  });
  const a = await server.open("exec", { name: "a" });
  const b = await server.open("exec", { name: "b" });
  const out: Record<string, string[]> = { a: [], b: [] };
  a.onData((ch, d) => void out.a.push(`${ch}/${Buffer.from(d)}`));
  b.onData((ch, d) => void out.b.push(`${ch}/${Buffer.from(d)}`));
  for (let i = 0; i < 5; i++) {
    await a.write(0, Buffer.from(`x${i}`));
    await b.write(0, Buffer.from(`y${i}`));
  }
  await tick(50);
  assert.equal(
    out.a,
    [0, 1, 2, 3, 4].map((i) => `1/a:0:x${i}`),
  );
  assert.equal(
    out.b,
    [0, 1, 2, 3, 4].map((i) => `1/b:0:y${i}`),
  );
});

test("a sender stops at the receiver's window until the receiver drains, then continues", async () => {
  const { server, agent, sent } = pair();
  let release!: () => void;
  const drained = new Promise<void>((r) => (release = r));
  let received = 0;
  agent.onOpen((s) => {
    s.onData(async (_ch, d) => {
      received += d.length;
      await drained; // a consumer that does not read
    });
  });
  const s = await server.open("portforward", { port: 80 });
  const total = STREAM_WINDOW * 4;
  let done = false;
  const writing = s.write(0, new Uint8Array(total)).then(() => (done = true));
  await tick(100);
  assert.not.ok(done, "the write must wait for credit");
  assert.ok(sent.server <= STREAM_WINDOW, `sent ${sent.server} bytes beyond the window ${STREAM_WINDOW}`);
  release();
  await writing;
  await tick(50);
  assert.is(received, total);
});

test("large writes are split into chunks no bigger than MAX_CHUNK", async () => {
  const { server, agent } = pair();
  const sizes: number[] = [];
  agent.onOpen((s) => s.onData((_ch, d) => void sizes.push(d.length)));
  const s = await server.open("log", {});
  await s.write(1, new Uint8Array(MAX_CHUNK * 3 + 5));
  await tick(50);
  assert.equal(sizes, [MAX_CHUNK, MAX_CHUNK, MAX_CHUNK, 5]);
});

test("closing one half delivers the end after the data; the other half can still send", async () => {
  const { server, agent } = pair();
  const events: string[] = [];
  let agentSide!: LinkStream;
  agent.onOpen((s) => {
    agentSide = s;
    s.onData((_ch, d) => void events.push(`data ${Buffer.from(d)}`));
    s.onEnd((e) => events.push(`end ${e ?? "ok"}`));
  });
  const s = await server.open("exec", {});
  await s.write(0, Buffer.from("input"));
  s.close();
  await tick();
  assert.equal(events, ["data input", "end ok"]);
  let reply = "";
  s.onData((_ch, d) => {
    reply += Buffer.from(d);
  });
  await agentSide.write(1, Buffer.from("output"));
  agentSide.close();
  await tick();
  assert.is(reply, "output");
  assert.is(server.size, 0);
  assert.is(agent.size, 0);
});

test("data and the end that arrive before onData is set are delivered in that order", async () => {
  const { server, agent } = pair();
  agent.onOpen((s) => {
    // Answer at once and close: a fast server (httpd replying and hanging up) does this.
    void s.write(1, Buffer.from("reply")).then(() => s.close());
  });
  const s = await server.open("portforward", { port: 80 });
  // The reply and the close may already be here; register the handlers late, as a caller does.
  await tick();
  const events: string[] = [];
  s.onEnd((err) => events.push(`end:${err ?? ""}`));
  s.onData((_ch, d) => void events.push(`data:${Buffer.from(d)}`));
  await tick();
  assert.equal(events, ["data:reply", "end:"]);
});

test("a handler that refuses at once makes the server's open fail with its reason", async () => {
  const { server, agent } = pair();
  agent.onOpen((s) => s.abort('container "c" not found'));
  try {
    await server.open("exec", {});
    assert.unreachable();
  } catch (err) {
    assert.is((err as Error).message, 'container "c" not found');
  }
  await tick();
  assert.is(server.size, 0);
  assert.is(agent.size, 0);
});

test("an abort after the open ends the stream on both sides with the reason, and frees it", async () => {
  const { server, agent } = pair();
  let agentSide!: LinkStream;
  agent.onOpen((s) => {
    agentSide = s;
  });
  const s = await server.open("exec", {});
  let reason: string | undefined;
  s.onEnd((e) => {
    reason = e;
  });
  agentSide.abort("the container exited");
  await tick();
  assert.is(reason, "the container exited");
  try {
    await s.write(0, Buffer.from("x"));
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, "exited");
  }
  assert.is(server.size, 0);
  assert.is(agent.size, 0);
});

test("a lost connection fails every stream and wakes writers waiting for credit", async () => {
  const { server, agent } = pair();
  agent.onOpen((s) => s.onData(() => new Promise(() => {})));
  const s = await server.open("portforward", {});
  let ended: string | undefined;
  s.onEnd((e) => (ended = e));
  const w = s.write(0, new Uint8Array(STREAM_WINDOW * 2)).then(
    () => "resolved",
    (e: Error) => e.message,
  );
  await tick();
  server.failAll("the agent's link closed");
  assert.is(await w, "the agent's link closed");
  assert.is(ended, "the agent's link closed");
});

test.run();
