// What a gang's replica is told (activities/gang/replica-env.ts), and which names a gang's spec may
// not set (policy.ts): pure rules, the container's side of which test/integration/gang-network.test.ts
// runs on real engines.
import { describe, expect, it } from 'vitest';
import { addressPlus, GANG_ENV, rankAddress, replicaEnv } from '../../activities/gang/replica-env.js';
import { relayPlan } from '../../activities/gang/gang-host.js';
import { gangNetworkNames } from '../../activities/gang/gang-network.js';
import { DEFAULT_POLICY, policyProblems } from '../../activities/trust/policy.js';
import { parseActionSpec } from '../../spec/action.js';
import type { GangMember } from '../../spec/gang.js';

// Ranks 0 and 2 on host a, 1 and 3 on host b.
const peers = [
  { rank: 0, host: 'a', address: '198.18.1.2', port: 30000 },
  { rank: 1, host: 'b', address: '198.18.2.2', port: 30001 },
  { rank: 2, host: 'a', address: '198.18.1.2', port: 30002 },
  { rank: 3, host: 'b', address: '198.18.2.2', port: 30003 },
];
const member = (index: number, list = peers): GangMember => ({
  index,
  count: 4,
  gangId: 'g',
  gangRunId: 'run-1',
  attempt: 1,
  hostQueue: 'q',
  peers: list,
});

describe('addresses on a gang network', () => {
  it('counts past the subnet base, across octets', () => {
    expect(addressPlus('198.19.0.128', 1)).toBe('198.19.0.129');
    expect(addressPlus('198.19.0.254', 3)).toBe('198.19.1.1');
    expect(rankAddress('198.19.4.0', 0)).toBe('198.19.4.2');
    expect(rankAddress('198.19.4.0', 63)).toBe('198.19.4.65');
  });

  it('names each gang attempt its own network and a bridge name Linux accepts', () => {
    const one = gangNetworkNames({ gangRunId: 'run-1', attempt: 1 });
    expect(one.name).toMatch(/^caisson-gang-[0-9a-f]{16}$/);
    expect(one.bridge).toMatch(/^cg-[0-9a-f]{8}$/);
    expect(one.bridge.length).toBeLessThanOrEqual(15);
    expect(gangNetworkNames({ gangRunId: 'run-1', attempt: 2 }).name).not.toBe(one.name);
  });
});

describe('replicaEnv on a gang network', () => {
  it('tells rank, local rank and node rank from the peers, every address in this host view', () => {
    const { env, peersFile } = replicaEnv(member(3), 'b', '198.19.4.0');
    expect(env).toEqual({
      RANK: '3',
      WORLD_SIZE: '4',
      LOCAL_RANK: '1',
      LOCAL_WORLD_SIZE: '2',
      NODE_RANK: '1',
      NNODES: '2',
      MASTER_ADDR: '198.19.4.2',
      MASTER_PORT: '30000',
      PORT: '30003',
      CAISSON_PEERS_FILE: '/etc/caisson/peers',
    });
    expect(peersFile).toBe('0 198.19.4.2 30000\n1 198.19.4.3 30001\n2 198.19.4.4 30002\n3 198.19.4.5 30003\n');
    expect(Object.keys(env).sort()).toEqual([...GANG_ENV].sort());
  });

  it('puts the host of rank 0 first among the nodes', () => {
    expect(replicaEnv(member(2), 'a', '198.19.4.0').env).toMatchObject({ LOCAL_RANK: '1', NODE_RANK: '0' });
  });
});

describe('replicaEnv without a gang network', () => {
  it('with peers: its own rank on loopback, the others where they were placed', () => {
    const { env, peersFile } = replicaEnv(member(1), 'b');
    expect(env).toMatchObject({ MASTER_ADDR: '198.18.1.2', MASTER_PORT: '30000', PORT: '30001' });
    expect(peersFile.split('\n')[1]).toBe('1 127.0.0.1 30001');
    expect(replicaEnv(member(0), 'a').env.MASTER_ADDR).toBe('127.0.0.1');
  });

  it('without peers: a node of its own, rank 0 on loopback, no port', () => {
    const { env, peersFile } = replicaEnv(member(2, []), 'a');
    expect(env).toEqual({
      RANK: '2',
      WORLD_SIZE: '4',
      LOCAL_RANK: '0',
      LOCAL_WORLD_SIZE: '1',
      NODE_RANK: '2',
      NNODES: '4',
      MASTER_ADDR: '127.0.0.1',
      CAISSON_PEERS_FILE: '/etc/caisson/peers',
    });
    expect(peersFile).toBe('');
  });
});

describe("a replica's relays", () => {
  it('lets remote peers in on the host address, and puts each remote peer on the bridge', () => {
    const plan = relayPlan(member(1), 'b', '198.18.2.2', '198.19.4.0', 'cg-1');
    expect(plan.inbound).toEqual({
      listen: { host: '198.18.2.2', port: 30001 },
      target: { host: '198.19.4.3', port: 30001 },
      // Only the other hosts of the gang are let in.
      from: ['198.18.1.2'],
    });
    expect(plan.remotes).toEqual([
      { bridge: 'cg-1', listen: { host: '198.19.4.2', port: 30000 }, target: { host: '198.18.1.2', port: 30000 } },
      { bridge: 'cg-1', listen: { host: '198.19.4.4', port: 30002 }, target: { host: '198.18.1.2', port: 30002 } },
    ]);
  });
});

describe('the env a gang spec may not set', () => {
  const spec = (env: Record<string, string>, gang: boolean) =>
    parseActionSpec({ image: 'r.example/t:1', command: ['true'], env, ...(gang ? { replicas: 2, gang: true } : {}) });

  it('refuses the names the host tells replicas, in a gang only', () => {
    const problems = policyProblems(spec({ MASTER_ADDR: 'x', PORT: '1', OTHER: 'y' }, true), DEFAULT_POLICY, 'b');
    expect(problems).toEqual([
      expect.stringMatching(/^env\.MASTER_ADDR: reserved in a gang/),
      expect.stringMatching(/^env\.PORT: reserved in a gang/),
    ]);
    expect(policyProblems(spec({ PORT: '8080' }, false), DEFAULT_POLICY, 'b')).toEqual([]);
  });
});
