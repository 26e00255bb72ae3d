// One workflow execution is one action run: place it on a host with a free slot, then one host
// activity per attempt does the work there (image, container, wait, /out and logs to S3,
// result.json) and reports its phase in heartbeats. The workflow only decides, so a crashed worker
// or a restarted server replays it to the same decisions and never starts a container twice.
import {
  CancellationScope,
  deprecatePatch,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SearchAttributeUpdatePair } from '@temporalio/common';
import type { Activities } from '../activities/index.js';
import type { ExecuteAnswer, ExecuteRequest, Placement } from '../activities/types.js';
import { checkActionSpec, type Action } from '../spec/action.js';
import { waitingFor } from '../spec/placement.js';
import { formatDuration } from '../spec/quantity.js';
import {
  assembleResult,
  describeOutcome,
  type ActionResult,
  type EndReason,
  type Phase,
  type RunOutcome,
  type StepTiming,
} from '../spec/result.js';
import {
  ActionExitCodeKey,
  ActionHostKey,
  ActionImageKey,
  ActionSourceKey,
  ActionStatusKey,
  ActionTemplateKey,
} from '../spec/search-attributes.js';
import {
  fleetSettings,
  INLINE_SPEC_BYTES,
  resultsQueue,
  withoutBulk,
  type FleetOptions,
  type RunActionInput,
} from '../spec/workflow-api.js';
import { endWith, failureMessage, finalReason, hostLost, invalidSpec } from './failures.js';
import { answerQueries } from './queries.js';
import { runStoppingOnCancel } from './stop-on-cancel.js';
import { FailureType } from '../spec/failures.js';

/** The marker runs of this shape recorded while runs of the per-step shape could still be open. */
export const ONE_HOST_ACTIVITY = 'one-host-activity';
/** The marker of runs whose large spec is not copied into each host activity call. */
export const SPEC_FROM_HISTORY = 'spec-from-history';

// Placement runs on the shared queue, taken only by a host with a free slot (the placement
// worker polls only then): the backlog waits in Temporal's queue, not in activities.
const { place } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
  summary: 'place on a host with a free slot',
});
// Only for runs that end before their host wrote result.json (no host, a refused image).
const finalizer = () =>
  proxyActivities<Activities>({
    taskQueue: resultsQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '30s',
    retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s', maximumAttempts: 20 },
    summary: 'write result.json next to the artifacts',
  }).finalize;

/**
 * Writes result.json; when that is impossible (the bucket is gone, S3 is down past the finalizer's
 * tries) the action still ends, its result saying so instead of a raw activity error.
 */
async function storeResult(result: ActionResult, spec: Action): Promise<string | undefined> {
  try {
    return await finalizer()({ result, bucket: spec.artifacts.bucket, prefix: spec.artifacts.prefix });
  } catch (err) {
    log.warn('result.json could not be stored', { error: failureMessage(err) });
    result.message += `; result.json could not be stored (${failureMessage(err)})`;
    return undefined;
  }
}

function hostActivities(queue: string, fleet: Required<FleetOptions>, spec: Action) {
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
  return { execute, stopContainer: quick.stopContainer, removeRun: quick.removeRun };
}

export async function runAction(input: RunActionInput, fleetOptions: FleetOptions = {}): Promise<ActionResult> {
  // Runs of the per-step shape (before this marker) are no longer served; runs that recorded the
  // marker still replay. Remove this call once no open run has the marker (docs/development.md).
  deprecatePatch(ONE_HOST_ACTIVITY);

  const { workflowId: actionId, runId, typedSearchAttributes } = workflowInfo();
  const fleet: Required<FleetOptions> = fleetSettings(fleetOptions);
  const startedAt = new Date();
  const timings: StepTiming[] = [];
  const { view, showLogTail } = answerQueries(actionId, input, timings);

  let waitText = 'a host with free capacity';
  // One upsert per workflow task at most: each phase change gathers its attributes into one call.
  const setPhase = (phase: Phase, details: string, extra: SearchAttributeUpdatePair[] = []) => {
    view.phase = phase;
    view.waitingFor = phase === 'PENDING' ? waitText : undefined;
    setCurrentDetails(`**${phase}**: ${details}`);
    upsertSearchAttributes([{ key: ActionStatusKey, value: phase }, ...extra]);
  };

  const parsed = checkActionSpec(input?.spec);
  if (!parsed.success) {
    view.phase = 'FAILED';
    upsertSearchAttributes([{ key: ActionStatusKey, value: 'FAILED' }]);
    throw invalidSpec(parsed.error);
  }
  const spec = parsed.data;
  const elided = JSON.stringify(spec).length > INLINE_SPEC_BYTES && patched(SPEC_FROM_HISTORY);
  const carried = elided ? withoutBulk(spec) : spec;
  waitText = waitingFor(spec);
  view.waitingFor = waitText;
  setCurrentDetails(`**PENDING**: waiting for ${waitText}`);
  // The client sets these at start; a start from elsewhere (the CLI of Temporal, a schedule) may not.
  const missing: SearchAttributeUpdatePair[] = [];
  if (typedSearchAttributes.get(ActionImageKey) === undefined) missing.push({ key: ActionImageKey, value: spec.image });
  if (spec.source && typedSearchAttributes.get(ActionSourceKey) === undefined)
    missing.push({ key: ActionSourceKey, value: spec.source });
  if (spec.template && typedSearchAttributes.get(ActionTemplateKey) === undefined)
    missing.push({ key: ActionTemplateKey, value: spec.template });
  if (typedSearchAttributes.get(ActionStatusKey) !== 'PENDING')
    missing.push({ key: ActionStatusKey, value: 'PENDING' });
  if (missing.length) upsertSearchAttributes(missing);

  let placement: Placement | undefined;
  let host: ReturnType<typeof hostActivities> | undefined;
  let answer: ExecuteAnswer | undefined;
  let outcome: RunOutcome | undefined;
  let digest: string | undefined;
  let attempt = 0;
  let canceled = false;
  let ended: { reason: EndReason; message: string } | undefined;

  const executeOnce = async (): Promise<ExecuteAnswer> => {
    const request: ExecuteRequest = {
      actionId,
      runId,
      attempt,
      spec: carried,
      ...(elided ? { specElided: true as const } : {}),
      stopGraceSeconds: fleet.stopGraceSeconds,
      ...(placement?.gpus ? { gpuIds: placement.gpus } : {}),
      ...(input.member ? { member: input.member } : {}),
      canceled,
      startedAt: startedAt.toISOString(),
      timings: [...timings],
    };
    return runStoppingOnCancel(
      () => host!.execute(request),
      () => host!.stopContainer(request),
      () => (canceled = true),
    );
  };

  const job = async () => {
    for (view.placements = 1; ; view.placements++) {
      try {
        const placedAt = new Date();
        placement = await place({
          actionId,
          runId,
          resources: spec.resources,
          placement: spec.placement,
          timeout: spec.timeout,
          waitingSince: placedAt.getTime(),
          waitForHostMs: fleet.hostTimeoutSeconds * 1000,
        });
        timings.push({ step: 'place', startedAt: placedAt.toISOString(), ms: Date.now() - placedAt.getTime() });
        host = hostActivities(placement.hostQueue, fleet, spec);
        view.host = placement.host;
        setPhase(
          'RUNNING',
          `on host ${placement.host}: pulling, running and collecting there (phase in the execute activity's heartbeat)`,
          [{ key: ActionHostKey, value: placement.host }],
        );
        for (attempt = 1; ; attempt++) {
          view.attempt = attempt;
          answer = await executeOnce();
          if (!answer.again) break;
          outcome = answer.outcome;
          digest = answer.digest;
          showLogTail(outcome.logTail);
          timings.push(...answer.timings);
          log.info('running the action again', { attempt, reason: outcome.reason, exitCode: outcome.exitCode });
        }
        break;
      } catch (err) {
        if (!hostLost(err) || isCancellation(err)) throw err;
        log.warn('host went silent; placing the action again', { host: placement?.host, placements: view.placements });
        answer = undefined;
        if (view.placements >= fleet.maxPlacements) {
          ended = {
            reason: 'no-host',
            message: `host ${placement?.host} went silent and the action was already placed ${view.placements} times (the limit)`,
          };
          host = undefined;
          break;
        }
        setPhase('PENDING', `${waitText} (the last one went silent)`);
      }
    }
  };

  // The deadline cancels the job's own scope (not the workflow): what runs is stopped and
  // collected as for a cancel, and the action then ends FAILED with reason "deadline".
  const root = CancellationScope.current();
  let deadlinePassed = false;
  try {
    if (spec.deadline === undefined) await job();
    else {
      const scope = new CancellationScope();
      let jobDone = false;
      sleep(Math.max(0, startedAt.getTime() + spec.deadline - Date.now()))
        .then(() => {
          if (jobDone) return;
          deadlinePassed = true;
          scope.cancel();
        })
        .catch(() => {}); // cancelled with the workflow: the cancel is handled below
      try {
        await scope.run(job);
      } finally {
        jobDone = true;
      }
    }
  } catch (err) {
    if (isCancellation(err)) canceled = true;
    else ended = finalReason(err) ?? { reason: 'error', message: failureMessage(err) };
  }
  if (deadlinePassed && !root.consideredCancelled) {
    // Cancelled by the deadline, not by a caller.
    canceled = false;
    if (!(answer && !answer.again))
      ended = {
        reason: 'deadline',
        message: describeOutcome(outcome?.exitCode ?? null, 'deadline', formatDuration(spec.deadline!)),
      };
  }

  return await CancellationScope.nonCancellable(async () => {
    let result: ActionResult;
    if (answer && !answer.again) {
      // The host wrote result.json and returned it; its containers are being removed there.
      result = answer.result;
      if (deadlinePassed && !canceled && result.status === 'CANCELED') {
        // The host stopped the container at the deadline and collected what it had.
        result = {
          ...result,
          status: 'FAILED',
          reason: 'deadline',
          message: describeOutcome(result.exitCode, 'deadline', formatDuration(spec.deadline!)),
        };
        result.resultUri = await storeResult(result, spec);
      } else if (canceled && result.status !== 'CANCELED') {
        // The cancel reached the host after its container had ended: the action still ends CANCELED.
        result = {
          ...result,
          status: 'CANCELED',
          reason: 'canceled',
          message: describeOutcome(result.exitCode, 'canceled'),
        };
        result.resultUri = await storeResult(result, spec);
      }
    } else {
      // No host result: no host, a refused image or secret, an error.
      result = assembleResult({
        actionId,
        runId,
        image: spec.image,
        timeoutText: formatDuration(spec.timeout),
        imageDigest: digest,
        host: placement?.host,
        attempts: attempt,
        outcome,
        ended,
        canceled,
        timings,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
      });
      if (placement?.gpus) result.gpus = placement.gpus;
      result.resultUri = await storeResult(result, spec);
      if (host && attempt > 0) {
        await host
          .removeRun({ actionId, runId, attempt, spec: carried, stopGraceSeconds: fleet.stopGraceSeconds })
          .catch((err) => {
            // The host's worker removes leftovers of finished runs when it starts again.
            log.warn('removing the containers did not finish', { error: String(err) });
          });
      }
    }

    showLogTail(result.logTail);
    view.exitCode = result.exitCode;
    view.reason = result.reason;
    view.timings = result.timings;
    view.phase = result.status;
    view.waitingFor = undefined;
    setCurrentDetails(`**${result.status}**: ${result.message}`);
    upsertSearchAttributes([
      { key: ActionStatusKey, value: result.status },
      ...(result.exitCode !== null ? [{ key: ActionExitCodeKey, value: result.exitCode }] : []),
    ]);

    return endWith(result);
  });
}
