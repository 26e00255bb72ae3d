// Placing a gang's replicas and checking a replica's start: what a place request may say of its
// gang, the end of the round, the fleet rule (could the live fleet ever hold the whole gang?), and
// the peers a replica's start names (only this host and live fleet hosts at their registered
// addresses and gang ports).
import { describe, expect, it } from 'vitest';
import { checkGangAsk, fleetNeverHolds, replicasFitting, roundOver } from '../../activities/placement/gang-place.js';
import { checkReplicaPeers } from '../../activities/trust/replica-peers.js';
import type { RunStart } from '../../activities/trust/spec-source.js';
import type { HostRecord } from '../../common/storage/fleet-registry.js';
import { parseActionSpec, type ActionSpecInput } from '../../spec/action.js';
import { FailureType } from '../../spec/failures.js';
import type { GangMember } from '../../spec/gang.js';
import type { HostTotals, Needs } from '../../spec/placement.js';
import { fleetSettings } from '../../spec/workflow-api.js';

const GiB = 2 ** 30;
const image = 'r.example/team/tool:1';
const totals = (over: Partial<HostTotals> = {}): HostTotals => ({
  cpu: 2,
  memory: 8 * GiB,
  disk: 100 * GiB,
  gpus: [],
  labels: {},
  ...over,
});
const needs = (over: Partial<Needs> = {}): Needs => ({ cpu: 1, memory: GiB, disk: GiB, gpus: 0, require: {}, ...over });
const record = (host: string, extra: Partial<HostRecord> = {}): HostRecord => ({
  host,
  taskQueue: 'q',
  slots: 4,
  totals: totals(),
  inUse: { cpu: 0, memory: 0, disk: 0, gpus: [] },
  actions: [],
  startedAt: '',
  seenAt: new Date().toISOString(),
  ...extra,
});
const start = (spec: Partial<ActionSpecInput>, extra: Partial<RunStart> = {}): RunStart => ({
  spec: parseActionSpec({ image, ...spec }),
  fleet: fleetSettings(undefined),
  bytes: 0,
  ...extra,
});
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return 'not refused';
};

describe('a place request for a replica of a gang', () => {
  const gangStart = start({ replicas: 3, gang: true });
  const member: GangMember = { index: 0, count: 3, gangId: 'g', gangRunId: 'r', attempt: 1, hostQueue: 'q', peers: [] };

  it("is the gang's own run placing one of its replicas, within its round", () => {
    expect(checkGangAsk('h', { index: 2, replicas: 3, reserveUntil: 5 }, gangStart)).toEqual({
      index: 2,
      replicas: 3,
      reserveUntil: 5,
    });
    expect(checkGangAsk('h', undefined, start({}))).toBeUndefined();
    expect(refusal(() => checkGangAsk('h', { index: 3, replicas: 3, reserveUntil: 5 }, gangStart))).toContain(
      'gang.index: is a whole number from 0 to 2',
    );
    expect(refusal(() => checkGangAsk('h', { index: 0, replicas: 64, reserveUntil: 5 }, gangStart))).toContain(
      "gang.replicas: is not the run's own replicas (3)",
    );
    expect(refusal(() => checkGangAsk('h', { index: 0, replicas: 2, reserveUntil: 5 }, start({})))).toContain(
      'gang.replicas',
    );
    expect(refusal(() => checkGangAsk('h', { index: 0, replicas: 3, reserveUntil: 'x' }, gangStart))).toContain(
      'gang.reserveUntil',
    );
    expect(refusal(() => checkGangAsk('h', undefined, gangStart))).toContain('placed one replica at a time');
    // A replica's own run places nothing: its gang placed it.
    expect(
      refusal(() => checkGangAsk('h', { index: 0, replicas: 3, reserveUntil: 5 }, { ...gangStart, replica: member })),
    ).toContain('gang: a replica runs where its gang placed it');
    const over = roundOver('h', { index: 1, replicas: 3, reserveUntil: 1000 }, 1001);
    expect(over).toMatchObject({ type: FailureType.GangRoundOver, nonRetryable: true });
    expect(roundOver('h', { index: 1, replicas: 3, reserveUntil: 1000 }, 1000)).toBeUndefined();
  });
});

describe('the fleet rule: could the live fleet ever hold the whole gang at once', () => {
  const self = { host: 'ns-a', slots: 4, totals: totals(), address: '198.18.0.1' };

  it('counts per empty host the least of slots, cpu, memory, disk and GPUs', () => {
    const h = {
      host: 'x',
      slots: 8,
      totals: totals({ cpu: 16, memory: 10 * GiB, disk: 3 * GiB, gpus: ['0', '1', '2'] }),
    };
    expect(replicasFitting(needs({ cpu: 2 }), h, 'none')).toBe(3); // disk: 3 GiB of 1 GiB each
    expect(replicasFitting(needs({ cpu: 2, disk: 0 }), h, 'none')).toBe(8); // cpu 16/2, memory 10, slots 8
    expect(replicasFitting(needs({ cpu: 0, disk: 0, memory: 4 * GiB }), h, 'none')).toBe(2);
    expect(replicasFitting(needs({ disk: 0, gpus: 2 }), h, 'none')).toBe(1);
    expect(replicasFitting(needs({ disk: 0, gpus: 'all' }), h, 'none')).toBe(1);
    expect(replicasFitting(needs({ cpu: 17 }), h, 'none')).toBe(0);
    expect(replicasFitting(needs({ require: { zone: 'b' } }), h, 'none')).toBe(0);
    // On network "gang" a host with no address takes none.
    expect(replicasFitting(needs(), h, 'gang')).toBe(0);
    expect(replicasFitting(needs(), { ...h, address: '198.18.0.9' }, 'gang')).toBe(3);
    // A host that accounts slots only holds as many as its slots.
    const unbounded = { cpu: Infinity, memory: Infinity, disk: Infinity, gpus: [], labels: {} };
    expect(replicasFitting(needs(), { host: 'u', slots: 2, totals: unbounded }, 'none')).toBe(2);
  });

  it('ends the gang at once, naming each live undrained host with its count, when the sum falls short', () => {
    const fleet = [
      record('ns-a', { totals: totals({ cpu: 64 }) }),
      record('ns-b'),
      record('ns-c', { drained: 'by the operator' }),
    ];
    const gang = { index: 0, replicas: 5, reserveUntil: 0 };
    const failure = fleetNeverHolds(self, needs({ disk: 0 }), gang, 'none', fleet);
    expect(failure).toMatchObject({ type: FailureType.NoHostFits, nonRetryable: true });
    // This host counted from its own totals (2 cpu), not from its record.
    expect(failure!.message).toBe(
      'a gang of 5 replicas asking 1 cpu, 1Gi memory, 0 disk can never be placed: the live fleet holds at most 4 (ns-a: 2, ns-b: 2)',
    );
    expect(fleetNeverHolds(self, needs({ disk: 0 }), { ...gang, replicas: 4 }, 'none', fleet)).toBeUndefined();
    // On network "gang", ns-b (no address) holds none, and the message says why.
    const onGang = fleetNeverHolds(self, needs({ disk: 0 }), { ...gang, replicas: 4 }, 'gang', fleet);
    expect(onGang!.message).toContain('holds at most 2 (ns-a: 2, ns-b: 0); a host without CAISSON_HOST_ADDRESS');
    expect(
      fleetNeverHolds(self, needs({ disk: 0 }), { ...gang, replicas: 4 }, 'gang', [
        record('ns-b', { address: '198.18.0.2' }),
      ]),
    ).toBeUndefined();
  });
});

describe("the peers a replica's start names", () => {
  const self = { host: 'ns-a', address: '198.18.0.1', gangPorts: [30000, 30999] as const };
  const spec = parseActionSpec({ image, replicas: 2, gang: true, network: 'gang' });
  const member = (peers: GangMember['peers'], over: Partial<GangMember> = {}): GangMember => ({
    index: 0,
    count: 2,
    gangId: 'g',
    gangRunId: 'r',
    attempt: 1,
    hostQueue: 'caisson@ns-a',
    peers,
    ...over,
  });
  const honest = [
    { rank: 0, host: 'ns-a', address: '198.18.0.1', port: 30000 },
    { rank: 1, host: 'ns-b', address: '198.18.0.2', port: 31000 },
  ];
  const fleet = [
    record('ns-a', { address: '198.18.0.1', gangPorts: [30000, 30999] }),
    record('ns-b', { address: '198.18.0.2', gangPorts: [31000, 31099] }),
  ];
  const check = async (replica: GangMember, s = spec, live = fleet) =>
    checkReplicaPeers(self, replica, s, async () => live).then(
      () => 'passed',
      (err: Error) => err.message,
    );

  it('passes an honest gang: this host at its own address, the other at its registered one', async () => {
    expect(await check(member(honest))).toBe('passed');
    // Network "none": the peers are only told, never reached: any address will do.
    const told = [honest[0]!, { ...honest[1]!, address: 'ns-b' }];
    expect(await check(member(told), parseActionSpec({ image, replicas: 2, gang: true }))).toBe('passed');
  });

  it('refuses anything else, naming the field', async () => {
    const peer1 = (over: object) => [honest[0]!, { ...honest[1]!, ...over }];
    expect(await check(member(peer1({ address: '203.0.113.7' })))).toContain(
      'replica.peers.1.address: 203.0.113.7 is not the registered address of a live host ns-b',
    );
    expect(await check(member(peer1({ host: 'ns-z' })))).toContain('replica.peers.1.address');
    expect(await check(member(peer1({ port: 30000 })))).toContain(
      "replica.peers.1.port: 30000 is outside host ns-b's gang ports",
    );
    expect(await check(member(honest), spec, [])).toContain('replica.peers.1.address'); // ns-b is not live
    expect(await check(member([{ ...honest[0]!, address: '198.18.0.9' }, honest[1]!]))).toContain(
      "replica.peers.0.address: 198.18.0.9 is not this host's address",
    );
    expect(await check(member([{ ...honest[0]!, port: 80 }, honest[1]!]))).toContain('replica.peers.0.port');
    expect(await check(member(honest, { index: 1 }))).toContain('replica.peers: rank 1 is placed on host ns-b');
    expect(await check(member(honest, { count: 3 }))).toContain("replica.count: 3 is not the spec's replicas (2)");
    expect(await check(member([]))).toContain('replica.peers: rank 0 is not among the peers');
    const twice = [honest[0]!, { ...honest[0]!, rank: 1 }];
    expect(await check(member(twice))).toContain('replica.peers.1: 198.18.0.1:30000 is given to two ranks');
    // A host with no address of its own runs no replica its peers must reach.
    const noAddress = await checkReplicaPeers(
      { ...self, address: undefined },
      member(honest),
      spec,
      async () => fleet,
    ).catch((err: Error) => err.message);
    expect(noAddress).toContain('this host has no CAISSON_HOST_ADDRESS');
  });
});
