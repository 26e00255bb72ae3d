// A gang's own network on this host: an internal Docker bridge per gang attempt, its subnet a /25
// carved from 198.19.0.0/17 (the range reserved for network tests: no real address is hidden by
// it), where every rank has a fixed address (base + 2 + rank, gateway base + 1). The engine runs
// without iptables here, so forwarding is switched off on the bridge, as for the egress network:
// its containers reach each other and the relays the worker puts on the bridge, nothing beyond.
// Made by the first replica of the gang on this host, removed once no replica of this worker uses
// it and no container is attached; reconcile removes the ones a crash left without containers.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import type { GangMember } from '../../spec/gang.js';
import { LABEL, ownedBy, ownerLabels, type Owner } from '../container/labels.js';
import { addressPlus } from './replica-env.js';

const NAME_PREFIX = 'caisson-gang-';
/** The label naming the gang run and attempt a network is for. */
const GANG_LABEL = 'caisson.gang';
/** 198.19.0.0/17 in /25s: 256 subnets, each with room for 64 ranks past its network and gateway addresses. */
const POOL_BASE = '198.19.0.0';
const SUBNETS = 256;
const SUBNET_SIZE = 128;
const PREFIX = 25;
/** Subnets tried before giving up: two gangs racing for one, or a pool the engine's other networks hold. */
const MAX_TRIES = 16;
/** A network younger than this is left alone by reconcile: its first container is about to be made. */
const GANG_NETWORK_GRACE_MS = 120_000;

export interface GangNetwork {
  name: string;
  /** The bridge's name on the host (at most 15 characters): relays add their addresses to it. */
  bridge: string;
  subnet: string;
  /** The subnet's first address: rank r is at base + 2 + r. */
  base: string;
}

/** One gang attempt's network name and bridge, the same on every worker of the engine. */
export function gangNetworkNames(replica: Pick<GangMember, 'gangRunId' | 'attempt'>): { name: string; bridge: string } {
  const hash = createHash('sha256').update(`${replica.gangRunId}/${replica.attempt}`).digest('hex');
  return { name: `${NAME_PREFIX}${hash.slice(0, 16)}`, bridge: `cg-${hash.slice(0, 8)}` };
}

/** The i-th /25 of the pool. */
const subnetAt = (i: number): { subnet: string; base: string } => {
  const base = addressPlus(POOL_BASE, (i % SUBNETS) * SUBNET_SIZE);
  return { subnet: `${base}/${PREFIX}`, base };
};

type NetworkInfo = {
  Name: string;
  Created?: string;
  Labels?: Record<string, string>;
  IPAM?: { Config?: { Subnet?: string }[] };
  Containers?: Record<string, unknown>;
};

export class GangNetworks {
  /** Runs of this worker using each network: it is not removed under one about to attach. */
  private readonly users = new Map<string, Set<string>>();
  private readonly making = new Map<string, Promise<GangNetwork>>();

  constructor(
    private readonly docker: Docker,
    private readonly owner: Owner,
  ) {}

  /** The gang's network on this host, made unless it is there; `runId` uses it until `release`. */
  async acquire(replica: GangMember, runId: string): Promise<GangNetwork> {
    const { name } = gangNetworkNames(replica);
    let users = this.users.get(name);
    if (!users) this.users.set(name, (users = new Set()));
    users.add(runId);
    // Replicas of one gang on this host ask at once: one of them makes it, the others wait for it.
    let making = this.making.get(name);
    if (!making) {
      making = this.ensure(replica).finally(() => this.making.delete(name));
      this.making.set(name, making);
    }
    return making;
  }

  /** `runId` is done with the network: it goes once no run of this worker uses it and no container is attached. */
  async release(replica: Pick<GangMember, 'gangRunId' | 'attempt'>, runId: string): Promise<void> {
    const { name } = gangNetworkNames(replica);
    const users = this.users.get(name);
    users?.delete(runId);
    if (users?.size) return;
    this.users.delete(name);
    // A run of this worker that took it up meanwhile keeps it.
    await removeIfEmpty(this.docker, name, () => !this.users.get(name)?.size);
  }

  private async ensure(replica: GangMember): Promise<GangNetwork> {
    const { name, bridge } = gangNetworkNames(replica);
    const found = await this.inspect(name);
    if (found) return found;
    const used = await this.usedSubnets();
    // Start where the gang's name points, so that two gangs made at once seldom try the same one.
    const start = parseInt(bridge.slice(3), 16) % SUBNETS;
    let tries = 0;
    for (let i = 0; i < SUBNETS && tries < MAX_TRIES; i++) {
      const { subnet, base } = subnetAt(start + i);
      if (used.has(subnet)) continue;
      tries++;
      const made = await this.docker
        .createNetwork({
          Name: name,
          Driver: 'bridge',
          Internal: true,
          CheckDuplicate: true,
          IPAM: { Driver: 'default', Config: [{ Subnet: subnet, Gateway: addressPlus(base, 1) }] },
          Options: { 'com.docker.network.bridge.name': bridge },
          Labels: { ...ownerLabels(this.owner), [GANG_LABEL]: `${replica.gangRunId}/${replica.attempt}` },
        })
        .then(
          () => true,
          (err: { statusCode?: number; message?: string }) => {
            if (err.statusCode === 409) return true; // made meanwhile by another worker of the engine
            // Another network took this subnet since the list was read: the next one.
            if (/overlap/i.test(err.message ?? '')) return false;
            throw err;
          },
        );
      if (!made) continue;
      const network = await this.inspect(name);
      if (network) return network;
    }
    throw new Error(`no free /${PREFIX} for the gang's network in ${POOL_BASE}/17 after ${tries} tries`);
  }

  /** The network as the engine has it, its forwarding switched off; undefined when there is none. */
  private async inspect(name: string): Promise<GangNetwork | undefined> {
    const info = (await this.docker
      .getNetwork(name)
      .inspect()
      .catch((err: { statusCode?: number }) => {
        if (err.statusCode === 404) return undefined;
        throw err;
      })) as (NetworkInfo & { Internal?: boolean; Options?: Record<string, string> }) | undefined;
    if (!info) return undefined;
    const subnet = info.IPAM?.Config?.[0]?.Subnet;
    const bridge = info.Options?.['com.docker.network.bridge.name'];
    if (!info.Internal || !subnet || !bridge || !info.Labels || !ownedBy(info.Labels, this.owner))
      throw new Error(
        `the engine's network ${name} is not a gang network of this host's: remove it (docker network rm ${name})`,
      );
    // Without iptables nothing else stops the host routing a container's packets to the world.
    await writeFile(`/proc/sys/net/ipv4/conf/${bridge}/forwarding`, '0');
    return { name, bridge, subnet, base: subnet.split('/')[0]! };
  }

  private async usedSubnets(): Promise<Set<string>> {
    const networks = (await this.docker.listNetworks()) as NetworkInfo[];
    return new Set(networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? '')));
  }
}

/** Removes the network unless a container is attached to it (or it is gone already, or `free` says no). */
async function removeIfEmpty(docker: Docker, name: string, free: () => boolean = () => true): Promise<boolean> {
  const network = docker.getNetwork(name);
  const info = (await network.inspect().catch(() => undefined)) as NetworkInfo | undefined;
  if (!info || Object.keys(info.Containers ?? {}).length || !free()) return false;
  // A container attached since is refused removal by the engine (403): it keeps the network.
  return network.remove().then(
    () => true,
    () => false,
  );
}

/** Reconcile's part: this worker's gang networks past their grace period with no container attached go. */
export async function removeIdleGangNetworks(
  docker: Docker,
  owner: Owner,
  now: () => number = Date.now,
): Promise<string[]> {
  const networks = (await docker.listNetworks({
    filters: { label: [`${LABEL.host}=${owner.host}`, GANG_LABEL] },
  })) as NetworkInfo[];
  const removed: string[] = [];
  for (const n of networks) {
    if (!n.Name.startsWith(NAME_PREFIX) || !ownedBy(n.Labels ?? {}, owner)) continue;
    if (now() - Date.parse(n.Created ?? '') < GANG_NETWORK_GRACE_MS) continue;
    if (await removeIfEmpty(docker, n.Name)) removed.push(n.Name);
  }
  return removed;
}
