// A gang replica's network as the container phases see it: with network "gang", its gang's network
// on this host and its relays, made before its container (whose address is fixed) and made again
// by a later try that finds the container; given back when the run is removed.
import type { ContainerRequest } from '../types.js';
import type { GangAttachment } from '../gang/gang-host.js';
import { refusedByHost } from '../trust/refused.js';
import type { RunDeps } from './run-deps.js';

/** The replica's place on its gang's network, or none (not a replica, or not on network "gang"). */
export async function openRunGang(
  deps: Pick<RunDeps, 'gang' | 'host'>,
  req: ContainerRequest,
): Promise<GangAttachment | undefined> {
  const replica = req.replica;
  if (req.spec.network !== 'gang') return undefined;
  if (!replica)
    throw refusedByHost(deps.host, 'network', '"gang" is the network of a gang\'s replicas, and this run is none');
  if (!deps.gang)
    throw refusedByHost(
      deps.host,
      'network',
      '"gang" needs an address its peers reach, and this host has none (the worker is started without CAISSON_HOST_ADDRESS)',
    );
  if (replica.peers.length !== replica.count || replica.peers[replica.index]?.host !== deps.host)
    throw refusedByHost(deps.host, 'replica.peers', `the gang's peers do not place rank ${replica.index} on this host`);
  return deps.gang.attach(req.runId, replica, deps.host);
}

/** The run is removed: its relays stop and its gang's network goes once no container is left on it. */
export const closeRunGang = (deps: Pick<RunDeps, 'gang'>, req: ContainerRequest): Promise<void> =>
  (req.spec.network === 'gang' && deps.gang?.detach(req.runId, req.replica)) || Promise.resolve();
