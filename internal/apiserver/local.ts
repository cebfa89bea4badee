// The in-process transport of internal/client: the server's own controllers call the
// registry directly (no HTTP hop) but still through admission, as their own user.
import type { ResourceInfo } from "../api/resources";
import { patchMetaFor } from "../api/schema";
import type {
  Client,
  ClientError,
  DeleteOptions,
  KObject,
  ListOptions,
  PatchType,
  WatchEvent,
} from "../client/types";
import type { RequestContext, UserInfo } from "./context";
import { ApiError, toApiError } from "./errors";
import { patchDocument } from "./patching";
import type { Registry } from "./registry";

const PATCH_CONTENT: Record<PatchType, string> = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

function clientError(err: unknown): ClientError {
  const e = err instanceof ApiError ? err : toApiError(err);
  return Object.assign(new Error(e.message), { reason: e.reason, httpCode: e.httpCode });
}

export class LocalClient implements Client {
  constructor(
    private readonly registry: Registry,
    private readonly user: UserInfo,
    private readonly fieldManager: string,
  ) {}

  private ctx(): RequestContext {
    return { user: this.user, fieldManager: this.fieldManager, fieldValidation: "Ignore", warnings: [] };
  }

  private async call<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw clientError(err);
    }
  }

  get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KObject> {
    return this.call(() => this.registry.get(info, namespace, name));
  }

  list(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}) {
    return this.call(() => this.registry.list(info, namespace, opts));
  }

  async watch(
    info: ResourceInfo,
    namespace: string | undefined,
    opts: { resourceVersion: string; labelSelector?: string; fieldSelector?: string },
    onEvent: (ev: WatchEvent) => void,
    onError: (err: ClientError) => void,
  ) {
    try {
      return await this.registry.watch(info, namespace, { ...opts, initialEvents: false }, onEvent);
    } catch (err) {
      const e = clientError(err);
      queueMicrotask(() => onError(e));
      return { cancel() {} };
    }
  }

  create(info: ResourceInfo, namespace: string | undefined, obj: KObject) {
    return this.call(() => this.registry.create(this.ctx(), info, namespace, obj));
  }

  update(info: ResourceInfo, namespace: string | undefined, obj: KObject, subresource?: "status") {
    return this.call(() =>
      this.registry.update(this.ctx(), info, namespace, obj.metadata?.name, obj, subresource),
    );
  }

  patch(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    subresource?: "status",
  ) {
    const body = Buffer.from(JSON.stringify(patch));
    const meta = patchMetaFor(info.group, info.version, info.kind);
    return this.call(() =>
      this.registry.guaranteedUpdate(
        this.ctx(),
        info,
        namespace,
        name,
        (cur) => patchDocument(cur, PATCH_CONTENT[type], body, meta),
        { subresource },
      ),
    );
  }

  async bind(namespace: string, podName: string, nodeName: string): Promise<void> {
    await this.call(() => this.registry.bind(this.ctx(), namespace, podName, nodeName));
  }

  async delete(info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}) {
    return this.call(
      async () => (await this.registry.delete(this.ctx(), info, namespace, name, opts)).object,
    );
  }
}
