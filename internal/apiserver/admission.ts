// Admission: Kubernetes' defaulting and validation for every write, before the store,
// and managedFields for ordinary writes.
import { applyDefaults } from "../api/defaults";
import { updateManagedFields } from "../api/patch";
import type { ResourceInfo } from "../api/resources";
import { patchMetaFor } from "../api/schema";
import {
  decodeErrorMessage,
  pruneUnknownFields,
  strictDecodingMessage,
  validateObject,
} from "../api/validation";
import type { FieldValidation } from "./context";
import { errors } from "./errors";
import type { KObject } from "./objects";
import type { Admission } from "./registry";

/** Writes to the main resource never own status; status writes own only status. */
export function ignoredPathsFor(info: ResourceInfo, subresource?: string): string[][] {
  if (subresource === "status") return [["spec"], ["metadata"]];
  return info.subresources.includes("status") ? [["status"]] : [];
}

export class KubernetesAdmission implements Admission {
  applyDefaults(info: ResourceInfo, obj: KObject): void {
    applyDefaults(info, obj);
  }

  validate(
    info: ResourceInfo,
    obj: KObject,
    opts: {
      operation: "create" | "update";
      old?: KObject;
      fieldValidation: FieldValidation;
      rawBody?: string;
      subresource?: string;
    },
  ) {
    const res = validateObject(info, obj, {
      fieldValidation: opts.fieldValidation,
      operation: opts.operation,
      old: opts.old,
      rawJson: opts.rawBody,
      subresource: opts.subresource,
    });
    if (res.decodeError) throw errors.badRequest(decodeErrorMessage(info, res.decodeError));
    if (res.strictErrors.length) throw errors.badRequest(strictDecodingMessage(info, res.strictErrors));
    // Under Warn and Ignore, Kubernetes drops the fields it does not know instead of storing them.
    if (!res.causes.length) pruneUnknownFields(info.group, info.version, info.kind, obj);
    return { causes: res.causes, warnings: res.warnings };
  }

  trackManagedFields(
    info: ResourceInfo,
    old: KObject | undefined,
    obj: KObject,
    manager: string,
    subresource?: string,
  ): void {
    const out = updateManagedFields(old, obj, {
      manager,
      meta: patchMetaFor(info.group, info.version, info.kind),
      now: new Date(),
      subresource,
      ignoredPaths: ignoredPathsFor(info, subresource),
    }) as KObject;
    const mf = out.metadata?.managedFields;
    if (mf?.length) (obj.metadata ??= {}).managedFields = mf;
    else if (obj.metadata) delete obj.metadata.managedFields;
  }
}
