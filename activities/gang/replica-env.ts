// What a gang's replica is told about its gang: its rank and size, where it stands among the
// replicas of its own host and among the hosts, where rank 0 and every peer is, as an environment
// (the names launchers such as torchrun read) and as a peers file. Pure: the container's creation
// hands both to the engine.
import type { GangMember } from '../../spec/gang.js';

/** Where the peers file is in the container. */
export const PEERS_FILE = '/etc/caisson/peers';

/** The names the host sets for a replica: a gang's spec may not set them (policy.ts). */
export const GANG_ENV = [
  'RANK',
  'WORLD_SIZE',
  'LOCAL_RANK',
  'LOCAL_WORLD_SIZE',
  'NODE_RANK',
  'NNODES',
  'MASTER_ADDR',
  'MASTER_PORT',
  'PORT',
  'CAISSON_PEERS_FILE',
] as const;

/** The address `n` past `base` (IPv4, dotted). */
export function addressPlus(base: string, n: number): string {
  const value = base.split('.').reduce((sum, part) => sum * 256 + Number(part), 0) + n;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Rank `rank`'s fixed address on a gang network whose subnet starts at `base`: the gateway is base + 1. */
export const rankAddress = (base: string, rank: number): string => addressPlus(base, 2 + rank);

export interface ReplicaEnv {
  env: Record<string, string>;
  /** One line per rank, "rank address port"; empty without peers. */
  peersFile: string;
}

/**
 * The replica's environment and peers file on host `host`. `gangBase`: the first address of this
 * gang's network on this host, where every rank has its fixed address (a local peer's container, a
 * remote peer's relay). Without a gang network (network "none") nothing is reachable; the replica is
 * told its own rank at 127.0.0.1 (it can bind there) and every other rank at the address it was
 * placed at, so the same program starts and fails to connect instead of failing to parse. A gang
 * whose peers were not given (the workflow gives none with network "none") knows no hosts: each
 * replica counts as a node of its own, rank 0 is at 127.0.0.1 and no port is told.
 */
export function replicaEnv(replica: GangMember, host: string, gangBase?: string): ReplicaEnv {
  const { index, count, peers } = replica;
  const base = { RANK: String(index), WORLD_SIZE: String(count), CAISSON_PEERS_FILE: PEERS_FILE };
  if (!peers.length) {
    const env = { ...base, LOCAL_RANK: '0', LOCAL_WORLD_SIZE: '1', NODE_RANK: String(index), NNODES: String(count) };
    return { env: { ...env, MASTER_ADDR: '127.0.0.1' }, peersFile: '' };
  }
  const address = (rank: number) =>
    gangBase ? rankAddress(gangBase, rank) : rank === index ? '127.0.0.1' : peers[rank]!.address;
  const local = peers.filter((p) => p.host === host).map((p) => p.rank);
  // Hosts in the order of their lowest rank: peers come by rank, so first seen is lowest.
  const hosts = [...new Set(peers.map((p) => p.host))];
  return {
    env: {
      ...base,
      LOCAL_RANK: String(Math.max(0, local.indexOf(index))),
      LOCAL_WORLD_SIZE: String(Math.max(1, local.length)),
      NODE_RANK: String(Math.max(0, hosts.indexOf(host))),
      NNODES: String(hosts.length),
      MASTER_ADDR: address(0),
      MASTER_PORT: String(peers[0]!.port),
      PORT: String(peers[index]!.port),
    },
    peersFile: peers.map((p) => `${p.rank} ${address(p.rank)} ${p.port}\n`).join(''),
  };
}
