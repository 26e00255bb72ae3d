// The `caisson` command as users run it: the built binary, its output and its exit codes.
import { describe, expect, it } from 'vitest';
import { env } from '../support/env.js';
import { caisson } from '../support/cli.js';

describe('caisson run', () => {
  it('prints the log as it runs and the result, exiting 0 for DONE', async () => {
    const { code, stdout, stderr } = await caisson(
      'run',
      '--memory',
      '32Mi',
      '--env',
      'WHO=cli',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      'echo "hi $WHO"; echo a > /out/a.txt',
    );
    expect(code).toBe(0);
    expect(stderr).toContain('| hi cli');
    expect(stdout).toMatch(/^DONE {2}exited 0/);
    expect(stdout).toMatch(/out\/a\.txt \(2 B\)/);
    expect(stdout).toContain('http://127.0.0.1:8233/namespaces/default/workflows/');
  });

  it('exits with the container exit code when it FAILED, and --json prints only the result', async () => {
    const { code, stdout } = await caisson('run', '--json', env('TEST_IMAGE_BUSYBOX'), '--', 'sh', '-c', 'exit 3');
    expect(code).toBe(3);
    expect(JSON.parse(stdout)).toMatchObject({ status: 'FAILED', exitCode: 3 });
  });

  it('exits 2 with every problem named for an invalid spec or bad usage', async () => {
    const bad = await caisson('run', '--memory', '512m', '--timeout', 'soon', env('TEST_IMAGE_BUSYBOX'));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('resources.memory');
    expect(bad.stderr).toContain('"512Mi"');
    expect(bad.stderr).toContain('timeout');
    const usage = await caisson('run', '--env', 'NOEQUALS', env('TEST_IMAGE_BUSYBOX'));
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('KEY=VALUE');
    expect((await caisson('frobnicate')).code).toBe(2);
  });

  it('detaches, then status, logs, result, list and cancel work by id', async () => {
    const started = await caisson(
      'run',
      '--detach',
      env('TEST_IMAGE_BUSYBOX'),
      '--',
      'sh',
      '-c',
      'echo working; echo x > /out/x; sleep 300',
    );
    expect(started.code).toBe(0);
    const id = started.stdout.trim();
    expect(id).toMatch(/^action-/);
    await expect
      .poll(async () => JSON.parse((await caisson('status', id, '--json')).stdout).phase, {
        timeout: 30_000,
        interval: 200,
      })
      .toBe('RUNNING');
    await expect
      .poll(async () => (await caisson('logs', id)).stdout, { timeout: 15_000, interval: 200 })
      .toContain('working');
    expect((await caisson('cancel', id)).code).toBe(0);
    const result = await caisson('result', id, '--json');
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'CANCELED', artifacts: [{ path: 'x' }] });
    await expect
      .poll(
        async () => {
          const listed: { actionId: string }[] = JSON.parse(
            (await caisson('list', '--status', 'CANCELED', '--since', '10m', '--json')).stdout,
          );
          return listed.find((r) => r.actionId === id);
        },
        { timeout: 15_000, interval: 300 },
      )
      .toMatchObject({ status: 'CANCELED' });
  });
});
