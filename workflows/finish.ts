// The end of an action run, never cancelled: its result (the host's, restated where the workflow
// knows better, or put together here when no host wrote one), result.json, and the final status.
import { log, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { Action } from '../spec/action.js';
import { formatDuration } from '../spec/quantity.js';
import { assembleResult, deadlineEnding, phaseAfter, restatedResult, type ActionResult } from '../spec/result.js';
import { firstFailed, gangArtifacts, gangVerdict, replicaEnd, type ReplicaOutcome } from '../spec/gang.js';
import { ActionExitCodeKey, ActionStatusKey } from '../spec/search-attributes.js';
import { finalizer } from './activity-proxies.js';
import { endWith, failureMessage } from './failures.js';
import type { RunContext, RunState } from './run-state.js';

/** The run's result shown as its final status; the execution ends as the result says. */
export async function finish(run: RunContext, state: RunState): Promise<ActionResult> {
  const result = state.gang?.ends.length
    ? await fromGang(run, state, state.gang.ends)
    : state.hostResult
      ? await fromHost(run, state, state.hostResult)
      : await withoutHost(run, state);
  state.logTail = result.logTail;
  state.result = result;
  state.phase = phaseAfter(state.phase, { kind: 'ended', status: result.status });
  setCurrentDetails(`**${result.status}**: ${result.message}`);
  upsertSearchAttributes([
    { key: ActionStatusKey, value: result.status },
    ...(result.exitCode !== null ? [{ key: ActionExitCodeKey, value: result.exitCode }] : []),
  ]);
  return endWith(result);
}

/** The host wrote result.json and returned it; its containers are being removed there. */
async function fromHost(run: RunContext, state: RunState, hostResult: ActionResult): Promise<ActionResult> {
  const { canceled, deadlinePassed } = state;
  const restated = restatedResult(hostResult, { canceled, deadlinePassed, deadline: run.spec.deadline });
  if (!restated) return hostResult;
  restated.resultUri = await storeResult(restated, run.spec);
  return restated;
}

/** A gang's replicas ran: its result is theirs together, each one's /out under replica-<rank>/. */
async function fromGang(run: RunContext, state: RunState, ends: ReplicaOutcome[]): Promise<ActionResult> {
  const { spec } = run;
  const lead = ends[0]?.result;
  const verdict = state.deadlinePassed
    ? { status: 'FAILED' as const, exitCode: null, ...deadlineEnding(null, spec.deadline!) }
    : gangVerdict(ends, state.canceled);
  const result: ActionResult = {
    actionId: run.actionId,
    runId: run.runId,
    ...verdict,
    image: spec.image,
    ...(lead?.imageDigest ? { imageDigest: lead.imageDigest } : {}),
    ...(ends[0]?.host ? { host: ends[0].host } : {}),
    attempts: state.gang!.attempt,
    timings: state.timings,
    ...gangArtifacts(ends),
    // The gang's own logs are rank 0's; each replica's are in its own action (replicas[].actionId).
    ...(lead?.logs ? { logs: lead.logs } : {}),
    logTail: (firstFailed(ends)?.result ?? lead)?.logTail ?? [],
    ...(lead?.output !== undefined ? { output: lead.output } : {}),
    replicas: ends.map(replicaEnd),
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  };
  result.resultUri = await storeResult(result, spec);
  return result;
}

/** No host result: no host, a refused image or secret, an error. */
async function withoutHost(run: RunContext, state: RunState): Promise<ActionResult> {
  const { spec, fleet } = run;
  const { placement, host, attempt } = state;
  const result = assembleResult({
    actionId: run.actionId,
    runId: run.runId,
    image: spec.image,
    timeoutText: formatDuration(spec.timeout),
    imageDigest: state.digest,
    host: placement?.host,
    attempts: attempt,
    outcome: state.outcome,
    ended: state.ended,
    canceled: state.canceled,
    timings: state.timings,
    startedAt: run.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  });
  if (placement?.gpus) result.gpus = placement.gpus;
  result.resultUri = await storeResult(result, spec);
  if (host && attempt > 0) {
    await host
      .removeRun({
        actionId: run.actionId,
        runId: run.runId,
        attempt,
        spec: run.carried,
        stopGraceSeconds: fleet.stopGraceSeconds,
      })
      .catch((err) => {
        // The host's worker removes leftovers of finished runs when it starts again.
        log.warn('removing the containers did not finish', { error: String(err) });
      });
  }
  return result;
}

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
