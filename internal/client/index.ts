// Client: the one way controllers, the scheduler and the kubelet reach the API.
// Imports: api (resource table, types). Transports live with what they wrap.

export { Informer, type InformerHandlers, keyOf } from "./informer";
export * from "./types";
export { runWorkers, WorkQueue } from "./workqueue";
