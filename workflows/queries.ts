// The status and logs queries of an action workflow: what they answer, kept by the workflow.
import { setHandler } from '@temporalio/workflow';
import type { StepTiming } from '../spec/result.js';
import { logsQuery, statusQuery, type RunActionInput, type StatusView } from '../spec/workflow-api.js';

export function answerQueries(actionId: string, input: RunActionInput, timings: StepTiming[]) {
  const view: StatusView = {
    actionId,
    phase: 'PENDING',
    image: typeof input?.spec?.image === 'string' ? input.spec.image : '',
    attempt: 0,
    placements: 0,
    timings,
  };
  let logTail: string[] = [];
  setHandler(statusQuery, () => view);
  setHandler(logsQuery, () => logTail);
  return { view, showLogTail: (lines: string[]) => void (logTail = lines) };
}
