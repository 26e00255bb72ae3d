// The result phase of an execute: result.json assembled from the outcome and what was collected,
// stored in the action's folder and counted in the metrics; the run's containers then go.
import { assembleResult, type ActionResult, type RunOutcome } from '../../spec/result.js';
import { formatDuration } from '../../spec/quantity.js';
import { logKeys } from '../collect/collect.js';
import type { ExecuteContext } from './context.js';
import type { Collected } from './collect-step.js';
import type { ReadyImage } from './image.js';
import type { Lookups } from './lookups.js';
import { removeRun } from './remove-run.js';

export async function storeResult(
  ctx: ExecuteContext,
  outcome: RunOutcome,
  collected: Collected,
  image: ReadyImage,
  lookups: Lookups,
): Promise<ActionResult> {
  const { deps, req, store } = ctx;
  const result = assembleResult({
    actionId: req.actionId,
    runId: req.runId,
    image: req.spec.image,
    timeoutText: formatDuration(req.spec.timeout),
    imageDigest: image.digest,
    host: deps.host,
    attempts: req.attempt,
    outcome,
    collected,
    canceled: req.canceled || outcome.reason === 'canceled',
    timings: [...req.timings, ...ctx.timings],
    startedAt: req.startedAt,
    finishedAt: new Date().toISOString(),
  });
  // The live log stopped at logSize: what followers saw ends there, and the stored logs hold the newest logSize.
  if (result.logs && (await lookups.log).cut) result.logs.truncated = true;
  if (result.logs && req.attempt > 1) {
    result.logs.earlier = Array.from({ length: req.attempt - 1 }, (_, i) => {
      const keys = logKeys(ctx.folder, i + 1);
      return { attempt: i + 1, stdout: store.uri(keys.stdout), stderr: store.uri(keys.stderr) };
    });
  }
  if (req.gpuIds?.length) result.gpus = req.gpuIds;
  result.resultUri = store.uri(ctx.resultKey);
  result.liveLogs = ctx.progress.liveLogs;
  await store.put(ctx.resultKey, JSON.stringify(result, null, 2), 'application/json');
  deps.metrics?.bytesUploaded.add(collected.totals.bytes + collected.logs.bytes, { host: deps.host });
  deps.metrics?.finished.add(1, { status: result.status, reason: result.reason });
  for (const t of result.timings) deps.metrics?.stepSeconds.record(t.ms / 1000, { step: t.step });
  return result;
}

/**
 * After the result is stored nothing of the run is needed on the host any more: its containers and
 * disk go in the background. The slot was freed at the container's stop; releasing again restarts
 * the window in which a reconcile does not count the run's leftover containers as holding one.
 */
export function scheduleRemoval(ctx: ExecuteContext): void {
  const { deps, req } = ctx;
  deps.capacity.release(req.runId);
  const removal = new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => removeRun(deps, req))
    .finally(() => deps.removals.delete(removal));
  deps.removals.add(removal);
}
