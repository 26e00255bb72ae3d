// The place activity's decision, apart from the activity: a run that fits is taken, offered first to
// a host carrying its preferred labels or to the better host of the fleet, or kept waiting; an
// execute that skipped placement is told to come back or that it never fits. The fleet is a stub
// that counts its reads: a host reads the registry only when the decision needs it.
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { HostCapacity } from '../../activities/placement/capacity.js';
import { BETTER_HOST_OFFERS, PREFER_WAIT_MS, type PlacementMode } from '../../activities/placement/place.js';
import {
  decidePlacement,
  unplacedExecute,
  waitedMs,
  type FleetReads,
  type PlaceFacts,
} from '../../activities/placement/placement-decision.js';
import type { HostRecord } from '../../common/storage/fleet-registry.js';
import { FailureType } from '../../spec/failures.js';
import type { HostTotals, Needs } from '../../spec/placement.js';

const GiB = 2 ** 30;
const totals = (over: Partial<HostTotals> = {}): HostTotals => ({
  cpu: 4,
  memory: 8 * GiB,
  disk: 100 * GiB,
  gpus: [],
  labels: { zone: 'a' },
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

/** A fleet of `hosts` that records which reads the decision made. */
function fleetOf(hosts: HostRecord[]): FleetReads & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async live(maxAgeMs?: number) {
      reads.push(`live(${maxAgeMs ?? 'cached'})`);
      return hosts;
    },
    async othersMayBeUp(self: string) {
      reads.push('othersMayBeUp');
      return hosts.some((h) => h.host !== self && !h.drained);
    },
  };
}

/** Host `b` with `running` actions already placed, and the run `r` placed (or not) by its own capacity. */
function placedOnB(over: { needs?: Needs; totals?: HostTotals; running?: number; slots?: number } = {}) {
  const capacity = new HostCapacity(over.slots ?? 4, Date.now, over.totals ?? totals());
  for (let i = 0; i < (over.running ?? 0); i++) capacity.place(`old-${i}`, needs(), `action-${i}`);
  const asks = over.needs ?? needs();
  const verdict = capacity.place('r', asks, 'action-r');
  return { capacity, verdict, asks };
}

function facts(
  placed: ReturnType<typeof placedOnB>,
  over: Partial<Omit<PlaceFacts, 'capacity' | 'verdict' | 'needs'>> & { mode?: PlacementMode } = {},
): PlaceFacts {
  return {
    host: 'b',
    capacity: placed.capacity,
    needs: placed.asks,
    verdict: placed.verdict,
    waitedMs: 0,
    attempt: 1,
    mode: 'spread',
    waitForHostMs: 60_000,
    ...over,
  };
}

const failureOf = (decision: object): ApplicationFailure => Object.values(decision)[0] as ApplicationFailure;

describe('how long a run has waited', () => {
  it('counts from the workflow’s waitingSince, never from the future or from what is not a time', () => {
    expect(waitedMs(1_000, 5_000)).toBe(4_000);
    expect(waitedMs(9_000, 5_000)).toBe(0);
    expect(waitedMs(Number.NaN, 5_000)).toBe(0);
    expect(waitedMs('1000', 5_000)).toBe(0);
    expect(waitedMs(undefined, 5_000)).toBe(0);
  });
});

describe('the place decision', () => {
  it('takes a run that fits on a host alone in its fleet, reading only whether others may be up', async () => {
    const placed = placedOnB({ needs: needs({ gpus: 1 }), totals: totals({ gpus: ['g0'] }) });
    const fleet = fleetOf([record('b')]);
    expect(await decidePlacement(facts(placed), fleet)).toEqual({
      take: { cpu: 1, memory: GiB, disk: GiB, gpus: ['g0'] },
    });
    expect(fleet.reads).toEqual(['othersMayBeUp']);
  });

  it('takes a run without reading any fleet when there is none or the mode is any', async () => {
    const placed = placedOnB();
    expect('take' in (await decidePlacement(facts(placed), undefined))).toBe(true);
    const fleet = fleetOf([record('a')]);
    expect('take' in (await decidePlacement(facts(placed, { mode: 'any' }), fleet))).toBe(true);
    expect(fleet.reads).toEqual([]);
  });

  it('offers a run first to an emptier host (spread), read from a fresh view', async () => {
    const placed = placedOnB({ running: 2 });
    const fleet = fleetOf([record('b', { actions: ['x', 'y', 'z'] }), record('c', { actions: ['w'] })]);
    const decision = await decidePlacement(facts(placed), fleet);
    expect(Object.keys(decision)).toEqual(['elsewhere']);
    expect(failureOf(decision)).toMatchObject({ type: FailureType.NotPlacedHere, nextRetryDelay: 100 });
    expect(failureOf(decision).message).toBe('host c is the better place (spread): offered there first');
    expect(fleet.reads).toEqual(['othersMayBeUp', 'live(300)']);
  });

  it('offers a run first to a fuller host (binpack), not counting the run against this host', async () => {
    const placed = placedOnB();
    const fleet = fleetOf([record('c', { actions: ['w'] })]);
    expect(failureOf(await decidePlacement(facts(placed, { mode: 'binpack' }), fleet)).message).toBe(
      'host c is the better place (binpack): offered there first',
    );
    // Equally full hosts: the smaller name takes it, so two idle hosts never both decline.
    const idle = fleetOf([record('c')]);
    expect('take' in (await decidePlacement(facts(placed, { mode: 'binpack' }), idle))).toBe(true);
  });

  it('stops offering to a better host after a few attempts', async () => {
    const placed = placedOnB({ running: 2 });
    const fleet = fleetOf([record('c')]);
    expect('take' in (await decidePlacement(facts(placed, { attempt: BETTER_HOST_OFFERS + 1 }), fleet))).toBe(true);
    expect(fleet.reads).toEqual([]);
  });

  it('waits a while for a live host carrying the preferred labels, then runs where it fits', async () => {
    const placed = placedOnB();
    const fleet = fleetOf([record('c', { totals: totals({ labels: { zone: 'z' } }) })]);
    const prefer = { zone: 'z' };
    const waiting = await decidePlacement(facts(placed, { prefer, mode: 'any' }), fleet);
    expect(failureOf(waiting).message).toBe('host c carries the preferred labels: waiting for it first');
    expect(Object.keys(waiting)).toEqual(['elsewhere']);
    const late = await decidePlacement(facts(placed, { prefer, mode: 'any', waitedMs: PREFER_WAIT_MS }), fleet);
    expect('take' in late).toBe(true);
    // This host carries them itself: nothing to wait for, and nothing read.
    const here = fleetOf([record('c')]);
    expect('take' in (await decidePlacement(facts(placed, { prefer: { zone: 'a' }, mode: 'any' }), here))).toBe(true);
    expect(here.reads).toEqual([]);
  });

  it('keeps a run that does not fit here now waiting, or ends it when no host up could run it', async () => {
    const busy = placedOnB({ totals: totals({ cpu: 2 }), running: 2 });
    expect('short' in busy.verdict).toBe(true);
    const waiting = await decidePlacement(facts(busy), fleetOf([record('c')]));
    expect(Object.keys(waiting)).toEqual(['notHere']);
    expect(failureOf(waiting)).toMatchObject({ type: FailureType.NotPlacedHere, nonRetryable: false });

    const tooBig = placedOnB({ needs: needs({ cpu: 16 }) });
    const fleet = fleetOf([record('c')]);
    const ended = await decidePlacement(facts(tooBig), fleet);
    expect(Object.keys(ended)).toEqual(['notHere']);
    expect(failureOf(ended)).toMatchObject({ type: FailureType.NoHostFits, nonRetryable: true });
    expect(fleet.reads).toEqual(['live(cached)']);
  });
});

describe('an execute that skipped placement', () => {
  it('passes when it holds a place, comes back when the host is busy, and is refused when it never fits', () => {
    expect(unplacedExecute('b', { held: { cpu: 1, memory: 0, disk: 0, gpus: [] } })).toBeUndefined();
    expect(unplacedExecute('b', { short: 'cpu (1 free)' })).toMatchObject({
      type: FailureType.HostBusy,
      message: 'host b has no room for this run now: cpu (1 free)',
      nextRetryDelay: '5s',
    });
    expect(unplacedExecute('b', { never: 'gpus: 1 asked, 0 here' })).toMatchObject({
      type: FailureType.RefusedByHost,
      nonRetryable: true,
      message: 'refused by host b: resources: the run can never fit this host: gpus: 1 asked, 0 here',
    });
  });
});
