// What a failed execute throws: an engine that went away is waited for (the retry re-attaches) or,
// past the worker's bound, the action is placed on another host; a missing bucket is named as such.
import { artifactsUnavailable } from '../store/artifact-store.js';
import { engineGone, engineUnavailable } from '../container/engine-watch.js';
import type { ExecuteContext } from './context.js';

export async function executeFailure(ctx: ExecuteContext, err: unknown): Promise<unknown> {
  const { deps, req, activity } = ctx;
  // An image the host no longer has is pulled again by the retry.
  deps.images.forget(req.spec.image, err);
  // The engine went away: the retry comes once it answers again (and re-attaches), or the action
  // is placed on another host when it stays away.
  if (engineGone(err)) {
    const back = await deps.run.engine.answering(deps.run.engineAwayMs, activity.cancellationSignal);
    if (back || activity.cancellationSignal.aborted) return err;
    // Placed elsewhere now: this host holds nothing for it (a drain must not wait for it).
    deps.capacity.release(req.runId);
    return engineUnavailable(deps.host, deps.run.engineAwayMs);
  }
  return artifactsUnavailable(ctx.store.bucket, err) ?? err;
}
