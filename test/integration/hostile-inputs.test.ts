// Hostile specs on the real stack: refused before anything runs, with the field named, whether they
// come through the client, the CLI or a start that skips both; names that are also JavaScript
// object properties work like any other.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { WorkflowFailedError } from '@temporalio/client';
import { InvalidSpecError, type ActionsClient } from '../../client/index.js';
import { WORKFLOW_TYPE } from '../../spec/workflow-api.js';
import { busybox, useSuiteWorker } from '../support/actions.js';
import { env } from '../support/env.js';

const CLI = fileURLToPath(new URL('../../build/cli/main.js', import.meta.url));

function caisson(...args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, CAISSON_TASK_QUEUE: inject('taskQueue') } },
      (error, _stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
}

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const suite = useSuiteWorker();
let client: ActionsClient;
beforeAll(() => {
  client = suite.client();
});

/**
 * Starts the spec (the busybox image plus `extra`) straight on Temporal, skipping the client's
 * checks; expects the run to fail within 10 s as a non-retryable InvalidSpec, and returns its words.
 */
async function refusedRawStart(extra: Record<string, unknown>): Promise<string> {
  const handle = await client.client.workflow.start(WORKFLOW_TYPE, {
    taskQueue: inject('taskQueue'),
    workflowId: `hostile-${randomUUID()}`,
    args: [{ spec: { image: env('TEST_IMAGE_BUSYBOX'), ...extra } }],
  });
  const asked = Date.now();
  const error = await handle.result().catch((e: unknown) => e);
  expect(Date.now() - asked).toBeLessThan(10_000);
  expect(error).toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause as unknown as {
    type: string;
    nonRetryable: boolean;
    message: string;
  };
  expect(cause).toMatchObject({ type: 'InvalidSpec', nonRetryable: true });
  return cause.message;
}

describe('a hostile spec', () => {
  it('started without the client fails the workflow at once, naming each field (deep input, tiny timeout, cpu below the engine minimum)', async () => {
    const message = await refusedRawStart({
      input: nested(3000),
      timeout: '0.1ms',
      resources: { cpu: '1m' },
      env: { A: 'x\0y' },
    });
    for (const field of ['input:', 'timeout:', 'resources.cpu:', 'env.A:']) expect(message).toContain(field);
  });

  it('through the client is refused before any start, with every field named', async () => {
    const error = await client
      .start(
        busybox('true', {
          input: { deep: nested(3000) },
          env: { BIG: 'x'.repeat(200_000) },
          image: `${env('TEST_IMAGE_BUSYBOX')}${'x'.repeat(300)}`,
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSpecError);
    expect([...new Set((error as InvalidSpecError).problems.map((p) => p.path))].sort()).toEqual([
      'env.BIG',
      'image',
      'input',
    ]);
  });

  it('through the CLI exits 125 naming the field', async () => {
    for (const [flag, value, field] of [
      ['--timeout', `${'9'.repeat(400)}s`, 'timeout'],
      ['--cpu', '1m', 'resources.cpu'],
      ['--memory', '9'.repeat(400), 'resources.memory'],
    ] as const) {
      const { code, stderr } = await caisson('run', flag, value, env('TEST_IMAGE_BUSYBOX'), '--', 'true');
      expect(code).toBe(125);
      expect(stderr).toContain(`${field}:`);
    }
  });
});

/** One hostile field each, started straight on Temporal (no client check): the run fails at once, naming it. */
const RAW_STARTS: [path: string, extra: Record<string, unknown>][] = [
  ['image', { image: `${'r'.repeat(300)}.example/x:1` }],
  ['command.0', { command: ['x'.repeat((128 << 10) + 1)] }],
  ['args.0', { args: ['a\0b'] }],
  ['env.BIG', { env: { BIG: 'v'.repeat((128 << 10) + 1) } }],
  ['env.NUL', { env: { NUL: 'a\0' } }],
  [`env.${'N'.repeat(300)}`, { env: { ['N'.repeat(300)]: 'v' } }],
  ['env', { env: Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`V${i}`, 'x'.repeat(120_000)])) }],
  ['workingDir', { workingDir: `/${'d'.repeat(5000)}` }],
  ['user', { user: 'u'.repeat(65) }],
  ['source', { source: 'ok\0' }],
  ['artifacts.prefix', { artifacts: { prefix: 'p/'.repeat(300) } }],
  ['artifacts.prefix', { artifacts: { prefix: 'team/./x' } }],
  ['artifacts.prefix', { artifacts: { prefix: 'a//b' } }],
  ['artifacts.bucket', { artifacts: { bucket: 'Not_A_Bucket' } }],
  ['input', { input: 'x'.repeat(1_200_000) }],
  ['input', { input: nested(3000) }],
  ['timeout', { timeout: 0.0001 }],
  ['timeout', { timeout: '0.1ms' }],
  ['timeout', { timeout: `${'9'.repeat(400)}s` }],
  ['timeout', { timeout: '1h'.repeat(50_000) }],
  ['timeout', { timeout: '8d' }],
  ['timeout', { timeout: true }],
  ['resources.memory', { resources: { memory: '9'.repeat(400) } }],
  ['resources.memory', { resources: { memory: '99999999Ti' } }],
  ['resources.memory', { resources: { memory: '1Mi' } }],
  ['resources.cpu', { resources: { cpu: '1m' } }],
  ['resources.cpu', { resources: { cpu: 0.001 } }],
  ['retry.attempts', { retry: { attempts: 1000 } }],
  ['retry.onReasons.0', { retry: { attempts: 2, onReasons: ['bogus'] } }],
  ['secrets.0', { secrets: ['not a name'] }],
];

describe('a hostile field in a spec started without the client', () => {
  for (const [path, extra] of RAW_STARTS) {
    // The title shows the start of the value only: some are megabytes, one nests 3000 deep.
    it(`${path} ← ${JSON.stringify(extra).slice(0, 50)}: the run fails at once, non-retryable, naming the field`, async () => {
      expect(await refusedRawStart({ command: ['true'], ...extra })).toContain(`  - ${path}: `);
    });
  }

  it('a 3 MB spec is refused by the client naming its size, not with a gRPC "blob size" error', async () => {
    const error = await client
      .start(busybox('true', { input: { blob: 'x'.repeat(3_000_000) } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidSpecError);
    expect((error as InvalidSpecError).problems).toEqual([
      { path: '(spec)', message: expect.stringMatching(/at most 1572864/) },
    ]);
  });
});

describe('env names that are also JavaScript object properties', () => {
  it('reach the container like any other name', async () => {
    const spec = busybox('echo "proto=$__proto__ str=$toString ctor=$constructor"');
    spec.env = JSON.parse('{"__proto__": "p1", "toString": "t1", "constructor": "c1"}') as Record<string, string>;
    const result = await (await client.start(spec)).result();
    expect(result.status).toBe('DONE');
    expect(result.logTail).toEqual(['proto=p1 str=t1 ctor=c1']);
  });
});
