// The scale subresource: an autoscaling/v1 Scale view of spec.replicas, used by
// `kubectl scale` and autoscalers.
import type { ResourceInfo } from "../api/resources";
import { labelSelectorObjectString } from "../api/selectors";
import type { RequestContext } from "./context";
import { errors } from "./errors";
import type { KObject } from "./objects";
import { patchDocument } from "./patching";
import type { Registry } from "./registry";

export function scaleOf(obj: KObject): KObject {
  const m = obj.metadata!;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      creationTimestamp: m.creationTimestamp,
    },
    spec: { replicas: obj.spec?.replicas ?? 0 },
    status: {
      replicas: obj.status?.replicas ?? 0,
      ...(obj.spec?.selector ? { selector: selectorString(obj.spec.selector) } : {}),
    },
  };
}

/** PUT or PATCH of /scale: changes the parent's spec.replicas, with the Scale's resourceVersion as precondition. */
export async function applyScale(
  reg: Registry,
  ctx: RequestContext,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
  method: string,
  contentType: string,
  body: Buffer,
): Promise<KObject> {
  let precondition: string | undefined;
  const out = await reg.guaranteedUpdate(ctx, info, namespace, name, (parent) => {
    const current = scaleOf(parent);
    let wanted: KObject;
    if (method === "PUT") {
      try {
        wanted = JSON.parse(body.toString());
      } catch (err) {
        throw errors.badRequest(`the object provided is unrecognized: ${(err as Error).message}`);
      }
    } else {
      wanted = patchDocument(current, contentType, body, undefined);
    }
    const rv = wanted.metadata?.resourceVersion;
    if (rv && rv !== current.metadata!.resourceVersion) precondition = rv;
    if (precondition) throw errors.conflict(info, name);
    const replicas = wanted.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0)
      throw errors.invalid({ group: "autoscaling", kind: "Scale" }, name, [
        {
          reason: "FieldValueInvalid",
          field: "spec.replicas",
          message: `Invalid value: ${JSON.stringify(replicas ?? null)}: must be greater than or equal to 0`,
        },
      ]);
    parent.spec = { ...parent.spec, replicas };
    return parent;
  });
  return scaleOf(out);
}

function selectorString(sel: unknown): string {
  try {
    return labelSelectorObjectString(sel as never);
  } catch {
    return "";
  }
}
