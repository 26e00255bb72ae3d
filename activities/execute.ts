// One durable host activity per attempt: image → container (created, or re-attached by its
// deterministic name) → wait → collect /out and logs → result.json. Its heartbeats say which phase
// it is in. The run's containers are removed after it has returned, so every crash point is safe:
//   - container there: re-attach (wait returns at once for one that has ended) and collect again;
//   - container gone and result.json of this run stored: the earlier try finished; return that;
//   - container gone and no result.json: it was never created; create it.
// Reconcile removes whatever a crash leaves behind.
//
// Each phase is a module of execute/, handed one context record (execute/context.ts): gate,
// image, inputs (lookups), container, collect, result.
import { Context } from '@temporalio/activity';
import type { ExecuteAnswer, ExecuteRequest } from './types.js';
import { openContext, type ExecuteDeps } from './execute/context.js';
import { finishedEarlier } from './execute/gate.js';
import { settleLookups, startLookups } from './execute/lookups.js';
import { readyImage } from './execute/image.js';
import { retryAnswer, runAttempt } from './execute/container-step.js';
import { collectRun } from './execute/collect-step.js';
import { scheduleRemoval, storeResult } from './execute/result.js';
import { executeFailure } from './execute/failure.js';

export type { ExecuteDeps } from './execute/context.js';
export { folderOwner, folderTaken } from './execute/gate.js';
export { removeRun } from './execute/remove-run.js';

export async function execute(deps: ExecuteDeps, req: ExecuteRequest): Promise<ExecuteAnswer> {
  const { ctx, stop } = openContext(deps, req, Context.current());
  try {
    ctx.beat();
    if (ctx.activity.info.attempt > 1) {
      const finished = await finishedEarlier(ctx);
      if (finished) {
        // Nothing of the run is left here: the slot this try was given goes back at once.
        deps.capacity.release(req.runId);
        return { again: false, result: finished };
      }
    }
    const lookups = await startLookups(ctx);
    const image = await readyImage(ctx);
    const inputs = await settleLookups(ctx, lookups);
    const outcome = await runAttempt(ctx, image, lookups, inputs);
    const again = await retryAnswer(ctx, outcome, image, lookups);
    if (again) return again;
    const collected = await collectRun(ctx, outcome, lookups);
    const result = await storeResult(ctx, outcome, collected, image, lookups);
    scheduleRemoval(ctx);
    return { again: false, result };
  } catch (err) {
    throw await executeFailure(ctx, err);
  } finally {
    stop();
  }
}
