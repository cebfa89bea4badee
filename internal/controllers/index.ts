// The controller manager: starts each controller's loop on the given client and stops
// them all on the abort signal.
import type { Client } from "../client";
import { GarbageCollector } from "./gc";
import { NamespaceController } from "./namespace";
import { ServiceAccountController } from "./serviceaccount";

export function startControllers(
  client: Client,
  signal: AbortSignal,
  log: (msg: string) => void,
): Promise<unknown> {
  const controllers = [
    { name: "namespace", c: new NamespaceController(client, (m) => log(`namespace-controller: ${m}`)) },
    { name: "garbage-collector", c: new GarbageCollector(client, (m) => log(`garbage-collector: ${m}`)) },
    {
      name: "serviceaccount",
      c: new ServiceAccountController(client, (m) => log(`serviceaccount-controller: ${m}`)),
    },
  ];
  return Promise.all(
    controllers.map(({ name, c }) =>
      c.run(signal).catch((err) => {
        log(`controller ${name} stopped: ${(err as Error).stack ?? err}`);
      }),
    ),
  );
}
