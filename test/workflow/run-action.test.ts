// The action workflow against stub hosts on a time-skipping server: a run, hosts whose engine is
// gone, the placement limit, which failures end an action at once and which are retried. Each test
// asserts the result and what the workflow asked of which stub, and how often. (Deadlines and
// cancels: cancel-deadline.test.ts; silent hosts: host-lost.test.ts.)
import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import type { ExecuteRequest } from '../../activities/types.js';
import { FailureType } from '../../spec/failures.js';
import { resultOf, startAction } from '../support/action-runs.js';
import { exited, hostResult, StubFleet } from '../support/stub-fleet.js';
import { workflowEnvForFile } from '../support/workflow-env.js';

const wf = workflowEnvForFile();

/** What a host throws once its engine stayed away past its patience (activities/container/engine-watch.ts). */
const engineGone = () =>
  ApplicationFailure.create({ type: FailureType.EngineUnavailable, nonRetryable: true, message: 'engine gone' });

describe('the action workflow', () => {
  it('places the action, executes it once on the placed host and returns the host result', async () => {
    const fleet = new StubFleet(wf());
    const result = await fleet.run(async () => resultOf(await startAction(fleet, { command: ['true'] })));
    expect(result).toMatchObject({ status: 'DONE', reason: 'exit', exitCode: 0, host: 'a' });
    expect(fleet.calls.map((c) => [c.activity, c.queue])).toEqual([
      ['place', fleet.taskQueue],
      ['execute', fleet.hostQueue('a')],
    ]);
    const request = fleet.callsOf('execute')[0]!.request as ExecuteRequest;
    expect(request).toMatchObject({ attempt: 1, canceled: false, spec: { image: 'busybox:1', command: ['true'] } });
  });

  it('places the action again when the host engine stays away', async () => {
    const fleet = new StubFleet(wf(), {
      execute: async (req, host) => {
        if (host === 'a') throw engineGone();
        return { again: false, result: hostResult(req, host, exited(0)) };
      },
    });
    fleet.handlers.place = fleet.placeOn('a', 'b');
    const result = await fleet.run(async () => resultOf(await startAction(fleet)));
    expect(result).toMatchObject({ status: 'DONE', host: 'b' });
    expect(fleet.queuesOf('execute')).toEqual([fleet.hostQueue('a'), fleet.hostQueue('b')]);
    expect(fleet.callsOf('place')).toHaveLength(2);
  });

  it('ends FAILED with reason no-host once it was placed maxPlacements times on hosts that lost their engine', async () => {
    const fleet = new StubFleet(wf(), {
      execute: async () => {
        throw engineGone();
      },
    });
    fleet.handlers.place = fleet.placeOn('a', 'b', 'a');
    const result = await fleet.run(async () => resultOf(await startAction(fleet, {}, { maxPlacements: 3 })));
    expect(result).toMatchObject({ status: 'FAILED', reason: 'no-host', exitCode: null });
    expect(result.message).toContain('placed 3 times');
    expect(fleet.callsOf('place')).toHaveLength(3);
    expect(fleet.queuesOf('execute')).toEqual([fleet.hostQueue('a'), fleet.hostQueue('b'), fleet.hostQueue('a')]);
    expect(fleet.callsOf('removeRun')).toEqual([]);
    expect(fleet.finalized().map((r) => r.reason)).toEqual(['no-host']);
  });

  it.each([
    [FailureType.ImageNotFound, 'image-not-found'],
    [FailureType.ImageUnauthorized, 'image-unauthorized'],
    [FailureType.ImageNotAllowed, 'image-not-allowed'],
    [FailureType.GpuUnavailable, 'gpu-unavailable'],
    [FailureType.SecretMissing, 'secret-missing'],
  ])('ends at once, not retried, when execute fails with %s', async (type, reason) => {
    const fleet = new StubFleet(wf(), {
      execute: async () => {
        throw ApplicationFailure.create({ type, message: `refused: ${type}` });
      },
    });
    const result = await fleet.run(async () => resultOf(await startAction(fleet)));
    expect(result).toMatchObject({ status: 'FAILED', reason, exitCode: null, host: 'a' });
    expect(result.message).toContain(`refused: ${type}`);
    expect(fleet.callsOf('execute').map((c) => c.attempt)).toEqual([1]);
    expect(fleet.finalized().map((r) => r.reason)).toEqual([reason]);
    // The host may have created containers: they are removed.
    expect(fleet.callsOf('removeRun').map((c) => c.queue)).toEqual([fleet.hostQueue('a')]);
  });

  it('retries other failures of execute on the same host until it answers', async () => {
    const fleet = new StubFleet(wf(), {
      execute: async (req, host) => {
        if (fleet.callsOf('execute').length < 3)
          throw ApplicationFailure.create({ type: FailureType.RegistryUnreachable, message: 'registry down' });
        return { again: false, result: hostResult(req, host, exited(0)) };
      },
    });
    const result = await fleet.run(async () => resultOf(await startAction(fleet)));
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0 });
    expect(fleet.callsOf('execute').map((c) => [c.queue, c.attempt])).toEqual([
      [fleet.hostQueue('a'), 1],
      [fleet.hostQueue('a'), 2],
      [fleet.hostQueue('a'), 3],
    ]);
    expect(fleet.callsOf('place')).toHaveLength(1);
    expect(fleet.finalized()).toEqual([]);
  });

  it("runs the action again when the host answers that the spec's retry policy wants another attempt", async () => {
    const fleet = new StubFleet(wf(), {
      execute: async (req, host) =>
        req.attempt < 2
          ? { again: true, outcome: exited(1), timings: [] }
          : { again: false, result: hostResult(req, host, exited(0)) },
    });
    const result = await fleet.run(async () => resultOf(await startAction(fleet)));
    expect(result).toMatchObject({ status: 'DONE', exitCode: 0 });
    expect(fleet.callsOf('execute').map((c) => (c.request as ExecuteRequest).attempt)).toEqual([1, 2]);
  });
});
