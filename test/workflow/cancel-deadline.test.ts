// The action workflow's deadline and cancel against stub hosts: the deadline passing while the
// action runs or waits for a host, a cancel while it waits for a host and in each phase of execute.
// Each test asserts the result, what the workflow asked of the host, and which result.json it wrote.
import type { ContainerRequest } from '../../activities/types.js';
import { describe, expect, it } from 'vitest';
import { statusQuery } from '../../spec/workflow-api.js';
import { resultOf, startAction } from '../support/action-runs.js';
import { deferred, exited, hang, heartbeatUntil, hostResult, StubFleet } from '../support/stub-fleet.js';
import { workflowEnvForFile } from '../support/workflow-env.js';

const wf = workflowEnvForFile();

describe('the action workflow, cancelled or past its deadline', () => {
  it('stops the container when the deadline passes while execute runs, and ends FAILED with reason deadline', async () => {
    const executing = deferred();
    const stopped = deferred();
    const fleet = new StubFleet(wf(), {
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
    expect(fleet.finalized().map((r) => [r.status, r.reason])).toEqual([['FAILED', 'deadline']]);
  });

  it('ends FAILED with reason deadline when the deadline passes while no host takes it', async () => {
    const fleet = new StubFleet(wf(), { place: () => hang({}) });
    const result = await fleet.run(async () => resultOf(await startAction(fleet, { deadline: '2s' })));
    expect(result).toMatchObject({ status: 'FAILED', reason: 'deadline', exitCode: null });
    expect(fleet.callsOf('place').length).toBeGreaterThan(0);
    expect(fleet.callsOf('execute')).toEqual([]);
    expect(fleet.finalized().map((r) => r.reason)).toEqual(['deadline']);
  });

  it('ends CANCELED when cancelled while waiting for a host, without asking any host for anything', async () => {
    const placing = deferred();
    const fleet = new StubFleet(wf(), {
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
    expect(fleet.finalized().map((r) => r.status)).toEqual(['CANCELED']);
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
      const fleet = new StubFleet(wf(), {
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
      expect(fleet.finalized().map((r) => r.status)).toEqual(rewritten ? ['CANCELED'] : []);
    },
  );
});
