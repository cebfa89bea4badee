// What the runtime takes and reports. It knows no API objects and no archive formats:
// a container is layer directories, a run configuration and resources.
import type { ImageRunConfig } from "../images/types";
import type { CgroupLimits } from "./cgroups";

export interface RuntimeConfig {
  /** <data-dir>; container directories live under <data-dir>/agent/containers */
  dataDir: string;
  /** node name; runtime state lives under /run/tsk/<node-name>, cgroups under tsk/<node-name> */
  nodeName: string;
  /** override of /run/tsk/<node-name> (tests) */
  runDir?: string;
  cgroups?: "auto" | "v1" | "v2";
  /** bytes after which a container's log is rotated (the kubelet's containerLogMaxSize); default 10 MiB, 0: never */
  containerLogMaxSize?: number;
  /** how many log files a container keeps, the current one included (containerLogMaxFiles); default 5, at least 2 */
  containerLogMaxFiles?: number;
}

export interface VolumeMount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  /** unique among this node's containers; defaults to the first 12 characters of the id */
  name?: string;
  /** what the user asked for (shown by `tsk ctr ps`) */
  image?: string;
  imageId?: string;
  /** unpacked layer directories, bottom first */
  layers: string[];
  /** the image's run configuration */
  config?: ImageRunConfig;
  /** replaces the image's Entrypoint (Kubernetes `command`) */
  command?: string[];
  /** replaces the image's Cmd (Kubernetes `args`) */
  args?: string[];
  /** KEY=VALUE, added to (and overriding) the image's Env */
  env?: string[];
  workingDir?: string;
  /** "uid", "uid:gid", "name" or "name:group"; defaults to the image's User, then root */
  user?: string;
  /** defaults to the sandbox's hostname, or the short id */
  hostname?: string;
  mounts?: VolumeMount[];
  resources?: CgroupLimits;
  tty?: boolean;
  /** keep a stdin stream open for attach */
  stdin?: boolean;
  /** join this sandbox's network, IPC and UTS namespaces and place the cgroup under its pod cgroup */
  sandboxId?: string;
  labels?: Record<string, string>;
  /**
   * Every capability, no seccomp filter, the host's devices in /dev, /sys writable and
   * /proc unmasked (Kubernetes `privileged`, `docker run --privileged`).
   */
  privileged?: boolean;
  /** capabilities added to Docker's default set: "NET_ADMIN", "CAP_NET_ADMIN" or "ALL" */
  capAdd?: string[];
  /** capabilities removed from it ("ALL": start from none, then capAdd) */
  capDrop?: string[];
  /** the rootfs is read-only; volumes, /dev, /proc, /sys and /etc/hosts keep their own modes */
  readOnlyRootfs?: boolean;
  /**
   * Sets no_new_privs: setuid binaries and file capabilities grant nothing (Kubernetes
   * `allowPrivilegeEscalation: false`, Docker `--security-opt no-new-privileges`). Default
   * true here, the safe choice; Kubernetes and Docker default to false, so the kubelet and
   * `tsk ctr run` always say which. The seccomp filter does not need it.
   */
  noNewPrivileges?: boolean;
}

export type ContainerState = "created" | "running" | "exited" | "unknown";

export interface ContainerStatus {
  id: string;
  name: string;
  image: string;
  state: ContainerState;
  /** host PID of the container's init while it runs */
  pid: number;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** signal number that ended it, 0 if it exited */
  signal?: number;
  oomKilled: boolean;
  /** "OOMKilled", "Completed", "Error", "StartError" (the kubelet's reasons) */
  reason?: string;
  /** why start failed, e.g. "exec nope: ENOENT" */
  message?: string;
  command: string[];
  sandboxId?: string;
  labels: Record<string, string>;
}

export interface SandboxSpec {
  id?: string;
  hostname: string;
  resources?: CgroupLimits;
}

export interface Sandbox {
  id: string;
  hostname: string;
  /** bind-mounted namespace files */
  netns: string;
  ipcns: string;
  utsns: string;
  /** relative cgroup path, parent of the containers' cgroups */
  cgroup: string;
}

export interface LogEntry {
  time: string;
  stream: "stdout" | "stderr";
  /** false for a "P" (partial) line */
  full: boolean;
  text: string;
}

/** A place in a container's log that stays valid across rotations: a byte offset in the file with this inode. */
export interface LogStart {
  ino: bigint;
  offset: number;
}

export interface LogOptions {
  follow?: boolean;
  /** only the last N lines */
  tail?: number;
  /** only entries at or after this time */
  since?: Date;
  signal?: AbortSignal;
}
