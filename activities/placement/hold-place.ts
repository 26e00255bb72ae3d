// The execute guard: an execute runs only for a run that holds its place on this host. An honest
// run was placed here by `place` (or, after a worker restart, its container is on this engine); a
// request that skipped placement is placed now, under the same rules, so no caller gets more than
// a free slot. A gang's replica holds the place its gang's run reserved for it (spec/gang.ts):
// only a child of that very run takes it over, and the replica's run then holds the port its
// peers were told; a replica whose reservation is gone is placed now only on that same port.
import type Docker from 'dockerode';
import type { GangMember } from '../../spec/gang.js';
import { gangReservation } from '../../spec/gang.js';
import type { Needs } from '../../spec/placement.js';
import { runFilter } from '../container/labels.js';
import { refusedByHost } from '../trust/refused.js';
import type { ContainerRequest } from '../types.js';
import type { HostCapacity } from './capacity.js';
import { unplacedExecute } from './placement-decision.js';

export async function holdPlaceHere(
  here: { docker: Docker; capacity: HostCapacity; host: string },
  req: ContainerRequest,
  needs: Needs,
  /** The run id of the workflow that started this run as its child, from its start event. */
  parentRunId?: string,
): Promise<void> {
  const { docker, capacity, host } = here;
  const replica = req.replica;
  const port = replica?.peers[replica.index]?.port;
  if (capacity.has(req.runId)) {
    // A replica found running when this worker started holds its slot (seeded from the engine)
    // but no port yet: it holds the one its peers were told, when no other run holds it.
    if (port !== undefined && capacity.portOf(req.runId) === undefined && capacity.portFree(port))
      capacity.claim(req.runId, port);
    return ownPortHeld(here, req.runId, replica, port, false);
  }
  const containers = await docker.listContainers({ all: true, filters: runFilter(req) });
  if (containers.length) {
    capacity.claim(req.runId, port);
    return ownPortHeld(here, req.runId, replica, port, false);
  }
  if (replica) {
    const reservation = gangReservation(replica.gangRunId, replica.index);
    if (parentRunId === replica.gangRunId && capacity.transfer(reservation, req.runId, req.actionId))
      return ownPortHeld(here, req.runId, replica, port, true);
    if (port !== undefined && !capacity.portFree(port)) {
      throw refusedByHost(
        host,
        'replica',
        `replica ${replica.index} of gang run ${replica.gangRunId} holds no reservation on host ${host} (a child of that run takes it over; it may have expired), and its port ${port} is not free here to place it again`,
      );
    }
  }
  const refused = unplacedExecute(
    host,
    capacity.place(req.runId, needs, req.actionId, replica ? (port ?? 'any') : undefined),
  );
  if (refused) throw refused;
  if (replica) ownPortHeld(here, req.runId, replica, port, true);
}

/**
 * A replica's own peer entry names the port its run holds here: what its peers were told is what
 * this host publishes for it. When the place was taken by this call it is given back on refusal.
 */
function ownPortHeld(
  here: { capacity: HostCapacity; host: string },
  runId: string,
  replica: GangMember | undefined,
  port: number | undefined,
  takenNow: boolean,
): void {
  if (!replica || port === undefined) return;
  const held = here.capacity.portOf(runId);
  if (held === port) return;
  if (takenNow) here.capacity.release(runId);
  throw refusedByHost(
    here.host,
    'replica.peers',
    `replica ${replica.index} is told port ${port}, but its run holds ${held ?? 'no port'} on host ${here.host}`,
  );
}
