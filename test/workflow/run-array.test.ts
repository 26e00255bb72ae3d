// The array workflow against stub hosts: its children are real action workflows, and a run whose
// history grew large continues as new, carrying what ended so far. The per-run batch (500 children)
// is not an input, so the history bound is what these tests reach: children whose results are large.
import { describe, expect, it } from 'vitest';
import type { ExecuteRequest } from '../../activities/types.js';
import { settledResult } from '../../client/settled-result.js';
import type { ArrayResult } from '../../spec/array.js';
import { FailureType } from '../../spec/failures.js';
import { exited, hostResult, StubFleet } from '../support/stub-fleet.js';
import { BATCH } from '../../workflows/run-array.js';
import { ActionLabelsKey } from '../../spec/search-attributes.js';
import { workflowEnvForFile } from '../support/workflow-env.js';

const wf = workflowEnvForFile();

let arrays = 0;
function startArray(fleet: StubFleet, array: Record<string, unknown>, spec: Record<string, unknown> = {}) {
  return fleet.env.client.workflow.start('runArray', {
    taskQueue: fleet.taskQueue,
    workflowId: `array-${process.pid}-${++arrays}`,
    args: [{ spec: { image: 'busybox:1', ...spec }, array }, {}],
  });
}

describe('the array workflow', () => {
  it('continues as new after a batch of children, and every child runs once', async () => {
    const count = BATCH + 1;
    const fleet = new StubFleet(wf());
    const { result, firstRunId, lastRunId } = await fleet.run(async () => {
      const handle = await startArray(fleet, { count, parallelism: 100 });
      const result = await settledResult<ArrayResult>(handle, FailureType.ArrayFailed);
      const { runId } = await handle.describe();
      return { result, firstRunId: handle.firstExecutionRunId, lastRunId: runId };
    });
    expect(result).toMatchObject({ status: 'DONE', reason: 'done', count });
    expect(result.byStatus).toEqual({ DONE: count, FAILED: 0, CANCELED: 0, NOT_STARTED: 0 });
    expect(lastRunId).not.toBe(firstRunId);
    const members = fleet.callsOf('execute').map((c) => (c.request as ExecuteRequest).member);
    expect(members.map((m) => m?.index).sort((x, y) => x! - y!)).toEqual([...Array(count).keys()]);
    expect(members.every((m) => m?.count === count)).toBe(true);
  }, 120_000);

  it('starts no more children once more than maxFailures FAILED, and ends FAILED with reason max-failures', async () => {
    const fleet = new StubFleet(wf(), {
      execute: async (req, host) => ({ again: false, result: hostResult(req, host, exited(1)) }),
    });
    const result = await fleet.run(async () =>
      settledResult<ArrayResult>(
        await startArray(fleet, { count: 5, parallelism: 1, maxFailures: 0 }),
        FailureType.ArrayFailed,
      ),
    );
    expect(result).toMatchObject({ status: 'FAILED', reason: 'max-failures', count: 5 });
    expect(result.byStatus).toEqual({ DONE: 0, FAILED: 1, CANCELED: 0, NOT_STARTED: 4 });
    expect(result.children[0]).toMatchObject({ index: 0, status: 'FAILED', exitCode: 1 });
    expect(fleet.callsOf('execute')).toHaveLength(1);
  });

  it("gives each child the spec's labels as ActionLabels and its annotations in the memo", async () => {
    const fleet = new StubFleet(wf());
    const children = await fleet.run(async () => {
      const handle = await startArray(
        fleet,
        { count: 2 },
        { labels: { team: 'vision', exp: '42' }, annotations: { note: 'sweep' } },
      );
      await settledResult<ArrayResult>(handle, FailureType.ArrayFailed);
      return Promise.all(
        [0, 1].map((i) => fleet.env.client.workflow.getHandle(`${handle.workflowId}-${i}`).describe()),
      );
    });
    for (const child of children) {
      expect(child.typedSearchAttributes.get(ActionLabelsKey)).toEqual(['exp=42', 'team=vision']);
      expect(child.memo).toEqual({ annotations: { note: 'sweep' } });
    }
  });
});
