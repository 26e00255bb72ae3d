// A host's slots in memory: the placement worker gets a permit to poll only while a slot is free,
// one at a time, and a run holds its slot from placement until released.
import { describe, expect, it } from 'vitest';
import { HostCapacity } from '../../activities/placement/capacity.js';

const ctx = {} as never;

describe('host capacity', () => {
  it('issues one placement permit at a time, and none while every slot is held', async () => {
    const capacity = new HostCapacity(2);
    const slots = capacity.placementSlots();
    const first = await slots.reserveSlot(ctx, new AbortController().signal);
    expect(slots.tryReserveSlot(ctx)).toBeNull(); // one outstanding permit at a time
    capacity.claim('run-1'); // the place activity ran with that permit
    slots.releaseSlot({ permit: first } as never);
    const second = slots.tryReserveSlot(ctx);
    expect(second).not.toBeNull();
    capacity.claim('run-2');
    slots.releaseSlot({ permit: second } as never);
    expect(capacity.inUse()).toBe(2);
    expect(slots.tryReserveSlot(ctx)).toBeNull(); // full: the host does not even poll
  });

  it('wakes a waiting reservation when a run releases its slot', async () => {
    const capacity = new HostCapacity(1);
    capacity.seed(['running-before-restart']);
    const slots = capacity.placementSlots();
    let granted = false;
    const waiting = slots.reserveSlot(ctx, new AbortController().signal).then(() => (granted = true));
    await Promise.resolve();
    expect(granted).toBe(false);
    capacity.release('running-before-restart');
    await waiting;
    expect(granted).toBe(true);
  });

  it('ends a waiting reservation with AbortError when the SDK no longer needs it', async () => {
    const capacity = new HostCapacity(1);
    capacity.claim('busy');
    const abort = new AbortController();
    const waiting = capacity.placementSlots().reserveSlot(ctx, abort.signal);
    abort.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('releases a permit once, however often the SDK reports it', () => {
    const capacity = new HostCapacity(1);
    const slots = capacity.placementSlots();
    const permit = slots.tryReserveSlot(ctx)!;
    slots.releaseSlot({ permit } as never);
    slots.releaseSlot({ permit } as never);
    expect(slots.tryReserveSlot(ctx)).not.toBeNull();
    expect(slots.tryReserveSlot(ctx)).toBeNull();
  });

  it('forgets at once a run it only saw on the engine once a complete listing no longer shows it, never one it serves', () => {
    const capacity = new HostCapacity(4);
    capacity.seed(['theirs', 'restarted']); // at start: containers under this host name
    capacity.claim('mine'); // placed here, container not made yet
    capacity.touch('restarted'); // re-attached by a retried execute: served here now
    expect(capacity.inUse()).toBe(3);
    capacity.seed([], true); // reconcile: nothing running under this host name
    expect(capacity.has('theirs')).toBe(false);
    expect(capacity.has('restarted')).toBe(true);
    expect(capacity.has('mine')).toBe(true);
    capacity.seed(['another']); // a partial listing forgets nothing
    expect(capacity.inUse()).toBe(3);
  });

  it('forgets a claim whose run never showed up, after its time to live', () => {
    let now = 0;
    const capacity = new HostCapacity(1, () => now);
    capacity.claim('vanished');
    expect(capacity.inUse()).toBe(1);
    now += 60_000;
    capacity.touch('vanished');
    now += 100_000;
    expect(capacity.inUse()).toBe(1); // touched 100 s ago: still alive
    now += 30_000;
    expect(capacity.inUse()).toBe(0);
  });
});

describe("a gang's reservations on a host", () => {
  const needs = { cpu: 1, memory: 0, disk: 0, gpus: 1, require: {} };
  const totals = { cpu: 4, memory: Infinity, disk: Infinity, gpus: ['g0', 'g1'], labels: {} };

  it('holds a port of the range per reservation, never one another key holds, and frees it with the reservation', () => {
    const capacity = new HostCapacity(4, Date.now, totals, [31000, 31002]);
    expect(capacity.place('gang:r:0', needs, 'g', 'any')).toMatchObject({ held: { gpus: ['g0'] } });
    expect(capacity.place('gang:r:1', needs, 'g', 'any')).toMatchObject({ held: { gpus: ['g1'] } });
    expect([capacity.portOf('gang:r:0'), capacity.portOf('gang:r:1')]).toEqual([31000, 31001]);
    // A retried place of the same reservation keeps what it holds, its port too.
    expect(capacity.place('gang:r:0', needs, 'g', 'any')).toMatchObject({ held: { gpus: ['g0'] } });
    expect(capacity.portOf('gang:r:0')).toBe(31000);
    capacity.release('gang:r:0');
    expect(capacity.portOf('gang:r:0')).toBeUndefined();
    expect(capacity.inUse()).toBe(1);
    // The next port goes on from where the last was given: a port just freed is not handed out at once.
    expect(capacity.place('gang:s:0', { ...needs, gpus: 0 }, 's', 'any')).toHaveProperty('held');
    expect(capacity.portOf('gang:s:0')).toBe(31002);
    expect(capacity.place('gang:s:1', { ...needs, gpus: 0 }, 's', 'any')).toHaveProperty('held');
    expect(capacity.portOf('gang:s:1')).toBe(31000);
    expect(capacity.place('gang:s:2', { ...needs, gpus: 0 }, 's', 'any')).toEqual({
      short: 'a gang port (all of 31000-31002 are held)',
    });
    expect(capacity.has('gang:s:2')).toBe(false);
    // Exactly one port: in the range and free, or not at all.
    capacity.release('gang:s:0');
    expect(capacity.portFree(31002)).toBe(true);
    expect(capacity.portFree(31001)).toBe(false);
    expect(capacity.portFree(30999)).toBe(false);
    expect(capacity.place('run-x', { ...needs, gpus: 0 }, 'x', 31001)).toEqual({
      short: 'gang port 31001 (held by another run here)',
    });
    expect(capacity.place('run-x', { ...needs, gpus: 0 }, 'x', 31002)).toHaveProperty('held');
    expect(capacity.portOf('run-x')).toBe(31002);
  });

  it("moves a reservation's slot, resources, GPUs, action and port to the replica's run", () => {
    const capacity = new HostCapacity(2, Date.now, totals, [31000, 31009]);
    capacity.place('gang:r:1', needs, 'gang-action', 'any');
    expect(capacity.transfer('gang:r:1', 'child-run', 'gang-action-replica-1')).toBe(true);
    expect(capacity.has('gang:r:1')).toBe(false);
    expect(capacity.heldBy('child-run')).toEqual({ cpu: 1, memory: 0, disk: 0, gpus: ['g0'] });
    expect(capacity.portOf('child-run')).toBe(31000);
    expect(capacity.actions()).toEqual(['gang-action-replica-1']);
    expect(capacity.inUse()).toBe(1);
    // Nothing to take over: gone, or the run holds a place already.
    expect(capacity.transfer('gang:r:1', 'other-run')).toBe(false);
    capacity.place('gang:r:0', needs, 'gang-action', 'any');
    expect(capacity.transfer('gang:r:0', 'child-run')).toBe(false);
    capacity.release('child-run');
    expect(capacity.portOf('child-run')).toBeUndefined();
    expect(capacity.portFree(31000)).toBe(true);
  });

  it('frees the port of a reservation nobody came for, after the claim time to live', () => {
    let now = 0;
    const capacity = new HostCapacity(2, () => now, totals, [31000, 31000]);
    capacity.place('gang:r:0', needs, 'g', 'any');
    expect(capacity.portFree(31000)).toBe(false);
    now += 121_000;
    expect(capacity.portFree(31000)).toBe(true);
    expect(capacity.inUse()).toBe(0);
  });

  it('gives a replica found running after a restart its port again, unless another key holds it', () => {
    const capacity = new HostCapacity(4, Date.now, totals, [31000, 31009]);
    capacity.claim('restarted', 31005);
    expect(capacity.portOf('restarted')).toBe(31005);
    capacity.claim('other', 31005);
    expect(capacity.portOf('other')).toBeUndefined();
  });
});
