// Actions by name, on the real stack: templates registered (their image's tag pinned to its
// digest), listed, shown and run by name from the CLI, the client and the bundled GitHub Action;
// input checked against inputSchema before anything runs, output against outputSchema after; a
// template keeps its digest after its tag moves; specs as files.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { InvalidSpecError, TemplateError, type ActionResult } from '../../client/index.js';
import { caissonWith } from '../support/cli.js';
import { busybox, useSuiteWorker } from '../support/actions.js';
import { inputVars, records, runDist, runnerFiles } from '../support/bundled-action.js';
import { docker, env, objectText, s3 } from '../support/env.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/templates/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'caisson-templates-'));
// Each run of the suite keeps its templates apart: the store is one prefix of the bucket.
const store = `s3://${env('CAISSON_ARTIFACTS_BUCKET')}/templates-test-${randomUUID()}`;
const cli = (...args: string[]) => caissonWith({ CAISSON_TEMPLATES: store }, ...args);
const suite = useSuiteWorker();
let saved: string | undefined;

beforeAll(() => {
  saved = process.env.CAISSON_TEMPLATES;
  process.env.CAISSON_TEMPLATES = store;
});
afterAll(() => {
  if (saved === undefined) delete process.env.CAISSON_TEMPLATES;
  else process.env.CAISSON_TEMPLATES = saved;
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('the example templates', () => {
  it('register as they are, pinned to a digest, and run by name with their output checked', async () => {
    for (const name of ['greeting', 'checksums']) {
      const registered = await cli('template', 'register', join(EXAMPLES, `${name}.yaml`));
      expect(registered.stderr).toBe('');
      expect(registered.stdout).toMatch(
        new RegExp(
          `^registered ${name}@1\\.0\\.0: 127\\.0\\.0\\.1:5000/caisson/busybox@sha256:[a-f0-9]{64} \\(was 127\\.0\\.0\\.1:5000/caisson/busybox:1\\)`,
        ),
      );
      expect(registered.code).toBe(0);
    }
    const list = await cli('template', 'list');
    expect(list.stdout).toMatch(/^checksums +1\.0\.0 +1\.0\.0 +sha256 of every file/m);
    expect(list.stdout).toMatch(/^greeting +1\.0\.0 +1\.0\.0 +Greets someone/m);

    const greeted = await cli(
      'run',
      'greeting',
      '--input',
      '{"name": "Ada", "greeting": "Hi"}',
      '--set',
      'env.PUNCTUATION=?',
      '--json',
    );
    expect(greeted.code).toBe(0);
    const result = JSON.parse(greeted.stdout) as ActionResult;
    expect(result).toMatchObject({ status: 'DONE', output: { message: 'Hi, Ada?' } });
    expect(result.image).toMatch(/@sha256:/);

    // Data from a prefix of S3, checksummed by the template into /out.
    const prefix = `templates-test/${randomUUID()}`;
    for (const [name, body] of [
      ['a.txt', 'alpha\n'],
      ['deeper/b.txt', 'beta\n'],
    ]) {
      await s3().send(
        new PutObjectCommand({ Bucket: env('CAISSON_ARTIFACTS_BUCKET'), Key: `${prefix}/${name}`, Body: body }),
      );
    }
    const summed = await cli(
      'run',
      'checksums',
      '--in',
      `s3://${env('CAISSON_ARTIFACTS_BUCKET')}/${prefix}/=/in/data`,
      '--json',
    );
    expect(summed.code).toBe(0);
    const sums = JSON.parse(summed.stdout) as ActionResult;
    expect(sums).toMatchObject({ status: 'DONE', output: { files: 2 } });
    const text = await objectText(s3(), sums.artifacts.find((a) => a.path === 'checksums.txt')!.uri);
    expect(text).toContain('./data/deeper/b.txt');

    // The UI and `caisson list` filter runs of one template by its search attribute.
    await vi.waitFor(
      async () =>
        expect((await suite.client().list({ template: 'greeting@1.0.0' })).map((r) => r.actionId)).toContain(
          result.actionId,
        ),
      {
        timeout: 15_000,
        interval: 250,
      },
    );
  });
});

describe('a template run', () => {
  it('is refused before anything runs when its input breaks inputSchema: every problem, at its JSON pointer (exit 125)', async () => {
    await cli('template', 'register', join(EXAMPLES, 'greeting.yaml'));
    const bad = await cli(
      'run',
      'greeting',
      '--input-file',
      file('bad-input.yaml', 'name: 5\ngreeting: Yo\nextra: 1\n'),
    );
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('input/name: must be string');
    expect(bad.stderr).toContain(
      'input/greeting: must be equal to one of the allowed values: "Hello", "Hi", "Welcome"',
    );
    expect(bad.stderr).toContain('input: must NOT have additional properties ("extra")');
    expect(bad.stderr).not.toContain('started');
    const notAllowed = await cli('run', 'greeting', '--input', '{"name": "Ada"}', '--set', 'resources.memory=1Gi');
    expect(notAllowed.code).toBe(125);
    expect(notAllowed.stderr).toContain(
      'greeting@1.0.0 does not let runs set resources.memory (it allows: env.PUNCTUATION)',
    );
  });

  it('whose output breaks outputSchema ends output-invalid, keeping the raw output', async () => {
    const client = suite.client();
    await client
      .registerTemplate({
        name: `counter-${randomUUID().slice(0, 8)}`,
        version: '1',
        spec: busybox('echo \'{"count": "three"}\''),
        outputSchema: { type: 'object', properties: { count: { type: 'integer' } } },
      })
      .then(async (t) => {
        const result = await (await client.startTemplate(t.name)).result();
        expect(result).toMatchObject({
          status: 'FAILED',
          reason: 'output-invalid',
          exitCode: 0,
          output: { count: 'three' },
        });
        expect(result.outputProblems).toEqual([{ pointer: '/count', message: 'must be integer' }]);
        expect(result.message).toBe('the output does not meet the outputSchema: /count must be integer');
      });
  });

  it('whose outputSchema backtracks without end is cut off after a few seconds, the worker unharmed', async () => {
    const client = suite.client();
    // (a+)+$ against many "a" and a "!" takes exponential time in a backtracking regex engine.
    const spec = busybox(`echo '{"word": "${'a'.repeat(40)}!"}'`, {
      output: 'json',
      outputSchema: { properties: { word: { pattern: '^(a+)+$' } } },
    });
    const [slow, quick] = await Promise.all([
      client.start(spec).then((h) => h.result()),
      client.start(busybox('echo quick')).then((h) => h.result()),
    ]);
    expect(slow).toMatchObject({ status: 'FAILED', reason: 'output-invalid', output: { word: `${'a'.repeat(40)}!` } });
    expect(slow.message).toContain('checking the output against outputSchema took longer than 5 s');
    expect(quick.status).toBe('DONE');
  });

  it('registered by tag runs the digest it was registered with, after the tag has moved', async () => {
    const client = suite.client();
    const repo = `${env('TEST_REGISTRY')}/caisson/moving-${randomUUID().slice(0, 8)}`;
    const first = await pushVariant(repo, 'one');
    const name = `moving-${randomUUID().slice(0, 8)}`;
    const definition = {
      name,
      version: '1',
      spec: { image: `${repo}:latest`, command: ['sh', '-c', 'echo ran'], timeout: '1m' },
    };
    const registered = await client.registerTemplate(definition);
    expect(registered.spec.image).toBe(`${repo}@${first}`);
    const second = await pushVariant(repo, 'two');
    expect(second).not.toBe(first);
    const result = await (await client.startTemplate(`${name}@1`)).result();
    expect(result).toMatchObject({ status: 'DONE', image: `${repo}@${first}`, imageDigest: first });
    // The version is taken: the same definition now means another image, which is refused.
    await expect(client.registerTemplate(definition)).rejects.toThrow(
      new TemplateError(
        `${name}@1 is registered already with another definition; versions never change: register a new version`,
      ),
    );
  });

  it('by name alone runs the latest version; definitions are checked whole', async () => {
    const client = suite.client();
    const name = `versions-${randomUUID().slice(0, 8)}`;
    for (const version of ['1.2.0', '1.10.0', '1.9.0']) {
      await client.registerTemplate({ name, version, spec: busybox(`echo ${version}`) });
    }
    expect(await client.templates().versions(name)).toEqual(['1.2.0', '1.9.0', '1.10.0']);
    expect((await client.template(name)).version).toBe('1.10.0');
    const err = await client
      .registerTemplate({
        name,
        version: 'x y',
        spec: { image: 'Not An Image', input: 1 },
        inputSchema: { type: 'nonsense' },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidSpecError);
    expect((err as InvalidSpecError).problems).toEqual([
      { path: 'version', message: expect.stringContaining('version is 1-64 letters') },
    ]);
    const err2 = await client
      .registerTemplate({
        name,
        version: '2',
        spec: { image: 'Not An Image', input: 1 },
        inputSchema: { type: 'nonsense' },
      })
      .catch((e: unknown) => e);
    expect((err2 as InvalidSpecError).problems.map((p) => p.path)).toEqual(['spec.input', 'spec.image', 'inputSchema']);
    await expect(client.template(`${name}@9`)).rejects.toThrow(`${name} has no version 9`);
  });
});

describe('a spec file', () => {
  it('runs with `caisson run -f`, flags over its fields; a bad one lists every problem as for flags (exit 125)', async () => {
    const spec = file(
      'action.yaml',
      `image: ${env('TEST_IMAGE_BUSYBOX')}\ncommand: [sh, -c, 'echo "$A $B"']\nenv:\n  A: from-file\n  B: from-file\ntimeout: 1m\n`,
    );
    const ran = await cli('run', '-f', spec, '--env', 'B=from-flag', '--json');
    expect(ran.code).toBe(0);
    const result = JSON.parse(ran.stdout) as ActionResult;
    expect(result.logTail).toContain('from-file from-flag');

    const bad = await cli(
      'run',
      '-f',
      file('bad.yaml', 'image: Not An Image\ntimeout: soon\nresources: { memory: 1 }\n'),
    );
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('image: not an image reference');
    expect(bad.stderr).toContain('timeout:');
    expect(bad.stderr).toContain('resources.memory: memory must be at least 6Mi');
    const broken = await cli('run', '-f', file('broken.yaml', 'image: [unclosed\n'));
    expect(broken.code).toBe(125);
    expect(broken.stderr).toMatch(/broken\.yaml: line \d+, column \d+: /);
  });
});

describe('the bundled GitHub Action', () => {
  it('runs a template by name (template, input, set) and a spec file from the workspace', async () => {
    await caissonWith({ CAISSON_TEMPLATES: store }, 'template', 'register', join(EXAMPLES, 'greeting.yaml'));
    const workspace = mkdtempSync(join(dir, 'workspace-'));
    const files = runnerFiles(workspace);
    const connection = {
      'temporal-address': env('TEMPORAL_ADDRESS'),
      'task-queue': inject('taskQueue'),
      'codec-keys': env('CAISSON_CODEC_KEYS'),
    };
    const s3Vars = Object.fromEntries(
      ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'].map((k) => [k, env(k)]),
    );
    const ran = await runDist({
      ...files,
      ...s3Vars,
      CAISSON_TEMPLATES: store,
      ...inputVars({
        ...connection,
        template: 'greeting@1.0.0',
        input: '{"name": "Grace"}',
        set: 'env.PUNCTUATION=.',
        'action-id': `gha-tpl-${randomUUID()}`,
      }),
    });
    expect(ran.code).toBe(0);
    expect(JSON.parse(records(readFileSync(files.GITHUB_OUTPUT, 'utf8')).output!)).toEqual({
      message: 'Hello, Grace.',
    });

    writeFileSync(
      join(workspace, 'spec.yml'),
      `image: ${env('TEST_IMAGE_BUSYBOX')}\ncommand: [sh, -c, 'echo "spec file says $WHO"']\nenv: { WHO: file }\n`,
    );
    const fromFile = await runDist({
      ...runnerFiles(workspace),
      GITHUB_WORKSPACE: workspace,
      ...inputVars({
        ...connection,
        'spec-file': 'spec.yml',
        env: 'WHO=input',
        'action-id': `gha-file-${randomUUID()}`,
      }),
    });
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain('spec file says input');
    // A path out of the workspace is refused, naming the input.
    const outside = await runDist({
      ...runnerFiles(workspace),
      GITHUB_WORKSPACE: workspace,
      ...inputVars({ ...connection, 'spec-file': '../../etc/passwd' }),
    });
    expect(outside.code).not.toBe(0);
    expect(outside.stdout).toMatch(/spec-file: .* (lies outside|is not a file in) the workspace/);
  });
});

/** Pushes a new image (busybox with a label of its own) to `repo:latest`; returns its digest. */
async function pushVariant(repo: string, variant: string): Promise<string> {
  const engine = docker();
  const container = await engine.createContainer({ Image: env('TEST_IMAGE_BUSYBOX'), Cmd: ['true'] });
  try {
    await container.commit({ repo, tag: 'latest', changes: [`LABEL variant=${variant}`] });
  } finally {
    await container.remove();
  }
  const stream = await engine.getImage(`${repo}:latest`).push({
    authconfig: {
      username: env('TEST_REGISTRY_USERNAME'),
      password: env('TEST_REGISTRY_PASSWORD'),
      serveraddress: env('TEST_REGISTRY'),
    },
  });
  const events = await new Promise<{ error?: string; aux?: { Digest?: string } }[]>((resolve, reject) =>
    engine.modem.followProgress(stream, (err: Error | null, out: unknown[]) =>
      err ? reject(err) : resolve(out as never),
    ),
  );
  const failed = events.find((e) => e.error);
  if (failed) throw new Error(`push ${repo}: ${failed.error}`);
  return events.find((e) => e.aux?.Digest)!.aux!.Digest!;
}
