// The execute guard: an execute runs only for a run that holds its place on this host. An honest
// run was placed here by `place` (or, after a worker restart, its container is on this engine); a
// request that skipped placement is placed now, under the same rules, so no caller gets more than
// a free slot.
import type Docker from 'dockerode';
import type { Needs } from '../../spec/placement.js';
import { runFilter } from '../container/labels.js';
import type { ContainerRequest } from '../types.js';
import type { HostCapacity } from './capacity.js';
import { unplacedExecute } from './placement-decision.js';

export async function holdPlaceHere(
  here: { docker: Docker; capacity: HostCapacity; host: string },
  req: ContainerRequest,
  needs: Needs,
): Promise<void> {
  const { docker, capacity, host } = here;
  if (capacity.has(req.runId)) return;
  const containers = await docker.listContainers({ all: true, filters: runFilter(req) });
  if (containers.length) return capacity.claim(req.runId);
  const refused = unplacedExecute(host, capacity.place(req.runId, needs, req.actionId));
  if (refused) throw refused;
}
