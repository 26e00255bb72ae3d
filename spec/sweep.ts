// Sweeps: an array whose children each print a JSON result, of which the array keeps the outputs
// (bounded) and picks the best by one number in them (`objective`), and may stop starting children
// once the best has stopped improving (`earlyStop`) or after `maxTrials`. The options' schemas and
// the pure rules the workflow and the client share.
import { z } from 'zod';
import type { SpecProblem } from './action.js';
import { JsonPointer, valueAt } from './json-pointer.js';
import { once } from './shared.js';

/** A child's output larger than this (as JSON) is not kept in the array's result. */
export const OUTPUT_BYTES_PER_CHILD = 64 << 10;
/**
 * All outputs an array keeps, together: its result (and the input it continues as new with) stay
 * well under Temporal's 2 MiB payload limit, with room for one line per child of 2,000 and more.
 */
export const OUTPUT_BYTES_TOTAL = 1 << 20;

export const Objective = once('sweep/Objective', () =>
  z
    .object({
      /** Where the number is in each child's JSON output (RFC 6901), e.g. "/loss". */
      pointer: JsonPointer,
      goal: z.enum(['minimize', 'maximize']),
    })
    .strict(),
);
export type ObjectiveOptions = z.infer<typeof Objective>;

export const EarlyStop = once('sweep/EarlyStop', () =>
  z
    .object({
      /** Stop starting children after this many have ended in a row without improving the best. */
      patience: z.number().int().min(1, 'patience is at least 1'),
    })
    .strict(),
);

/** A sweep's options as the array's options hold them. */
export interface SweepOptions {
  objective?: ObjectiveOptions;
  outputs?: boolean;
  earlyStop?: { patience: number };
  maxTrials?: number;
}

/** Whether the array keeps anything of its children's outputs (their values, or the outputs themselves). */
export function readsOutputs(options: SweepOptions): boolean {
  return options.objective !== undefined || options.outputs === true;
}

/** What a sweep needs of the children's spec: outputs and objectives are read from JSON output. */
export function sweepProblems(output: string | undefined, options: SweepOptions): SpecProblem[] {
  if (!readsOutputs(options) || output === 'json') return [];
  const field = options.objective ? 'objective' : 'outputs';
  return [{ path: `array.${field}`, message: `${field} reads each child's JSON output: set output to "json"` }];
}

/** The objective's value in a child's output: a finite number at the pointer, or undefined. */
export function objectiveValue(output: unknown, pointer: string): number | undefined {
  const value = valueAt(output, pointer);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Whether `value` beats `best` toward the goal (a tie does not: the first child to reach a value stays best). */
export function improves(goal: ObjectiveOptions['goal'], value: number, best: number | undefined): boolean {
  if (best === undefined) return true;
  return goal === 'minimize' ? value < best : value > best;
}
