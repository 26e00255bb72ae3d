// The action workflow when its host goes silent: execute stops heartbeating (retried on the host,
// which re-attaches), or is never taken by the host placed on (placed again). The test server's time runs at its real pace while an activity is under way, so
// these wait out the real timeouts (15 s of heartbeat, 5 s for a host to take a step): a file of
// their own, which runs beside the others.
import { Context } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import { resultOf, startAction } from '../support/action-runs.js';
import { deferred, exited, hostResult, StubFleet } from '../support/stub-fleet.js';
import { workflowEnvForFile } from '../support/workflow-env.js';

const wf = workflowEnvForFile();

describe('the action workflow when its host goes silent', () => {
  it('retries execute on its host when it stops heartbeating, where the retry re-attaches', async () => {
    const silent = deferred();
    const released = deferred();
    const fleet = new StubFleet(wf(), {
      execute: async (req, host) => {
        if (Context.current().info.attempt > 1) return { again: false, result: hostResult(req, host, exited(0)) };
        // A worker process that hung: one heartbeat, then nothing, whatever it is told.
        Context.current().heartbeat({ phase: 'RUNNING' });
        silent.resolve();
        await released.promise;
        throw new Error('the hung worker process was stopped');
      },
    });
    const result = await fleet.run(async () => {
      const handle = await startAction(fleet);
      await silent.promise;
      try {
        return await resultOf(handle);
      } finally {
        released.resolve();
      }
    });
    expect(result).toMatchObject({ status: 'DONE', host: 'a', exitCode: 0 });
    expect(fleet.callsOf('place')).toHaveLength(1);
    // The same request again: the host finds its container by run and attempt, and re-attaches.
    const [first, second] = fleet.callsOf('execute');
    expect([first?.attempt, second?.attempt]).toEqual([1, 2]);
    expect(second?.queue).toBe(fleet.hostQueue('a'));
    expect(second?.request).toEqual(first?.request);
  });

  it('places the action again when the host placed on never takes execute', async () => {
    // Host "gone" has no worker: as a host whose worker died, where the retry after a heartbeat
    // timeout waits in vain (the test server hands that retry to the dead worker's last poll).
    const fleet = new StubFleet(wf());
    fleet.handlers.place = fleet.placeOn('gone', 'a');
    const result = await fleet.run(async () => resultOf(await startAction(fleet, {}, { hostTimeoutSeconds: 5 })));
    expect(result).toMatchObject({ status: 'DONE', host: 'a' });
    expect(fleet.callsOf('place')).toHaveLength(2);
    expect(fleet.callsOf('execute').map((c) => c.queue)).toEqual([fleet.hostQueue('a')]);
  });
});
