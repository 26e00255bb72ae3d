// The GitHub Action's run() and post() driven as GitHub would, with the real Temporal, worker,
// engine and MinIO; only @actions/core's I/O is replaced by a recorder.
import { describe, expect, inject, it } from 'vitest';
import { run, type Core } from '../../action/main.js';
import { post } from '../../action/post.js';
import { env } from '../support/env.js';

class Recorder {
  outputs: Record<string, string> = {};
  state: Record<string, string> = {};
  failed: string[] = [];
  errors: string[] = [];
  logs: string[] = [];
  secrets: string[] = [];
  constructor(readonly inputs: Record<string, string>) {}
  core(): Core {
    const summary = { addHeading: () => summary, addTable: () => summary, write: async () => summary };
    return {
      getInput: (name: string) => this.inputs[name] ?? '',
      setOutput: (name: string, value: unknown) => void (this.outputs[name] = String(value)),
      setFailed: (message: string | Error) => void this.failed.push(String(message)),
      setSecret: (secret: string) => void this.secrets.push(secret),
      info: (message: string) => void this.logs.push(message),
      error: (message: string | Error) => void this.errors.push(String(message)),
      saveState: (name: string, value: unknown) => void (this.state[name] = String(value)),
      summary,
    } as unknown as Core;
  }
  postCore() {
    return {
      getState: (name: string) => this.state[name] ?? '',
      getInput: (name: string) => this.inputs[name] ?? '',
      info: (m: string) => void this.logs.push(m),
      warning: (m: string) => void this.errors.push(m),
    } as never;
  }
}

const base = () => ({
  'temporal-address': env('TEMPORAL_ADDRESS'),
  'task-queue': inject('taskQueue'),
  image: env('TEST_IMAGE_BUSYBOX'),
  'action-id': `gha-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
});

describe('the GitHub Action', () => {
  it('streams the log, sets the outputs and passes for a DONE action; a re-run attaches', async () => {
    const inputs = { ...base(), command: 'sh\n-c', args: 'echo building; echo artifact > /out/a.txt', 'temporal-api-key': '' };
    const first = new Recorder(inputs);
    await run(first.core(), {});
    expect(first.failed).toEqual([]);
    expect(first.outputs).toMatchObject({ 'action-id': inputs['action-id'], status: 'DONE', 'exit-code': '0', reason: 'exit' });
    expect(JSON.parse(first.outputs.artifacts!)).toEqual([expect.objectContaining({ path: 'a.txt', size: 9 })]);
    expect(first.logs).toContain('building');
    const again = new Recorder(inputs);
    await run(again.core(), {});
    expect(again.logs[0]).toMatch(/^attached to action/);
    expect(again.outputs['run-id']).toBe(first.outputs['run-id']);
  });

  it('fails the step with the exit code, reason and last log lines for a FAILED action', async () => {
    const rec = new Recorder({ ...base(), command: '["sh", "-c", "echo disk full >&2; exit 3"]' });
    await run(rec.core(), {});
    expect(rec.outputs).toMatchObject({ status: 'FAILED', 'exit-code': '3' });
    expect(rec.failed).toHaveLength(1);
    expect(rec.errors[0]).toContain('exit code 3');
    expect(rec.errors[0]).toContain('disk full');
  });

  it('fails before anything starts on bad inputs, and masks the API key', async () => {
    const rec = new Recorder({ ...base(), memory: '512m', 'temporal-api-key': 'very-secret-key' });
    await run(rec.core(), {});
    expect(rec.secrets).toEqual(['very-secret-key']);
    expect(rec.failed[0]).toContain('memory');
    expect(rec.outputs).toEqual({});
  });

  it('post cancels an action still running when the job is cancelled; its output is still collected', async () => {
    const inputs = { ...base(), command: 'sh\n-c', args: 'echo x > /out/x; echo running; while true; do sleep 0.2; done' };
    const rec = new Recorder(inputs);
    const main = run(rec.core(), {});
    for (let i = 0; i < 100 && !rec.logs.includes('running'); i++) await new Promise((r) => setTimeout(r, 200));
    expect(rec.state['action-id']).toBe(inputs['action-id']);
    await post(rec.postCore());
    await main;
    expect(rec.outputs).toMatchObject({ status: 'CANCELED', reason: 'canceled' });
    expect(JSON.parse(rec.outputs.artifacts!)).toEqual([expect.objectContaining({ path: 'x' })]);
  });
});

describe('the bundled action (dist/index.js)', () => {
  it('runs under Node 24, as GitHub runs it, and writes its outputs to GITHUB_OUTPUT', async () => {
    const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { execFile } = await import('node:child_process');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fileURLToPath } = await import('node:url');
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), 'caisson-gha-'));
    const files = { GITHUB_OUTPUT: join(dir, 'output'), GITHUB_STATE: join(dir, 'state'), GITHUB_STEP_SUMMARY: join(dir, 'summary') };
    for (const file of Object.values(files)) writeFileSync(file, '');
    const inputs = { ...base(), command: 'sh\n-c', args: 'echo "node $NODE_HINT"; echo 42 > /out/answer', env: 'NODE_HINT=24' };
    const inputEnv = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v]));
    const node24 = join(env('NODE24_BIN'), 'node');
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(node24, [join(root, 'dist/index.js')], { env: { PATH: process.env.PATH, ...files, ...inputEnv } }, (error, out) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout: out }),
      ),
    );
    expect(code).toBe(0);
    expect(stdout).toContain('node 24');
    const outputs = readFileSync(files.GITHUB_OUTPUT, 'utf8');
    expect(outputs).toMatch(/status<<.*\nDONE\n/);
    expect(outputs).toMatch(/exit-code<<.*\n0\n/);
    expect(readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8')).toContain('Caisson action DONE');
    const version = await new Promise<string>((resolve) => execFile(node24, ['--version'], (_e, out) => resolve(out.trim())));
    expect(version).toMatch(/^v24\./);
  });
});
