// Authorization: who may do what. Cluster admins (system:masters) may do anything;
// nodes are restricted to what their own pods need (see node rules); everyone else
// is refused, as on a cluster with RBAC and no bindings.
import type { UserInfo } from "./context";
import type { Authorizer, RequestAttributes } from "./handler";

export type NodeRule = (node: string, attrs: RequestAttributes) => boolean;

export class DefaultAuthorizer implements Authorizer {
  constructor(private readonly nodeRule?: NodeRule) {}

  authorize(user: UserInfo, attrs: RequestAttributes): { allowed: boolean; reason?: string } {
    if (user.groups.includes("system:masters")) return { allowed: true };
    if (user.groups.includes("system:nodes") && user.username.startsWith("system:node:") && this.nodeRule) {
      return { allowed: this.nodeRule(user.username.slice("system:node:".length), attrs) };
    }
    return { allowed: false };
  }
}
