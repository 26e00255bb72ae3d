// How a caller reads what an action or array workflow ended with, whatever the outcome: DONE is the
// workflow's result, FAILED the first detail of its failure, CANCELED the result kept in its memo.
import { ApplicationFailure, CancelledFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { InvalidSpecError, type SpecProblem } from '../spec/action.js';
import { FailureType } from '../spec/failures.js';

/** `failedType`: the failure type the workflow ends FAILED with (ActionFailed, ArrayFailed). */
export async function settledResult<T>(workflow: WorkflowHandle, failedType: string): Promise<T> {
  try {
    return (await workflow.result()) as T;
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === failedType) return cause.details?.[0] as T;
    if (cause instanceof ApplicationFailure && cause.type === FailureType.InvalidSpec)
      throw new InvalidSpecError((cause.details?.[0] as { problems: SpecProblem[] }).problems);
    if (cause instanceof CancelledFailure) {
      const { memo } = await workflow.describe();
      if (memo?.result) return memo.result as T;
    }
    throw err;
  }
}
