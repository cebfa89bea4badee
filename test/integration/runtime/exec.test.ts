// exec and attach: entering a running container.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Env, makeEnv, rejects } from "./support";

let env: Env;
let id: string;
test.before(async () => {
  env = makeEnv("exec");
  id = await env.rt.create({
    layers: [env.layer],
    command: ["sh", "-c", "echo marker > /tmp/inside; exec sleep 100"],
    env: ["FROM_SPEC=yes"],
    workingDir: "/tmp",
  });
  await env.rt.start(id);
  await new Promise((r) => setTimeout(r, 100));
});
test.after(async () => {
  await env.cleanup();
});

async function output(
  p: ReturnType<typeof env.rt.exec>,
): Promise<{ out: string; err: string; code: number }> {
  let out = "";
  let err = "";
  p.process.stdout?.on("data", (d) => {
    out += d;
  });
  p.process.stderr?.on("data", (d) => {
    err += d;
  });
  p.process.stdin?.end();
  const code = await p.exited;
  return { out, err, code };
}

test("exec sees the container's filesystem, PIDs, environment and working directory", async () => {
  const r = await output(
    env.rt.exec(id, [
      "sh",
      "-c",
      "cat /tmp/inside; ps -o pid,comm | grep -c sleep; echo $FROM_SPEC; pwd; hostname",
    ]),
  );
  assert.is(r.code, 0, r.err);
  const lines = r.out.trim().split("\n");
  assert.is(lines[0], "marker");
  assert.is(lines[1], "1");
  assert.is(lines[2], "yes");
  assert.is(lines[3], "/tmp");
  assert.is(lines[4], id.slice(0, 12));
  const pid1 = await output(env.rt.exec(id, ["cat", "/proc/1/cmdline"]));
  assert.is(pid1.out.replace(/\0/g, " ").trim(), "sleep 100");
});

test("exec returns the command's exit code and a missing command fails", async () => {
  assert.is((await output(env.rt.exec(id, ["sh", "-c", "exit 5"]))).code, 5);
  const r = await output(env.rt.exec(id, ["/nope"]));
  assert.is(r.code, 127);
  assert.match(r.err, /exec \/nope: ENOENT/);
});

test("exec with a TTY gets a terminal from the container and follows resizes", async () => {
  const p = env.rt.exec(id, ["sh", "-c", "read line; tty; stty size"], { tty: true });
  let out = "";
  p.process.stdout?.on("data", (d) => {
    out += d;
  });
  p.resize(33, 99);
  await new Promise((r) => setTimeout(r, 100));
  p.process.stdin?.write("go\n");
  const code = await p.exited;
  assert.is(code, 0, out);
  assert.match(out, /\/dev\/pts\/\d+/);
  assert.match(out, /33 99/);
});

test("exec into a stopped container is refused", async () => {
  const other = await env.rt.create({ layers: [env.layer], command: ["true"] });
  await env.rt.start(other);
  await env.rt.wait(other);
  assert.throws(() => env.rt.exec(other, ["true"]), /not running/);
  await rejects(env.rt.start(other), /is exited, not created/);
});

test("a TTY container gets a terminal of its own /dev/pts, resizable through attach", async () => {
  const c = await env.rt.create({
    layers: [env.layer],
    command: ["sh", "-c", "read l; tty; stty size"],
    tty: true,
    stdin: true,
  });
  await env.rt.start(c);
  const ac = new AbortController();
  const a = env.rt.attach(c, { signal: ac.signal });
  a.resize(20, 50);
  await new Promise((r) => setTimeout(r, 100));
  a.write("go\n");
  let out = "";
  for await (const e of a.output) {
    out += `${e.text}\n`;
    if (/\d+ \d+/.test(e.text)) break;
  }
  ac.abort();
  assert.match(out, /\/dev\/pts\/0/);
  assert.match(out, /20 50/);
  assert.is((await env.rt.wait(c)).exitCode, 0);
});

test("a container that never reads its stdin does not stop its output", async () => {
  const c = await env.rt.create({
    layers: [env.layer],
    command: ["sh", "-c", "sleep 0.2; echo tick1; sleep 1; echo tick2"],
    stdin: true,
  });
  await env.rt.start(c);
  // More than the stdin pipe holds, less than pipe + fifo: the writer never waits,
  // but a monitor that blocked on the pipe would stop relaying output.
  env.rt.attach(c).write(Buffer.alloc(100_000, "x"));
  let seenWhileRunning = false;
  for (let i = 0; i < 40 && !seenWhileRunning; i++) {
    await new Promise((r) => setTimeout(r, 25));
    const texts: string[] = [];
    for await (const e of env.rt.logs(c)) texts.push(e.text);
    seenWhileRunning = texts.includes("tick1") && env.rt.status(c).state === "running";
  }
  assert.ok(seenWhileRunning, "tick1 should reach the log while the container runs");
  assert.is((await env.rt.wait(c)).exitCode, 0);
});

test("attach streams output and feeds stdin", async () => {
  const c = await env.rt.create({
    layers: [env.layer],
    command: ["sh", "-c", "while read l; do echo got:$l; done"],
    stdin: true,
  });
  await env.rt.start(c);
  const ac = new AbortController();
  const a = env.rt.attach(c, { signal: ac.signal });
  a.write("hello\n");
  for await (const e of a.output) {
    assert.is(e.text, "got:hello");
    break;
  }
  ac.abort();
  await env.rt.stop(c, 0);
});

test.run();
