// `tsk ctr` flag values: sizes, CPUs, volumes, --since, and the STATUS column.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseCpus, parseMemory, parseSince, parseVolume, statusText } from "../../../internal/cli/ctr";
import type { ContainerStatus } from "../../../internal/runtime";

test("memory sizes use docker's binary units and refuse nonsense", () => {
  assert.is(parseMemory("64m"), 64 * 1024 * 1024);
  assert.is(parseMemory("1g"), 1024 ** 3);
  assert.is(parseMemory("1.5G"), 1.5 * 1024 ** 3);
  assert.is(parseMemory("10485760"), 10485760);
  assert.throws(() => parseMemory("lots"), /invalid size "lots"/);
  assert.throws(() => parseMemory("1k"), /below the minimum of 6m/);
});

test("--cpus becomes millicores", () => {
  assert.is(parseCpus("0.5"), 500);
  assert.is(parseCpus("2"), 2000);
  assert.throws(() => parseCpus("0"), /invalid number/);
  assert.throws(() => parseCpus("x"), /invalid number/);
});

test("volumes are HOSTDIR:CTRDIR with an optional ro or rw", () => {
  assert.equal(parseVolume("/a:/b"), { hostPath: "/a", containerPath: "/b", readOnly: false });
  assert.equal(parseVolume("/a:/b:ro"), { hostPath: "/a", containerPath: "/b", readOnly: true });
  assert.throws(() => parseVolume("a:/b"), /host path must be absolute/);
  assert.throws(() => parseVolume("/a:b"), /container path must be absolute/);
  assert.throws(() => parseVolume("/a:/b:rx"), /mode must be ro or rw/);
  assert.throws(() => parseVolume("/a"), /want HOSTDIR:CTRDIR/);
});

test("--since takes durations or RFC 3339 times", () => {
  const now = Date.parse("2026-01-01T00:10:00Z");
  assert.is(parseSince("90s", now).toISOString(), "2026-01-01T00:08:30.000Z");
  assert.is(parseSince("5m", now).toISOString(), "2026-01-01T00:05:00.000Z");
  assert.is(parseSince("2026-01-01T00:00:00Z").toISOString(), "2026-01-01T00:00:00.000Z");
  assert.throws(() => parseSince("yesterday"), /want a time/);
});

test("the STATUS column reads like docker's", () => {
  const base: ContainerStatus = {
    id: "x",
    name: "x",
    image: "busybox",
    state: "created",
    pid: 0,
    createdAt: new Date().toISOString(),
    oomKilled: false,
    command: [],
    labels: {},
  };
  assert.is(statusText(base), "Created");
  assert.match(
    statusText({ ...base, state: "running", startedAt: new Date(Date.now() - 5000).toISOString() }),
    /^Up 5 seconds$/,
  );
  assert.match(
    statusText({
      ...base,
      state: "exited",
      exitCode: 137,
      oomKilled: true,
      finishedAt: new Date(Date.now() - 120_000).toISOString(),
    }),
    /^Exited \(137\) 2 minutes ago \(OOMKilled\)$/,
  );
});

test.run();
