// Selector errors carry a stable code that the API server maps to a Kubernetes Status in one
// place; the message is upstream's, so kubectl prints what a real cluster prints.

export type SelectorErrorCode = "BadRequest";

export class SelectorError extends Error {
  readonly code: SelectorErrorCode = "BadRequest";
  constructor(message: string) {
    super(message);
    this.name = "SelectorError";
  }
}
