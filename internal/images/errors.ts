// Errors that leave the image store carry a stable code so callers (the CLI, the
// kubelet's image pull status) can tell "no such image" from a broken archive.

export type ImageErrorCode =
  | "NotFound"
  | "Ambiguous"
  | "InvalidReference"
  | "InvalidArchive"
  | "DigestMismatch"
  | "UnsafePath"
  | "Unsupported"
  | "Registry"
  | "Unauthorized";

export class ImageError extends Error {
  readonly code: ImageErrorCode;
  constructor(code: ImageErrorCode, message: string) {
    super(message);
    this.code = code;
    this.name = "ImageError";
  }
}
