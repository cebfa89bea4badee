// Request bodies: size limit, JSON/YAML decoding, and the apiVersion/kind check.
import type { IncomingMessage } from "node:http";
import { load as loadYaml } from "js-yaml";
import { groupVersion, type ResourceInfo } from "../api/resources";
import type { RequestContext } from "./context";
import { errors } from "./errors";
import type { KObject } from "./objects";

/** Kubernetes' limit on request bodies. */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(errors.tooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Decoders for non-JSON bodies (protobuf) register here by media type. */
export const bodyDecoders = new Map<string, (body: Buffer, info: ResourceInfo | undefined) => KObject>();

/**
 * Decodes an object body. The object's apiVersion and kind, when given, must be the
 * resource's (Kubernetes refuses a Deployment posted to /pods).
 */
export function decodeBody(
  req: IncomingMessage,
  body: Buffer,
  info: ResourceInfo | undefined,
  ctx: RequestContext,
): KObject {
  const type = (req.headers["content-type"] ?? "application/json").split(";")[0].trim().toLowerCase();
  let obj: unknown;
  const custom = bodyDecoders.get(type);
  if (custom) obj = custom(body, info);
  else if (type === "application/json" || type === "" || type === "*/*") {
    try {
      obj = JSON.parse(body.toString("utf8"));
    } catch (err) {
      throw errors.badRequest(`the object provided is unrecognized: ${(err as Error).message}`);
    }
    ctx.rawBody = body.toString("utf8");
  } else if (type === "application/yaml") {
    try {
      obj = loadYaml(body.toString("utf8"));
    } catch (err) {
      throw errors.badRequest(`the object provided is unrecognized: ${(err as Error).message}`);
    }
  } else {
    throw errors.unsupportedMediaType(type, [
      "application/json",
      "application/yaml",
      "application/vnd.kubernetes.protobuf",
      ...bodyDecoders.keys(),
    ]);
  }
  if (obj === null || typeof obj !== "object" || Array.isArray(obj))
    throw errors.badRequest("the object provided is unrecognized (must be a JSON object)");
  const o = obj as KObject;
  if (info) {
    const gv = groupVersion(info);
    if (o.apiVersion !== undefined && o.apiVersion !== gv)
      throw errors.badRequest(
        `the API version in the data (${o.apiVersion}) does not match the expected API version (${gv})`,
      );
    if (o.kind !== undefined && o.kind !== info.kind && o.kind !== "")
      throw errors.badRequest(
        `the kind in the data (${o.kind}) does not match the expected kind (${info.kind})`,
      );
  }
  return o;
}
