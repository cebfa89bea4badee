// Who is asking and how: carried from authentication through admission to storage.

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

export type FieldValidation = "Strict" | "Warn" | "Ignore";

export interface RequestContext {
  user: UserInfo;
  /** dryRun=All: run every step, store nothing. */
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  /** The request body as sent, for checks JSON.parse cannot make (duplicate fields). */
  rawBody?: string;
  /** Warnings for the client (sent as `Warning: 299 - "..."` headers). */
  warnings: string[];
}

export const SYSTEM_USER: UserInfo = {
  username: "system:apiserver",
  groups: ["system:masters", "system:authenticated"],
};

export function systemContext(): RequestContext {
  return { user: SYSTEM_USER, warnings: [] };
}
