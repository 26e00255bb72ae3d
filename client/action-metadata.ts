// What an action carries besides its spec's run: its labels (the ActionLabels search attribute) and
// annotations (its memo), set when the client starts it and read back for status and list.
import type { SearchAttributePair, TypedSearchAttributes } from '@temporalio/common';
import type { Action } from '../spec/action.js';
import { labelPairs, labelsFromPairs } from '../spec/labels.js';
import { ActionLabelsKey } from '../spec/search-attributes.js';

export interface ActionMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** The ActionLabels attribute for a start, when the spec has labels (an empty list would only say nothing). */
export function labelAttributes(spec: Pick<Action, 'labels'>): SearchAttributePair[] {
  const pairs = labelPairs(spec.labels ?? {});
  return pairs.length ? [{ key: ActionLabelsKey, value: pairs }] : [];
}

/** The memo of a start: the annotations, when there are any. */
export function annotationsMemo(spec: Pick<Action, 'annotations'>): { memo?: Record<string, unknown> } {
  return spec.annotations && Object.keys(spec.annotations).length ? { memo: { annotations: spec.annotations } } : {};
}

/** The labels of a listed or described action, when it has any. */
export function labelsOf(attributes: TypedSearchAttributes): Pick<ActionMetadata, 'labels'> {
  const pairs = attributes.get(ActionLabelsKey);
  return pairs?.length ? { labels: labelsFromPairs(pairs) } : {};
}

/** Labels from the search attributes, annotations from the memo: each only when the action has them. */
export function metadataOf(description: {
  typedSearchAttributes: TypedSearchAttributes;
  memo?: Record<string, unknown>;
}): ActionMetadata {
  const annotations = description.memo?.annotations;
  return {
    ...labelsOf(description.typedSearchAttributes),
    ...(annotations && typeof annotations === 'object' ? { annotations: annotations as Record<string, string> } : {}),
  };
}
