// The activities an action workflow calls, with the timeouts and retries each needs: placement on
// the shared queue, the steps on the host it was placed on, and writing result.json when no host did.
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { Action } from '../spec/action.js';
import { FailureType } from '../spec/failures.js';
import { resultsQueue, type FleetOptions } from '../spec/workflow-api.js';

// Placement runs on the shared queue, taken only by a host with a free slot (the placement
// worker polls only then): the backlog waits in Temporal's queue, not in activities.
export const { place } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
  summary: 'place on a host with a free slot',
});

// One replica of a gang, placed within its round (workflows/gang-placement.ts): a host that takes it
// after the round's end refuses it, and a round cut short withdraws the places still queued (the
// default cancellation waits for those a host is answering, so no reservation goes unseen).
export const { place: gangPlace } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '60s',
  retry: {
    initialInterval: '200ms',
    backoffCoefficient: 2,
    maximumInterval: '2s',
    nonRetryableErrorTypes: [FailureType.GangRoundOver],
  },
  summary: 'place one replica of a gang',
});

// Only for runs that end before their host wrote result.json (no host, a refused image).
export const finalizer = () =>
  proxyActivities<Activities>({
    taskQueue: resultsQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '30s',
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 20 },
    summary: 'write result.json next to the artifacts',
  }).finalize;

export type HostSteps = ReturnType<typeof hostSteps>;

/** The activities on the host an action was placed on: all of an attempt in one, and stopping it. */
export function hostSteps(queue: string, fleet: Required<FleetOptions>, spec: Action) {
  // Schedule-to-start bounds how long a step waits for its host: a host whose worker is gone never
  // starts it, and the action is placed again elsewhere instead of waiting forever.
  const base = { taskQueue: queue, scheduleToStartTimeout: fleet.hostTimeoutSeconds * 1000 };
  const command = [...(spec.command ?? []), ...(spec.args ?? [])].join(' ');
  const { execute } = proxyActivities<Activities>({
    ...base,
    summary: `pull, run ${command || 'the image default command'}, collect`.slice(0, 200),
    // The container's deadline is enforced inside; this bounds a stuck pull or upload as well.
    startToCloseTimeout: spec.timeout + fleet.stopGraceSeconds * 1000 + 3 * 3_600_000,
    // Heartbeats every few seconds in every phase: a crashed worker is noticed within this, and the
    // retry re-attaches to the container, which kept running meanwhile.
    heartbeatTimeout: '15s',
    // Engine and S3 outages are waited out: a retry re-attaches and collects again, never re-runs.
    retry: {
      initialInterval: '1s',
      maximumInterval: '30s',
      maximumAttempts: 40,
      nonRetryableErrorTypes: [
        FailureType.ImageNotFound,
        FailureType.ImageUnauthorized,
        FailureType.ImageNotAllowed,
        FailureType.GpuUnavailable,
        FailureType.SecretMissing,
      ],
    },
  });
  const quick = proxyActivities<Activities>({
    ...base,
    summary: 'stop the container',
    startToCloseTimeout: `${fleet.stopGraceSeconds + 60}s`,
    retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
  });
  return {
    execute,
    stopContainer: quick.stopContainer,
    removeRun: quick.removeRun,
    releasePlacement: quick.releasePlacement,
  };
}
