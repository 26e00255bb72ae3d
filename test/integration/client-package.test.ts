// The client as a service installs it: the packed tarball (npm pack) into an empty project, without
// the worker's native parts, and a TypeScript file compiled with tsc --strict that starts, awaits,
// cancels and lists actions against the suite's worker.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { env } from '../support/env.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const exec = promisify(execFile);
/** A command whose failure shows what it printed (tsc reports errors on stdout). */
const run = async (
  file: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv; maxBuffer?: number; timeout?: number },
) => {
  try {
    return await exec(file, args, { ...options, encoding: 'utf8' });
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
    throw new Error(`${(err as Error).message}\n${stdout}${stderr}`.slice(0, 20_000));
  }
};
const dir = mkdtempSync(join(tmpdir(), 'caisson-service-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const version = (name: string) =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

describe('the client package', () => {
  it('installs from npm pack without the worker, and a strict TypeScript service starts, awaits, cancels and lists actions', async () => {
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 64 << 20 });
    const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
    const paths = files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining(['build/client/index.d.ts', 'build/spec/index.d.ts', 'schema/action-spec.schema.json']),
    );
    expect(paths.filter((p) => p.startsWith('test/') || p.endsWith('.map'))).toEqual([]);

    const project = join(dir, 'service');
    cpSync(join(ROOT, 'examples/service-ts'), project, { recursive: true });
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'service', private: true, type: 'module' }));
    // The same TypeScript and Node types as this repository, from the registry (or npm's cache).
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        join(dir, filename),
        `typescript@${version('typescript')}`,
        `@types/node@${version('@types/node')}`,
      ],
      {
        cwd: project,
        maxBuffer: 64 << 20,
        timeout: 600_000,
      },
    );
    for (const workerOnly of [
      '@temporalio/worker',
      '@temporalio/core-bridge',
      '@swc/core',
      'dockerode',
      'ssh2',
      'cpu-features',
    ]) {
      expect(existsSync(join(project, 'node_modules', workerOnly)), `${workerOnly} installed`).toBe(false);
    }

    // skipLibCheck as tsc --init sets it: Temporal's own declarations name packages (ms, source-map)
    // whose types a client install does not bring. The service's code is checked strictly.
    await run(
      join(project, 'node_modules/.bin/tsc'),
      [
        '--strict',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--types',
        'node',
        '--outDir',
        'out',
        'main.ts',
      ],
      { cwd: project },
    );
    const { stdout } = await run(process.execPath, [join(project, 'out/main.js')], {
      cwd: project,
      env: { ...process.env, CAISSON_TASK_QUEUE: inject('taskQueue'), IMAGE: env('TEST_IMAGE_BUSYBOX') },
      timeout: 240_000,
    });
    // The CLI that comes with the package works without the worker's parts too.
    const listed = await run(join(project, 'node_modules/.bin/caisson'), ['list', '--limit', '5'], {
      cwd: project,
      env: { ...process.env, CAISSON_TASK_QUEUE: inject('taskQueue') },
    });
    expect(listed.stdout.split('\n')[0]).toMatch(/^ACTION +STATUS +IMAGE +AGE\s*$/);
    const report = JSON.parse(stdout) as {
      done: { id: string; status: string; output: unknown };
      canceled: { id: string; status: string; reason: string };
      listed: string[];
    };
    expect(report.done).toMatchObject({ status: 'DONE', output: { greeting: 'hello service' } });
    expect(report.canceled).toMatchObject({ status: 'CANCELED', reason: 'canceled' });
    expect(report.listed).toEqual(expect.arrayContaining([`${report.done.id} DONE`, `${report.canceled.id} CANCELED`]));
  }, 600_000);
});
