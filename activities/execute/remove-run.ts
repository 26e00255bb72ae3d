// Removing what a run left on the host once it has no use for it: every container of the run, with
// its volumes and disk, and what the worker kept of the run in memory.
import { runFilter } from '../container/labels.js';
import { removeContainer } from '../container/removal.js';
import { closeRunGang } from '../container/run-gang.js';
import type { RunDeps } from '../container/run-container.js';
import type { HostCapacity } from '../placement/capacity.js';
import type { ContainerRequest } from '../types.js';

/** Removes every container of the run (with its volumes and disk), then frees the run's slot. */
export async function removeRun(
  deps: { run: RunDeps; host: string; capacity: HostCapacity },
  req: ContainerRequest,
): Promise<void> {
  const containers = await deps.run.docker.listContainers({ all: true, filters: runFilter(req) }).catch(() => []);
  for (const c of containers) {
    // What fails here is left to reconcile, which removes containers of finished runs (and disks
    // without a container) at the worker's next start.
    await removeContainer(deps.run.docker, deps.run.disks, c).catch(() => {});
  }
  // No container of the run is left to be reached: its relays stop, its gang's network may go.
  await closeRunGang(deps.run, req).catch(() => {});
  deps.run.stopRequested.delete(req.runId);
  deps.run.engineLost.delete(req.runId);
  deps.capacity.release(req.runId);
}
