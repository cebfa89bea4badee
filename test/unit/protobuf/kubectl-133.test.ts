// kubectl 1.33 (the newest one bundled beside the dispatcher) also sends protobuf bodies,
// and its `autoscale` moved to autoscaling/v2. The tables come from 1.32's descriptors;
// these tests show 1.33's bodies still decode to what 1.33 itself prints as JSON.
import { existsSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE } from "../../../internal/api/protobuf";
import { type Recorder, startRecorder } from "./recorder";

const KUBECTL_133 = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
let rec: Recorder;

test.before(async () => {
  assert.ok(
    existsSync(KUBECTL_133),
    `${KUBECTL_133} is missing: install the Cloud SDK's versioned kubectl binaries`,
  );
  rec = await startRecorder((r) => ({ status: 201, body: decodeKubernetesProtobuf(r.body) }), KUBECTL_133);
});

test.after(async () => {
  await rec?.close();
});

function same(title: string, args: string[], path: string): void {
  test(title, async () => {
    const dry = await rec.kubectl([...args, "--dry-run=client", "-o", "json"]);
    assert.is(dry.code, 0, dry.stderr);
    const before = rec.requests.length;
    const r = await rec.kubectl(args);
    assert.is(r.code, 0, r.stderr);
    const post = rec.requests.slice(before).find((q) => q.method === "POST");
    assert.ok(post, "no POST seen");
    assert.is(post!.path, path);
    assert.is(post!.contentType, PROTOBUF_MEDIA_TYPE);
    assert.equal(decodeKubernetesProtobuf(post!.body), JSON.parse(dry.stdout));
  });
}

same(
  "1.33: create deployment",
  ["create", "deployment", "web", "--image=nginx", "--port=80", "--replicas=2"],
  "/apis/apps/v1/namespaces/default/deployments",
);
same(
  "1.33: create cronjob",
  ["create", "cronjob", "cj", "--image=busybox", "--schedule=* * * * *"],
  "/apis/batch/v1/namespaces/default/cronjobs",
);
same(
  "1.33: create service nodeport with a named target port",
  ["create", "service", "nodeport", "np", "--tcp=80:http"],
  "/api/v1/namespaces/default/services",
);
same(
  "1.33: create secret generic",
  ["create", "secret", "generic", "s", "--from-literal=a=b"],
  "/api/v1/namespaces/default/secrets",
);
same(
  "1.33: autoscale sends an autoscaling/v2 HorizontalPodAutoscaler",
  ["autoscale", "deployment", "web", "--max=3", "--cpu-percent=70"],
  "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
);

test.run();
