// This host in the fleet's registry (common/storage/fleet-registry.ts): every few seconds the worker reads
// the operator's drain marker for it and writes what it has, what runs and whether it takes work.
// A worker stopping drains itself first (selfDrain) and says so on its way out.
import type { HostCapacity } from '../activities/placement/capacity.js';
import { RECORD_EVERY_MS, type FleetRegistry, type HostRecord } from '../common/storage/fleet-registry.js';

interface Log {
  warn(message: string, meta?: Record<string, unknown>): void;
}

export function startFleetReports(options: {
  registry: FleetRegistry;
  capacity: HostCapacity;
  host: string;
  taskQueue: string;
  /** CAISSON_HOST_ADDRESS: where other hosts reach this one's gang replicas. */
  address?: string;
  log: Log;
  everyMs?: number;
}) {
  const { registry, capacity, host, log } = options;
  const record = recordOf(options, new Date().toISOString());
  let stopping: string | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let warned = false;
  // Every write goes through one queue, so that the "stopped" record written last is never
  // overtaken by a report or a quick write that started before it.
  let writes: Promise<void> = Promise.resolve();
  const publish = (from: () => HostRecord): Promise<void> => {
    const write = writes.then(() => registry.publish(from()));
    writes = write.catch(() => {});
    return write;
  };

  const tick = async () => {
    try {
      const marker = await registry.drainOf(host);
      capacity.drain(stopping ?? (marker === undefined ? undefined : `by the operator${marker ? `: ${marker}` : ''}`));
      if (!stopped) await publish(record);
      warned = false;
    } catch (err) {
      // The host goes on placing with what it knows; the others see it as gone after LIVE_WITHIN_MS.
      if (!warned) log.warn('could not update the fleet registry', { error: (err as Error).message });
      warned = true;
    }
  };
  const loop = () => {
    timer = setTimeout(() => void tick().finally(() => !stopped && loop()), options.everyMs ?? RECORD_EVERY_MS);
    timer.unref();
  };
  const first = tick().then(loop);
  // A placement or a run leaving is written at once, so that other hosts choosing between
  // themselves and this one see it within a fraction of a second.
  const publishSoon = coalesced(() => {
    if (!stopped) publish(record).catch(() => {});
  });
  capacity.onChange = () => {
    if (!stopped) publishSoon();
  };

  return {
    /** The first report is written: the fleet knows this host. */
    ready: first,
    /** Takes nothing new from now on, and tells the fleet at once. */
    async selfDrain(why: string): Promise<void> {
      stopping = why;
      capacity.drain(why);
      await tick();
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await publish(() => ({ ...record(), stopped: true })).catch(() => {});
    },
  };
}

/** This host's record as it stands now: what it has, what runs, and whether it takes work. */
function recordOf(
  here: { capacity: HostCapacity; host: string; taskQueue: string; address?: string },
  startedAt: string,
): () => HostRecord {
  const { capacity, host, taskQueue, address } = here;
  return () => ({
    host,
    taskQueue,
    slots: capacity.capacity,
    totals: capacity.totals,
    inUse: capacity.inUseHeld(),
    actions: capacity.actions(),
    ...(address ? { address } : {}),
    gangPorts: [capacity.gangPorts[0], capacity.gangPorts[1]],
    ...(capacity.drained ? { drained: capacity.drained } : {}),
    startedAt,
    seenAt: new Date().toISOString(),
  });
}

/** Calls `write` once, 50 ms after the first of any number of calls made meanwhile. */
function coalesced(write: () => void): () => void {
  let poked: NodeJS.Timeout | undefined;
  return () => {
    if (poked) return;
    poked = setTimeout(() => {
      poked = undefined;
      write();
    }, 50);
    poked.unref();
  };
}
