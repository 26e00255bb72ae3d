// Asking a run's container to stop, from a cancel: its watch then reads the end as canceled, and a
// container not started yet is never started.
import type { ContainerRequest } from '../types.js';
import { boundedStopGrace } from '../../spec/workflow-api.js';
import { containerName } from './labels.js';
import { status } from './engine-errors.js';
import type { ContainerEngine } from './engine.js';
import type { RunDeps } from './run-deps.js';

/** Asks the run's container to stop (SIGTERM, then SIGKILL after the grace period). */
export async function stopRunContainer(
  engine: ContainerEngine,
  deps: Pick<RunDeps, 'stopRequested' | 'host'>,
  req: ContainerRequest,
): Promise<void> {
  deps.stopRequested.add(req.runId);
  const container = engine.container(containerName(req, req.attempt, deps.host));
  try {
    await container.stop({ t: boundedStopGrace(req.stopGraceSeconds) });
  } catch (err) {
    if (status(err) !== 304 && status(err) !== 404) throw err;
  }
}
