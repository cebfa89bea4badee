// Label and field selectors: parsing with upstream's grammar and messages, matching, and the
// string forms tables and Scale objects show. Imports: ../resources (types) and kubernetes-types.

export { SelectorError, type SelectorErrorCode } from "./errors";
export {
  escapeFieldValue,
  type FieldRequirement,
  type FieldSelector,
  fieldSelectorString,
  fieldsOf,
  matchFields,
  parseFieldSelector,
  requiredFieldValue,
  supportedFields,
  validateFieldSelector,
} from "./fields";
export {
  everything,
  formatLabelSelector,
  formatLabels,
  isEverything,
  type LabelOperator,
  type LabelRequirement,
  type LabelSelector,
  type LabelSelectorObject,
  type Labels,
  labelSelectorObjectString,
  labelSelectorString,
  matchLabels,
  matchRequirement,
  parseLabelSelector,
  selectorFromLabelSelectorObject,
} from "./labels";
