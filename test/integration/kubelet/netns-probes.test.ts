// Probes and lifecycle hooks of pods outside the host network, with real containers:
// the kubelet connects from inside the pod's own network namespace (there is no pod
// network the node could route through), to busybox httpd servers in the pods.
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { eventsFor, execIn, getPod, makeNode, PODS, pod, runningPod, type TestNode, until } from "./support";

let node: TestNode;
test.before(async () => {
  node = await makeNode("nsprobe");
  await node.startKubelet();
});
test.after(async () => {
  await node?.cleanup();
});

const running = (name: string): Promise<any> => runningPod(node, name);

async function status(name: string): Promise<any> {
  return (await getPod(node, name))?.status?.containerStatuses?.[0];
}

async function messages(name: string, reason: string): Promise<string[]> {
  return (await eventsFor(node, name)).filter((e) => e.reason === reason).map((e) => e.message as string);
}

/** Lines the container wrote so far. */
async function logText(containerID: string): Promise<string> {
  let out = "";
  for await (const e of node.runtime.logs(containerID.replace(/^tsk:\/\//, ""), { follow: false }))
    out += `${e.text}\n`;
  return out;
}

// busybox httpd serving /www; /www/cgi-bin/health answers 200 while /tmp/ok exists, else 500.
const HTTPD = [
  "mkdir -p /www/cgi-bin",
  "echo ok > /www/healthz",
  `printf '#!/bin/sh\\nif [ -e /tmp/ok ]; then printf "HTTP/1.0 200 OK\\\\r\\\\n\\\\r\\\\nok\\\\n"; else printf "HTTP/1.0 500 Internal Server Error\\\\r\\\\n\\\\r\\\\nbad\\\\n"; fi\\n' > /www/cgi-bin/health`,
  "chmod +x /www/cgi-bin/health",
  "touch /tmp/ok",
  "exec httpd -f -v -p 8080 -h /www",
].join(" && ");

test("an httpGet liveness probe passes while the file is served and restarts the container on 404", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "live404", {
      containers: [
        {
          name: "web",
          command: ["sh", "-c", HTTPD],
          ports: [{ name: "http", containerPort: 8080 }],
          livenessProbe: {
            httpGet: { path: "/healthz", port: "http" },
            periodSeconds: 1,
            failureThreshold: 2,
          },
        },
      ],
    }),
  );
  const first = (await running("live404")).status.containerStatuses[0].containerID;
  // The probes reach httpd in the pod (it logs each request) and pass.
  await until(
    "three probes answered 200",
    async () => (await logText(first)).split("response:200").length > 3,
  );
  assert.is((await status("live404")).restartCount, 0);
  assert.equal(await messages("live404", "Unhealthy"), []);
  await execIn(node, first, ["rm", "/www/healthz"]);
  const cs = await until("restarted", async () => {
    const s = await status("live404");
    return s?.restartCount >= 1 && s.state.running ? s : undefined;
  });
  assert.is.not(cs.containerID, first);
  assert.ok(
    (await messages("live404", "Unhealthy")).includes(
      "Liveness probe failed: HTTP probe failed with statuscode: 404",
    ),
  );
  assert.ok((await messages("live404", "Killing")).some((m) => /failed liveness probe/.test(m)));
  await node.client.delete(PODS, "default", "live404", { gracePeriodSeconds: 0 });
});

test("an httpGet readiness probe follows the server's 200 and 500 answers", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "ready500", {
      containers: [
        {
          name: "web",
          command: ["sh", "-c", HTTPD],
          readinessProbe: { httpGet: { path: "/cgi-bin/health", port: 8080 }, periodSeconds: 1 },
        },
      ],
    }),
  );
  const id = (await running("ready500")).status.containerStatuses[0].containerID;
  await until("Ready", async () => (await status("ready500"))?.ready === true);
  await execIn(node, id, ["rm", "/tmp/ok"]);
  await until("not Ready", async () => (await status("ready500"))?.ready === false);
  assert.ok(
    (await messages("ready500", "Unhealthy")).includes(
      "Readiness probe failed: HTTP probe failed with statuscode: 500",
    ),
  );
  await execIn(node, id, ["touch", "/tmp/ok"]);
  await until("Ready again", async () => (await status("ready500"))?.ready === true);
  assert.is((await status("ready500")).restartCount, 0, "readiness never restarts");
  await node.client.delete(PODS, "default", "ready500", { gracePeriodSeconds: 0 });
});

test("an httpGet liveness probe with nothing listening restarts the container, in the kubelet's words", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "deaf", {
      containers: [
        {
          name: "c",
          command: ["sleep", "3600"],
          livenessProbe: { httpGet: { path: "/healthz", port: 8080 }, periodSeconds: 1, failureThreshold: 2 },
        },
      ],
    }),
  );
  await running("deaf");
  await until("restarted", async () => (await status("deaf"))?.restartCount >= 1);
  assert.ok(
    (await messages("deaf", "Unhealthy")).includes(
      'Liveness probe failed: Get "http://127.0.0.1:8080/healthz": dial tcp 127.0.0.1:8080: connect: connection refused',
    ),
  );
  await node.client.delete(PODS, "default", "deaf", { gracePeriodSeconds: 0 });
});

test("a tcpSocket readiness probe sees the pod's listener, not one on the node with the same port", async () => {
  const port = 20000 + (process.pid % 20000);
  // On the node's loopback: a probe dialing from the node would wrongly pass.
  const decoy: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => decoy.listen(port, "127.0.0.1", r));
  try {
    await node.client.create(
      PODS,
      "default",
      pod(node, "tcpready", {
        containers: [
          {
            name: "c",
            command: [
              "sh",
              "-c",
              `while [ ! -e /tmp/go ]; do sleep 0.2; done; mkdir -p /www; exec httpd -f -p ${port} -h /www`,
            ],
            readinessProbe: { tcpSocket: { port }, periodSeconds: 1 },
          },
        ],
      }),
    );
    const id = (await running("tcpready")).status.containerStatuses[0].containerID;
    await until("a failed probe", async () => (await messages("tcpready", "Unhealthy")).length > 0);
    assert.is((await status("tcpready")).ready, false);
    assert.ok(
      (await messages("tcpready", "Unhealthy")).includes(
        `Readiness probe failed: dial tcp 127.0.0.1:${port}: connect: connection refused`,
      ),
    );
    await execIn(node, id, ["touch", "/tmp/go"]);
    await until("Ready", async () => (await status("tcpready"))?.ready === true);
  } finally {
    decoy.close();
  }
  await node.client.delete(PODS, "default", "tcpready", { gracePeriodSeconds: 0 });
});

test("a preStop httpGet hook reaches the pod before it is stopped", async () => {
  // The hook's CGI script leaves a mark on a host directory.
  const script = [
    "mkdir -p /www/cgi-bin",
    `printf '#!/bin/sh\\necho "$REQUEST_METHOD $REQUEST_URI" >> /host/prestop\\nprintf "HTTP/1.0 200 OK\\\\r\\\\n\\\\r\\\\n"\\n' > /www/cgi-bin/stop`,
    "chmod +x /www/cgi-bin/stop",
    "exec httpd -f -p 8080 -h /www",
  ].join(" && ");
  await node.client.create(
    PODS,
    "default",
    pod(node, "hooked", {
      terminationGracePeriodSeconds: 10,
      volumes: [{ name: "host", hostPath: { path: node.dir } }],
      containers: [
        {
          name: "web",
          command: ["sh", "-c", script],
          ports: [{ name: "http", containerPort: 8080 }],
          volumeMounts: [{ name: "host", mountPath: "/host" }],
          lifecycle: { preStop: { httpGet: { path: "/cgi-bin/stop?why=delete", port: "http" } } },
        },
      ],
    }),
  );
  await running("hooked");
  await node.client.delete(PODS, "default", "hooked");
  await until("pod gone", async () => !(await getPod(node, "hooked")));
  assert.is(readFileSync(join(node.dir, "prestop"), "utf8"), "GET /cgi-bin/stop?why=delete\n");
});

test("a postStart httpGet hook that cannot connect kills the container and says why", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "poststart", {
      containers: [
        {
          name: "c",
          command: ["sleep", "3600"],
          lifecycle: { postStart: { httpGet: { path: "/started", port: 8080 } } },
        },
      ],
    }),
  );
  await until("restarted after its hook failed", async () => (await status("poststart"))?.restartCount >= 1);
  const [msg] = await messages("poststart", "FailedPostStartHook");
  assert.match(
    msg ?? "",
    /^HTTP lifecycle hook \(\/started\) for Container "c" in Pod "poststart_default\([0-9a-f-]+\)" failed - error: Get "http:\/\/127\.0\.0\.1:8080\/started": dial tcp 127\.0\.0\.1:8080: connect: connection refused$/,
  );
  await node.client.delete(PODS, "default", "poststart", { gracePeriodSeconds: 0 });
});

test.run();
