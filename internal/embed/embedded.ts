// What the single executable carries inside it. In development this module is empty:
// the build (build/build.mjs) replaces it with a generated one holding the bytes of the
// native files and the text of the manifests, so the TypeScript never changes between
// the two modes.

/** One native file carried as bytes. `sha256` is computed at build time over `bytes`. */
export interface EmbeddedFile {
  bytes: Uint8Array;
  sha256: string;
  /** Written with its run bit (a helper executable rather than a shared object). */
  executable: boolean;
}

export interface EmbeddedBundle {
  /** Native files by the name they are written under, e.g. "tsk_native.node", "tsk-monitor". */
  files: Record<string, EmbeddedFile>;
  /** manifests/*.yaml at build time, sorted by name. */
  manifests: { name: string; content: string }[];
}

/** Undefined when running from source; set in the built executable. */
export const bundle: EmbeddedBundle | undefined = undefined;
