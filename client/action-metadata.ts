// What an action carries besides its spec's run, read back for status and list: its labels (the
// ActionLabels search attribute) and annotations (its memo), as spec/start-metadata.ts sets them.
import type { TypedSearchAttributes } from '@temporalio/common';
import { labelsFromPairs } from '../spec/labels.js';
import { ActionLabelsKey } from '../spec/search-attributes.js';

export interface ActionMetadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
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
