// A gang's replicas, each a child action ("<gang id>-replica-<rank>") started where the gang's
// placement reserved its room, told its rank and its peers. They live and end together: the first
// replica that fails makes the gang stop the others (they end CANCELED, their output collected),
// and a cancel of the gang cancels them all.
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  executeChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { Placement } from '../activities/types.js';
import { FailureType } from '../spec/failures.js';
import { replicaActionId, type GangMember, type GangPeer, type ReplicaOutcome } from '../spec/gang.js';
import type { ActionResult } from '../spec/result.js';
import { ActionImageKey, ActionStatusKey, ActionTemplateKey } from '../spec/search-attributes.js';
import { WORKFLOW_TYPE, type RunActionInput } from '../spec/workflow-api.js';
import type { runAction } from './run-action.js';
import type { GangState, RunContext } from './run-state.js';

/** Runs one attempt of the gang on its placements; resolves with every replica's end, by rank. */
export async function runReplicas(
  run: RunContext,
  gang: GangState,
  placements: Placement[],
): Promise<ReplicaOutcome[]> {
  const peers: GangPeer[] = placements.map((p, rank) => ({
    rank,
    host: p.host,
    address: p.address ?? p.host,
    port: p.port ?? 0,
  }));
  gang.replicas = placements.map((p, rank) => ({
    rank,
    actionId: replicaActionId(run.actionId, rank, gang.attempt),
    host: p.host,
    phase: 'RUNNING',
  }));
  gang.ends = [];
  const ends: ReplicaOutcome[] = new Array<ReplicaOutcome>(placements.length);
  const scope = new CancellationScope();
  let stopping = false;
  const children = placements.map((placement, rank) => {
    const actionId = gang.replicas[rank]!.actionId;
    const replica: GangMember = {
      index: rank,
      count: placements.length,
      gangId: run.actionId,
      gangRunId: run.runId,
      attempt: gang.attempt,
      peers,
      hostQueue: placement.hostQueue,
      ...(placement.gpus ? { gpus: placement.gpus } : {}),
    };
    return scope
      .run(() => startReplica(run, actionId, replica))
      .then(
        (result): ChildEnd => ({ result, status: 'DONE' }),
        (error: unknown) => endOf(error),
      )
      .then(({ result, status, message }) => {
        const stoppedByGang = status !== 'DONE' && stopping;
        ends[rank] = {
          rank,
          actionId,
          host: placement.host,
          status,
          ...(result ? { result } : {}),
          ...(message ? { message } : {}),
          ...(stoppedByGang ? { stoppedByGang } : {}),
        };
        gang.replicas[rank]!.phase = status;
        if (status !== 'DONE' && !stopping) {
          // One replica down: the others cannot finish the job without it.
          stopping = true;
          scope.cancel();
        }
      });
  });
  await Promise.all(children);
  gang.ends = ends;
  return ends;
}

/** Replica `replica.index`'s child action: the gang's spec, run once (the gang retries as a whole). */
function startReplica(run: RunContext, actionId: string, replica: GangMember): Promise<ActionResult> {
  // The spec as the gang was started with it (quantities as written: the child checks it again).
  // The gang's deadline is kept by the gang, which stops its replicas when it passes; and a
  // replica runs once, since the gang retries as a whole.
  const { deadline: _deadline, ...rest } = run.input.spec;
  const spec: RunActionInput['spec'] = { ...rest, retry: { ...rest.retry, attempts: 1 } };
  const input: RunActionInput = { spec, replica };
  return executeChild<typeof runAction>(WORKFLOW_TYPE, {
    workflowId: actionId,
    taskQueue: workflowInfo().taskQueue,
    args: [input, run.fleet],
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    typedSearchAttributes: [
      { key: ActionStatusKey, value: 'PENDING' },
      { key: ActionImageKey, value: run.spec.image },
      ...(run.spec.template ? [{ key: ActionTemplateKey, value: run.spec.template }] : []),
    ],
    staticSummary: `replica ${replica.index} of ${replica.count} of gang ${run.actionId} (attempt ${replica.attempt})`,
  });
}

/** A child's failure: FAILED with the result it carries, or CANCELED. */
interface ChildEnd {
  result?: ActionResult;
  status: ReplicaOutcome['status'];
  message?: string;
}

function endOf(error: unknown): ChildEnd {
  const cause = error instanceof ChildWorkflowFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && cause.type === FailureType.ActionFailed) {
    const result = cause.details?.[0] as ActionResult | undefined;
    return { status: 'FAILED', ...(result ? { result } : { message: cause.message }) };
  }
  if (cause instanceof CancelledFailure) {
    const result = cause.details?.[0] as ActionResult | undefined;
    return { status: 'CANCELED', ...(result ? { result } : { message: cause.message }) };
  }
  return { status: 'FAILED', message: cause instanceof Error ? cause.message : String(cause) };
}
