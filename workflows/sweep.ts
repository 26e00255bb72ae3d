// What a sweep (spec/sweep.ts) keeps while its array runs: the best child so far, how many ended
// since it last improved (for earlyStop), each DONE child's value and the outputs within their
// bounds. The array workflow carries it when it continues as new: the best and the values are a few
// bytes a child, the outputs at most OUTPUT_BYTES_TOTAL together, so the carry stays bounded
// whatever the children print. Pure: no workflow API, so that the rules are tested directly.
import type { ArrayBest, ArrayChild, ArrayOptionsInput, ArrayResult } from '../spec/array.js';
import {
  OUTPUT_BYTES_PER_CHILD,
  OUTPUT_BYTES_TOTAL,
  improves,
  objectiveValue,
  readsOutputs,
  type SweepOptions,
} from '../spec/sweep.js';

export interface SweepCarry {
  /** [index, value] of the best child so far. */
  best?: [number, number];
  /** Children ended since the best last improved (or since the first). */
  sinceBest: number;
  /** Patience ran out: no child starts any more (sticky: a late improvement does not restart it). */
  stopped: boolean;
  /** [index, value, or null for none at the pointer] of each DONE child, with an objective. */
  values: [number, number | null][];
  /** [index, output] of the outputs kept, and [index, its size as JSON] of those not kept. */
  outputs: [number, unknown][];
  omitted: [number, number][];
  outputBytes: number;
}

/** A fresh sweep for these options, or undefined when the array reads no outputs (a plain array). */
export function startSweep(options: SweepOptions): SweepCarry | undefined {
  if (!readsOutputs(options)) return undefined;
  return { sinceBest: 0, stopped: false, values: [], outputs: [], omitted: [], outputBytes: 0 };
}

/** A child ended (DONE or not) with this output (undefined when it printed no JSON or never ran). */
export function noteChild(sweep: SweepCarry, options: SweepOptions, index: number, done: boolean, output: unknown) {
  const { objective, earlyStop } = options;
  if (objective) {
    const value = done ? objectiveValue(output, objective.pointer) : undefined;
    if (done) sweep.values.push([index, value ?? null]);
    if (value !== undefined && improves(objective.goal, value, sweep.best?.[1])) {
      sweep.best = [index, value];
      sweep.sinceBest = 0;
    } else sweep.sinceBest++;
    if (earlyStop && sweep.sinceBest >= earlyStop.patience) sweep.stopped = true;
  }
  if (options.outputs && output !== undefined) keepOutput(sweep, index, output);
}

function keepOutput(sweep: SweepCarry, index: number, output: unknown) {
  const bytes = new TextEncoder().encode(JSON.stringify(output)).length;
  if (bytes > OUTPUT_BYTES_PER_CHILD || sweep.outputBytes + bytes > OUTPUT_BYTES_TOTAL) {
    sweep.omitted.push([index, bytes]);
    return;
  }
  sweep.outputs.push([index, output]);
  sweep.outputBytes += bytes;
}

/** Why an output was not kept, in words (the output itself is in the child's result). */
function omittedBecause(bytes: number): string {
  // Short: with thousands of children dropped, these words are much of the result.
  return bytes > OUTPUT_BYTES_PER_CHILD
    ? `${bytes} bytes, over ${OUTPUT_BYTES_PER_CHILD >> 10} KiB a child`
    : `over ${OUTPUT_BYTES_TOTAL >> 20} MiB kept in all`;
}

/** What a sweep adds to the array's result: each child's value and output, the best, the counts. */
export function sweepResult(
  sweep: SweepCarry,
  options: ArrayOptionsInput,
  arrayId: string,
  children: ArrayChild[],
): Pick<ArrayResult, 'best' | 'objective' | 'outputsOmitted'> {
  for (const [index, value] of sweep.values) children[index]!.value = value;
  for (const [index, output] of sweep.outputs) children[index]!.output = output;
  for (const [index, bytes] of sweep.omitted) children[index]!.outputOmitted = omittedBecause(bytes);
  const best: ArrayBest | undefined = sweep.best && {
    index: sweep.best[0],
    id: `${arrayId}-${sweep.best[0]}`,
    value: sweep.best[1],
  };
  const withValue = sweep.values.filter(([, v]) => v !== null).length;
  return {
    ...(best ? { best } : {}),
    ...(options.objective
      ? { objective: { ...options.objective, withValue, withoutValue: sweep.values.length - withValue } }
      : {}),
    ...(options.outputs ? { outputsOmitted: sweep.omitted.length } : {}),
  };
}
