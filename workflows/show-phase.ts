// Moving a run to its next phase, seen alike in the status query, the UI's current details and the
// status search attribute.
import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import { phaseAfter, type PhaseEvent } from '../spec/result.js';
import { ActionStatusKey } from '../spec/search-attributes.js';
import type { RunState } from './run-state.js';

export function enterPhase(
  state: RunState,
  event: PhaseEvent,
  details: string,
  extra: SearchAttributeUpdatePair[] = [],
): void {
  state.phase = phaseAfter(state.phase, event);
  setCurrentDetails(`**${state.phase}**: ${details}`);
  // One upsert per workflow task at most: each phase change gathers its attributes into one call.
  upsertSearchAttributes([{ key: ActionStatusKey, value: state.phase }, ...extra]);
}
