// The status and logs queries of an action workflow: both answer from the run's state.
import { setHandler } from '@temporalio/workflow';
import { logsQuery, statusQuery, type RunActionInput } from '../spec/workflow-api.js';
import { statusView, type RunState } from './run-state.js';

export function answerQueries(actionId: string, input: RunActionInput, state: RunState): void {
  // Read once: the query answers with the image asked for even when the spec is refused.
  const image = typeof input?.spec?.image === 'string' ? input.spec.image : '';
  setHandler(statusQuery, () => statusView(actionId, image, state));
  setHandler(logsQuery, () => state.logTail);
}
