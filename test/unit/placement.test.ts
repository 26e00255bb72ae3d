// Placement by resources: what an action asks with the host's defaults, whether a host could ever
// run it, what it holds when placed (GPU ids chosen so no two runs share one), drains, the seeds a
// restarted worker reads from its containers, and the fleet-wide verdicts of the place activity.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { HostCapacity } from '../../activities/placement/capacity.js';
import { betterHost, notHere, preferredElsewhere } from '../../activities/placement/place.js';
import type { HostRecord } from '../../common/storage/fleet-registry.js';
import { parseActionSpec } from '../../spec/action.js';
import { describeNeeds, needsOf, neverFits, waitingFor, type HostTotals, type Needs } from '../../spec/placement.js';

const GiB = 2 ** 30;
const totals = (over: Partial<HostTotals> = {}): HostTotals => ({
  cpu: 4,
  memory: 8 * GiB,
  disk: 100 * GiB,
  gpus: ['g0', 'g1'],
  labels: { zone: 'a' },
  ...over,
});
const needs = (over: Partial<Needs> = {}): Needs => ({
  cpu: 1,
  memory: GiB,
  disk: 2 * GiB,
  gpus: 0,
  require: {},
  ...over,
});
const spec = (extra: object) => parseActionSpec({ image: '127.0.0.1:5000/x/y:1', ...extra });
const record = (host: string, t: HostTotals, extra: Partial<HostRecord> = {}): HostRecord => ({
  host,
  taskQueue: 'q',
  slots: 4,
  totals: t,
  inUse: { cpu: 0, memory: 0, disk: 0, gpus: [] },
  actions: [],
  startedAt: '',
  seenAt: new Date().toISOString(),
  ...extra,
});

describe('what an action asks', () => {
  it('takes the host defaults for what the spec leaves out, and the spec for the rest', () => {
    expect(
      needsOf(spec({ resources: { memory: '512Mi', gpus: 1 }, placement: { require: { zone: 'a' } } }), {
        memory: 2 * GiB,
        outDisk: GiB,
        tmpDisk: GiB,
      }),
    ).toEqual({
      cpu: 0,
      memory: 512 * 2 ** 20,
      disk: 2 * GiB,
      gpus: 1,
      require: { zone: 'a' },
    });
    expect(
      needsOf(spec({ resources: { outDisk: '3Gi' } }), { cpu: 0.5, memory: GiB, outDisk: GiB, tmpDisk: GiB }),
    ).toMatchObject({ cpu: 0.5, disk: 4 * GiB });
    expect(describeNeeds(needs({ gpus: 2, require: { zone: 'b' } }))).toBe(
      '1 cpu, 1Gi memory, 2Gi disk, 2 GPUs, zone=b',
    );
    expect(waitingFor(spec({ resources: { cpu: 2, gpus: 1 }, placement: { require: { disk: 'nvme' } } }))).toBe(
      'a host with free capacity for 2 cpu, 1 GPU carrying disk=nvme',
    );
    expect(waitingFor(spec({}))).toBe('a host with free capacity');
  });

  it('refuses labels that are not names, and more than 20', () => {
    expect(() => spec({ placement: { require: { 'bad label': 'x' } } })).toThrow(/placement.require/);
    expect(() =>
      spec({ placement: { prefer: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) } }),
    ).toThrow(/at most 20 labels/);
    expect(() => spec({ placement: { anywhere: true } })).toThrow(/placement/);
  });
});

describe('whether a host could ever run it', () => {
  it('names every total and label it lacks', () => {
    expect(neverFits(needs(), totals())).toBeUndefined();
    expect(
      neverFits(needs({ cpu: 8, memory: 16 * GiB, gpus: 3, require: { zone: 'b', disk: 'nvme' } }), totals()),
    ).toBe(
      'label zone=b (it has zone=a), label disk=nvme (it has no disk), 8 cpu (it has 4), 16Gi memory (it has 8Gi), 3 GPUs (it has 2)',
    );
    expect(neverFits(needs({ gpus: ['g7'] }), totals())).toBe('GPUs g7 (it has g0,g1)');
    expect(neverFits(needs({ gpus: 'all' }), totals({ gpus: [] }))).toBe('all GPUs (it has 0)');
  });
});

describe('placing on a host', () => {
  it('holds what fits, gives each run its own GPU ids, and says what is short', () => {
    const capacity = new HostCapacity(4, Date.now, totals());
    expect(capacity.place('r1', needs({ gpus: 1 }), 'a1')).toEqual({
      held: { cpu: 1, memory: GiB, disk: 2 * GiB, gpus: ['g0'] },
    });
    expect(capacity.place('r2', needs({ gpus: 1 }), 'a2')).toEqual({
      held: { cpu: 1, memory: GiB, disk: 2 * GiB, gpus: ['g1'] },
    });
    expect(capacity.place('r3', needs({ gpus: 1 }))).toEqual({ short: '1 GPU (0 free)' });
    expect(capacity.place('r3', needs({ memory: 7 * GiB }))).toEqual({ short: '7Gi memory (6Gi free)' });
    expect(capacity.actions()).toEqual(['a1', 'a2']);
    capacity.release('r1');
    expect(capacity.place('r3', needs({ gpus: ['g0'] }))).toMatchObject({ held: { gpus: ['g0'] } });
    expect(capacity.place('r4', needs({ gpus: 'all' }))).toEqual({ short: 'all GPUs (0 free)' });
    // A retried place of a run already here answers the same holding.
    expect(capacity.place('r3', needs({ gpus: ['g0'] }))).toMatchObject({ held: { gpus: ['g0'] } });
    expect(capacity.inUseHeld()).toEqual({ cpu: 2, memory: 2 * GiB, disk: 4 * GiB, gpus: ['g1', 'g0'] });
  });

  it('takes nothing while drained, and no permit is issued to poll for more', () => {
    const capacity = new HostCapacity(4, Date.now, totals());
    capacity.drain('by the operator');
    expect(capacity.place('r1', needs())).toEqual({ short: 'host is drained (by the operator)' });
    expect(capacity.placementSlots().tryReserveSlot({} as never)).toBeNull();
    capacity.drain(undefined);
    expect(capacity.placementSlots().tryReserveSlot({} as never)).not.toBeNull();
  });

  it('counts what a restarted worker finds in its containers labels', () => {
    const capacity = new HostCapacity(4, Date.now, totals());
    capacity.seed([{ runId: 'old', actionId: 'a-old', held: { cpu: 3, memory: GiB, disk: GiB, gpus: ['g1'] } }]);
    expect(capacity.place('new', needs({ cpu: 2 }))).toEqual({ short: '2 cpu (1 free)' });
    expect(capacity.place('new', needs({ gpus: 1 }))).toMatchObject({ held: { gpus: ['g0'] } });
  });
});

describe('the fleet verdict when a host cannot take an action', () => {
  const self = { host: 'h1', totals: totals() };
  const kind = (err: ApplicationFailure) => `${err.type}${err.nonRetryable ? ' (final)' : ''}`;

  it('waits when busy here, or when another host up could run it', () => {
    expect(kind(notHere(self, needs(), { short: '1 cpu (0 free)' }, [], 0, 60_000))).toBe('NotPlacedHere');
    const big = needs({ memory: 32 * GiB });
    expect(kind(notHere(self, big, { never: 'x' }, [record('h2', totals({ memory: 64 * GiB }))], 0, 60_000))).toBe(
      'NotPlacedHere',
    );
  });

  it('ends at once when no host up is big enough, naming each host', () => {
    const big = needs({ memory: 32 * GiB });
    const err = notHere(
      self,
      big,
      { never: neverFits(big, self.totals)! },
      [record('h2', totals({ memory: 16 * GiB }))],
      0,
      60_000,
    );
    expect(kind(err)).toBe('NoHostFits (final)');
    expect(err.message).toContain('h1: 32Gi memory (it has 8Gi)');
    expect(err.message).toContain('h2: 32Gi memory (it has 16Gi)');
  });

  it('waits for a missing label up to the host timeout, then ends; a drained host that could run it counts the same', () => {
    const labelled = needs({ require: { zone: 'b' } });
    const never = { never: neverFits(labelled, self.totals)! };
    const drained = record('h2', totals({ labels: { zone: 'b' } }), { drained: 'by the operator' });
    expect(kind(notHere(self, labelled, never, [drained], 10_000, 60_000))).toBe('NotPlacedHere');
    const err = notHere(self, labelled, never, [drained], 60_000, 60_000);
    expect(kind(err)).toBe('NoHostFits (final)');
    expect(err.message).toContain('h2: drained (by the operator)');
  });

  it('finds a host up carrying the preferred labels', () => {
    const fleet = [
      record('h1', totals()),
      record('h2', totals({ labels: { disk: 'nvme' } })),
      record('h3', totals({ labels: { disk: 'nvme' } }), { drained: 'x' }),
    ];
    expect(preferredElsewhere('h1', needs(), { disk: 'nvme' }, fleet)).toBe('h2');
    expect(preferredElsewhere('h1', needs({ memory: 9 * GiB }), { disk: 'nvme' }, fleet)).toBeUndefined();
  });
});

describe('the better host among those that can run it now', () => {
  const busy = (n: number) => ({ actions: Array.from({ length: n }, (_, i) => `a${i}`) });
  const fleet = [
    record('h1', totals(), busy(1)),
    record('h2', totals(), busy(3)),
    record('h3', totals(), { ...busy(0), drained: 'x' }),
  ];

  it('spread: the emptiest host; bin-pack: the fullest with a free slot; ties to the smaller name', () => {
    expect(betterHost({ host: 'h9', actions: 2 }, needs(), 'spread', fleet)).toBe('h1');
    expect(betterHost({ host: 'h0', actions: 1 }, needs(), 'spread', fleet)).toBeUndefined(); // h1 ties and h0 is smaller
    expect(betterHost({ host: 'h9', actions: 1 }, needs(), 'spread', fleet)).toBe('h1');
    expect(betterHost({ host: 'h9', actions: 0 }, needs(), 'binpack', fleet)).toBe('h2');
    expect(
      betterHost({ host: 'h9', actions: 0 }, needs(), 'binpack', [record('h2', totals(), { ...busy(4) })]),
    ).toBeUndefined(); // full
  });

  it('never a host that could not run the action now', () => {
    expect(betterHost({ host: 'h9', actions: 0 }, needs({ memory: 9 * GiB }), 'binpack', fleet)).toBeUndefined();
    const gpuFleet = [
      record('h2', totals(), { ...busy(3), inUse: { cpu: 0, memory: 0, disk: 0, gpus: ['g0', 'g1'] } }),
    ];
    expect(betterHost({ host: 'h9', actions: 0 }, needs({ gpus: 1 }), 'binpack', gpuFleet)).toBeUndefined();
  });
});
