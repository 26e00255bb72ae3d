// The attempts of an action on the host it was placed on: one host activity each, until the host
// answers with the run's result instead of asking for another attempt (the spec's retry policy).
import { log } from '@temporalio/workflow';
import type { ExecuteAnswer, ExecuteRequest } from '../activities/types.js';
import type { RunContext, RunState } from './run-state.js';
import { runStoppingOnCancel } from './stop-on-cancel.js';

export async function runAttempts(run: RunContext, state: RunState): Promise<void> {
  for (state.attempt = 1; ; state.attempt++) {
    const answer = await executeOnce(run, state);
    if (!answer.again) {
      state.hostResult = answer.result;
      return;
    }
    state.outcome = answer.outcome;
    state.digest = answer.digest;
    state.logTail = answer.outcome.logTail;
    state.timings.push(...answer.timings);
    log.info('running the action again', {
      attempt: state.attempt,
      reason: answer.outcome.reason,
      exitCode: answer.outcome.exitCode,
    });
  }
}

/** One attempt; a cancel asks the host to stop the container, and the attempt then reports its end. */
function executeOnce(run: RunContext, state: RunState): Promise<ExecuteAnswer> {
  const request: ExecuteRequest = {
    actionId: run.actionId,
    runId: run.runId,
    attempt: state.attempt,
    spec: run.carried,
    ...(run.elided ? { specElided: true as const } : {}),
    stopGraceSeconds: run.fleet.stopGraceSeconds,
    ...(state.placement?.gpus ? { gpuIds: state.placement.gpus } : {}),
    ...(run.input.member ? { member: run.input.member } : {}),
    ...(run.input.replica ? { replica: run.input.replica } : {}),
    canceled: state.canceled,
    startedAt: run.startedAt.toISOString(),
    timings: [...state.timings],
  };
  const host = state.host!;
  return runStoppingOnCancel(
    () => host.execute(request),
    () => host.stopContainer(request),
    () => (state.canceled = true),
  );
}
