// An array: N child actions of one spec, at most `parallelism` at once. Each child is an ordinary
// action workflow ("<array id>-<index>": own artifacts, own status in the UI) told its place
// (ACTION_INDEX, ACTION_COUNT). The parent keeps one compact line per child; after BATCH children
// (or sooner, when the run's history has grown large: children's results are in it) it waits for
// those running and continues as new, so that no run's history grows with the array: 10,000
// trivial children are 20 runs of 500. A sweep (spec/sweep.ts, ./sweep.ts) also carries its best
// child so far and its bounded outputs, and may stop starting children early; a plain array's runs
// take exactly the steps they took before sweeps existed.
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
import { ArrayOptions, type ArrayBest, type ArrayChild, type ArrayResult, type RunArrayInput } from '../spec/array.js';
import type { ActionResult, ActionStatus } from '../spec/result.js';
import { ActionImageKey, ActionStatusKey, ActionTemplateKey } from '../spec/search-attributes.js';
import { WORKFLOW_TYPE, type FleetOptions, type RunActionInput } from '../spec/workflow-api.js';
import { annotationsMemo, labelAttributes } from '../spec/start-metadata.js';
import type { runAction } from './run-action.js';
import { FailureType } from '../spec/failures.js';
import { sweepProblems } from '../spec/sweep.js';
import { noteChild, startSweep, sweepResult, type SweepCarry } from './sweep.js';

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
  /** Only in a sweep's carry (a plain array's carry is as it always was). */
  sweep?: SweepCarry;
}

const STATUS: Record<Line[1], ActionStatus> = { D: 'DONE', F: 'FAILED', C: 'CANCELED' };

/** How a child ended: DONE with its result, FAILED with the result in its failure (when any), or CANCELED. */
function endOf(outcome: { result?: ActionResult; error?: unknown }): { letter: Line[1]; result?: ActionResult } {
  if (outcome.result) return { letter: 'D', result: outcome.result };
  const cause = outcome.error instanceof ChildWorkflowFailure ? outcome.error.cause : outcome.error;
  if (cause instanceof ApplicationFailure && cause.type === FailureType.ActionFailed)
    return { letter: 'F', result: cause.details?.[0] as ActionResult | undefined };
  if (cause instanceof CancelledFailure) return { letter: 'C' };
  return { letter: 'F' };
}

/** What a child's end says: its result (DONE), the result in its failure (FAILED), or CANCELED. */
function lineOf(index: number, { letter, result }: ReturnType<typeof endOf>): Line {
  return [index, letter, result?.exitCode ?? null, result?.resultUri];
}

export async function runArray(
  input: RunArrayInput & { carry?: Carry },
  fleet: FleetOptions = {},
): Promise<ArrayResult> {
  const { workflowId: arrayId } = workflowInfo();
  const { array, spec } = checkedArray(input);
  const count = array.items?.length ?? array.count!;
  const carry: Carry = input.carry ?? newCarry(array);
  const failed = () => carry.lines.filter((l) => l[1] === 'F').length;
  const tooManyFailed = () => array.maxFailures !== undefined && failed() > array.maxFailures;
  const stoppedEarly = () => carry.sweep?.stopped === true;
  const trials = Math.min(count, array.maxTrials ?? count);
  const root = CancellationScope.current();
  const running = new Map<number, Promise<void>>();
  if (!input.carry) upsertSearchAttributes([{ key: ActionStatusKey, value: 'RUNNING' }]);
  const show = () =>
    setCurrentDetails(
      `**RUNNING**: ${carry.lines.length} of ${count} children ended (${failed()} FAILED), ${running.size} running` +
        (carry.sweep?.best ? `; best so far: child ${carry.sweep.best[0]} (${carry.sweep.best[1]})` : ''),
    );

  const roomLeft = () => workflowInfo().historySize < HISTORY_BYTES && !workflowInfo().continueAsNewSuggested;
  for (
    let started = 0;
    carry.next < trials &&
    started < BATCH &&
    roomLeft() &&
    !tooManyFailed() &&
    !stoppedEarly() &&
    !root.consideredCancelled;
    started++
  ) {
    const index = carry.next++;
    const ended = (outcome: { result?: ActionResult; error?: unknown }) => {
      const end = endOf(outcome);
      carry.lines.push(lineOf(index, end));
      if (carry.sweep) noteChild(carry.sweep, array, index, end.letter === 'D', end.result?.output);
    };
    const done = startChild({ input, items: array.items, spec, fleet, count }, index).then(
      (result) => ended({ result }),
      (error: unknown) => ended({ error }),
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
  if (carry.next < trials && !tooManyFailed() && !stoppedEarly() && !root.consideredCancelled) {
    // The next BATCH in a fresh history; what ended so far rides along, one short line a child.
    await continueAsNew<typeof runArray>({ ...input, carry }, fleet);
  }
  const stop: Stop = root.consideredCancelled
    ? 'canceled'
    : tooManyFailed()
      ? 'max-failures'
      : stoppedEarly()
        ? 'early-stop'
        : trials < count
          ? 'max-trials'
          : undefined;
  return endArray(arrayResult(arrayId, count, carry, stop, array));
}

/** A first run's carry: a sweep's state only when the array is a sweep. */
function newCarry(array: z.infer<typeof ArrayOptions>): Carry {
  const carry: Carry = { next: 0, lines: [], startedAt: new Date().toISOString() };
  const sweep = startSweep(array);
  if (sweep) carry.sweep = sweep;
  return carry;
}

/** The array's options and its children's spec, checked: anything refused ends it before a child starts. */
function checkedArray(input: RunArrayInput): { array: z.infer<typeof ArrayOptions>; spec: Action } {
  const options = ArrayOptions.safeParse(input?.array);
  const spec = checkActionSpec(input?.spec);
  const sweep = options.success && spec.success ? sweepProblems(spec.data.output, options.data) : [];
  if (options.success && spec.success && !sweep.length) return { array: options.data, spec: spec.data };
  const problems = [
    ...(options.success ? [] : specProblems(options.error).map((p) => ({ ...p, path: `array.${p.path}` }))),
    ...(spec.success ? [] : specProblems(spec.error)),
    ...sweep,
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

/** Why the array started no more children before the last one, when it did. */
type Stop = 'canceled' | 'max-failures' | 'early-stop' | 'max-trials' | undefined;

/** What the array ends with: each child's line, counted by status, and why it ended. */
function arrayResult(
  arrayId: string,
  count: number,
  carry: Carry,
  stop: Stop,
  array: z.infer<typeof ArrayOptions>,
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
  // A sweep that stopped starting children by its own rule is DONE when every child it started is.
  const planned = stop === 'early-stop' || stop === 'max-trials' ? count - byStatus.NOT_STARTED : count;
  const status: ActionStatus = stop === 'canceled' ? 'CANCELED' : byStatus.DONE === planned ? 'DONE' : 'FAILED';
  const reason: ArrayResult['reason'] =
    stop === 'canceled' || stop === 'max-failures' ? stop : status === 'FAILED' ? 'children-failed' : (stop ?? 'done');
  const sweep = carry.sweep && sweepResult(carry.sweep, array, arrayId, children);
  return {
    actionId: arrayId,
    status,
    reason,
    message: arrayMessage(reason, count, byStatus, array) + (sweep?.best ? bestText(sweep.best, array) : ''),
    count,
    byStatus,
    children,
    ...sweep,
    startedAt: carry.startedAt,
    finishedAt: new Date().toISOString(),
  };
}

/** The array's end in words, with its children counted by status. */
function arrayMessage(
  reason: ArrayResult['reason'],
  count: number,
  byStatus: ArrayResult['byStatus'],
  array: z.infer<typeof ArrayOptions>,
): string {
  const counts = `${byStatus.DONE} DONE, ${byStatus.FAILED} FAILED, ${byStatus.CANCELED} CANCELED, ${byStatus.NOT_STARTED} not started`;
  switch (reason) {
    case 'max-failures':
      return `more than ${array.maxFailures} children FAILED: no more were started, those running finished (${counts})`;
    case 'canceled':
      return `canceled: running children were stopped and collected (${counts})`;
    case 'early-stop':
      return `${array.earlyStop!.patience} children in a row did not improve the best: no more were started, those running finished (${counts})`;
    case 'max-trials':
      return `maxTrials ${array.maxTrials} of ${count} children started (${counts})`;
    default:
      return `${count} children: ${counts}`;
  }
}

/** "; best: child 3 (/loss 0.25)". */
function bestText(best: ArrayBest, array: z.infer<typeof ArrayOptions>): string {
  return `; best: child ${best.index} (${array.objective!.pointer} ${best.value})`;
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
