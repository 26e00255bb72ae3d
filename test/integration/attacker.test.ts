// The host is the trust boundary. A namespace user with a worker of its own schedules every host
// activity directly, with hostile requests: each is refused by the host with RefusedByHost naming
// the field, the engine shows no container of those runs, nothing is written outside an action's
// own folder, another action's result stays as it was, and an honest action on the same worker
// still ends DONE.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { LABEL } from '../../activities/container/labels.js';
import {
  connectionOptions,
  dataConverterFor,
  temporalSettingsFromEnv,
} from '../../common/connection/temporal-connection.js';
import { hostQueue } from '../../worker/config.js';
import { resultsQueue } from '../../spec/workflow-api.js';
import type { ActionResult } from '../../spec/result.js';
import { parseActionSpec } from '../../spec/action.js';
import type { GangMember } from '../../spec/gang.js';
import type { Attack, Outcome } from '../fixtures/attacker-workflows.js';
import { busybox, expectNoLeftovers, useSuiteWorker } from '../support/actions.js';
import { docker, env, objectText, s3 } from '../support/env.js';
import { engineEvents } from '../support/engine-events.js';

const suite = useSuiteWorker();
const POC = '/tmp/caisson-poc-owned';
let worker: Worker;
let running: Promise<void>;
let attacker: Client;
let closeAll: () => Promise<void>;
const attackerQueue = `attacker-${randomUUID()}`;

beforeAll(async () => {
  // What any holder of the namespace's credentials (and the payload key every client needs) has.
  const settings = temporalSettingsFromEnv();
  const dataConverter = dataConverterFor(settings);
  const native = await NativeConnection.connect(connectionOptions(settings));
  worker = await Worker.create({
    connection: native,
    namespace: settings.namespace,
    taskQueue: attackerQueue,
    workflowsPath: fileURLToPath(new URL('../fixtures/attacker-workflows.ts', import.meta.url)),
    dataConverter,
  });
  running = worker.run();
  const connection = await Connection.connect(connectionOptions(settings));
  attacker = new Client({ connection, namespace: settings.namespace, dataConverter });
  closeAll = async () => {
    worker.shutdown();
    await running;
    await connection.close();
    await native.close();
  };
}, 120_000);
afterAll(async () => {
  await closeAll?.();
});

const hostQ = () => hostQueue(inject('taskQueue'), inject('workerHost'));
const honest = () => busybox('echo hello > /out/greeting.txt');

/** Runs the attacks from a workflow of the given type, started with `spec` in its input; returns each outcome. */
async function launch(
  type: 'runAction' | 'probe',
  spec: unknown,
  attacks: Attack[],
  replica?: GangMember,
): Promise<{ runId: string; outcomes: Outcome[] }> {
  const handle = await attacker.workflow.start(type, {
    taskQueue: attackerQueue,
    workflowId: `attacker-${randomUUID()}`,
    args: type === 'runAction' ? [{ spec, attacks, ...(replica ? { replica } : {}) }] : [attacks],
  });
  const outcomes = (await handle.result()) as Outcome[];
  return { runId: handle.firstExecutionRunId, outcomes };
}

/** An execute request as the honest workflow sends it for this run, with `change` applied. */
function execute(change: Record<string, unknown> = {}, spec: unknown = parseActionSpec(honest())) {
  return {
    actionId: '$actionId',
    runId: '$runId',
    attempt: 1,
    spec,
    stopGraceSeconds: 10,
    canceled: false,
    startedAt: new Date().toISOString(),
    timings: [],
    ...change,
  };
}

describe('a namespace user scheduling host activities directly', () => {
  it('is refused by the host for every hostile request, and nothing of it runs or is written', async () => {
    const since = Date.now();
    // Another team's action, finished: its folder and result.json are what an attacker would overwrite.
    const victim = await (await suite.client().start(honest())).result();
    expect(victim.status).toBe('DONE');
    const victimResult = await objectText(s3(), victim.resultUri!);
    const bucket = env('CAISSON_ARTIFACTS_BUCKET');
    const h = hostQ();
    const ex = (name: string, field: string, change: Record<string, unknown>, spec?: unknown) => ({
      field,
      attack: { name, queue: h, activity: 'execute' as const, request: execute(change, spec) },
    });
    const withSpec = (name: string, extra: Record<string, unknown>) =>
      ex(name, 'spec', { spec: { ...parseActionSpec(honest()), ...extra } });
    const cases: { field: string; attack: Attack }[] = [
      withSpec('input written outside /in', {
        inputs: [{ from: `s3://${bucket}/attacker/payload`, to: '/in/../../../../../../../../tmp/caisson-poc-owned' }],
      }),
      ex('the same, with the spec said to be elided', 'spec', {
        specElided: true,
        spec: {
          ...parseActionSpec(honest()),
          inputs: [{ from: `s3://${bucket}/attacker/payload`, to: '/in/../../../../tmp/caisson-poc-owned' }],
        },
      }),
      withSpec('the host network', { network: 'host' }),
      withSpec("another container's network", { network: `container:${victim.actionId}` }),
      withSpec('memory 0 (unlimited to the engine)', { resources: { memory: 0 } }),
      withSpec('cpu 0', { resources: { cpu: 0 } }),
      withSpec('pids 0', { resources: { pids: 0 } }),
      withSpec('a secret by path', { secrets: ['../../etc/shadow'] }),
      withSpec('a file written outside the container', { files: [{ path: '/../../etc/cron.d/owned', content: 'x' }] }),
      withSpec("another command over the run's honest start", {
        command: ['sh', '-c', 'cat /etc/shadow > /out/shadow'],
      }),
      withSpec("another action's artifacts prefix", { artifacts: { prefix: '../other-team' } }),
      withSpec('another image', { image: `${env('TEST_REGISTRY')}/caisson/other:1` }),
      ex("another action's id (its folder and result.json)", 'actionId', { actionId: victim.actionId }),
      ex("another run's id", 'runId', { runId: victim.runId }),
      ex('attempt 0', 'attempt', { attempt: 0 }),
      ex('an attempt past retry.attempts', 'attempt', { attempt: 21 }),
      ex('an attempt that is not a number', 'attempt', { attempt: '1; rm -rf /' }),
      ex('a negative stop grace', 'stopGraceSeconds', { stopGraceSeconds: -1 }),
      ex('a stop grace of a day', 'stopGraceSeconds', { stopGraceSeconds: 86_400 }),
      ex('an array member it is not', 'member', { member: { index: 3, count: 10 } }),
      ex("GPU ids of the attacker's choosing", 'gpuIds', { gpuIds: ['0', '1'] }),
      ex('a gang replica its start does not have', 'replica', {
        replica: { index: 0, count: 2, gangId: 'g', gangRunId: 'r', attempt: 1, peers: [] },
      }),
      ex('too many timings', 'timings', {
        timings: Array.from({ length: 5000 }, () => ({ step: 'run', startedAt: 'x', ms: 1 })),
      }),
      ex('a start time that is not a time', 'startedAt', { startedAt: 'yesterday' }),
      ex('canceled that is not a boolean', 'canceled', { canceled: 'no' }),
      ex('specElided that is not true', 'specElided', { specElided: 'yes' }),
      {
        field: 'actionId',
        attack: {
          name: "stopping another action's container",
          queue: h,
          activity: 'stopContainer',
          request: { ...execute(), actionId: victim.actionId, runId: victim.runId },
        },
      },
      {
        field: 'actionId',
        attack: {
          name: "removing another action's containers",
          queue: h,
          activity: 'removeRun',
          request: { ...execute(), actionId: victim.actionId, runId: victim.runId },
        },
      },
      {
        field: 'attempt',
        attack: {
          name: 'removing with a forged attempt',
          queue: h,
          activity: 'removeRun',
          request: execute({ attempt: 999 }),
        },
      },
      {
        field: 'actionId',
        attack: {
          name: "overwriting another action's result.json",
          queue: resultsQueue(inject('taskQueue')),
          activity: 'finalize',
          request: { result: { ...victim, status: 'FAILED', message: 'owned' } },
        },
      },
      {
        field: 'bucket',
        attack: {
          name: 'a result.json in a bucket the run did not name',
          queue: resultsQueue(inject('taskQueue')),
          activity: 'finalize',
          request: { result: { ...victim, actionId: '$actionId', runId: '$runId' }, bucket: 'other-bucket' },
        },
      },
      {
        field: 'runId',
        attack: {
          name: "placing another run's needs",
          queue: inject('taskQueue'),
          activity: 'place',
          request: { actionId: '$actionId', runId: victim.runId },
        },
      },
    ];

    const { runId, outcomes } = await launch(
      'runAction',
      honest(),
      cases.map((c) => c.attack),
    );
    // A run whose start holds no valid spec gets nothing, even with a request that matches it.
    const zero = { ...honest(), resources: { memory: '0' } };
    const invalidStart = await launch('runAction', zero, [
      { name: 'a start whose spec the workflow refuses', queue: h, activity: 'execute', request: execute({}, zero) },
    ]);
    // A workflow of another type gets nothing from any host activity.
    const probe = await launch('probe', undefined, [
      { name: 'execute from another workflow type', queue: h, activity: 'execute', request: execute() },
      { name: 'stopContainer from another workflow type', queue: h, activity: 'stopContainer', request: execute() },
      { name: 'removeRun from another workflow type', queue: h, activity: 'removeRun', request: execute() },
      {
        name: 'place from another workflow type',
        queue: inject('taskQueue'),
        activity: 'place',
        request: { actionId: '$actionId', runId: '$runId' },
      },
      {
        name: 'finalize from another workflow type',
        queue: resultsQueue(inject('taskQueue')),
        activity: 'finalize',
        request: { result: { ...victim, actionId: '$actionId', runId: '$runId' } },
      },
    ]);

    const expected = [
      ...cases.map((c) => ({ name: c.attack.name, type: 'RefusedByHost', field: c.field })),
      { name: 'a start whose spec the workflow refuses', type: 'RefusedByHost', field: 'spec' },
      ...probe.outcomes.map((o) => ({ name: o.name, type: 'RefusedByHost', field: 'workflowType' })),
    ];
    const seen = [...outcomes, ...invalidStart.outcomes, ...probe.outcomes].map((o) => ({
      name: o.name,
      type: o.type,
      field: /refused by host [^:]+: ([^:]+):/.exec(o.message)?.[1],
    }));
    expect(seen).toEqual(expected);
    expect(expected.length).toBeGreaterThanOrEqual(25);

    // Nothing of the attacker's runs reached the engine, and nothing was written where it aimed.
    for (const run of [runId, invalidStart.runId, probe.runId]) {
      expect(await engineEvents(docker(), since, [`${LABEL.runId}=${run}`], ['create', 'start'])).toEqual([]);
    }
    expect(existsSync(POC)).toBe(false);
    expect(await objectText(s3(), victim.resultUri!)).toBe(victimResult);

    // The worker still serves honest actions.
    const after = await (await suite.client().start(honest())).result();
    expect(after).toMatchObject({ status: 'DONE', exitCode: 0 });
    expect((after as ActionResult).artifacts.map((a) => a.path)).toEqual(['greeting.txt']);
  }, 240_000);

  it("keeps a gang's reservation from other runs, and refuses a replica whose peers the fleet did not register", async () => {
    const since = Date.now();
    const h = hostQ();
    const gangSpec = busybox('true', { replicas: 2, gang: true });
    const placeReplica0 = (name: string): Attack => ({
      name,
      queue: inject('taskQueue'),
      activity: 'place',
      request: {
        actionId: '$actionId',
        runId: '$runId',
        gang: { index: 0, replicas: 2, reserveUntil: Date.now() + 60_000 },
      },
    });
    const release = (name: string, runId: string, indexes: unknown): Attack => ({
      name,
      queue: h,
      activity: 'releasePlacement',
      request: { actionId: '$actionId', runId, indexes },
    });
    // A gang's run reserves replica 0 here, then waits while another run tries to give it back.
    const gang = await attacker.workflow.start('runAction', {
      taskQueue: attackerQueue,
      workflowId: `attacker-${randomUUID()}`,
      args: [
        {
          spec: gangSpec,
          attacks: [
            placeReplica0('place replica 0'),
            { name: 'wait', queue: h, activity: 'waitForSignal', request: null },
            placeReplica0('place replica 0 again'),
            release('release its own reservation', '$runId', [0]),
          ],
        },
      ],
    });
    await vi.waitFor(async () => expect(await gang.query<Outcome[]>('progress')).toHaveLength(1), {
      timeout: 30_000,
      interval: 100,
    });
    const other = await launch('runAction', honest(), [
      release("releasing another run's reservation", gang.firstExecutionRunId, [0, 1]),
      release('releasing the same indexes as its own', '$runId', [0, 1]),
      release('releasing indexes that are no replicas', '$runId', [-1, 'all']),
    ]);
    await gang.signal('goOn');
    const placed = (await gang.result()) as Outcome[];
    expect(other.outcomes.map((o) => [o.name, o.type, /refused by host [^:]+: ([^:]+):/.exec(o.message)?.[1]])).toEqual(
      [
        ["releasing another run's reservation", 'RefusedByHost', 'runId'],
        ['releasing the same indexes as its own', undefined, undefined],
        ['releasing indexes that are no replicas', 'RefusedByHost', 'indexes'],
      ],
    );
    // Replica 0 still held its reservation, with the same port; its own run gave it back.
    const first = placed[0]!.result as { port: number; address: string; host: string };
    expect(first).toMatchObject({ host: inject('workerHost'), address: '127.0.0.1', port: expect.any(Number) });
    expect(placed[2]!.result).toEqual(first);
    expect(placed[3]).toMatchObject({ message: 'carried out' });
    await expectNoLeftovers();

    // A replica started by hand on the gang's network, whose peers name an address no host of the
    // fleet registered: the worker would relay to it. (Without that network peers are only told.)
    const netSpec = { ...gangSpec, network: 'gang' as const };
    const peer0 = { rank: 0, host: inject('workerHost'), address: '127.0.0.1', port: 30000 };
    const forged = (peer1: object): GangMember => ({
      index: 0,
      count: 2,
      gangId: 'forged',
      gangRunId: 'forged-run',
      attempt: 1,
      hostQueue: 'caisson@host',
      peers: [peer0, { rank: 1, port: 30001, ...peer1 } as GangMember['peers'][number]],
    });
    const attempts = [
      {
        name: 'a peer at an address no fleet host registered',
        peer1: { host: 'it-elsewhere', address: '203.0.113.9' },
      },
      { name: 'a peer on this host at another address', peer1: { host: inject('workerHost'), address: '203.0.113.9' } },
    ];
    for (const { name, peer1 } of attempts) {
      const replica = forged(peer1);
      const run = await launch(
        'runAction',
        netSpec,
        [{ name, queue: h, activity: 'execute', request: execute({ replica }, parseActionSpec(netSpec)) }],
        replica,
      );
      // Refused before its peers are even read: only its gang's run starts a replica (the peers of
      // one it did start are checked against the fleet: test/unit/gang-placement.test.ts).
      expect(run.outcomes[0]).toMatchObject({ type: 'RefusedByHost' });
      expect(run.outcomes[0]!.message).toContain(
        "names replica 0 of gang forged, but that gang's run did not start it",
      );
      expect(await engineEvents(docker(), since, [`${LABEL.runId}=${run.runId}`], ['create', 'start'])).toEqual([]);
    }
  });

  it("gives a replica its gang's reservation only when it is a child of the gang's run", async () => {
    const h = hostQ();
    const gangSpec = busybox('true', { replicas: 2, gang: true });
    const placeReplica = (index: number): Attack => ({
      name: `place replica ${index}`,
      queue: inject('taskQueue'),
      activity: 'place',
      request: {
        actionId: '$actionId',
        runId: '$runId',
        gang: { index, replicas: 2, reserveUntil: Date.now() + 60_000 },
      },
    });
    // The gang's run reserves both replicas, then starts replica 0's run as its child (as the
    // gang's workflow does) and gives back what is left.
    const gang = await attacker.workflow.start('runAction', {
      taskQueue: attackerQueue,
      workflowId: `attacker-${randomUUID()}`,
      args: [
        {
          spec: gangSpec,
          attacks: [
            placeReplica(0),
            placeReplica(1),
            { name: 'wait', queue: h, activity: 'waitForSignal', request: null },
            { name: 'replica 0', queue: h, activity: 'startChild', request: '$signaled' },
            {
              name: 'release what is left',
              queue: h,
              activity: 'releasePlacement',
              request: { actionId: '$actionId', runId: '$runId', indexes: [0, 1] },
            },
          ],
        },
      ],
    });
    await vi.waitFor(async () => expect(await gang.query<Outcome[]>('progress')).toHaveLength(2), {
      timeout: 30_000,
      interval: 100,
    });
    const placed = (await gang.query<Outcome[]>('progress')).map((o) => o.result as { port: number });
    const replica = (index: number): GangMember => ({
      index,
      count: 2,
      gangId: gang.workflowId,
      gangRunId: gang.firstExecutionRunId,
      attempt: 1,
      hostQueue: 'caisson@host',
      peers: placed.map((p, rank) => ({ rank, host: inject('workerHost'), address: '127.0.0.1', port: p.port })),
    });
    const runs = (r: GangMember): Attack[] => [
      { name: 'execute', queue: h, activity: 'execute', request: execute({ replica: r }, parseActionSpec(gangSpec)) },
      { name: 'remove', queue: h, activity: 'removeRun', request: execute({ replica: r }, parseActionSpec(gangSpec)) },
    ];
    // A run started by hand naming replica 1 of that gang is no child of it: the reservation (and
    // its port) stays the gang's, and nothing runs.
    const impostor = await launch('runAction', gangSpec, runs(replica(1)).slice(0, 1), replica(1));
    expect(impostor.outcomes[0]).toMatchObject({ type: 'RefusedByHost' });
    expect(impostor.outcomes[0]!.message).toContain(
      `names replica 1 of gang ${gang.workflowId}, but that gang's run did not start it`,
    );
    await gang.signal('goOn', { spec: gangSpec, replica: replica(0), attacks: runs(replica(0)) });
    const outcomes = (await gang.result()) as Outcome[];
    const child = outcomes[3]!.result as Outcome[];
    expect(child.map((o) => o.message)).toEqual(['carried out', 'carried out']);
    expect(child[0]!.result).toMatchObject({ again: false, result: { status: 'DONE', exitCode: 0 } });
    expect(outcomes[4]).toMatchObject({ message: 'carried out' });
    // The child's run held replica 0's place until its removal; the gang's run gave back replica 1's.
    await expectNoLeftovers();
  });

  it("starting an action id again (AllowDuplicate) never overwrites the first run's folder or result", async () => {
    const first = await (await suite.client().start(honest())).result();
    expect(first.status).toBe('DONE');
    const firstResult = await objectText(s3(), first.resultUri!);
    const since = Date.now();
    // A raw Temporal client may reuse a closed action's id; Caisson's own client refuses to.
    const again = await attacker.workflow.start('runAction', {
      taskQueue: inject('taskQueue'),
      workflowId: first.actionId,
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      args: [{ spec: busybox('echo overwritten > /out/greeting.txt') }],
    });
    const failure = await again.result().then(
      () => undefined,
      (err: WorkflowFailedError) => err,
    );
    const second = (failure?.cause as ApplicationFailure | undefined)?.details?.[0] as ActionResult | undefined;
    expect(second).toMatchObject({ status: 'FAILED', reason: 'policy', runId: again.firstExecutionRunId });
    expect(second!.message).toContain(`already has the result of run ${first.runId}`);
    expect(
      await engineEvents(docker(), since, [`${LABEL.runId}=${again.firstExecutionRunId}`], ['create', 'start']),
    ).toEqual([]);
    expect(await objectText(s3(), first.resultUri!)).toBe(firstResult);
    expect(await objectText(s3(), first.artifacts[0]!.uri)).toBe('hello\n');
  });
});
