// How the action workflow reads an activity's failure: a host that went silent (place the action
// elsewhere), or a failure that ends the action at once with a reason of its own.
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  TimeoutFailure,
  upsertMemo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import { formatProblems, specProblems } from '../spec/action.js';
import type { ActionResult, EndReason } from '../spec/result.js';
import { FailureType, FINAL_REASONS } from '../spec/failures.js';

/**
 * A host went silent (a step never started there, or stopped heartbeating) or its container engine
 * stayed away: place the action elsewhere.
 */
export function hostLost(err: unknown): boolean {
  if (!(err instanceof ActivityFailure)) return false;
  const cause = err.cause;
  if (cause instanceof ApplicationFailure) return cause.type === FailureType.EngineUnavailable;
  return (
    cause instanceof TimeoutFailure && (cause.timeoutType === 'SCHEDULE_TO_START' || cause.timeoutType === 'HEARTBEAT')
  );
}

export function finalReason(err: unknown): { reason: EndReason; message: string } | undefined {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    const reason = err.cause.type ? FINAL_REASONS[err.cause.type as FailureType] : undefined;
    if (reason) return { reason, message: err.cause.message };
  }
  return undefined;
}

/** The words of a failure that ends the action: the activity's own error, not "Activity task failed". */
export function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) {
    const { activityType } = err;
    return `${activityType ? `${activityType}: ` : ''}${err.cause.message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/** A spec the workflow refuses: nothing has run, every problem is listed, and retrying would not help. */
export function invalidSpec(error: z.ZodError): ApplicationFailure {
  const problems = specProblems(error);
  return ApplicationFailure.create({
    type: FailureType.InvalidSpec,
    nonRetryable: true,
    message: `invalid action spec:\n${formatProblems(problems)}`,
    details: [{ problems }],
  });
}

/** Ends the execution as the result says: completed for DONE, failed or cancelled with the result attached. */
export function endWith(result: ActionResult): ActionResult {
  if (result.status === 'CANCELED') {
    // A cancelled execution carries no details: the memo keeps the result reachable from the UI and clients.
    upsertMemo({ result });
    throw new CancelledFailure(result.message, [result]);
  }
  if (result.status === 'FAILED') {
    // Failing the execution makes the Temporal UI show it as failed; the whole result rides along.
    throw ApplicationFailure.create({
      type: FailureType.ActionFailed,
      nonRetryable: true,
      message: result.message,
      details: [result],
    });
  }
  return result;
}
