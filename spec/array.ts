// Arrays: one start runs N actions of one spec (AWS Batch array jobs, Kubernetes Indexed Jobs), each
// a child action of its own ("<array id>-<index>") that gets ACTION_INDEX and ACTION_COUNT, and its
// item (when given items) as its stdin input. The parent workflow starts at most `parallelism` at
// once and summarises them. A sweep (spec/sweep.ts) also keeps their outputs and picks the best.
import { z } from 'zod';
import type { ActionSpecInput } from './action.js';
import type { ActionStatus } from './result.js';
import { once } from './shared.js';
import { EarlyStop, Objective, type ObjectiveOptions } from './sweep.js';

export const ARRAY_WORKFLOW_TYPE = 'runArray';
/** The most children one array runs: its summary and its history stay within Temporal's limits. */
export const MAX_ARRAY_COUNT = 10_000;

export const ArrayOptions = once('array/ArrayOptions', () =>
  z
    .object({
      count: z
        .number()
        .int()
        .min(1, 'count is at least 1')
        .max(MAX_ARRAY_COUNT, `count is at most ${MAX_ARRAY_COUNT}`)
        .optional(),
      /** Each item is one child's stdin input (JSON); their number is the count. */
      items: z
        .array(z.unknown())
        .min(1, 'items holds at least one item')
        .max(MAX_ARRAY_COUNT, `at most ${MAX_ARRAY_COUNT} items`)
        .optional(),
      /** At most this many children run at once (default 10). */
      parallelism: z
        .number()
        .int()
        .min(1, 'parallelism is at least 1')
        .max(1000, 'parallelism is at most 1000')
        .default(10),
      /**
       * Once more children than this have FAILED, no new child starts; those running finish (never
       * cancelled: what they do is kept). Without it every child runs whatever fails.
       */
      maxFailures: z.number().int().min(0, 'maxFailures is 0 or more').optional(),
      /** The number in each child's JSON output to optimise: the result names the best child. */
      objective: Objective.optional(),
      /** Keep each child's JSON output in the result (bounded: spec/sweep.ts). */
      outputs: z.boolean().optional(),
      /** Stop starting children once `patience` of them in a row ended without improving the best. */
      earlyStop: EarlyStop.optional(),
      /** Start at most this many children (the first ones by index), of count or items. */
      maxTrials: z
        .number()
        .int()
        .min(1, 'maxTrials is at least 1')
        .max(MAX_ARRAY_COUNT, `maxTrials is at most ${MAX_ARRAY_COUNT}`)
        .optional(),
    })
    .strict()
    .superRefine((a, ctx) => {
      if ((a.count === undefined) === (a.items === undefined))
        ctx.addIssue({ code: 'custom', message: 'give count, or items (one child each)' });
      if (a.earlyStop && !a.objective)
        ctx.addIssue({ code: 'custom', path: ['earlyStop'], message: 'earlyStop needs an objective to improve' });
    }),
);

export type ArrayOptionsInput = z.input<typeof ArrayOptions>;

export interface RunArrayInput {
  spec: ActionSpecInput;
  array: ArrayOptionsInput;
}

/** One child, as the array's result lists it. */
export interface ArrayChild {
  index: number;
  /** "<array id>-<index>"; listed for arrays of up to 1000 (beyond, the id is that pattern). */
  actionId?: string;
  status: ActionStatus | 'NOT_STARTED';
  exitCode: number | null;
  resultUri?: string;
  /** With an objective, for a DONE child: its number at the pointer, or null where its output had none. */
  value?: number | null;
  /** With `outputs`: its JSON output, unless too large to keep (then `outputOmitted` says why). */
  output?: unknown;
  outputOmitted?: string;
}

/** The best child of a sweep: the lowest (minimize) or highest (maximize) value, the first to reach it. */
export interface ArrayBest {
  index: number;
  id: string;
  value: number;
}

export interface ArrayResult {
  actionId: string;
  status: ActionStatus;
  /**
   * `max-failures` when starting stopped for failures; `children-failed` when some failed;
   * `canceled`; a sweep that stopped starting children and whose started children are all DONE
   * ends DONE with `early-stop` (patience ran out) or `max-trials`.
   */
  reason: 'done' | 'children-failed' | 'max-failures' | 'canceled' | 'early-stop' | 'max-trials';
  message: string;
  count: number;
  byStatus: Record<ArrayChild['status'], number>;
  /** Every child in index order (ids are "<array id>-<index>"). */
  children: ArrayChild[];
  /** With an objective: the best child, when any DONE child had a value. */
  best?: ArrayBest;
  /** With an objective: what it was, and how many DONE children had a value and how many had none. */
  objective?: ObjectiveOptions & { withValue: number; withoutValue: number };
  /** With `outputs`: how many outputs were not kept (each child's `outputOmitted` says why). */
  outputsOmitted?: number;
  startedAt: string;
  finishedAt: string;
}

/** What a child is told of its place in the array (ACTION_INDEX, ACTION_COUNT). */
export const ArrayMemberSchema = once('array/ArrayMemberSchema', () =>
  z.object({
    index: z.number().int().nonnegative(),
    count: z.number().int().positive().max(MAX_ARRAY_COUNT),
  }),
);
export type ArrayMember = z.infer<typeof ArrayMemberSchema>;
