// internal/store: the MVCC key-value store behind the API server.
// Imports: level (LevelDB), nothing else of ours.
import { openLevelStore } from "./leveldb";
import type { Store, StoreConfig } from "./types";

export * from "./types";

/** Opens the store backend named in `config` (LevelDB today; etcd may follow). */
export async function openStore(config: StoreConfig): Promise<Store> {
  const backend: string = config.backend;
  switch (config.backend) {
    case "leveldb":
      return openLevelStore(config);
    default:
      throw new Error(`store: unknown backend "${backend}"`);
  }
}
