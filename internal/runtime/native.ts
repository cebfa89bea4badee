// Typed view of the Node-API addon (native/src/addon.cc). Every function throws an
// Error whose `code` is the errno name ("ENOENT") and whose message names the
// operation and the path ("mknod /x/y: EPERM").
import { loadNativeAddon } from "../embed";

export type FsOp =
  | [kind: "mkdir" | "mkdirp", path: string]
  | [kind: "write" | "create", path: string, data: string];

export interface NativeAddon {
  /** mknod(2); `mode` includes the file type bits (S_IFCHR = 0o020000). */
  mknod(path: string, mode: number, major: number, minor: number): void;
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** The attribute's value, or undefined when the file has no such attribute. */
  lgetxattr(path: string, name: string): Buffer | undefined;
  /** mount(2); empty strings stand for NULL source/fstype/data. */
  mount(source: string, target: string, fstype: string, flags: number, data: string): void;
  umount(target: string, flags: number): void;
  /**
   * A new TCP socket (non-blocking, close-on-exec, unconnected) created inside the
   * network namespace bound at `netnsPath`; returns its fd. Throws with code ENOENT
   * (no such file), EINVAL (not a network namespace) or EPERM. See runtime/dial.ts.
   */
  socketInNetns(netnsPath: string, family: 4 | 6): number;
  /**
   * Spawns a self-daemonizing helper (new session, stdio on /dev/null, fd 3 a pipe
   * back to us), reaps its first process and resolves with the first line it wrote on fd 3.
   */
  spawnReport(path: string, args: string[]): Promise<string>;
  /**
   * File system steps run in order on one libuv pool thread (one event-loop round trip for
   * all of them): "mkdirp"/"mkdir" (0755, existing is fine), "write" (an existing file such
   * as a cgroup control file), "create" (create or truncate, 0644). Stops at the first
   * failure: "write VALUE to PATH: ERRNO", "mkdir PATH: ERRNO" with `code` and `path`.
   */
  fsBatch(ops: FsOp[]): Promise<void>;
  constants: {
    MS_RDONLY: number;
    MS_NOSUID: number;
    MS_NODEV: number;
    MS_NOEXEC: number;
    MS_BIND: number;
    MS_REC: number;
    MS_PRIVATE: number;
    MS_REMOUNT: number;
    MNT_DETACH: number;
  };
}

export function native(): NativeAddon {
  return loadNativeAddon<NativeAddon>();
}
