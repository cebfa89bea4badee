// The Kubernetes version tsk speaks. kubectl's dispatcher picks the kubectl binary whose
// minor matches the server's, so this decides which kubectl our users get.
export const KUBE_VERSION = "v1.32.2";
export const TSK_VERSION = "v0.1.0";
export const GIT_VERSION = `${KUBE_VERSION}+tsk`;
