// Asking a run's container to stop, from a cancel: its watch then reads the end as canceled, and a
// container not started yet is never started.
import type { ContainerRequest } from '../types.js';
import { boundedStopGrace } from '../../spec/workflow-api.js';
import { containerName, memberContainerName } from './labels.js';
import { extraMembers } from '../../spec/containers.js';
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
  const name = containerName(req, req.attempt, deps.host);
  // A pod's other containers too: an init container running now would otherwise hold the run up.
  const names = [name, ...extraMembers(req.spec).map((m) => memberContainerName(name, m.name))];
  await Promise.all(
    names.map(async (one) => {
      try {
        await engine.container(one).stop({ t: boundedStopGrace(req.stopGraceSeconds) });
      } catch (err) {
        if (status(err) !== 304 && status(err) !== 404) throw err;
      }
    }),
  );
}
