// Image pulls by the kubelet from a real (loopback) OCI registry: Pulling/Pulled events,
// ErrImagePull then ImagePullBackOff with the registry's error, image Entrypoint/Cmd.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { buildBusyboxImage, startTestRegistry, type TestRegistry } from "../../support/images";
import { eventsFor, execIn, getPod, makeNode, PODS, pod, type TestNode, until } from "./support";

let node: TestNode;
let reg: TestRegistry;
test.before(async () => {
  node = await makeNode("img");
  const app = await buildBusyboxImage({
    gzip: true,
    config: { Entrypoint: ["sh", "-c"], Cmd: ["echo from-cmd > /tmp/out; sleep 3600"], WorkingDir: "/etc" },
  });
  reg = await startTestRegistry({ images: { "test/app:v1": app } });
  await node.startKubelet();
});
test.after(async () => {
  await node?.cleanup();
  await reg?.close();
});

test("an image missing on the node is pulled from its registry, with Pulling and Pulled events", async () => {
  const image = `${reg.host}/test/app:v1`;
  await node.client.create(
    PODS,
    "default",
    pod(node, "pulled", { containers: [{ name: "c", image, imagePullPolicy: undefined }] }),
  );
  const p = await until("Running", async () => {
    const p = await getPod(node, "pulled");
    return p?.status?.phase === "Running" ? p : undefined;
  });
  const id = p.status.containerStatuses[0].containerID;
  // The image's Entrypoint and Cmd and WorkingDir apply when the pod gives none.
  await until("cmd ran", async () => (await execIn(node, id, ["cat", "/tmp/out"])) === "from-cmd\n");
  assert.is(await execIn(node, id, ["pwd"]), "/etc\n");
  const reasons = (await eventsFor(node, "pulled")).map((e) => `${e.reason}: ${e.message}`);
  assert.ok(
    reasons.some((r) => r === `Pulling: Pulling image "${image}"`),
    reasons.join("\n"),
  );
  assert.ok(
    reasons.some((r) => r.startsWith(`Pulled: Successfully pulled image "${image}"`)),
    reasons.join("\n"),
  );
});

test("args replace the image's Cmd but keep its Entrypoint", async () => {
  const image = `${reg.host}/test/app:v1`;
  await node.client.create(
    PODS,
    "default",
    pod(node, "args", {
      containers: [{ name: "c", image, args: ["echo from-args > /tmp/out; sleep 3600"] }],
    }),
  );
  const p = await until("Running", async () => {
    const p = await getPod(node, "args");
    return p?.status?.phase === "Running" ? p : undefined;
  });
  const id = p.status.containerStatuses[0].containerID;
  await until("args ran", async () => (await execIn(node, id, ["cat", "/tmp/out"])) === "from-args\n");
});

test("an image the registry does not have gives ErrImagePull, then ImagePullBackOff", async () => {
  const image = `${reg.host}/test/missing:v1`;
  await node.client.create(PODS, "default", pod(node, "nopull", { containers: [{ name: "c", image }] }));
  const seen = new Set<string>();
  await until("both reasons", async () => {
    const p = await getPod(node, "nopull");
    const w = p?.status?.containerStatuses?.[0]?.state?.waiting;
    if (w) {
      seen.add(w.reason);
      assert.match(w.message, /test\/missing:v1/);
    }
    return seen.has("ErrImagePull") && seen.has("ImagePullBackOff");
  });
  const p = await getPod(node, "nopull");
  assert.is(p?.status.phase, "Pending");
  const evs = await eventsFor(node, "nopull");
  assert.ok(evs.some((e) => e.reason === "Failed" && /Failed to pull image/.test(e.message)));
  assert.ok(evs.some((e) => e.reason === "BackOff" && /Back-off pulling image/.test(e.message)));
});

test.run();
