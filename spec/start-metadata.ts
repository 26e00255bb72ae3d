// What a start of an action sets besides its spec: the ActionLabels search attribute and the
// annotations memo. Shared by the client (actions and arrays it starts) and the array workflow (its
// children), so that an action is found by its labels however it was started.
import type { SearchAttributePair } from '@temporalio/common';
import type { Action } from './action.js';
import { labelPairs } from './labels.js';
import { ActionLabelsKey } from './search-attributes.js';

/** The ActionLabels attribute for a start, when the spec has labels (an empty list would only say nothing). */
export function labelAttributes(spec: Pick<Action, 'labels'>): SearchAttributePair[] {
  const pairs = labelPairs(spec.labels ?? {});
  return pairs.length ? [{ key: ActionLabelsKey, value: pairs }] : [];
}

/** The memo of a start: the annotations, when there are any. */
export function annotationsMemo(spec: Pick<Action, 'annotations'>): { memo?: Record<string, unknown> } {
  return spec.annotations && Object.keys(spec.annotations).length ? { memo: { annotations: spec.annotations } } : {};
}
