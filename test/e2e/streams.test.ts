// kubectl logs, exec, attach, cp and port-forward against a real cluster: `tsk server`
// with its embedded agent plus one `tsk agent` in its own network namespace (reached
// by the server only through its link), real busybox containers, the real kubectl.
// Pods are pinned to nodes with spec.nodeName so both paths are covered.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Cluster, startCluster } from "../support/multinode";

let c: Cluster;
let serverNode: string;
let agentNode: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(300);
  }
}

function kubectl(args: string[], input?: string): string {
  const r = c.kubectl(args, { input });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

function kenv(): NodeJS.ProcessEnv {
  return { ...process.env, KUBECONFIG: c.kubeconfig, KUBECACHEDIR: join(c.tmp, "kube-cache"), HOME: c.tmp };
}

/** kubectl in the background (logs -f, port-forward). */
function kubectlBg(args: string[]): { child: ChildProcess; out: () => string; err: () => string } {
  const child = spawn("/usr/bin/kubectl", args, { env: kenv(), stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (b) => (out += b));
  child.stderr!.on("data", (b) => (err += b));
  return { child, out: () => out, err: () => err };
}

function exited(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => child.once("exit", (code, sig) => r(code ?? (sig ? 128 : -1))));
}

function podPhase(name: string): string {
  return c.kubectl(["get", "pod", name, "-o", "jsonpath={.status.phase}"]).stdout.trim();
}

function running(name: string): Promise<string> {
  return until(`pod ${name} Running`, () => {
    const r = c.kubectl([
      "get",
      "pod",
      name,
      "-o",
      "jsonpath={.status.phase}/{.status.containerStatuses[*].state.running.startedAt}",
    ]);
    const [phase, started] = r.stdout.trim().split("/");
    return phase === "Running" && started ? phase : undefined;
  });
}

function podYaml(name: string, node: string, command: string, extra = ""): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
${extra}  containers:
  - name: main
    image: busybox:latest
    imagePullPolicy: Never
    command: ["sh", "-c", ${JSON.stringify(command)}]
`;
}

/** Picks a free local port. */
async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Starts `kubectl port-forward TARGET LOCAL:REMOTE` and waits for "Forwarding from". */
async function portForward(target: string, remote: number) {
  const local = await freePort();
  const pf = kubectlBg(["port-forward", target, `${local}:${remote}`]);
  await until(
    `port-forward ${target} ready`,
    () => pf.out().includes("Forwarding from") || pf.child.exitCode !== null,
  );
  if (pf.child.exitCode !== null) throw new Error(`port-forward exited: ${pf.err()}`);
  return {
    local,
    ...pf,
    async stop() {
      pf.child.kill("SIGINT");
      await exited(pf.child);
    },
  };
}

function curl(args: string[], timeoutMs = 60_000) {
  const r = spawnSync("curl", ["-sS", "--max-time", String(timeoutMs / 1000), ...args], {
    timeout: timeoutMs + 5000,
    maxBuffer: 128 << 20,
  });
  return { code: r.status ?? -1, stdout: r.stdout as Buffer, stderr: String(r.stderr) };
}

const LOGGER =
  "for i in 1 2 3; do echo out$i; sleep 0.1; echo err$i >&2; sleep 0.1; done; sleep 2; echo late; exec sleep 100000";

test.before(async () => {
  c = await startCluster({ agents: [{ name: "a1" }] });
  serverNode = c.serverNode;
  agentNode = c.agents[0].node;
  const pods = [
    podYaml("logger", serverNode, LOGGER),
    podYaml("shell", serverNode, "exec sleep 100000"),
    podYaml("ashell", agentNode, "exec sleep 100000"),
    podYaml(
      "web",
      serverNode,
      "mkdir -p /www && echo hello from web > /www/index.html && dd if=/dev/urandom of=/www/big bs=1M count=50 2>/dev/null && exec httpd -f -p 8080 -h /www",
    ),
    podYaml(
      "aweb",
      agentNode,
      "mkdir -p /www && echo hello from aweb > /www/index.html && exec httpd -f -p 8080 -h /www",
    ),
    podYaml("finished", serverNode, "echo bye", "  restartPolicy: Never\n"),
    podYaml(
      "crashy",
      serverNode,
      "echo run $(cat /proc/sys/kernel/random/uuid); sleep 1; exit 3",
      "  restartPolicy: Always\n",
    ),
  ];
  kubectl(["apply", "-f", "-"], pods.join("---\n"));
  for (const p of ["logger", "shell", "ashell", "web", "aweb"]) await running(p);
  await until(
    "web's httpd (it starts once the 50 MB file is written)",
    () =>
      c.kubectl(["exec", "web", "--", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]).code === 0,
  );
});

test.after(async () => {
  await c?.cleanup();
});

// ---------------------------------------------------------------- logs

test("logs shows stdout and stderr lines in the order they were written", async () => {
  await until("late line", () => c.kubectl(["logs", "logger"]).stdout.includes("late"));
  const out = kubectl(["logs", "logger"]);
  assert.is(out, "out1\nerr1\nout2\nerr2\nout3\nerr3\nlate\n");
});

test("logs --tail keeps the last lines", () => {
  assert.is(kubectl(["logs", "logger", "--tail", "2"]), "err3\nlate\n");
  assert.is(kubectl(["logs", "logger", "--tail", "0"]), "");
});

test("logs --timestamps prefixes each line with an RFC3339 time", () => {
  const lines = kubectl(["logs", "logger", "--timestamps"]).trimEnd().split("\n");
  assert.is(lines.length, 7);
  for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /);
  assert.is(lines[0].split(" ")[1], "out1");
});

test("logs --since and --since-time filter by time", async () => {
  // kubectl sends --since-time in whole seconds; "late" came 2 s after the rest.
  await sleep(1500);
  const all = kubectl(["logs", "logger", "--timestamps"]).trimEnd().split("\n");
  const lateTime = all[all.length - 1].split(" ")[0];
  assert.is(kubectl(["logs", "logger", `--since-time=${lateTime}`]), "late\n");
  // Everything was written more than a second ago, within the last hour.
  assert.is(kubectl(["logs", "logger", "--since=1h"]).split("\n").length, 8);
  const recent = c.kubectl(["logs", "logger", "--since=1s"]);
  assert.is(recent.code, 0);
  assert.is(recent.stdout, "");
});

test("logs --limit-bytes cuts the output", () => {
  assert.is(kubectl(["logs", "logger", "--limit-bytes=7"]), "out1\ner");
});

test("logs of a container that does not exist is a clear error", () => {
  const r = c.kubectl(["logs", "logger", "-c", "nope"]);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, "container nope is not valid for pod logger");
});

test("logs of a container that has not started says why", async () => {
  kubectl(
    ["apply", "-f", "-"],
    podYaml("stuck", serverNode, "true").replace("busybox:latest", "not-here:latest"),
  );
  const reason = await until("a waiting reason", () =>
    c
      .kubectl(["get", "pod", "stuck", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}"])
      .stdout.trim(),
  );
  const r = c.kubectl(["logs", "stuck"]);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, `container "main" in pod "stuck" is waiting to start: ${reason}`);
});

test("logs -f sees new lines and ends when the container does", async () => {
  kubectl(
    ["apply", "-f", "-"],
    podYaml(
      "counter",
      serverNode,
      "sleep 2; for i in 1 2 3 4; do echo line$i; sleep 0.5; done",
      "  restartPolicy: Never\n",
    ),
  );
  await running("counter");
  const f = kubectlBg(["logs", "-f", "counter"]);
  await until("first line", () => f.out().includes("line1"), 20_000);
  assert.not.ok(f.out().includes("line4"), "logs -f printed everything at once");
  const code = await Promise.race([exited(f.child), sleep(30_000).then(() => -99)]);
  assert.is(code, 0, f.err());
  assert.is(f.out(), "line1\nline2\nline3\nline4\n");
});

test("logs --previous shows the last terminated instance", async () => {
  await until(
    "a restart",
    () =>
      Number(
        c.kubectl(["get", "pod", "crashy", "-o", "jsonpath={.status.containerStatuses[0].restartCount}"])
          .stdout,
      ) >= 1,
    90_000,
  );
  const prev = kubectl(["logs", "crashy", "--previous"]);
  assert.ok(/^run [0-9a-f-]{36}\n$/.test(prev), JSON.stringify(prev));
  const none = c.kubectl(["logs", "logger", "--previous"]);
  assert.is.not(none.code, 0);
  assert.match(none.stderr, 'previous terminated container "main" in pod "logger" not found');
});

test("logs deploy/NAME and -l with --prefix are served per pod", () => {
  const r = kubectl(["logs", "-l", "app=logger", "--prefix", "--tail=1"]);
  assert.is(r, "[pod/logger/main] late\n");
});

test("logs of a pod on an agent in its own network namespace", async () => {
  // httpd logs nothing; exec a line into the container's stdout through its PID 1 is not possible,
  // so check the stream works end to end with an empty log and the right status.
  const r = c.kubectl(["logs", "aweb"]);
  assert.is(r.code, 0, r.stderr);
});

// ---------------------------------------------------------------- exec

test("exec passes stdin through and returns the command's exit code", () => {
  const r = c.kubectl(["exec", "-i", "shell", "--", "sh", "-c", "tr a-z A-Z; echo oops >&2; exit 7"], {
    input: "hello exec\n",
  });
  assert.is(r.stdout, "HELLO EXEC\n");
  assert.match(r.stderr, "oops\n");
  assert.match(r.stderr, "command terminated with exit code 7");
  assert.is(r.code, 7);
  const ok = c.kubectl(["exec", "shell", "--", "true"]);
  assert.is(ok.code, 0, ok.stderr);
});

test("exec of a command that does not exist prints the runtime's message", () => {
  const r = c.kubectl(["exec", "shell", "--", "nope"]);
  assert.match(r.stderr, 'exec: "nope": executable file not found in $PATH');
  assert.is(r.code, 126);
});

test("exec into a finished pod is refused", async () => {
  await until("finished pod Succeeded", () => podPhase("finished") === "Succeeded");
  const r = c.kubectl(["exec", "finished", "--", "true"]);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, "cannot exec into a container in a completed pod; current phase is Succeeded");
  // The server refuses too, not only kubectl.
  const api = await c.api("GET", "/api/v1/namespaces/default/pods/finished/exec?command=true&stdout=true");
  assert.is(api.status, 400);
  assert.match(
    api.json.message,
    "cannot exec into a container in a completed pod; current phase is Succeeded",
  );
});

test("exec -it runs in a pseudo-terminal (driven by script)", () => {
  // script's pty gets 30 rows x 100 columns; kubectl sends that on the resize channel.
  const cmd = `stty rows 30 cols 100; /usr/bin/kubectl exec -it shell -- sh -c 'tty; sleep 0.5; stty size; read x; echo got:$x'`;
  const r = spawnSync("script", ["-qec", cmd, "/dev/null"], {
    input: "typed\n",
    env: kenv(),
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
  assert.match(r.stdout, "got:typed");
  assert.match(r.stdout, /\b30 100\r?\n/);
});

test("exec on a pod of an agent in its own network namespace", () => {
  const r = c.kubectl(["exec", "ashell", "--", "sh", "-c", "echo from $(hostname); exit 3"]);
  assert.is(r.stdout, "from ashell\n");
  assert.is(r.code, 3);
});

test("a user without rights on pods/exec gets 403", async () => {
  const path = "/api/v1/namespaces/default/pods/shell/exec?command=true&stdout=true";
  const r = await c.api("GET", path, undefined, "not-a-token");
  assert.is(r.status, 401);
  // A node's own credential may read its pods but not exec into them or read logs.
  const cred = JSON.parse(readFileSync(join(c.agents[0].dataDir, "agent", "node-credential.json"), "utf8"));
  const f = await c.api("GET", path, undefined, cred.token);
  assert.is(f.status, 403, f.text);
  // Kubernetes authorizes a WebSocket exec as "create" on pods/exec.
  assert.match(f.json.message, 'cannot create resource "pods/exec"');
  const l = await c.api("GET", "/api/v1/namespaces/default/pods/logger/log", undefined, cred.token);
  assert.is(l.status, 403);
  assert.match(l.json.message, 'cannot get resource "pods/log"');
});

test("an abandoned exec is killed on the agent", async () => {
  const bg = kubectlBg(["exec", "shell", "--", "sh", "-c", "echo started; exec sleep 1000"]);
  await until("exec started", () => bg.out().includes("started"), 20_000);
  const count = () =>
    c.kubectl(["exec", "shell", "--", "sh", "-c", "ps | grep -c 'sleep 1000$'"]).stdout.trim();
  assert.is(count(), "1");
  bg.child.kill("SIGKILL");
  await until("the exec'd sleep is gone", () => count() === "0", 20_000);
});

// ---------------------------------------------------------------- attach, cp

test("attach follows the main process's output", async () => {
  kubectl(
    ["apply", "-f", "-"],
    podYaml("ticker", serverNode, "i=0; while true; do i=$((i+1)); echo tick$i; sleep 0.3; done"),
  );
  await running("ticker");
  const a = kubectlBg(["attach", "ticker"]);
  await until("two ticks", () => (a.out().match(/tick\d+/g) ?? []).length >= 2, 20_000);
  a.child.kill("SIGINT");
  await exited(a.child);
  assert.match(podPhase("ticker"), "Running");
});

test("attach -i feeds the main process's stdin and ends with its exit code", async () => {
  kubectl(
    ["apply", "-f", "-"],
    podYaml("reader", serverNode, "while read x; do echo got:$x; [ $x = quit ] && exit 4; done").replace(
      "    command:",
      "    stdin: true\n    command:",
    ),
  );
  await running("reader");
  const a = kubectlBg(["attach", "-i", "reader"]);
  // kubectl prints its hint on stderr once the session is up.
  await until("attached", () => a.err().includes("If you don't see a command prompt"), 20_000);
  a.child.stdin!.write("hello\n");
  await until("the echo", () => a.out().includes("got:hello\n"), 20_000);
  a.child.stdin!.write("quit\n");
  const code = await Promise.race([exited(a.child), sleep(20_000).then(() => -99)]);
  assert.match(a.out(), "got:quit\n");
  assert.is(code, 4, a.err());
});

test("cp copies a directory into the pod and back", () => {
  const src = join(c.tmp, "cp-src");
  mkdirSync(join(src, "sub"), { recursive: true });
  writeFileSync(join(src, "a.txt"), "alpha\n");
  writeFileSync(join(src, "sub", "b.bin"), Buffer.alloc(300_000, 7));
  kubectl(["cp", src, "shell:/tmp/copied"]);
  assert.is(kubectl(["exec", "shell", "--", "cat", "/tmp/copied/a.txt"]), "alpha\n");
  const back = join(c.tmp, "cp-back");
  kubectl(["cp", "shell:/tmp/copied", back]);
  assert.is(readFileSync(join(back, "a.txt"), "utf8"), "alpha\n");
  assert.ok(readFileSync(join(back, "sub", "b.bin")).equals(Buffer.alloc(300_000, 7)));
});

// ---------------------------------------------------------------- port-forward

test("port-forward serves several parallel connections", async () => {
  const pf = await portForward("pod/web", 8080);
  try {
    const runs = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve) => {
            const ch = spawn("curl", ["-sS", "--max-time", "30", `http://127.0.0.1:${pf.local}/index.html`]);
            let out = "";
            ch.stdout.on("data", (b) => (out += b));
            ch.on("exit", () => resolve(out));
          }),
      ),
    );
    for (const r of runs) assert.is(r, "hello from web\n");
  } finally {
    await pf.stop();
  }
});

test("port-forward carries a 50 MB file intact", async () => {
  const want = kubectl(["exec", "web", "--", "sha256sum", "/www/big"]).split(" ")[0];
  const pf = await portForward("pod/web", 8080);
  try {
    const r = curl([`http://127.0.0.1:${pf.local}/big`]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout.length, 50 << 20);
    assert.is(createHash("sha256").update(r.stdout).digest("hex"), want);
  } finally {
    await pf.stop();
  }
});

test("port-forward to a port nothing listens on reports connection refused", async () => {
  const pf = await portForward("pod/web", 8099);
  try {
    curl([`http://127.0.0.1:${pf.local}/`], 10_000);
    await until("the error", () => pf.err().includes("an error occurred forwarding"), 10_000);
    assert.match(pf.err(), `an error occurred forwarding ${pf.local} -> 8099`);
    assert.match(pf.err(), "connect: connection refused");
  } finally {
    await pf.stop();
  }
});

test("an abandoned port-forward closes its connections on the agent", async () => {
  // The agent's end of a forwarded connection lives in the pod's network namespace,
  // so the pod itself sees it.
  const relays = () =>
    kubectl(["exec", "web", "--", "netstat", "-tn"])
      .split("\n")
      .filter((l) => /:8080\s/.test(l) && l.includes("ESTABLISHED"))
      .join("\n");
  const pf = await portForward("pod/web", 8080);
  // A slow download keeps the connection open.
  const dl = spawn("curl", [
    "-sS",
    "--limit-rate",
    "200k",
    "-o",
    "/dev/null",
    `http://127.0.0.1:${pf.local}/big`,
  ]);
  try {
    await until("a forwarded connection in the pod's network namespace", () => relays() !== "", 20_000);
    pf.child.kill("SIGKILL");
    await exited(pf.child);
    await until("the forwarded connection is gone", () => relays() === "", 20_000);
  } finally {
    dl.kill("SIGKILL");
  }
});

test("an abandoned logs -f stops reading on the agent", async () => {
  // The server process runs the embedded agent: count the container logs it holds open.
  const pid = spawnSync("pgrep", ["-f", `server --data-dir ${c.dataDir}`])
    .stdout.toString()
    .trim()
    .split("\n")[0];
  assert.ok(pid, "server pid");
  const openLogs = () => {
    let n = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).endsWith("/container.log")) n++;
      } catch {}
    }
    return n;
  };
  const before = openLogs();
  const f = kubectlBg(["logs", "-f", "ticker"]);
  await until("a tick", () => /tick\d+/.test(f.out()), 20_000);
  assert.is(openLogs(), before + 1);
  f.child.kill("SIGKILL");
  await exited(f.child);
  await until("the log reader closed", () => openLogs() === before, 20_000);
});

test("port-forward svc/NAME and to an agent in its own network namespace", async () => {
  kubectl(["expose", "pod", "aweb", "--port", "80", "--target-port", "8080"]);
  const pf = await portForward("svc/aweb", 80);
  try {
    const r = curl([`http://127.0.0.1:${pf.local}/index.html`]);
    assert.is(r.stdout.toString(), "hello from aweb\n");
  } finally {
    await pf.stop();
  }
});

test.run();
