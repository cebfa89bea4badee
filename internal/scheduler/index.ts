// The scheduler: places pending pods on nodes. Imports: api (resource table, quantities),
// client (Client, Informer). Filters and scores are pure and exported for tests.
import type { Client } from "../client";
import { type BindFn, Scheduler, type SchedulerOptions } from "./scheduler";

export { fitErrorMessage } from "./diagnosis";
export {
  type BindFn,
  DEFAULT_SCHEDULER_NAME,
  Scheduler,
  type SchedulerOptions,
  schedulePod,
} from "./scheduler";

/**
 * Runs the default scheduler until `signal` aborts. `bind` posts the pods/binding
 * subresource; when omitted, the client's own `bind` method is used if it has one.
 */
export function startScheduler(
  client: Client,
  signal: AbortSignal,
  log: (m: string) => void,
  bind?: BindFn,
  opts?: SchedulerOptions,
): Promise<void> {
  const b = bind ?? (client as Client & { bind?: BindFn }).bind?.bind(client);
  if (!b) return Promise.reject(new Error("starting scheduler: no bind function (pods/binding) was given"));
  return new Scheduler(client, b, (m) => log(`scheduler: ${m}`), opts).run(signal);
}
