// What the runtime and the kubelet need from the image store. The runtime knows no
// API objects and no archive formats: it gets unpacked layer directories and the
// image's run configuration.

/** The OCI image config's `config` part that decides how a container runs. */
export interface ImageRunConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
}

export interface ResolvedImage {
  /** "sha256:<hex>" of the image config (what `tsk images ls` shows as IMAGE ID, shortened). */
  id: string;
  /** The names that point at it, e.g. "docker.io/library/busybox:latest". */
  names: string[];
  /** Unpacked layer directories, bottom layer first. Overlay's lowerdir lists them top first. */
  layers: string[];
  config: ImageRunConfig;
}
