// The gate of an execute: a retried try whose earlier try finished (its container removed, its
// result stored) returns that result; an action folder that holds another run's result is refused.
import type { ApplicationFailure } from '@temporalio/activity';
import type { ActionResult } from '../../spec/result.js';
import type { ArtifactStore } from '../store/artifact-store.js';
import { refusedByHost } from '../trust/refused.js';
import { containerName } from '../container/labels.js';
import { dockerEngine } from '../container/docker-engine.js';
import type { ExecuteContext } from './context.js';

/** The result an earlier try of this very run stored, when its containers are gone. */
export async function finishedEarlier(ctx: ExecuteContext): Promise<ActionResult | undefined> {
  const { deps, req } = ctx;
  const exists = await dockerEngine(deps.run.docker)
    .container(containerName(req, req.attempt, deps.host))
    .inspect()
    .then(() => true)
    .catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return false;
      throw err;
    });
  if (exists) return undefined;
  const stored = await ctx.store.getJson<ActionResult>(ctx.resultKey);
  return stored?.runId === req.runId ? stored : undefined;
}

/** The run whose result.json the folder holds, when it is another run than `runId`. */
export async function folderOwner(store: ArtifactStore, resultKey: string, runId: string): Promise<string | undefined> {
  const stored = await store.getJson<{ runId?: unknown }>(resultKey);
  if (!stored) return undefined;
  return stored.runId === runId ? undefined : typeof stored.runId === 'string' ? stored.runId : 'another run';
}

export function folderTaken(host: string, actionId: string, earlierRun: string): ApplicationFailure {
  return refusedByHost(
    host,
    'actionId',
    `action ${actionId} already has the result of run ${earlierRun}; an action id names one run: start this one under a new id`,
  );
}
