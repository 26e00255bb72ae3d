// The spec's deadline: it cancels the run's own scope (not the workflow), so what runs is stopped
// and collected as for a cancel; the action then ends FAILED with reason "deadline".
import { CancellationScope, sleep } from '@temporalio/workflow';
import type { RunContext, RunState } from './run-state.js';

/** Runs the job, cancelled when the deadline passes first (state.deadlinePassed then says so). */
export async function underDeadline(run: RunContext, state: RunState, job: () => Promise<void>): Promise<void> {
  const { deadline } = run.spec;
  if (deadline === undefined) return await job();
  const scope = new CancellationScope();
  let jobDone = false;
  sleep(Math.max(0, run.startedAt.getTime() + deadline - Date.now()))
    .then(() => {
      if (jobDone) return;
      state.deadlinePassed = true;
      scope.cancel();
    })
    .catch(() => {}); // cancelled with the workflow: the cancel is handled by the caller
  try {
    await scope.run(job);
  } finally {
    jobDone = true;
  }
}
