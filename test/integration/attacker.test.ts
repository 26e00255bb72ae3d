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
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
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
import type { Attack, Outcome } from '../fixtures/attacker-workflows.js';
import { busybox, useSuiteWorker } from '../support/actions.js';
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
): Promise<{ runId: string; outcomes: Outcome[] }> {
  const handle = await attacker.workflow.start(type, {
    taskQueue: attackerQueue,
    workflowId: `attacker-${randomUUID()}`,
    args: type === 'runAction' ? [{ spec, attacks }] : [attacks],
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
