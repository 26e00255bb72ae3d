// The action workflow as it was before one host activity did a run's work: place → pull → run →
// collect → finalize → clean up, one activity each. Runs started then replay through this code
// (runAction takes this path when their history lacks the "one-host-activity" patch marker), so it
// stays as it is until no such run is left: its decisions must not change.
import {
  ActivityFailure,
  CancellationScope,
  TimeoutFailure,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { endWith, finalReason, hostLost, invalidSpec } from './failures.js';
import { answerQueries } from './queries.js';
import { runStoppingOnCancel } from './stop-on-cancel.js';
import type { CollectAnswer, Placement, RunOutcome } from '../activities/types.js';
import { ActionSpec, type Action } from '../spec/action.js';
import { assembleResult, runsAgain, timeStep, type ActionResult, type EndReason, type Phase, type StepTiming } from '../spec/result.js';
import { formatDuration } from '../spec/quantity.js';
import {
  ActionExitCodeKey,
  ActionHostKey,
  ActionImageKey,
  ActionSourceKey,
  ActionStatusKey,
} from '../spec/search-attributes.js';
import { FLEET_DEFAULTS, type FleetOptions, type RunActionInput } from '../spec/workflow-api.js';

// Placement runs on the shared queue: any worker with a free slot may take it. A full host waits up
// to 5 s for a slot, then fails the attempt as retryable HostFull so the next attempt can land on
// another host; the short, capped backoff keeps a waiting action from idling after slots free up.
const placing = { startToCloseTimeout: '30s', retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '2s' } } as const;
const { place } = proxyActivities<Activities>({ ...placing, summary: 'place on a host with free capacity' });
// Finalize needs no particular host: any worker of the shared queue writes result.json.
const { finalize } = proxyActivities<Activities>({ ...placing, summary: 'write result.json next to the artifacts' });

function hostActivities(queue: string, fleet: Required<FleetOptions>, spec: Action) {
  // Schedule-to-start bounds how long a step waits for its host: a host whose worker is gone never
  // starts it, and the action is placed again elsewhere instead of waiting forever.
  const scheduleToStartTimeout = fleet.hostTimeoutSeconds * 1000;
  const base = { taskQueue: queue, scheduleToStartTimeout };
  const command = [...(spec.command ?? []), ...(spec.args ?? [])].join(' ');
  const pull = proxyActivities<Activities>({
    ...base,
    summary: `pull ${spec.image}`,
    startToCloseTimeout: '30m',
    // A pull heartbeats on every progress message; a minute without one means it is stuck.
    heartbeatTimeout: '60s',
    retry: {
      initialInterval: '2s',
      backoffCoefficient: 2,
      maximumAttempts: 5,
      nonRetryableErrorTypes: ['ImageNotFound', 'ImageUnauthorized', 'ImageNotAllowed'],
    },
  });
  const run = proxyActivities<Activities>({
    ...base,
    summary: `run ${command || 'the image default command'}`.slice(0, 200),
    // The container's own deadline is enforced inside the activity; this only bounds a stuck attempt.
    startToCloseTimeout: spec.timeout + fleet.stopGraceSeconds * 1000 + 5 * 60_000,
    // Heartbeats, not start-to-close, detect a crashed worker quickly: the retry re-attaches to the
    // container, which kept running meanwhile.
    heartbeatTimeout: '15s',
    retry: {
      initialInterval: '1s',
      maximumInterval: '10s',
      maximumAttempts: 20,
      nonRetryableErrorTypes: ['GpuUnavailable', 'SecretMissing'],
    },
  });
  const collect = proxyActivities<Activities>({
    ...base,
    summary: 'upload /out and the logs to S3',
    startToCloseTimeout: '2h',
    heartbeatTimeout: '60s',
    // S3 outages are waited out: the container is never run again to get its output back.
    retry: { initialInterval: '2s', maximumInterval: '60s', maximumAttempts: 30 },
  });
  const quick = proxyActivities<Activities>({
    ...base,
    summary: 'stop or remove the container',
    startToCloseTimeout: `${fleet.stopGraceSeconds + 60}s`,
    retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 10 },
  });
  return {
    pull: pull.pull,
    runContainer: run.runContainer,
    stopContainer: quick.stopContainer,
    collect: collect.collect,
    cleanup: quick.cleanup,
  };
}

export async function legacyRunAction(input: RunActionInput, fleetOptions: FleetOptions = {}): Promise<ActionResult> {
  const { workflowId: actionId, runId } = workflowInfo();
  const fleet: Required<FleetOptions> = { ...FLEET_DEFAULTS, ...fleetOptions };
  const startedAt = new Date();
  const timings: StepTiming[] = [];
  const { view, showLogTail } = answerQueries(actionId, input, timings);

  const setPhase = (phase: Phase, waitingFor?: string) => {
    view.phase = phase;
    view.waitingFor = waitingFor;
    setCurrentDetails(waitingFor ? `**${phase}**: waiting for ${waitingFor}` : `**${phase}**`);
    upsertSearchAttributes([{ key: ActionStatusKey, value: phase }]);
  };
  const timed = <T>(step: StepTiming['step'], fn: () => Promise<T>) => timeStep(timings, step, fn);

  const parsed = ActionSpec.safeParse(input?.spec);
  if (!parsed.success) {
    setPhase('FAILED');
    throw invalidSpec(parsed.error);
  }
  const spec = parsed.data;
  upsertSearchAttributes([
    { key: ActionImageKey, value: spec.image },
    ...(spec.source ? [{ key: ActionSourceKey, value: spec.source }] : []),
  ]);

  let placement: Placement | undefined;
  let host: ReturnType<typeof hostActivities> | undefined;
  let digest: string | undefined;
  let outcome: RunOutcome | undefined;
  let attempt = 0;
  let canceled = false;
  let ended: { reason: EndReason; message: string } | undefined;

  const runOnce = async (): Promise<RunOutcome> => {
    const request = { actionId, runId, attempt, spec, stopGraceSeconds: fleet.stopGraceSeconds };
    // The run itself is never cancelled from here: on cancel the workflow asks the host to stop the
    // container, and the run activity then reports how it ended, logs and all.
    return runStoppingOnCancel(
      () => host!.runContainer(request),
      () => host!.stopContainer(request),
      () => (canceled = true),
    );
  };

  const shouldRunAgain = (result: RunOutcome): boolean => !canceled && runsAgain(spec.retry, attempt, result);

  try {
    for (view.placements = 1; ; view.placements++) {
      try {
        setPhase('PENDING', 'a host with free capacity');
        placement = await timed('place', () => place({ actionId, runId }));
        host = hostActivities(placement.hostQueue, fleet, spec);
        view.host = placement.host;
        upsertSearchAttributes([{ key: ActionHostKey, value: placement.host }]);

        setPhase('PULLING', `the image pull on ${placement.host}`);
        digest = (await timed('pull', () => host!.pull({ actionId, runId, image: spec.image }))).digest;

        setPhase('RUNNING');
        for (attempt = 1; ; attempt++) {
          view.attempt = attempt;
          outcome = await timed('run', runOnce);
          showLogTail(outcome.logTail);
          if (!shouldRunAgain(outcome)) break;
          log.info('running the action again', { attempt, reason: outcome.reason, exitCode: outcome.exitCode });
          await host.cleanup({ actionId, runId, attempt, spec, stopGraceSeconds: fleet.stopGraceSeconds });
        }
        break;
      } catch (err) {
        if (!hostLost(err) || isCancellation(err)) throw err;
        log.warn('host went silent; placing the action again', { host: placement?.host, placements: view.placements });
        if (view.placements >= fleet.maxPlacements) {
          ended = {
            reason: 'no-host',
            message: `host ${placement?.host} went silent and the action was already placed ${view.placements} times (the limit)`,
          };
          host = undefined;
          break;
        }
        outcome = undefined;
      }
    }
  } catch (err) {
    if (isCancellation(err)) canceled = true;
    else ended = finalReason(err) ?? { reason: 'error', message: err instanceof Error ? err.message : String(err) };
  }

  // Collecting, finalizing and cleaning up happen whatever happened above, cancellation included.
  return await CancellationScope.nonCancellable(async () => {
    let collected: CollectAnswer | undefined;
    if (host && outcome) {
      setPhase('COLLECTING');
      const includeOut = spec.collect === 'always' || (spec.collect === 'on-success' && outcome.exitCode === 0);
      try {
        collected = await timed('collect', () => host!.collect({ actionId, runId, attempt, spec, includeOut }));
      } catch (err) {
        ended ??= { reason: 'error', message: `collecting output failed: ${err instanceof Error ? err.message : err}` };
      }
    }

    const result = assembleResult({
      actionId,
      runId,
      image: spec.image,
      timeoutText: formatDuration(spec.timeout),
      imageDigest: digest,
      host: placement?.host,
      attempts: attempt,
      outcome,
      collected,
      ended,
      canceled,
      timings,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
    });
    const { status, reason } = result;
    // Writing result.json and removing the container are independent: both at once end the run sooner.
    const finalizing = timed('finalize', () => finalize({ result, bucket: spec.artifacts.bucket, prefix: spec.artifacts.prefix }));
    const cleaning = host
      ? timed('cleanup', () => host!.cleanup({ actionId, runId, attempt: 0, spec, stopGraceSeconds: fleet.stopGraceSeconds })).catch(
          (err) => {
            // The host's worker removes leftovers of finished runs when it starts again.
            log.warn('clean-up did not finish', { error: String(err) });
          },
        )
      : Promise.resolve();
    const [resultUri] = await Promise.all([finalizing, cleaning]);
    result.resultUri = resultUri;

    view.exitCode = result.exitCode;
    view.reason = reason;
    setPhase(status);
    if (result.exitCode !== null) upsertSearchAttributes([{ key: ActionExitCodeKey, value: result.exitCode }]);

    return endWith(result);
  });
}
