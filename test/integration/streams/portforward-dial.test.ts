// Where port-forward connects on the agent: localhost inside the pod's network
// namespace, IPv4 first and then IPv6 as containerd does, with the kubelet's error
// text when neither answers. A real namespace made with `ip netns add`; removed even
// when a test fails.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import type { Socket } from "node:net";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { dialLocalhost } from "../../../internal/streams/agent";

if (process.getuid?.() !== 0) throw new Error("port-forward dial tests need root (ip netns add, setns)");

const NS = `tskpf-${process.pid}`;
const NETNS = `/run/netns/${NS}`;
let server: ChildProcess | undefined;

function cleanup(): void {
  server?.kill("SIGKILL");
  spawnSync("ip", ["netns", "del", NS]);
}
process.on("exit", cleanup);

test.before(async () => {
  for (const args of [
    ["netns", "add", NS],
    ["-n", NS, "link", "set", "lo", "up"],
  ]) {
    const r = spawnSync("ip", args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  }
  // 8080 on IPv4 loopback only, 8086 on IPv6 loopback only; each says which it is.
  const script = `
    const net = require("net");
    net.createServer((s) => s.end("v4\\n")).listen(8080, "127.0.0.1", () =>
      net.createServer((s) => s.end("v6\\n")).listen({ port: 8086, host: "::1", ipv6Only: true }, () =>
        process.stdout.write("ready\\n")));`;
  server = spawn("ip", ["netns", "exec", NS, process.execPath, "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  await new Promise<void>((resolve, reject) => {
    server?.stdout?.on("data", (b: Buffer) => b.toString().includes("ready") && resolve());
    server?.on("exit", (code) => reject(new Error(`server in ${NS} exited with ${code}`)));
  });
});

test.after(cleanup);

function readAll(s: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    s.on("data", (b: Buffer) => (got += b));
    s.on("end", () => resolve(got));
    s.on("error", reject);
  });
}

test("a server on IPv4 loopback is reached", async () => {
  assert.is(await readAll(await dialLocalhost(NETNS, 8080, "pod-1")), "v4\n");
});

test("a server listening on IPv6 loopback only is reached too", async () => {
  assert.is(await readAll(await dialLocalhost(NETNS, 8086, "pod-1")), "v6\n");
});

test("nothing listening gives the kubelet's error with both families refused", async () => {
  try {
    await dialLocalhost(NETNS, 8099, "pod-1");
    assert.unreachable("the dial succeeded");
  } catch (err) {
    assert.is(
      (err as Error).message,
      `error forwarding port 8099 to pod pod-1, uid : failed to execute portforward in network namespace "${NETNS}": ` +
        "IPv4: dial tcp4 127.0.0.1:8099: connect: connection refused " +
        "IPv6: dial tcp6 [::1]:8099: connect: connection refused",
    );
  }
});

test("a pod whose namespace is gone says so once, without an IPv6 attempt", async () => {
  try {
    await dialLocalhost("/run/netns/tsk-no-such-ns", 8080, "pod-2");
    assert.unreachable("the dial succeeded");
  } catch (err) {
    assert.is(
      (err as Error).message,
      'error forwarding port 8080 to pod pod-2, uid : failed to execute portforward in network namespace "/run/netns/tsk-no-such-ns": network namespace /run/netns/tsk-no-such-ns: no such file',
    );
  }
});

test.run();
