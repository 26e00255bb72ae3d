// What the action workflow does for a run a schedule starts. Overlap policies (skip, buffer,
// cancel-other...) are carried out by Temporal's Schedules, not by the workflow, and the test server
// has no schedules: the schedule's side is tested against a real server (test/integration/
// schedules.test.ts). Here: a scheduled run keeps the schedule's search attributes and adds its own,
// and a run started without them (by Temporal's CLI, say) gets them from the workflow.
import { describe, expect, it } from 'vitest';
import {
  ActionExitCodeKey,
  ActionHostKey,
  ActionImageKey,
  ActionScheduleKey,
  ActionStatusKey,
} from '../../spec/search-attributes.js';
import { resultOf, startAction } from '../support/action-runs.js';
import { StubFleet } from '../support/stub-fleet.js';
import { workflowEnvForFile } from '../support/workflow-env.js';

const wf = workflowEnvForFile();

describe('a run started by a schedule', () => {
  it("keeps the schedule's search attributes and sets its status, host and exit code", async () => {
    const fleet = new StubFleet(wf());
    const attributes = await fleet.run(async () => {
      // As client/schedules.ts has Temporal start each run.
      const handle = await startAction(fleet, {}, {}, [
        { key: ActionStatusKey, value: 'PENDING' },
        { key: ActionImageKey, value: 'busybox:1' },
        { key: ActionScheduleKey, value: 'nightly' },
      ]);
      await resultOf(handle);
      return (await handle.describe()).typedSearchAttributes;
    });
    expect(attributes.get(ActionScheduleKey)).toBe('nightly');
    expect(attributes.get(ActionStatusKey)).toBe('DONE');
    expect(attributes.get(ActionHostKey)).toBe('a');
    expect(attributes.get(ActionExitCodeKey)).toBe(0);
    expect(fleet.callsOf('execute')).toHaveLength(1);
  });

  it('gets its image and status from the workflow when its starter set none', async () => {
    const fleet = new StubFleet(wf());
    const attributes = await fleet.run(async () => {
      const handle = await startAction(fleet);
      await resultOf(handle);
      return (await handle.describe()).typedSearchAttributes;
    });
    expect(attributes.get(ActionImageKey)).toBe('busybox:1');
    expect(attributes.get(ActionStatusKey)).toBe('DONE');
    expect(attributes.get(ActionScheduleKey)).toBeUndefined();
  });
});
