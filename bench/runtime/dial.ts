// Dialing into a network namespace from this process (runtime/dial.ts): the cost of
// socketInNetns alone, the latency of a whole dial + connect, and the throughput of a
// dialed connection against a plain loopback one (the ceiling).
//
//   node --import tsx bench/runtime/dial.ts [--dials 1000] [--mb 200]
// Needs root (ip netns add). The namespace and its server are removed at the end.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { native } from "../../internal/runtime";
import { dialInNetns } from "../../internal/runtime/dial";

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : Number(def);
};
const DIALS = arg("dials", "1000");
const MB = arg("mb", "200");
const NS = `tskbench-${process.pid}`;
const NETNS = `/run/netns/${NS}`;
const PORT = 18500;

// A server that writes MB mebibytes of zeros to each connection and closes it.
const SERVER = `
const net = require("net");
const chunk = Buffer.alloc(1 << 20);
net.createServer((s) => {
  s.on("error", () => {});
  let left = ${MB};
  const more = () => { while (left > 0) { left--; if (!s.write(chunk)) return s.once("drain", more); } s.end(); };
  more();
}).listen(${PORT}, process.argv[1], () => process.stdout.write("ready\\n"));
`;

function startServer(argv: string[]): Promise<ChildProcess> {
  const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.stdout?.on("data", (b: Buffer) => b.toString().includes("ready") && resolve(child));
    child.on("exit", (code) => reject(new Error(`server exited with ${code}`)));
  });
}

/** MB/s reading everything from a connected socket. */
function drain(s: Socket): Promise<number> {
  const t0 = process.hrtime.bigint();
  let bytes = 0;
  return new Promise((resolve, reject) => {
    s.on("data", (b: Buffer) => (bytes += b.length));
    s.on("end", () => resolve(bytes / (1 << 20) / (Number(process.hrtime.bigint() - t0) / 1e9)));
    s.on("error", reject);
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const children: ChildProcess[] = [];
  try {
    spawnSync("ip", ["netns", "add", NS]);
    spawnSync("ip", ["-n", NS, "link", "set", "lo", "up"]);
    children.push(
      await startServer(["ip", "netns", "exec", NS, process.execPath, "-e", SERVER, "127.0.0.1"]),
    );
    // The ceiling: the same server on this namespace's loopback (port + 1).
    children.push(
      await startServer([process.execPath, "-e", SERVER.replace(`${PORT}`, `${PORT + 1}`), "127.0.0.1"]),
    );

    const n = native();
    const one: number[] = [];
    for (let i = 0; i < DIALS; i++) {
      const t = process.hrtime.bigint();
      const fd = n.socketInNetns(NETNS, 4);
      one.push(Number(process.hrtime.bigint() - t) / 1e3);
      closeSync(fd);
    }
    console.log(`socketInNetns:               median ${median(one).toFixed(1)} us over ${DIALS}`);

    // Dial + connect latency, against a closed port (refused at once, nothing to read).
    const dials: number[] = [];
    for (let i = 0; i < DIALS; i++) {
      const t = process.hrtime.bigint();
      await dialInNetns(NETNS, "127.0.0.1", PORT + 2).catch(() => {});
      dials.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    console.log(`dialInNetns (refused):       median ${median(dials).toFixed(1)} us over ${DIALS}`);

    // Alternating, best of three each: the first transfers also warm up this process.
    const viaDial: number[] = [];
    const viaPlain: number[] = [];
    for (let i = 0; i < 3; i++) {
      viaPlain.push(
        await drain(
          await new Promise<Socket>((resolve, reject) => {
            const s = connect(PORT + 1, "127.0.0.1", () => resolve(s));
            s.on("error", reject);
          }),
        ),
      );
      viaDial.push(await drain(await dialInNetns(NETNS, "127.0.0.1", PORT)));
    }
    console.log(`${MB} MB over a dialed connection: ${Math.max(...viaDial).toFixed(0)} MB/s (best of 3)`);
    console.log(`${MB} MB over plain loopback:      ${Math.max(...viaPlain).toFixed(0)} MB/s (best of 3)`);
  } finally {
    for (const c of children) c.kill("SIGKILL");
    spawnSync("ip", ["netns", "del", NS]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
