// The Action's inputs as GitHub hands them over: INPUT_* variables, read by @actions/core itself.
import * as core from '@actions/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InputError, defaultActionId, readConnectionInputs, readInputs } from '../../action/inputs.js';

/** Sets the step's inputs the way the runner does (INPUT_<NAME>, name upper-cased), and only those. */
function given(inputs: Record<string, string>): typeof core {
  for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) vi.stubEnv(name, undefined);
  for (const [name, value] of Object.entries(inputs)) vi.stubEnv(`INPUT_${name.toUpperCase()}`, value);
  return core;
}

const image = '127.0.0.1:5000/caisson/busybox:1';
const github = {
  GITHUB_REPOSITORY: 'org/repo',
  GITHUB_RUN_ID: '42',
  GITHUB_RUN_ATTEMPT: '1',
  GITHUB_JOB: 'build',
  GITHUB_ACTION: 'run-step',
};

function problems(inputs: Record<string, string>): Record<string, string> {
  try {
    readInputs(given(inputs), github);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return Object.fromEntries((err as InputError).problems.map((p) => [p.input, p.message]));
  }
  throw new Error('expected the inputs to be refused');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('action inputs', () => {
  it('takes args as one argument unless it is a JSON array: a script block runs whole', () => {
    const script = 'echo one > /out/1\necho two > /out/2\necho three > /out/3';
    expect(readInputs(given({ image, command: 'sh\n-c', args: `${script}\n` }), github).spec.args).toEqual([script]);
    expect(readInputs(given({ image, args: '["a", "b c"]' }), github).spec.args).toEqual(['a', 'b c']);
  });

  it('reads the disk budget and the pull policy, and names a bad one by its input', () => {
    const spec = readInputs(
      given({ image, 'out-disk': '2Gi', 'tmp-disk': '512Mi', 'log-size': '64Mi', 'pull-policy': 'if-not-present' }),
      github,
    ).spec;
    expect(spec).toMatchObject({
      resources: { outDisk: '2Gi', tmpDisk: '512Mi', logSize: '64Mi' },
      pullPolicy: 'if-not-present',
    });
    expect(
      Object.keys(problems({ image, 'out-disk': '2m', 'log-size': '1Mi', 'pull-policy': 'sometimes' })).sort(),
    ).toEqual(['log-size', 'out-disk', 'pull-policy']);
  });

  it('reads required and preferred host labels, one per line, and names a bad one by its input', () => {
    const spec = readInputs(given({ image, require: 'zone=a\ndisk=nvme', prefer: 'arch=amd64' }), github).spec;
    expect(spec.placement).toEqual({ require: { zone: 'a', disk: 'nvme' }, prefer: { arch: 'amd64' } });
    expect(Object.keys(problems({ image, require: 'bad label=x' }))).toEqual(['require']);
  });

  it('builds the spec, the connection and the action id', () => {
    const inputs = readInputs(
      given({
        image,
        command: 'sh\n\n  -c  ',
        args: '["echo hi > /out/x"]',
        env: 'A=1\r\n\r\nB=two=2\r\n',
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
    expect(inputs.temporal).toEqual({ address: 'temporal.internal:7233', namespace: 'default' });
    expect(inputs).toMatchObject({ taskQueue: 'gpu', wait: false, followLogs: true });
  });

  it('takes an explicit action id over the derived one, and falls back to the defaults', () => {
    const inputs = readInputs(given({ image, 'action-id': ' nightly-1 ' }), github);
    expect(inputs.actionId).toBe('nightly-1');
    expect(inputs.temporal).toEqual({ address: '127.0.0.1:7233', namespace: 'default' });
    expect(inputs).toMatchObject({ taskQueue: 'caisson', wait: true, followLogs: true });
    expect(readInputs(given({ image }), {}).actionId).toMatch(/^gh-\d+$/);
  });

  it('reads booleans as GitHub does (YAML 1.2) and names the input it refuses', () => {
    expect(readInputs(given({ image, wait: 'True', 'follow-logs': 'FALSE' }), github)).toMatchObject({
      wait: true,
      followLogs: false,
    });
    expect(problems({ image, wait: 'yes', 'follow-logs': '0' })).toEqual({
      wait: 'true or false (also True, TRUE, False, FALSE), not "yes"',
      'follow-logs': 'true or false (also True, TRUE, False, FALSE), not "0"',
    });
    expect(() => readInputs(given({ image, wait: 'maybe' }), github)).toThrow(
      /^invalid inputs:\n {2}- wait: true or false/,
    );
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
      wait: expect.stringContaining('true or false'),
      'action-id': expect.stringContaining('action id'),
      'temporal-address': expect.stringContaining('host:port'),
    });
  });

  it('requires an image', () => {
    expect(problems({})).toHaveProperty('image');
  });

  it('awaits by action-id alone: no spec is required, but anything to run or upload makes it a start', () => {
    const awaiting = readInputs(given({ 'action-id': 'nightly-1', download: 'out/**' }), github);
    expect(awaiting).toMatchObject({ actionId: 'nightly-1', awaitOnly: true, wait: true });
    expect(readInputs(given({ image, 'action-id': 'nightly-1' }), github).awaitOnly).toBe(false);
    expect(problems({ 'action-id': 'nightly-1', memory: '64Mi' })).toHaveProperty('image');
    expect(problems({ 'action-id': 'nightly-1', upload: 'data' })).toHaveProperty('upload');
  });

  it('takes the connection from the job environment when its inputs are empty, an input winning', () => {
    const jobEnv = {
      TEMPORAL_ADDRESS: 'temporal.env:7233',
      TEMPORAL_NAMESPACE: 'env-ns',
      TEMPORAL_API_KEY: 'env-key',
      CAISSON_CODEC_KEYS: 'k1:env',
      CAISSON_TASK_QUEUE: 'env-queue',
    };
    expect(readConnectionInputs(given({}), jobEnv)).toEqual({
      temporal: { address: 'temporal.env:7233', namespace: 'env-ns', apiKey: 'env-key', codecKeys: 'k1:env' },
      taskQueue: 'env-queue',
    });
    expect(
      readConnectionInputs(
        given({ 'temporal-namespace': 'ci', 'codec-keys': 'k1:input', 'task-queue': 'gpu' }),
        jobEnv,
      ),
    ).toMatchObject({ temporal: { namespace: 'ci', codecKeys: 'k1:input' }, taskQueue: 'gpu' });
  });

  it('reads only the connection for the post step, whatever the spec inputs say', () => {
    expect(
      readConnectionInputs(
        given({
          image: 'Not An Image',
          'temporal-address': 'temporal.internal:7233',
          'temporal-namespace': 'ci',
          'task-queue': 'gpu',
        }),
        {},
      ),
    ).toEqual({
      temporal: { address: 'temporal.internal:7233', namespace: 'ci' },
      taskQueue: 'gpu',
    });
    expect(() => readConnectionInputs(given({ 'temporal-address': 'no-port' }))).toThrow(/temporal-address: host:port/);
  });
});

describe('the default action id', () => {
  it('is gh-<repository>-<run>-<attempt>-<job>-<step>, with / and other characters replaced by -', () => {
    expect(defaultActionId(github)).toBe('gh-org-repo-42-1-build-run-step');
    expect(
      defaultActionId({
        ...github,
        GITHUB_REPOSITORY: 'My Org/repo.v2',
        GITHUB_JOB: 'test (3.12, ubuntu)',
        GITHUB_ACTION: '__run_2',
      }),
    ).toBe('gh-My-Org-repo.v2-42-1-test--3.12--ubuntu--__run_2');
  });

  it('is the same for the same step of the same attempt, and differs by attempt and by step', () => {
    expect(defaultActionId({ ...github })).toBe('gh-org-repo-42-1-build-run-step');
    expect(defaultActionId({ ...github, GITHUB_RUN_ATTEMPT: '2' })).toBe('gh-org-repo-42-2-build-run-step');
    expect(defaultActionId({ ...github, GITHUB_ACTION: 'train' })).toBe('gh-org-repo-42-1-build-train');
  });

  it('differs between the legs of a matrix job, and is unchanged for a job without one', () => {
    const one = defaultActionId(github, '{"os":"linux","python":"3.12"}')!;
    expect(one).toMatch(/^gh-org-repo-42-1-build-m[0-9a-f]{8}-run-step$/);
    expect(defaultActionId(github, '{\n  "python": "3.12",\n  "os": "linux"\n}')).toBe(one); // same values, any layout
    expect(defaultActionId(github, '{"os":"linux","python":"3.13"}')).not.toBe(one);
    for (const none of ['', 'null', '{}', 'not json'])
      expect(defaultActionId(github, none)).toBe('gh-org-repo-42-1-build-run-step');
  });

  it('is capped at 200 characters, keeping ids that differ only at the end apart', () => {
    const long = { ...github, GITHUB_REPOSITORY: `org/${'a'.repeat(300)}` };
    const id = defaultActionId(long, '{"leg":1}')!;
    expect(id).toHaveLength(200);
    expect(id.startsWith(`gh-org-${'a'.repeat(150)}`)).toBe(true);
    expect(defaultActionId(long, '{"leg":2}')).not.toBe(id);
    expect(defaultActionId(long, '{"leg":1}')).toBe(id);
  });

  it('is undefined outside GitHub or with any part missing', () => {
    expect(defaultActionId({})).toBeUndefined();
    for (const name of Object.keys(github)) expect(defaultActionId({ ...github, [name]: '' })).toBeUndefined();
  });
});

describe('upload and download inputs', () => {
  it('take paths and out/ globs one per line, with 1Gi bounds and caisson-out/ by default', () => {
    const { transfer } = readInputs(
      given({ image, upload: 'data\nconfig.json\n', download: 'out/**\nout/*.csv' }),
      github,
    );
    expect(transfer).toEqual({
      upload: ['data', 'config.json'],
      uploadMaxBytes: 2 ** 30,
      download: ['**', '*.csv'],
      downloadPath: 'caisson-out/',
      downloadMaxBytes: 2 ** 30,
    });
    expect(readInputs(given({ image, download: 'out/', 'download-max-bytes': '2Mi' }), github).transfer).toMatchObject({
      download: ['**'],
      downloadMaxBytes: 2 * 2 ** 20,
    });
  });

  it('refuse globs outside out/, bad sizes, names that are not plain, two paths of one name, and arrays', () => {
    expect(problems({ image, download: 'logs/**', 'download-max-bytes': '1m', 'upload-max-bytes': 'lots' })).toEqual({
      download: '"logs/**": a glob under out/, e.g. out/** or out/*.csv',
      'download-max-bytes': expect.stringContaining('lowercase "m" means milli'),
      'upload-max-bytes': expect.stringContaining('is not a size'),
    });
    expect(problems({ image, upload: '..' })).toEqual({
      upload: '..: its name ".." is not a plain file name for /in/',
    });
    expect(problems({ image, upload: 'a/data\nb/data' })).toEqual({ upload: 'b/data: a second path named data' });
    expect(problems({ image, download: 'out/**', 'array-count': '2' })).toEqual({
      download: "an array's children each have their own /out: download one by its id",
    });
  });
});
