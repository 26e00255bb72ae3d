// Arrays as sweeps against stub hosts: each child's host answers with a JSON output computed from
// the child's index, and the array keeps the outputs, picks the best by its objective (lowest or
// highest, children without a number reported as such), stops starting children once patience runs
// out or maxTrials started, and carries the best across continue-as-new.
import { describe, expect, it } from 'vitest';
import type { ExecuteRequest } from '../../activities/types.js';
import { settledResult } from '../../client/settled-result.js';
import type { ArrayResult } from '../../spec/array.js';
import { FailureType } from '../../spec/failures.js';
import { OUTPUT_BYTES_PER_CHILD } from '../../spec/sweep.js';
import { exited, hostResult, StubFleet } from '../support/stub-fleet.js';
import { BATCH } from '../../workflows/run-array.js';
import { workflowEnvForFile } from '../support/workflow-env.js';

const wf = workflowEnvForFile();

/** A fleet whose every child exits 0 printing `output(its index)` as its JSON output. */
function sweepFleet(output: (index: number) => unknown): StubFleet {
  return new StubFleet(wf(), {
    execute: async (req, host) => ({
      again: false,
      result: { ...hostResult(req, host, exited(0)), output: output(req.member!.index) },
    }),
  });
}

let arrays = 0;
/** Runs a sweep of children with JSON output to its end; its result, and how many children ran. */
async function runSweep(fleet: StubFleet, array: Record<string, unknown>) {
  const workflowId = `sweep-${process.pid}-${++arrays}`;
  return fleet.run(async () => {
    const handle = await fleet.env.client.workflow.start('runArray', {
      taskQueue: fleet.taskQueue,
      workflowId,
      args: [{ spec: { image: 'busybox:1', output: 'json' }, array }, {}],
    });
    const result = await settledResult<ArrayResult>(handle, FailureType.ArrayFailed);
    const { runId } = await handle.describe();
    return { result, ran: ranIndexes(fleet), continued: runId !== handle.firstExecutionRunId, workflowId };
  });
}

/** The indexes of the children a host ran, in order. */
const ranIndexes = (fleet: StubFleet) =>
  fleet
    .callsOf('execute')
    .map((c) => (c.request as ExecuteRequest).member!.index)
    .sort((x, y) => x - y);

describe('a sweep', () => {
  it('minimizes: keeps each output, names the lowest value, and reports children without a number', async () => {
    const loss = (i: number) => (i - 5) ** 2 + 1;
    const fleet = sweepFleet((i) =>
      i === 2 ? { loss: 'n/a' } : i === 7 ? { big: 'x'.repeat(OUTPUT_BYTES_PER_CHILD) } : { loss: loss(i) },
    );
    const { result, workflowId } = await runSweep(fleet, {
      count: 10,
      parallelism: 3,
      outputs: true,
      objective: { pointer: '/loss', goal: 'minimize' },
    });
    expect(result).toMatchObject({ status: 'DONE', reason: 'done', count: 10 });
    expect(result.best).toEqual({ index: 5, id: `${workflowId}-5`, value: 1 });
    expect(result.objective).toEqual({ pointer: '/loss', goal: 'minimize', withValue: 8, withoutValue: 2 });
    expect(result.message).toContain('best: child 5 (/loss 1)');
    expect(result.children[0]).toMatchObject({ value: 26, output: { loss: 26 } });
    expect(result.children[2]).toMatchObject({ value: null, output: { loss: 'n/a' } });
    expect(result.children[7]!.value).toBeNull();
    expect(result.children[7]).not.toHaveProperty('output');
    expect(result.children[7]!.outputOmitted).toMatch(/^\d+ bytes, over 64 KiB a child$/);
    expect(result.outputsOmitted).toBe(1);
  });

  it('maximizes: the highest value is best, the first child to reach it when tied', async () => {
    const fleet = sweepFleet((i) => ({ metrics: { acc: [0.5, 0.9, 0.7, 0.9, 0.1][i] } }));
    const { result } = await runSweep(fleet, {
      count: 5,
      parallelism: 1,
      objective: { pointer: '/metrics/acc', goal: 'maximize' },
    });
    expect(result.best).toMatchObject({ index: 1, value: 0.9 });
    // Without `outputs`, only the values are kept.
    expect(result.children.map((c) => c.value)).toEqual([0.5, 0.9, 0.7, 0.9, 0.1]);
    expect(result.children.some((c) => 'output' in c)).toBe(false);
  });

  it('names no best when no child printed a number at the pointer', async () => {
    const fleet = sweepFleet(() => ({ loss: null }));
    const { result } = await runSweep(fleet, { count: 3, objective: { pointer: '/loss', goal: 'minimize' } });
    expect(result).toMatchObject({ status: 'DONE', objective: { withValue: 0, withoutValue: 3 } });
    expect(result).not.toHaveProperty('best');
  });

  it('stops starting children once patience children in a row did not improve the best', async () => {
    // One at a time: the best is child 3 (loss 0); children 4, 5 and 6 do not improve it.
    const fleet = sweepFleet((i) => ({ loss: Math.abs(i - 3) }));
    const { result, ran } = await runSweep(fleet, {
      count: 20,
      parallelism: 1,
      objective: { pointer: '/loss', goal: 'minimize' },
      earlyStop: { patience: 3 },
    });
    expect(ran).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(result).toMatchObject({ status: 'DONE', reason: 'early-stop', best: { index: 3, value: 0 } });
    expect(result.byStatus).toEqual({ DONE: 7, FAILED: 0, CANCELED: 0, NOT_STARTED: 13 });
  });

  it('starts at most maxTrials children, the first by index, and ends DONE with reason max-trials', async () => {
    const fleet = sweepFleet((i) => ({ loss: i }));
    const { result, ran } = await runSweep(fleet, { count: 10, parallelism: 2, maxTrials: 4 });
    expect(ran).toEqual([0, 1, 2, 3]);
    expect(result).toMatchObject({ status: 'DONE', reason: 'max-trials' });
    expect(result.byStatus).toEqual({ DONE: 4, FAILED: 0, CANCELED: 0, NOT_STARTED: 6 });
  });

  it('carries the best and the kept outputs across continue-as-new', async () => {
    const count = BATCH + 2;
    // The lowest loss is in the first run's batch, the second lowest in the last run's.
    const fleet = sweepFleet((i) => ({ loss: i === 7 ? -2 : i === BATCH + 1 ? -1 : i }));
    const { result, continued, ran } = await runSweep(fleet, {
      count,
      parallelism: 100,
      outputs: true,
      objective: { pointer: '/loss', goal: 'minimize' },
    });
    expect(continued).toBe(true);
    expect(ran).toEqual([...Array(count).keys()]);
    expect(result).toMatchObject({ status: 'DONE', best: { index: 7, value: -2 } });
    expect(result.objective).toMatchObject({ withValue: count, withoutValue: 0 });
    expect(result.children[0]!.output).toEqual({ loss: 0 });
    expect(result.children[BATCH + 1]!.output).toEqual({ loss: -1 });
  }, 120_000);
});
