// The node's container runtime. Imports: embed (native files), images/types (ImageRunConfig).
export { Runtime, RuntimeError, mergeEnv, defaultNodeName } from "./runtime";
export type { ExecOptions, ExecProcess, Attachment } from "./runtime";
export { cgroupManager, CgroupV1, CgroupV2, sharesToWeight } from "./cgroups";
export type { CgroupManager, CgroupLimits, CgroupStats } from "./cgroups";
export { parseLogLine, readLog } from "./logs";
export { native } from "./native";
export type { NativeAddon } from "./native";
export { resolveUser } from "./user";
export type * from "./types";
