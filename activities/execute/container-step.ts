// The container phase of an execute: the attempt's container run (or re-attached to) with its
// heartbeats carrying the container and the log's tail; an attempt the spec retries ends here.
import { runsAgain, type RunOutcome } from '../../spec/result.js';
import { collectEarlierAttemptLogs } from '../collect/collect.js';
import { runContainer } from '../container/run-container.js';
import type { InputObject } from '../inputs/inputs.js';
import type { ExecuteAnswer } from '../types.js';
import { timed, type ExecuteContext } from './context.js';
import type { ReadyImage } from './image.js';
import type { Lookups } from './lookups.js';
import { untraced } from './run-tracing.js';

export async function runAttempt(
  ctx: ExecuteContext,
  image: ReadyImage,
  lookups: Lookups,
  inputs: InputObject[],
): Promise<RunOutcome> {
  const { deps, activity, progress, timings, req } = ctx;
  progress.phase = 'RUNNING';
  const about = { actionId: req.actionId, attempt: req.attempt, image: req.spec.image };
  const run = () =>
    runContainer(deps.run, image.made, {
      heartbeat: (details) => {
        progress.containerId = details.containerId;
        progress.logTail = details.logTail;
        ctx.beat();
      },
      signal: activity.cancellationSignal,
      firstTry: activity.info.attempt === 1,
      log: lookups.log,
      secrets: lookups.secrets,
      inputs,
    });
  const outcome = await timed(ctx, 'run', () => (deps.containerRuns ?? untraced).traced(about, run));
  progress.logTail = outcome.logTail;
  // Staging happened inside the run step, before the container started: its own line, before run's.
  if (outcome.inputsTiming) timings.splice(timings.length - 1, 0, outcome.inputsTiming);
  return outcome;
}

/** The answer of an attempt the spec's retry policy runs again; undefined when none follows. */
export async function retryAnswer(
  ctx: ExecuteContext,
  outcome: RunOutcome,
  image: ReadyImage,
  lookups: Lookups,
): Promise<ExecuteAnswer | undefined> {
  const { deps, req } = ctx;
  if (req.canceled || outcome.reason === 'canceled' || !runsAgain(req.spec.retry, req.attempt, outcome)) return;
  // The attempt's live log ends (end.json) before the next attempt's begins.
  await (await lookups.log).ended();
  // The attempt's container stays until the run is removed: a retried execute of this attempt
  // re-attaches to it instead of running the attempt again. Its full logs are kept now.
  await collectEarlierAttemptLogs(
    { docker: deps.run.docker, host: deps.host, store: deps.store, redactor: lookups.redactor },
    { ...req, includeOut: false },
  );
  // What was staged is told in the last attempt's result; this answer goes into history.
  return {
    again: true,
    outcome: { ...outcome, inputs: undefined, inputsTiming: undefined },
    digest: image.digest,
    timings: ctx.timings,
  };
}
