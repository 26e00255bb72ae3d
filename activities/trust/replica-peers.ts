// What a gang replica's start says of the gang, checked on the host before anything runs. The
// start is any namespace user's to write (a runAction started by hand can carry any `replica`),
// and its peers decide where this host relays traffic to and which port it publishes, so a peer
// is taken only as a host of this fleet registered it: this host's own address, or the address a
// live fleet host reports, each port inside that host's gang range.
import type { HostRecord } from '../../common/storage/fleet-registry.js';
import type { Action } from '../../spec/action.js';
import type { GangMember } from '../../spec/gang.js';
import { refusedByHost } from './refused.js';

/** This host as a replica's peers must name it. */
export interface PeerSelf {
  host: string;
  address?: string;
  gangPorts: readonly [number, number];
}

const inRange = (port: number, range: readonly [number, number] | undefined) =>
  range !== undefined && port >= range[0] && port <= range[1];

/**
 * Refuses the replica unless its count is the spec's replicas, its own peer is this host, and
 * every peer is a registered host's address and gang port. `liveFleet` is read only when some peer
 * is on another host.
 */
export async function checkReplicaPeers(
  self: PeerSelf,
  replica: GangMember,
  spec: Action,
  liveFleet: () => Promise<HostRecord[]>,
): Promise<void> {
  const refuse = (field: string, why: string) => refusedByHost(self.host, field, why);
  if (spec.replicas !== replica.count)
    throw refuse('replica.count', `${replica.count} is not the spec's replicas (${spec.replicas ?? 1})`);
  const { peers } = replica;
  const own = peers[replica.index];
  if (!own) throw refuse('replica.peers', `rank ${replica.index} is not among the peers`);
  if (own.host !== self.host)
    throw refuse('replica.peers', `rank ${replica.index} is placed on host ${own.host}, not on this host`);
  // Without the gang's network the peers are only words in the replica's env: this host relays
  // nothing and publishes nothing for them.
  if (spec.network !== 'gang') return;
  const seen = new Set<string>();
  const remote = peers.some((p) => p.host !== self.host);
  const fleet = remote ? new Map((await liveFleet()).map((h) => [h.host, h])) : new Map<string, HostRecord>();
  for (const p of peers) {
    const at = `${p.address}:${p.port}`;
    if (seen.has(at)) throw refuse(`replica.peers.${p.rank}`, `${at} is given to two ranks`);
    seen.add(at);
    if (p.host === self.host) {
      if (!self.address)
        throw refuse(
          `replica.peers.${p.rank}`,
          'this host has no CAISSON_HOST_ADDRESS: it runs no replica whose peers reach it',
        );
      if (p.address !== self.address)
        throw refuse(`replica.peers.${p.rank}.address`, `${p.address} is not this host's address (${self.address})`);
      if (!inRange(p.port, self.gangPorts))
        throw refuse(`replica.peers.${p.rank}.port`, `${p.port} is outside this host's gang ports`);
      continue;
    }
    const record = fleet.get(p.host);
    if (!record?.address || record.address !== p.address)
      throw refuse(
        `replica.peers.${p.rank}.address`,
        `${p.address} is not the registered address of a live host ${p.host} of this fleet`,
      );
    if (!inRange(p.port, record.gangPorts))
      throw refuse(`replica.peers.${p.rank}.port`, `${p.port} is outside host ${p.host}'s gang ports`);
  }
}
