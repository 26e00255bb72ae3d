// An array: N child actions of one spec, at most `parallelism` at once. Each child is an ordinary
// action workflow ("<array id>-<index>": own artifacts, own status in the UI) told its place
// (ACTION_INDEX, ACTION_COUNT). The parent keeps one compact line per child; after BATCH children
// (or sooner, when the run's history has grown large: children's results are in it) it waits for
// those running and continues as new, so that no run's history grows with the array: 10,000
// trivial children are 20 runs of 500.
import {
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  ChildWorkflowFailure,
  ParentClosePolicy,
  continueAsNew,
  executeChild,
  patched,
  setCurrentDetails,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import { checkActionSpec, formatProblems, specProblems, type Action } from '../spec/action.js';
import { ArrayOptions, type ArrayChild, type ArrayResult, type RunArrayInput } from '../spec/array.js';
import type { ActionResult, ActionStatus } from '../spec/result.js';
import { ActionImageKey, ActionStatusKey, ActionTemplateKey } from '../spec/search-attributes.js';
import { WORKFLOW_TYPE, type FleetOptions, type RunActionInput } from '../spec/workflow-api.js';
import { annotationsMemo, labelAttributes } from '../spec/start-metadata.js';
import type { runAction } from './run-action.js';
import { FailureType } from '../spec/failures.js';

/**
 * Children of a spec with labels or annotations carry them as the client sets them on an action
 * (ActionLabels, the memo). Asked only when there are some: a run without them records no marker.
 */
const CHILD_METADATA = 'array-child-metadata';

/** Children started per run of the parent before it continues as new. */
export const BATCH = 500;
/**
 * Or sooner, once the run's history holds this much: each ended child's result is in it (up to a
 * few hundred KiB for one that lists 1000 artifacts), and Temporal warns at 10 MiB and refuses 50.
 */
const HISTORY_BYTES = 4 << 20;
/** Children listed with their id and result URI (beyond, the patterns in the result name them). */
const LISTED_IN_FULL = 1000;

/** One child as the parent carries it: index, status letter, exit code, result URI. */
type Line = [number, 'D' | 'F' | 'C', number | null, string | undefined];

interface Carry {
  next: number;
  lines: Line[];
  startedAt: string;
}

const STATUS: Record<Line[1], ActionStatus> = { D: 'DONE', F: 'FAILED', C: 'CANCELED' };

/** What a child's end says: its result (DONE), the result in its failure (FAILED), or CANCELED. */
function lineOf(index: number, outcome: { result?: ActionResult; error?: unknown }): Line {
  if (outcome.result) return [index, 'D', outcome.result.exitCode, outcome.result.resultUri];
  const cause = outcome.error instanceof ChildWorkflowFailure ? outcome.error.cause : outcome.error;
  if (cause instanceof ApplicationFailure && cause.type === FailureType.ActionFailed) {
    const result = cause.details?.[0] as ActionResult | undefined;
    return [index, 'F', result?.exitCode ?? null, result?.resultUri];
  }
  if (cause instanceof CancelledFailure) return [index, 'C', null, undefined];
  return [index, 'F', null, undefined];
}

export async function runArray(
  input: RunArrayInput & { carry?: Carry },
  fleet: FleetOptions = {},
): Promise<ArrayResult> {
  const { workflowId: arrayId } = workflowInfo();
  const { array, spec } = checkedArray(input);
  const count = array.items?.length ?? array.count!;
  const carry: Carry = input.carry ?? { next: 0, lines: [], startedAt: new Date().toISOString() };
  const failed = () => carry.lines.filter((l) => l[1] === 'F').length;
  const tooManyFailed = () => array.maxFailures !== undefined && failed() > array.maxFailures;
  const root = CancellationScope.current();
  const running = new Map<number, Promise<void>>();
  if (!input.carry) upsertSearchAttributes([{ key: ActionStatusKey, value: 'RUNNING' }]);
  const show = () =>
    setCurrentDetails(
      `**RUNNING**: ${carry.lines.length} of ${count} children ended (${failed()} FAILED), ${running.size} running`,
    );

  const roomLeft = () => workflowInfo().historySize < HISTORY_BYTES && !workflowInfo().continueAsNewSuggested;
  for (
    let started = 0;
    carry.next < count && started < BATCH && roomLeft() && !tooManyFailed() && !root.consideredCancelled;
    started++
  ) {
    const index = carry.next++;
    const done = startChild({ input, items: array.items, spec, fleet, count }, index).then(
      (result) => void carry.lines.push(lineOf(index, { result })),
      (error: unknown) => void carry.lines.push(lineOf(index, { error })),
    );
    running.set(
      index,
      done.finally(() => running.delete(index)),
    );
    show();
    if (running.size >= array.parallelism) await Promise.race(running.values());
  }
  await Promise.all(running.values());
  show();
  if (carry.next < count && !tooManyFailed() && !root.consideredCancelled) {
    // The next BATCH in a fresh history; what ended so far rides along, one short line a child.
    await continueAsNew<typeof runArray>({ ...input, carry }, fleet);
  }
  const result = arrayResult(arrayId, count, carry, root.consideredCancelled, tooManyFailed(), array.maxFailures);
  return endArray(result);
}

/** The array's options and its children's spec, checked: anything refused ends it before a child starts. */
function checkedArray(input: RunArrayInput): { array: z.infer<typeof ArrayOptions>; spec: Action } {
  const options = ArrayOptions.safeParse(input?.array);
  const spec = checkActionSpec(input?.spec);
  if (options.success && spec.success) return { array: options.data, spec: spec.data };
  const problems = [
    ...(options.success ? [] : specProblems(options.error).map((p) => ({ ...p, path: `array.${p.path}` }))),
    ...(spec.success ? [] : specProblems(spec.error)),
  ];
  throw ApplicationFailure.create({
    type: FailureType.InvalidSpec,
    nonRetryable: true,
    message: `invalid array:\n${formatProblems(problems)}`,
    details: [{ problems }],
  });
}

/** What every child of an array is started from. */
interface ChildSource {
  input: RunArrayInput;
  items: unknown[] | undefined;
  spec: Action;
  fleet: FleetOptions;
  count: number;
}

/** Starts child `index` ("<array id>-<index>"), told its place in the array. */
function startChild({ input, items, spec, fleet, count }: ChildSource, index: number): Promise<ActionResult> {
  const { workflowId: arrayId, taskQueue } = workflowInfo();
  const child: RunActionInput = {
    spec: items ? { ...input.spec, input: items[index] } : input.spec,
    member: { index, count },
  };
  const metadata = (spec.labels !== undefined || spec.annotations !== undefined) && patched(CHILD_METADATA);
  return executeChild<typeof runAction>(WORKFLOW_TYPE, {
    workflowId: `${arrayId}-${index}`,
    taskQueue,
    args: [child, fleet],
    // A cancelled array cancels its children, which stop their containers and collect /out.
    parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    typedSearchAttributes: [
      { key: ActionStatusKey, value: 'PENDING' },
      { key: ActionImageKey, value: spec.image },
      ...(spec.template ? [{ key: ActionTemplateKey, value: spec.template }] : []),
      ...(metadata ? labelAttributes(spec) : []),
    ],
    ...(metadata ? annotationsMemo(spec) : {}),
    staticSummary: `child ${index} of ${count} of array ${arrayId}`,
  });
}

/** What the array ends with: each child's line, counted by status, and why it ended. */
function arrayResult(
  arrayId: string,
  count: number,
  carry: Carry,
  canceled: boolean,
  stopped: boolean,
  maxFailures: number | undefined,
): ArrayResult {
  const byIndex = new Map(carry.lines.map((l) => [l[0], l]));
  const byStatus: ArrayResult['byStatus'] = { DONE: 0, FAILED: 0, CANCELED: 0, NOT_STARTED: 0 };
  const children: ArrayChild[] = [];
  for (let index = 0; index < count; index++) {
    const line = byIndex.get(index);
    const status = line ? STATUS[line[1]] : 'NOT_STARTED';
    byStatus[status]++;
    children.push({
      index,
      ...(count <= LISTED_IN_FULL ? { actionId: `${arrayId}-${index}` } : {}),
      status,
      exitCode: line?.[2] ?? null,
      ...(count <= LISTED_IN_FULL && line?.[3] ? { resultUri: line[3] } : {}),
    });
  }
  const status: ActionStatus = canceled ? 'CANCELED' : byStatus.DONE === count ? 'DONE' : 'FAILED';
  const reason: ArrayResult['reason'] = canceled
    ? 'canceled'
    : stopped
      ? 'max-failures'
      : status === 'DONE'
        ? 'done'
        : 'children-failed';
  const counts = `${byStatus.DONE} DONE, ${byStatus.FAILED} FAILED, ${byStatus.CANCELED} CANCELED, ${byStatus.NOT_STARTED} not started`;
  const message =
    reason === 'max-failures'
      ? `more than ${maxFailures} children FAILED: no more were started, those running finished (${counts})`
      : reason === 'canceled'
        ? `canceled: running children were stopped and collected (${counts})`
        : `${count} children: ${counts}`;
  return {
    actionId: arrayId,
    status,
    reason,
    message,
    count,
    byStatus,
    children,
    startedAt: carry.startedAt,
    finishedAt: new Date().toISOString(),
  };
}

/** Ends the execution as the array's result says: completed for DONE, failed or cancelled with it attached. */
function endArray(result: ArrayResult): ArrayResult {
  const { status, message } = result;
  setCurrentDetails(`**${status}**: ${message}`);
  upsertSearchAttributes([{ key: ActionStatusKey, value: status }]);
  if (status === 'CANCELED') {
    upsertMemo({ result });
    throw new CancelledFailure(message, [result]);
  }
  if (status === 'FAILED')
    throw ApplicationFailure.create({ type: FailureType.ArrayFailed, nonRetryable: true, message, details: [result] });
  return result;
}
