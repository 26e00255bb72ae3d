// How a run takes what cut it short: a failure that ends it, a caller's cancel, its deadline.
import { isCancellation } from '@temporalio/workflow';
import { deadlineEnding } from '../spec/result.js';
import { failureMessage, finalReason } from './failures.js';
import type { RunContext, RunState } from './run-state.js';

/** A cancel is carried to the end (CANCELED); any other failure ends the run with its reason. */
export function takeFailure(state: RunState, err: unknown): void {
  if (isCancellation(err)) state.canceled = true;
  else state.ended = finalReason(err) ?? { reason: 'error', message: failureMessage(err) };
}

/**
 * The deadline cancelled the run, not a caller: it ends FAILED ("deadline"), unless its host
 * already wrote the result (restated at the finish).
 */
export function takeDeadline(run: RunContext, state: RunState): void {
  state.canceled = false;
  if (!state.hostResult) state.ended = deadlineEnding(state.outcome?.exitCode ?? null, run.spec.deadline!);
}
