// The node's container runtime. Imports: embed (native files), images/types (ImageRunConfig).

export type { CgroupLimits, CgroupManager, CgroupStats } from "./cgroups";
export { CgroupV1, CgroupV2, cgroupManager, sharesToWeight } from "./cgroups";
export { parseLogLine, readLog } from "./logs";
export type { NativeAddon } from "./native";
export { native } from "./native";
export type { Attachment, ExecOptions, ExecProcess } from "./runtime";
export { defaultNodeName, mergeEnv, Runtime, RuntimeError } from "./runtime";
export type * from "./types";
export { resolveUser } from "./user";
