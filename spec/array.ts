// Arrays: one start runs N actions of one spec (AWS Batch array jobs, Kubernetes Indexed Jobs), each
// a child action of its own ("<array id>-<index>") that gets ACTION_INDEX and ACTION_COUNT, and its
// item (when given items) as its stdin input. The parent workflow starts at most `parallelism` at
// once and summarises them.
import { z } from 'zod';
import type { ActionSpecInput } from './action.js';
import type { ActionStatus } from './result.js';
import { once } from './shared.js';

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
    })
    .strict()
    .superRefine((a, ctx) => {
      if ((a.count === undefined) === (a.items === undefined))
        ctx.addIssue({ code: 'custom', message: 'give count, or items (one child each)' });
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
}

export interface ArrayResult {
  actionId: string;
  status: ActionStatus;
  /** `max-failures` when starting stopped early; `children-failed` when some failed; `canceled`. */
  reason: 'done' | 'children-failed' | 'max-failures' | 'canceled';
  message: string;
  count: number;
  byStatus: Record<ArrayChild['status'], number>;
  /** Every child in index order (ids are "<array id>-<index>"). */
  children: ArrayChild[];
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
