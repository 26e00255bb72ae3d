// Starting an array (spec/array.ts) and reading its result: the parent workflow `runArray`, whose
// children are ordinary actions "<array id>-<index>"; for a sweep, its best child and the outputs
// it kept.
import { randomUUID } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import {
  ActionId,
  InvalidSpecError,
  LIMITS,
  checkActionSpec,
  parseActionSpec,
  specProblems,
  type ActionSpecInput,
  type SpecProblem,
} from '../spec/action.js';
import {
  ARRAY_WORKFLOW_TYPE,
  ArrayOptions,
  type ArrayBest,
  type ArrayOptionsInput,
  type ArrayResult,
  type RunArrayInput,
} from '../spec/array.js';
import { ActionImageKey, ActionStatusKey } from '../spec/search-attributes.js';
import type { FleetOptions } from '../spec/workflow-api.js';
import type { runArray } from '../workflows/run-array.js';
import { settledResult } from './settled-result.js';
import { FailureType } from '../spec/failures.js';
import { annotationsMemo, labelAttributes } from '../spec/start-metadata.js';
import { sweepProblems } from '../spec/sweep.js';

export class ArrayHandle {
  constructor(
    readonly actionId: string,
    private readonly workflow: WorkflowHandle,
  ) {}

  /** The array's result for every outcome: DONE, FAILED and CANCELED all resolve. */
  result(): Promise<ArrayResult> {
    return settledResult<ArrayResult>(this.workflow, FailureType.ArrayFailed);
  }

  /** A sweep's best child (the array's objective), once it ended; undefined when no DONE child had a value. */
  async best(): Promise<ArrayBest | undefined> {
    return (await this.result()).best;
  }

  /** Cancels the array: no child starts any more, running ones stop and are collected. */
  async cancel(): Promise<void> {
    await this.workflow.cancel();
  }
}

/** Every problem of the spec, the array options and each item as a child's input (the first 20). */
export function arrayProblems(spec: ActionSpecInput, array: ArrayOptionsInput): SpecProblem[] {
  const problems: SpecProblem[] = [];
  const options = ArrayOptions.safeParse(array);
  if (!options.success) problems.push(...specProblems(options.error).map((p) => ({ ...p, path: `array.${p.path}` })));
  const base = checkActionSpec(spec);
  if (!base.success) problems.push(...specProblems(base.error));
  if (base.success && options.success) problems.push(...sweepProblems(base.data.output, options.data));
  const bytes = new TextEncoder().encode(JSON.stringify({ spec, array })).length;
  if (bytes > LIMITS.specBytes)
    problems.push({
      path: 'array.items',
      message: `the spec and items are ${bytes} bytes as JSON; at most ${LIMITS.specBytes} (put large data in inputs)`,
    });
  else if (base.success && options.success && options.data.items) {
    for (const [i, item] of options.data.items.entries()) {
      const child = checkActionSpec({ ...spec, input: item });
      if (!child.success)
        problems.push(
          ...specProblems(child.error).map((p) => ({ ...p, path: p.path.replace(/^input/, `array.items.${i}`) })),
        );
      if (problems.length >= 20) break;
    }
  }
  return problems;
}

export async function startArray(
  client: Client,
  taskQueue: string,
  spec: ActionSpecInput,
  array: ArrayOptionsInput,
  options: { actionId?: string; fleet?: FleetOptions } = {},
): Promise<ArrayHandle> {
  const problems = arrayProblems(spec, array);
  const actionId = options.actionId ?? `array-${randomUUID()}`;
  const id = ActionId.safeParse(actionId);
  if (!id.success) problems.push({ path: 'actionId', message: id.error.issues[0]!.message });
  if (problems.length) throw new InvalidSpecError(problems);
  const input: RunArrayInput = { spec, array };
  const parsed = parseActionSpec(spec);
  const handle = await client.workflow.start<typeof runArray>(ARRAY_WORKFLOW_TYPE, {
    workflowId: actionId,
    taskQueue,
    args: [input, options.fleet ?? {}],
    workflowIdReusePolicy: 'REJECT_DUPLICATE',
    typedSearchAttributes: [
      { key: ActionStatusKey, value: 'PENDING' },
      { key: ActionImageKey, value: parsed.image },
      ...labelAttributes(parsed),
    ],
    ...annotationsMemo(parsed),
    staticSummary: `array of ${array.items?.length ?? array.count} × ${parsed.image}`.slice(0, 200),
  });
  return new ArrayHandle(actionId, handle);
}

/**
 * The outputs a sweep kept (`outputs: true`), by child index: children whose output was not kept
 * (too large; `outputOmitted` says why) or that printed none are absent.
 */
export function keptOutputs(result: ArrayResult): Map<number, unknown> {
  return new Map(result.children.filter((c) => 'output' in c).map((c) => [c.index, c.output]));
}
