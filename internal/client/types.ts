// One client interface for every caller (controllers, scheduler, kubelet, tools);
// the transport (in-process, HTTPS, agent link) is chosen when it is made.
import type { ResourceInfo } from "../api/resources";

export type KObject = Record<string, any> & {
  apiVersion?: string;
  kind?: string;
  metadata?: Record<string, any>;
};

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ListResult {
  items: KObject[];
  resourceVersion: string;
  continue?: string;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface WatchEvent {
  type: WatchEventType;
  object: KObject;
}

export interface WatchHandle {
  cancel(): void;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Orphan" | "Background" | "Foreground";
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = "json" | "merge" | "strategic";

/** Errors keep the API's reason ("NotFound", "Conflict", "AlreadyExists", "Expired", ...). */
export interface ClientError extends Error {
  reason?: string;
  httpCode?: number;
}

export interface Client {
  get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KObject>;
  list(info: ResourceInfo, namespace: string | undefined, opts?: ListOptions): Promise<ListResult>;
  /**
   * Watches from `resourceVersion` (exclusive). `onError` gets a ClientError with
   * reason "Expired" when the history is gone; the watch is over after onError.
   */
  watch(
    info: ResourceInfo,
    namespace: string | undefined,
    opts: { resourceVersion: string; labelSelector?: string; fieldSelector?: string },
    onEvent: (ev: WatchEvent) => void,
    onError: (err: ClientError) => void,
  ): Promise<WatchHandle>;
  create(info: ResourceInfo, namespace: string | undefined, obj: KObject): Promise<KObject>;
  update(
    info: ResourceInfo,
    namespace: string | undefined,
    obj: KObject,
    subresource?: "status",
  ): Promise<KObject>;
  patch(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    subresource?: "status",
  ): Promise<KObject>;
  delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    opts?: DeleteOptions,
  ): Promise<KObject>;
  /** pods/binding: assigns an unbound pod to a node (409 Conflict if it is already bound). */
  bind(namespace: string, podName: string, nodeName: string): Promise<void>;
}

export function isReason(err: unknown, reason: string): boolean {
  return (err as ClientError)?.reason === reason;
}
