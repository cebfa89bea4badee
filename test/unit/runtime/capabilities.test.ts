// The capability set a securityContext or `tsk ctr run --cap-add/--cap-drop` gives.
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  capabilityName,
  capabilityNames,
  capabilityNumber,
  capabilitySet,
  DEFAULT_CAPABILITIES,
  maskOf,
} from "../../../internal/runtime/capabilities";

const HOST = (1n << 41n) - 1n; // CHOWN .. CHECKPOINT_RESTORE
const DEFAULT = maskOf(DEFAULT_CAPABILITIES);

test("Docker's default set is the 14 capabilities containerd gives Kubernetes containers", () => {
  assert.is(DEFAULT, 0xa80425fbn);
  assert.is(capabilityNames(DEFAULT).length, 14);
  assert.equal(capabilitySet({}, HOST), DEFAULT);
});

test("names work with or without CAP_ and in any case", () => {
  assert.is(capabilityNumber("NET_ADMIN"), 12);
  assert.is(capabilityNumber("CAP_NET_ADMIN"), 12);
  assert.is(capabilityNumber("net_admin"), 12);
  assert.is(capabilityName(21), "CAP_SYS_ADMIN");
  assert.is(capabilityName(40), "CAP_CHECKPOINT_RESTORE");
});

test("add ALL starts from every capability the node has, drop then removes single ones", () => {
  const set = capabilitySet({ add: ["ALL"], drop: ["SYS_ADMIN", "NET_RAW"] }, HOST);
  assert.is(set, HOST & ~(1n << 21n) & ~(1n << 13n));
});

test("drop ALL starts from none, add then gives single ones", () => {
  assert.is(capabilitySet({ drop: ["ALL"] }, HOST), 0n);
  assert.is(capabilitySet({ drop: ["all"], add: ["NET_BIND_SERVICE"] }, HOST), 1n << 10n);
});

test("privileged is every capability the node has, whatever add and drop say", () => {
  const host = HOST & ~(1n << 24n); // a node without SYS_RESOURCE
  assert.is(capabilitySet({ privileged: true, drop: ["ALL"] }, host), host);
});

test("an unknown name is an error naming it, even when privileged", () => {
  assert.throws(() => capabilitySet({ add: ["NET_FOO"] }, HOST), /unknown capability "NET_FOO"/);
  assert.throws(() => capabilitySet({ drop: ["CAP_X"] }, HOST), /unknown capability "CAP_X"/);
  assert.throws(() => capabilitySet({ privileged: true, add: ["NOPE"] }, HOST), /unknown capability "NOPE"/);
});

test("adding a capability the node itself lacks is an error; ALL quietly means what it has", () => {
  const host = HOST & ~(1n << 24n);
  assert.throws(
    () => capabilitySet({ add: ["SYS_RESOURCE"] }, host),
    /capability CAP_SYS_RESOURCE is not available on this node/,
  );
  assert.is(capabilitySet({ add: ["ALL"] }, host), host);
});

test.run();
