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
 * Runs the default scheduler until `signal` aborts. Pods are bound with the client's
 * pods/binding call unless another `bind` is given.
 */
export function startScheduler(
  client: Client,
  signal: AbortSignal,
  log: (m: string) => void,
  bind?: BindFn,
  opts?: SchedulerOptions,
): Promise<void> {
  const b = bind ?? ((ns: string, name: string, node: string) => client.bind(ns, name, node));
  return new Scheduler(client, b, (m) => log(`scheduler: ${m}`), opts).run(signal);
}
