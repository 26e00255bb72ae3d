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
