// Client: the one way controllers, the scheduler and the kubelet reach the API.
// Imports: api (resource table, types). Transports live with what they wrap.
export * from "./types";
export { Informer, keyOf, type InformerHandlers } from "./informer";
export { WorkQueue, runWorkers } from "./workqueue";
