// What the plugin reports of an action, read from Temporal alone: the workflow's description and
// search attributes, its status query while it runs (bounded: with no worker on the queue the
// search attribute answers), and its result once it ended. Nothing is kept in the plugin.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { ActionsClient, ActionResult, StatusView } from '../client/index.js';
import { ActionImageKey, ActionStatusKey } from '../spec/search-attributes.js';
import type { Phase } from '../spec/result.js';
import type { ActionState } from './container-status.js';

/** Phases of an action that has ended: only its result has the exit code and the times. */
const ENDED = new Set<Phase>(['DONE', 'FAILED', 'CANCELED']);

/** How long a status query may take before the search attribute's phase is used instead. */
const QUERY_WAIT_MS = 3000;

function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  return Promise.race([promise.catch(() => undefined), timeout]).finally(() => clearTimeout(timer));
}

/** The container's own start and end: the run step's timing, else the action's. */
function runTimes(timings: { step: string; startedAt: string; ms: number }[]): {
  startedAt?: string;
  finishedAt?: string;
} {
  const run = timings.find((t) => t.step === 'run');
  if (!run) return {};
  return { startedAt: run.startedAt, finishedAt: new Date(Date.parse(run.startedAt) + run.ms).toISOString() };
}

export async function actionState(client: ActionsClient, actionId: string): Promise<ActionState> {
  const workflow = client.client.workflow.getHandle(actionId);
  let description;
  try {
    description = await workflow.describe();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return { found: false };
    throw err;
  }
  const image = description.typedSearchAttributes.get(ActionImageKey);
  if (description.status.name === 'RUNNING') {
    const view: StatusView | undefined = await within(client.attach(actionId).status(), QUERY_WAIT_MS);
    if (!view) {
      const phase = (description.typedSearchAttributes.get(ActionStatusKey) ?? 'PENDING') as Phase;
      if (!ENDED.has(phase)) return { found: true, phase, image, startedAt: description.startTime.toISOString() };
    } else if (!ENDED.has(view.phase)) {
      return {
        found: true,
        phase: view.phase,
        image,
        attempts: view.attempt,
        startedAt: runTimes(view.timings).startedAt ?? description.startTime.toISOString(),
      };
    }
    // It ended between the description and the query: its result says how (exit code, times).
  }
  let result: ActionResult;
  try {
    result = await client.attach(actionId).result();
  } catch (err) {
    // Terminated, timed out or failed outside the action's own failure: ended all the same.
    const closed = description.closeTime?.toISOString();
    return {
      found: true,
      phase: 'FAILED',
      image,
      reason: description.status.name.toLowerCase(),
      message: (err as Error).message,
      finishedAt: closed,
    };
  }
  const times = runTimes(result.timings);
  return {
    found: true,
    phase: result.status,
    image: result.image,
    attempts: result.attempts,
    exitCode: result.exitCode,
    reason: result.reason,
    message: result.message,
    ...(result.containers ? { containers: result.containers } : {}),
    startedAt: times.startedAt ?? result.startedAt,
    finishedAt: times.finishedAt ?? result.finishedAt,
  };
}
