// Starting an action workflow the way the client does, and reading how it ended, for the workflow
// tests (test/workflow): on a stub fleet's queue, a fresh id each time.
import type { WorkflowHandle } from '@temporalio/client';
import type { SearchAttributePair } from '@temporalio/common';
import { settledResult } from '../../client/settled-result.js';
import { FailureType } from '../../spec/failures.js';
import type { ActionResult } from '../../spec/result.js';
import { WORKFLOW_TYPE, type FleetOptions } from '../../spec/workflow-api.js';
import type { StubFleet } from './stub-fleet.js';

let started = 0;

/** Starts an action of busybox with `spec` over it; `searchAttributes` as its starter sets them. */
export function startAction(
  fleet: StubFleet,
  spec: Record<string, unknown> = {},
  options: FleetOptions = {},
  searchAttributes: SearchAttributePair[] = [],
): Promise<WorkflowHandle> {
  return fleet.env.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: fleet.taskQueue,
    workflowId: `action-${process.pid}-${++started}`,
    args: [{ spec: { image: 'busybox:1', ...spec } }, options],
    typedSearchAttributes: searchAttributes,
  });
}

/** The action's result, whether it ended DONE, FAILED or CANCELED. */
export const resultOf = (handle: WorkflowHandle) => settledResult<ActionResult>(handle, FailureType.ActionFailed);
