// Security settings as a process inside the container sees them: capability sets,
// no_new_privs and seccomp from /proc/self/status, what privileged opens up, and a
// read-only rootfs next to writable volumes.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { ContainerSpec } from "../../../internal/runtime";
import { hostCapabilities } from "../../../internal/runtime/capabilities";
import { collectLogs, type Env, makeEnv, rejects } from "./support";

// Docker's 14: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
// NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
const DEFAULT = 0xa80425fbn;
const NET_ADMIN = 1n << 12n;
const SYS_TIME = 1n << 25n;
const SYS_ADMIN = 1n << 21n;
const CHOWN = 1n << 0n;
const NET_BIND_SERVICE = 1n << 10n;

let env: Env;
test.before(() => {
  if (process.getuid?.() !== 0) throw new Error("runtime security tests need root");
  env = makeEnv("sec");
});
test.after(async () => {
  await env.cleanup();
});

async function run(cmd: string, extra: Partial<ContainerSpec> = {}) {
  const id = await env.rt.create({ layers: [env.layer], command: ["sh", "-c", cmd], ...extra });
  await env.rt.start(id);
  const status = await env.rt.wait(id);
  const logs = (await collectLogs(env.rt, id)).replace(/^std(out|err): /gm, "");
  await env.rt.remove(id);
  return { status, logs };
}

interface ProcStatus {
  inh: bigint;
  prm: bigint;
  eff: bigint;
  bnd: bigint;
  amb: bigint;
  nnp: number;
  seccomp: number;
}

function parseStatus(text: string): ProcStatus {
  const hex = (k: string) => {
    const m = new RegExp(`^${k}:\\s*([0-9a-f]+)$`, "m").exec(text);
    if (!m) throw new Error(`no ${k} in:\n${text}`);
    return BigInt(`0x${m[1]}`);
  };
  const num = (k: string) => Number(new RegExp(`^${k}:\\s*(\\d+)$`, "m").exec(text)?.[1] ?? -1);
  return {
    inh: hex("CapInh"),
    prm: hex("CapPrm"),
    eff: hex("CapEff"),
    bnd: hex("CapBnd"),
    amb: hex("CapAmb"),
    nnp: num("NoNewPrivs"),
    seccomp: num("Seccomp"),
  };
}

async function statusIn(extra: Partial<ContainerSpec> = {}): Promise<ProcStatus> {
  const { status, logs } = await run("cat /proc/self/status", extra);
  assert.is(status.exitCode, 0, logs);
  return parseStatus(logs);
}

const hex = (n: bigint) => `0x${n.toString(16)}`;

test("a default container holds Docker's 14 capabilities, a seccomp filter and no_new_privs", async () => {
  const s = await statusIn();
  assert.is(hex(s.bnd), hex(DEFAULT));
  assert.is(hex(s.prm), hex(DEFAULT));
  assert.is(hex(s.eff), hex(DEFAULT));
  assert.is(s.inh, 0n);
  assert.is(s.amb, 0n);
  assert.is(s.seccomp, 2);
  assert.is(s.nnp, 1);
});

test("capAdd adds capabilities named with or without CAP_, in any case", async () => {
  const s = await statusIn({ capAdd: ["NET_ADMIN", "cap_sys_time"] });
  assert.is(hex(s.eff), hex(DEFAULT | NET_ADMIN | SYS_TIME));
  assert.is(hex(s.bnd), hex(DEFAULT | NET_ADMIN | SYS_TIME));
  // NET_ADMIN does what it is for, in the container's own network namespace
  const withCap = await run("ip link set lo mtu 1400 && echo changed", { capAdd: ["NET_ADMIN"] });
  assert.match(withCap.logs, /changed/);
  const without = await run("ip link set lo mtu 1400 && echo changed");
  assert.not.match(without.logs, /changed/);
  assert.is.not(without.status.exitCode, 0);
});

test("capDrop removes capabilities: without CHOWN, chown fails", async () => {
  const s = await statusIn({ capDrop: ["CHOWN", "CAP_NET_RAW"] });
  assert.is(hex(s.eff), hex(DEFAULT & ~CHOWN & ~(1n << 13n)));
  const { logs } = await run("touch /f && chown 1000 /f && echo owned", { capDrop: ["CHOWN"] });
  assert.match(logs, /Operation not permitted/);
  assert.not.match(logs, /owned/);
});

test("capDrop ALL leaves none; with capAdd NET_BIND_SERVICE only that one", async () => {
  const none = await statusIn({ capDrop: ["ALL"] });
  assert.is(none.eff, 0n);
  assert.is(none.bnd, 0n);
  const one = await statusIn({ capDrop: ["ALL"], capAdd: ["NET_BIND_SERVICE"] });
  assert.is(hex(one.eff), hex(NET_BIND_SERVICE));
  assert.is(hex(one.bnd), hex(NET_BIND_SERVICE));
});

test("capAdd ALL gives every capability the node has, minus what capDrop names", async () => {
  const all = await statusIn({ capAdd: ["ALL"] });
  assert.is(hex(all.eff), hex(hostCapabilities()));
  assert.is(all.seccomp, 2, "not privileged: the filter stays");
  const some = await statusIn({ capAdd: ["ALL"], capDrop: ["SYS_ADMIN"] });
  assert.is(hex(some.eff), hex(hostCapabilities() & ~SYS_ADMIN));
});

test("an unknown capability is refused at create, naming it", async () => {
  const before = env.rt.list().length;
  await rejects(
    env.rt.create({ layers: [env.layer], command: ["true"], capAdd: ["NET_FOO"] }),
    /unknown capability "NET_FOO"/,
  );
  await rejects(
    env.rt.create({ layers: [env.layer], command: ["true"], capDrop: ["CAP_BOGUS"] }),
    /unknown capability "CAP_BOGUS"/,
  );
  assert.is(env.rt.list().length, before, "no container is left behind");
});

test("a non-root user keeps the bounding set but holds no capabilities, as with containerd", async () => {
  const s = await statusIn({ user: "1000:1000", capAdd: ["NET_ADMIN"] });
  assert.is(hex(s.bnd), hex(DEFAULT | NET_ADMIN));
  assert.is(s.eff, 0n);
  assert.is(s.prm, 0n);
  assert.is(s.inh, 0n);
  assert.is(s.amb, 0n);
});

test("noNewPrivileges false leaves no_new_privs unset and still installs the seccomp filter", async () => {
  const s = await statusIn({ noNewPrivileges: false });
  assert.is(s.nnp, 0);
  assert.is(s.seccomp, 2);
  assert.is(hex(s.eff), hex(DEFAULT));
  // the filter works without no_new_privs: user namespaces are still refused
  const { logs } = await run("unshare -U true 2>&1 || echo no-userns", { noNewPrivileges: false });
  assert.match(logs, /no-userns/);
});

test("privileged: every capability, no seccomp filter, writable /sys, unmasked /proc", async () => {
  const s = await statusIn({ privileged: true });
  assert.is(hex(s.eff), hex(hostCapabilities()));
  assert.is(hex(s.bnd), hex(hostCapabilities()));
  assert.is(s.seccomp, 0);
  const mounts = (cmd: Partial<ContainerSpec>) =>
    run("cat /proc/self/mountinfo", cmd).then((r) => r.logs.split("\n").map((l) => l.split(" ")));
  const opts = (m: string[][], at: string) => m.find((f) => f[4] === at)?.[5];
  const priv = await mounts({ privileged: true });
  const normal = await mounts({});
  assert.match(opts(normal, "/sys") ?? "", /^ro\b/);
  assert.match(opts(priv, "/sys") ?? "", /^rw\b/);
  assert.ok(opts(normal, "/proc/sys"), "a normal container's /proc/sys is a read-only mount");
  assert.is(opts(priv, "/proc/sys"), undefined);
  const masked = ["/proc/keys", "/proc/timer_list", "/proc/kcore"].find((f) => existsSync(f));
  assert.ok(masked, "the host has a /proc file that containers get masked");
  assert.ok(opts(normal, masked), `a normal container's ${masked} is masked`);
  assert.is(opts(priv, masked), undefined);
});

test("privileged: the host's devices are in /dev and can be opened", async () => {
  const dev = ["/dev/loop-control", "/dev/kmsg", "/dev/loop0"].find((d) => existsSync(d));
  assert.ok(dev, "the host has a device beyond the default set");
  const cmd = `test -e ${dev} && echo present; (: < ${dev}) 2>&1 && echo opened`;
  const priv = await run(cmd, { privileged: true });
  assert.match(priv.logs, /present\n/);
  assert.match(priv.logs, /opened\n/);
  const normal = await run(cmd);
  assert.not.match(normal.logs, /present|opened/);
  // the container's own pseudo-terminals, not the host's
  const pts = await run("ls /dev/pts; readlink /dev/ptmx", { privileged: true });
  assert.match(pts.logs, /ptmx\npts\/ptmx/);
});

test("mounting a tmpfs works in a privileged container and fails in a normal one", async () => {
  const cmd = "mkdir -p /mnt && mount -t tmpfs none /mnt && grep ' /mnt ' /proc/mounts";
  const priv = await run(cmd, { privileged: true });
  assert.is(priv.status.exitCode, 0, priv.logs);
  assert.match(priv.logs, /none \/mnt tmpfs/);
  const normal = await run(cmd);
  assert.is.not(normal.status.exitCode, 0);
  assert.match(normal.logs, /permission denied|not permitted/i);
});

test("capAdd SYS_ADMIN lets mount through the seccomp filter, as Docker's profile does", async () => {
  const { status, logs } = await run("mkdir -p /mnt && mount -t tmpfs none /mnt && echo mounted", {
    capAdd: ["SYS_ADMIN"],
  });
  assert.is(status.exitCode, 0, logs);
  assert.match(logs, /mounted/);
});

test("a read-only rootfs refuses writes while volumes, /dev and /dev/shm stay writable", async () => {
  const vol = join(env.dir, "ro-rootfs-vol");
  mkdirSync(vol);
  const { status, logs } = await run(
    [
      "touch /x 2>&1 || echo rootfs-refused",
      "echo v > /data/out && echo volume-ok",
      "echo s > /dev/shm/s && echo shm-ok",
      "echo n > /dev/null && echo dev-ok",
      "grep ' / ' /proc/self/mountinfo",
    ].join("; "),
    { readOnlyRootfs: true, mounts: [{ hostPath: vol, containerPath: "/data" }], workingDir: "/new/dir" },
  );
  assert.is(status.exitCode, 0, logs);
  assert.match(logs, /Read-only file system/);
  assert.match(logs, /rootfs-refused/);
  assert.match(logs, /volume-ok/);
  assert.match(logs, /shm-ok/);
  assert.match(logs, /dev-ok/);
  assert.match(logs, / \/ ro[,\s]/);
  assert.is(readFileSync(join(vol, "out"), "utf8"), "v\n");
});

test("a volume inside /dev is mounted over the container's /dev and is writable", async () => {
  const f = join(env.dir, "termination-log");
  writeFileSync(f, "");
  const { status, logs } = await run("echo bye > /dev/termination-log && ls /dev/null", {
    mounts: [{ hostPath: f, containerPath: "/dev/termination-log" }],
  });
  assert.is(status.exitCode, 0, logs);
  assert.is(readFileSync(f, "utf8"), "bye\n");
});

test("exec gets the container's privileges: all in a privileged one, the defaults otherwise", async () => {
  const execStatus = async (extra: Partial<ContainerSpec>) => {
    const id = await env.rt.create({ layers: [env.layer], command: ["sleep", "60"], ...extra });
    await env.rt.start(id);
    const p = env.rt.exec(id, ["sh", "-c", "cat /proc/self/status; env"]);
    let out = "";
    p.process.stdout?.on("data", (d) => {
      out += d;
    });
    assert.is(await p.exited, 0);
    await env.rt.remove(id, { force: true });
    assert.not.match(out, /TSK_EXEC/, "the command's environment is the container's");
    return parseStatus(out);
  };
  const priv = await execStatus({ privileged: true });
  assert.is(hex(priv.eff), hex(hostCapabilities()));
  assert.is(priv.seccomp, 0);
  const normal = await execStatus({ capDrop: ["CHOWN"] });
  assert.is(hex(normal.eff), hex(DEFAULT & ~CHOWN));
  assert.is(normal.seccomp, 2);
  assert.is(normal.nnp, 1);
});

test.run();
