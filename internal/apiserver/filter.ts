// Label and field selectors of list and watch requests, compiled once per request.
import type { ResourceInfo } from "../api/resources";
import { fieldsOf, matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from "../api/selectors";
import type { KObject } from "./objects";

export interface ListFilter {
  labelSelector?: string;
  fieldSelector?: string;
}

/** A predicate for the request's selectors, or undefined when it has none. Throws BadRequest on bad syntax. */
export function compileFilter(info: ResourceInfo, f: ListFilter): ((obj: KObject) => boolean) | undefined {
  const labels = f.labelSelector ? parseLabelSelector(f.labelSelector) : undefined;
  const fields = f.fieldSelector ? parseFieldSelector(f.fieldSelector, info) : undefined;
  if (!labels && !fields) return undefined;
  return (obj) =>
    (!labels || matchLabels(labels, obj.metadata?.labels ?? {})) &&
    (!fields || matchFields(fields, fieldsOf(info, obj)));
}
