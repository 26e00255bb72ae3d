// The roles one worker process plays, each a Temporal worker on its own queue: the shared queue's
// workflows, placement on the shared queue (polled only while this host has a free slot), the
// results queue, and this host's own queue, where every step of a placed run happens on the host
// that holds its container.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import type { Activities } from '../activities/index.js';
import type { HostCapacity } from '../activities/placement/capacity.js';
import { resultsQueue } from '../spec/workflow-api.js';
import type { WorkerConfig } from './config.js';
import type { TemporalConnections } from './temporal-connections.js';
import type { WorkerTracing } from './tracing.js';
import { workflowBundleFile, type WorkflowBundleKind } from './workflow-bundle-options.js';

/**
 * The workflow code bundled at build time (scripts/bundle-workflows.mjs), next to build/worker/:
 * for encrypted workers, the bundle that encodes workflow failures as their converter does; for
 * traced ones, the bundle with the tracing interceptors.
 */
function workflowBundlePath(kind: WorkflowBundleKind): string {
  const path = fileURLToPath(new URL(`../${workflowBundleFile(kind)}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`no workflow bundle at ${path}: run "npm run build" first`);
  return path;
}

/** The four workers, in the order they are created: shared, placement, results, host. */
export async function createRoles(
  config: WorkerConfig,
  wiring: {
    temporal: TemporalConnections;
    activities: Activities;
    capacity: HostCapacity;
    hostQueue: string;
    tracing?: WorkerTracing;
  },
): Promise<Worker[]> {
  const { temporal, activities, capacity, tracing } = wiring;
  const { connection, dataConverter } = temporal;
  const common = {
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    shutdownGraceTime: '5s',
    dataConverter,
    ...tracing?.workerOptions,
  } as const;
  const fixed = (numSlots: number) => ({ type: 'fixed-size', numSlots }) as const;
  // The workflows of the shared queue.
  const sharedWorker = await Worker.create({
    ...common,
    taskQueue: config.CAISSON_TASK_QUEUE,
    workflowBundle: {
      codePath: workflowBundlePath({
        encodedFailures: Boolean(dataConverter.failureConverterPath),
        traced: Boolean(tracing),
      }),
    },
  });
  // Placement: the shared queue's activities, polled only while this host has a free slot, so a
  // full host does not poll and waiting actions stay in Temporal's queue. (Finalize is here for
  // runs started before the one-host-activity shape, which schedule it on the shared queue.)
  const placementWorker = await Worker.create({
    ...common,
    taskQueue: config.CAISSON_TASK_QUEUE,
    activities: { place: activities.place, finalize: activities.finalize },
    tuner: {
      activityTaskSlotSupplier: capacity.placementSlots(),
      workflowTaskSlotSupplier: fixed(1),
      localActivityTaskSlotSupplier: fixed(1),
      nexusTaskSlotSupplier: fixed(1),
    },
  });
  // result.json for runs that ended without their host writing it: any worker, any time.
  const resultsWorker = await Worker.create({
    ...common,
    taskQueue: resultsQueue(config.CAISSON_TASK_QUEUE),
    activities: { finalize: activities.finalize },
  });
  const hostWorker = await Worker.create({
    ...common,
    taskQueue: wiring.hostQueue,
    activities,
    // Execute holds a slot for a whole run; room beyond the capacity keeps stops and the steps of
    // older runs from ever waiting behind them.
    maxConcurrentActivityTaskExecutions: config.CAISSON_CAPACITY * 4 + 8,
    // The SDK holds heartbeats back to 80% of the heartbeat timeout (12 s) by default: the phase and
    // the live log tail they carry would lag that much. One a second per running action.
    maxHeartbeatThrottleInterval: '1s',
  });
  return [sharedWorker, placementWorker, resultsWorker, hostWorker];
}
