// The gang workflow against stub hosts: its replicas placed whole in rounds (what a round could not
// place whole is given back), run as child actions told their rank and peers, stopped together when
// one fails, and run again whole under the spec's retry policy.
import { ApplicationFailure } from '@temporalio/activity';
import { describe, expect, it } from 'vitest';
import type { ExecuteRequest, PlaceRequest, ReleaseRequest } from '../../activities/types.js';
import { FailureType } from '../../spec/failures.js';
import { resultOf, startAction } from '../support/action-runs.js';
import { deferred, exited, hang, heartbeatUntil, hostResult, StubFleet } from '../support/stub-fleet.js';
import { workflowEnvForFile } from '../support/workflow-env.js';

const wf = workflowEnvForFile();

/** Places replica i on host a or b by its index (even on a, odd on b), each with a port of its own. */
function placeByIndex(fleet: StubFleet) {
  return async (req: PlaceRequest) => {
    const host = req.gang!.index % 2 === 0 ? 'a' : 'b';
    return {
      host,
      hostQueue: fleet.hostQueue(host),
      address: `198.18.0.${host === 'a' ? 1 : 2}`,
      port: 30000 + req.gang!.index,
    };
  };
}

const gangSpec = (extra: Record<string, unknown> = {}) => ({ replicas: 3, gang: true, ...extra });

describe('the gang workflow', () => {
  it('places every replica at once and runs each as a child action told its rank and peers', async () => {
    const fleet = new StubFleet(wf(), {
      execute: async (req, host) => {
        const result = hostResult(req, host, exited(0));
        const artifact = { path: 'rank.txt', uri: `s3://stub/${req.actionId}/out/rank.txt`, size: 2 };
        return { again: false, result: { ...result, artifacts: [artifact], artifactTotals: { files: 1, bytes: 2 } } };
      },
    });
    fleet.handlers.place = placeByIndex(fleet);
    const { result, id } = await fleet.run(async () => {
      const handle = await startAction(fleet, gangSpec());
      return { result: await resultOf(handle), id: handle.workflowId };
    });
    expect(result).toMatchObject({ status: 'DONE', reason: 'exit', exitCode: 0, attempts: 1, host: 'a' });
    expect(result.replicas!.map((r) => [r.rank, r.actionId, r.host, r.status])).toEqual([
      [0, `${id}-replica-0`, 'a', 'DONE'],
      [1, `${id}-replica-1`, 'b', 'DONE'],
      [2, `${id}-replica-2`, 'a', 'DONE'],
    ]);
    expect(result.artifacts.map((a) => a.path)).toEqual([
      'replica-0/rank.txt',
      'replica-1/rank.txt',
      'replica-2/rank.txt',
    ]);
    expect(result.artifactTotals).toEqual({ files: 3, bytes: 6 });

    const places = fleet.callsOf('place').map((c) => (c.request as PlaceRequest).gang);
    expect(places.map((g) => g!.index).sort()).toEqual([0, 1, 2]);
    expect(new Set(places.map((g) => g!.reserveUntil)).size).toBe(1);
    const executes = fleet.callsOf('execute');
    expect(executes.map((c) => c.queue).sort()).toEqual(
      [fleet.hostQueue('a'), fleet.hostQueue('a'), fleet.hostQueue('b')].sort(),
    );
    for (const call of executes) {
      const req = call.request as ExecuteRequest;
      expect(req.actionId).toBe(`${id}-replica-${req.replica!.index}`);
      expect(req.replica).toMatchObject({ count: 3, gangId: id, attempt: 1, hostQueue: call.queue });
      expect(req.replica!.peers).toEqual([
        { rank: 0, host: 'a', address: '198.18.0.1', port: 30000 },
        { rank: 1, host: 'b', address: '198.18.0.2', port: 30001 },
        { rank: 2, host: 'a', address: '198.18.0.1', port: 30002 },
      ]);
      // The gang retries as a whole: its replicas run once each.
      expect(req.spec.retry.attempts).toBe(1);
    }
    // After the run, whatever a replica did not take over is given back (here: nothing is left,
    // and the host is told so once per host, every index of its replicas).
    const released = fleet.callsOf('releasePlacement').map((c) => [c.queue, (c.request as ReleaseRequest).indexes]);
    expect(released.sort()).toEqual([
      [fleet.hostQueue('a'), [0, 2]],
      [fleet.hostQueue('b'), [1]],
    ]);
  });

  it('gives back what a round placed when it could not place the whole gang, and places it whole in a later round', async () => {
    const rounds = new Set<number>();
    const fleet = new StubFleet(wf());
    const byIndex = placeByIndex(fleet);
    fleet.handlers.place = async (req) => {
      rounds.add(req.gang!.reserveUntil);
      // In the first round replica 2 finds no room anywhere; the others are placed.
      if (rounds.size === 1 && req.gang!.index === 2)
        throw ApplicationFailure.create({ type: FailureType.NotPlacedHere, message: 'host b is short of 1 GPU' });
      return byIndex(req);
    };
    const result = await fleet.run(async () => resultOf(await startAction(fleet, gangSpec())));
    expect(result).toMatchObject({ status: 'DONE', attempts: 1 });
    expect(rounds.size).toBe(2);
    // The first round's two reservations, then after the run every replica's.
    const released = fleet.callsOf('releasePlacement').map((c) => [c.queue, (c.request as ReleaseRequest).indexes]);
    expect(released.slice(0, 2).sort()).toEqual([
      [fleet.hostQueue('a'), [0]],
      [fleet.hostQueue('b'), [1]],
    ]);
    expect(released.slice(2).sort()).toEqual([
      [fleet.hostQueue('a'), [0, 2]],
      [fleet.hostQueue('b'), [1]],
    ]);
    expect(fleet.callsOf('execute')).toHaveLength(3);
  });

  it('stops the other replicas when one fails, and runs the whole gang again under the retry policy', async () => {
    const stops = new Map<string, ReturnType<typeof deferred>>();
    const stopOf = (runId: string) => stops.get(runId) ?? stops.set(runId, deferred()).get(runId)!;
    const fleet = new StubFleet(wf(), {
      execute: async (req, host) => {
        // Attempt 1: replica 1 is killed; the others run until they are stopped.
        if (req.replica!.attempt === 1 && req.replica!.index === 1)
          return { again: false, result: hostResult(req, host, exited(137)) };
        if (req.replica!.attempt === 1) {
          await heartbeatUntil({ phase: 'RUNNING' }, stopOf(req.runId).promise);
          return { again: false, result: hostResult(req, host, exited(143), true) };
        }
        return { again: false, result: hostResult(req, host, exited(0)) };
      },
      stopContainer: async (req) => stopOf(req.runId).resolve(undefined),
    });
    fleet.handlers.place = placeByIndex(fleet);
    const { result, id } = await fleet.run(async () => {
      const handle = await startAction(fleet, gangSpec({ retry: { attempts: 2, onExitCodes: [137] } }));
      return { result: await resultOf(handle), id: handle.workflowId };
    });
    expect(result).toMatchObject({ status: 'DONE', attempts: 2 });
    expect(result.replicas!.map((r) => r.actionId)).toEqual([0, 1, 2].map((i) => `${id}-replica-${i}-try-2`));
    const stopped = fleet.callsOf('stopContainer').map((c) => (c.request as ExecuteRequest).actionId);
    expect(stopped.sort()).toEqual([`${id}-replica-0`, `${id}-replica-2`]);
    expect(fleet.callsOf('place')).toHaveLength(6);
    expect(result.timings.filter((t) => t.step === 'place')).toHaveLength(2);
  });

  it('ends FAILED with the failing replica named when its failure is not retried', async () => {
    const stops = new Map<string, ReturnType<typeof deferred>>();
    const stopOf = (runId: string) => stops.get(runId) ?? stops.set(runId, deferred()).get(runId)!;
    const fleet = new StubFleet(wf(), {
      execute: async (req, host) => {
        if (req.replica!.index === 2) return { again: false, result: hostResult(req, host, exited(3)) };
        await heartbeatUntil({ phase: 'RUNNING' }, stopOf(req.runId).promise);
        return { again: false, result: hostResult(req, host, exited(143), true) };
      },
      stopContainer: async (req) => stopOf(req.runId).resolve(undefined),
    });
    fleet.handlers.place = placeByIndex(fleet);
    const result = await fleet.run(async () => resultOf(await startAction(fleet, gangSpec())));
    expect(result).toMatchObject({ status: 'FAILED', reason: 'exit', exitCode: 3, attempts: 1 });
    expect(result.message).toMatch(/^replica 2 \(on a\): exited 3; the other replicas were stopped/);
    expect(result.replicas!.map((r) => r.status)).toEqual(['CANCELED', 'CANCELED', 'FAILED']);
  });

  it.each([
    { how: 'cancelled', spec: {}, status: 'CANCELED', reason: 'canceled' },
    { how: 'past its deadline', spec: { deadline: '3s' }, status: 'FAILED', reason: 'deadline' },
  ])('stops every replica when the gang is $how', async ({ spec, status, reason }) => {
    const stops = new Map<string, ReturnType<typeof deferred>>();
    const stopOf = (runId: string) => stops.get(runId) ?? stops.set(runId, deferred()).get(runId)!;
    const running = deferred();
    let started = 0;
    const fleet = new StubFleet(wf(), {
      execute: async (req, host) => {
        if (++started === 3) running.resolve(undefined);
        await heartbeatUntil({ phase: 'RUNNING' }, stopOf(req.runId).promise);
        return { again: false, result: hostResult(req, host, exited(143), true) };
      },
      stopContainer: async (req) => stopOf(req.runId).resolve(undefined),
    });
    fleet.handlers.place = placeByIndex(fleet);
    const result = await fleet.run(async () => {
      const handle = await startAction(fleet, gangSpec(spec));
      await running.promise;
      if (!('deadline' in spec)) await handle.cancel();
      return resultOf(handle);
    });
    expect(result).toMatchObject({ status, reason });
    expect(fleet.callsOf('stopContainer')).toHaveLength(3);
    expect(result.replicas!.map((r) => r.status)).toEqual(['CANCELED', 'CANCELED', 'CANCELED']);
  });

  // Passes in 1-3 s. Twice in CI, under the fast tier's full load, the run hung after the cancel
  // until the test's bound, on the time-skipping test server (see the no-host-fits test below for
  // its like); run alone it hung once in 14 runs under load, never without. Hence a short bound and
  // two more tries: a fault of the workflow fails all three.
  it('gives back what it placed when cancelled while still placing', { timeout: 20_000, retry: 2 }, async () => {
    const placedTwo = deferred();
    let placed = 0;
    const fleet = new StubFleet(wf());
    const byIndex = placeByIndex(fleet);
    fleet.handlers.place = async (req) => {
      // Replica 2's place is still waiting for room when the cancel comes; the others are placed.
      // (It waits rather than fails: the time-skipping test server, unlike a real one, can lose a
      // workflow task when an activity fails in the instant the workflow withdraws it.)
      if (req.gang!.index === 2) return hang({});
      if (++placed === 2) placedTwo.resolve(undefined);
      return byIndex(req);
    };
    const result = await fleet.run(async () => {
      const handle = await startAction(fleet, gangSpec());
      await placedTwo.promise;
      await handle.cancel();
      return resultOf(handle);
    });
    expect(result).toMatchObject({ status: 'CANCELED', reason: 'canceled' });
    const released = fleet.callsOf('releasePlacement').map((c) => (c.request as ReleaseRequest).indexes);
    expect(released.flat().sort()).toEqual([0, 1]);
    expect(fleet.callsOf('execute')).toEqual([]);
  });

  it('ends FAILED no-host-fits at once when no fleet up could hold the gang, running nothing', async () => {
    const fleet = new StubFleet(wf(), {
      // The host offered replica 0 says no fleet could ever hold the gang; the places of the
      // others are still waiting when the gang ends, and are withdrawn. (One failure at a time:
      // the time-skipping test server, unlike a real one, loses a workflow task when several
      // activities fail in the instant the workflow withdraws them.)
      place: async (req) => {
        if (req.gang!.index !== 0) return hang({});
        throw ApplicationFailure.create({
          type: FailureType.NoHostFits,
          nonRetryable: true,
          message: 'a gang of 3 replicas can never be placed: the live fleet holds at most 2',
        });
      },
    });
    const result = await fleet.run(async () => resultOf(await startAction(fleet, gangSpec())));
    expect(result).toMatchObject({ status: 'FAILED', reason: 'no-host-fits' });
    expect(result.message).toContain('at most 2');
    expect(fleet.callsOf('execute')).toEqual([]);
  });
});
