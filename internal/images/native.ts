// The few system calls Node lacks for unpacking layers: overlay whiteouts are 0:0
// character devices, opaque directories carry the trusted.overlay.opaque xattr, and
// layers may hold device nodes, FIFOs and file capabilities (security.* xattrs).
import { loadNativeAddon } from "../embed";

interface FsAddon {
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  lgetxattr(path: string, name: string): Buffer | undefined;
}

let addon: FsAddon | undefined;

function fsAddon(): FsAddon {
  if (addon === undefined) {
    const a = loadNativeAddon<Partial<FsAddon>>();
    if (
      typeof a.mknod !== "function" ||
      typeof a.lsetxattr !== "function" ||
      typeof a.lgetxattr !== "function"
    ) {
      throw new Error("native addon lacks mknod/lsetxattr/lgetxattr (rebuild it with npm run build)");
    }
    addon = a as FsAddon;
  }
  return addon;
}

export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;
export const S_IFIFO = 0o010000;

export function mknod(path: string, mode: number, major: number, minor: number): void {
  fsAddon().mknod(path, mode, major, minor);
}

export function lsetxattr(path: string, name: string, value: Buffer): void {
  fsAddon().lsetxattr(path, name, value);
}

export function lgetxattr(path: string, name: string): Buffer | undefined {
  return fsAddon().lgetxattr(path, name);
}

/** An overlayfs whiteout: a character device 0:0 hides the same name in lower layers. */
export function makeWhiteout(path: string): void {
  mknod(path, S_IFCHR | 0o000, 0, 0);
}

export const OPAQUE_XATTR = "trusted.overlay.opaque";

/** Marks a directory opaque: overlayfs then shows none of the lower layers' entries under it. */
export function makeOpaque(path: string): void {
  lsetxattr(path, OPAQUE_XATTR, Buffer.from("y"));
}
