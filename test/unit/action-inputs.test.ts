import { describe, expect, it } from 'vitest';
import { InputError, defaultActionId, readInputs } from '../../action/inputs.js';

const from = (inputs: Record<string, string>) => (name: string) => inputs[name] ?? '';
const image = '127.0.0.1:5000/caisson/busybox:1';
const github = { GITHUB_REPOSITORY: 'org/repo', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '1', GITHUB_JOB: 'build', GITHUB_ACTION: 'run-step' };

function problems(inputs: Record<string, string>): Record<string, string> {
  try {
    readInputs(from(inputs), github);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return Object.fromEntries((err as InputError).problems.map((p) => [p.input, p.message]));
  }
  throw new Error('expected the inputs to be refused');
}

describe('action inputs', () => {
  it('builds the spec, the connection and a stable action id', () => {
    const inputs = readInputs(
      from({
        image,
        command: 'sh\n-c',
        args: '["echo hi > /out/x"]',
        env: 'A=1\nB=two=2',
        secrets: 'TOKEN, OTHER',
        cpu: '500m',
        memory: '64Mi',
        gpus: '0,1',
        timeout: '2m',
        input: '{"x": [1]}',
        output: 'json',
        'artifacts-prefix': 'ci',
        'temporal-address': 'temporal.internal:7233',
        'task-queue': 'gpu',
        wait: 'false',
      }),
      github,
    );
    expect(inputs.spec).toMatchObject({
      image,
      command: ['sh', '-c'],
      args: ['echo hi > /out/x'],
      env: { A: '1', B: 'two=2' },
      secrets: ['TOKEN', 'OTHER'],
      resources: { cpu: '500m', memory: '64Mi', gpus: ['0', '1'] },
      timeout: '2m',
      input: { x: [1] },
      output: 'json',
      artifacts: { prefix: 'ci' },
      source: 'github.com/org/repo run 42',
    });
    expect(inputs.actionId).toBe('gh-org-repo-42-1-build-run-step');
    expect(inputs.temporal.address).toBe('temporal.internal:7233');
    expect(inputs).toMatchObject({ taskQueue: 'gpu', wait: false, followLogs: true });
  });

  it('derives the same id for a retried step and none outside GitHub', () => {
    expect(defaultActionId(github)).toBe(defaultActionId({ ...github }));
    expect(defaultActionId({})).toBeUndefined();
  });

  it('names each bad input and what is wrong, all at once', () => {
    expect(
      problems({
        image: 'Not An Image',
        memory: '512m',
        cpu: 'lots',
        timeout: 'forever',
        network: 'bridge',
        env: 'NOEQUALS',
        input: '{broken',
        command: '["sh", 3]',
        wait: 'maybe',
        'action-id': '-bad id-',
        'temporal-address': 'no-port',
      }),
    ).toEqual({
      image: expect.stringContaining('not an image reference'),
      memory: expect.stringContaining('"512Mi"'),
      cpu: expect.stringContaining('millicores'),
      timeout: expect.stringContaining('not a duration'),
      network: expect.any(String),
      env: expect.stringContaining('KEY=VALUE'),
      input: expect.stringContaining('not valid JSON'),
      command: expect.stringContaining('JSON array of strings'),
      wait: 'true or false',
      'action-id': expect.stringContaining('action id'),
      'temporal-address': expect.stringContaining('host:port'),
    });
  });

  it('requires an image', () => {
    expect(problems({})).toHaveProperty('image');
  });
});
