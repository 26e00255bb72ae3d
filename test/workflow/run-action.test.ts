// The action workflow against stub hosts on a time-skipping server: deadlines, cancels in each
// phase, hosts that go silent, the placement limit and which failures end an action at once. Each
// test asserts the result and what the workflow asked of which stub, and how often.
import { ApplicationFailure } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContainerRequest, ExecuteRequest, FinalizeRequest } from '../../activities/types.js';
import { FailureType } from '../../spec/failures.js';
import { statusQuery } from '../../spec/workflow-api.js';
import { resultOf, startAction } from '../support/action-runs.js';
import { deferred, exited, hang, heartbeatUntil, hostResult, StubFleet } from '../support/stub-fleet.js';
import { startWorkflowEnv, type WorkflowEnv } from '../support/workflow-env.js';

let wf: WorkflowEnv;
beforeAll(async () => {
  wf = await startWorkflowEnv();
}, 60_000);
afterAll(async () => {
  await wf?.env.teardown();
});

/** What a host throws once its engine stayed away past its patience (activities/container/engine-watch.ts). */
const engineGone = () =>
  ApplicationFailure.create({ type: FailureType.EngineUnavailable, nonRetryable: true, message: 'engine gone' });
const finalized = (fleet: StubFleet) => fleet.callsOf('finalize').map((c) => (c.request as FinalizeRequest).result);
const executedOn = (fleet: StubFleet) => fleet.callsOf('execute').map((c) => c.queue);

describe('the action workflow', () => {
  it('places the action, executes it once on the placed host and returns the host result', async () => {
    const fleet = new StubFleet(wf);
    const result = await fleet.run(async () => resultOf(await startAction(fleet, { command: ['true'] })));
    expect(result).toMatchObject({ status: 'DONE', reason: 'exit', exitCode: 0, host: 'a' });
    expect(fleet.calls.map((c) => [c.activity, c.queue])).toEqual([
      ['place', fleet.taskQueue],
      ['execute', fleet.hostQueue('a')],
    ]);
    const request = fleet.callsOf('execute')[0]!.request as ExecuteRequest;
    expect(request).toMatchObject({ attempt: 1, canceled: false, spec: { image: 'busybox:1', command: ['true'] } });
  });

  it('stops the container when the deadline passes while execute runs, and ends FAILED with reason deadline', async () => {
    const executing = deferred();
    const stopped = deferred();
    const fleet = new StubFleet(wf, {
      execute: async (req, host) => {
        executing.resolve();
        await heartbeatUntil({ phase: 'RUNNING' }, stopped.promise);
        return { again: false, result: hostResult(req, host, exited(143), true) };
      },
      stopContainer: async () => stopped.resolve(),
    });
    const result = await fleet.run(async () => {
      // The server's time stands still while an activity is under way: the deadline passes in real time.
      const handle = await startAction(fleet, { deadline: '2s' });
      await executing.promise;
      return resultOf(handle);
    });
    expect(result).toMatchObject({ status: 'FAILED', reason: 'deadline', exitCode: 143 });
    expect(result.message).toContain('2s');
    expect(fleet.callsOf('stopContainer')).toHaveLength(1);
    expect(fleet.callsOf('execute')).toHaveLength(1);
    // The host's CANCELED result becomes a deadline one, and result.json is written again so.
    expect(finalized(fleet).map((r) => [r.status, r.reason])).toEqual([['FAILED', 'deadline']]);
  });

  it('ends FAILED with reason deadline when the deadline passes while no host takes it', async () => {
    const fleet = new StubFleet(wf, { place: () => hang({}) });
    const result = await fleet.run(async () => resultOf(await startAction(fleet, { deadline: '2s' })));
    expect(result).toMatchObject({ status: 'FAILED', reason: 'deadline', exitCode: null });
    expect(fleet.callsOf('place').length).toBeGreaterThan(0);
    expect(fleet.callsOf('execute')).toEqual([]);
    expect(finalized(fleet).map((r) => r.reason)).toEqual(['deadline']);
  });

  it('ends CANCELED when cancelled while waiting for a host, without asking any host for anything', async () => {
    const placing = deferred();
    const fleet = new StubFleet(wf, {
      place: async () => {
        placing.resolve();
        return hang({});
      },
    });
    const { result, status } = await fleet.run(async () => {
      const handle = await startAction(fleet);
      await placing.promise;
      const status = await handle.query(statusQuery);
      await handle.cancel();
      return { result: await resultOf(handle), status };
    });
    expect(status).toMatchObject({ phase: 'PENDING', placements: 1, attempt: 0 });
    expect(status.waitingFor).toBeTruthy();
    expect(result).toMatchObject({ status: 'CANCELED', reason: 'canceled', exitCode: null });
    expect(fleet.calls.filter((c) => c.queue.startsWith('host-'))).toEqual([]);
    expect(finalized(fleet).map((r) => r.status)).toEqual(['CANCELED']);
  });

  // What the host answers when the stop reaches it in each phase of execute: while pulling nothing
  // ran; while running the container is stopped; while collecting the container had already exited.
  it.each([
    { phase: 'PULLING', outcome: undefined, exitCode: null, rewritten: false },
    { phase: 'RUNNING', outcome: exited(143), exitCode: 143, rewritten: false },
    { phase: 'COLLECTING', outcome: exited(0), exitCode: 0, rewritten: true },
  ])(
    'asks the host to stop and ends CANCELED when cancelled while $phase',
    async ({ phase, outcome, exitCode, rewritten }) => {
      const executing = deferred();
      const stopped = deferred<ContainerRequest>();
      const fleet = new StubFleet(wf, {
        execute: async (req, host) => {
          executing.resolve();
          await heartbeatUntil({ phase }, stopped.promise);
          // A container that had exited before the stop came is DONE as far as the host knows.
          const canceled = phase !== 'COLLECTING';
          return { again: false, result: hostResult(req, host, outcome!, canceled) };
        },
        stopContainer: async (req) => stopped.resolve(req),
      });
      const result = await fleet.run(async () => {
        const handle = await startAction(fleet);
        await executing.promise;
        await handle.cancel();
        return resultOf(handle);
      });
      expect(result).toMatchObject({ status: 'CANCELED', reason: 'canceled', exitCode });
      const [stop] = fleet.callsOf('stopContainer');
      expect(stop?.queue).toBe(fleet.hostQueue('a'));
      expect(stop?.request).toMatchObject({ attempt: 1, actionId: result.actionId });
      expect(fleet.callsOf('execute')).toHaveLength(1);
      // The host wrote result.json; the workflow writes it again only where it changed the status.
      expect(finalized(fleet).map((r) => r.status)).toEqual(rewritten ? ['CANCELED'] : []);
    },
  );

  it('places the action again when the host engine stays away', async () => {
    const fleet = new StubFleet(wf, {
      execute: async (req, host) => {
        if (host === 'a') throw engineGone();
        return { again: false, result: hostResult(req, host, exited(0)) };
      },
    });
    fleet.handlers.place = fleet.placeOn('a', 'b');
    const result = await fleet.run(async () => resultOf(await startAction(fleet)));
    expect(result).toMatchObject({ status: 'DONE', host: 'b' });
    expect(executedOn(fleet)).toEqual([fleet.hostQueue('a'), fleet.hostQueue('b')]);
    expect(fleet.callsOf('place')).toHaveLength(2);
  });

  it('ends FAILED with reason no-host once it was placed maxPlacements times on hosts that lost their engine', async () => {
    const fleet = new StubFleet(wf, {
      execute: async () => {
        throw engineGone();
      },
    });
    fleet.handlers.place = fleet.placeOn('a', 'b', 'a');
    const result = await fleet.run(async () => resultOf(await startAction(fleet, {}, { maxPlacements: 3 })));
    expect(result).toMatchObject({ status: 'FAILED', reason: 'no-host', exitCode: null });
    expect(result.message).toContain('placed 3 times');
    expect(fleet.callsOf('place')).toHaveLength(3);
    expect(executedOn(fleet)).toEqual([fleet.hostQueue('a'), fleet.hostQueue('b'), fleet.hostQueue('a')]);
    expect(fleet.callsOf('removeRun')).toEqual([]);
    expect(finalized(fleet).map((r) => r.reason)).toEqual(['no-host']);
  });

  it.each([
    [FailureType.ImageNotFound, 'image-not-found'],
    [FailureType.ImageUnauthorized, 'image-unauthorized'],
    [FailureType.ImageNotAllowed, 'image-not-allowed'],
    [FailureType.GpuUnavailable, 'gpu-unavailable'],
    [FailureType.SecretMissing, 'secret-missing'],
  ])('ends at once, not retried, when execute fails with %s', async (type, reason) => {
    const fleet = new StubFleet(wf, {
      execute: async () => {
        throw ApplicationFailure.create({ type, message: `refused: ${type}` });
      },
    });
    const result = await fleet.run(async () => resultOf(await startAction(fleet)));
    expect(result).toMatchObject({ status: 'FAILED', reason, exitCode: null, host: 'a' });
    expect(result.message).toContain(`refused: ${type}`);
    expect(fleet.callsOf('execute').map((c) => c.attempt)).toEqual([1]);
    expect(finalized(fleet).map((r) => r.reason)).toEqual([reason]);
    // The host may have created containers: they are removed.
    expect(fleet.callsOf('removeRun').map((c) => c.queue)).toEqual([fleet.hostQueue('a')]);
  });

  it('retries other failures of execute on the same host until it answers', async () => {
    const fleet = new StubFleet(wf, {
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
    expect(finalized(fleet)).toEqual([]);
  });

  it("runs the action again when the host answers that the spec's retry policy wants another attempt", async () => {
    const fleet = new StubFleet(wf, {
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
