// Reconcile as a loop: one pass when the worker starts, then one every few tens of seconds, never
// two at once. Each pass kills containers past their deadline, removes leftovers of runs that are
// over, and gives the slots of containers still running here back to the count (a container whose
// worker died keeps its slot until it ends, and no longer).
import type Docker from 'dockerode';
import type { Client } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import type { HostCapacity } from '../activities/placement/capacity.js';
import type { HostDisks } from '../activities/disks/host-disk.js';
import type { Owner } from '../activities/container/labels.js';
import type { GangHost } from '../activities/gang/gang-host.js';
import { reconcileContainers, runsOnEngine, stopOverdue } from './reconcile.js';

/** A run an activity of this worker touched this recently is its own to look after. */
const SERVED_HERE_MS = 10_000;

export interface ReconcileSettings {
  docker: Docker;
  client: Client;
  owner: Owner;
  disks?: HostDisks;
  capacity: HostCapacity;
  /** A removed replica's relays stop with it (its address and port go to other runs). */
  gang?: GangHost;
  everyMs: number;
}

export function startReconciling(settings: ReconcileSettings): { stop(): Promise<void> } {
  const log = Runtime.instance().logger;
  const { docker, client, owner, disks, capacity, gang } = settings;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let passes = 0;

  const pass = async () => {
    const overdue = await stopOverdue(docker, owner);
    if (overdue.length) log.warn('killed containers past their deadline and stop grace', { containers: overdue });
    const first = passes++ === 0;
    // The first pass looks at every container; later ones leave this worker's own runs alone.
    const report = await reconcileContainers(
      docker,
      client,
      owner,
      disks,
      Date.now,
      (runId) => !first && capacity.servedWithin(runId, SERVED_HERE_MS),
    );
    for (const { runId } of report.removed) {
      capacity.release(runId);
      await gang?.detach(runId);
    }
    capacity.seed(await runsOnEngine(docker, owner, true), true);
    if (first || report.removed.length || report.disksRemoved.length || report.gangNetworksRemoved.length) {
      log.info('reconciled containers left from earlier runs', {
        removed: report.removed,
        kept: report.kept,
        disksRemoved: report.disksRemoved,
        gangNetworksRemoved: report.gangNetworksRemoved,
      });
    }
  };

  const loop = async () => {
    await pass().catch((err: Error) => log.warn('could not reconcile containers', { error: err.message }));
    if (!stopped) timer = setTimeout(() => (running = loop()), settings.everyMs);
  };
  let running = loop();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
