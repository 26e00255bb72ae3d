// What an action run does before it is placed: check its spec, and say what it waits for.
import { setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { checkActionSpec, type Action } from '../spec/action.js';
import { waitingFor } from '../spec/placement.js';
import { phaseAfter } from '../spec/result.js';
import { ActionImageKey, ActionSourceKey, ActionStatusKey, ActionTemplateKey } from '../spec/search-attributes.js';
import type { RunActionInput } from '../spec/workflow-api.js';
import { invalidSpec } from './failures.js';
import type { RunState } from './run-state.js';

/** The run's spec, checked: a spec it refuses ends the run FAILED before anything ran. */
export function checkedSpec(input: RunActionInput, state: RunState): Action {
  const parsed = checkActionSpec(input?.spec);
  if (!parsed.success) {
    state.phase = phaseAfter(state.phase, { kind: 'ended', status: 'FAILED' });
    upsertSearchAttributes([{ key: ActionStatusKey, value: 'FAILED' }]);
    throw invalidSpec(parsed.error);
  }
  return parsed.data;
}

/** PENDING, waiting for a host that fits the spec; and the search attributes a starter left out. */
export function showPending(spec: Action, state: RunState): void {
  state.waitingFor = waitingFor(spec);
  setCurrentDetails(`**PENDING**: waiting for ${state.waitingFor}`);
  // The client sets these at start; a start from elsewhere (the CLI of Temporal, a schedule) may not.
  const { typedSearchAttributes } = workflowInfo();
  const missing: SearchAttributeUpdatePair[] = [];
  if (typedSearchAttributes.get(ActionImageKey) === undefined) missing.push({ key: ActionImageKey, value: spec.image });
  if (spec.source && typedSearchAttributes.get(ActionSourceKey) === undefined)
    missing.push({ key: ActionSourceKey, value: spec.source });
  if (spec.template && typedSearchAttributes.get(ActionTemplateKey) === undefined)
    missing.push({ key: ActionTemplateKey, value: spec.template });
  if (typedSearchAttributes.get(ActionStatusKey) !== 'PENDING')
    missing.push({ key: ActionStatusKey, value: 'PENDING' });
  if (missing.length) upsertSearchAttributes(missing);
}
