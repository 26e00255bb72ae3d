// A host's part in gangs whose replicas share network "gang": the gang's network on this host and
// the relays to and from the other hosts, for each replica's run from its container's creation
// until the run is removed. The worker makes one where it has an address its peers reach
// (CAISSON_HOST_ADDRESS); without one no replica joins a gang network here.
import type Docker from 'dockerode';
import type { GangMember } from '../../spec/gang.js';
import type { Owner } from '../container/labels.js';
import { GangNetworks } from './gang-network.js';
import { GangRelays, type RelayLog, type RelayPlan } from './relays.js';
import { rankAddress } from './replica-env.js';

/** Where a replica's container joins: its gang's network, at its fixed address. */
export interface GangAttachment {
  network: string;
  ipv4: string;
  /** The network's first address: the view the replica's environment describes. */
  base: string;
}

/** What the relays of replica `replica` on host `host` are, on a network whose subnet starts at `base`. */
export function relayPlan(replica: GangMember, host: string, address: string, base: string, bridge: string): RelayPlan {
  const own = replica.peers[replica.index]!;
  return {
    inbound: {
      listen: { host: address, port: own.port },
      target: { host: rankAddress(base, replica.index), port: own.port },
      // Only this gang's other hosts come in: the published port is no door for anyone else.
      from: [...new Set(replica.peers.filter((p) => p.host !== host).map((p) => p.address))],
    },
    // Peers on this host are containers on the same network: nothing to relay.
    remotes: replica.peers
      .filter((p) => p.host !== host)
      .map((p) => ({
        bridge,
        listen: { host: rankAddress(base, p.rank), port: p.port },
        target: { host: p.address, port: p.port },
      })),
  };
}

export class GangHost {
  /** The gang each run of this worker joined, for its removal. */
  private readonly joined = new Map<string, Pick<GangMember, 'gangRunId' | 'attempt'>>();

  constructor(
    /** This host's address, as its peers reach it (CAISSON_HOST_ADDRESS). */
    readonly address: string,
    readonly networks: GangNetworks,
    readonly relays: GangRelays,
  ) {}

  /** Run `runId` of replica `replica` on host `host`: its network made or found, its relays running. */
  async attach(runId: string, replica: GangMember, host: string): Promise<GangAttachment> {
    this.joined.set(runId, { gangRunId: replica.gangRunId, attempt: replica.attempt });
    const network = await this.networks.acquire(replica, runId);
    await this.relays.open(runId, relayPlan(replica, host, this.address, network.base, network.bridge));
    return { network: network.name, ipv4: rankAddress(network.base, replica.index), base: network.base };
  }

  /** Run `runId` is removed: its relays stop, and its gang's network goes once no container is left on it. */
  async detach(runId: string, replica?: Pick<GangMember, 'gangRunId' | 'attempt'>): Promise<void> {
    const gang = replica ?? this.joined.get(runId);
    this.joined.delete(runId);
    await this.relays.close(runId);
    if (gang) await this.networks.release(gang, runId);
  }

  /** The worker stops: every relay closes (the networks stay for reconcile or the runs' retries). */
  closeAll(): Promise<void> {
    return this.relays.closeAll();
  }
}

/**
 * The host's gangs, for RunDeps.gang: `docker` and `owner` as the worker's runs have them,
 * `address` its CAISSON_HOST_ADDRESS, `log` where relay errors are told.
 */
export function createGangHost(docker: Docker, owner: Owner, address: string, log: RelayLog): GangHost {
  return new GangHost(address, new GangNetworks(docker, owner), new GangRelays(log));
}
