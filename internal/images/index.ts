// The node's image store (see shared/DESIGN.md "internal/images"). Imports: ../embed
// (the native addon, for whiteouts and xattrs) and tar-stream; no other part.
import { ImageStore } from "./store";

export { ImageError, type ImageErrorCode } from "./errors";
export { familiarName, formatReference, normalizeName, parseReference, type Reference } from "./reference";
export type {
  DropFolderResult,
  ImageSummary,
  Progress,
  ProgressOptions,
  PruneResult,
  PullOptions,
  PullResult,
  RemoveResult,
} from "./store";
export type { ImageRunConfig, ResolvedImage } from "./types";
export { ImageStore };

/** Opens (creating if needed) the image store under <dataDir>/agent. */
export async function openImageStore(opts: { dataDir: string }): Promise<ImageStore> {
  const store = new ImageStore(opts.dataDir);
  await store.init();
  return store;
}
