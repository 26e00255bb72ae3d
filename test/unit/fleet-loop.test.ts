// The host's record in the fleet registry: the "stopped" record a worker writes on its way out is
// the last one the registry keeps, whatever report or quick write was under way when it stopped.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HostCapacity } from '../../activities/placement/capacity.js';
import type { FleetRegistry, HostRecord } from '../../common/storage/fleet-registry.js';
import { startFleetReports } from '../../worker/fleet-loop.js';

/** A registry that keeps what it was given, in the order its writes finished; the next write may be held. */
function recordingRegistry() {
  const finished: HostRecord[] = [];
  let held: { started: () => void; until: Promise<void> } | undefined;
  const registry = {
    async drainOf() {
      return undefined;
    },
    async publish(record: HostRecord) {
      const hold = held;
      held = undefined;
      if (hold) {
        hold.started();
        await hold.until;
      }
      finished.push(record);
    },
  };
  return {
    registry: registry as unknown as FleetRegistry,
    finished,
    /** The next write waits until `release`; `started` settles once it is under way. */
    holdNextWrite() {
      let release!: () => void;
      let started!: () => void;
      const startedP = new Promise<void>((resolve) => (started = resolve));
      held = { started, until: new Promise((resolve) => (release = resolve)) };
      return { started: startedP, release: () => release() };
    },
  };
}

const quiet = { warn: () => {} };

describe('fleet reports', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a quick write asked for just before stop does not follow the stopped record', async () => {
    vi.useFakeTimers();
    const { registry, finished } = recordingRegistry();
    const capacity = new HostCapacity(2);
    const reports = startFleetReports({ registry, capacity, host: 'h1', taskQueue: 'q', log: quiet });
    await reports.ready;
    capacity.place('run-1', { cpu: 0, memory: 0, disk: 0, gpus: 0, require: {} }, 'action-1'); // asks for a quick write in 50 ms
    await reports.stop();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(finished.at(-1)?.stopped).toBe(true);
    expect(finished.filter((r) => r.stopped)).toHaveLength(1);
  });

  it('a report under way when the worker stops is written before the stopped record', async () => {
    const { registry, finished, holdNextWrite } = recordingRegistry();
    const capacity = new HostCapacity(2);
    const first = holdNextWrite();
    const reports = startFleetReports({ registry, capacity, host: 'h1', taskQueue: 'q', log: quiet });
    // The first report is under way at the registry, and slow; the worker stops meanwhile.
    await first.started;
    const stopping = reports.stop();
    first.release();
    await Promise.all([stopping, reports.ready]);
    expect(finished.map((r) => Boolean(r.stopped))).toEqual([false, true]);
  });
});

describe("a host's record", () => {
  it('tells where other hosts reach it and the ports its gang replicas get', async () => {
    const { registry, finished } = recordingRegistry();
    const capacity = new HostCapacity(2, Date.now, undefined, [40000, 40099]);
    const reports = startFleetReports({
      registry,
      capacity,
      host: 'h1',
      taskQueue: 'q',
      address: '198.18.0.5',
      log: quiet,
    });
    await reports.ready;
    await reports.stop();
    expect(finished[0]).toMatchObject({ address: '198.18.0.5', gangPorts: [40000, 40099] });
  });
});
