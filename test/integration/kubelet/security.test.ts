// A pod's securityContext as the container sees it (capabilities, privileged,
// readOnlyRootFilesystem, allowPrivilegeEscalation), and the termination message a
// container writes to /dev/termination-log shown in its terminated state.
import { existsSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hostCapabilities } from "../../../internal/runtime/capabilities";
import { eventsFor, getPod, makeNode, PODS, pod, type TestNode, until } from "./support";

const DEFAULT = 0xa80425fbn;
const NET_ADMIN = 1n << 12n;
const CHOWN = 1n << 0n;

let node: TestNode;
test.before(async () => {
  node = await makeNode("sec");
  await node.startKubelet();
});
test.after(async () => {
  await node?.cleanup();
});

/** Runs `script` in a one-shot pod; what it writes to /dev/termination-log comes back. */
async function terminated(name: string, script: string, container: Record<string, any> = {}, spec = {}) {
  await node.client.create(
    PODS,
    "default",
    pod(node, name, {
      restartPolicy: "Never",
      ...spec,
      containers: [{ name: "c", command: ["sh", "-c", script], ...container }],
    }),
  );
  return until(`${name} terminated`, async () => {
    const p = await getPod(node, name);
    return p?.status?.containerStatuses?.[0]?.state?.terminated;
  });
}

/** A host device outside the default set, which only a privileged container gets. */
const HOST_DEVICE =
  ["/dev/loop-control", "/dev/kmsg", "/dev/loop0"].find((d) => existsSync(d)) ?? "/dev/kmsg";

const STATUS = "grep -E '^(CapEff|CapBnd|Seccomp|NoNewPrivs):' /proc/self/status > /dev/termination-log";

function field(msg: string, key: string): string {
  const m = new RegExp(`^${key}:\\s*(\\S+)$`, "m").exec(msg);
  if (!m) throw new Error(`no ${key} in termination message: ${JSON.stringify(msg)}`);
  return m[1];
}
const capsOf = (msg: string, key = "CapEff") => BigInt(`0x${field(msg, key)}`);
const hex = (n: bigint) => `0x${n.toString(16)}`;

test("a container's message in /dev/termination-log shows as its terminated state's message", async () => {
  const t = await terminated("bye", "echo 'saying goodbye' > /dev/termination-log; exit 3");
  assert.is(t.exitCode, 3);
  assert.is(t.reason, "Error");
  assert.is(t.message, "saying goodbye\n");
});

test("a plain pod gets Docker's default capabilities and a seccomp filter, no no_new_privs, no mount", async () => {
  const t = await terminated(
    "plain",
    `${STATUS}; mkdir -p /mnt; mount -t tmpfs none /mnt 2>> /dev/termination-log && echo mounted >> /dev/termination-log`,
  );
  assert.is(hex(capsOf(t.message)), hex(DEFAULT));
  assert.is(field(t.message, "Seccomp"), "2");
  assert.is(field(t.message, "NoNewPrivs"), "0");
  assert.match(t.message, /permission denied/i);
  assert.not.match(t.message, /^mounted$/m);
});

test("capabilities add and drop and allowPrivilegeEscalation false reach the container", async () => {
  const t = await terminated("caps", STATUS, {
    securityContext: {
      capabilities: { add: ["NET_ADMIN"], drop: ["CHOWN"] },
      allowPrivilegeEscalation: false,
    },
  });
  assert.is(hex(capsOf(t.message)), hex((DEFAULT | NET_ADMIN) & ~CHOWN));
  assert.is(hex(capsOf(t.message, "CapBnd")), hex((DEFAULT | NET_ADMIN) & ~CHOWN));
  assert.is(field(t.message, "NoNewPrivs"), "1");
  const reasons = (await eventsFor(node, "caps")).map((e) => e.reason);
  assert.not.ok(reasons.includes("UnsupportedSecurityContext"), reasons.join(","));
});

test("a privileged pod has every capability, no seccomp filter, the host's devices, and can mount", async () => {
  const t = await terminated(
    "priv",
    `${STATUS}; mkdir -p /mnt; mount -t tmpfs none /mnt && echo mounted >> /dev/termination-log;` +
      ` (: < ${HOST_DEVICE}) && echo device-opened >> /dev/termination-log`,
    { securityContext: { privileged: true } },
  );
  assert.is(hex(capsOf(t.message)), hex(hostCapabilities()));
  assert.is(field(t.message, "Seccomp"), "0");
  assert.match(t.message, /^mounted$/m);
  assert.match(t.message, /^device-opened$/m);
  assert.is(t.exitCode, 0);
});

test("readOnlyRootFilesystem: the rootfs refuses writes, an emptyDir does not", async () => {
  const t = await terminated(
    "rofs",
    "(touch /x 2>&1 || true) > /dev/termination-log; echo ok > /cache/f && cat /cache/f >> /dev/termination-log",
    {
      securityContext: { readOnlyRootFilesystem: true },
      volumeMounts: [{ name: "cache", mountPath: "/cache" }],
    },
    { volumes: [{ name: "cache", emptyDir: {} }] },
  );
  assert.match(t.message, /Read-only file system/);
  assert.match(t.message, /^ok$/m);
  assert.is(t.exitCode, 0);
});

test("an unknown capability leaves the container waiting with CreateContainerError naming it", async () => {
  await node.client.create(
    PODS,
    "default",
    pod(node, "badcap", {
      containers: [
        {
          name: "c",
          command: ["sleep", "3600"],
          securityContext: { capabilities: { add: ["NET_WIZARD"] } },
        },
      ],
    }),
  );
  const w = await until("CreateContainerError", async () => {
    const p = await getPod(node, "badcap");
    const w = p?.status?.containerStatuses?.[0]?.state?.waiting;
    return w?.reason === "CreateContainerError" ? w : undefined;
  });
  assert.match(w.message, /unknown capability "NET_WIZARD"/);
  const failed = (await eventsFor(node, "badcap")).find((e) => e.reason === "Failed");
  assert.match(failed?.message ?? "", /NET_WIZARD/);
});

test.run();
