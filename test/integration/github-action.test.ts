// The GitHub Action's run() and post() driven as GitHub would, with the real Temporal, worker,
// engine and MinIO; inputs are INPUT_* variables read by @actions/core itself, and only its
// output side (outputs, state, failures, log) is replaced by a recorder.
import * as core from '@actions/core';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { run, type Core } from '../../action/main.js';
import { post, type PostCore } from '../../action/post.js';
import { STATE } from '../../action/state.js';
import { freePort } from '../../harness/free-port.js';
import { inputVars, node24, records, runDist, runnerFiles } from '../support/bundled-action.js';
import { env, objectDigest, s3 } from '../support/env.js';

/** Makes `inputs` the step's inputs, as the runner does: INPUT_<NAME> variables, and only those. */
function useInputs(inputs: Record<string, string>): void {
  for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) delete process.env[name];
  for (const [name, value] of Object.entries(inputs)) process.env[`INPUT_${name.toUpperCase()}`] = value;
}

afterEach(() => useInputs({}));

/** What `issue` writes to stdout, where the runner reads workflow commands. */
function commandWritten(issue: () => void): string {
  let written = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written += String(chunk);
    return true;
  });
  try {
    issue();
  } finally {
    write.mockRestore();
  }
  return written;
}

class Recorder {
  outputs: Record<string, string> = {};
  state: Record<string, string> = {};
  failed: string[] = [];
  errors: string[] = [];
  logs: string[] = [];
  debug: string[] = [];
  secrets: string[] = [];
  /** The workflow commands @actions/core itself writes for error(): what the runner would read. */
  commands: string[] = [];
  /** The job summary's table, as its cells' HTML. */
  summaryTable: string[][] = [];
  constructor(readonly inputs: Record<string, string>) {}
  /** For run(): inputs are read at its start, before its first await. */
  core(): Core {
    useInputs(this.inputs);
    const summary = {
      addHeading: () => summary,
      addTable: (rows: { data: string }[][]) => {
        this.summaryTable = rows.map((row) => row.map((cell) => cell.data));
        return summary;
      },
      write: async () => summary,
    };
    return {
      getInput: core.getInput,
      getBooleanInput: core.getBooleanInput,
      getMultilineInput: core.getMultilineInput,
      setOutput: (name: string, value: unknown) => void (this.outputs[name] = String(value)),
      setFailed: (message: string | Error) => void this.failed.push(String(message)),
      setSecret: (secret: string) => void this.secrets.push(secret),
      info: (message: string) => void this.logs.push(message),
      error: (message: string | Error, properties?: core.AnnotationProperties) => {
        this.errors.push(String(message));
        this.commands.push(commandWritten(() => core.error(message, properties)));
      },
      debug: (message: string) => void this.debug.push(message),
      saveState: (name: string, value: unknown) => void (this.state[name] = String(value)),
      summary,
    } as unknown as Core;
  }
  /** For post(): the state main left. */
  postCore(): PostCore {
    useInputs(this.inputs);
    return {
      getInput: core.getInput,
      getBooleanInput: core.getBooleanInput,
      getMultilineInput: core.getMultilineInput,
      getState: (name: string) => this.state[name] ?? '',
      info: (m: string) => void this.logs.push(m),
      debug: (m: string) => void this.debug.push(m),
      setFailed: (m: string | Error) => void this.failed.push(String(m)),
    };
  }
}

const base = () => ({
  'temporal-address': env('TEMPORAL_ADDRESS'),
  'task-queue': inject('taskQueue'),
  'codec-keys': env('CAISSON_CODEC_KEYS'),
  image: env('TEST_IMAGE_BUSYBOX'),
  'action-id': `gha-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
});

describe('the GitHub Action', () => {
  it('streams the log, sets the outputs and passes for a DONE action; a re-run attaches', async () => {
    const inputs = {
      ...base(),
      command: 'sh\n-c',
      args: 'echo building; echo artifact > /out/a.txt',
      'temporal-api-key': '',
    };
    const first = new Recorder(inputs);
    await run(first.core(), {});
    expect(first.failed).toEqual([]);
    expect(first.outputs).toMatchObject({
      'action-id': inputs['action-id'],
      status: 'DONE',
      'exit-code': '0',
      reason: 'exit',
      attached: 'false',
    });
    expect(JSON.parse(first.outputs.artifacts!)).toEqual([expect.objectContaining({ path: 'a.txt', size: 9 })]);
    expect(first.logs).toContain('building');
    expect(first.state).toEqual({ [STATE.actionId]: inputs['action-id'], [STATE.finished]: 'true' });
    const again = new Recorder(inputs);
    await run(again.core(), {});
    expect(again.logs[0]).toMatch(/^attached to action/);
    expect(again.outputs['run-id']).toBe(first.outputs['run-id']);
    expect(again.outputs.attached).toBe('true');
  });

  it('fails the step with the exit code, reason and last log lines for a FAILED action', async () => {
    const rec = new Recorder({ ...base(), command: '["sh", "-c", "echo disk full >&2; exit 3"]' });
    await run(rec.core(), {});
    expect(rec.outputs).toMatchObject({ status: 'FAILED', 'exit-code': '3' });
    expect(rec.failed).toHaveLength(1);
    expect(rec.errors[0]).toContain('exit code 3');
    expect(rec.errors[0]).toContain('disk full');
  });

  it('annotates a FAILED action with its id, reason and log tail, as one command the log cannot extend', async () => {
    const inputs = {
      ...base(),
      command: 'sh\n-c',
      args: "echo '::set-output name=pwned::1'; echo '%0A::error::injected'; echo '::add-mask::x'; exit 2",
    };
    const rec = new Recorder(inputs);
    await run(rec.core(), {});
    expect(rec.outputs).toMatchObject({ status: 'FAILED', 'exit-code': '2', reason: 'exit' });
    expect(rec.commands).toHaveLength(1);
    const lines = rec.commands[0]!.split(/\r?\n/).filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^::error title=Caisson action ${inputs['action-id']} FAILED%3A exit::`));
    const message = lines[0]!.slice(lines[0]!.indexOf('::', 2) + 2);
    expect(message).toContain('exit code 2');
    expect(message).toContain('%0A::set-output name=pwned::1%0A%250A::error::injected%0A::add-mask::x');
    expect(rec.outputs.pwned).toBeUndefined();
  });

  it('awaits an action by its id alone, reaching Temporal through the job environment', async () => {
    const {
      'temporal-address': _a,
      'task-queue': _q,
      'codec-keys': _k,
      ...started
    } = {
      ...base(),
      command: 'sh\n-c',
      args: 'echo awaited line; echo kept > /out/kept.txt',
      wait: 'false',
    };
    const jobEnv = {
      TEMPORAL_ADDRESS: env('TEMPORAL_ADDRESS'),
      CAISSON_TASK_QUEUE: inject('taskQueue'),
      CAISSON_CODEC_KEYS: env('CAISSON_CODEC_KEYS'),
      TEMPORAL_UI_URL: 'https://temporal.example/ui',
    };
    const starter = new Recorder(started);
    await run(starter.core(), jobEnv);
    expect(starter.failed).toEqual([]);
    expect(starter.secrets).toEqual([env('CAISSON_CODEC_KEYS')]);
    expect(starter.outputs).toMatchObject({ 'action-id': started['action-id'], attached: 'false' });

    const awaiter = new Recorder({ 'action-id': started['action-id'] });
    await run(awaiter.core(), jobEnv);
    expect(awaiter.failed).toEqual([]);
    expect(awaiter.logs[0]).toMatch(/^attached to action/);
    expect(awaiter.logs).toContain('awaited line');
    expect(awaiter.outputs).toMatchObject({ status: 'DONE', 'exit-code': '0', attached: 'true' });
    expect(JSON.parse(awaiter.outputs.artifacts!)).toEqual([expect.objectContaining({ path: 'kept.txt' })]);
    const link = `https://temporal.example/ui/namespaces/default/workflows/${started['action-id']}`;
    expect(awaiter.outputs['temporal-ui-url']).toBe(link);
    expect(awaiter.summaryTable).toContainEqual(['Temporal', `<a href="${link}">${link}</a>`]);
    expect(awaiter.summaryTable.find(([name]) => name === 'artifacts')![1]).toMatch(
      /<code>s3:\/\/.*\/kept\.txt<\/code>/,
    );

    const missing = new Recorder({ 'action-id': `${started['action-id']}-none` });
    await run(missing.core(), jobEnv);
    expect(missing.failed).toEqual([
      `action-id ${started['action-id']}-none: no such action in namespace default; give image, spec-file or template to start it`,
    ]);
    expect(missing.state).toEqual({});
  });

  it('fails before anything starts on bad inputs, and masks the API key', async () => {
    const rec = new Recorder({ ...base(), memory: '512m', wait: 'yes', 'temporal-api-key': 'very-secret-key' });
    await run(rec.core(), {});
    expect(rec.secrets).toEqual(['very-secret-key', env('CAISSON_CODEC_KEYS')]);
    expect(rec.failed).toHaveLength(1);
    expect(rec.failed[0]).toMatch(/^invalid inputs:/);
    expect(rec.failed[0]).toContain('- memory:');
    expect(rec.failed[0]).toContain('- wait: true or false');
    expect(rec.outputs).toEqual({});
    expect(rec.state).toEqual({});
  });

  it('fails the step naming the address, without throwing, when nothing listens there', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const rec = new Recorder({ ...base(), 'temporal-address': address });
    await expect(run(rec.core(), {})).resolves.toBeUndefined();
    expect(rec.failed).toEqual([
      expect.stringContaining(`cannot connect to Temporal at ${address} (namespace default)`),
    ]);
    expect(rec.outputs).toEqual({});
    expect(rec.state).toEqual({});

    // A post step that cannot reach Temporal to cancel fails the same way.
    rec.state[STATE.actionId] = 'gha-left-running';
    await expect(post(rec.postCore())).resolves.toBeUndefined();
    expect(rec.failed[1]).toContain(
      `could not cancel action gha-left-running: cannot connect to Temporal at ${address}`,
    );
  });

  it('post cancels an action still running when the job is cancelled; its output is still collected', async () => {
    const inputs = {
      ...base(),
      command: 'sh\n-c',
      args: 'echo x > /out/x; echo running; while true; do sleep 0.2; done',
    };
    const rec = new Recorder(inputs);
    const main = run(rec.core(), {});
    for (let i = 0; i < 100 && !rec.logs.includes('running'); i++) await new Promise((r) => setTimeout(r, 200));
    expect(rec.state[STATE.actionId]).toBe(inputs['action-id']);
    await post(rec.postCore());
    expect(rec.logs).toContain(
      `cancelled action ${inputs['action-id']}: its container stops and its output is still collected`,
    );
    await main;
    expect(rec.outputs).toMatchObject({ status: 'CANCELED', reason: 'canceled' });
    expect(JSON.parse(rec.outputs.artifacts!)).toEqual([expect.objectContaining({ path: 'x' })]);

    // Had main died before seeing the end, post would cancel an ended action: a no-op, not a failure.
    delete rec.state[STATE.finished];
    await post(rec.postCore());
    expect(rec.failed).toEqual([expect.stringMatching(new RegExp(`^action ${inputs['action-id']} CANCELED: `))]);
  });
});

describe('the GitHub Action moving files', () => {
  const MiB = 1 << 20;
  const workspace = () => {
    const dir = mkdtempSync(join(tmpdir(), 'caisson-gha-ws-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  const stepEnv = (dir: string) => ({
    GITHUB_WORKSPACE: dir,
    CAISSON_ARTIFACTS_BUCKET: env('CAISSON_ARTIFACTS_BUCKET'),
  });

  it('uploads workspace files into /in, read-only, and downloads what an out/ glob selects', async () => {
    const dir = workspace();
    mkdirSync(join(dir, 'data/deep'), { recursive: true });
    writeFileSync(join(dir, 'data/a.txt'), 'from the workspace\n');
    writeFileSync(join(dir, 'data/deep/b.txt'), 'deeper\n');
    writeFileSync(join(dir, 'config.json'), '{"k":1}\n');
    const rec = new Recorder({
      ...base(),
      command: 'sh\n-c',
      args:
        'cat /in/data/a.txt /in/data/deep/b.txt /in/config.json; touch /in/data/x 2>/dev/null || echo read-only; ' +
        `cp /in/data/a.txt /out/a.txt; mkdir /out/sub; head -c ${MiB} /dev/urandom > /out/sub/b.bin`,
      upload: 'data\nconfig.json',
      download: 'out/sub/**',
      'download-max-bytes': '2Mi',
    });
    await run(rec.core(), stepEnv(dir));
    expect(rec.failed).toEqual([]);
    expect(rec.outputs.status).toBe('DONE');
    expect(rec.logs).toEqual(expect.arrayContaining(['from the workspace', 'deeper', '{"k":1}', 'read-only']));
    expect(rec.logs).toContain('uploaded 3 files (34 bytes), staged at /in/data, /in/config.json');
    expect(JSON.parse(rec.outputs.downloaded!)).toEqual([
      { path: 'out/sub/b.bin', file: 'caisson-out/sub/b.bin', size: MiB },
    ]);
    expect(readdirSync(join(dir, 'caisson-out'), { recursive: true })).toEqual(['sub', 'sub/b.bin']);
    expect(rec.summaryTable).toContainEqual(['downloaded', '1 files; <code>caisson-out/sub/b.bin</code>']);
    const stored = JSON.parse(rec.outputs.artifacts!) as { path: string; uri: string }[];
    const digest = await objectDigest(s3(), stored.find((a) => a.path === 'sub/b.bin')!.uri);
    expect(
      createHash('sha256')
        .update(readFileSync(join(dir, 'caisson-out/sub/b.bin')))
        .digest('hex'),
    ).toBe(digest.sha256);
  });

  it('fails the step, writing nothing, when what download selects is over download-max-bytes', async () => {
    const dir = workspace();
    const rec = new Recorder({
      ...base(),
      command: 'sh\n-c',
      args: `head -c ${MiB} /dev/urandom > /out/big`,
      download: 'out/**',
      'download-path': 'small',
      'download-max-bytes': '1Ki',
    });
    await run(rec.core(), stepEnv(dir));
    expect(rec.outputs.status).toBe('DONE');
    expect(rec.failed).toEqual([
      expect.stringContaining(`selected hold ${MiB} bytes, more than download-max-bytes (1024)`),
    ]);
    expect(existsSync(join(dir, 'small'))).toBe(false);
  });

  it('refuses upload paths outside the workspace and download globs outside out/, before anything starts', async () => {
    const rec = new Recorder({ ...base(), upload: '../etc', download: 'logs/**' });
    await run(rec.core(), stepEnv(workspace()));
    expect(rec.failed).toHaveLength(1);
    expect(rec.failed[0]).toContain('- download: "logs/**": a glob under out/');
    expect(rec.outputs).toEqual({});
    const dir = workspace();
    const sibling = workspace();
    const outside = new Recorder({ ...base(), upload: `../${basename(sibling)}` });
    await run(outside.core(), stepEnv(dir));
    expect(outside.failed).toEqual([expect.stringContaining('lies outside the workspace')]);
    expect(outside.state).toEqual({});
  });
});

describe('the bundled action (dist/index.js)', () => {
  it('runs under Node 24, as GitHub runs it, writes its outputs to GITHUB_OUTPUT, and runs as post the second time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caisson-gha-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const files = runnerFiles(dir);
    const inputs = {
      ...base(),
      command: 'sh\n-c',
      args: 'echo "node $NODE_HINT"; echo 42 > /out/answer',
      env: 'NODE_HINT=24',
    };
    const main = await runDist({ ...files, ...inputVars(inputs) });
    expect(main.code).toBe(0);
    expect(main.stdout).toContain('node 24');
    const outputs = readFileSync(files.GITHUB_OUTPUT, 'utf8');
    expect(outputs).toMatch(/status<<.*\nDONE\n/);
    expect(outputs).toMatch(/exit-code<<.*\n0\n/);
    expect(readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8')).toContain('Caisson action DONE');
    const state = records(readFileSync(files.GITHUB_STATE, 'utf8'));
    expect(state).toEqual({ [STATE.isPost]: 'true', [STATE.actionId]: inputs['action-id'], [STATE.finished]: 'true' });

    // The runner hands the state to the post run as STATE_<name>: post, finding the action ended, does nothing.
    const stateVars = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
    const postRun = await runDist({ ...files, ...inputVars(inputs), ...stateVars });
    expect(postRun).toEqual({ code: 0, stdout: '' });
    expect(readFileSync(files.GITHUB_OUTPUT, 'utf8')).toBe(outputs);

    const version = await new Promise<string>((resolve) =>
      execFile(node24(), ['--version'], (_e, out) => resolve(out.trim())),
    );
    expect(version).toMatch(/^v24\./);
  });

  it('uploads and downloads under Node 24, with the AWS variables of the step', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'caisson-gha-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const workspace = join(dir, 'workspace');
    mkdirSync(workspace);
    writeFileSync(join(workspace, 'notes.txt'), 'handed over\n');
    const files = runnerFiles(dir);
    const aws = ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'];
    const inputs = {
      ...base(),
      command: 'sh\n-c',
      args: 'tr a-z A-Z < /in/notes.txt > /out/shout.txt',
      upload: 'notes.txt',
      download: 'out/*.txt',
    };
    const main = await runDist({
      ...files,
      ...inputVars(inputs),
      ...Object.fromEntries(aws.map((name) => [name, env(name)])),
      CAISSON_ARTIFACTS_BUCKET: env('CAISSON_ARTIFACTS_BUCKET'),
      GITHUB_WORKSPACE: workspace,
    });
    expect(main.code).toBe(0);
    expect(readFileSync(join(workspace, 'caisson-out/shout.txt'), 'utf8')).toBe('HANDED OVER\n');
    const downloaded = records(readFileSync(files.GITHUB_OUTPUT, 'utf8')).downloaded!;
    expect(JSON.parse(downloaded)).toEqual([{ path: 'out/shout.txt', file: 'caisson-out/shout.txt', size: 12 }]);
  });

  it('fails with a readable message, and its stack traces name the TypeScript sources (source maps)', async () => {
    const { code, stdout } = await runDist({ ...inputVars({ image: 'Not An Image', 'action-id': 'gha-bad' }) });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^::error::invalid inputs:%0A {2}- image: /m);
    expect(stdout).toMatch(
      /::debug::InputError: invalid inputs:.*%0A {4}at readInputs \(\S*action\/inputs\.ts:\d+:\d+\)/,
    );
  });
});
