// dialInNetns against a real network namespace made with `ip netns add`, with servers
// listening inside it (and a decoy on the same port in the host's namespace, so a
// dial that landed in the wrong namespace cannot pass). The namespace and the server
// process are removed even when a test fails.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DialError, dialInNetns } from "../../../internal/runtime/dial";

if (process.getuid?.() !== 0) throw new Error("dial tests need root (ip netns add, setns)");

const NS = `tskdial-${process.pid}`;
const NETNS = `/run/netns/${NS}`;
const PORT = 17000 + (process.pid % 1000);
const tmp = mkdtempSync(join(tmpdir(), "tsk-dial-"));
let inside: ChildProcess | undefined;
let decoy: Server | undefined;

function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
}

function cleanup(): void {
  inside?.kill("SIGKILL");
  spawnSync("ip", ["netns", "del", NS]);
  rmSync(tmp, { recursive: true, force: true });
}
process.on("exit", cleanup);

test.before(async () => {
  ip("netns", "add", NS);
  ip("-n", NS, "link", "set", "lo", "up");
  // A veth pair whose far end has no address: a peer on its network never answers
  // (ARP goes unanswered), which is what a dial timeout needs.
  ip("-n", NS, "link", "add", "va", "type", "veth", "peer", "name", "vb");
  ip("-n", NS, "addr", "add", "10.99.0.1/24", "dev", "va");
  ip("-n", NS, "link", "set", "va", "up");
  ip("-n", NS, "link", "set", "vb", "up");
  // Inside: echo servers on 127.0.0.1 and [::1] that greet with "inside".
  const script = `
    const net = require("net");
    let n = 0;
    const serve = (s) => { s.on("error", () => {}); s.write("inside\\n"); s.pipe(s); };
    net.createServer(serve).listen(${PORT}, "127.0.0.1", () => {
      net.createServer(serve).listen(${PORT}, "::1", () => process.stdout.write("ready\\n"));
    });`;
  inside = spawn("ip", ["netns", "exec", NS, process.execPath, "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    inside?.stdout?.on("data", (b: Buffer) => b.toString().includes("ready") && resolve());
    inside?.on("exit", (code) => reject(new Error(`server in ${NS} exited with ${code}`)));
  });
  // Outside, on the same port: a dial that ends up here has used the wrong namespace.
  decoy = createServer((s) => s.end("outside\n"));
  await new Promise<void>((r) => decoy?.listen(PORT, "127.0.0.1", r));
});

test.after(() => {
  decoy?.close();
  cleanup();
});

function firstLine(s: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    s.on("data", (b: Buffer) => {
      got += b.toString();
      if (got.includes("\n")) resolve(got.slice(0, got.indexOf("\n")));
    });
    s.on("error", reject);
    s.on("close", () => resolve(got));
  });
}

async function failure(p: Promise<unknown>): Promise<DialError> {
  try {
    await p;
  } catch (err) {
    return err as DialError;
  }
  throw new Error("the dial succeeded");
}

test("a dial reaches the server listening on the namespace's loopback, not the host's", async () => {
  const s = await dialInNetns(NETNS, "127.0.0.1", PORT, { timeoutMs: 5000 });
  try {
    assert.is(await firstLine(s), "inside");
  } finally {
    s.destroy();
  }
});

test("data flows both ways and an end half-closes the connection", async () => {
  const s = await dialInNetns(NETNS, "127.0.0.1", PORT);
  const chunks: Buffer[] = [];
  s.on("data", (b: Buffer) => chunks.push(b));
  const closed = new Promise((r) => s.on("close", r));
  const big = Buffer.alloc(4 << 20, 0x5a);
  s.end(big);
  await closed;
  const all = Buffer.concat(chunks);
  assert.is(all.subarray(0, 7).toString(), "inside\n");
  assert.ok(all.subarray(7).equals(big), "the echoed 4 MiB came back intact");
});

test("IPv6 loopback inside the namespace is reachable too", async () => {
  const s = await dialInNetns(NETNS, "::1", PORT, { timeoutMs: 5000 });
  try {
    assert.is(await firstLine(s), "inside");
  } finally {
    s.destroy();
  }
});

test("a port nothing listens on is refused with Go's wording", async () => {
  const err = await failure(dialInNetns(NETNS, "127.0.0.1", PORT + 1, { timeoutMs: 5000 }));
  assert.instance(err, DialError);
  assert.is(err.code, "ECONNREFUSED");
  assert.is(err.message, `dial tcp 127.0.0.1:${PORT + 1}: connect: connection refused`);
  const v6 = await failure(dialInNetns(NETNS, "::1", PORT + 1, { network: "tcp6" }));
  assert.is(v6.message, `dial tcp6 [::1]:${PORT + 1}: connect: connection refused`);
});

test("a peer that never answers gives an i/o timeout after the deadline", async () => {
  const t0 = Date.now();
  const err = await failure(dialInNetns(NETNS, "10.99.0.2", 80, { timeoutMs: 300 }));
  const took = Date.now() - t0;
  assert.is(err.code, "ETIMEDOUT");
  assert.is(err.message, "dial tcp 10.99.0.2:80: i/o timeout");
  assert.ok(took >= 280 && took < 3000, `took ${took} ms`);
});

test("an address outside the namespace's networks is unreachable", async () => {
  const err = await failure(dialInNetns(NETNS, "192.0.2.1", 80, { timeoutMs: 5000 }));
  assert.is(err.code, "ENETUNREACH");
  assert.is(err.message, "dial tcp 192.0.2.1:80: connect: network is unreachable");
});

test("aborting a dial in progress cancels it", async () => {
  const ac = new AbortController();
  const p = dialInNetns(NETNS, "10.99.0.2", 80, { signal: ac.signal });
  setTimeout(() => ac.abort(), 50);
  const err = await failure(p);
  assert.is(err.code, "ABORT_ERR");
  assert.match(err.message, "operation was canceled");
});

test("a missing namespace file gives a clear error", async () => {
  const path = join(tmp, "gone", "net");
  const err = await failure(dialInNetns(path, "127.0.0.1", 80));
  assert.is(err.code, "ENOENT");
  assert.is(err.message, `network namespace ${path}: no such file`);
});

test("a file that is not a network namespace gives a clear error", async () => {
  const path = join(tmp, "net");
  writeFileSync(path, "");
  const err = await failure(dialInNetns(path, "127.0.0.1", 80));
  assert.is(err.code, "EINVAL");
  assert.match(err.message, `network namespace ${path}: not a network namespace`);
});

test("a host name or a bad port is refused before anything is opened", async () => {
  assert.match((await failure(dialInNetns(NETNS, "localhost", 80))).message, "must be an IP address");
  assert.match((await failure(dialInNetns(NETNS, "127.0.0.1", 0))).message, "invalid port 0");
  assert.match((await failure(dialInNetns(NETNS, "127.0.0.1", 70000))).message, "invalid port 70000");
});

test("dialing leaves this process in its own namespace and leaks no sockets", async () => {
  const nsOf = () => readlinkSync(`/proc/${process.pid}/task/${process.pid}/ns/net`);
  const sockets = () =>
    readdirSync("/proc/self/fd").filter((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`).startsWith("socket:");
      } catch {
        return false;
      }
    }).length;
  const ns = nsOf();
  const before = sockets();
  const outcomes = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      dialInNetns(NETNS, "127.0.0.1", i % 2 ? PORT : PORT + 1, { timeoutMs: 5000 }).then(
        (s) => {
          s.destroy();
          return "ok";
        },
        (err: DialError) => err.code,
      ),
    ),
  );
  assert.is(outcomes.filter((o) => o === "ok").length, 100);
  assert.is(outcomes.filter((o) => o === "ECONNREFUSED").length, 100);
  await new Promise((r) => setTimeout(r, 100));
  assert.is(sockets(), before);
  assert.is(nsOf(), ns);
  // A socket made now (no dial) is still the host's: it reaches the decoy.
  const plain = await new Promise<Socket>((resolve, reject) => {
    const s = connect(PORT, "127.0.0.1", () => resolve(s));
    s.on("error", reject);
  });
  try {
    assert.is(await firstLine(plain), "outside");
  } finally {
    plain.destroy();
  }
});

test.run();
